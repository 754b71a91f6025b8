"""Fast learners: the models' training steps in numpy, batched over seeds (leading axis S).

Why not autograd: with frozen keys a DKVB step is a gather, a softmax and a scatter into the
fetched value rows; the baselines are one or two matrix products. At batch 10, torch's
per-operation overhead costs more than the arithmetic, so these hand-derived gradients run
several times faster and stay exact. ``tests/core/test_learners_match_torch.py`` checks each
learner against the torch modules of :mod:`dkvb_core.torch_models`, step by step.

Every learner takes model-specific inputs prepared once by the engine (embeddings for the
baselines, flat key-slot indices for DKVB), keyed by set name: ``train``, ``test``, ``grid``.
"""

from __future__ import annotations

import numpy as np
import torch

from dkvb_core.optim import Optimizer, make_optimizer

NO_CLASS = 255  # prediction when every logit is equal (an untouched value, a zero probe)


def softmax_(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, computed in place on ``logits``."""
    logits -= logits.max(axis=-1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=-1, keepdims=True)
    return logits


def predict_classes(logits: np.ndarray) -> np.ndarray:
    """Argmax (first maximum) as uint8; :data:`NO_CLASS` where all logits tie, so a tie is never
    'correct'. Done in torch: its reductions over a short last axis are ~6x faster than numpy's."""
    t = torch.from_numpy(np.ascontiguousarray(logits))
    top, arg = t.max(dim=-1)
    pred = arg.to(torch.uint8)
    pred[top == t.amin(dim=-1)] = NO_CLASS
    return pred.numpy()


def _affine(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> torch.Tensor:
    """``x @ W + b`` for stacked ``(S, N, D) @ (S, D, n)``: torch's batched GEMM, which on large
    evaluation sets (the 10,000-cell grid) is far faster than numpy's stacked matmul."""
    return torch.baddbmm(torch.from_numpy(b), torch.from_numpy(x), torch.from_numpy(W))


class Learner:
    """Shared training-step scaffolding; subclasses define forward and gradients."""

    name: str

    def __init__(self, inputs: dict[str, np.ndarray], num_classes: int, optimizer: str, lr: float, batch_size: int):
        self.inputs = inputs
        self.num_classes = num_classes
        self.batch_size = batch_size
        self.num_seeds = next(iter(inputs.values())).shape[0]
        s = self.num_seeds
        self._seed_ix = np.arange(s)[:, None]
        # flat positions of the targets inside a (S, B, n) logit block
        self._target_base = (np.arange(s * batch_size) * num_classes).reshape(s, batch_size)
        self.optimizer: Optimizer = make_optimizer(optimizer, self.parameters(), lr)

    def parameters(self) -> list[np.ndarray]:
        raise NotImplementedError

    def _dlogits(self, logits: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Cross-entropy gradient w.r.t. the logits (mean over the batch), in place."""
        p = softmax_(logits)
        p.reshape(-1)[(self._target_base + y).reshape(-1)] -= 1.0
        p *= 1.0 / self.batch_size
        return p

    def step(self, rows: np.ndarray, y: np.ndarray, out_logits: np.ndarray) -> None:
        """One SGD step on training rows ``(S, B)`` with labels ``(S, B)``.

        The logits before the update are written to ``out_logits`` ``(S, B, n)``: they give the
        loss and the online (test-then-train) accuracy without a second forward pass.
        """
        raise NotImplementedError

    def logits(self, which: str) -> np.ndarray:
        """Logits ``(S, N, n)`` of a prepared input set (``test``, ``grid``, ``train``)."""
        raise NotImplementedError

    def predict(self, which: str) -> np.ndarray:
        return predict_classes(self.logits(which))


class LinearLearner(Learner):
    """Linear probe ``x W + b``, zero-initialised (the seed notebook's choice)."""

    name = "linear"

    def __init__(self, inputs: dict[str, np.ndarray], num_classes: int, optimizer: str, lr: float, batch_size: int):
        s, _, d = inputs["train"].shape
        self.W = np.zeros((s, d, num_classes), dtype=np.float32)
        self.b = np.zeros((s, 1, num_classes), dtype=np.float32)
        super().__init__(inputs, num_classes, optimizer, lr, batch_size)

    def parameters(self) -> list[np.ndarray]:
        return [self.W, self.b]

    def step(self, rows: np.ndarray, y: np.ndarray, out_logits: np.ndarray) -> None:
        x = self.inputs["train"][self._seed_ix, rows]
        logits = x @ self.W + self.b
        out_logits[...] = logits
        d = self._dlogits(logits, y)
        self.optimizer.step([x.transpose(0, 2, 1) @ d, d.sum(axis=1, keepdims=True)])

    def logits(self, which: str) -> np.ndarray:
        return _affine(self.inputs[which], self.W, self.b).numpy()


class MLPLearner(Learner):
    """One hidden ReLU layer, Kaiming-normal weights and zero biases (the seed's MLP)."""

    name = "mlp"

    def __init__(
        self,
        inputs: dict[str, np.ndarray],
        num_classes: int,
        optimizer: str,
        lr: float,
        batch_size: int,
        hidden: int,
        rngs: list[np.random.Generator],
    ):
        s, _, d = inputs["train"].shape
        self.W1 = np.stack([r.standard_normal((d, hidden)) * np.sqrt(2.0 / d) for r in rngs]).astype(np.float32)
        self.b1 = np.zeros((s, 1, hidden), dtype=np.float32)
        self.W2 = np.stack([r.standard_normal((hidden, num_classes)) * np.sqrt(2.0 / hidden) for r in rngs]).astype(
            np.float32
        )
        self.b2 = np.zeros((s, 1, num_classes), dtype=np.float32)
        super().__init__(inputs, num_classes, optimizer, lr, batch_size)

    def parameters(self) -> list[np.ndarray]:
        return [self.W1, self.b1, self.W2, self.b2]

    def step(self, rows: np.ndarray, y: np.ndarray, out_logits: np.ndarray) -> None:
        x = self.inputs["train"][self._seed_ix, rows]
        h = x @ self.W1 + self.b1
        a = np.maximum(h, 0.0)
        logits = a @ self.W2 + self.b2
        out_logits[...] = logits
        d = self._dlogits(logits, y)
        da = d @ self.W2.transpose(0, 2, 1)
        da *= h > 0
        self.optimizer.step(
            [
                x.transpose(0, 2, 1) @ da,
                da.sum(axis=1, keepdims=True),
                a.transpose(0, 2, 1) @ d,
                d.sum(axis=1, keepdims=True),
            ]
        )

    def logits(self, which: str) -> np.ndarray:
        hidden = _affine(self.inputs[which], self.W1, self.b1).relu_().numpy()
        return _affine(hidden, self.W2, self.b2).numpy()


class DKVBLearner(Learner):
    """Values of frozen-key codebooks, trained from precomputed key-slot indices.

    Inputs are flat slot indices ``(S, N, M)`` with ``M = codebooks * topk`` and slot
    ``s * C * K + c * K + k``, i.e. rows of the seed-stacked value table ``(S * C * K, d_v)``.
    ``decoder='mean'``: logits are the mean of the fetched values (``d_v`` = classes).
    ``decoder='linear'``: the fetched values, concatenated, go through a linear layer.
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
    ):
        self.values = values  # (S, C*K, dv); a view of it is updated in place
        s, ck, dv = values.shape
        self.table = values.reshape(s * ck, dv)
        self.decoder = decoder
        self.slots_per_sample = inputs["train"].shape[-1]
        if decoder == "linear":
            width = self.slots_per_sample * dv
            assert rngs is not None
            bound = 1.0 / np.sqrt(width)
            self.W = np.stack([r.uniform(-bound, bound, (width, num_classes)) for r in rngs]).astype(np.float32)
            self.b = np.zeros((s, 1, num_classes), dtype=np.float32)
        super().__init__(inputs, num_classes, optimizer, lr, batch_size)
        # The common case (one slot a sample, mean decoder, SGD) gets a path with the fewest numpy calls.
        self._plain_sgd = decoder == "mean" and self.slots_per_sample == 1 and optimizer == "sgd"
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
        fetched = self.table[slots]  # (S, B, M, dv)
        m = self.slots_per_sample
        if self.decoder == "mean":
            logits = fetched[:, :, 0] if m == 1 else fetched.mean(axis=2)
            out_logits[...] = logits
            d = self._dlogits(logits, y).reshape(-1, fetched.shape[-1])
            if m > 1:  # every fetched row of a sample gets 1/m of its logit gradient
                d = np.repeat(d, m, axis=0)
                d *= 1.0 / m
            self.optimizer.sparse_step(self.table, slots.reshape(-1), d)
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

    def logits(self, which: str) -> np.ndarray:
        slots = self.inputs[which]
        fetched = self.table[slots]
        if self.decoder == "mean":
            return fetched[:, :, 0] if self.slots_per_sample == 1 else fetched.mean(axis=2)
        s, n = slots.shape[:2]
        return fetched.reshape(s, n, -1) @ self.W + self.b

    def predict(self, which: str) -> np.ndarray:
        """For one slot a sample and the mean decoder, classify the K rows, then gather."""
        if self.decoder == "mean" and self.slots_per_sample == 1:
            return predict_classes(self.table)[self.inputs[which][..., 0]]
        return super().predict(which)

    def votes(self) -> np.ndarray:
        """The class each value row votes for ``(S, C*K)`` (mean decoder), NO_CLASS if tied."""
        return predict_classes(self.table).reshape(self.values.shape[:2])
