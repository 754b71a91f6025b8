"""The plain baselines on the frozen embedding: a linear probe, an MLP, and the joint i.i.d. reference.

Both are fine-tuned on each stage as it comes, with no protection against forgetting: they show
what the bottleneck is compared with. The joint reference trains one of the architectures on all
stages' data shuffled together (``schedule = "iid"``): an upper bound, not a continual learner.
"""

from __future__ import annotations

import itertools

import numpy as np

from dkvb_core.models.base import CLASS_MAJOR_MAX, Learner, RunInputs, affine, classes_class_major
from dkvb_core.models.losses import Loss, loss_for
from dkvb_core.models.spec import ModelSpec


class LinearLearner(Learner):
    """Linear probe ``x W + b``, zero-initialised (the seed notebook's choice)."""

    name = "linear"

    def __init__(
        self,
        inputs: dict[str, np.ndarray],
        num_classes: int,
        optimizer: str,
        lr: float,
        batch_size: int,
        loss: Loss | None = None,
    ):
        s, _, d = inputs["train"].shape
        self.W = np.zeros((s, d, num_classes), dtype=np.float32)
        self.b = np.zeros((s, 1, num_classes), dtype=np.float32)
        super().__init__(inputs, num_classes, optimizer, lr, batch_size, loss)

    def parameters(self) -> list[np.ndarray]:
        return [self.W, self.b]

    def step(self, rows: np.ndarray, y: np.ndarray, out_logits: np.ndarray) -> None:
        x = self.inputs["train"][self._seed_ix, rows]
        logits = x @ self.W + self.b
        out_logits[...] = logits
        d = self._dlogits(logits, y)
        self.optimizer.step([x.transpose(0, 2, 1) @ d, d.sum(axis=1, keepdims=True)])

    def predict(self, which: str) -> np.ndarray:
        if self.task == "regression" or self.num_classes > CLASS_MAJOR_MAX:
            return super().predict(which)
        return classes_class_major(self.class_major_inputs(which), [self.W], [self.b])

    def logits(self, which: str) -> np.ndarray:
        return affine(self.inputs[which], self.W, self.b).numpy()


class MLPLearner(Learner):
    """ReLU hidden layers of ``hidden`` widths (an int: one layer), Kaiming-normal weights and zero
    biases (the seed's MLP). Parameters are ``W1, b1, W2, b2, ...``, the last pair the output layer."""

    name = "mlp"

    def __init__(
        self,
        inputs: dict[str, np.ndarray],
        num_classes: int,
        optimizer: str,
        lr: float,
        batch_size: int,
        hidden: int | tuple[int, ...],
        rngs: list[np.random.Generator],
        loss: Loss | None = None,
    ):
        s, _, d = inputs["train"].shape
        widths = [d, *((hidden,) if isinstance(hidden, int) else hidden), num_classes]
        self.weights, self.biases = [], []
        for fan_in, fan_out in itertools.pairwise(widths):
            w = np.stack([r.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in) for r in rngs])
            self.weights.append(w.astype(np.float32))
            self.biases.append(np.zeros((s, 1, fan_out), dtype=np.float32))
        super().__init__(inputs, num_classes, optimizer, lr, batch_size, loss)

    # the one-hidden-layer names, kept for the classifier's callers and tests
    W1 = property(lambda self: self.weights[0])
    b1 = property(lambda self: self.biases[0])
    W2 = property(lambda self: self.weights[1])
    b2 = property(lambda self: self.biases[1])

    def parameters(self) -> list[np.ndarray]:
        return [p for pair in zip(self.weights, self.biases, strict=True) for p in pair]

    def forward(self, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        """Pre-activations and activations of every hidden layer, and the outputs, of a batch ``(S, B, D)``."""
        hs, acts, a = [], [], x
        for W, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            h = a @ W + b
            a = np.maximum(h, 0.0)
            hs.append(h)
            acts.append(a)
        return hs, acts, a @ self.weights[-1] + self.biases[-1]

    def gradients(self, x: np.ndarray, hs: list[np.ndarray], acts: list[np.ndarray], d: np.ndarray) -> list[np.ndarray]:
        """Back-propagate output gradients ``d`` ``(S, B, n)`` to every parameter, in ``parameters()`` order."""
        grads: list[np.ndarray] = []
        inputs = [x, *acts]
        for layer in range(len(self.weights) - 1, -1, -1):
            grads[:0] = [inputs[layer].transpose(0, 2, 1) @ d, d.sum(axis=1, keepdims=True)]
            if layer:
                d = d @ self.weights[layer].transpose(0, 2, 1)
                d *= hs[layer - 1] > 0
        return grads

    def step(self, rows: np.ndarray, y: np.ndarray, out_logits: np.ndarray) -> None:
        x = self.inputs["train"][self._seed_ix, rows]
        hs, acts, logits = self.forward(x)
        out_logits[...] = logits
        d = self._dlogits(logits, y)
        self.optimizer.step(self.gradients(x, hs, acts, d))

    def predict(self, which: str) -> np.ndarray:
        if self.task == "regression" or self.num_classes > CLASS_MAJOR_MAX:
            return super().predict(which)
        return classes_class_major(self.class_major_inputs(which), self.weights, self.biases)

    def logits(self, which: str) -> np.ndarray:
        a = self.inputs[which]
        if self.task == "regression":  # small sets; numpy's stacked matmul keeps each seed's outputs
            return self.forward(a)[2]  # bit-identical however many seeds run together (torch's batched GEMM does not)
        for W, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            a = affine(a, W, b).relu_().numpy()
        return affine(a, self.weights[-1], self.biases[-1]).numpy()


def build_linear(inputs: RunInputs, spec: ModelSpec) -> Learner:
    cfg = inputs.config
    return LinearLearner(
        inputs.embeddings,
        inputs.num_classes,
        cfg.train.optimizer,
        cfg.linear.lr,
        cfg.train.batch_size,
        loss_for(inputs),
    )


def build_mlp(inputs: RunInputs, spec: ModelSpec) -> Learner:
    cfg = inputs.config
    return MLPLearner(
        inputs.embeddings,
        inputs.num_classes,
        cfg.train.optimizer,
        cfg.mlp.lr,
        cfg.train.batch_size,
        cfg.mlp.hidden_widths(cfg.task),
        inputs.rngs(spec.init_tag),
        loss_for(inputs),
    )


def build_joint(inputs: RunInputs, spec: ModelSpec) -> Learner:
    """The chosen architecture with the joint section's learning rate, trained on i.i.d. batches."""
    from dkvb_core.models.dkvb import make_dkvb_learner

    cfg = inputs.config
    arch, lr, opt, batch = cfg.joint.arch, cfg.joint.lr, cfg.train.optimizer, cfg.train.batch_size
    learner: Learner
    if arch == "linear":
        learner = LinearLearner(inputs.embeddings, inputs.num_classes, opt, lr, batch, loss_for(inputs))
    elif arch == "mlp":
        hidden = cfg.mlp.hidden_widths(cfg.task)
        learner = MLPLearner(
            inputs.embeddings, inputs.num_classes, opt, lr, batch, hidden, inputs.rngs(spec.init_tag), loss_for(inputs)
        )
    else:
        learner = make_dkvb_learner(inputs, lr, spec.init_tag, with_extras=False)
    learner.name = spec.name
    learner.schedule = "iid"
    return learner
