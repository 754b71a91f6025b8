"""What every model is: a spec the registry lists, and a numpy learner batched over seeds.

Why numpy, not autograd: with frozen keys a DKVB step is a gather, a softmax and a scatter into the
fetched value rows; the baselines are one or two matrix products. At batch 10, torch's per-operation
overhead costs more than the arithmetic, so hand-derived gradients run several times faster and stay
exact (``tests/core/test_learners_match_torch.py`` checks each learner against a torch autograd
reference, step by step).

A learner gets :class:`RunInputs` (the frozen embeddings of every seed's stream, stacked on a leading
seed axis ``S``) and prepares what else it needs itself (DKVB: key slots). The engine then calls
``step`` with the same batches for every model, and the recorder calls ``predict`` and the hooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from dkvb_core.models.losses import Loss, make_loss
from dkvb_core.optim import Optimizer, make_optimizer
from dkvb_core.progress import Progress
from dkvb_core.result import NO_CLASS

if TYPE_CHECKING:
    from dkvb_core.config import Config
    from dkvb_core.result import GridSpec
    from dkvb_core.streams import Stream


@dataclass
class RunInputs:
    """What a model prepares from: every seed's config, stream and frozen embeddings.

    ``embeddings`` maps a set name (``train``, ``test``, ``grid``) to ``(S, N, D)`` float32.
    ``cache`` lets models of one run share a preparation (DKVB's keys for ``dkvb`` and a DKVB
    ``joint`` reference), keyed by what determines it. ``num_outputs`` overrides the number of
    logits (the online stream's task-local labels: ``n_way``); None means one a class.
    """

    configs: list[Config]
    streams: list[Stream]
    embeddings: dict[str, np.ndarray]
    grids: list[GridSpec] | None = None
    progress: Progress | None = None
    cache: dict[Any, Any] = field(default_factory=dict)
    num_outputs: int | None = None
    # What a stage end may revisit when it differs from the stream's own stages and labels (the online
    # stream with task-local labels: the pre-training rows seen, each with the label it last had).
    seen_rows: dict[int, list[np.ndarray]] | None = None
    seen_labels: np.ndarray | None = None  # (S, N)

    def stage_classes(self) -> tuple[tuple[int, ...], ...]:
        """The labels each stage's samples carry: the stream's classes of the stage, or with task-local
        labels (online stream) every output 0..n_way-1 in every stage."""
        stages = self.streams[0].stage_classes
        if self.seen_labels is None:
            return stages
        return tuple(tuple(range(self.num_classes)) for _ in stages)

    @property
    def config(self) -> Config:
        return self.configs[0]

    @property
    def num_classes(self) -> int:
        """Logits a model outputs: one a class, or ``num_outputs`` when set."""
        return self.num_outputs if self.num_outputs is not None else self.streams[0].num_classes

    @property
    def num_seeds(self) -> int:
        return len(self.configs)

    def rngs(self, tag: int, purpose: int | None = None) -> list[np.random.Generator]:
        """One generator a seed for a model's initialisation: depends on the seed and the tag only.

        ``purpose`` gives the same model an independent stream for something else it draws
        (a replay buffer's reservoir, memory batches), still independent of its neighbours.
        """
        key = [[c.seed, tag] if purpose is None else [c.seed, tag, purpose] for c in self.configs]
        return [np.random.default_rng(k) for k in key]

    def stage_rows(self, stage: int) -> list[np.ndarray]:
        """Every seed's training rows of ``stage`` (what a model may revisit at the stage's end)."""
        if self.seen_rows is not None and stage in self.seen_rows:
            return self.seen_rows[stage]
        return [st.train_indices(stage) for st in self.streams]

    def train_labels(self) -> np.ndarray:
        """Training labels ``(S, N)`` of every seed's stream (or the labels the rows were seen with)."""
        if self.seen_labels is not None:
            return self.seen_labels
        return np.stack([st.y_train for st in self.streams]).astype(np.int64)


@dataclass(frozen=True)
class Trace:
    """What the recorder hands a learner's ``record_extras``: the rows it trained on and the frame marks."""

    rows: np.ndarray  # (steps, S, B) training rows of every step
    marks: np.ndarray  # (F,) steps done at each frame
    steps_per_stage: int  # online stream: all its steps (key usage is then counted in one bucket)
    num_stages: int


def softmax_(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, computed in place on ``logits``."""
    logits -= logits.max(axis=-1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=-1, keepdims=True)
    return logits


def xent_grad_(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of the batch-mean cross-entropy w.r.t. logits ``(S, B, n)`` (labels ``(S, B)``), in place."""
    s, b, _ = logits.shape
    p = softmax_(logits)
    p[np.arange(s)[:, None], np.arange(b)[None, :], y] -= 1.0
    p *= 1.0 / b
    return p


def predict_classes(logits: np.ndarray) -> np.ndarray:
    """Argmax (first maximum) as uint8; :data:`NO_CLASS` where all logits tie, so a tie is never
    'correct'. A row with a NaN gets its first NaN's class (as torch's max gives)."""
    if logits.shape[-1] <= CLASS_MAJOR_MAX:
        return _predict_class_major(logits)
    t = torch.from_numpy(np.ascontiguousarray(logits))  # torch's reductions over a long last axis beat numpy's
    top, arg = t.max(dim=-1)
    pred = arg.to(torch.uint8)
    pred[top == t.amin(dim=-1)] = NO_CLASS
    return pred.numpy()


CLASS_MAJOR_MAX = 32  # classes up to which the class-major argmax is faster (~2x at 8 classes, 10,000 rows)


def _predict_class_major(logits: np.ndarray) -> np.ndarray:
    """:func:`predict_classes` over a copy laid out class by class, ``(..., n, N)``: every reduction then
    runs over whole rows of N values (numpy reduces a short last axis slowly)."""
    return argmax_class_major(np.ascontiguousarray(np.moveaxis(logits, -1, -2)))


def argmax_class_major(lt: np.ndarray) -> np.ndarray:
    """:func:`predict_classes` of class-major logits ``(..., n, N)`` (class axis before the rows)."""
    top = lt.max(axis=-2, keepdims=True)
    pred = (lt == top).argmax(axis=-2).astype(np.uint8)
    top = top[..., 0, :]
    pred[top == lt.min(axis=-2)] = NO_CLASS
    nan = np.isnan(top)
    if nan.any():  # NaN != NaN: take the first NaN's class, as torch does
        pred[nan] = np.isnan(lt).argmax(axis=-2)[nan]
    return pred


def classes_class_major(inputs_t: np.ndarray, weights: list[np.ndarray], biases: list[np.ndarray]) -> np.ndarray:
    """Classes from a ReLU MLP (one weight: a linear model) run class-major on inputs ``(S, D, N)``:
    ``W^T a`` gives outputs ``(S, n, N)``, ~4x faster than row-major for a 100x100 grid's 8 classes, and
    the argmax needs no transpose (numpy's stacked matmul: each seed's bits the same however many run)."""
    a = inputs_t
    for W, b in zip(weights[:-1], biases[:-1], strict=True):
        a = W.transpose(0, 2, 1) @ a
        a += b.transpose(0, 2, 1)
        np.maximum(a, 0.0, out=a)
    out = weights[-1].transpose(0, 2, 1) @ a
    out += biases[-1].transpose(0, 2, 1)
    return argmax_class_major(out)


def affine(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> torch.Tensor:
    """``x @ W + b`` for stacked ``(S, N, D) @ (S, D, n)``: torch's batched GEMM, which on large
    evaluation sets (the 10,000-cell grid) is far faster than numpy's stacked matmul."""
    return torch.baddbmm(torch.from_numpy(b), torch.from_numpy(x), torch.from_numpy(W))


class Learner:
    """Shared training-step scaffolding; subclasses define the forward pass and its gradients.

    ``schedule`` names the batches the model trains on: ``"stream"`` (the stages, in order) or
    ``"iid"`` (all stages shuffled together: the joint reference). ``seconds`` starts with the
    model's preparation time; the engine adds its step and evaluation time. ``loss`` (default
    cross-entropy) makes a learner a classifier or a regressor: outputs go through ``_dlogits``.
    """

    name: str = "learner"
    schedule: str = "stream"

    def __init__(
        self,
        inputs: dict[str, np.ndarray],
        num_classes: int,
        optimizer: str,
        lr: float,
        batch_size: int,
        loss: Loss | None = None,
    ):
        self.inputs = inputs
        self.num_classes = num_classes
        self.batch_size = batch_size
        self.num_seeds = next(iter(inputs.values())).shape[0]
        self.seconds = 0.0
        s = self.num_seeds
        self._seed_ix = np.arange(s)[:, None]
        self.loss = loss if loss is not None else make_loss("classification")
        self.loss.bind(s, batch_size, num_classes)
        self.task = self.loss.task
        # flat positions of the targets inside a (S, B, n) logit block
        self._target_base = (np.arange(s * batch_size) * num_classes).reshape(s, batch_size)
        self.optimizer: Optimizer = make_optimizer(optimizer, self.parameters(), lr)

    def parameters(self) -> list[np.ndarray]:
        raise NotImplementedError

    def _dlogits(self, logits: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The loss's gradient w.r.t. the outputs (mean over the batch), in place."""
        return self.loss.grad(logits, y)

    def step(self, rows: np.ndarray, y: np.ndarray, out_logits: np.ndarray) -> None:
        """One training step on rows ``(S, B)`` with labels ``(S, B)``.

        The logits before the update go to ``out_logits`` ``(S, B, n)``: they give the loss and the
        online (test-then-train) accuracy without a second forward pass.
        """
        raise NotImplementedError

    def logits(self, which: str) -> np.ndarray:
        """Outputs ``(S, N, n)`` (logits; ``n = 1`` for regression) of a prepared set (``test``, ``grid``)."""
        raise NotImplementedError

    def predict(self, which: str) -> np.ndarray:
        """Classes (uint8) for classification, the output (float32) for regression."""
        return self.loss.predict(self.logits(which))

    def class_major_inputs(self, which: str) -> np.ndarray:
        """A prepared set's inputs as ``(S, D, N)``, transposed once (the sets do not change in a run)."""
        cache = self.__dict__.setdefault("_inputs_t", {})
        if which not in cache:
            cache[which] = np.ascontiguousarray(self.inputs[which].transpose(0, 2, 1))
        return cache[which]

    # --- hooks: no-ops unless a model needs them -------------------------------------------
    def end_stage(self, stage: int) -> None:
        """Called after the last step of each stage (regularised and replay models use it)."""

    def frame(self, index: int) -> None:
        """Called when frame ``index`` is recorded, after accuracy and grid (DKVB: votes, changed rows)."""

    def record_extras(self, seed: int, trace: Trace) -> dict[str, Any]:
        """Extra :class:`~dkvb_core.result.ModelRecord` fields of one seed (DKVB: key usage)."""
        return {}

    def run_extras(self, seed: int) -> dict[str, Any]:
        """Extra :class:`~dkvb_core.result.RunResult` fields of one seed (DKVB: keys in 2-D)."""
        return {}
