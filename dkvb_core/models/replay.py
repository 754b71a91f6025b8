"""Rehearsal baselines on the frozen embedding: experience replay and A-GEM, both the MLP plus raw past samples.

``replay`` (experience replay, as in Chaudhry et al. 2019 "On tiny episodic memories"): a reservoir
buffer filled sample by sample from the stream (every sample seen so far is in it with the same
probability); each step trains on the incoming batch plus as many samples drawn from the buffer, one
cross-entropy averaged over both. ``agem`` (A-GEM, Chaudhry et al. 2019): an episodic memory whose
slots are shared equally by the stages seen, refilled at each stage end; before each step the
gradient on a memory batch is the reference, and a step gradient that would raise the memory loss
(``g · g_ref < 0``) is projected: ``g - (g · g_ref / g_ref · g_ref) g_ref``.

Both keep rows of the training set (the raw samples and their labels). Every draw (reservoir slots,
memory batches, which samples a stage leaves in memory) comes from generators seeded by the run seed
and the model's tag, so a model's numbers never depend on which other models run beside it.
"""

from __future__ import annotations

import functools

import numpy as np

from dkvb_core.models.base import Learner, RunInputs
from dkvb_core.models.baselines import MLPLearner
from dkvb_core.models.losses import Loss, loss_for
from dkvb_core.models.spec import ModelSpec

RESERVOIR, BATCHES, STAGE_PICKS = 1, 2, 3  # ``purpose`` tags of a model's generators
_CHUNK = 256  # draws taken from a generator at a time (the draws do not depend on it)


def uniform_chunk(rngs: list[np.random.Generator], steps: int, width: int) -> np.ndarray:
    """``(S, steps, width)`` uniform [0, 1) draws, each seed's from its own generator in stream order."""
    return np.stack([r.random((steps, width)) for r in rngs])


class SlotSampler:
    """Draws ``k`` distinct slots among the filled ones each step, per seed: the slots with the ``k``
    smallest of fresh uniform keys. Keys come ``_CHUNK`` steps at a time, sorted once a chunk."""

    def __init__(self, rngs: list[np.random.Generator], slots: int):
        self.rngs, self.slots = rngs, slots
        self.keys = self.order = np.empty((len(rngs), 0, slots))
        self.pos = 0

    def draw(self, filled: int, k: int) -> np.ndarray:
        """Slots ``(S, k)`` drawn without repeats from ``0 .. filled - 1``."""
        if self.pos == self.keys.shape[1]:
            self.keys = uniform_chunk(self.rngs, _CHUNK, self.slots)
            self.order = np.argsort(self.keys, axis=2, kind="stable")
            self.pos = 0
        self.pos += 1
        if filled == self.slots:
            return self.order[:, self.pos - 1, :k]
        keys = self.keys[:, self.pos - 1].copy()
        keys[:, filled:] = 2.0  # above every uniform draw: empty slots are never picked
        return np.argsort(keys, axis=1, kind="stable")[:, :k]


class Reservoir:
    """Reservoir sampling of (row, label) pairs, batched over seeds: after ``n`` samples each is held
    with probability ``slots / n``. Sample ``n`` (0-based) goes to slot ``n`` while there is room, else
    to slot ``floor(u * (n + 1))`` if that is a slot (``u`` uniform, one a sample), replacing what was
    there. The slots of ``_CHUNK`` batches are planned at once (the stream's sample numbers are known)."""

    def __init__(self, slots: int, rngs: list[np.random.Generator], batch: int, target_dtype: type = np.int64):
        s = len(rngs)
        self.slots, self.rngs, self.batch = slots, rngs, batch
        self.rows = np.zeros((s, slots), np.int64)
        self.y = np.zeros((s, slots), target_dtype)  # labels, or float targets for regression
        self.seen = 0
        self.step_in_chunk = _CHUNK

    @property
    def filled(self) -> int:
        return min(self.seen, self.slots)

    def _plan(self) -> None:
        """Where each sample of the next ``_CHUNK`` batches goes: (step, seed, sample, slot) of the kept ones."""
        n = self.seen + np.arange(_CHUNK * self.batch).reshape(_CHUNK, self.batch)
        u = uniform_chunk(self.rngs, _CHUNK, self.batch)
        slot = np.where(n < self.slots, n, (u * (n + 1)).astype(np.int64))  # (S, steps, B)
        keep = slot < self.slots
        keep &= ~np.triu(slot[..., :, None] == slot[..., None, :], k=1).any(axis=-1)  # a later sample wins a slot
        step, seed, sample = np.nonzero(keep.transpose(1, 0, 2))
        self.plan = (seed, sample, slot[seed, step, sample])
        self.bounds = np.searchsorted(step, np.arange(_CHUNK + 1))
        self.step_in_chunk = 0

    def add(self, rows: np.ndarray, y: np.ndarray) -> None:
        """Offer a batch ``(S, B)``: the same as offering its samples one by one, in order."""
        if self.step_in_chunk == _CHUNK:
            self._plan()
        lo, hi = self.bounds[self.step_in_chunk], self.bounds[self.step_in_chunk + 1]
        if hi > lo:
            seed, sample, slot = (a[lo:hi] for a in self.plan)
            self.rows[seed, slot] = rows[seed, sample]
            self.y[seed, slot] = y[seed, sample]
        self.step_in_chunk += 1
        self.seen += self.batch


class ReplayLearner(MLPLearner):
    """The MLP trained on each incoming batch plus an equal number of samples replayed from a reservoir."""

    name = "replay"

    def __init__(
        self,
        inputs: dict[str, np.ndarray],
        num_classes: int,
        optimizer: str,
        lr: float,
        batch_size: int,
        hidden: int | tuple[int, ...],
        rngs: list[np.random.Generator],
        memory: int,
        buffer_rngs: list[np.random.Generator],
        batch_rngs: list[np.random.Generator],
        loss: Loss | None = None,
    ):
        super().__init__(inputs, num_classes, optimizer, lr, batch_size, hidden, rngs, loss)
        self.buffer = Reservoir(memory, buffer_rngs, batch_size, np.float32 if self.task == "regression" else np.int64)
        self.sampler = SlotSampler(batch_rngs, memory)
        self.last_replay: tuple[np.ndarray, np.ndarray] | None = None  # rows and labels replayed last step

    def step(self, rows: np.ndarray, y: np.ndarray, out_logits: np.ndarray) -> None:
        x = self.inputs["train"][self._seed_ix, rows]
        k = min(self.batch_size, self.buffer.filled)
        self.last_replay = None
        if k:
            pick = self.sampler.draw(self.buffer.filled, k)
            mem_rows, mem_y = self.buffer.rows[self._seed_ix, pick], self.buffer.y[self._seed_ix, pick]
            self.last_replay = (mem_rows, mem_y)
            x = np.concatenate([x, self.inputs["train"][self._seed_ix, mem_rows]], axis=1)
            targets = np.concatenate([y, mem_y], axis=1)
        else:
            targets = y
        h, a, logits = self.forward(x)
        out_logits[...] = logits[:, : rows.shape[1]]
        d = self.loss.batch_grad(logits, targets)  # cross-entropy or squared error, mean over batch + replay
        self.optimizer.step(self.gradients(x, h, a, d))
        self.buffer.add(rows, y)


class EpisodicMemory:
    """A-GEM's memory: ``slots`` shared equally by the stages seen (earlier stages get the remainder).

    At a stage's end its share is a random subset of its training rows; the earlier stages' shares
    shrink to their new quota by keeping their first samples (already in random order)."""

    def __init__(self, slots: int, labels: np.ndarray, rngs: list[np.random.Generator]):
        self.slots, self.labels, self.rngs = slots, labels, rngs
        self.parts: list[np.ndarray] = []  # per stage seen: (S, q) rows
        self.rows = np.zeros((len(rngs), 0), np.int64)
        self.y = np.zeros((len(rngs), 0), np.int64)

    @property
    def filled(self) -> int:
        return self.rows.shape[1]

    def add_stage(self, stage_rows: list[np.ndarray]) -> None:
        """Make room for a finished stage and store a random subset of its rows (``stage_rows`` per seed)."""
        n = len(self.parts) + 1
        quota = [self.slots // n + (i < self.slots % n) for i in range(n)]
        new = min(quota[-1], min(len(r) for r in stage_rows))
        picks = np.stack([rng.permutation(r)[:new] for rng, r in zip(self.rngs, stage_rows, strict=True)])
        self.parts = [p[:, :q] for p, q in zip(self.parts, quota, strict=False)] + [picks.astype(np.int64)]
        self.rows = np.concatenate(self.parts, axis=1)
        self.y = np.take_along_axis(self.labels, self.rows, axis=1)


class AGEMLearner(MLPLearner):
    """The MLP with A-GEM's gradient projection against a reference gradient on the episodic memory."""

    name = "agem"

    def __init__(
        self,
        inputs: dict[str, np.ndarray],
        num_classes: int,
        optimizer: str,
        lr: float,
        batch_size: int,
        hidden: int,
        rngs: list[np.random.Generator],
        memory: EpisodicMemory,
        memory_batch: int,
        batch_rngs: list[np.random.Generator],
        stage_rows: list[list[np.ndarray]],
    ):
        super().__init__(inputs, num_classes, optimizer, lr, batch_size, hidden, rngs)
        self.memory, self.memory_batch, self.stage_rows = memory, memory_batch, stage_rows
        self.sampler = SlotSampler(batch_rngs, memory.slots)
        self.last_reference: tuple[np.ndarray, np.ndarray] | None = None  # memory rows and labels of the last step
        self.grads = FlatGradients(self.parameters())
        self._memory_x: np.ndarray | None = None  # the whole memory's embeddings (set at each stage end)
        self._block: tuple[np.ndarray, np.ndarray] | None = None  # batch + whole memory rows and labels

    def step(self, rows: np.ndarray, y: np.ndarray, out_logits: np.ndarray) -> None:
        x = self.inputs["train"][self._seed_ix, rows]
        self.last_reference = None
        if not self.memory.filled:
            h, a, logits = self.forward(x)
            out_logits[...] = logits
            self.optimizer.step(self.gradients(x, h, a, self._dlogits(logits, y)))
            return
        mem_rows, mem_y, xm = self.memory_batch_now()
        self.last_reference = (mem_rows, mem_y)
        # One forward and one backward pass over the batch and the memory batch together; each
        # part's gradient is its own mean (A-GEM's cost is this step's, so it is kept lean).
        b = rows.shape[1]
        both, labels = self._with_memory(x, y, xm, mem_y)
        h, a, logits = self.forward(both)
        out_logits[...] = logits[:, :b]
        d = class_major_softmax(logits)
        d[self._seed_ix, self._arange(d.shape[1]), labels] -= 1.0
        d *= self._part_means(b, mem_y.shape[1])
        self.split_gradients(both, h, a, d, b)
        project_(self.grads.flat)
        self.optimizer.step(self.grads.views[0])

    def _with_memory(
        self, x: np.ndarray, y: np.ndarray, xm: np.ndarray, mem_y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The batch then the memory batch, as one block ``(S, b + m, D)`` and its labels. When the memory
        batch is the whole memory (the default) its part is copied in once a stage, the batch's each step."""
        whole = xm is self._memory_x
        if not whole or self._block is None or self._block[0].shape[1] != x.shape[1] + xm.shape[1]:
            self._block = np.concatenate([x, xm], axis=1), np.concatenate([y, mem_y], axis=1)
            if not whole:
                block, self._block = self._block, None
                return block
        both, labels = self._block
        both[:, : x.shape[1]] = x
        labels[:, : x.shape[1]] = y
        return both, labels

    @functools.cache  # noqa: B019 - one or two sizes a run
    def _arange(self, n: int) -> np.ndarray:
        return np.arange(n)

    @functools.cache  # noqa: B019 - a few (batch, memory batch) sizes a run; the learner lives for one run
    def _part_means(self, b: int, m: int) -> np.ndarray:
        """Row weights ``(b + m, 1)`` that make each part's summed gradient its mean."""
        return np.where(np.arange(b + m) < b, 1.0 / b, 1.0 / m).astype(np.float32)[:, None]

    def split_gradients(
        self, x: np.ndarray, hs: list[np.ndarray], acts: list[np.ndarray], d: np.ndarray, b: int
    ) -> None:
        """Into ``self.grads``: the gradients of rows ``:b`` and of rows ``b:`` (``d`` weighted per
        part), in one backward pass: the hidden layers' output gradients are propagated once for both."""
        ones = np.ones((d.shape[0], 1, d.shape[1]), np.float32)  # row sums as products: ~5x numpy's axis-1 sum
        inputs, parts = [x, *acts], (slice(None, b), slice(b, None))
        for layer in range(len(self.weights) - 1, -1, -1):
            inp = inputs[layer].transpose(0, 2, 1)
            for views, rows in zip(self.grads.views, parts, strict=True):
                np.matmul(inp[..., rows], d[:, rows], out=views[2 * layer])
                np.matmul(ones[..., rows], d[:, rows], out=views[2 * layer + 1])
            if layer:
                d = d @ self.weights[layer].transpose(0, 2, 1)
                d *= hs[layer - 1] > 0

    def memory_batch_now(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, labels and embeddings of this step's memory batch, drawn at random without repeats;
        a batch as large as the memory is the whole memory (no draw: the order does not matter)."""
        if self.memory_batch >= self.memory.filled:
            return self.memory.rows, self.memory.y, self._memory_x
        pick = self.sampler.draw(self.memory.filled, self.memory_batch)
        mem_rows, mem_y = self.memory.rows[self._seed_ix, pick], self.memory.y[self._seed_ix, pick]
        return mem_rows, mem_y, self.inputs["train"][self._seed_ix, mem_rows]

    def end_stage(self, stage: int) -> None:
        self.memory.add_stage(self.stage_rows[stage])
        self._memory_x = self.inputs["train"][self._seed_ix, self.memory.rows]
        self._block = None  # the memory changed: the next step copies its part in again


class FlatGradients:
    """Two reused buffers ``(S, P)`` (the batch's gradient and the memory's reference gradient), with
    per-parameter views in ``parameters()`` order: the projection then works on whole rows at once."""

    def __init__(self, params: list[np.ndarray]):
        sizes = [p[0].size for p in params]
        self.flat = np.zeros((2, params[0].shape[0], sum(sizes)), np.float32)
        ends = np.cumsum(sizes)
        self.views = [
            [part[:, end - n : end].reshape(p.shape) for p, n, end in zip(params, sizes, ends, strict=True)]
            for part in self.flat
        ]


def class_major_softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last (class) axis of ``(S, B, n)``, as a new array: computed class-major,
    where the reductions run over whole rows (numpy's reductions over a short last axis are ~4x slower)."""
    t = np.ascontiguousarray(logits.transpose(0, 2, 1))
    t -= t.max(axis=1, keepdims=True)
    np.exp(t, out=t)
    t /= t.sum(axis=1, keepdims=True)
    return np.ascontiguousarray(t.transpose(0, 2, 1))


def project_(flat: np.ndarray) -> None:
    """A-GEM's projection of the flat gradients ``flat = [g, r]`` ``(2, S, P)``, per seed, in place: where
    ``g · r < 0``, ``g -= (g · r / r · r) r``; elsewhere ``g`` is unchanged."""
    g, ref = flat
    dot, norm = np.einsum("ksp,sp->ks", flat, ref)
    coef = np.where(dot < 0, dot / np.maximum(norm, np.finfo(np.float32).tiny), 0.0).astype(np.float32)
    if coef.any():
        g -= coef[:, None] * ref


def build_replay(inputs: RunInputs, spec: ModelSpec) -> Learner:
    """Replay's MLP: ``replay.hidden`` for classification; for regression the MLP baseline's hidden widths
    (``mlp.widths``, 40-40 by default), so replay is that same network plus its reservoir."""
    cfg = inputs.config
    r = cfg.replay
    hidden = r.hidden if cfg.task == "classification" else cfg.mlp.hidden_widths(cfg.task)
    return ReplayLearner(
        inputs.embeddings,
        inputs.num_classes,
        cfg.train.optimizer,
        r.lr,
        cfg.train.batch_size,
        hidden,
        inputs.rngs(spec.init_tag),
        r.memory,
        inputs.rngs(spec.init_tag, RESERVOIR),
        inputs.rngs(spec.init_tag, BATCHES),
        loss_for(inputs),
    )


def build_agem(inputs: RunInputs, spec: ModelSpec) -> Learner:
    cfg = inputs.config
    a = cfg.agem
    memory = EpisodicMemory(a.memory, inputs.train_labels(), inputs.rngs(spec.init_tag, STAGE_PICKS))
    return AGEMLearner(
        inputs.embeddings,
        inputs.num_classes,
        cfg.train.optimizer,
        a.lr,
        cfg.train.batch_size,
        a.hidden,
        inputs.rngs(spec.init_tag),
        memory,
        a.memory_batch,
        inputs.rngs(spec.init_tag, BATCHES),
        [inputs.stage_rows(t) for t in range(inputs.streams[0].num_stages)],
    )
