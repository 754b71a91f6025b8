"""Which training rows and labels each step uses, and after which steps a frame is recorded.

A :class:`Schedule` is one seed's batches: row indices into the stream's training set and the labels
the models train on, ``(steps, batch)`` each, plus the steps after which the models' ``end_stage`` hook
runs. ``"stream"`` is the continual-learning order (stage by stage, or the online stream's Markov chain
over tasks); ``"iid"`` is the joint reference's (all stages shuffled together; online: the stream's
batches in a shuffled order). Every model asking for the same schedule gets the same batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dkvb_core.errors import DataError
from dkvb_core.streams import Stream

if TYPE_CHECKING:
    from dkvb_core.config import Config
    from dkvb_core.online_schedule import OnlineLog

# Seeding tags of the schedules (with the run seed): fixed, so a run's batches never depend on
# which models are trained beside each other.
SCHEDULE_TAGS = {"stream": 0xBA7C, "iid": 0x501}


@dataclass(frozen=True, eq=False)
class Schedule:
    """One seed's batches and the step marks the engine and the recorder need.

    ``ends``: steps done after which ``end_stage(i)`` runs (the same for every seed). ``stage_end_steps``:
    the step at which each stage's held-out accuracy is read for the accuracy matrix. ``stage``: the
    stage (online: the mode) of each step. ``order``: the stream step each step's batch comes from
    (online joint reference), None for the stream's own order. ``online``: the online stream's tags.
    """

    rows: np.ndarray  # (steps, B) int64
    labels: np.ndarray  # (steps, B) int64
    ends: np.ndarray  # (E,) int
    stage_end_steps: np.ndarray  # (T,) int
    stage: np.ndarray  # (steps,) int
    usage_period: int  # steps of one bucket of DKVB's per-stage key usage
    order: np.ndarray | None = None
    online: OnlineLog | None = None

    @property
    def total(self) -> int:
        return len(self.rows)


def stage_schedule(stream: Stream, steps: int, batch: int, rng: np.random.Generator) -> np.ndarray:
    """Training rows ``(stages * steps, batch)``: per stage, reshuffled passes over its data."""
    out = []
    for stage in range(stream.num_stages):
        rows = stream.train_indices(stage)
        if len(rows) == 0:
            raise DataError(f"stream: stage {stage} has no training samples")
        out.append(epochs(rows, steps * batch, rng).reshape(steps, batch))
    return np.concatenate(out)


def iid_schedule(n: int, total_steps: int, batch: int, rng: np.random.Generator) -> np.ndarray:
    """Training rows of the i.i.d. reference: reshuffled passes over all stages' data."""
    return epochs(np.arange(n), total_steps * batch, rng).reshape(total_steps, batch)


def epochs(rows: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` rows drawn as consecutive shuffled passes over ``rows`` (every row once a pass)."""
    reps = -(-count // len(rows))
    return np.concatenate([rng.permutation(rows) for _ in range(reps)])[:count]


def build_schedule(kind: str, stream: Stream, config: Config) -> Schedule:
    """The schedule of ``kind`` for one seed's stream (``config.seed``)."""
    if kind not in SCHEDULE_TAGS:
        raise ValueError(f"schedule: unknown kind {kind!r}; known: {', '.join(SCHEDULE_TAGS)}")
    if config.online.enabled:
        from dkvb_core.online_schedule import online_schedule

        return online_schedule(kind, stream, config)
    rng = np.random.default_rng([config.seed, SCHEDULE_TAGS[kind]])
    steps, batch, T = config.train.steps_per_stage, config.train.batch_size, stream.num_stages
    if kind == "stream":
        rows = stage_schedule(stream, steps, batch, rng)
    else:
        rows = iid_schedule(len(stream.y_train), T * steps, batch, rng)
    ends = np.arange(1, T + 1) * steps
    return Schedule(rows, stream.y_train[rows], ends, ends, np.arange(T * steps) // steps, steps)


def frame_steps(total: int, ends: np.ndarray, every: int) -> np.ndarray:
    """Steps after which a frame is taken: 0, every ``every`` steps, each of ``ends`` and the last step."""
    marks = {0, total, *(int(e) for e in ends)}
    if every:
        marks.update(range(every, total + 1, every))
    return np.array(sorted(marks), dtype=np.int32)


@dataclass(frozen=True, eq=False)
class Batches:
    """Every seed's schedule of one kind, stacked on a seed axis for the engine's step loop."""

    rows: np.ndarray  # (steps, S, B)
    labels: np.ndarray  # (steps, S, B)
    seeds: list[Schedule]

    @property
    def ends(self) -> np.ndarray:
        return self.seeds[0].ends

    @property
    def total(self) -> int:
        return len(self.rows)


def stack_schedules(schedules: list[Schedule]) -> Batches:
    """Stack one schedule a seed; their ``ends`` must agree (hooks run for all seeds at once)."""
    for s in schedules[1:]:
        if not np.array_equal(s.ends, schedules[0].ends) or s.total != schedules[0].total:
            raise DataError("seeds: the schedules of different seeds differ in length; run them one by one")
    rows = np.stack([s.rows for s in schedules], axis=1)
    labels = np.stack([s.labels for s in schedules], axis=1)
    return Batches(rows, labels, schedules)
