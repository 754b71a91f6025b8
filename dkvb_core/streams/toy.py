"""The 2-D Gaussian toy stream of the paper's motivating figure (8 classes, 4 stages of 2)."""

from __future__ import annotations

import math

import numpy as np

from dkvb_core.config import StreamConfig
from dkvb_core.streams.base import Stream, stage_of_class


def class_means(num_classes: int, layout: str, radius: float, rng: np.random.Generator) -> np.ndarray:
    """Centres of the classes: on a circle, on a square grid, or uniform in a disc."""
    if layout == "circle":
        angles = 2 * math.pi * np.arange(num_classes) / num_classes
        return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    if layout == "grid":
        side = math.ceil(math.sqrt(num_classes))
        ticks = np.linspace(-radius, radius, side) if side > 1 else np.zeros(1)
        xx, yy = np.meshgrid(ticks, ticks[::-1])
        return np.stack([xx.ravel(), yy.ravel()], axis=1)[:num_classes]
    if layout == "random":
        return _spread_out_in_disc(num_classes, radius, rng)
    raise ValueError(f"stream.layout: unknown layout {layout!r}")


def _spread_out_in_disc(n: int, radius: float, rng: np.random.Generator, candidates: int = 30) -> np.ndarray:
    """Random means that keep apart: each is the best of ``candidates`` uniform draws in the
    disc, the one farthest from the means already placed (Mitchell's best-candidate)."""
    points = np.empty((0, 2))
    for _ in range(n):
        r = radius * np.sqrt(rng.uniform(size=candidates))
        a = rng.uniform(0, 2 * math.pi, size=candidates)
        cand = np.stack([r * np.cos(a), r * np.sin(a)], axis=1)
        if len(points):
            gap = np.linalg.norm(cand[:, None] - points[None], axis=-1).min(axis=1)
            cand = cand[[int(gap.argmax())]]
        points = np.concatenate([points, cand[:1]])
    return points


def make_toy_stream(cfg: StreamConfig, seed: int) -> Stream:
    """Sample train and held-out points around each class mean; stages from the config."""
    rng = np.random.default_rng([seed, 0x70E])
    means = class_means(cfg.num_classes, cfg.layout, cfg.radius, rng)
    stage_classes = cfg.resolved_stage_classes()
    stage_table = stage_of_class(stage_classes, cfg.num_classes)

    def sample(per_class: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.repeat(np.arange(cfg.num_classes), per_class)
        x = means[y] + cfg.spread * rng.standard_normal((len(y), 2))
        return x.astype(np.float32), y

    x_train, y_train = sample(cfg.train_per_class)
    x_test, y_test = sample(cfg.test_per_class)
    keep_tr = stage_table[y_train] >= 0
    keep_te = stage_table[y_test] >= 0
    return Stream(
        x_train=x_train[keep_tr],
        y_train=y_train[keep_tr],
        stage_train=stage_table[y_train[keep_tr]],
        x_test=x_test[keep_te],
        y_test=y_test[keep_te],
        stage_test=stage_table[y_test[keep_te]],
        stage_classes=stage_classes,
        num_classes=cfg.num_classes,
        name="toy",
    )
