"""SGD and Adam on numpy arrays, matching ``torch.optim.SGD`` / ``torch.optim.Adam`` defaults.

Adam is dense on purpose, as in torch: a value row that was not fetched still moves through
its momentum. That is a real effect of the optimiser choice on the bottleneck, so the app can
show it.
"""

from __future__ import annotations

import numpy as np


class Optimizer:
    """Updates arrays in place from their gradients. ``sparse_step`` updates gathered rows."""

    def __init__(self, params: list[np.ndarray], lr: float):
        self.params = params
        self.lr = lr

    def step(self, grads: list[np.ndarray]) -> None:
        raise NotImplementedError

    def sparse_step(self, param: np.ndarray, rows: np.ndarray, grad_rows: np.ndarray) -> None:
        """Apply a gradient that is non-zero only at ``param[rows]`` (rows may repeat: summed)."""
        dense = np.zeros_like(param)
        np.add.at(dense, rows, grad_rows)
        self.step_one(param, dense)

    def step_one(self, param: np.ndarray, grad: np.ndarray) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Plain SGD: ``p -= lr * g``."""

    def step(self, grads: list[np.ndarray]) -> None:
        for p, g in zip(self.params, grads, strict=True):
            p -= self.lr * g

    def step_one(self, param: np.ndarray, grad: np.ndarray) -> None:
        param -= self.lr * grad

    def sparse_step(self, param: np.ndarray, rows: np.ndarray, grad_rows: np.ndarray) -> None:
        np.subtract.at(param, rows, self.lr * grad_rows)


class Adam(Optimizer):
    """Adam with torch's defaults (betas 0.9, 0.999; eps 1e-8; no weight decay)."""

    def __init__(
        self, params: list[np.ndarray], lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
    ):
        super().__init__(params, lr)
        self.b1, self.b2 = betas
        self.eps = eps
        self.t: dict[int, int] = {}
        self.m: dict[int, np.ndarray] = {}
        self.v: dict[int, np.ndarray] = {}

    def step(self, grads: list[np.ndarray]) -> None:
        for p, g in zip(self.params, grads, strict=True):
            self.step_one(p, g)

    def step_one(self, param: np.ndarray, grad: np.ndarray) -> None:
        key = id(param)
        if key not in self.m:
            self.m[key] = np.zeros_like(param)
            self.v[key] = np.zeros_like(param)
            self.t[key] = 0
        self.t[key] += 1
        t, m, v = self.t[key], self.m[key], self.v[key]
        m *= self.b1
        m += (1 - self.b1) * grad
        v *= self.b2
        v += (1 - self.b2) * grad * grad
        bias1 = 1 - self.b1**t
        bias2 = 1 - self.b2**t
        param -= (self.lr / bias1) * m / (np.sqrt(v / bias2) + self.eps)


def make_optimizer(name: str, params: list[np.ndarray], lr: float) -> Optimizer:
    if name == "sgd":
        return SGD(params, lr)
    if name == "adam":
        return Adam(params, lr)
    raise ValueError(f"train.optimizer: must be 'sgd' or 'adam'; got {name!r}")
