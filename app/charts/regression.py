"""Regression charts: each model's prediction curve through the steps (with the true function, the
stages' training points and DKVB's keys on the x axis), the MSE matrices and the forgetting bars.
Pure functions RunResult -> figure; the numbers come from the run and dkvb_core.metrics."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.charts.boundaries import animation_controls
from app.charts.common import raw_figure, style, subsample_frames
from app.charts.palette import MODEL_COLOURS, MODEL_LABELS
from dkvb_core import RunResult
from dkvb_core.analysis import seen_accuracy_per_frame

MAX_FRAMES = 120
STAGE_SHADES = ("#eef2ff", "#fff7ed")
CURRENT_SHADE = "#dbeafe"
KEY_SCALE = "RdBu"


def short(values: np.ndarray) -> list[float]:
    """Numbers for the browser, rounded to 3 decimals (a frame's JSON shrinks ~3x; invisible on screen)."""
    return np.round(np.asarray(values, dtype=np.float64), 3).tolist()


def _models(result: RunResult, models: list[str]) -> list[str]:
    return [m for m in models if m in result.models] or list(result.models)


def stage_ranges(result: RunResult) -> np.ndarray:
    """``(T, 2)`` the x-range of each stage's training inputs."""
    assert result.x_train is not None and result.stage_train is not None
    x = result.x_train[:, 0]
    by_stage = [x[result.stage_train == t] for t in range(result.num_stages)]
    return np.array([[xs.min(), xs.max()] for xs in by_stage])


def y_range(result: RunResult) -> tuple[float, float]:
    """A fixed y-range for every frame: the data and the true curves, plus room for the key ticks below."""
    assert result.y_train is not None
    ys = [result.y_train]
    if result.curve_true is not None:
        ys.append(result.curve_true.ravel())
    lo, hi = float(min(y.min() for y in ys)), float(max(y.max() for y in ys))
    pad = 0.12 * max(hi - lo, 1e-3)
    return lo - 2 * pad, hi + pad


def _shapes(result: RunResult, current: int) -> list[dict]:
    """Each stage's input range shaded (the current stage darker), behind the data; nothing when the
    stages share their inputs (sine tasks), where shading would only cover the plot."""
    ranges = stage_ranges(result)
    order = np.argsort(ranges[:, 0])
    if np.any(ranges[order[1:], 0] < ranges[order[:-1], 1] - 1e-9):
        return []
    out = []
    for t, (a, b) in enumerate(ranges):
        colour = CURRENT_SHADE if t == current else STAGE_SHADES[t % 2]
        out.append(
            {"type": "rect", "xref": "x", "yref": "paper", "x0": float(a), "x1": float(b), "y0": 0, "y1": 1}
            | {"fillcolor": colour, "line": {"width": 0}, "layer": "below", "opacity": 0.8}
        )
    return out


def _points(result: RunResult, stage: int) -> tuple[dict, dict]:
    """The current stage's training points (bold) and earlier stages' (faded)."""
    assert result.x_train is not None and result.y_train is not None and result.stage_train is not None
    x, y, s = result.x_train[:, 0], result.y_train, result.stage_train
    past, now = s < stage, s == stage
    return (
        {"type": "scatter", "x": short(x[past]), "y": short(y[past])},
        {"type": "scatter", "x": short(x[now]), "y": short(y[now])},
    )


def _truth(result: RunResult, stage: int) -> dict:
    if result.curve_true is None or result.curve_x is None:
        return {"type": "scatter", "x": [], "y": []}
    return {"type": "scatter", "x": short(result.curve_x), "y": short(result.curve_true[stage])}


def _key_ticks(result: RunResult, f: int, y0: float) -> dict | None:
    """DKVB's keys as ticks on the x axis, coloured by their (scalar) value at frame ``f``."""
    rec = result.models.get("dkvb")
    if rec is None or rec.value_frames is None or result.keys_2d is None or result.keys_2d.shape[-1] != 1:
        return None
    x = result.keys_2d[..., 0].ravel()
    return {
        "type": "scatter",
        "x": short(x),
        "y": [round(y0, 3)] * len(x),
        "marker": {"color": short(rec.value_frames[f].ravel())},
    }


def frame_title(result: RunResult, f: int, seen_mse: dict[str, np.ndarray]) -> str:
    """'Stage 2 of 5 · step 1,500 of 5,000' and each model's test MSE on the stages seen so far."""
    stage, total = int(result.frame_stage[f]), int(result.frame_steps[-1])
    scores = "    ".join(f"{MODEL_LABELS.get(m, m)} <b>{v[f]:.3f}</b>" for m, v in seen_mse.items())
    return (
        f"<b>Stage {stage + 1} of {result.num_stages}</b> · step {int(result.frame_steps[f]):,} of {total:,}"
        f"<br><span style='font-size:15px'>test MSE on the stages seen so far (lower is better):   {scores}</span>"
    )


def _frame_data(result: RunResult, models: list[str], f: int, y0: float) -> list[dict]:
    stage = int(result.frame_stage[f])
    past, now = _points(result, stage)
    assert result.curve_x is not None
    curves = [
        {"type": "scatter", "x": short(result.curve_x), "y": short(result.models[m].curve_predictions[f])}
        for m in models
    ]
    ticks = _key_ticks(result, f, y0)
    return [_truth(result, stage), past, now, *curves, *([ticks] if ticks else [])]


def _styled(data: list[dict], result: RunResult, models: list[str]) -> list[dict]:
    """Names, colours and markers of the first frame's traces (frames only change x, y and colours)."""
    data[0].update(name="true function", mode="lines", line={"color": "#111827", "dash": "dash", "width": 2.5})
    data[1].update(name="earlier stages", mode="markers", marker={"color": "#9ca3af", "size": 5, "opacity": 0.35})
    data[2].update(name="current stage", mode="markers", marker={"color": "#111827", "size": 7, "opacity": 0.9})
    for k, m in enumerate(models):
        data[3 + k].update(name=MODEL_LABELS.get(m, m), mode="lines", line={"color": MODEL_COLOURS.get(m), "width": 3})
    if len(data) > 3 + len(models):
        vmax = float(np.abs(result.y_train).max()) if result.y_train is not None else 1.0
        data[-1].update(
            name="DKVB keys (colour: value)",
            mode="markers",
            hovertemplate="key at x=%{x:.2f}, value %{marker.color:.2f}<extra></extra>",
        )
        data[-1]["marker"].update(
            symbol="line-ns-open",
            size=16,
            line={"width": 2},
            colorscale=KEY_SCALE,
            cmin=-vmax,
            cmax=vmax,
            colorbar={"title": {"text": "key value"}, "len": 0.5, "y": 0.25, "thickness": 14},
        )
    return data


def prediction_animation(result: RunResult, models: list[str], height: int = 560) -> go.Figure:
    """Every model's prediction over x, frame by frame, with Play/Pause and a scrubber (stage ends marked)."""
    if result.curve_x is None or result.x_train is None:
        raise ValueError("prediction_animation: the run is not a 1-D regression run")
    models = [m for m in _models(result, models) if result.models[m].curve_predictions is not None]
    frames_idx = subsample_frames(result.num_frames, result.stage_end_frames, MAX_FRAMES)
    lo, hi = y_range(result)
    y0 = lo + 0.04 * (hi - lo)
    seen = {m: seen_accuracy_per_frame(result.models[m].stage_mse, result.frame_stage) for m in models}
    first = int(frames_idx[0])
    data = _styled(_frame_data(result, models, first, y0), result, models)
    frames = [
        {
            "name": str(int(f)),
            "data": _frame_data(result, models, int(f), y0),
            "traces": list(range(len(data))),
            "layout": {
                "title": {"text": frame_title(result, int(f), seen)},
                "shapes": _shapes(result, int(result.frame_stage[f])),
            },
        }
        for f in frames_idx
    ]
    layout = {
        "xaxis": {"title": {"text": "x"}, "range": [float(result.curve_x.min()), float(result.curve_x.max())]},
        "yaxis": {"title": {"text": "y"}, "range": [lo, hi]},
        "shapes": _shapes(result, int(result.frame_stage[first])),
        "title": {"text": frame_title(result, first, seen), "x": 0.01, "y": 0.97, "font": {"size": 21}},
        "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        **animation_controls(result, frames_idx),
    }
    for control in (*layout["updatemenus"], *layout["sliders"]):  # below the x axis and its title
        control["y"] = -0.16
    fig = style(raw_figure(data, layout, frames), height)
    fig.update_layout(margin={"t": 140, "b": 110, "l": 60, "r": 10}, legend={"font": {"size": 14}})
    return fig


def mse_matrices(result: RunResult, models: list[str], height: int = 360) -> go.Figure:
    """E[i, j] per model: test MSE on stage j after training through stage i (lower is better)."""
    models = _models(result, models)
    T = result.num_stages
    mats = {m: result.mse_matrix(m) for m in models}
    zmax = float(np.quantile(np.concatenate([E.ravel() for E in mats.values()]), 0.95)) or 1.0
    fig = make_subplots(
        rows=1, cols=len(models), subplot_titles=[MODEL_LABELS.get(m, m) for m in models], horizontal_spacing=0.03
    )
    labels = [f"S{t + 1}" for t in range(T)]
    for k, E in enumerate(mats.values(), start=1):
        fig.add_trace(
            go.Heatmap(
                z=E,
                x=labels,
                y=labels,
                zmin=0,
                zmax=zmax,
                colorscale="Reds",
                showscale=k == len(models),
                text=[[f"{v:.2f}" for v in row] for row in E],
                texttemplate="%{text}",
                textfont={"size": 13 if T <= 6 else 9},
                hovertemplate="after stage %{y}, test MSE on stage %{x}: %{z:.3f}<extra></extra>",
                colorbar={"title": {"text": "MSE"}},
            ),
            row=1,
            col=k,
        )
        fig.update_xaxes(title_text="tested on stage", row=1, col=k)
        fig.update_yaxes(
            autorange="reversed", row=1, col=k, title_text="after stage" if k == 1 else None, showticklabels=k == 1
        )
    fig.update_annotations(font_size=17)
    return style(fig, height)


def forgetting_bars(result: RunResult, models: list[str], height: int = 340) -> go.Figure:
    """Per model: final test MSE over all stages and MSE forgetting (both lower is better)."""
    models = _models(result, models)
    s = result.summaries()
    labels = [MODEL_LABELS.get(m, m) for m in models]
    fig = go.Figure()
    for key, name, colour in (
        ("final_mse_lower_is_better", "final test MSE, all stages", "#6b7280"),
        ("forgetting_mse_lower_is_better", "forgetting (rise of old stages' MSE)", "#d62728"),
    ):
        vals = [s[m][key] for m in models]
        text = [f"{v:.3f}" for v in vals]
        fig.add_bar(
            x=labels, y=vals, name=name, marker_color=colour, text=text, textposition="outside", textfont={"size": 12}
        )
    values = [s[m][k] for m in models for k in ("final_mse_lower_is_better", "forgetting_mse_lower_is_better")]
    finite = [v for v in values if np.isfinite(v)] or [1.0]
    lo, top = min(0.0, *finite), max(finite)
    fig.update_layout(
        barmode="group",
        yaxis={"title": {"text": "MSE (lower is better)"}, "range": [1.18 * lo, 1.18 * top if top > 0 else 1]},
        legend={"orientation": "h", "y": 1.12},
    )
    return style(fig, height)
