"""The Embeddings page's own figure: the 2-D PCA view of N-d features, animated through the stage ends.

One panel per model: the held-out samples coloured by the class the model predicts after each stage (grey:
no class), DKVB's panel with the keys of one codebook on top (diamonds coloured by their value's vote, sized by
how often the stage fetched them). The other charts of the page are the Images page's (app/charts/images.py).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app.charts.boundaries import animation_controls
from app.charts.common import axis_ref, raw_figure, style, subplot_layout
from app.charts.palette import MODEL_LABELS, NO_CLASS_ID, class_colour
from dkvb_core import metrics
from dkvb_core.embedding_view import PCAView
from dkvb_core.result import RunResult

NONE_COLOUR = "#bdbdbd"
STAGE_MS = 900
MAX_LEGEND_CLASSES = 20


def prediction_scale(num_classes: int) -> list[list[float | str]]:
    """A stepwise colour scale for ids 0..n where id n means "no class" (grey)."""
    colours = [*(class_colour(c) for c in range(num_classes)), NONE_COLOUR]
    n = len(colours)
    return [pair for i, c in enumerate(colours) for pair in ([i / n, c], [(i + 1) / n, c])]


def colour_ids(pred: np.ndarray, num_classes: int) -> list[int]:
    """Predicted classes as colour ids: "no class" (255) -> n."""
    p = np.asarray(pred, dtype=np.int64)
    return np.where((p == NO_CLASS_ID) | (p >= num_classes), num_classes, p).tolist()


def _points(view: PCAView, model: str, t: int, n_classes: int, panel: int) -> dict:
    xa, ya = axis_ref(panel)
    return {
        "type": "scattergl" if len(view.points) > 1500 else "scatter",
        "x": np.round(view.points[:, 0], 4).tolist(),
        "y": np.round(view.points[:, 1], 4).tolist(),
        "mode": "markers",
        "marker": {
            "color": colour_ids(view.predictions[model][t], n_classes),
            "colorscale": prediction_scale(n_classes),
            "cmin": -0.5,
            "cmax": n_classes + 0.5,
            "size": 6,
            "opacity": 0.85,
        },
        "hoverinfo": "skip",
        "showlegend": False,
        "name": MODEL_LABELS.get(model, model),
        "xaxis": xa,
        "yaxis": ya,
    }


def _keys(view: PCAView, t: int, n_classes: int, panel: int) -> dict:
    assert view.keys is not None and view.key_votes is not None
    ok = np.isfinite(view.keys[:, 0])
    usage = view.key_usage[t][ok] if view.key_usage is not None else np.zeros(int(ok.sum()))
    size = 4 + 9 * np.sqrt(usage / max(float(usage.max()), 1.0))  # keys the stage did not fetch stay small
    xa, ya = axis_ref(panel)
    return {
        "type": "scatter",
        "x": np.round(view.keys[ok, 0], 4).tolist(),
        "y": np.round(view.keys[ok, 1], 4).tolist(),
        "mode": "markers",
        "marker": {
            "symbol": "diamond",
            "color": colour_ids(view.key_votes[t][ok], n_classes),
            "colorscale": prediction_scale(n_classes),
            "cmin": -0.5,
            "cmax": n_classes + 0.5,
            "size": np.round(size, 1).tolist(),
            "opacity": 0.9,
            "line": {"width": 0.7, "color": "#111827"},
        },
        "customdata": np.flatnonzero(ok).tolist(),
        "hovertemplate": "key %{customdata}<extra></extra>",
        "showlegend": False,
        "name": f"keys of codebook {view.codebook}",
        "xaxis": xa,
        "yaxis": ya,
    }


def _title(result: RunResult, models: list[str], t: int) -> str:
    seen = {m: metrics.average_accuracy_seen(result.accuracy_matrix(m))[t] for m in dict.fromkeys(models)}
    parts = [f"{MODEL_LABELS.get(m, m)} <b>{v:.0%}</b>" for m, v in seen.items()]
    lines = ["    ".join(parts[i : i + 4]) for i in range(0, len(parts), 4)]  # four models a line
    return f"<b>After stage {t + 1} of {result.num_stages}</b> · accuracy on the stages seen so far:" + "".join(
        f"<br><span style='font-size:15px'>{line}</span>" for line in lines
    )


def _axes(layout: dict, view: PCAView, panels: int) -> None:
    pts = view.points if view.keys is None else np.concatenate([view.points, view.keys[np.isfinite(view.keys[:, 0])]])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = 0.05 * (hi - lo) + 1e-6
    for i in range(panels):
        suffix = "" if i == 0 else str(i + 1)
        bare = {"showticklabels": False, "ticks": "", "showgrid": False, "zeroline": False, "mirror": True}
        layout.setdefault(f"xaxis{suffix}", {}).update(range=[lo[0] - pad[0], hi[0] + pad[0]], **bare)
        layout.setdefault(f"yaxis{suffix}", {}).update(range=[lo[1] - pad[1], hi[1] + pad[1]], **bare)


def axes_note(view: PCAView) -> str:
    """What the two axes are, for the caption: 'PC1 (28% of the variance) across, PC2 (11%) up'."""
    v1, v2 = view.projection.explained
    return f"PC1 ({v1:.0%} of the variance) across, PC2 ({v2:.0%}) up"


def class_legend(class_names: tuple[str, ...]) -> list[dict]:
    """Legend-only traces (no points) naming each class colour; frames leave them alone (they come last)."""
    return [
        {
            "type": "scatter",
            "x": [None],
            "y": [None],
            "mode": "markers",
            "marker": {"color": class_colour(c), "size": 10},
            "name": name,
            "showlegend": True,
            "hoverinfo": "skip",
        }
        for c, name in enumerate(class_names)
    ]


def panel_columns(n: int) -> int:
    """Panels a row: all of them up to four, else rows of three (six models: two rows of three)."""
    return n if n <= 4 else 3


def pca_animation(result: RunResult, view: PCAView, models: list[str], height: int = 560) -> go.Figure:
    """One panel per model (rows of three beyond four models) of the held-out samples in PCA coordinates, coloured
    by predicted class; frames step through the stage ends (Play/Pause, scrubber). DKVB's panel also shows the
    keys of ``view.codebook``. ``height`` is a row's."""
    n_classes, T = len(result.class_names), result.num_stages
    with_keys = view.keys is not None and "dkvb" in models

    def traces(t: int) -> list[dict]:  # keys first: the samples stay visible on top of them
        keys = [_keys(view, t, n_classes, models.index("dkvb"))] if with_keys else []
        return keys + [_points(view, m, t, n_classes, i) for i, m in enumerate(models)]

    titles = [
        MODEL_LABELS.get(m, m) + (f" · keys of codebook {view.codebook}" if m == "dkvb" and with_keys else "")
        for m in models
    ]
    cols = panel_columns(len(models))
    rows = -(-len(models) // cols)
    layout = subplot_layout(rows, cols, subplot_titles=titles, horizontal_spacing=0.02, vertical_spacing=0.08)
    _axes(layout, view, len(models))
    ends = result.stage_end_frames
    frames = [
        {"name": str(int(ends[t])), "data": traces(t), "layout": {"title": {"text": _title(result, models, t)}}}
        for t in range(T)
    ]
    layout.update(animation_controls(result, ends, active=T - 1))
    layout["updatemenus"][0]["buttons"][0]["args"][1]["frame"]["duration"] = STAGE_MS
    layout["title"] = {"text": _title(result, models, T - 1), "x": 0.01, "y": 0.97, "font": {"size": 19}}
    legend = class_legend(result.class_names) if n_classes <= MAX_LEGEND_CLASSES else []
    fig = style(raw_figure(traces(T - 1) + legend, layout, frames), int(height * (1 + 0.75 * (rows - 1))))
    top = 90 + 20 * (-(-len(set(models)) // 4))  # the title's lines
    fig.update_layout(margin={"t": top, "b": 70}, legend={"title": {"text": "class"}, "itemclick": False})
    return fig
