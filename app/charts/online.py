"""Charts of an online run (OSAKA): the timeline of segments, windowed and cumulative online accuracy,
recovery of returning tasks, and the decision regions animated along the timeline (2-D streams).

Pure functions ``RunResult -> figure``; the numbers come from :mod:`dkvb_core.online_analysis`.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app.charts.boundaries import animation_controls, region_image
from app.charts.common import grid_frames, plan_animation, raw_figure, square_axes, style, subplot_layout
from app.charts.palette import MODEL_COLOURS, MODEL_LABELS, class_colour, region_ids
from dkvb_core import RunResult
from dkvb_core import online_analysis as oa

MODE_COLOURS = ("#64748b", "#f59e0b", "#8b5cf6", "#10b981", "#ef4444", "#0ea5e9", "#a16207", "#db2777")
PRETRAIN_COLOUR = "#e5e7eb"
FADED = "#c4c4c4"
MAX_SWITCH_LINES = 400
POINTS_PER_CLASS = 40


def _log(result: RunResult):
    if result.online is None:
        raise ValueError("online charts: the run is not an online run (online.enabled is off)")
    return result.online


def _models(result: RunResult, models: list[str]) -> list[str]:
    return [m for m in models if m in result.models] or list(result.models)


def mode_colour(m: int) -> str:
    return MODE_COLOURS[m % len(MODE_COLOURS)]


def timeline(result: RunResult, height: int = 210) -> go.Figure:
    """Two bands along the steps: the mode of each segment and its task (one colour a task); a
    triangle over each returning task's first step; pre-training in grey at the start."""
    log = _log(result)
    seg, names = oa.segments(log), oa.mode_names(log)
    pre = log.pretrain_steps
    data: list[dict] = []
    if pre:
        for row in ("mode", "task"):
            data.append(
                _bar(
                    [0],
                    [pre],
                    row,
                    PRETRAIN_COLOUR,
                    "pre-training phase (i.i.d.)",
                    row == "mode",
                    ["pre-training phase"],
                )
            )
    length = seg.stop - seg.start
    for m in range(log.num_modes):
        pick = seg.mode == m
        data.append(_bar(seg.start[pick], length[pick], "mode", mode_colour(m), names[m], True, None))
    hover = [f"task {oa.task_label(log, int(t), result.class_names)}" for t in seg.task]
    colours = [class_colour(int(t)) for t in seg.task]
    data.append(_bar(seg.start, length, "task", colours, "task", False, hover))
    back = seg.returning
    data.append(
        {
            "type": "scatter",
            "x": seg.start[back],
            "y": ["returns"] * int(back.sum()),
            "mode": "markers",
            "marker": {"symbol": "triangle-down", "size": 11, "color": "#111827"},
            "name": "a task returns",
            "hovertext": [h for h, b in zip(hover, back, strict=True) if b],
            "hoverinfo": "text+x",
        }
    )
    layout = {
        "barmode": "overlay",
        "xaxis": {"title": {"text": "step"}, "range": [0, int(seg.stop[-1])], "showgrid": False},
        "yaxis": {"categoryorder": "array", "categoryarray": ["task", "mode", "returns"], "fixedrange": True},
        "legend": {"orientation": "h", "y": 1.25, "x": 0},
        "bargap": 0.15,
    }
    fig = style(raw_figure(data, layout), height)
    fig.update_layout(margin={"t": 50, "b": 45, "l": 70, "r": 10})
    return fig


def _bar(start, length, row: str, colour, name: str, legend: bool, hover) -> dict:
    n = len(length)
    return {
        "type": "bar",
        "orientation": "h",
        "base": list(np.asarray(start).tolist()),
        "x": list(np.asarray(length).tolist()),
        "y": [row] * n,
        "marker": {"color": colour, "line": {"width": 0}},
        "name": name,
        "showlegend": legend,
        "hovertext": hover,
        "hoverinfo": "text+x" if hover is not None else "name+x",
    }


def _switch_shapes(result: RunResult) -> list[dict]:
    """Light vertical lines at the switches and a shaded pre-training phase."""
    log = _log(result)
    seg = oa.segments(log)
    shapes = []
    if log.pretrain_steps:
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": 0,
                "x1": log.pretrain_steps,
                "y0": 0,
                "y1": 1,
                "fillcolor": PRETRAIN_COLOUR,
                "opacity": 0.6,
                "line": {"width": 0},
                "layer": "below",
            }
        )
    if len(seg.start) <= MAX_SWITCH_LINES:
        for s, back in zip(seg.start[1:], seg.returning[1:], strict=True):
            colour = "#6b7280" if back else "#d1d5db"
            shapes.append(_vline(int(s), colour))
    return shapes


def _vline(x: int, colour: str) -> dict:
    return {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": x,
        "x1": x,
        "y0": 0,
        "y1": 1,
        "line": {"color": colour, "width": 1},
        "layer": "below",
    }


def windowed_accuracy(result: RunResult, models: list[str], height: int = 360) -> go.Figure:
    """Online accuracy over the last ``online.window`` steps, a line a model; switches drawn (darker:
    a returning task), pre-training shaded."""
    data = []
    for m in _models(result, models):
        c = oa.curves(result, m)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": c.steps,
                "y": c.windowed,
                "name": MODEL_LABELS.get(m, m),
                "line": {"color": MODEL_COLOURS.get(m, "#333"), "width": 2.5},
            }
        )
    layout = {
        "xaxis": {"title": {"text": "step"}, "range": [0, result.config.online.total_steps]},
        "yaxis": {"title": {"text": "online accuracy"}, "range": [0, 1.02], "tickformat": ".0%"},
        "shapes": _switch_shapes(result),
        "legend": {"orientation": "h", "y": 1.12, "x": 0},
    }
    return style(raw_figure(data, layout), height)


def cumulative_bars(result: RunResult, models: list[str], height: int = 360) -> go.Figure:
    """Cumulative online accuracy over the whole stream and over each mode's steps, a bar group a model."""
    log = _log(result)
    groups = ["whole<br>stream", *(n.replace(" mode", "<br>mode") for n in oa.mode_names(log))]
    data = []
    for m in _models(result, models):
        s = result.summary(m)
        values = [s["online_accuracy"], *s["online_accuracy_per_mode"]]
        data.append(
            {
                "type": "bar",
                "x": groups,
                "y": [np.nan if v is None else v for v in values],
                "name": MODEL_LABELS.get(m, m),
                "marker": {"color": MODEL_COLOURS.get(m, "#333")},
                "text": ["–" if v is None else f"{v:.0%}" for v in values],
                "textposition": "outside",
                "textfont": {"size": 12},
            }
        )
    layout = {
        "barmode": "group",
        "yaxis": {"title": {"text": "cumulative online accuracy"}, "range": [0, 1.12], "tickformat": ".0%"},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
    }
    fig = style(raw_figure(data, layout), height)
    fig.update_layout(margin={"t": 90})
    return fig


def recovery_bars(result: RunResult, models: list[str], height: int = 340) -> go.Figure:
    """Per model: accuracy at the end of a task's previous segment vs on its first k batches back."""
    k = result.config.online.recovery_k
    labels, before, after, counts = [], [], [], []
    for m in _models(result, models):
        s = result.summary(m)
        if s["returns"] == 0:
            continue
        labels.append(MODEL_LABELS.get(m, m))
        before.append(s["recovery_before"])
        after.append(s["recovery_first_k"])
        counts.append(s["returns"])
    data = [
        _recovery_trace(labels, before, "end of its previous segment", "#9ca3af"),
        _recovery_trace(labels, after, f"first {k} batches after it returns", "#1f2937"),
    ]
    layout = {
        "barmode": "group",
        "yaxis": {"title": {"text": "online accuracy"}, "range": [0, 1.12], "tickformat": ".0%"},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        "xaxis": {"title": {"text": f"mean over {counts[0] if counts else 0} returns of a task"}},
    }
    fig = style(raw_figure(data, layout), height)
    fig.update_layout(margin={"t": 90})
    return fig


def _recovery_trace(labels: list[str], values: list[float], name: str, colour: str) -> dict:
    return {
        "type": "bar",
        "x": labels,
        "y": values,
        "name": name,
        "marker": {"color": colour},
        "text": [f"{v:.0%}" for v in values],
        "textposition": "outside",
    }


def _frame_classes(result: RunResult, step: int) -> tuple[np.ndarray, int]:
    """Classes highlighted after ``step`` steps (the task being trained; pre-training: mode 0) and its task id."""
    log = _log(result)
    if step <= log.pretrain_steps:
        return np.asarray(log.mode_classes[0]), -1
    task = int(log.task[step - 1])
    return log.task_classes[task].astype(np.int64), task


def _point_sample(result: RunResult) -> np.ndarray:
    """At most ``POINTS_PER_CLASS`` training points a class (the same ones every frame)."""
    assert result.y_train is not None
    rng = np.random.default_rng(0)
    picks = [rng.permutation(np.flatnonzero(result.y_train == c))[:POINTS_PER_CLASS] for c in np.unique(result.y_train)]
    return np.sort(np.concatenate(picks))


def _highlight(result: RunResult, rows: np.ndarray, classes: np.ndarray, task: int) -> dict:
    """The current task's points: class colours (global labels) or their labels' colours (task-local)."""
    assert result.x_train is not None and result.y_train is not None
    y = result.y_train[rows]
    keep = np.isin(y, classes)
    local = _log(result).labels == "task_local"
    if local and task < 0:
        colours = ["#374151"] * int(keep.sum())  # task-local pre-training: a fresh task every batch
    elif local:
        colours = [class_colour(int(np.flatnonzero(classes == c)[0])) for c in y[keep]]
    else:
        colours = [class_colour(int(c)) for c in y[keep]]
    xy = result.x_train[rows[keep]]
    return {"x": xy[:, 0], "y": xy[:, 1], "marker": {"color": colours, "size": 8}}


def frame_title(result: RunResult, step: int, scores: dict[str, float]) -> str:
    """'Step 1,240 of 2,200 · OoD 1 · task 5, 7 (returning)' and each model's windowed accuracy."""
    log = _log(result)
    total = result.config.online.total_steps
    if step <= log.pretrain_steps:
        where = "pre-training phase (i.i.d. batches of the pre-training mode)"
    else:
        seg = oa.segments(log)
        task = int(log.task[step - 1])
        i = int(np.searchsorted(seg.start, step - 1, side="right") - 1)
        back = " (returning)" if seg.returning[i] else ""
        where = (
            f"{oa.mode_names(log)[int(log.mode[step - 1])]} · task {oa.task_label(log, task, result.class_names)}{back}"
        )
    text = "    ".join(
        f"{MODEL_LABELS.get(m, m)} <b>{'–' if np.isnan(v) else f'{v:.0%}'}</b>" for m, v in scores.items()
    )
    return (
        f"<b>Step {step:,} of {total:,}</b> · {where}"
        f"<br><span style='font-size:15px'>online accuracy, last {result.config.online.window} steps:   {text}</span>"
    )


def animated_regions(result: RunResult, models: list[str], height: int = 560) -> go.Figure:
    """One panel a model: its decision regions along the timeline, the current task's points bold and
    coloured, every other class's points faded grey. Task-local labels colour regions by label 0..n_way-1."""
    if result.grid is None or result.x_train is None:
        raise ValueError("animated_regions: the run has no 2-D decision-boundary grid")
    log = _log(result)
    models = _models(result, models)
    n_colours = result.config.online.n_way if log.labels == "task_local" else len(result.class_names)
    G = result.grid.size
    frames_idx, stride = plan_animation(result.num_frames, np.zeros(0, int), G, len(models))
    regions = {
        m: region_ids(grid_frames(result.models[m].grid_predictions[frames_idx], G, stride), n_colours) for m in models
    }
    steps = result.frame_steps[frames_idx].astype(np.int64)
    scores = {m: oa.windowed_at(result, m, steps) for m in models}
    rows = _point_sample(result)

    def images(i: int) -> list[dict]:
        return [region_image(regions[m][i], result.grid, stride, n_colours, k) for k, m in enumerate(models)]

    def title(i: int) -> str:
        return frame_title(result, int(steps[i]), {m: float(scores[m][i]) for m in models})

    data: list[dict] = []
    first = _highlight(result, rows, *_frame_classes(result, int(steps[0])))
    for k in range(len(models)):
        xa, ya = ("x", "y") if k == 0 else (f"x{k + 1}", f"y{k + 1}")
        faded = result.x_train[rows]
        data.append(_points(faded[:, 0], faded[:, 1], {"color": FADED, "size": 5, "opacity": 0.55}, xa, ya, "other"))
        data.append(_points(first["x"], first["y"], first["marker"], xa, ya, "current task"))
    frames = []
    for i in range(len(frames_idx)):
        h = _highlight(result, rows, *_frame_classes(result, int(steps[i])))
        frames.append(
            {
                "name": str(int(frames_idx[i])),
                "data": [{"type": "scatter", **h} for _ in models],
                "traces": [2 * k + 1 for k in range(len(models))],
                "layout": {"title": {"text": title(i)}, "images": images(i)},
            }
        )
    layout = subplot_layout(
        1, len(models), subplot_titles=[MODEL_LABELS.get(m, m) for m in models], horizontal_spacing=0.015
    )
    square_axes(layout, result.grid, len(models))
    layout.update(_controls(result, frames_idx, steps))
    layout["images"] = images(0)
    layout["title"] = {"text": title(0), "x": 0.01, "y": 0.97, "font": {"size": 20}}
    fig = style(raw_figure(data, layout, frames), height)
    fig.update_layout(margin={"t": 120, "b": 90, "l": 10, "r": 10})
    fig.update_annotations(font_size=19)
    return fig


def _points(x, y, marker: dict, xa: str, ya: str, name: str) -> dict:
    return {
        "type": "scatter",
        "x": x,
        "y": y,
        "mode": "markers",
        "marker": {"line": {"width": 0.5, "color": "#1f2937"}, **marker},
        "hoverinfo": "skip",
        "showlegend": False,
        "name": name,
        "xaxis": xa,
        "yaxis": ya,
    }


def _controls(result: RunResult, frames_idx: np.ndarray, steps: np.ndarray) -> dict:
    """Play/Pause and a scrubber whose ticks are labelled with the step (plotly thins crowded labels)."""
    controls = animation_controls(result, frames_idx)
    for i, step in enumerate(controls["sliders"][0]["steps"]):
        step["label"] = f"{int(steps[i]):,}"
    return controls
