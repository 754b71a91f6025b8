"""Which training rows each step uses, and after which steps a frame is recorded.

A schedule is an array of row indices into the stream's training set, ``(steps, batch)`` for one
seed. ``"stream"`` is the continual-learning order (stage by stage); ``"iid"`` shuffles all
stages together (the joint reference). Every model asking for the same schedule gets the same
batches.
"""

from __future__ import annotations

import numpy as np

from dkvb_core.errors import DataError
from dkvb_core.streams import Stream

# Seeding tags of the schedules (with the run seed): fixed, so a run's batches never depend on
# which models are trained beside each other.
SCHEDULE_TAGS = {"stream": 0xBA7C, "iid": 0x501}


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


def build_schedule(kind: str, stream: Stream, seed: int, steps_per_stage: int, batch: int) -> np.ndarray:
    """The rows ``(total_steps, batch)`` of schedule ``kind`` for one seed's stream."""
    rng = np.random.default_rng([seed, SCHEDULE_TAGS[kind]])
    if kind == "stream":
        return stage_schedule(stream, steps_per_stage, batch, rng)
    if kind == "iid":
        return iid_schedule(len(stream.y_train), stream.num_stages * steps_per_stage, batch, rng)
    raise ValueError(f"schedule: unknown kind {kind!r}; known: {', '.join(SCHEDULE_TAGS)}")


def frame_steps(total: int, steps_per_stage: int, every: int) -> np.ndarray:
    """Steps after which a frame is taken: 0, every ``every`` steps, and each stage end."""
    marks = {0, *range(steps_per_stage, total + 1, steps_per_stage)}
    if every:
        marks.update(range(every, total + 1, every))
    return np.array(sorted(marks), dtype=np.int32)
