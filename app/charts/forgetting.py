"""Forgetting charts: accuracy matrices, anytime accuracy with stage boundaries, forgetting and
backward-transfer bars. Definitions live in dkvb_core.metrics; these only draw."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.charts.common import style
from app.charts.keys import stage_colour
from app.charts.palette import MODEL_COLOURS, MODEL_LABELS
from dkvb_core import RunResult, metrics
from dkvb_core import analysis as an
from dkvb_core.models import REGISTRY

MATRIX_COLUMNS = 5  # accuracy matrices a row: nine models wrap onto two rows instead of nine slivers
TEXT_LABELS_UP_TO = 5  # models whose summary bars carry their numbers as text; more would overlap


def _models(result: RunResult, models: list[str]) -> list[str]:
    return [m for m in models if m in result.models] or list(result.models)


def grid_shape(count: int, max_cols: int) -> tuple[int, int]:
    """(rows, cols) of a panel grid for ``count`` panels, at most ``max_cols`` a row."""
    cols = max(1, min(count, max_cols))
    return -(-count // cols), cols


def accuracy_matrices(result: RunResult, models: list[str], height: int = 380) -> go.Figure:
    """R[i, j] per model: rows 'after stage i', columns 'tested on stage j'; ``height`` is per row
    of matrices (up to :data:`MATRIX_COLUMNS` a row)."""
    models = _models(result, models)
    T = result.num_stages
    rows, cols = grid_shape(len(models), MATRIX_COLUMNS)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[MODEL_LABELS.get(m, m) for m in models],
        horizontal_spacing=0.04,
        vertical_spacing=0.3 / rows,
    )
    labels = [f"S{t + 1}" for t in range(T)]
    for k, m in enumerate(models):
        R = result.accuracy_matrix(m)
        row, col = k // cols + 1, k % cols + 1
        fig.add_trace(
            go.Heatmap(
                z=R,
                x=labels,
                y=labels,
                zmin=0,
                zmax=1,
                colorscale="Blues",
                showscale=k == len(models) - 1,
                colorbar={"tickformat": ".0%"},
                text=[[f"{v:.0%}" for v in r] for r in R],
                texttemplate="%{text}",
                textfont={"size": 15 if T <= 6 and cols <= 4 else 11},
                hovertemplate="after training stage %{y}, accuracy on stage %{x}: %{z:.1%}<extra></extra>",
            ),
            row=row,
            col=col,
        )
        fig.update_xaxes(title_text="tested on stage" if row == rows else None, row=row, col=col)
        fig.update_yaxes(autorange="reversed", row=row, col=col, title_text="after stage" if col == 1 else None)
    fig.update_annotations(font_size=18 if cols <= 4 else 15)
    return style(fig, height * rows)


def anytime_accuracy(result: RunResult, models: list[str], height_per_model: int = 250) -> go.Figure:
    """Accuracy on each stage's held-out data at every frame, with the stage ends marked: one panel
    a model, in one column up to three models, in two beyond (``height_per_model`` per panel row)."""
    models = _models(result, models)
    rows, cols = grid_shape(len(models), 1 if len(models) <= 3 else 2)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        shared_xaxes=True,
        subplot_titles=[MODEL_LABELS.get(m, m) for m in models],
        vertical_spacing=0.24 / rows,
        horizontal_spacing=0.06,
    )
    steps = result.frame_steps
    for k, m in enumerate(models):
        r, c = k // cols + 1, k % cols + 1
        acc = result.models[m].stage_accuracy
        for j in range(result.num_stages):
            classes = ", ".join(result.class_names[c] for c in result.stage_classes[j])
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=acc[:, j],
                    mode="lines",
                    line={"width": 3, "color": stage_colour(j)},
                    name=f"Stage {j + 1} data (classes {classes})",
                    legendgroup=str(j),
                    showlegend=k == 0,
                    hovertemplate=f"step %{{x}}: %{{y:.0%}} on stage {j + 1}<extra></extra>",
                ),
                row=r,
                col=c,
            )
        fig.update_yaxes(range=[-0.03, 1.05], tickformat=".0%", row=r, col=c)
    for f in result.stage_end_frames[:-1]:
        fig.add_vline(x=float(steps[f]), line={"dash": "dash", "color": "#6b7280", "width": 1.5})
    fig.update_xaxes(title_text="training step", row=rows, col=1)
    if rows * cols > len(models):  # an empty last cell: the panel above it is its column's bottom
        fig.update_xaxes(showticklabels=True, title_text="training step", row=rows - 1, col=cols)
    fig.update_layout(legend={"orientation": "h", "y": -0.3 / rows if len(models) > 1 else -0.3})
    return style(fig, height_per_model * rows + 120)


def forgetting_bars(result: RunResult, models: list[str], height: int = 380) -> go.Figure:
    """Left: forgetting of each stage (drop from its best to its final accuracy) per model.
    Right: average forgetting and backward transfer per model."""
    models = _models(result, models)
    T = result.num_stages
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.62, 0.38],
        subplot_titles=["Forgetting of each stage", "Average forgetting and BWT"],
        horizontal_spacing=0.1,
    )
    stages = [f"Stage {t + 1}" for t in range(T - 1)] or ["Stage 1"]
    for m in models:
        R = result.accuracy_matrix(m)
        per_stage = metrics.forgetting_per_stage(R)[: max(T - 1, 1)]
        label = MODEL_LABELS.get(m, m)
        colour = MODEL_COLOURS.get(m, "#374151")
        fig.add_trace(
            go.Bar(
                x=stages,
                y=per_stage,
                name=label,
                marker_color=colour,
                legendgroup=m,
                hovertemplate=f"{label}, %{{x}}: forgot %{{y:.1%}}<extra></extra>",
            ),
            row=1,
            col=1,
        )
        summary = [metrics.forgetting_max(R), metrics.bwt_gem(R)]
        fig.add_trace(
            go.Bar(
                x=["Forgetting", "BWT"],
                y=summary,
                name=label,
                marker_color=colour,
                legendgroup=m,
                showlegend=False,
                text=[f"{v:+.0%}" if i else f"{v:.0%}" for i, v in enumerate(summary)]
                if len(models) <= TEXT_LABELS_UP_TO
                else None,
                textposition="outside",
                hovertemplate=f"{label}: %{{x}} %{{y:.1%}}<extra></extra>",
            ),
            row=1,
            col=2,
        )
    fig.update_yaxes(tickformat=".0%", row=1, col=1, range=[0, 1.05])
    fig.update_yaxes(tickformat=".0%", row=1, col=2, range=[-1.1, 1.1], zeroline=True, zerolinecolor="#111827")
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.15})
    fig.update_annotations(font_size=17)
    return style(fig, height)


def metrics_table(result: RunResult, models: list[str]) -> list[dict[str, float | str]]:
    """One row per model: final average accuracy, forgetting, BWT, online accuracy, seconds, and
    the raw past data it keeps (replay and A-GEM rehearse stored samples; the others keep none)."""
    rows = []
    for m in _models(result, models):
        s = result.summary(m)
        rows.append(
            {
                "model": MODEL_LABELS.get(m, m),
                "keeps": REGISTRY[m].stores(result.config) if m in REGISTRY else "",
                "average accuracy": s["average_accuracy"],
                "forgetting": s["forgetting"],
                "BWT": s["bwt"],
                "online accuracy": s["online_accuracy"],
                "seconds": s["seconds"],
            }
        )
    return rows


def per_stage_bwt(result: RunResult, model: str) -> np.ndarray:
    return an.bwt_per_stage(result.accuracy_matrix(model))


def stored_samples_note(result: RunResult, models: list[str]) -> str:
    """One plain sentence naming the models that train on stored raw samples, with how many ('' if none)."""
    keep = [m for m in _models(result, models) if m in REGISTRY and REGISTRY[m].keeps_samples(result.config)]
    if not keep:
        return ""
    parts = [f"{MODEL_LABELS.get(m, m)} keeps {REGISTRY[m].stores(result.config)}" for m in keep]
    return "; ".join(parts) + ". The other models keep no past samples."
