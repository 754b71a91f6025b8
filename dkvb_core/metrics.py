"""Continual-learning metrics on an accuracy matrix (and, for regression, an MSE matrix), with their
standard definitions.

``R[i, j]`` is the accuracy on stage ``j``'s held-out data after training through stage ``i``
(``T`` stages, indices 0..T-1; the last row is the end of the stream).
"""

from __future__ import annotations

from typing import Any

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


# --- the online stream (OSAKA) -------------------------------------------------------------------
# ``a[t] = correct[t] / batch`` is the online accuracy of step ``t``: the model's accuracy on the batch
# it is about to train on, scored before the update (test-then-train). Steps are the stream's only
# (pre-training excluded) unless said otherwise.


def step_accuracy(correct_per_step: np.ndarray, batch_size: int) -> np.ndarray:
    """Online accuracy of each step, ``a[t] = correct[t] / batch`` (float64)."""
    return np.asarray(correct_per_step, dtype=np.float64) / batch_size


def windowed_accuracy(acc: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean of ``acc`` over the last ``window`` steps (fewer at the start): ``mean a[t-w+1..t]``."""
    c = np.concatenate([[0.0], np.cumsum(np.asarray(acc, dtype=np.float64))])
    t = np.arange(1, len(c))
    lo = np.maximum(t - window, 0)
    return (c[t] - c[lo]) / (t - lo)


def accuracy_per_group(acc: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Mean of ``acc`` over the steps of each group (e.g. mode) ``(n_groups,)``; NaN for a group with no step."""
    sums = np.bincount(groups, weights=acc, minlength=n_groups)
    counts = np.bincount(groups, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def running_accuracy_per_group(acc: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Cumulative online accuracy of each group over time ``(n_groups, steps)``: at step ``t`` the mean
    of ``a[u]`` over the group's steps ``u <= t`` (NaN before the group's first step)."""
    onehot = np.eye(n_groups)[groups].T  # (G, steps)
    sums, counts = np.cumsum(onehot * acc, axis=1), np.cumsum(onehot, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def segment_bounds(segment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First step and one-past-last step of each segment, for per-step segment ids ``0, 0, 1, 1, 1, 2...``."""
    starts = np.flatnonzero(np.diff(segment, prepend=-1) != 0)
    return starts, np.append(starts[1:], len(segment))


def recovery(acc: np.ndarray, task: np.ndarray, segment: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Recovery of each returning task: a segment whose task came before in an earlier segment.

    For every such return: ``first_k`` = mean ``a`` over the first ``min(k, length)`` steps after it
    returns; ``before`` = mean ``a`` over the last ``min(k, length)`` steps of the task's previous
    segment. ``first_k - before`` near 0: the task was remembered (or re-learned at once); below 0: lost.
    Arrays have one entry a return, in stream order; ``step`` is the return's first step.
    """
    starts, stops = segment_bounds(segment)
    last_seen: dict[int, int] = {}
    rows = []
    for i, (a, b) in enumerate(zip(starts, stops, strict=True)):
        tk = int(task[a])
        if tk in last_seen:
            pa, pb = starts[last_seen[tk]], stops[last_seen[tk]]
            rows.append((a, tk, acc[a : min(a + k, b)].mean(), acc[max(pb - k, pa) : pb].mean()))
        last_seen[tk] = i
    cols = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    return {
        "step": np.array(cols[0], dtype=np.int64),
        "task": np.array(cols[1], dtype=np.int64),
        "first_k": np.array(cols[2], dtype=np.float64),
        "before": np.array(cols[3], dtype=np.float64),
    }


def _number(x: float) -> float | None:
    """A JSON-safe float: None for NaN (a figure that is not defined, e.g. no task returned)."""
    return None if not np.isfinite(x) else float(x)


def online_summary(
    correct: np.ndarray,
    batch_size: int,
    mode: np.ndarray,
    task: np.ndarray | None,
    segment: np.ndarray | None,
    n_modes: int,
    pretrain_steps: int,
    k: int,
) -> dict[str, Any]:
    """The online figures of one model, JSON-ready; ``mode``/``task``/``segment`` are per step in the order
    the model trained (pre-training first). ``task``/``segment`` None: no recovery (a shuffled order)."""
    acc = step_accuracy(correct, batch_size)
    pre, stream = acc[:pretrain_steps], acc[pretrain_steps:]
    modes = np.asarray(mode[pretrain_steps:], dtype=np.int64)
    per_mode = accuracy_per_group(stream, modes, n_modes)
    ood = modes > 0
    out: dict[str, Any] = {
        "online_accuracy": _number(stream.mean()) if len(stream) else None,
        "online_accuracy_per_mode": [_number(v) for v in per_mode],
        "online_accuracy_pretrain_mode": _number(per_mode[0]),
        "online_accuracy_ood": _number(stream[ood].mean()) if ood.any() else None,
        "pretraining_accuracy": _number(pre.mean()) if len(pre) else None,
    }
    rec = {"first_k": np.zeros(0), "before": np.zeros(0)}
    if task is not None and segment is not None:
        rec = recovery(stream, task[pretrain_steps:], segment[pretrain_steps:], k)
    has = len(rec["first_k"]) > 0
    out["returns"] = len(rec["first_k"])
    out["recovery_first_k"] = _number(rec["first_k"].mean()) if has else None
    out["recovery_before"] = _number(rec["before"].mean()) if has else None
    out["recovery_gap"] = _number((rec["first_k"] - rec["before"]).mean()) if has else None
    return out


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
