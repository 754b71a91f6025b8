"""Closed-form baselines on the frozen features: streaming LDA (Hayes & Kanan 2020) and nearest class mean.

No gradient steps: each batch updates per-class means and one shared (pooled within-class)
covariance, and a sample is scored by the linear discriminant
``score_c(x) = x^T L mu_c - mu_c^T L mu_c / 2`` with ``L = ((1 - eps) Sigma + eps I)^-1``.
The batch is merged into the running statistics with the exact parallel-variance formulas, which
give the same means and covariance as the sample-by-sample update; unlike the original code's
approximation (its covariance update weights a sample by the total count, not its class count),
the result equals a batch LDA fitted on every sample seen. ``covariance="identity"`` fixes
``L = I``: the nearest-class-mean classifier. A class not seen yet scores 30 below the lowest seen
class (posterior under e^-30): never predicted, while the recorded loss stays finite.
"""

from __future__ import annotations

import numpy as np

from dkvb_core.models.base import CLASS_MAJOR_MAX, Learner, RunInputs, argmax_class_major
from dkvb_core.models.spec import ModelSpec

UNSEEN_MARGIN = 30.0


class SLDALearner(Learner):
    """Class means, counts and the pooled within-class scatter per seed, in float64."""

    name = "slda"

    def __init__(
        self, inputs: dict[str, np.ndarray], num_classes: int, batch_size: int, covariance: str, shrinkage: float
    ):
        s, _, d = inputs["train"].shape
        self.covariance, self.shrinkage = covariance, shrinkage
        self.mean = np.zeros((s, num_classes, d))
        self.count = np.zeros((s, num_classes))
        self.scatter = np.zeros((s, d, d))
        self.total = 0
        self._linear: tuple[np.ndarray, np.ndarray] | None = None
        self._eye = np.eye(num_classes)
        super().__init__(inputs, num_classes, "sgd", 1.0, batch_size)

    def parameters(self) -> list[np.ndarray]:
        return []  # nothing for an optimiser: the statistics are updated in closed form

    def step(self, rows: np.ndarray, y: np.ndarray, out_logits: np.ndarray) -> None:
        x = self.inputs["train"][self._seed_ix, rows].astype(np.float64)
        out_logits[...] = self.scores(x)
        self.update(x, y)

    def update(self, x: np.ndarray, y: np.ndarray) -> None:
        """Merge a batch ``(S, B, D)`` into the class means and the pooled scatter (Chan et al.'s
        pairwise update: the batch's own within-class scatter plus each class's mean shift)."""
        onehot = self._eye[y]  # (S, B, n)
        n_batch = onehot.sum(axis=1)  # (S, n)
        batch_mean = (onehot.transpose(0, 2, 1) @ x) / np.maximum(n_batch, 1)[..., None]
        dev = x - batch_mean[self._seed_ix, y]
        shift = batch_mean - self.mean
        merged = self.count + n_batch
        weight = self.count * n_batch / np.maximum(merged, 1)
        self.scatter += dev.transpose(0, 2, 1) @ dev + (shift * weight[..., None]).transpose(0, 2, 1) @ shift
        self.mean += shift * (n_batch / np.maximum(merged, 1))[..., None]
        self.count = merged
        self.total += y.shape[1]
        self._linear = None

    def linear(self) -> tuple[np.ndarray, np.ndarray]:
        """The discriminant's weights ``(S, D, n)`` and offsets ``(S, 1, n)``, recomputed after an update."""
        if self._linear is None:
            means_t = self.mean.transpose(0, 2, 1)  # (S, D, n)
            if self.covariance == "identity":
                w = means_t
            else:
                d = self.scatter.shape[-1]
                sigma = self.scatter / max(self.total, 1)
                w = np.linalg.solve((1 - self.shrinkage) * sigma + self.shrinkage * np.eye(d), means_t)
            self._linear = w, -0.5 * (means_t * w).sum(axis=1, keepdims=True)
        return self._linear

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Discriminant scores ``(S, N, n)`` of float64 inputs; unseen classes below every seen one."""
        w, c = self.linear()
        z = x @ w + c
        seen = (self.count > 0)[:, None, :]
        if seen.all():
            return z
        lowest = np.where(seen, z, np.inf).min(axis=-1, keepdims=True)
        lowest = np.where(np.isfinite(lowest), lowest - UNSEEN_MARGIN, 0.0)
        return np.where(seen, z, lowest)

    def logits(self, which: str) -> np.ndarray:
        return self.scores(self.inputs[which].astype(np.float64)).astype(np.float32)

    def predict(self, which: str) -> np.ndarray:
        """Classes of a prepared set, scored class-major (``W^T x``: scores ``(S, n, N)``) into buffers
        kept for the run (a fresh 1 MB array a frame costs more in page faults than the product):
        the frames' grid ~5x faster than scoring row-major and taking the argmax over a short last axis."""
        if self.num_classes > CLASS_MAJOR_MAX:
            return super().predict(which)
        buffers = self.__dict__.setdefault("_predict_buffers", {})
        if which not in buffers:
            xt = self.class_major_inputs(which).astype(np.float64)
            shape = (xt.shape[0], self.num_classes, xt.shape[2])
            buffers[which] = xt, np.empty(shape), np.empty(shape, np.float32)
        xt, z, z32 = buffers[which]
        w, c = self.linear()
        np.matmul(w.transpose(0, 2, 1), xt, out=z)
        z += c.transpose(0, 2, 1)
        seen = (self.count > 0)[:, :, None]
        if not seen.all():  # below every seen class, as in scores(): the same classes, and no class when none is seen
            np.copyto(z, -np.inf, where=~seen)
        z32[...] = z
        return argmax_class_major(z32)


def build_slda(inputs: RunInputs, spec: ModelSpec) -> Learner:
    cfg = inputs.config
    return SLDALearner(
        inputs.embeddings, inputs.num_classes, cfg.train.batch_size, cfg.slda.covariance, cfg.slda.shrinkage
    )
