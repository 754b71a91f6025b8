"""Regularised baselines on the frozen embedding: online EWC and Learning without Forgetting, both on the MLP.

``ewc`` (online EWC, Schwarz et al. 2018): at each stage end, the diagonal empirical Fisher
``F_new`` (squared per-sample gradients of ``log p(y | x)``, averaged over the stage's training
samples) joins the running one, ``F <- gamma F + F_new``, and the weights are anchored,
``theta* <- theta``; every later step adds ``lam * sum F (theta - theta*)^2`` to the loss.
``lwf`` (Li & Hoiem 2016): at each stage end the model is copied; every later step adds
``alpha * KL(q || p)`` (batch mean), where ``q`` and ``p`` are the copy's and the current model's
softmax at temperature ``T`` over the classes seen before. Neither keeps a past sample.
"""

from __future__ import annotations

import numpy as np

from dkvb_core.models.base import Learner, RunInputs, softmax_
from dkvb_core.models.baselines import MLPLearner
from dkvb_core.models.spec import ModelSpec


class EWCLearner(MLPLearner):
    """The MLP with online EWC's quadratic penalty towards the weights of the last stage end."""

    name = "ewc"

    def __init__(
        self,
        inputs: dict[str, np.ndarray],
        num_classes: int,
        optimizer: str,
        lr: float,
        batch_size: int,
        hidden: int,
        rngs: list[np.random.Generator],
        lam: float,
        gamma: float,
        labels: np.ndarray,
        stage_rows: list[list[np.ndarray]],
    ):
        super().__init__(inputs, num_classes, optimizer, lr, batch_size, hidden, rngs)
        self.lam, self.gamma, self.labels, self.stage_rows = lam, gamma, labels, stage_rows
        self.fisher = [np.zeros_like(p) for p in self.parameters()]
        self.anchor = [p.copy() for p in self.parameters()]
        self.anchored = False

    def step(self, rows: np.ndarray, y: np.ndarray, out_logits: np.ndarray) -> None:
        x = self.inputs["train"][self._seed_ix, rows]
        h, a, logits = self.forward(x)
        out_logits[...] = logits
        grads = self.gradients(x, h, a, self._dlogits(logits, y))
        if self.anchored:
            for g, f, p, p0 in zip(grads, self.fisher, self.parameters(), self.anchor, strict=True):
                g += (2.0 * self.lam) * f * (p - p0)
        self.optimizer.step(grads)

    def end_stage(self, stage: int) -> None:
        new = [self.fisher_of(s, self.stage_rows[stage][s]) for s in range(self.num_seeds)]
        for i, f in enumerate(self.fisher):
            f *= self.gamma
            f += np.stack([n[i] for n in new])
        self.anchor = [p.copy() for p in self.parameters()]
        self.anchored = True

    def fisher_of(self, s: int, rows: np.ndarray) -> list[np.ndarray]:
        """Seed ``s``'s diagonal empirical Fisher on ``rows``: the mean over samples of each
        parameter's squared gradient of ``log p(y | x)``. Per-sample gradients of a one-hidden-layer
        net are outer products, so their squares sum as ``(x^2)^T (da^2)``: no loop over samples."""
        x = self.inputs["train"][s, rows]
        y = self.labels[s, rows]
        h = x @ self.W1[s] + self.b1[s]
        a = np.maximum(h, 0.0)
        d = softmax_(a @ self.W2[s] + self.b2[s])
        d[np.arange(len(rows)), y] -= 1.0  # per sample: d(-log p(y|x)) / d logits
        da = (d @ self.W2[s].T) * (h > 0)
        d2, da2, n = d * d, da * da, float(len(rows))
        return [(x * x).T @ da2 / n, da2.sum(0, keepdims=True) / n, (a * a).T @ d2 / n, d2.sum(0, keepdims=True) / n]


class LwFLearner(MLPLearner):
    """The MLP distilled towards its own copy from the last stage end, on the classes seen before."""

    name = "lwf"

    def __init__(
        self,
        inputs: dict[str, np.ndarray],
        num_classes: int,
        optimizer: str,
        lr: float,
        batch_size: int,
        hidden: int,
        rngs: list[np.random.Generator],
        alpha: float,
        temperature: float,
        stage_classes: tuple[tuple[int, ...], ...],
    ):
        super().__init__(inputs, num_classes, optimizer, lr, batch_size, hidden, rngs)
        self.alpha, self.temperature, self.stage_classes = alpha, temperature, stage_classes
        self.seen = np.zeros(num_classes, dtype=bool)
        self.old: list[np.ndarray] | None = None

    def step(self, rows: np.ndarray, y: np.ndarray, out_logits: np.ndarray) -> None:
        x = self.inputs["train"][self._seed_ix, rows]
        h, a, logits = self.forward(x)
        out_logits[...] = logits
        distil = self.distillation_grad(x, logits) if self.old is not None else None
        d = self._dlogits(logits, y)
        if distil is not None:
            d += distil
        self.optimizer.step(self.gradients(x, h, a, d))

    def distillation_grad(self, x: np.ndarray, logits: np.ndarray) -> np.ndarray:
        """Gradient of ``alpha * KL(q || p)`` (batch mean) w.r.t. the logits: ``alpha / (T B) (p - q)``
        on the classes seen before, zero elsewhere."""
        assert self.old is not None
        w1, b1, w2, b2 = self.old
        old_logits = np.maximum(x @ w1 + b1, 0.0) @ w2 + b2
        t = self.temperature
        p = softmax_(np.where(self.seen, logits / t, -np.inf))
        q = softmax_(np.where(self.seen, old_logits / t, -np.inf))
        p -= q
        p *= self.alpha / (t * x.shape[1])
        return p

    def end_stage(self, stage: int) -> None:
        self.old = [p.copy() for p in self.parameters()]
        self.seen[list(self.stage_classes[stage])] = True


def build_ewc(inputs: RunInputs, spec: ModelSpec) -> Learner:
    cfg = inputs.config
    e = cfg.ewc
    return EWCLearner(
        inputs.embeddings,
        inputs.num_classes,
        cfg.train.optimizer,
        e.lr,
        cfg.train.batch_size,
        e.hidden,
        inputs.rngs(spec.init_tag),
        e.lam,
        e.gamma,
        inputs.train_labels(),
        [inputs.stage_rows(t) for t in range(inputs.streams[0].num_stages)],
    )


def build_lwf(inputs: RunInputs, spec: ModelSpec) -> Learner:
    cfg = inputs.config
    w = cfg.lwf
    return LwFLearner(
        inputs.embeddings,
        inputs.num_classes,
        cfg.train.optimizer,
        w.lr,
        cfg.train.batch_size,
        w.hidden,
        inputs.rngs(spec.init_tag),
        w.alpha,
        w.temperature,
        inputs.stage_classes(),
    )
