"""What the download buttons hand out: the run as JSON, its metrics as CSV, the animation as a
self-contained HTML file. Built lazily (only when a button is pressed)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import plotly.graph_objects as go

from app.charts.palette import MODEL_LABELS
from dkvb_core import RunResult

if TYPE_CHECKING:
    import pandas as pd


def metrics_frame(result: RunResult) -> pd.DataFrame:
    """One row per model: summary metrics, then every accuracy-matrix entry as ``R[i][j]`` (regression:
    the MSE figures, each named lower_is_better, and every MSE-matrix entry as ``E[i][j]``)."""
    if result.task == "regression":
        return regression_metrics_frame(result)
    rows = []
    for name, s in result.summaries().items():
        row: dict[str, object] = {
            "model": name,
            "average_accuracy": s["average_accuracy"],
            "forgetting": s["forgetting"],
            "bwt": s["bwt"],
            "online_accuracy": s["online_accuracy"],
            "seconds": s["seconds"],
        }
        for i, r in enumerate(s["accuracy_matrix"]):
            for j, v in enumerate(r):
                row[f"R[{i}][{j}]"] = v
        rows.append(row)
    import pandas as pd  # ~0.3 s: only when metrics are downloaded, not on every page load

    return pd.DataFrame(rows)


def regression_metrics_frame(result: RunResult) -> pd.DataFrame:
    """One row per model: the scalar MSE figures, then every MSE-matrix entry as ``E[i][j]``."""
    rows = []
    for name, s in result.summaries().items():
        row: dict[str, object] = {"model": name}
        row.update({k: v for k, v in s.items() if isinstance(v, float)})
        for i, r in enumerate(s["mse_matrix_lower_is_better"]):
            for j, v in enumerate(r):
                row[f"E[{i}][{j}]"] = v
        rows.append(row)
    import pandas as pd

    return pd.DataFrame(rows)


def metrics_csv(result: RunResult) -> bytes:
    buf = io.StringIO()
    metrics_frame(result).to_csv(buf, index=False, float_format="%.6g")
    return buf.getvalue().encode()


def result_json(result: RunResult) -> bytes:
    return result.to_json().encode()


def animation_html(fig: go.Figure, title: str = "DKVB Explorer animation") -> bytes:
    """A single HTML file with plotly.js inlined: opens offline, Play/Pause and scrubber work."""
    html = fig.to_html(include_plotlyjs=True, full_html=True, auto_play=False, default_width="100%")
    return html.replace("<head>", f"<head><title>{title}</title>", 1).encode()


def models_label(models: list[str]) -> str:
    return ", ".join(MODEL_LABELS.get(m, m) for m in models)
