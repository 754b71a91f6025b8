"""Helpers shared by the chart builders: frame budgets, grid subsampling, plot styling."""

from __future__ import annotations

import copy
import functools
import json
import math
import re
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from app.charts.palette import DARK_BG, DARK_TEXT, FONT
from dkvb_core import GridSpec

# Upper bound of the figure data of one animated chart, counted as base64 of the raw uint8
# maps (4/3 of the raw bytes). Maps are sent as palette PNGs, which compress them a further ~10x.
MAX_ANIMATION_BYTES = 3_000_000
MIN_FRAMES = 40


def plan_animation(
    num_frames: int, keep: np.ndarray, cells: int, layers: int, budget: int = MAX_ANIMATION_BYTES
) -> tuple[np.ndarray, int]:
    """Frames to send and the grid stride, so ``frames * layers * (cells/stride)^2 * 4/3 <= budget``.

    ``cells`` is the grid side, ``layers`` the number of heatmaps a frame carries. Frames in
    ``keep`` (stage ends) are always sent; the stride only grows when even ``MIN_FRAMES`` frames
    would not fit at full resolution.
    """
    for stride in range(1, max(cells, 1) + 1):
        side = math.ceil(cells / stride)
        per_frame = layers * side * side * 4 / 3
        fit = int(budget // max(per_frame, 1))
        if fit >= min(num_frames, MIN_FRAMES) or side <= 10:
            return subsample_frames(num_frames, keep, max(fit, len(keep) + 1)), stride
    return subsample_frames(num_frames, keep, MIN_FRAMES), cells  # pragma: no cover - unreachable


def subsample_frames(num_frames: int, keep: np.ndarray, limit: int) -> np.ndarray:
    """At most ``limit`` frame indices, evenly spread, always with frame 0 and those in ``keep``."""
    if num_frames <= limit:
        return np.arange(num_frames)
    must = np.unique(np.concatenate([[0], np.asarray(keep, dtype=int)]))
    rest = max(limit - len(must), 0)
    spread = np.linspace(0, num_frames - 1, rest + 2).round().astype(int)[1:-1] if rest else np.array([], int)
    return np.unique(np.concatenate([must, spread]))


def grid_axes(grid: GridSpec, stride: int) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = grid.axes()
    return xs[::stride], ys[::stride]


def grid_frames(pred: np.ndarray, size: int, stride: int) -> np.ndarray:
    """``(F, G*G)`` -> ``(F, G', G')`` keeping every ``stride``-th row and column."""
    return np.ascontiguousarray(np.asarray(pred).reshape(len(pred), size, size)[:, ::stride, ::stride])


class AnimatedFigure(go.Figure):
    """A Figure whose animation frames stay plain dicts (``frame_dicts``) and are only added in
    :meth:`to_dict` (which Streamlit, ``to_json`` and ``to_html`` use). Turning hundreds of frame
    dicts into validated plotly objects took longer than training the default run."""

    def __init__(self, figure: dict, frames: list[dict]) -> None:
        super().__init__(figure, _validate=False)
        self._frame_dicts = frames

    @property
    def frame_dicts(self) -> list[dict]:
        return self._frame_dicts

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["frames"] = self._frame_dicts
        return out

    def to_plotly_json(self) -> dict:
        return self.to_dict()


def raw_figure(data: list[dict], layout: dict, frames: list[dict] | None = None) -> go.Figure:
    """A Figure from plain dicts without plotly's per-property validation (10x faster for
    animations with many frames). Builders stay responsible for valid property names; the
    chart tests render every figure through ``to_json`` and check its data."""
    if frames:
        return AnimatedFigure({"data": data, "layout": layout}, frames)
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def subplot_layout(rows: int, cols: int, **kwargs) -> dict:
    """The axis domains and titles of a subplot grid, as a plain layout dict (a fresh copy: callers
    edit it). Cached by arguments: ``make_subplots`` builds a validated figure (~20 ms a call)."""
    try:
        key = json.dumps(kwargs, sort_keys=True)
    except TypeError:  # an argument JSON cannot hold (a numpy scalar): build it uncached
        from plotly.subplots import make_subplots

        return make_subplots(rows=rows, cols=cols, **kwargs).layout.to_plotly_json()
    return copy.deepcopy(_subplot_layout(rows, cols, key))


@functools.lru_cache(maxsize=64)
def _subplot_layout(rows: int, cols: int, kwargs_json: str) -> dict:
    from plotly.subplots import make_subplots

    return make_subplots(rows=rows, cols=cols, **json.loads(kwargs_json)).layout.to_plotly_json()


def axis_ref(i: int) -> tuple[str, str]:
    """Trace axis references of the i-th subplot (0-based): ('x', 'y'), ('x2', 'y2'), ..."""
    return ("x", "y") if i == 0 else (f"x{i + 1}", f"y{i + 1}")


def points_colourscale(num_classes: int) -> list[list[float | str]]:
    """Stepwise scale so that marker colour = class id (cmin=-0.5, cmax=n-0.5)."""
    from app.charts.palette import class_colour

    scale: list[list[float | str]] = []
    for c in range(num_classes):
        scale.append([c / num_classes, class_colour(c)])
        scale.append([(c + 1) / num_classes, class_colour(c)])
    return scale


def style(fig: go.Figure, height: int) -> go.Figure:
    """Projector-friendly defaults: big fonts, white background, tight margins."""
    fig.update_layout(
        height=height,
        font=FONT,
        template=pio.templates["simple_white"],
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        legend={"font": {"size": 15}},
    )
    return fig


def darken(fig: go.Figure) -> go.Figure:
    """The same chart for a dark room: dark page and panels, light text and axes."""
    axis = {"color": DARK_TEXT, "linecolor": "#4b5563", "gridcolor": "#2d3340", "zerolinecolor": "#4b5563"}
    fig.update_layout(
        paper_bgcolor=DARK_BG,
        plot_bgcolor=DARK_BG,
        font={"color": DARK_TEXT},
        legend={"font": {"color": DARK_TEXT}},
    )
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    fig.update_annotations(font_color=DARK_TEXT)
    return fig


_FONT_PX = re.compile(r"font-size:\s*(\d+(?:\.\d+)?)px")
_FONT_KEYS = frozenset({"font", "textfont", "titlefont", "tickfont", "insidetextfont", "outsidetextfont"})


def scale_fonts(spec: Any, factor: float) -> Any:
    """A figure dict (data, layout, frames) with every font size, and every inline ``font-size:Npx``
    of its texts, multiplied by ``factor``: chart text grows with the page in presentation mode."""
    if isinstance(spec, dict):
        out = {k: scale_fonts(v, factor) for k, v in spec.items()}
        for k in _FONT_KEYS & out.keys():
            font = out[k]
            size = font.get("size") if isinstance(font, dict) else None
            if isinstance(size, int | float) and not isinstance(size, bool):
                out[k] = {**font, "size": round(size * factor, 1)}
        return out
    if isinstance(spec, list):
        return [scale_fonts(v, factor) for v in spec]
    if isinstance(spec, str) and "font-size" in spec:
        return _FONT_PX.sub(lambda m: f"font-size:{round(float(m.group(1)) * factor)}px", spec)
    return spec


def square_axes(layout: dict, grid: GridSpec, panels: int) -> None:
    """Same data range on every panel, equal aspect (each y axis anchored to its x), no ticks."""
    for i in range(panels):
        suffix = "" if i == 0 else str(i + 1)
        x = layout.setdefault(f"xaxis{suffix}", {})
        y = layout.setdefault(f"yaxis{suffix}", {})
        bare = {"showticklabels": False, "ticks": "", "showgrid": False, "zeroline": False, "showline": False}
        x.update(range=[grid.x_min, grid.x_max], **bare)
        y.update(range=[grid.y_min, grid.y_max], **bare)
        y.update(scaleanchor=f"x{suffix}", scaleratio=1, constrain="domain")
        x.update(constrain="domain")
