"""Online: the OSAKA stream. Pre-training, then tasks that switch at unknown times, come back, and
come from out-of-distribution modes; every batch is scored before the model trains on it.

Widgets -> a validated Config (the data's preset plus the controls) -> a cached run -> the chart
builders of app/charts/online.py. Settings live in the URL (the fields below, against the preset).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import current, layout, online_state, plain
from app.charts import online as charts
from app.charts.palette import MODEL_LABELS
from dkvb_core import RunResult
from dkvb_core import online_analysis as oa
from dkvb_core.models import REGISTRY
from dkvb_core.streams.images import fashion_missing

P_OPTIONS = [0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995]
STEPS_OPTIONS = [200, 500, 1000, 2000, 5000, 10000]
PRETRAIN_OPTIONS = [0, 50, 100, 200, 500, 1000, 2000]
KEYS_OPTIONS = [4, 16, 64, 256, 1024]
LABEL_RULE = (
    "**task_local** is OSAKA's rule: each new task labels its classes 0..n_way−1 in the order drawn, so an input "
    "may mean another label later. **global** (a class keeps its label) is a deviation from it."
)
DEFINITIONS = """
- **Online accuracy** of a step: accuracy on the incoming batch, scored *before* the model trains on it.
- **Cumulative online accuracy**: its mean over the whole stream (pre-training excluded), and over the steps
  of each mode.
- **Windowed**: its mean over the last `online.window` steps (100 by default).
- **Recovery** of a returning task (a task seen in an earlier segment): online accuracy on its first *k*
  batches back (k = `online.recovery_k`, 5) against the last *k* batches of its previous segment.
- **Switches**: at each step the task changes with probability 1 − p (segments last 1 / (1 − p) steps on
  average); a switch draws a mode by the mode probabilities and a task of n_way of its classes.
- **Pre-training**: i.i.d. steps on the pre-training mode for every model; DKVB places its keys on the
  pre-training data only, as a deployed model would have.
- **Joint (i.i.d.)**: the same batches in a shuffled order: no task order, so no returning tasks.
"""


def _with(options: list, value: Any) -> list:
    return options if value in options else sorted([*options, value])


def controls() -> None:
    """The sidebar; the widgets' state is read by :func:`app.online_state.config_from_widgets`."""
    sb = st.sidebar
    sb.radio(
        "Data",
        list(online_state.DATA),
        key=online_state.key("data"),
        on_change=online_state.load_preset,
        format_func=online_state.DATA.get,
    )
    sb.multiselect("Models", list(REGISTRY), key=online_state.key("train.models"), format_func=MODEL_LABELS.get)
    with sb.expander("Stream", expanded=True):
        k = online_state.key
        st.select_slider(
            "p (stay on the task)",
            _with(P_OPTIONS, st.session_state[k("online.p")]),
            key=k("online.p"),
            help="at each step the task switches with probability 1 − p",
        )
        st.text_input(
            "Mode probabilities",
            key=k("online.mode_probs"),
            help="one a mode, comma-separated, sum 1; the first is the pre-training mode",
        )
        st.slider("n_way (classes a task)", 2, 5, key=k("online.n_way"))
        st.select_slider("Steps", _with(STEPS_OPTIONS, st.session_state[k("online.steps")]), key=k("online.steps"))
        st.select_slider(
            "Pre-training steps",
            _with(PRETRAIN_OPTIONS, st.session_state[k("online.pretrain_steps")]),
            key=k("online.pretrain_steps"),
        )
        st.radio("Labels", ["global", "task_local"], key=k("online.labels"), horizontal=True)
        st.caption(LABEL_RULE)
    with sb.expander("Model", expanded=False):
        st.select_slider(
            "DKVB keys per codebook",
            _with(KEYS_OPTIONS, st.session_state[k("dkvb.keys_per_codebook")]),
            key=k("dkvb.keys_per_codebook"),
        )
        st.number_input("Seed", 0, 2**31 - 1, step=1, key=k("seed"))


def get_result(config) -> RunResult | None:
    """The (cached) run, with a progress bar for long ones; a message and the last result if it cannot run."""
    outcome = current.run_with_progress(config)
    if outcome.result is not None:
        st.session_state["online:last_result"] = outcome.result
        return outcome.result
    plain.alert("error", "These settings cannot run: {}", outcome.error, icon=":material/error:")
    return st.session_state.get("online:last_result")


layout.page_header(
    "Online",
    "Deployed after pre-training, each model meets a stream whose tasks switch at unknown times, come back, or "
    "come from data it never saw. Each batch is scored before the model learns from it (OSAKA).",
)
online_state.load_from_url_once()
if not layout.presentation_mode():
    controls()
config, problems = online_state.config_from_widgets()
for field, message in problems:
    plain.alert("error", "**{}**: {}. Showing the last valid settings.", field, message, icon=":material/error:")
if config.stream.kind == "digits" and fashion_missing():
    st.caption("Fashion-MNIST is not installed here: digits has two modes (0-4, 5-9); give two mode probabilities.")
result = get_result(config)
if result is None or result.online is None:
    layout.end_page()
online_state.sync_url(config)
models = list(result.models)

st.subheader("The stream")
layout.chart(charts.timeline(result, height=layout.chart_height(210)), "online_timeline")
st.caption(
    "Bottom: each segment's task (one colour a task); middle: its mode; ▼ a task that comes back. "
    "Light grey: the pre-training phase. Modes: "
    + "; ".join(oa.mode_descriptions(result.online, result.class_names))
    + "."
)

cols = st.columns(len(models))
for col, name in zip(cols, models, strict=True):
    s = result.summary(name)
    gap = s["recovery_gap"]
    col.metric(
        f"{MODEL_LABELS.get(name, name)}: online accuracy",
        f"{s['online_accuracy']:.0%}",
        delta=None if gap is None else f"recovery {gap:+.0%}",
        delta_color="off",
        delta_arrow="off",
        help="Cumulative online accuracy over the stream; recovery: first k batches of a returning task minus "
        "the last k of its previous segment.",
    )

st.subheader("Online accuracy over time")
layout.chart(charts.windowed_accuracy(result, models, height=layout.chart_height(360)), "online_windowed")
st.caption(
    f"Mean over the last {config.online.window} steps. Thin lines: task switches (darker: a task returns). "
    "Joint (i.i.d.) trains on the same batches shuffled, so its curve follows its own order."
)

left, right = st.columns(2)
with left:
    st.subheader("Cumulative, per mode")
    layout.chart(charts.cumulative_bars(result, models, height=layout.chart_height(360)), "online_cumulative")
    st.caption(
        "DKVB placed its keys on the pre-training data only: inputs of an out-of-distribution mode fetch the keys "
        "at that data's edge, which several of their classes share, so their values cannot tell them apart."
    )
with right:
    st.subheader("Recovery of returning tasks")
    layout.chart(charts.recovery_bars(result, models, height=layout.chart_height(360)), "online_recovery")
    st.caption(
        f"Online accuracy on a returning task's first {config.online.recovery_k} batches, against the last "
        f"{config.online.recovery_k} of its previous segment: a drop is what was forgotten meanwhile."
    )

if result.grid is not None:
    st.subheader("Decision regions along the stream")
    layout.chart(charts.animated_regions(result, models, height=layout.chart_height(560)), "online_regions")
    st.caption(
        "Bold: the classes of the task being trained; grey: every other class. "
        + ("Regions are coloured by task-local label." if config.online.labels == "task_local" else "")
    )

with st.expander("Definitions", icon=":material/menu_book:"):
    st.markdown(DEFINITIONS)
