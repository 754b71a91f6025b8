"""Draw your own stream: the points drawn on the Playground's plane as the seed notebook's CSV
(``Feature_1, Feature_2, Labels, Stage``), so a drawing runs exactly like an uploaded file."""

from __future__ import annotations

import io
from collections.abc import Sequence

MAX_POINTS = 2000


def points_csv(points: Sequence[Sequence[float]]) -> bytes:
    """``[[x, y, class, stage], ...]`` as CSV bytes (stage 0-based, as the Stage column reads)."""
    out = io.StringIO()
    out.write("Feature_1,Feature_2,Labels,Stage\n")
    for x, y, c, s in points:
        out.write(f"{float(x):.4f},{float(y):.4f},{int(c)},{int(s)}\n")
    return out.getvalue().encode("utf-8")


def clean_points(raw: object, num_classes: int, num_stages: int) -> list[list[float]]:
    """The drawing's points as reported by the browser, keeping only well-formed ones (finite
    coordinates, class and stage in range), at most ``MAX_POINTS``."""
    import math

    if not isinstance(raw, list):
        return []
    out: list[list[float]] = []
    for p in raw[:MAX_POINTS]:
        if not isinstance(p, list | tuple) or len(p) != 4:
            continue
        try:
            x, y, c, s = float(p[0]), float(p[1]), int(p[2]), int(p[3])
        except (TypeError, ValueError):
            continue
        if math.isfinite(x) and math.isfinite(y) and 0 <= c < num_classes and 0 <= s < num_stages:
            out.append([x, y, c, s])
    return out


def summary(points: Sequence[Sequence[float]]) -> str:
    """'24 points, 3 classes, 2 stages' (what the drawing holds)."""
    classes = {int(p[2]) for p in points}
    stages = {int(p[3]) for p in points}
    return f"{len(points)} points, {len(classes)} classes, {len(stages)} stages"
