"""Continual-learning metrics on an accuracy matrix, with their standard definitions.

``R[i, j]`` is the accuracy on stage ``j``'s held-out data after training through stage ``i``
(``T`` stages, indices 0..T-1; the last row is the end of the stream).
"""

from __future__ import annotations

import numpy as np


def _check(R: np.ndarray) -> np.ndarray:
    R = np.asarray(R, dtype=np.float64)
    if R.ndim != 2 or R.shape[0] != R.shape[1] or R.shape[0] == 0:
        raise ValueError(f"accuracy matrix: must be square and non-empty; got shape {R.shape}")
    return R


def average_accuracy_seen(R: np.ndarray) -> np.ndarray:
    """After each stage ``i``: mean of ``R[i, j]`` over the stages seen so far, ``j <= i``."""
    R = _check(R)
    return np.array([R[i, : i + 1].mean() for i in range(len(R))])


def average_accuracy_all(R: np.ndarray) -> np.ndarray:
    """After each stage ``i``: mean of ``R[i, j]`` over all stages, seen or not."""
    return _check(R).mean(axis=1)


def final_average_accuracy(R: np.ndarray) -> float:
    """Mean accuracy over all stages at the end, ``mean_j R[T-1, j]``."""
    return float(_check(R)[-1].mean())


def forgetting_max(R: np.ndarray) -> float:
    """Forgetting (Chaudhry et al. 2018): for each stage ``j < T-1``, the drop from its best
    earlier accuracy ``max_{l < T-1} R[l, j]`` to its final ``R[T-1, j]``, averaged over ``j``.
    0 for a single stage."""
    R = _check(R)
    t = len(R)
    if t < 2:
        return 0.0
    drops = [R[: t - 1, j].max() - R[t - 1, j] for j in range(t - 1)]
    return float(np.mean(drops))


def forgetting_per_stage(R: np.ndarray) -> np.ndarray:
    """Per stage ``j`` the same drop as :func:`forgetting_max` (the last stage: 0)."""
    R = _check(R)
    t = len(R)
    out = np.zeros(t)
    for j in range(t - 1):
        out[j] = R[: t - 1, j].max() - R[t - 1, j]
    return out


def bwt_gem(R: np.ndarray) -> float:
    """Backward transfer (Lopez-Paz & Ranzato 2017, GEM): mean over ``j < T-1`` of
    ``R[T-1, j] - R[j, j]``; negative means forgetting. 0 for a single stage."""
    R = _check(R)
    t = len(R)
    if t < 2:
        return 0.0
    return float(np.mean([R[t - 1, j] - R[j, j] for j in range(t - 1)]))


def online_accuracy(correct_per_step: np.ndarray, batch_size: int) -> np.ndarray:
    """OSAKA's online accuracy: each incoming batch is scored *before* training on it; the
    running mean over all batches so far (``(steps,)``, the last entry is the final score)."""
    correct = np.asarray(correct_per_step, dtype=np.float64)
    return np.cumsum(correct) / (batch_size * np.arange(1, len(correct) + 1))


def summary(R: np.ndarray) -> dict[str, float | list[float] | list[list[float]]]:
    """Every metric of one model, JSON-ready."""
    R = _check(R)
    return {
        "accuracy_matrix": R.tolist(),
        "average_accuracy": final_average_accuracy(R),
        "average_accuracy_seen": average_accuracy_seen(R).tolist(),
        "average_accuracy_all": average_accuracy_all(R).tolist(),
        "forgetting": forgetting_max(R),
        "forgetting_per_stage": forgetting_per_stage(R).tolist(),
        "bwt": bwt_gem(R),
    }
