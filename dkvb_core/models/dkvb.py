"""The DKVB classifier: key initialisation, frozen lookup, the value learner and its key-usage record.

Preparation: per seed, split the embedding into heads, initialise the keys without labels (k-means
or random, optional EMA passes) on the inputs ``dkvb.key_init_data`` names (by default none of a
later stage: see :mod:`dkvb_core.key_data`), freeze them, and look up every sample's key slots once
(train, test, grid); surplus keys (more keys than distinct points) are left out of the lookup.
Frozen keys mean a sample's slots never change, so training is a gather and a scatter
into a value table ``(S * C * K, d_v)``. Only fetched rows move: that sparsity is why it keeps
earlier stages. What it records beyond accuracy: per frame the class each value row votes for and
which rows changed; per run the key usage per frame and per stage, and the final values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from dkvb_core.analysis import key_counts
from dkvb_core.bottleneck import KeyValueBottleneck
from dkvb_core.config import Config, DKVBConfig
from dkvb_core.encoders import IdentitySplit, RandomProjectionSplit, make_splitter
from dkvb_core.errors import ConfigError
from dkvb_core.key_cost import kmeans_work, lookup_work
from dkvb_core.key_data import key_init_embeddings
from dkvb_core.models.base import Learner, RunInputs, Trace, predict_classes
from dkvb_core.models.dkvb_eval import TrainedKeysLookup
from dkvb_core.models.losses import Loss, loss_for
from dkvb_core.models.spec import ModelSpec
from dkvb_core.readout import effective_keys, leak, soft_weights, stage_means
from dkvb_core.work_meter import WorkMeter


@dataclass
class Codebook:
    """One seed's frozen keys ``(C, K, dk)``, which are in use ``(C, K)``, and every set's heads ``(N, C, dk)``."""

    keys: np.ndarray
    active: np.ndarray
    heads: dict[str, torch.Tensor]


@dataclass
class DKVBPrepared:
    """Frozen-key lookups of every seed: flat value-table rows and the initial values."""

    slots: dict[str, np.ndarray]  # set name -> (S, N, C * topk) rows of the seed-stacked table
    values: np.ndarray  # (S, C*K, dv) initial values
    keys_2d: list[np.ndarray | None]  # per seed (C, K, 2): keys placed in the 2-D input space
    grid_key_index: list[np.ndarray | None]  # per seed (C, G*G): nearest key of each grid cell
    codebooks: int
    keys: int
    seconds: float
    books: list[Codebook]  # per seed: the frozen keys, which are in use, and every set's heads
    weights: dict[str, np.ndarray] | None = None  # soft readout: set name -> (S, N, C * topk), summing to 1


def prepare_dkvb(inputs: RunInputs) -> DKVBPrepared:
    """Keys and slots for the run's DKVB section, computed once a run (shared through ``inputs.cache``)."""
    key = ("dkvb", inputs.config.dkvb)
    if key not in inputs.cache:
        inputs.cache[key] = _prepare(inputs)
    return inputs.cache[key]


def _prepare(inputs: RunInputs) -> DKVBPrepared:
    start = time.perf_counter()
    d = inputs.config.dkvb
    dim_values = d.dim_values if d.dim_values is not None else inputs.num_classes
    slots: dict[str, list[np.ndarray]] = {name: [] for name in inputs.embeddings}
    weights: dict[str, list[np.ndarray]] = {name: [] for name in inputs.embeddings}
    values, keys_2d, grid_index, books = [], [], [], []
    init_emb = [
        key_init_embeddings(cfg, stream, inputs.embeddings["train"][s], cfg.seed)
        for s, (cfg, stream) in enumerate(zip(inputs.configs, inputs.streams, strict=True))
    ]
    meter = WorkMeter(inputs.progress, _key_work(inputs, init_emb))
    for s, cfg in enumerate(inputs.configs):
        emb = {k: torch.from_numpy(v[s]) for k, v in inputs.embeddings.items()}
        splitter = make_splitter(d.split, emb["train"].shape[1], d.num_codebooks, d.dim_keys, seed=cfg.seed * 7919 + 17)
        heads = {k: splitter(v) for k, v in emb.items()}
        init_heads = splitter(torch.from_numpy(init_emb[s]))
        bottleneck = _frozen_bottleneck(cfg, d, splitter.dim_keys, dim_values, init_heads, meter)
        ck = d.num_codebooks * d.keys_per_codebook
        offset = (torch.arange(d.num_codebooks) * d.keys_per_codebook).view(1, -1, 1) + s * ck
        for name, h in heads.items():
            idx, dist = bottleneck.lookup(h, tick=meter.add)  # (N, C, topk)
            slots[name].append((idx + offset).reshape(len(h), -1).numpy().astype(np.int64))
            weights[name].append(readout_weights(dist.numpy(), d.readout, d.temperature))
        values.append(bottleneck.values.detach().numpy().reshape(ck, dim_values))
        keys_2d.append(_keys_in_input_space(splitter, bottleneck) if "grid" in heads else None)
        grid_index.append(idx[:, :, 0].T.contiguous().numpy().astype(np.int32) if "grid" in heads else None)
        books.append(Codebook(bottleneck.keys.numpy().copy(), bottleneck.active.numpy().copy(), heads))
    meter.finish()
    return DKVBPrepared(
        slots={k: np.stack(v) for k, v in slots.items()},
        values=np.ascontiguousarray(np.stack(values), dtype=np.float32),
        keys_2d=keys_2d,
        grid_key_index=grid_index,
        codebooks=d.num_codebooks,
        keys=d.keys_per_codebook,
        seconds=time.perf_counter() - start,
        books=books,
        weights={k: np.stack(v) for k, v in weights.items()} if d.readout == "soft" else None,
    )


def _key_work(inputs: RunInputs, init_emb: list[np.ndarray]) -> int:
    """Distances scored by the key init and lookups of every seed: the progress total."""
    d = inputs.config.dkvb
    c, k = d.num_codebooks, d.keys_per_codebook
    looked_up = sum(v.shape[1] for v in inputs.embeddings.values())
    fit = sum(kmeans_work(c, len(e), k, d.kmeans_iters) for e in init_emb) if d.key_init == "kmeans" else 0
    return fit + inputs.num_seeds * lookup_work(c, looked_up, k)


def readout_weights(sq_dist: np.ndarray, readout: str, temperature: float) -> np.ndarray:
    """Per sample, the weight of each fetched slot ``(N, C * topk)``: a head's soft weights over its
    top-k keys, divided by the heads so a sample's weights sum to 1. Empty for the hard readout."""
    if readout != "soft":
        return np.zeros((len(sq_dist), 0), np.float32)
    w = soft_weights(sq_dist, temperature) / np.float32(sq_dist.shape[1])
    return w.reshape(len(w), -1)


def _frozen_bottleneck(
    cfg: Config, d: DKVBConfig, dim_keys: int, dim_values: int, init_heads: torch.Tensor, meter: WorkMeter
) -> KeyValueBottleneck:
    """A bottleneck whose keys are initialised on ``init_heads`` ``(N, C, dk)`` and frozen."""
    seed = cfg.seed
    if len(init_heads) == 0:
        raise ConfigError([("dkvb.key_init_data", f"{d.key_init_data}: no inputs to initialise the keys on")])
    bottleneck = KeyValueBottleneck(
        num_codebooks=d.num_codebooks,
        key_value_pairs_per_codebook=d.keys_per_codebook,
        dim_keys=dim_keys,
        dim_values=dim_values,
        topk=d.topk,
        init_mode=d.key_init,
        kmeans_iters=d.kmeans_iters,
        decay=d.decay,
        threshold_ema_dead_code=d.threshold_ema_dead_code,
        value_init=d.value_init,
        seed=seed * 7919 + 29,
    )
    if d.key_init == "random":
        _random_keys_from_data(bottleneck, init_heads, seed)
    bottleneck.initialize_keys(init_heads, tick=meter.add)
    _ema_refine(bottleneck, init_heads, d.ema_epochs, cfg.train.batch_size * 10, seed)
    bottleneck.freeze_keys()
    return bottleneck


def _keys_in_input_space(splitter: torch.nn.Module, bottleneck: KeyValueBottleneck) -> np.ndarray | None:
    if isinstance(splitter, IdentitySplit):
        return bottleneck.keys.numpy().copy()
    if isinstance(splitter, RandomProjectionSplit):
        return splitter.to_input_space(bottleneck.keys).numpy()
    return None


def _random_keys_from_data(bottleneck: KeyValueBottleneck, heads: torch.Tensor, seed: int) -> None:
    """'random' init: keys are distinct inputs drawn at random (no clustering); where there are
    fewer distinct inputs than keys, the surplus keys are left unused (never fetched)."""
    g = torch.Generator().manual_seed(seed * 7919 + 31)
    k = bottleneck.num_pairs
    for c in range(bottleneck.num_codebooks):
        distinct = torch.unique(heads[:, c], dim=0)
        pick = torch.randperm(len(distinct), generator=g)[:k]
        bottleneck.keys[c, : len(pick)] = distinct[pick]
        bottleneck.keys[c, len(pick) :] = distinct[pick[0]]
        bottleneck.active[c] = torch.arange(k) < len(pick)
    bottleneck.init_mode = "random"


def _ema_refine(bottleneck: KeyValueBottleneck, heads: torch.Tensor, epochs: int, batch: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed * 7919 + 37)
    for _ in range(epochs):
        order = torch.randperm(heads.shape[0], generator=g)
        for start in range(0, len(order), batch):
            bottleneck.ema_update(heads[order[start : start + batch]])


class DKVBLearner(Learner):
    """Values of frozen-key codebooks, trained from precomputed key-slot indices.

    Inputs are flat slot indices ``(S, N, M)`` with ``M = codebooks * topk`` and slot
    ``s * C * K + c * K + k``, i.e. rows of the seed-stacked value table ``(S * C * K, d_v)``.
    ``decoder='mean'``: logits are the mean of the fetched values (``d_v`` = classes).
    ``decoder='linear'``: the fetched values, concatenated, go through a linear layer.
    ``weights`` (soft readout, mean decoder): per set ``(S, N, M)`` readout weights summing to 1 a
    sample; outputs are the weighted sum of the fetched rows and each row gets its weight's share of
    the gradient (a weighted gather and scatter).
    """

    name = "dkvb"

    def __init__(
        self,
        inputs: dict[str, np.ndarray],
        num_classes: int,
        optimizer: str,
        lr: float,
        batch_size: int,
        values: np.ndarray,
        decoder: str = "mean",
        rngs: list[np.random.Generator] | None = None,
        loss: Loss | None = None,
        weights: dict[str, np.ndarray] | None = None,
    ):
        self.values = values  # (S, C*K, dv); a view of it is updated in place
        s, ck, dv = values.shape
        self.table = values.reshape(s * ck, dv)
        self.decoder = decoder
        self.slots_per_sample = inputs["train"].shape[-1]
        self.trained_only: TrainedKeysLookup | None = None  # set for the authors' evaluation rule
        if decoder == "linear":
            width = self.slots_per_sample * dv
            assert rngs is not None
            bound = 1.0 / np.sqrt(width)
            self.W = np.stack([r.uniform(-bound, bound, (width, num_classes)) for r in rngs]).astype(np.float32)
            self.b = np.zeros((s, 1, num_classes), dtype=np.float32)
        self.weights = weights
        super().__init__(inputs, num_classes, optimizer, lr, batch_size, loss)
        # The common case (one slot a sample, mean decoder, SGD) gets a path with the fewest numpy calls.
        self._plain_sgd = (
            decoder == "mean"
            and self.slots_per_sample == 1
            and optimizer == "sgd"
            and self.task == "classification"
            and weights is None
        )
        if self._plain_sgd:
            train = inputs["train"]
            self._train_flat = np.ascontiguousarray(train[..., 0]).reshape(-1)  # (S * N,)
            self._row_offset = (np.arange(s) * train.shape[1])[:, None]
            self._target_flat = self._target_base.reshape(-1)
            self._step_size = lr / batch_size

    def parameters(self) -> list[np.ndarray]:
        return [self.table] + ([self.W, self.b] if self.decoder == "linear" else [])

    def _plain_sgd_step(self, rows: np.ndarray, y: np.ndarray, out_logits: np.ndarray) -> None:
        """Gather, softmax, subtract the one-hot, scatter: the same step in ~10 numpy calls."""
        slots = self._train_flat[(rows + self._row_offset).reshape(-1)]  # (S * B,)
        if self.trained_only is not None:
            self.trained_only.mark(slots)
        g = self.table[slots]  # (S * B, n): also the logits
        out_logits.reshape(g.shape)[...] = g
        g -= g.max(axis=1, keepdims=True)
        np.exp(g, out=g)
        g *= self._step_size / g.sum(axis=1, keepdims=True)
        g.reshape(-1)[self._target_flat + y.reshape(-1)] -= self._step_size
        np.subtract.at(self.table, slots, g)

    def step(self, rows: np.ndarray, y: np.ndarray, out_logits: np.ndarray) -> None:
        if self._plain_sgd:
            self._plain_sgd_step(rows, y, out_logits)
            return
        slots = self.inputs["train"][self._seed_ix, rows]  # (S, B, M)
        if self.trained_only is not None:
            self.trained_only.mark(slots)
        fetched = self.table[slots]  # (S, B, M, dv)
        if self.weights is not None:
            self._weighted_step(slots, fetched, self.weights["train"][self._seed_ix, rows], y, out_logits)
            return
        if self.decoder == "mean":
            self._mean_decoder_step(slots, fetched, y, out_logits)
            return
        s, b = rows.shape
        z = fetched.reshape(s, b, -1)
        logits = z @ self.W + self.b
        out_logits[...] = logits
        d = self._dlogits(logits, y)
        dz = d @ self.W.transpose(0, 2, 1)
        dense = np.zeros_like(self.table)
        np.add.at(dense, slots.reshape(-1), dz.reshape(-1, fetched.shape[-1]))
        self.optimizer.step([dense, z.transpose(0, 2, 1) @ d, d.sum(axis=1, keepdims=True)])

    def _mean_decoder_step(self, slots: np.ndarray, fetched: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
        """Logits = mean of the fetched rows; every fetched row gets 1/M of its sample's gradient."""
        m = self.slots_per_sample
        logits = fetched[:, :, 0] if m == 1 else fetched.mean(axis=2)
        out[...] = logits
        d = self._dlogits(logits, y).reshape(-1, fetched.shape[-1])
        if m > 1:
            d = np.repeat(d, m, axis=0)
            d *= 1.0 / m
        self.optimizer.sparse_step(self.table, slots.reshape(-1), d)

    def eval_slots(self, which: str) -> np.ndarray:
        """The rows set ``which`` fetches under the evaluation rule (see :mod:`dkvb_core.models.dkvb_eval`)."""
        if self.trained_only is None or which == "train":
            return self.inputs[which]
        return self.trained_only.slots(which)

    def _weighted_step(
        self, slots: np.ndarray, fetched: np.ndarray, w: np.ndarray, y: np.ndarray, out: np.ndarray
    ) -> None:
        """Soft readout: outputs = the fetched rows weighted by ``w`` ``(S, B, M)``; row m gets w_m of the gradient."""
        outputs = np.einsum("sbm,sbmv->sbv", w, fetched)
        out[...] = outputs
        d = self._dlogits(outputs, y)  # (S, B, dv), in place on outputs
        rows_grad = w[..., None] * d[:, :, None, :]  # (S, B, M, dv)
        self.optimizer.sparse_step(self.table, slots.reshape(-1), rows_grad.reshape(-1, fetched.shape[-1]))

    def logits(self, which: str) -> np.ndarray:
        slots = self.eval_slots(which)
        fetched = self.table[slots]
        if self.weights is not None:
            return np.einsum("snm,snmv->snv", self.weights[which], fetched)
        if self.decoder == "mean":
            return fetched[:, :, 0] if self.slots_per_sample == 1 else fetched.mean(axis=2)
        s, n = slots.shape[:2]
        return fetched.reshape(s, n, -1) @ self.W + self.b

    def predict(self, which: str) -> np.ndarray:
        """For one slot a sample and the mean decoder, classify the K rows, then gather."""
        if self.decoder == "mean" and self.slots_per_sample == 1 and self.task == "classification":
            return predict_classes(self.table)[self.eval_slots(which)[..., 0]]
        return super().predict(which)

    def votes(self) -> np.ndarray:
        """The class each value row votes for ``(S, C*K)`` (mean decoder), NO_CLASS if tied."""
        return predict_classes(self.table).reshape(self.values.shape[:2])


class RecordingDKVBLearner(DKVBLearner):
    """The ``dkvb`` model: a DKVB learner that also records its keys' story for the Keys page."""

    def __init__(self, prepared: DKVBPrepared, stages: list[np.ndarray] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.prepared = prepared
        self.stages = stages  # per seed, the stage of each training sample (for the soft readout's leak)
        self._votes: list[np.ndarray] = []  # per frame (S, C*K)
        self._changed: list[np.ndarray] = []
        self._prev = self.table.copy()

    def frame(self, index: int) -> None:
        """Votes of every value row (regression: the scalar values), and which rows changed since the
        previous frame."""
        self._votes.append(self.votes() if self.task == "classification" else self.values[..., 0].copy())
        table = self.table.reshape(self.num_seeds, -1, self.table.shape[-1])
        self._changed.append((table != self._prev.reshape(table.shape)).any(axis=-1))
        self._prev = self.table.copy()

    def record_extras(self, seed: int, trace: Trace) -> dict[str, Any]:
        p = self.prepared
        if not hasattr(self, "_usage"):
            self._usage = key_usage(p.slots["train"], trace, p.codebooks * p.keys)
        frames_usage, stages_usage = self._usage
        shape = (len(trace.marks), p.codebooks, p.keys)
        votes = "value_votes" if self.task == "classification" else "value_frames"
        out = {
            "key_usage_frames": frames_usage[:, seed].reshape(shape),
            "key_usage_stages": stages_usage[:, seed].reshape((trace.num_stages, p.codebooks, p.keys)),
            votes: np.stack([v[seed] for v in self._votes]).reshape(shape),
            "values_changed": np.stack([c[seed] for c in self._changed]).reshape(shape),
            "final_values": self.values[seed].reshape(p.codebooks, p.keys, -1).copy(),
            "train_key_index": nearest_keys(p, "train", seed),
            "test_key_index": nearest_keys(p, "test", seed),
            "key_active": p.books[seed].active.copy(),
            "key_counts": _key_counts(p.books[seed], stages_usage[:, seed].reshape(-1, p.codebooks, p.keys)),
        }
        if p.weights is not None and self.stages is not None:
            out.update(readout_story(p, seed, self.stages[seed], trace.num_stages))
        return out

    def run_extras(self, seed: int) -> dict[str, Any]:
        return {"keys_2d": self.prepared.keys_2d[seed], "grid_key_index": self.prepared.grid_key_index[seed]}


def _key_counts(book: Codebook, usage_stages: np.ndarray) -> np.ndarray:
    """Keys total, unused, duplicates and never trained (see :func:`dkvb_core.analysis.key_counts`)."""
    c = key_counts(book.keys, book.active, usage_stages)
    return np.array([c.total, c.unused, c.duplicates, c.never_trained], dtype=np.int64)


def nearest_keys(prep: DKVBPrepared, which: str, seed: int) -> np.ndarray:
    """Top-1 key of each sample per codebook ``(N, C)``, from the flat value-table rows."""
    ck = prep.codebooks * prep.keys
    rows = prep.slots[which][seed] - seed * ck  # (N, C * topk)
    topk = rows.shape[1] // prep.codebooks
    return (rows.reshape(len(rows), prep.codebooks, topk)[:, :, 0] % prep.keys).astype(np.int32)


def readout_story(prep: DKVBPrepared, seed: int, stage_train: np.ndarray, num_stages: int) -> dict[str, np.ndarray]:
    """Soft readout, one seed: effective keys a training sample (mean per stage) and the leak per stage."""
    assert prep.weights is not None
    n = prep.slots["train"].shape[1]
    shape = (n, prep.codebooks, -1)
    keys = (prep.slots["train"][seed] % prep.keys).reshape(shape)
    w = prep.weights["train"][seed].reshape(shape) * prep.codebooks  # each head's weights sum to 1
    return {
        "effective_keys": stage_means(effective_keys(w), stage_train, num_stages).astype(np.float32),
        "readout_leak": leak(keys, w, stage_train, num_stages).astype(np.float32),
    }


def key_usage(train_slots: np.ndarray, trace: Trace, ck: int) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative fetch counts per frame ``(F, S, C*K)`` and per-stage counts ``(T, S, C*K)``."""
    rows, marks = trace.rows, trace.marks
    total, S = rows.shape[:2]
    fetched = np.stack([train_slots[s][rows[:, s]] for s in range(S)], axis=1)  # (total, S, B, M)
    local = fetched - (np.arange(S) * ck)[None, :, None, None]
    seed_col = np.broadcast_to(np.arange(S)[None, :, None, None], fetched.shape)

    def counts(bucket_of_step: np.ndarray, buckets: int) -> np.ndarray:
        b_idx = np.broadcast_to(bucket_of_step[:, None, None, None], fetched.shape)
        flat = (b_idx * S + seed_col) * ck + local
        return np.bincount(flat.ravel(), minlength=buckets * S * ck).reshape(buckets, S, ck)

    per_frame = counts(np.searchsorted(marks, np.arange(1, total + 1)), len(marks))  # frame closing each step
    per_stage = counts(np.arange(total) // trace.steps_per_stage, trace.num_stages)
    return np.cumsum(per_frame, axis=0).astype(np.int32), per_stage.astype(np.int32)


def make_dkvb_learner(inputs: RunInputs, lr: float, init_tag: int, with_extras: bool) -> Learner:
    """A DKVB learner on the run's prepared keys; ``with_extras`` records key usage and votes."""
    prep = prepare_dkvb(inputs)
    cfg = inputs.config
    kwargs = {
        "inputs": prep.slots,
        "num_classes": inputs.num_classes,
        "optimizer": cfg.train.optimizer,
        "lr": lr,
        "batch_size": cfg.train.batch_size,
        "values": prep.values.copy(),
        "decoder": cfg.dkvb.decoder,
        "rngs": inputs.rngs(init_tag),
        "loss": loss_for(inputs),
        "weights": prep.weights,
    }
    if with_extras:
        learner: DKVBLearner = RecordingDKVBLearner(prep, [st.stage_train for st in inputs.streams], **kwargs)
    else:
        learner = DKVBLearner(**kwargs)
    if cfg.dkvb.eval_rule == "trained_keys_only":
        learner.trained_only = TrainedKeysLookup(prep, cfg.dkvb.topk)
    learner.seconds = prep.seconds
    return learner


def build_dkvb(inputs: RunInputs, spec: ModelSpec) -> Learner:
    return make_dkvb_learner(inputs, inputs.config.dkvb.lr, spec.init_tag, with_extras=True)
