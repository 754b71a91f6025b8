"""Figures of the Images page, pure functions of a RunResult, its image Stream and analysis arrays.

Images are drawn as one grey-scale mosaic heatmap (a single trace, however many tiles), so a
figure stays small and fast; tile labels are annotations.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app.charts.common import axis_ref, raw_figure, style, subplot_layout
from app.charts.palette import MODEL_LABELS
from dkvb_core import metrics
from dkvb_core.image_analysis import KeyView
from dkvb_core.result import RunResult

NO_CLASS_ID = 255
GREY = [[0.0, "#ffffff"], [1.0, "#111111"]]  # ink on paper: 0 white, 255 black
ACCURACY = [[0.0, "#ffffff"], [1.0, "#1f4e9c"]]  # 0 white, 1 deep blue
RIGHT, WRONG, NONE = "#2ca02c", "#d62728", "#bdbdbd"


def class_label(class_names: tuple[str, ...], c: int) -> str:
    """A class id as a name; 255 (all logits tied) reads 'none'."""
    return "none" if c == NO_CLASS_ID or c >= len(class_names) else class_names[c]


# --- accuracy and forgetting -------------------------------------------------------------------


def accuracy_matrices(result: RunResult, models: list[str], height: int = 360) -> go.Figure:
    """One heatmap per model of ``R[i, j]`` (rows: after stage i; columns: test data of stage j)."""
    T = result.num_stages
    layout = subplot_layout(
        1, len(models), subplot_titles=[MODEL_LABELS.get(m, m) for m in models], horizontal_spacing=0.04
    )
    ticks = [f"S{j + 1}" for j in range(T)]
    data = []
    for i, m in enumerate(models):
        R = result.accuracy_matrix(m)
        xa, ya = axis_ref(i)
        data.append(
            {
                "type": "heatmap",
                "z": R.tolist(),
                "x": ticks,
                "y": ticks,
                "zmin": 0.0,
                "zmax": 1.0,
                "colorscale": ACCURACY,
                "showscale": i == len(models) - 1,
                "text": [[f"{v:.2f}" for v in row] for row in R],
                "texttemplate": "%{text}",
                "textfont": {"size": 12},
                "hovertemplate": "after %{y}, test of %{x}: %{z:.3f}<extra></extra>",
                "xaxis": xa,
                "yaxis": ya,
            }
        )
        suffix = "" if i == 0 else str(i + 1)
        layout[f"yaxis{suffix}"].update(
            autorange="reversed", title="after stage" if i == 0 else None, showticklabels=i == 0
        )
        layout[f"xaxis{suffix}"].update(title="test data of stage" if i == 0 else None)
    return style(raw_figure(data, layout), height)


def forgetting_bars(result: RunResult, models: list[str], height: int = 320) -> go.Figure:
    """Per model, the forgetting of each stage (best earlier accuracy minus final), grouped bars."""
    T = result.num_stages
    data = []
    for m in models:
        drops = metrics.forgetting_per_stage(result.accuracy_matrix(m))[: max(T - 1, 1)]
        data.append(
            {
                "type": "bar",
                "name": f"{MODEL_LABELS.get(m, m)} (mean {float(np.mean(drops)):.2f})",
                "x": [f"S{j + 1}" for j in range(len(drops))],
                "y": drops.tolist(),
                "hovertemplate": "stage %{x}: forgot %{y:.3f}<extra></extra>",
            }
        )
    layout = {
        "barmode": "group",
        "yaxis": {"title": "forgetting", "range": [min(0.0, _min_of(data)), 1.0]},
        "xaxis": {"title": "stage (the last stage cannot be forgotten)"},
    }
    return style(raw_figure(data, layout), height)


def _min_of(data: list[dict]) -> float:
    return min((min(d["y"]) for d in data if d["y"]), default=0.0)


# --- keys ------------------------------------------------------------------------------------------


def key_order(usage: np.ndarray) -> np.ndarray:
    """Keys of a codebook sorted by the stage that fetched them most, then by use: ``usage`` is ``(T, K)``."""
    total = usage.sum(axis=0)
    main_stage = np.where(total > 0, usage.argmax(axis=0), usage.shape[0])  # unused keys last
    return np.lexsort((-total, main_stage))


def key_usage_heatmap(usage_stages: np.ndarray, codebook: int, height: int = 300) -> go.Figure:
    """Fetches of each key of one codebook within each stage (``usage_stages`` is ``(T, C, K)``),
    keys sorted by the stage that used them most: a staircase means stages use different keys."""
    usage = np.asarray(usage_stages[:, codebook], dtype=np.int64)
    order = key_order(usage)
    z = usage[:, order]
    data = [
        {
            "type": "heatmap",
            "z": np.log1p(z).tolist(),
            "customdata": z.tolist(),
            "x": [int(k) for k in order],
            "y": [f"S{t + 1}" for t in range(len(z))],
            "colorscale": "Viridis",
            "colorbar": {"title": "log(1+n)"},
            "hovertemplate": "key %{x}, stage %{y}: %{customdata} fetches<extra></extra>",
        }
    ]
    layout = {
        "xaxis": {
            "title": f"keys of codebook {codebook} (sorted by main stage)",
            "type": "category",
            "showticklabels": False,
        },
        "yaxis": {"title": "stage", "autorange": "reversed"},
        "title": {"text": f"Key usage per stage, codebook {codebook}"},
    }
    return style(raw_figure(data, layout), height)


# --- images ------------------------------------------------------------------------------------


def mosaic(images: np.ndarray, columns: int, gap: int = 1, row_gap: int | None = None) -> np.ndarray:
    """Tile ``(n, H, W)`` images into one array, ``columns`` a row, ``gap`` blank pixels between
    columns and ``row_gap`` (default ``gap``) between rows (blank = -1, drawn as background);
    n == 0 gives an empty ``(0, 0)`` array."""
    n = len(images)
    if n == 0:
        return np.zeros((0, 0))
    rg = gap if row_gap is None else row_gap
    h, w = images.shape[1:]
    rows = -(-n // columns)
    out = np.full((rows * (h + rg) - rg, columns * (w + gap) - gap), -1.0)
    for i, img in enumerate(images):
        r, c = divmod(i, columns)
        out[r * (h + rg) : r * (h + rg) + h, c * (w + gap) : c * (w + gap) + w] = img
    return out


def label_gap(height: int) -> int:
    """Blank rows between tiles that leave room for a text label."""
    return max(3, height // 3)


def _mosaic_trace(tiles: np.ndarray, xaxis: str = "x", yaxis: str = "y") -> dict:
    z = np.where(tiles < 0, np.nan, tiles)
    return {
        "type": "heatmap",
        "z": np.round(z, 1).tolist(),
        "colorscale": GREY,
        "zmin": 0,
        "zmax": 255,
        "showscale": False,
        "hoverinfo": "skip",
        "xaxis": xaxis,
        "yaxis": yaxis,
    }


def _image_axes(layout: dict, suffix: str = "") -> None:
    layout.setdefault(f"xaxis{suffix}", {}).update(visible=False, constrain="domain")
    layout.setdefault(f"yaxis{suffix}", {}).update(
        visible=False, autorange="reversed", scaleanchor=f"x{suffix}", scaleratio=1, constrain="domain"
    )


def key_images(
    view: KeyView,
    images: np.ndarray,
    labels: np.ndarray,
    class_names: tuple[str, ...],
    max_images: int = 40,
    columns: int = 10,
    height: int = 360,
) -> go.Figure:
    """The training images that land on one key (first ``max_images``), each labelled with its
    class, titled with the class the key's value votes for."""
    rows = view.train_rows[:max_images]
    imgs = images[rows]
    h, w = images.shape[1:]
    rg = label_gap(h)
    annotations = [
        {
            "x": (i % columns) * (w + 1) + w / 2,
            "y": (i // columns) * (h + rg) - 0.5,
            "text": class_label(class_names, int(labels[r])),
            "showarrow": False,
            "yanchor": "bottom",
            "font": {"size": 11, "color": RIGHT if int(labels[r]) == view.vote else WRONG},
        }
        for i, r in enumerate(rows)
    ]
    layout: dict = {"annotations": annotations}
    _image_axes(layout)
    vote = class_label(class_names, view.vote)
    layout["title"] = {
        "text": f"Codebook {view.codebook}, key {view.key}: {len(view.train_rows)} training images, "
        f"value votes for <b>{vote}</b>"
    }
    data = [_mosaic_trace(mosaic(imgs, columns, 1, rg))] if len(rows) else []
    return style(raw_figure(data, layout), height)


def prediction_gallery(
    images: np.ndarray,
    y_true: np.ndarray,
    predictions: dict[str, np.ndarray],
    class_names: tuple[str, ...],
    height_per_row: int = 34,
) -> go.Figure:
    """Test images on top; below, one row per model and stage end with each image's predicted
    class, green when right, red when wrong, grey for "no class". ``predictions[m]`` is ``(T, n)``."""
    n = len(images)
    models = list(predictions)
    T = len(next(iter(predictions.values()))) if predictions else 0
    h, w = images.shape[1:] if n else (1, 1)
    z, text, ylabels = [], [], []
    for m in models:
        for t in range(T):
            p = predictions[m][t]
            z.append(
                [0.5 if int(c) == NO_CLASS_ID else float(int(c) == int(y)) for c, y in zip(p, y_true, strict=True)]
            )
            text.append([class_label(class_names, int(c)) for c in p])
            ylabels.append(f"{MODEL_LABELS.get(m, m)} · after S{t + 1}")
    rows = len(ylabels)
    top = 0.9 * h / (h + rows * 4 + 1)  # image strip height as a share of the figure, roughly square tiles
    layout = subplot_layout(2, 1, row_heights=[max(top, 0.12), 1 - max(top, 0.12)], vertical_spacing=0.02)
    _image_axes(layout)
    layout["xaxis2"].update(showticklabels=False, ticks="", side="top")
    layout["yaxis2"].update(autorange="reversed", tickfont={"size": 12})
    data = [_mosaic_trace(mosaic(images, max(n, 1), gap=2), "x", "y")] if n else []
    data.append(
        {
            "type": "heatmap",
            "z": z,
            "x": list(range(n)),
            "y": ylabels,
            "text": text,
            "texttemplate": "%{text}",
            "textfont": {"size": 11},
            "zmin": 0,
            "zmax": 1,
            "colorscale": [[0.0, WRONG], [0.5, NONE], [1.0, RIGHT]],
            "showscale": False,
            "xgap": 2,
            "ygap": 1,
            "hovertemplate": "%{y}, image %{x}: predicted %{text}<extra></extra>",
            "xaxis": "x2",
            "yaxis": "y2",
        }
    )
    layout["annotations"] = [
        {
            "x": i * (w + 2) + w / 2,
            "y": h + 0.5,
            "xref": "x",
            "yref": "y",
            "text": class_label(class_names, int(c)),
            "showarrow": False,
            "yanchor": "top",
            "font": {"size": 11},
        }
        for i, c in enumerate(y_true)
    ]
    return style(raw_figure(data, layout), 140 + rows * height_per_row)


# --- confusion ----------------------------------------------------------------------------------


def confusion_matrices(cms: np.ndarray, class_names: tuple[str, ...], title: str, height: int = 340) -> go.Figure:
    """One panel per stage end of a model's confusion matrix ``cms`` ``(T, n, n + 1)``; rows are
    true classes, columns predictions, normalised per row; a "none" column appears if ties occurred."""
    T, n = cms.shape[:2]
    with_none = bool(cms[..., n].sum())
    cols = n + 1 if with_none else n
    names = [*class_names[:n], "none"][:cols]
    layout = subplot_layout(1, T, subplot_titles=[f"after S{t + 1}" for t in range(T)], horizontal_spacing=0.02)
    data = []
    for t in range(T):
        counts = cms[t, :, :cols].astype(float)
        share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        xa, ya = axis_ref(t)
        data.append(
            {
                "type": "heatmap",
                "z": np.round(share, 3).tolist(),
                "customdata": counts.astype(int).tolist(),
                "x": names,
                "y": names[:n],
                "zmin": 0,
                "zmax": 1,
                "colorscale": ACCURACY,
                "showscale": t == T - 1,
                "hovertemplate": "true %{y}, predicted %{x}: %{customdata} (%{z:.0%})<extra></extra>",
                "xaxis": xa,
                "yaxis": ya,
            }
        )
        suffix = "" if t == 0 else str(t + 1)
        layout[f"yaxis{suffix}"].update(autorange="reversed", showticklabels=t == 0, scaleanchor=f"x{suffix}")
        layout[f"xaxis{suffix}"].update(tickangle=-60, tickfont={"size": 10}, dtick=1)
        layout[f"yaxis{suffix}"].update(dtick=1)
    layout["title"] = {"text": title}
    return style(raw_figure(data, layout), height)
