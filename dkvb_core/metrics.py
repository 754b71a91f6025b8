"""Continual-learning metrics on an accuracy matrix (and, for regression, an MSE matrix), with their
standard definitions.

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


# --- regression: the same ideas on a matrix of test MSE, where lower is better ----------------
#
# ``E[i, j]`` is the mean squared error on stage ``j``'s held-out data after training through stage
# ``i``. Every figure below is oriented so that lower is better, and the JSON names say so.


def forgetting_mse(E: np.ndarray) -> float:
    """Forgetting in MSE: for each stage ``j < T-1``, its final error minus its best (lowest) earlier
    error, ``E[T-1, j] - min_{l < T-1} E[l, j]``, averaged over ``j``. Positive = the model forgot
    (its error on old stages grew); 0 = kept. 0 for a single stage."""
    return float(np.mean(forgetting_mse_per_stage(E)[:-1])) if len(_check(E)) > 1 else 0.0


def forgetting_mse_per_stage(E: np.ndarray) -> np.ndarray:
    """Per stage ``j`` the rise of :func:`forgetting_mse` (the last stage: 0)."""
    E = _check(E)
    t = len(E)
    out = np.zeros(t)
    for j in range(t - 1):
        out[j] = E[t - 1, j] - E[: t - 1, j].min()
    return out


def bwt_mse(E: np.ndarray) -> float:
    """Backward transfer in MSE: mean over ``j < T-1`` of ``E[T-1, j] - E[j, j]``. Positive = the error
    on earlier stages grew after learning later ones (forgetting); negative = later stages helped.
    Note the sign is the opposite of accuracy BWT's: here lower is better. 0 for a single stage."""
    E = _check(E)
    t = len(E)
    if t < 2:
        return 0.0
    return float(np.mean([E[t - 1, j] - E[j, j] for j in range(t - 1)]))


def average_mse_seen(E: np.ndarray) -> np.ndarray:
    """After each stage ``i``: mean of ``E[i, j]`` over the stages seen so far, ``j <= i``."""
    return average_accuracy_seen(E)


def online_mse(step_mse: np.ndarray) -> np.ndarray:
    """Predict-then-train MSE: each batch's error *before* training on it, running mean over the
    batches so far (``(steps,)``; the last entry is the final score). Lower is better."""
    loss = np.asarray(step_mse, dtype=np.float64)
    return np.cumsum(loss) / np.arange(1, len(loss) + 1)


def regression_summary(E: np.ndarray) -> dict[str, float | list[float] | list[list[float]]]:
    """Every regression metric of one model, JSON-ready; each name says lower is better."""
    E = _check(E)
    return {
        "mse_matrix_lower_is_better": E.tolist(),
        "final_mse_lower_is_better": float(E[-1].mean()),
        "average_mse_seen_lower_is_better": average_mse_seen(E).tolist(),
        "forgetting_mse_lower_is_better": forgetting_mse(E),
        "forgetting_mse_per_stage_lower_is_better": forgetting_mse_per_stage(E).tolist(),
        "bwt_mse_lower_is_better": bwt_mse(E),
    }
