"""Key charts: keys in input space with the region each key owns coloured by its value's vote
(animated), key usage per stage, fraction of keys touched, key-set overlap between stages."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from app.charts.boundaries import animation_controls, heatmap_trace, region_image
from app.charts.common import grid_axes, plan_animation, points_colourscale, raw_figure, square_axes, style
from app.charts.palette import NO_CLASS, class_colour, region_ids
from dkvb_core import RunResult
from dkvb_core import analysis as an

PLAY_FROM_START = {"frame": {"duration": 140, "redraw": True}, "transition": {"duration": 0}, "mode": "immediate"}
STAGE_COLOURS = ("#1f6feb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#84cc16", "#ec4899")


def stage_colour(t: int) -> str:
    return STAGE_COLOURS[t % len(STAGE_COLOURS)]


def _need_keys(result: RunResult) -> np.ndarray:
    rec = result.models.get("dkvb")
    if rec is None or rec.value_votes is None or rec.key_usage_stages is None:
        raise ValueError("key charts: the run has no DKVB model (add 'dkvb' to the models)")
    return rec.key_usage_stages


def _key_marker_colours(votes: np.ndarray, n: int) -> np.ndarray:
    """Vote per key as colour index: class id, or n (grey) for an untouched value."""
    return region_ids(votes, n)


def _key_trace(keys: np.ndarray, colours: np.ndarray, n: int) -> dict:
    scale = points_colourscale(n + 1)
    scale = [[p, NO_CLASS if i >= 2 * n else c] for i, (p, c) in enumerate(scale)]
    return {
        "type": "scatter",
        "x": keys[:, 0],
        "y": keys[:, 1],
        "mode": "markers",
        "marker": {
            "color": colours,
            "colorscale": scale,
            "cmin": -0.5,
            "cmax": n + 0.5,
            "size": 13,
            "symbol": "diamond",
            "line": {"width": 1.8, "color": "#111827"},
        },
        "hovertemplate": "key %{pointNumber}<extra></extra>",
        "showlegend": False,
    }


def _title(result: RunResult, f: int, touched: int, total: int) -> str:
    stage = int(result.frame_stage[f])
    return (
        f"<b>Stage {stage + 1} of {result.num_stages}</b> · step {int(result.frame_steps[f]):,}"
        f"   ·   keys with a learned value: <b>{touched} of {total}</b>"
    )


def animated_key_map(result: RunResult, codebook: int = 0, height: int = 620) -> go.Figure:
    """Each grid cell coloured by the class its nearest key's value votes for (grey: value still
    untouched), with the keys drawn as diamonds; frames step through training."""
    _need_keys(result)
    if result.grid is None or result.keys_2d is None or result.grid_key_index is None:
        raise ValueError("animated_key_map: keys can only be drawn for 2-D streams")
    rec = result.models["dkvb"]
    assert rec.value_votes is not None
    n, G = len(result.class_names), result.grid.size
    codebook = int(np.clip(codebook, 0, result.keys_2d.shape[0] - 1))
    frames_idx, stride = plan_animation(result.num_frames, result.stage_end_frames, G, 1)
    votes = an.region_votes(rec.value_votes[frames_idx], result.grid_key_index, codebook)
    regions = region_ids(votes.reshape(len(frames_idx), G, G)[:, ::stride, ::stride], n)
    key_votes = rec.value_votes[frames_idx, codebook, :]
    K = key_votes.shape[1]
    touched = (key_votes < 255).sum(axis=1)
    keys = result.keys_2d[codebook]
    last = len(frames_idx) - 1  # open on the end of the stream; Play replays from the start
    data = [_key_trace(keys, _key_marker_colours(key_votes[last], n), n)]
    frames = [
        {
            "name": str(int(f)),
            "data": [{"type": "scatter", "marker": {"color": _key_marker_colours(key_votes[i], n).tolist()}}],
            "traces": [0],
            "layout": {
                "title": {"text": _title(result, int(f), int(touched[i]), K)},
                "images": [region_image(regions[i], result.grid, stride, n, 0)],
            },
        }
        for i, f in enumerate(frames_idx)
    ]
    layout: dict = {"xaxis": {"domain": [0, 1]}, "yaxis": {"domain": [0, 1]}}
    square_axes(layout, result.grid, 1)
    layout.update(animation_controls(result, frames_idx, active=last))
    layout["updatemenus"][0]["buttons"][0]["args"] = [[str(int(f)) for f in frames_idx], PLAY_FROM_START]
    layout["images"] = [region_image(regions[last], result.grid, stride, n, 0)]
    layout["title"] = {
        "text": _title(result, int(frames_idx[last]), int(touched[last]), K),
        "x": 0.01,
        "font": {"size": 19},
    }
    fig = style(raw_figure(data, layout, frames), height)
    fig.update_layout(margin={"t": 60, "b": 90, "l": 10, "r": 10})
    return fig


def final_key_map(result: RunResult, codebook: int = 0, height: int = 420, title: str = "") -> go.Figure:
    """The key map at the end of the stream (static), for side-by-side comparisons."""
    _need_keys(result)
    if result.grid is None or result.keys_2d is None or result.grid_key_index is None:
        raise ValueError("final_key_map: keys can only be drawn for 2-D streams")
    rec = result.models["dkvb"]
    assert rec.value_votes is not None
    n, G = len(result.class_names), result.grid.size
    xs, ys = grid_axes(result.grid, 1)
    votes = an.region_votes(rec.value_votes[-1:], result.grid_key_index, codebook)[0]
    data = [
        heatmap_trace(region_ids(votes.reshape(G, G), n), xs, ys, n, 0),
        _key_trace(result.keys_2d[codebook], _key_marker_colours(rec.value_votes[-1, codebook], n), n),
    ]
    layout: dict = {"xaxis": {"domain": [0, 1]}, "yaxis": {"domain": [0, 1]}, "title": {"text": title, "x": 0.01}}
    square_axes(layout, result.grid, 1)
    fig = style(raw_figure(data, layout), height)
    fig.update_layout(margin={"t": 70, "b": 10, "l": 10, "r": 10})
    return fig


def key_usage_heatmap(result: RunResult, codebook: int = 0, height: int = 330) -> go.Figure:
    """Fetch counts of each key (columns) in each stage (rows) for one codebook (log colour)."""
    usage = _need_keys(result)[:, codebook, :].astype(np.float64)  # (T, K)
    T, K = usage.shape
    fig = go.Figure(
        go.Heatmap(
            z=np.log10(usage + 1).astype(np.float32),
            x=np.arange(K),
            y=[f"Stage {t + 1}" for t in range(T)],
            customdata=usage.astype(np.int32),
            colorscale="Blues",
            zmin=0,
            colorbar={
                "title": {"text": "fetches"},
                "tickvals": [0, 1, 2, 3, 4],
                "ticktext": ["0", "10", "100", "1k", "10k"],
            },
            hovertemplate="key %{x}, %{y}: %{customdata} fetches<extra></extra>",
            xgap=1 if K <= 128 else 0,
            ygap=2,
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text=f"key of codebook {codebook}")
    fig.update_layout(title={"text": "<b>Key usage</b> per stage", "x": 0.01})
    return style(fig, height)


def touched_fraction_bars(result: RunResult, height: int = 330) -> go.Figure:
    """Share of keys fetched at least once in each stage (averaged over codebooks)."""
    frac = an.fraction_touched_per_stage(_need_keys(result))
    fig = go.Figure(
        go.Bar(
            x=[f"Stage {t + 1}" for t in range(len(frac))],
            y=frac,
            marker_color=[stage_colour(t) for t in range(len(frac))],
            text=[f"{v:.0%}" for v in frac],
            textposition="outside",
            hovertemplate="%{x}: %{y:.1%} of keys touched<extra></extra>",
        )
    )
    fig.update_yaxes(range=[0, 1.15], tickformat=".0%", title_text="keys touched")
    fig.update_layout(title={"text": "<b>Keys touched</b> in each stage", "x": 0.01})
    return style(fig, height)


def overlap_heatmap(result: RunResult, height: int = 330) -> go.Figure:
    """Jaccard overlap of the key sets two stages touched: high overlap = later stages overwrite."""
    o = an.stage_key_overlap(_need_keys(result))
    labels = [f"Stage {t + 1}" for t in range(len(o))]
    fig = go.Figure(
        go.Heatmap(
            z=o,
            x=labels,
            y=labels,
            zmin=0,
            zmax=1,
            colorscale="Reds",
            text=[[f"{v:.0%}" for v in row] for row in o],
            texttemplate="%{text}",
            textfont={"size": 16},
            hovertemplate="%{y} vs %{x}: %{z:.0%} shared keys<extra></extra>",
            colorbar={"tickformat": ".0%"},
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title={"text": "<b>Key-set overlap</b> between stages", "x": 0.01})
    return style(fig, height)


def class_legend_html(result: RunResult) -> str:
    """A one-line legend: coloured class names grouped by stage (markdown with HTML spans)."""
    parts = []
    for t, classes in enumerate(result.stage_classes):
        chips = " ".join(
            f"<span style='color:{class_colour(c)};font-weight:700'>● {html.escape(result.class_names[c])}</span>"
            for c in classes
        )
        parts.append(f"Stage {t + 1}: {chips}")
    return " &nbsp;·&nbsp; ".join(parts)
