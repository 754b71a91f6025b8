"""What the 1-D regression streams share: a Stream of (x, y) with float targets, one output, and
each stage's true function sampled on a curve of inputs (for the page's dashed line)."""

from __future__ import annotations

import numpy as np

from dkvb_core.streams.base import Stream


def regression_stream(
    name: str,
    train: tuple[np.ndarray, np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray, np.ndarray],
    num_stages: int,
    curve_x: np.ndarray,
    curve_true: np.ndarray | None,
) -> Stream:
    """A regression Stream from ``(x, y, stage)`` triples of 1-D inputs; ``num_classes`` is 1."""
    (xs, ys, ss), (xt, yt, st) = train, test
    return Stream(
        x_train=np.asarray(xs, np.float32).reshape(-1, 1),
        y_train=np.asarray(ys, np.float32),
        stage_train=np.asarray(ss, np.int64),
        x_test=np.asarray(xt, np.float32).reshape(-1, 1),
        y_test=np.asarray(yt, np.float32),
        stage_test=np.asarray(st, np.int64),
        stage_classes=tuple((0,) for _ in range(num_stages)),
        num_classes=1,
        name=name,
        class_names=("y",),
        task="regression",
        curve_x=np.asarray(curve_x, np.float32),
        curve_true=None if curve_true is None else np.asarray(curve_true, np.float32),
    )


def stage_ranges(x_min: float, x_max: float, num_stages: int) -> np.ndarray:
    """``(T, 2)`` contiguous equal input ranges covering ``[x_min, x_max]`` left to right."""
    edges = np.linspace(x_min, x_max, num_stages + 1)
    return np.stack([edges[:-1], edges[1:]], axis=1)
