"""The loss is a part of a learner: it turns the model's outputs into their gradient and predictions.

Classification: softmax cross-entropy over ``n`` logits, predictions are classes. Regression: the
squared error of one output (``torch.nn.functional.mse_loss``'s mean), predictions are the outputs.
A learner computes its outputs and back-propagates whatever ``Learner._dlogits`` returns, so the
same learner serves both tasks: its builder passes ``loss=loss_for(inputs)`` and its registry spec
lists ``tasks=("classification", "regression")``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from dkvb_core.models.base import RunInputs


class Loss:
    """Gradient of the batch-mean loss w.r.t. the outputs ``(S, B, n)``, and predictions from outputs."""

    task = "classification"

    def bind(self, num_seeds: int, batch_size: int, num_outputs: int) -> None:
        """Called once by the learner with its shapes."""

    def grad(self, out: np.ndarray, y: np.ndarray) -> np.ndarray:
        """d(mean loss)/d(out) for outputs ``(S, B, n)`` and targets ``(S, B)``; may overwrite ``out``."""
        raise NotImplementedError

    def predict(self, out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def batch_grad(self, out: np.ndarray, y: np.ndarray) -> np.ndarray:
        """As :meth:`grad`, for a block of any number of rows (a batch plus replayed samples), in place."""
        raise NotImplementedError


class CrossEntropy(Loss):
    """Softmax cross-entropy, mean over the batch (``torch.nn.functional.cross_entropy``)."""

    def bind(self, num_seeds: int, batch_size: int, num_outputs: int) -> None:
        self.scale = 1.0 / batch_size
        # flat positions of the targets inside a (S, B, n) logit block
        self.target_base = (np.arange(num_seeds * batch_size) * num_outputs).reshape(num_seeds, batch_size)

    def grad(self, out: np.ndarray, y: np.ndarray) -> np.ndarray:
        from dkvb_core.models.base import softmax_

        p = softmax_(out)
        p.reshape(-1)[(self.target_base + y).reshape(-1)] -= 1.0
        p *= self.scale
        return p

    def predict(self, out: np.ndarray) -> np.ndarray:
        from dkvb_core.models.base import predict_classes

        return predict_classes(out)

    def batch_grad(self, out: np.ndarray, y: np.ndarray) -> np.ndarray:
        from dkvb_core.models.base import xent_grad_

        return xent_grad_(out, y)


class SquaredError(Loss):
    """Mean squared error of a single output (``torch.nn.functional.mse_loss``, reduction 'mean')."""

    task = "regression"

    def bind(self, num_seeds: int, batch_size: int, num_outputs: int) -> None:
        if num_outputs != 1:
            raise ValueError(f"regression: a learner must have one output; got {num_outputs}")
        self.scale = 2.0 / batch_size

    def grad(self, out: np.ndarray, y: np.ndarray) -> np.ndarray:
        out -= y[..., None]
        out *= self.scale
        return out

    def predict(self, out: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(out[..., 0], dtype=np.float32)

    def batch_grad(self, out: np.ndarray, y: np.ndarray) -> np.ndarray:
        out -= y[..., None]
        out *= 2.0 / out.shape[1]
        return out


def make_loss(task: str) -> Loss:
    """The loss of a task: ``classification`` -> cross-entropy, ``regression`` -> squared error."""
    if task == "classification":
        return CrossEntropy()
    if task == "regression":
        return SquaredError()
    raise ValueError(f"task: must be 'classification' or 'regression'; got {task!r}")


def loss_for(inputs: RunInputs) -> Loss:
    """The loss of a run's task (a fresh object: each learner binds its own shapes)."""
    return make_loss(inputs.config.task)
