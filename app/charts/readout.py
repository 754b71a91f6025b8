"""The soft readout's dial: DKVB's accuracy, forgetting and leak as the temperature grows, with the
hard readout as the reference. Pure: points (from dkvb_core.readout.dial_point) -> figure."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from app.charts.common import style

SERIES = (
    ("accuracy", "final accuracy", "#1f6feb"),
    ("forgetting", "forgetting", "#d62728"),
    ("leak", "leak (updates on earlier stages' keys)", "#ff7f0e"),
)


def temperature_dial(points: list[dict[str, float]], hard: dict[str, float], height: int = 380) -> go.Figure:
    """One line a measure over the temperatures (log axis); dotted lines: the same measure, hard readout."""
    taus = [p["temperature"] for p in points]
    fig = go.Figure()
    for key, name, colour in SERIES:
        fig.add_scatter(
            x=taus,
            y=[p[key] for p in points],
            name=name,
            mode="lines+markers",
            line={"color": colour, "width": 3},
            hovertemplate=f"τ = %{{x}}: {name} %{{y:.1%}}<extra></extra>",
        )
        if not math.isnan(hard[key]):
            fig.add_hline(y=hard[key], line={"color": colour, "dash": "dot", "width": 1.5})
    fig.add_annotation(
        x=1,
        xref="paper",
        y=1.0,
        yref="paper",
        showarrow=False,
        xanchor="right",
        yanchor="bottom",
        text="dotted: hard readout",
        font={"size": 13},
    )
    fig.update_layout(
        xaxis={"type": "log", "title": {"text": "temperature τ (soft readout)"}, "tickvals": taus},
        yaxis={"title": {"text": "share"}, "tickformat": ".0%", "range": [0, 1.05]},
        legend={"orientation": "h", "y": 1.15},
    )
    return style(fig, height)
