"""Sweep charts: a heatmap over two swept fields and lines over one, mean ± std across seeds.

Pure functions of the sweep tables (:func:`dkvb_core.sweep.summary_frame` rows, one per config,
with ``<model>/<metric>_mean`` and ``_std`` columns; runs rows, one per config-seed).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.charts.common import style
from app.charts.palette import MODEL_COLOURS, MODEL_LABELS, class_colour, hex_rgb

METRIC_LABELS = {
    "average_accuracy": "final average accuracy",
    "forgetting": "forgetting",
    "bwt": "backward transfer",
    "online_accuracy": "online accuracy",
    "online_accuracy_pretrain_mode": "online accuracy, pre-training mode",
    "online_accuracy_ood": "online accuracy, out-of-distribution modes",
    "recovery_gap": "recovery of returning tasks (first k minus before)",
    "seconds": "training seconds",
}
# Fixed colour ranges so two sweeps' heatmaps compare at a glance; None: the data's range.
METRIC_RANGES: dict[str, tuple[float, float] | None] = {
    "average_accuracy": (0.0, 1.0),
    "online_accuracy": (0.0, 1.0),
    "online_accuracy_pretrain_mode": (0.0, 1.0),
    "online_accuracy_ood": (0.0, 1.0),
    "recovery_gap": (-1.0, 1.0),
    "forgetting": (0.0, 1.0),
    "bwt": (-1.0, 0.0),
    "seconds": None,
}
LOWER_IS_BETTER = {"forgetting", "seconds"}


def metric_options(summary: pd.DataFrame) -> list[str]:
    """The ``model/metric`` names that have a mean column, models in table order."""
    return [c.removesuffix("_mean") for c in summary.columns if "/" in c and c.endswith("_mean")]


def metric_label(metric: str) -> str:
    """``dkvb/forgetting`` -> ``DKVB · forgetting``."""
    model, _, name = metric.partition("/")
    return f"{MODEL_LABELS.get(model, model)} · {METRIC_LABELS.get(name, name.replace('_', ' '))}"


def axis_values(table: pd.DataFrame, axis: str) -> list[Any]:
    """The distinct values of a swept field, sorted (numbers numerically), as they appear."""
    values = pd.unique(table[axis])
    try:
        return sorted(values.tolist())
    except TypeError:
        return values.tolist()


def slice_rows(table: pd.DataFrame, fixed: dict[str, Any]) -> pd.DataFrame:
    """Rows where every field in ``fixed`` has its given value (the other axes held still)."""
    mask = np.ones(len(table), dtype=bool)
    for axis, value in fixed.items():
        mask &= (table[axis] == value).to_numpy()
    return table[mask]


def fmt_value(value: Any) -> str:
    """Axis tick text: short numbers, names as they are."""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def fmt_mean_std(mean: float, std: float, seeds: int) -> str:
    if seeds < 2 or not math.isfinite(std):
        return f"{mean:.3g}"
    return f"{mean:.3g} ± {std:.2g}"


@dataclass(frozen=True)
class HeatmapData:
    """Cells of a heatmap: ``mean[i, j]`` at ``y_values[i]``, ``x_values[j]`` (NaN: not run)."""

    x_values: list[Any]
    y_values: list[Any]
    mean: np.ndarray
    std: np.ndarray
    seeds: np.ndarray
    config_ids: np.ndarray  # object array of config ids ("" where not run)


def heatmap_data(summary: pd.DataFrame, x: str, y: str, metric: str) -> HeatmapData:
    """The ``metric`` mean and std over seeds on the ``y`` x ``x`` grid of a (sliced) summary.

    Raises ``ValueError`` if two configs share a cell (another swept field was not fixed).
    """
    xs, ys = axis_values(summary, x), axis_values(summary, y)
    shape = (len(ys), len(xs))
    mean, std = np.full(shape, np.nan), np.full(shape, np.nan)
    seeds = np.zeros(shape, dtype=int)
    ids = np.full(shape, "", dtype=object)
    for row in summary.to_dict("records"):
        i, j = ys.index(row[y]), xs.index(row[x])
        if ids[i, j]:
            raise ValueError(f"two configs at {y}={ys[i]}, {x}={xs[j]}: fix the other swept fields first")
        mean[i, j] = row[f"{metric}_mean"]
        std[i, j] = row[f"{metric}_std"]
        seeds[i, j] = row["seeds"]
        ids[i, j] = row["config_id"]
    return HeatmapData(xs, ys, mean, std, seeds, ids)


def heatmap_figure(summary: pd.DataFrame, x: str, y: str, metric: str, height: int = 480) -> go.Figure:
    """Heatmap of ``metric`` (mean over seeds, "mean ± std" written in each cell) over ``x`` and ``y``.

    Axes are categorical (each swept value one column), so 4, 16, 64 keys are evenly spaced.
    ``customdata`` holds each cell's config id, for picking a cell.
    """
    data = heatmap_data(summary, x, y, metric)
    name = metric.partition("/")[2]
    zrange = METRIC_RANGES.get(name)
    text = [
        [
            "" if not np.isfinite(data.mean[i, j]) else fmt_mean_std(data.mean[i, j], data.std[i, j], data.seeds[i, j])
            for j in range(len(data.x_values))
        ]
        for i in range(len(data.y_values))
    ]
    scale = "Viridis_r" if name in LOWER_IS_BETTER else "Viridis"
    trace = go.Heatmap(
        z=data.mean,
        x=[fmt_value(v) for v in data.x_values],
        y=[fmt_value(v) for v in data.y_values],
        text=text,
        texttemplate="%{text}",
        textfont={"size": 15},
        customdata=data.config_ids,
        colorscale=scale,
        zmin=zrange[0] if zrange else None,
        zmax=zrange[1] if zrange else None,
        colorbar={"title": {"text": METRIC_LABELS.get(name, name)}},
        hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{metric_label(metric)}: %{{text}}<extra></extra>",
        xgap=2,
        ygap=2,
    )
    fig = go.Figure([trace, _cell_picker(data)])
    fig.update_xaxes(title_text=x, type="category")
    fig.update_yaxes(title_text=y, type="category")
    fig.update_layout(title={"text": f"{metric_label(metric)} (mean over seeds)"})
    return style(fig, height)


def _cell_picker(data: HeatmapData) -> go.Scatter:
    """Invisible markers on the cells that were run: heatmaps emit no selection events, markers do,
    so a click on a cell selects its marker (``customdata``: the config id)."""
    xs, ys, ids = [], [], []
    for i, yv in enumerate(data.y_values):
        for j, xv in enumerate(data.x_values):
            if data.config_ids[i, j]:
                xs.append(fmt_value(xv))
                ys.append(fmt_value(yv))
                ids.append(data.config_ids[i, j])
    return go.Scatter(
        x=xs,
        y=ys,
        customdata=ids,
        mode="markers",
        marker={"size": 40, "opacity": 0, "symbol": "square"},
        hoverinfo="none",
        showlegend=False,
        name="pick a cell",
    )


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def use_log_x(values: list[Any]) -> bool:
    """Log scale for positive numbers spanning more than a factor of 10 (learning rates, keys)."""
    return _numeric(values) and len(values) > 1 and min(values) > 0 and max(values) / min(values) > 10


def line_figure(
    summary: pd.DataFrame,
    runs: pd.DataFrame,
    x: str,
    metrics: list[str],
    group: str | None = None,
    height: int = 440,
) -> go.Figure:
    """``metrics`` over ``x``: a line of means, a band of ± one std and each seed's point.

    One line per metric (e.g. the same metric of each model), or, with ``group`` (another swept
    field), one line per value of it for the first metric. Three traces per line: band, mean, seeds.
    """
    fig = go.Figure()
    lines: list[tuple[str, str, pd.DataFrame, pd.DataFrame, str]] = []
    if group is None:
        for m in metrics:
            model = m.partition("/")[0]
            lines.append((metric_label(m), m, summary, runs, MODEL_COLOURS.get(model, "#444444")))
    else:
        for k, value in enumerate(axis_values(summary, group)):
            lines.append(
                (
                    f"{group}={fmt_value(value)}",
                    metrics[0],
                    slice_rows(summary, {group: value}),
                    slice_rows(runs, {group: value}),
                    class_colour(k),
                )
            )
    xs_all = axis_values(summary, x)
    numeric = _numeric(xs_all)
    for label, m, rows, seed_rows, colour in lines:
        rows = rows.sort_values(x) if numeric else rows
        xs = rows[x].tolist() if numeric else [fmt_value(v) for v in rows[x]]
        mean = rows[f"{m}_mean"].to_numpy(dtype=float)
        std = np.nan_to_num(rows[f"{m}_std"].to_numpy(dtype=float))
        fig.add_trace(
            go.Scatter(
                x=xs + xs[::-1],
                y=np.concatenate([mean + std, (mean - std)[::-1]]),
                fill="toself",
                fillcolor=_alpha(colour, 0.18),
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                name=f"{label} ± std",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=xs, y=mean, mode="lines+markers", name=label, line={"color": colour, "width": 3}, marker={"size": 8}
            )
        )
        sx = seed_rows[x].tolist() if numeric else [fmt_value(v) for v in seed_rows[x]]
        fig.add_trace(
            go.Scatter(
                x=sx,
                y=seed_rows[m].to_numpy(dtype=float),
                mode="markers",
                name=f"{label}: seeds",
                marker={"color": colour, "size": 6, "opacity": 0.5, "symbol": "circle-open"},
                showlegend=False,
                customdata=seed_rows["seed"].to_numpy(),
                hovertemplate="seed %{customdata}: %{y:.3g}<extra></extra>",
            )
        )
    name = metrics[0].partition("/")[2]
    fig.update_xaxes(title_text=x, type="log" if use_log_x(xs_all) else ("linear" if numeric else "category"))
    title = METRIC_LABELS.get(name, name) if group is None else metric_label(metrics[0])
    fig.update_yaxes(title_text=title)
    zrange = METRIC_RANGES.get(name)
    if zrange:
        fig.update_yaxes(range=[zrange[0] - 0.03, zrange[1] + 0.03])
    fig.update_layout(title={"text": f"{title} over {x} (line: mean; band: ± std over seeds; rings: seeds)"})
    return style(fig, height)


def _alpha(hex_colour: str, a: float) -> str:
    r, g, b = hex_rgb(hex_colour)
    return f"rgba({r},{g},{b},{a})"


def cell_label(row: pd.Series, axes: list[str], metric: str) -> str:
    """One config of the summary as a choice: its swept values and the metric's mean ± std."""
    parts = ", ".join(f"{a}={fmt_value(row[a])}" for a in axes)
    return f"{parts}: {fmt_mean_std(row[f'{metric}_mean'], row[f'{metric}_std'], int(row['seeds']))}"


def config_of_row(row: pd.Series) -> dict[str, Any]:
    """The config dict of a summary row (stored as canonical JSON)."""
    return json.loads(row["config"])


def config_at(summary: pd.DataFrame, x: str, y: str, x_text: Any, y_text: Any) -> str | None:
    """The config id of the heatmap cell whose tick texts are ``x_text``, ``y_text`` (a click)."""
    for row in summary.to_dict("records"):
        if fmt_value(row[x]) == str(x_text) and fmt_value(row[y]) == str(y_text):
            return str(row["config_id"])
    return None
