"""The stream every model sees: training and held-out data, each sample tagged with its stage."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class Stream:
    """Stage-tagged data. ``x_*`` are float32 ``(N, D)``; labels and stages are int64 ``(N,)``.

    ``images`` optionally holds the raw inputs ``(N_train + N_test, H, W)`` of an image set (train
    rows first) so pages can show them; the models only ever see ``x_*``.

    ``pretrain_rows`` (online streams only) are the training rows of the pre-training mode: what a
    deployed model has seen before the stream starts. DKVB places its keys on these rows only.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    stage_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    stage_test: np.ndarray
    stage_classes: tuple[tuple[int, ...], ...]
    num_classes: int
    name: str = "stream"
    class_names: tuple[str, ...] = ()
    images: np.ndarray | None = field(default=None, repr=False)
    pretrain_rows: np.ndarray | None = field(default=None, repr=False)
    # regression streams: targets ``y_*`` are float32 and ``num_classes`` is 1 (one output)
    task: str = "classification"
    curve_x: np.ndarray | None = field(default=None, repr=False)  # (G,) inputs where predictions are drawn
    curve_true: np.ndarray | None = field(default=None, repr=False)  # (T, G) true function of each stage

    def __post_init__(self) -> None:
        if not self.class_names:
            object.__setattr__(self, "class_names", tuple(str(c) for c in range(self.num_classes)))

    @property
    def num_stages(self) -> int:
        return len(self.stage_classes)

    @property
    def input_dim(self) -> int:
        return int(self.x_train.shape[1])

    def train_indices(self, stage: int) -> np.ndarray:
        """Row indices of the training samples of one stage."""
        return np.flatnonzero(self.stage_train == stage)

    def test_indices(self, stage: int) -> np.ndarray:
        return np.flatnonzero(self.stage_test == stage)

    def digest(self) -> str:
        """A content hash, so a cache can tell two streams apart without comparing arrays."""
        import hashlib

        h = hashlib.sha256()
        for a in (self.x_train, self.y_train, self.stage_train, self.x_test, self.y_test, self.stage_test):
            h.update(np.ascontiguousarray(a).tobytes())
            h.update(str(a.shape).encode())
        h.update(repr(self.stage_classes).encode())
        return h.hexdigest()[:16]


def stage_of_class(stage_classes: tuple[tuple[int, ...], ...], num_classes: int) -> np.ndarray:
    """Lookup table class -> stage (-1 for a class that never arrives)."""
    table = np.full(num_classes, -1, dtype=np.int64)
    for stage, classes in enumerate(stage_classes):
        table[list(classes)] = stage
    return table


def split_held_out(y: np.ndarray, test_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per class, a seeded split into (train rows, test rows); every class keeps >= 1 of each."""
    train, test = [], []
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        n_test = min(max(1, round(len(rows) * test_fraction)), len(rows) - 1)
        test.append(rows[:n_test])
        train.append(rows[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
