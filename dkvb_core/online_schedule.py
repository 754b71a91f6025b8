"""The online stream's schedule (OSAKA): pre-training, then a hidden Markov chain over tasks.

Pre-training: ``online.pretrain_steps`` i.i.d. steps on the pre-training mode (mode 0). With
``global`` labels each batch is drawn from all of mode 0's training rows; with ``task_local`` labels
each batch is a fresh task of ``n_way`` mode-0 classes labelled 0..n_way-1.

The stream: at its first step and then with probability ``1 - p`` at every step the task switches:
a mode is drawn from ``online.mode_probs`` (the same mode may come again) and ``n_way`` of its classes
in a random order. Segment lengths are therefore geometric with mean ``1 / (1 - p)``, and the share of
steps in mode ``m`` is ``mode_probs[m]`` in expectation. A segment's batches are reshuffled passes over
its classes' training rows. Labels: ``global`` keeps each class's id; ``task_local`` (OSAKA's rule)
labels a task's classes 0..n_way-1 in the order drawn, so the same input may mean another label later.

Models get no signal at a switch (OSAKA is task-agnostic): ``end_stage(0)`` runs once, when
pre-training ends. The joint reference ("iid") trains on the stream's batches in a shuffled order.
"""

from __future__ import annotations

import numpy as np

from dkvb_core.config import Config
from dkvb_core.errors import DataError
from dkvb_core.result import OnlineLog
from dkvb_core.schedule import SCHEDULE_TAGS, Batches, Schedule, epochs
from dkvb_core.streams import Stream


def switch_points(p: float, steps: int, rng: np.random.Generator) -> np.ndarray:
    """Steps (0-based, within the stream) where a new segment starts: step 0, then each step w.p. ``1 - p``."""
    switch = rng.random(steps) >= p
    switch[0] = True
    return np.flatnonzero(switch)


def draw_tasks(
    modes: tuple[tuple[int, ...], ...], probs: np.ndarray, n_way: int, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` segments' modes ``(count,)`` and classes ``(count, n_way)`` (in label order)."""
    mode = rng.choice(len(modes), size=count, p=probs)
    classes = np.stack([rng.choice(modes[m], size=n_way, replace=False) for m in mode]) if count else None
    return mode, classes if classes is not None else np.zeros((0, n_way), np.int64)


def task_ids(classes: np.ndarray, ordered: bool) -> tuple[np.ndarray, np.ndarray]:
    """Id of each segment's task (distinct tasks numbered by first appearance) and each task's classes.

    ``ordered``: tasks with the same classes in another order are different tasks (task-local labels)."""
    keys = [tuple(c) if ordered else tuple(sorted(c)) for c in classes.tolist()]
    seen: dict[tuple[int, ...], int] = {}
    ids = np.array([seen.setdefault(k, len(seen)) for k in keys], dtype=np.int32)
    table = np.array(list(seen), dtype=np.int16).reshape(len(seen), classes.shape[1])
    return ids, table


def relabel(y: np.ndarray, classes: np.ndarray, num_classes: int) -> np.ndarray:
    """Task-local labels: the position of each class of ``y`` in the task's ``classes``."""
    local = np.full(num_classes, -1, dtype=np.int64)
    local[classes] = np.arange(len(classes))
    return local[y]


def _rows_by_class(stream: Stream, classes: set[int]) -> dict[int, np.ndarray]:
    out = {}
    for c in sorted(classes):
        rows = np.flatnonzero(stream.y_train == c)
        if len(rows) == 0:
            raise DataError(f"online.modes: class {c} has no training samples")
        out[c] = rows
    return out


def pretrain_batches(
    stream: Stream, config: Config, by_class: dict[int, np.ndarray], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Rows and labels ``(pretrain_steps, B)`` of the i.i.d. pre-training phase on mode 0."""
    o, batch = config.online, config.train.batch_size
    pool = np.concatenate([by_class[c] for c in stream.stage_classes[0]])
    if o.pretrain_steps == 0:
        return np.zeros((0, batch), np.int64), np.zeros((0, batch), np.int64)
    if o.labels == "global":
        rows = epochs(pool, o.pretrain_steps * batch, rng).reshape(o.pretrain_steps, batch)
        return rows, stream.y_train[rows]
    rows = np.zeros((o.pretrain_steps, batch), np.int64)
    labels = np.zeros_like(rows)
    for t in range(o.pretrain_steps):
        classes = rng.choice(stream.stage_classes[0], size=o.n_way, replace=False)
        rows[t] = rng.choice(np.concatenate([by_class[c] for c in classes]), size=batch)
        labels[t] = relabel(stream.y_train[rows[t]], classes, stream.num_classes)
    return rows, labels


def stream_batches(
    stream: Stream, config: Config, by_class: dict[int, np.ndarray], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, OnlineLog]:
    """Rows, labels ``(steps, B)`` and the tags of the Markov chain's steps (pre-training not included)."""
    o, batch = config.online, config.train.batch_size
    probs = np.asarray(o.mode_probs, dtype=np.float64)
    starts = switch_points(o.p, o.steps, rng)
    mode, classes = draw_tasks(stream.stage_classes, probs / probs.sum(), o.n_way, len(starts), rng)
    ids, table = task_ids(classes, ordered=o.labels == "task_local")
    lengths = np.diff(np.append(starts, o.steps))
    rows, labels = [], []
    for cls, length in zip(classes, lengths, strict=True):
        r = epochs(np.concatenate([by_class[c] for c in cls]), length * batch, rng).reshape(length, batch)
        y = stream.y_train[r]
        rows.append(r)
        labels.append(y if o.labels == "global" else relabel(y, cls, stream.num_classes))
    log = OnlineLog(
        pretrain_steps=o.pretrain_steps,
        mode=np.repeat(mode, lengths).astype(np.int8),
        task=np.repeat(ids, lengths).astype(np.int32),
        segment=np.repeat(np.arange(len(starts)), lengths).astype(np.int32),
        task_classes=table,
        mode_classes=stream.stage_classes,
        labels=o.labels,
    )
    return np.concatenate(rows), np.concatenate(labels), log


def online_schedule(kind: str, stream: Stream, config: Config) -> Schedule:
    """The online schedule of ``kind`` (``stream`` or ``iid``) for one seed."""
    rng = np.random.default_rng([config.seed, SCHEDULE_TAGS["stream"], 0x05A4A])
    by_class = _rows_by_class(stream, {c for m in stream.stage_classes for c in m})
    pre_rows, pre_labels = pretrain_batches(stream, config, by_class, rng)
    rows, labels, log = stream_batches(stream, config, by_class, rng)
    pre = config.online.pretrain_steps
    log.mode = np.concatenate([np.zeros(pre, np.int8), log.mode])
    log.task = np.concatenate([np.full(pre, -1, np.int32), log.task])
    log.segment = np.concatenate([np.full(pre, -1, np.int32), log.segment])
    rows, labels = np.concatenate([pre_rows, rows]), np.concatenate([pre_labels, labels])
    order = None
    if kind == "iid":  # the joint reference: the same batches, the stream's steps in a random order
        perm = np.random.default_rng([config.seed, SCHEDULE_TAGS["iid"], 0x05A4A]).permutation(config.online.steps)
        order = np.concatenate([np.arange(pre), pre + perm]).astype(np.int32)
        rows, labels = rows[order], labels[order]
    total = len(rows)
    stage = log.mode.astype(np.int64) if order is None else log.mode[order].astype(np.int64)
    return Schedule(
        rows=rows,
        labels=labels,
        ends=np.array([pre] if pre else [], dtype=np.int64),
        stage_end_steps=np.full(stream.num_stages, total),
        stage=stage,
        usage_period=total,
        order=order,
        online=log,
    )


def pretrain_samples(
    batches: Batches, pretrain_steps: int, n_rows: int
) -> tuple[dict[int, list[np.ndarray]], np.ndarray]:
    """What a model may revisit when pre-training ends (``end_stage(0)``) under task-local labels: per seed,
    the rows of the pre-training batches, each with the label it had in its last batch (other rows: 0, never
    listed). With global labels the stream's own stage-0 rows and labels are the same thing."""
    rows, labels = batches.rows[:pretrain_steps], batches.labels[:pretrain_steps]  # (P, S, B)
    seen, table = [], np.zeros((rows.shape[1], n_rows), np.int64)
    for s in range(rows.shape[1]):
        table[s, rows[:, s].ravel()] = labels[:, s].ravel()  # later batches overwrite earlier ones
        seen.append(np.unique(rows[:, s]))
    return {0: seen}, table
