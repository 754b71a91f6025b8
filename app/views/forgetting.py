"""Forgetting: accuracy matrices, anytime accuracy with stage boundaries, forgetting and BWT."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import current, layout
from app.charts import forgetting as charts

DEFINITIONS = """
- **Accuracy matrix** R[i, j]: accuracy on stage *j*'s held-out data after training through stage *i*.
- **Average accuracy**: mean of the last row, mean over *j* of R[T, j].
- **Forgetting** of stage *j*: its best accuracy before the end, max over *l* < T of R[l, j], minus its
  final accuracy R[T, j]; averaged over all stages but the last (Chaudhry et al., 2018).
- **Backward transfer (BWT)**: mean over *j* < T of R[T, j] − R[j, j]; negative means forgetting
  (Lopez-Paz & Ranzato, 2017).
- **Online accuracy**: each batch is scored before the model trains on it, averaged over the stream (OSAKA).
"""

layout.page_header(
    "Forgetting",
    "How much each model still knows about earlier stages after learning the later ones.",
)
result = current.page_result()
models = list(result.models)

with st.popover("Definitions", icon=":material/menu_book:"):
    st.markdown(DEFINITIONS)

st.subheader("Accuracy matrix")
layout.chart(charts.accuracy_matrices(result, models, height=layout.chart_height(380)), "matrices")
st.caption("Row *i*, column *j*: accuracy on stage *j* after training stage *i*. Below the diagonal is memory.")

st.subheader("Anytime accuracy")
layout.chart(charts.anytime_accuracy(result, models, height_per_model=layout.chart_height(230)), "anytime")
st.caption("Accuracy on each stage's held-out data during training; dashed lines mark the stage ends.")

st.subheader("Forgetting and backward transfer")
layout.chart(charts.forgetting_bars(result, models, height=layout.chart_height(380)), "bars")
st.caption(
    "Forgetting: drop from a stage's best to its final accuracy (lower is better). BWT: final minus "
    "just-learned accuracy (closer to 0 is better)."
)

note = charts.stored_samples_note(result, models)
if note:
    st.text(note)
st.dataframe(
    pd.DataFrame(charts.metrics_table(result, models)),
    hide_index=True,
    column_config={
        c: st.column_config.NumberColumn(c, format="percent")
        for c in ("average accuracy", "forgetting", "BWT", "online accuracy")
    }
    | {"seconds": st.column_config.NumberColumn("seconds", format="%.2f")},
)
