"""The stage-by-stage engine: every chosen model sees the same batches of the same stream.

Flow: build the stream(s) -> encode once (frozen encoder) -> DKVB: initialise keys on the
unlabelled training inputs, freeze them, and look up every sample's key slots once (train,
test, grid) -> train all learners step by step, batched over seeds -> record frames ->
a :class:`RunResult` per seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from dkvb_core.bottleneck import KeyValueBottleneck
from dkvb_core.config import Config
from dkvb_core.encoders import IdentitySplit, RandomProjectionSplit, make_encoder, make_splitter
from dkvb_core.errors import ConfigError, DataError
from dkvb_core.learners import DKVBLearner, Learner, LinearLearner, MLPLearner, predict_classes
from dkvb_core.result import GridSpec, ModelRecord, RunResult
from dkvb_core.streams import Stream, build_stream

Progress = Callable[[int, int], None]
_PROGRESS_EVERY = 250
_LOGIT_CHUNK = 256  # steps of pre-update logits buffered before loss/accuracy are computed
_INIT_TAGS = {"dkvb": 0x21, "linear": 0x22, "mlp": 0x23, "joint": 0x10}


@dataclass
class _Prepared:
    """Model inputs shared by the learners, stacked over seeds."""

    embeddings: dict[str, np.ndarray]  # set name -> (S, N, D)
    grids: list[GridSpec] | None
    dkvb_slots: dict[str, np.ndarray] | None  # set name -> (S, N, M) flat value-table rows
    dkvb_values: np.ndarray | None  # (S, C*K, dv) initial values
    dkvb_seconds: float
    keys_2d: list[np.ndarray | None]
    grid_key_index: list[np.ndarray | None]
    codebooks: int
    keys: int


def run(config: Config, stream: Stream | None = None, progress: Progress | None = None) -> RunResult:
    """Run every model of ``config`` on its stream (or on ``stream``) for ``config.seed``."""
    return run_seeds(config, [config.seed], stream, progress)[0]


def run_seeds(
    config: Config, seeds: list[int], stream: Stream | None = None, progress: Progress | None = None
) -> list[RunResult]:
    """The same config for several seeds at once, vectorised across seeds.

    Each seed gets its own data sample (unless ``stream`` is given or ``stream.seed`` is set),
    key initialisation, model initialisation and batch order. Results equal separate runs.
    """
    if not seeds:
        raise ConfigError([("seeds", "give at least one seed")])
    configs = [config.replace(seed=int(s)) for s in seeds]
    streams = [stream if stream is not None else build_stream(c) for c in configs]
    _check_same_shape(streams)
    # The arrays are small: a multi-threaded BLAS spends more on waking threads than on the work,
    # and on a loaded 2-core machine (a server, a sweep) it is 10-20x slower. One thread, restored after.
    with threadpool_limits(limits=1):
        prepared = _prepare(configs, streams)
        return _train(configs, streams, prepared, progress)


def _check_same_shape(streams: list[Stream]) -> None:
    first = streams[0]
    for s in streams[1:]:
        if s.x_train.shape != first.x_train.shape or s.x_test.shape != first.x_test.shape:
            raise DataError("seeds: the streams of different seeds differ in size; run them one by one")


# --- preparation: embeddings, grid, keys ---------------------------------------------------


def _grid_for(stream: Stream, size: int, margin: float) -> GridSpec:
    """A square grid over the data's extent plus ``margin`` of it on every side."""
    pts = np.concatenate([stream.x_train, stream.x_test])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre = (lo + hi) / 2
    half = max(float((hi - lo).max()) / 2, 1e-3) * (1 + margin)
    return GridSpec(
        float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half), size
    )


def _prepare(configs: list[Config], streams: list[Stream]) -> _Prepared:
    cfg = configs[0]
    encoder = make_encoder(cfg.stream.encoder, streams[0].input_dim, streams[0].name)
    emb = {
        "train": np.stack([encoder.encode(s.x_train) for s in streams]),
        "test": np.stack([encoder.encode(s.x_test) for s in streams]),
    }
    grids = None
    if cfg.record.grid_size > 0 and streams[0].input_dim == 2 and encoder.name == "identity":
        grids = [_grid_for(s, cfg.record.grid_size, cfg.record.grid_margin) for s in streams]
        emb["grid"] = np.stack([g.points() for g in grids])
    needs_dkvb = "dkvb" in cfg.train.models or ("joint" in cfg.train.models and cfg.joint.arch == "dkvb")
    prepared = _Prepared(emb, grids, None, None, 0.0, [None] * len(configs), [None] * len(configs), 0, 0)
    if needs_dkvb:
        _prepare_dkvb(configs, streams, prepared)
    return prepared


def _prepare_dkvb(configs: list[Config], streams: list[Stream], prepared: _Prepared) -> None:
    """Initialise and freeze each seed's keys, then turn every input into flat value-table rows."""
    start = time.perf_counter()
    d = configs[0].dkvb
    num_classes = streams[0].num_classes
    dim_values = d.dim_values if d.dim_values is not None else num_classes
    slots: dict[str, list[np.ndarray]] = {name: [] for name in prepared.embeddings}
    values = []
    for s, (cfg, _stream) in enumerate(zip(configs, streams, strict=True)):
        seed = cfg.seed
        emb = {k: torch.from_numpy(v[s]) for k, v in prepared.embeddings.items()}
        splitter = make_splitter(d.split, emb["train"].shape[1], d.num_codebooks, d.dim_keys, seed=seed * 7919 + 17)
        heads = {k: splitter(v) for k, v in emb.items()}
        bottleneck = KeyValueBottleneck(
            num_codebooks=d.num_codebooks,
            key_value_pairs_per_codebook=d.keys_per_codebook,
            dim_keys=splitter.dim_keys,
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
            _random_keys_from_data(bottleneck, heads["train"], seed)
        bottleneck.initialize_keys(heads["train"])
        _ema_refine(bottleneck, heads["train"], d.ema_epochs, cfg.train.batch_size * 10, seed)
        bottleneck.freeze_keys()
        ck = d.num_codebooks * d.keys_per_codebook
        offset = (torch.arange(d.num_codebooks) * d.keys_per_codebook).view(1, -1, 1) + s * ck
        for name, h in heads.items():
            idx, _ = bottleneck.lookup(h)  # (N, C, topk)
            slots[name].append((idx + offset).reshape(len(h), -1).numpy().astype(np.int64))
        values.append(bottleneck.values.detach().numpy().reshape(ck, dim_values))
        if "grid" in heads:
            prepared.grid_key_index[s] = (idx[:, :, 0].T.contiguous().numpy()).astype(np.int32)
            if isinstance(splitter, IdentitySplit):
                prepared.keys_2d[s] = bottleneck.keys.numpy().copy()
            elif isinstance(splitter, RandomProjectionSplit):
                prepared.keys_2d[s] = splitter.to_input_space(bottleneck.keys).numpy()
    prepared.dkvb_slots = {k: np.stack(v) for k, v in slots.items()}
    prepared.dkvb_values = np.ascontiguousarray(np.stack(values), dtype=np.float32)
    prepared.codebooks, prepared.keys = d.num_codebooks, d.keys_per_codebook
    prepared.dkvb_seconds = time.perf_counter() - start


def _random_keys_from_data(bottleneck: KeyValueBottleneck, heads: torch.Tensor, seed: int) -> None:
    """'random' init: keys are distinct training inputs drawn at random (no clustering)."""
    g = torch.Generator().manual_seed(seed * 7919 + 31)
    n = heads.shape[0]
    for c in range(bottleneck.num_codebooks):
        pick = torch.randperm(n, generator=g)[: bottleneck.num_pairs]
        if len(pick) < bottleneck.num_pairs:
            pick = torch.cat([pick, torch.randint(n, (bottleneck.num_pairs - len(pick),), generator=g)])
        bottleneck.keys[c] = heads[pick, c] + 1e-4 * torch.randn(len(pick), heads.shape[2], generator=g)
    bottleneck.init_mode = "random"


def _ema_refine(bottleneck: KeyValueBottleneck, heads: torch.Tensor, epochs: int, batch: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed * 7919 + 37)
    for _ in range(epochs):
        order = torch.randperm(heads.shape[0], generator=g)
        for start in range(0, len(order), batch):
            bottleneck.ema_update(heads[order[start : start + batch]])


# --- training ------------------------------------------------------------------------------


def stage_schedule(stream: Stream, steps: int, batch: int, rng: np.random.Generator) -> np.ndarray:
    """Training rows ``(stages * steps, batch)``: per stage, reshuffled passes over its data."""
    out = []
    for stage in range(stream.num_stages):
        rows = stream.train_indices(stage)
        if len(rows) == 0:
            raise DataError(f"stream: stage {stage} has no training samples")
        out.append(_epochs(rows, steps * batch, rng).reshape(steps, batch))
    return np.concatenate(out)


def joint_schedule(n: int, total_steps: int, batch: int, rng: np.random.Generator) -> np.ndarray:
    """Training rows of the i.i.d. reference: reshuffled passes over all stages' data."""
    return _epochs(np.arange(n), total_steps * batch, rng).reshape(total_steps, batch)


def _epochs(rows: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    reps = -(-count // len(rows))
    return np.concatenate([rng.permutation(rows) for _ in range(reps)])[:count]


def frame_steps(total: int, steps_per_stage: int, every: int) -> np.ndarray:
    """Steps after which a frame is taken: 0, every ``every`` steps, and each stage end."""
    marks = {0, *range(steps_per_stage, total + 1, steps_per_stage)}
    if every:
        marks.update(range(every, total + 1, every))
    return np.array(sorted(marks), dtype=np.int32)


def _build_learners(configs: list[Config], streams: list[Stream], prep: _Prepared) -> dict[str, Learner]:
    cfg = configs[0]
    n_cls = streams[0].num_classes
    opt, batch = cfg.train.optimizer, cfg.train.batch_size
    learners: dict[str, Learner] = {}

    def rngs(tag: int) -> list[np.random.Generator]:
        return [np.random.default_rng([c.seed, tag]) for c in configs]

    def make(arch: str, lr: float, tag: int) -> Learner:
        if arch == "linear":
            return LinearLearner(prep.embeddings, n_cls, opt, lr, batch)
        if arch == "mlp":
            return MLPLearner(prep.embeddings, n_cls, opt, lr, batch, cfg.mlp.hidden, rngs(tag))
        assert prep.dkvb_slots is not None and prep.dkvb_values is not None
        return DKVBLearner(prep.dkvb_slots, n_cls, opt, lr, batch, prep.dkvb_values.copy(), cfg.dkvb.decoder, rngs(tag))

    for name in cfg.train.models:  # a model's init depends on its name and seed, not on the others run
        if name == "joint":
            learners[name] = make(cfg.joint.arch, cfg.joint.lr, _INIT_TAGS[name])
        else:
            learners[name] = make(name, getattr(cfg, name).lr, _INIT_TAGS[name])
    return learners


def _train(configs: list[Config], streams: list[Stream], prep: _Prepared, progress: Progress | None) -> list[RunResult]:
    cfg = configs[0]
    S, T = len(configs), streams[0].num_stages
    steps, batch = cfg.train.steps_per_stage, cfg.train.batch_size
    total = T * steps
    n_cls = streams[0].num_classes
    learners = _build_learners(configs, streams, prep)
    schedules = {
        "stream": np.stack(
            [
                stage_schedule(st, steps, batch, np.random.default_rng([c.seed, 0xBA7C]))
                for c, st in zip(configs, streams, strict=True)
            ],
            axis=1,
        ),
    }
    if "joint" in learners:
        schedules["joint"] = np.stack(
            [
                joint_schedule(len(st.y_train), total, batch, np.random.default_rng([c.seed, 0x501]))
                for c, st in zip(configs, streams, strict=True)
            ],
            axis=1,
        )
    y_train = np.stack([st.y_train for st in streams])
    y_test = np.stack([st.y_test for st in streams])
    labels = {k: np.stack([y_train[s][rows[:, s]] for s in range(S)], axis=1) for k, rows in schedules.items()}
    stage_onehot = np.stack([np.eye(T, dtype=np.float32)[st.stage_test] for st in streams])  # (S, Nt, T)
    stage_counts = stage_onehot.sum(axis=1)  # (S, T)

    marks = frame_steps(total, steps, cfg.record.every)
    F = len(marks)
    has_grid = "grid" in prep.embeddings
    rec = {
        name: {
            "acc": np.zeros((F, S, T), np.float32),
            "loss": np.zeros((total, S), np.float32),
            "correct": np.zeros((total, S), np.int16),
            "grid": np.zeros((F, S, prep.embeddings["grid"].shape[1]), np.uint8) if has_grid else None,
            "test_pred": np.zeros((T, S, y_test.shape[1]), np.uint8),
            "seconds": prep.dkvb_seconds if isinstance(lr, DKVBLearner) else 0.0,
        }
        for name, lr in learners.items()
    }
    dkvb = learners.get("dkvb")
    dkvb_frames = None
    if isinstance(dkvb, DKVBLearner):
        ck = dkvb.values.shape[1]
        dkvb_frames = {
            "votes": np.zeros((F, S, ck), np.uint8),
            "changed": np.zeros((F, S, ck), bool),
            "prev": dkvb.table.copy(),
        }
    chunk = max(1, min(int(np.diff(marks).max()) if F > 1 else 1, _LOGIT_CHUNK))
    buffers = {name: np.zeros((chunk, S, batch, n_cls), np.float32) for name in learners}

    def flush(done: int, filled: int) -> None:
        """Turn the buffered pre-update logits of the last ``filled`` steps into loss and hits."""
        for name in learners:
            r = rec[name]
            t0 = time.perf_counter()
            ys = labels["joint" if name == "joint" else "stream"][done - filled : done]
            r["loss"][done - filled : done], r["correct"][done - filled : done] = _loss_and_correct(
                buffers[name][:filled], ys
            )
            r["seconds"] += time.perf_counter() - t0

    def record_frame(f: int, done: int) -> None:
        for name, learner in learners.items():
            r = rec[name]
            t0 = time.perf_counter()
            pred = learner.predict("test")
            correct = (pred == y_test).astype(np.float32)  # (S, Nt)
            r["acc"][f] = np.einsum("sn,snt->st", correct, stage_onehot) / np.maximum(stage_counts, 1)
            if has_grid:
                r["grid"][f] = learner.predict("grid")
            if done and done % steps == 0:
                r["test_pred"][done // steps - 1] = pred
            if learner is dkvb and dkvb_frames is not None:
                dkvb_frames["votes"][f] = dkvb.votes()
                table = dkvb.table.reshape(S, -1, dkvb.table.shape[-1])
                prev = dkvb_frames["prev"].reshape(table.shape)
                dkvb_frames["changed"][f] = (table != prev).any(axis=-1)
                dkvb_frames["prev"] = dkvb.table.copy()
            r["seconds"] += time.perf_counter() - t0

    record_frame(0, 0)
    next_frame, filled = 1, 0
    stream_rows, stream_y = schedules["stream"], labels["stream"]
    joint_rows = schedules.get("joint")
    perf = time.perf_counter
    step_fns = [(name, lr.step, buffers[name], rec[name]) for name, lr in learners.items()]
    for t in range(total):
        for name, step, buf, r in step_fns:
            t0 = perf()
            if name == "joint":
                step(joint_rows[t], labels["joint"][t], buf[filled])
            else:
                step(stream_rows[t], stream_y[t], buf[filled])
            r["seconds"] += perf() - t0
        done, filled = t + 1, filled + 1
        at_frame = done == marks[next_frame]
        if at_frame or filled == chunk:
            flush(done, filled)
            filled = 0
        if at_frame:
            record_frame(next_frame, done)
            next_frame = min(next_frame + 1, F - 1)
        if progress is not None and (done % _PROGRESS_EVERY == 0 or done == total):
            progress(done, total)

    usage_frames, usage_stages = (None, None)
    if dkvb_frames is not None:
        usage_frames, usage_stages = _key_usage(prep, stream_rows, marks, steps, T, S)
    results = []
    frame_stage = np.clip((np.maximum(marks, 1) - 1) // steps, 0, T - 1).astype(np.int16)
    stage_end = np.searchsorted(marks, np.arange(1, T + 1) * steps).astype(np.int32)
    for s, (c, st) in enumerate(zip(configs, streams, strict=True)):
        models = {}
        for name in learners:
            r = rec[name]
            m = ModelRecord(
                name=name,
                stage_accuracy=r["acc"][:, s].copy(),
                step_loss=r["loss"][:, s].copy(),
                step_correct=r["correct"][:, s].copy(),
                seconds=float(r["seconds"]) / S,
                grid_predictions=r["grid"][:, s].copy() if has_grid else None,
                test_predictions=r["test_pred"][:, s].copy(),
            )
            if name == "dkvb" and dkvb_frames is not None:
                shape = (F, prep.codebooks, prep.keys)
                m.key_usage_frames = usage_frames[:, s].reshape(shape)
                m.key_usage_stages = usage_stages[:, s].reshape((T, prep.codebooks, prep.keys))
                m.value_votes = dkvb_frames["votes"][:, s].reshape(shape)
                m.values_changed = dkvb_frames["changed"][:, s].reshape(shape)
                m.final_values = learners["dkvb"].values[s].reshape(prep.codebooks, prep.keys, -1).copy()
                m.train_key_index = _nearest_keys(prep, "train", s)
                m.test_key_index = _nearest_keys(prep, "test", s)
            models[name] = m
        two_d = st.input_dim == 2
        results.append(
            RunResult(
                config=c,
                stage_classes=st.stage_classes,
                class_names=st.class_names,
                frame_steps=marks.copy(),
                frame_stage=frame_stage,
                stage_end_frames=stage_end,
                models=models,
                batch_size=batch,
                grid=prep.grids[s] if prep.grids else None,
                x_train=st.x_train if two_d else None,
                y_train=st.y_train if two_d else None,
                stage_train=st.stage_train if two_d else None,
                x_test=st.x_test if two_d else None,
                y_test=st.y_test if two_d else None,
                stage_test=st.stage_test if two_d else None,
                keys_2d=prep.keys_2d[s],
                grid_key_index=prep.grid_key_index[s],
                extra={"stream_name": st.name},
            )
        )
    return results


def _nearest_keys(prep: _Prepared, which: str, s: int) -> np.ndarray:
    """Top-1 key of each sample per codebook ``(N, C)``, from the flat value-table rows."""
    assert prep.dkvb_slots is not None
    ck = prep.codebooks * prep.keys
    rows = prep.dkvb_slots[which][s] - s * ck  # (N, C * topk)
    topk = rows.shape[1] // prep.codebooks
    return (rows.reshape(len(rows), prep.codebooks, topk)[:, :, 0] % prep.keys).astype(np.int32)


def _loss_and_correct(logits: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy and correct count per step for logits ``(k, S, B, n)``, labels ``(k, S, B)``."""
    m = logits.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(logits - m).sum(axis=-1)) + m[..., 0]
    target = np.take_along_axis(logits, y[..., None], axis=-1)[..., 0]
    loss = (lse - target).mean(axis=-1)
    correct = (predict_classes(logits) == y).sum(axis=-1).astype(np.int16)
    return loss, correct


def _key_usage(
    prep: _Prepared, rows: np.ndarray, marks: np.ndarray, steps: int, T: int, S: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative fetch counts per frame ``(F, S, C*K)`` and per-stage counts ``(T, S, C*K)``."""
    assert prep.dkvb_slots is not None
    train_slots = prep.dkvb_slots["train"]  # (S, N, M) flat rows including the seed offset
    ck = prep.codebooks * prep.keys
    total = rows.shape[0]
    fetched = np.stack([train_slots[s][rows[:, s]] for s in range(S)], axis=1)  # (total, S, B, M)
    local = fetched - (np.arange(S) * ck)[None, :, None, None]
    seed_col = np.broadcast_to(np.arange(S)[None, :, None, None], fetched.shape)
    frame_of_step = np.searchsorted(marks, np.arange(1, total + 1))  # frame that closes each step
    f_idx = np.broadcast_to(frame_of_step[:, None, None, None], fetched.shape)
    F = len(marks)
    flat = (f_idx * S + seed_col) * ck + local
    per_frame = np.bincount(flat.ravel(), minlength=F * S * ck).reshape(F, S, ck)
    cumulative = np.cumsum(per_frame, axis=0).astype(np.int32)
    stage_of_step = np.arange(total) // steps
    s_idx = np.broadcast_to(stage_of_step[:, None, None, None], fetched.shape)
    flat_s = (s_idx * S + seed_col) * ck + local
    per_stage = np.bincount(flat_s.ravel(), minlength=T * S * ck).reshape(T, S, ck).astype(np.int32)
    return cumulative, per_stage
