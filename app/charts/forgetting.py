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


def _models(result: RunResult, models: list[str]) -> list[str]:
    return [m for m in models if m in result.models] or list(result.models)


def accuracy_matrices(result: RunResult, models: list[str], height: int = 380) -> go.Figure:
    """R[i, j] per model: rows 'after stage i', columns 'tested on stage j'."""
    models = _models(result, models)
    T = result.num_stages
    fig = make_subplots(
        rows=1, cols=len(models), subplot_titles=[MODEL_LABELS.get(m, m) for m in models], horizontal_spacing=0.04
    )
    labels = [f"S{t + 1}" for t in range(T)]
    for k, m in enumerate(models, start=1):
        R = result.accuracy_matrix(m)
        fig.add_trace(
            go.Heatmap(
                z=R,
                x=labels,
                y=labels,
                zmin=0,
                zmax=1,
                colorscale="Blues",
                showscale=k == len(models),
                colorbar={"tickformat": ".0%"},
                text=[[f"{v:.0%}" for v in row] for row in R],
                texttemplate="%{text}",
                textfont={"size": 15 if T <= 6 else 11},
                hovertemplate="after training stage %{y}, accuracy on stage %{x}: %{z:.1%}<extra></extra>",
            ),
            row=1,
            col=k,
        )
        fig.update_xaxes(title_text="tested on stage", row=1, col=k)
        fig.update_yaxes(autorange="reversed", row=1, col=k, title_text="after stage" if k == 1 else None)
    fig.update_annotations(font_size=18)
    return style(fig, height)


def anytime_accuracy(result: RunResult, models: list[str], height_per_model: int = 250) -> go.Figure:
    """Accuracy on each stage's held-out data at every frame, with the stage ends marked."""
    models = _models(result, models)
    fig = make_subplots(
        rows=len(models),
        cols=1,
        shared_xaxes=True,
        subplot_titles=[MODEL_LABELS.get(m, m) for m in models],
        vertical_spacing=0.08,
    )
    steps = result.frame_steps
    for r, m in enumerate(models, start=1):
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
                    showlegend=r == 1,
                    hovertemplate=f"step %{{x}}: %{{y:.0%}} on stage {j + 1}<extra></extra>",
                ),
                row=r,
                col=1,
            )
        fig.update_yaxes(range=[-0.03, 1.05], tickformat=".0%", row=r, col=1)
    for f in result.stage_end_frames[:-1]:
        fig.add_vline(x=float(steps[f]), line={"dash": "dash", "color": "#6b7280", "width": 1.5})
    fig.update_xaxes(title_text="training step", row=len(models), col=1)
    fig.update_layout(legend={"orientation": "h", "y": -0.12 if len(models) > 1 else -0.3})
    return style(fig, height_per_model * len(models) + 120)


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
                text=[f"{v:+.0%}" if i else f"{v:.0%}" for i, v in enumerate(summary)],
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
    """One row per model: final average accuracy, forgetting, BWT, online accuracy, seconds."""
    rows = []
    for m in _models(result, models):
        s = result.summary(m)
        rows.append(
            {
                "model": MODEL_LABELS.get(m, m),
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
