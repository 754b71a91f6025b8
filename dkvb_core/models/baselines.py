"""The plain baselines on the frozen embedding: a linear probe, an MLP, and the joint i.i.d. reference.

Both are fine-tuned on each stage as it comes, with no protection against forgetting: they show
what the bottleneck is compared with. The joint reference trains one of the architectures on all
stages' data shuffled together (``schedule = "iid"``): an upper bound, not a continual learner.
"""

from __future__ import annotations

import numpy as np

from dkvb_core.models.base import Learner, RunInputs, affine
from dkvb_core.models.spec import ModelSpec


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
        return affine(self.inputs[which], self.W, self.b).numpy()


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

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pre-activation, activation and logits of a batch ``(S, B, D)``."""
        h = x @ self.W1 + self.b1
        a = np.maximum(h, 0.0)
        return h, a, a @ self.W2 + self.b2

    def gradients(self, x: np.ndarray, h: np.ndarray, a: np.ndarray, d: np.ndarray) -> list[np.ndarray]:
        """Back-propagate logit gradients ``d`` ``(S, B, n)`` to every parameter, in ``parameters()`` order."""
        da = d @ self.W2.transpose(0, 2, 1)
        da *= h > 0
        return [
            x.transpose(0, 2, 1) @ da,
            da.sum(axis=1, keepdims=True),
            a.transpose(0, 2, 1) @ d,
            d.sum(axis=1, keepdims=True),
        ]

    def step(self, rows: np.ndarray, y: np.ndarray, out_logits: np.ndarray) -> None:
        x = self.inputs["train"][self._seed_ix, rows]
        h, a, logits = self.forward(x)
        out_logits[...] = logits
        d = self._dlogits(logits, y)
        self.optimizer.step(self.gradients(x, h, a, d))

    def logits(self, which: str) -> np.ndarray:
        hidden = affine(self.inputs[which], self.W1, self.b1).relu_().numpy()
        return affine(hidden, self.W2, self.b2).numpy()


def build_linear(inputs: RunInputs, spec: ModelSpec) -> Learner:
    cfg = inputs.config
    return LinearLearner(
        inputs.embeddings, inputs.num_classes, cfg.train.optimizer, cfg.linear.lr, cfg.train.batch_size
    )


def build_mlp(inputs: RunInputs, spec: ModelSpec) -> Learner:
    cfg = inputs.config
    return MLPLearner(
        inputs.embeddings,
        inputs.num_classes,
        cfg.train.optimizer,
        cfg.mlp.lr,
        cfg.train.batch_size,
        cfg.mlp.hidden,
        inputs.rngs(spec.init_tag),
    )


def build_joint(inputs: RunInputs, spec: ModelSpec) -> Learner:
    """The chosen architecture with the joint section's learning rate, trained on i.i.d. batches."""
    from dkvb_core.models.dkvb import make_dkvb_learner

    cfg = inputs.config
    arch, lr, opt, batch = cfg.joint.arch, cfg.joint.lr, cfg.train.optimizer, cfg.train.batch_size
    learner: Learner
    if arch == "linear":
        learner = LinearLearner(inputs.embeddings, inputs.num_classes, opt, lr, batch)
    elif arch == "mlp":
        hidden = cfg.mlp.hidden
        learner = MLPLearner(inputs.embeddings, inputs.num_classes, opt, lr, batch, hidden, inputs.rngs(spec.init_tag))
    else:
        learner = make_dkvb_learner(inputs, lr, spec.init_tag, with_extras=False)
    learner.name = spec.name
    learner.schedule = "iid"
    return learner
