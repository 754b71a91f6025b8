"""What the Online page shows of an online run, computed here (pages and charts do no arithmetic).

Segments of the timeline, each model's curves (windowed and cumulative online accuracy, downsampled
for the page: the run keeps every step), per-mode figures and recovery. Definitions: :mod:`dkvb_core.metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dkvb_core import metrics
from dkvb_core.result import OnlineLog, RunResult

MAX_POINTS = 600  # points a curve sends to the page


@dataclass(frozen=True)
class Segments:
    """The stream's segments in order (steps are absolute: pre-training first)."""

    start: np.ndarray  # (G,) first step
    stop: np.ndarray  # (G,) one past the last step
    mode: np.ndarray  # (G,)
    task: np.ndarray  # (G,)
    returning: np.ndarray  # (G,) bool: the task came before


def segments(log: OnlineLog) -> Segments:
    """The Markov chain's segments and which of them are returning tasks."""
    pre = log.pretrain_steps
    starts, stops = metrics.segment_bounds(log.segment[pre:])
    task = log.task[pre:][starts]
    seen: set[int] = set()
    returning = []
    for t in task.tolist():
        returning.append(t in seen)
        seen.add(t)
    return Segments(starts + pre, stops + pre, log.mode[pre:][starts].astype(np.int64), task, np.array(returning))


def task_label(log: OnlineLog, task: int, names: tuple[str, ...]) -> str:
    """'3, 1' for a task's classes in label order (the class names of the stream)."""
    return ", ".join(names[int(c)] for c in log.task_classes[task])


def mode_names(log: OnlineLog) -> list[str]:
    """'pre-training mode', 'OoD mode 1', 'OoD mode 2', ..."""
    return ["pre-training mode"] + [f"OoD mode {m}" for m in range(1, log.num_modes)]


def mode_descriptions(log: OnlineLog, names: tuple[str, ...]) -> list[str]:
    """'OoD mode 1: 5, 6, 7, 8, 9' for each mode: its name and its classes."""
    return [
        f"{title}: {', '.join(names[c] for c in classes)}"
        for title, classes in zip(mode_names(log), log.mode_classes, strict=True)
    ]


def sample_steps(total: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """At most ``max_points`` step indices spread evenly over ``0..total-1``, the last one included."""
    if total <= max_points:
        return np.arange(total)
    return np.unique(np.linspace(0, total - 1, max_points).round().astype(np.int64))


@dataclass(frozen=True)
class Curves:
    """One model's online curves at ``steps`` (absolute step index, stream part only)."""

    steps: np.ndarray
    windowed: np.ndarray  # trailing mean over the last `window` steps
    cumulative: np.ndarray  # running mean over the stream so far
    per_mode: np.ndarray  # (modes, points) running mean over each mode's steps so far (NaN before its first)


def curves(result: RunResult, model: str, max_points: int = MAX_POINTS) -> Curves:
    """The model's online accuracy over the stream (its own order: the joint reference's is shuffled)."""
    log = result.online
    assert log is not None
    pre = log.pretrain_steps
    mode, _, _ = result.online_tags(model)
    acc = metrics.step_accuracy(result.models[model].step_correct, result.batch_size)[pre:]
    modes = mode[pre:].astype(np.int64)
    idx = sample_steps(len(acc), max_points)
    window = result.config.online.window
    cumulative = np.cumsum(acc) / np.arange(1, len(acc) + 1)
    per_mode = metrics.running_accuracy_per_group(acc, modes, log.num_modes)
    return Curves(idx + pre, metrics.windowed_accuracy(acc, window)[idx], cumulative[idx], per_mode[:, idx])


def recovery_points(result: RunResult, model: str) -> dict[str, np.ndarray]:
    """Every return of ``model`` (:func:`dkvb_core.metrics.recovery`); empty for a shuffled order."""
    log = result.online
    assert log is not None
    _, task, segment = result.online_tags(model)
    pre = log.pretrain_steps
    if task is None or segment is None:
        empty = np.zeros(0)
        return {"step": empty.astype(np.int64), "task": empty.astype(np.int64), "first_k": empty, "before": empty}
    acc = metrics.step_accuracy(result.models[model].step_correct, result.batch_size)[pre:]
    rec = metrics.recovery(acc, task[pre:], segment[pre:], result.config.online.recovery_k)
    rec["step"] = rec["step"] + pre
    return rec


def windowed_at(result: RunResult, model: str, steps: np.ndarray) -> np.ndarray:
    """Windowed online accuracy after each of ``steps`` (steps done; NaN during pre-training)."""
    log = result.online
    assert log is not None
    pre = log.pretrain_steps
    acc = metrics.step_accuracy(result.models[model].step_correct, result.batch_size)[pre:]
    w = metrics.windowed_accuracy(acc, result.config.online.window)
    pos = np.asarray(steps) - pre - 1
    return np.where(pos >= 0, w[np.clip(pos, 0, len(w) - 1)], np.nan)
