"""Image panels shared by the Images and Embeddings pages: the images on one key, the prediction gallery.

Drawn only for streams that carry their images (the image sets); widget keys carry the page's prefix.
"""

from __future__ import annotations

import streamlit as st

from app import layout
from app.charts import images as charts
from dkvb_core import RunResult, Stream
from dkvb_core import image_analysis as analysis


def key_images_panel(result: RunResult, stream: Stream, codebook: int, prefix: str, picker=None) -> None:
    """A picker of the codebook's busiest keys (in ``picker``, e.g. a column) and the training images on it."""
    rec = result.models["dkvb"]
    n_keys = rec.final_values.shape[1]
    busiest = analysis.busiest_keys(result, codebook, count=min(n_keys, 30))
    usage = rec.key_usage_stages[:, codebook].sum(axis=0)
    chosen = (picker or st).selectbox(
        "Key (busiest first)",
        [int(k) for k in busiest],
        format_func=lambda k: f"key {k}: {int(usage[k]):,} fetches",
        key=f"{prefix}:key:{codebook}",
    )
    view = analysis.key_view(result, stream, codebook, int(chosen))
    st.plotly_chart(
        charts.key_images(
            view, analysis.training_images(stream), stream.y_train, stream.class_names, height=layout.chart_height(340)
        ),
        key=f"{prefix}:key_images",
        config={"displaylogo": False},
    )
    per_stage = ", ".join(f"S{t + 1}: {int(n)}" for t, n in enumerate(view.usage_per_stage))
    st.caption(
        f"The training images whose nearest key in codebook {codebook} is key {view.key} (label above each; "
        f"green where it matches the class the value votes for). Fetches per stage: {per_stage}."
    )


def gallery_section(result: RunResult, stream: Stream, prefix: str) -> None:
    """Seeded held-out images with every model's prediction at every stage end."""
    st.subheader("Predictions at each stage end")
    per_class = st.slider("Test images a class", 1, 3, value=1, key=f"{prefix}:per_class")
    rows = analysis.gallery_rows(stream, per_class, seed=result.config.seed)
    preds = analysis.gallery_predictions(result, stream, rows)
    fig = charts.prediction_gallery(
        analysis.held_out_images(stream)[rows], stream.y_test[rows], preds, stream.class_names
    )
    st.plotly_chart(fig, key=f"{prefix}:gallery", config={"displaylogo": False})
    st.caption("Each cell: the class a model predicts for the image above it after a stage; green right, red wrong.")
