"""Decision boundaries of each model through the stages: the animated side-by-side view and the
paper's static stage x model grid. Regions are uint8 class ids (compact typed arrays)."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from app.charts.common import (
    axis_ref,
    darken,
    grid_axes,
    grid_frames,
    plan_animation,
    points_colourscale,
    raw_figure,
    square_axes,
    style,
    subplot_layout,
)
from app.charts.palette import (
    DARK_TEXT,
    MODEL_LABELS,
    model_description,
    region_colourscale,
    region_ids,
    region_palette,
)
from app.charts.png import data_uri, palette_png
from dkvb_core import GridSpec, RunResult
from dkvb_core.analysis import seen_accuracy_per_frame

PAST_OPACITY = 0.22
FRAME_MS = 140
HELD_OUT_OPACITY = 0.6


def grid_shape(panels: int) -> tuple[int, int]:
    """Rows and columns of the side-by-side panels: one row up to 3, then 2 x 2 and 2 x 3 (square
    panels stay large on a 16:9 screen instead of becoming a row of slivers)."""
    if panels <= 3:
        return 1, max(panels, 1)
    cols = 3 if panels > 4 else 2
    return math.ceil(panels / cols), cols


def heatmap_trace(
    z: np.ndarray, xs: np.ndarray, ys: np.ndarray, n_classes: int, panel: int, dark: bool = False
) -> dict:
    """Class regions: z holds class ids 0..n-1 and n for "no class"."""
    xa, ya = axis_ref(panel)
    return {
        "type": "heatmap",
        "z": z,
        "x": xs,
        "y": ys,
        "zmin": -0.5,
        "zmax": n_classes + 0.5,
        "colorscale": region_colourscale(n_classes, dark=dark),
        "showscale": False,
        "hoverinfo": "skip",
        "zsmooth": False,
        "xaxis": xa,
        "yaxis": ya,
    }


def region_image(ids: np.ndarray, grid: GridSpec, stride: int, n_classes: int, panel: int, dark: bool = False) -> dict:
    """A layout image of one region map (rows along y, as the grid): a palette PNG of class ids
    stretched over the grid's extent, under the points."""
    xa, ya = axis_ref(panel)
    step_x = (grid.x_max - grid.x_min) / max(grid.size - 1, 1) * stride
    step_y = (grid.y_max - grid.y_min) / max(grid.size - 1, 1) * stride
    rows, cols = ids.shape
    return {
        "source": data_uri(palette_png(ids[::-1], region_palette(n_classes, dark=dark))),  # PNG row 0 is the top
        "xref": xa,
        "yref": ya,
        "x": grid.x_min - step_x / 2,
        "y": grid.y_min + step_y * (rows - 0.5),
        "sizex": step_x * cols,
        "sizey": step_y * rows,
        "xanchor": "left",
        "yanchor": "top",
        "sizing": "stretch",
        "layer": "below",
    }


def points_trace(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    panel: int,
    held_out: bool = False,
    gl: bool = False,
    dark: bool = False,
) -> dict:
    """Points coloured by class id (numeric colours + a stepwise scale: compact and fast).
    ``gl``: WebGL points (for very many points); ``dark``: a light outline for a dark page."""
    xa, ya = axis_ref(panel)
    marker: dict = {
        "color": y.astype(np.uint8),
        "colorscale": points_colourscale(n_classes),
        "cmin": -0.5,
        "cmax": n_classes - 0.5,
        "size": 7,
        "line": {"width": 0.6, "color": DARK_TEXT if dark else "#1f2937"},
    }
    if held_out:
        outline = "#0e1117" if dark else "#ffffff"
        marker.update(symbol="diamond", size=6, opacity=HELD_OUT_OPACITY, line={"width": 1, "color": outline})
    return {
        "type": "scattergl" if gl else "scatter",
        "x": x[:, 0],
        "y": x[:, 1],
        "mode": "markers",
        "marker": marker,
        "hoverinfo": "skip",
        "showlegend": False,
        "name": "held-out" if held_out else "training",
        "xaxis": xa,
        "yaxis": ya,
    }


def stage_opacity(stage: int, current: int) -> float:
    """Current stage bold, earlier stages faded, later stages hidden."""
    if stage == current:
        return 1.0
    return PAST_OPACITY if stage < current else 0.0


def _stage_trace(result: RunResult, stage: int, panel: int, current: int, gl: bool = False, dark: bool = False) -> dict:
    assert result.x_train is not None and result.y_train is not None
    mask = result.stage_train == stage
    trace = points_trace(result.x_train[mask], result.y_train[mask], len(result.class_names), panel, gl=gl, dark=dark)
    trace["marker"]["opacity"] = stage_opacity(stage, current)
    trace["visible"] = stage <= current  # hidden stages are not drawn at all (SVG points are the browser's main cost)
    return trace


def frame_title(result: RunResult, f: int, acc: dict[str, np.ndarray]) -> str:
    """'Stage 2 of 4 · step 1,500 of 4,000' and each model's accuracy on the stages seen so far."""
    stage = int(result.frame_stage[f])
    total = int(result.frame_steps[-1])
    scores = "    ".join(f"{MODEL_LABELS.get(m, m)} <b>{acc[m][f]:.0%}</b>" for m in acc)
    return (
        f"<b>Stage {stage + 1} of {result.num_stages}</b> · step {int(result.frame_steps[f]):,} of {total:,}"
        f"<br><span style='font-size:15px'>accuracy on the stages seen so far:   {scores}</span>"
    )


def animated_boundaries(
    result: RunResult,
    models: list[str],
    show_test: bool = False,
    height: int = 600,
    dark: bool = False,
    base_frame: str | None = None,
) -> go.Figure:
    """One panel per model (a grid for 4-6 models, see :func:`grid_shape`; ``height`` is one row's);
    frames step through training with Play/Pause and a scrubber.

    Regions are layout images (palette PNGs of uint8 class ids; heatmap traces stop drawing
    while plotly animates scatter traces). Each frame carries each model's region image and the
    opacity of each stage's points: the current stage bold, earlier faded, later hidden.
    ``base_frame``: the frame (a name) the figure itself shows (default the first): a player already
    there draws the new figure once instead of drawing it and then moving to its frame.
    """
    if result.grid is None or result.x_train is None:
        raise ValueError("animated_boundaries: the run has no 2-D decision-boundary grid")
    models = [m for m in models if m in result.models] or list(result.models)
    n, T, G = len(result.class_names), result.num_stages, result.grid.size
    frames_idx, stride = plan_animation(result.num_frames, result.stage_end_frames, G, len(models))
    regions = {m: region_ids(grid_frames(result.models[m].grid_predictions[frames_idx], G, stride), n) for m in models}
    acc = {m: seen_accuracy_per_frame(result.models[m].stage_accuracy, result.frame_stage) for m in models}

    def images(i: int) -> list[dict]:
        return [region_image(regions[m][i], result.grid, stride, n, k, dark) for k, m in enumerate(models)]

    names = [str(int(f)) for f in frames_idx]
    at = names.index(base_frame) if base_frame in names else 0
    first = int(result.frame_stage[frames_idx[at]])
    data: list[dict] = []
    for k in range(len(models)):
        data.extend(_stage_trace(result, t, k, first, dark=dark) for t in range(T))
        if show_test:
            assert result.x_test is not None and result.y_test is not None
            data.append(points_trace(result.x_test, result.y_test, n, k, held_out=True, dark=dark))
    per_model = T + (1 if show_test else 0)
    frames = []
    for i, f in enumerate(frames_idx):
        stage = int(result.frame_stage[f])
        fdata, traces = [], []
        for k in range(len(models)):
            for t in range(T):
                fdata.append({"type": "scatter", "visible": t <= stage, "marker": {"opacity": stage_opacity(t, stage)}})
                traces.append(k * per_model + t)
        frames.append(
            {
                "name": str(int(f)),
                "data": fdata,
                "traces": traces,
                "layout": {"title": {"text": frame_title(result, int(f), acc)}, "images": images(i)},
            }
        )
    rows, cols = grid_shape(len(models))
    layout = subplot_layout(
        rows,
        cols,
        subplot_titles=[MODEL_LABELS.get(m, m) for m in models],
        horizontal_spacing=0.015,
        vertical_spacing=0.06 if rows > 1 else 0.3,
    )
    square_axes(layout, result.grid, len(models))
    layout.update(animation_controls(result, frames_idx, active=at))
    layout["images"] = images(at)
    layout["title"] = {  # its bottom edge a fixed gap above the panels: larger text grows upwards into the margin
        "text": frame_title(result, int(frames_idx[at]), acc),
        "x": 0.01,
        "xref": "paper",
        "y": 1.0,
        "yref": "paper",
        "yanchor": "bottom",
        "pad": {"b": 80},  # plotly anchors a two-line title by its first line
        "font": {"size": 21},
    }
    total = height if rows == 1 else 130 + int(rows * (height - 130) * 0.8)
    fig = style(raw_figure(data, layout, frames), total)
    fig.update_layout(margin={"t": 120, "b": 90, "l": 10, "r": 10})
    fig.update_annotations(font_size=19)
    for annotation, m in zip(fig.layout.annotations, models, strict=False):  # a panel title's hover: the model
        annotation.hovertext = model_description(m)
    return darken(fig) if dark else fig


def animation_controls(result: RunResult, frames_idx: np.ndarray, active: int = 0) -> dict:
    """Play/Pause buttons and a scrubber whose labelled ticks mark the stage ends. Play starts
    from the current frame, or from the first one when the scrubber is at the end."""
    ends = {int(e) for e in result.stage_end_frames}
    play = {"frame": {"duration": FRAME_MS, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0}}
    pause = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate", "transition": {"duration": 0}}
    jump = {"frame": {"duration": 0, "redraw": True}, "mode": "immediate", "transition": {"duration": 0}}
    return {
        "updatemenus": [
            {
                "type": "buttons",
                "direction": "left",
                "x": 0.0,
                "y": -0.01,
                "xanchor": "left",
                "yanchor": "top",
                "pad": {"t": 8, "r": 8},
                "showactive": False,
                "font": {"size": 17},
                "buttons": [
                    {"label": "▶ Play", "method": "animate", "args": [None, play]},
                    {"label": "❚❚ Pause", "method": "animate", "args": [[None], pause]},
                ],
            }
        ],
        "sliders": [
            {
                "active": active,
                "x": 0.2,
                "len": 0.76,
                "y": -0.01,
                "yanchor": "top",
                "pad": {"t": 8},
                "currentvalue": {"visible": False},
                "ticklen": 5,
                "font": {"size": 14},
                "steps": [
                    {
                        "label": f"end of stage {int(result.frame_stage[f]) + 1}" if int(f) in ends else "",
                        "method": "animate",
                        "args": [[str(int(f))], jump],
                    }
                    for f in frames_idx
                ],
            }
        ],
    }


def paper_figure(result: RunResult, models: list[str], height_per_row: int = 250, dark: bool = False) -> go.Figure:
    """The paper's figure: one row per model, one column per stage; regions at each stage's end,
    that stage's training points bold and earlier stages' points faded."""
    if result.grid is None or result.x_train is None:
        raise ValueError("paper_figure: the run has no 2-D decision-boundary grid")
    models = [m for m in models if m in result.models] or list(result.models)
    n, T, G = len(result.class_names), result.num_stages, result.grid.size
    stride = max(1, G // 80)
    xs, ys = grid_axes(result.grid, stride)
    col_titles = [
        f"Stage {t + 1}: classes {', '.join(result.class_names[c] for c in result.stage_classes[t])}" for t in range(T)
    ]
    layout = subplot_layout(
        len(models),
        T,
        column_titles=col_titles,
        row_titles=[MODEL_LABELS.get(m, m) for m in models],
        horizontal_spacing=0.01,
        vertical_spacing=0.02,
    )
    data: list[dict] = []
    for r, m in enumerate(models):
        preds = result.models[m].grid_predictions
        for t in range(T):
            panel = r * T + t
            z = region_ids(preds[int(result.stage_end_frames[t])].reshape(G, G)[::stride, ::stride], n)
            data.append(heatmap_trace(z, xs, ys, n, panel, dark))
            data.extend(_stage_trace(result, s, panel, t, dark=dark) for s in range(t + 1))
    square_axes(layout, result.grid, len(models) * T)
    fig = style(raw_figure(data, layout), height_per_row * len(models) + 70)
    fig.update_annotations(font_size=17)
    return darken(fig) if dark else fig
