"""Regression: a 1-D function slides under the learners, range by range (or task by task). Each model's
prediction curve animates through the steps; DKVB's keys sit on the x axis, coloured by their value.

Widgets -> a validated Config (the ``sine`` preset plus the controls; in the URL) -> a cached run ->
chart builders in app/charts/regression.py. No metric arithmetic here: it is all in the RunResult.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import current, downloads, layout, settings, view_params
from app.charts import regression as charts
from app.charts.palette import MODEL_LABELS
from app.url_state import config_from_query
from dkvb_core import Config, ConfigError, DataError, RunResult, Stream
from dkvb_core.models import REGISTRY
from dkvb_core.presets import preset_dict

DATA = {"sine-sweep": "Sine sweep (one function, ranges left to right)", "sine-tasks": "Sine tasks", "csv": "Your CSV"}
NOISE_OPTIONS = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0]
KEYS_OPTIONS = [4, 8, 16, 32, 64, 128, 256, 512, 1024]
TAU_OPTIONS = [0.001, 0.01, 0.03, 0.1, 0.3, 1.0, 4.0, 16.0, 100.0]
TOPK_OPTIONS = [1, 2, 4, 8, 16]
LR_OPTIONS = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0]
STEPS_OPTIONS = [50, 100, 200, 500, 1000, 2000]
ABLE = [name for name, spec in REGISTRY.items() if "regression" in spec.tasks]
PAGE_STEPS = 500  # the page's default: the sine preset at half its steps a stage, to answer within seconds


def default_config() -> Config:
    data = preset_dict("sine")
    data["train"]["steps_per_stage"] = PAGE_STEPS
    return Config.from_dict(data)


def key(field: str) -> str:
    return f"reg:{field}"


FIELDS = (
    "regression.num_stages",
    "regression.noise",
    "dkvb.num_codebooks",
    "dkvb.keys_per_codebook",
    "dkvb.readout",
    "dkvb.temperature",
    "dkvb.topk",
    "dkvb.lr",
    "linear.lr",
    "mlp.lr",
    "joint.lr",
    "train.optimizer",
    "train.steps_per_stage",
    "train.models",
    "seed",
)


def _get(config: Config, field: str) -> Any:
    node: Any = config
    for part in field.split("."):
        node = getattr(node, part)
    return list(node) if isinstance(node, tuple) else node


def load_once() -> None:
    """The session's first visit: settings from the link when it holds a regression run, else the page default.
    Later visits put back the widgets Streamlit forgot while another page was shown."""
    if st.session_state.get("reg:loaded"):
        config = st.session_state["reg:config"]
    else:
        config, warnings = config_from_query(st.query_params.to_dict())
        if config.task != "regression":
            config, warnings = default_config(), []
        for w in warnings:
            view_params.warn(w)
        for field in FIELDS:
            st.session_state[key(field)] = _get(config, field)
        st.session_state["reg:config"] = config
        st.session_state["reg:loaded"] = True
    for field in FIELDS:
        st.session_state.setdefault(key(field), _get(config, field))


def _with(options: list, value: Any) -> list:
    return options if value in options else sorted([*options, value])


def _slider(box, label: str, field: str, options: list, help: str | None = None) -> None:
    box.select_slider(label, _with(options, st.session_state[key(field)]), key=key(field), help=help)


def _preset_rates() -> None:
    """A new stream brings its preset's learning rates (each model's tuned best, see dkvb_core/presets.py)."""
    name = "sine-tasks" if st.session_state.get("view:regdata") == "sine-tasks" else "sine"
    config = Config.from_dict(preset_dict(name))
    for field in ("dkvb.lr", "linear.lr", "mlp.lr", "joint.lr"):
        st.session_state[key(field)] = _get(config, field)


def _soft_needs_keys() -> None:
    """Switching to the soft readout with one key a head would change nothing: fetch 4 keys then."""
    if st.session_state[key("dkvb.readout")] == "soft" and st.session_state[key("dkvb.topk")] == 1:
        st.session_state[key("dkvb.topk")] = 4


def controls() -> str:
    """The sidebar. Returns the data choice (a kind, or 'csv' for an upload)."""
    sb = st.sidebar
    data = view_params.url_select(
        "Data", "regdata", list(DATA), "sine-sweep", container=sb, format_func=DATA.get, on_change=_preset_rates
    )
    sb.multiselect("Models", ABLE, key=key("train.models"), format_func=MODEL_LABELS.get)
    with sb.expander("Stream", expanded=True):
        st.slider("Stages", 1, 10, key=key("regression.num_stages"), help="stages (CSV without Stage: x-ranges)")
        _slider(st, "Noise (sd of the training targets)", "regression.noise", NOISE_OPTIONS)
        st.number_input("Seed", 0, 2**31 - 1, step=1, key=key("seed"))
    with sb.expander("Bottleneck (DKVB)", expanded=True):
        _slider(st, "Keys per codebook", "dkvb.keys_per_codebook", KEYS_OPTIONS)
        st.slider("Codebooks", 1, 16, key=key("dkvb.num_codebooks"))
        st.radio("Readout", ["hard", "soft"], key=key("dkvb.readout"), horizontal=True, on_change=_soft_needs_keys)
        _slider(st, "Top-k keys a head", "dkvb.topk", TOPK_OPTIONS, "hard: mean of the k values; soft: weighted")
        _slider(st, "Temperature τ (soft)", "dkvb.temperature", TAU_OPTIONS, "w = softmax(-distance² / τ)")
    with sb.expander("Training", expanded=True):
        st.radio("Optimiser", ["adam", "sgd"], key=key("train.optimizer"), horizontal=True)
        _slider(st, "Steps per stage", "train.steps_per_stage", STEPS_OPTIONS)
        for field, label in (("dkvb.lr", "DKVB"), ("linear.lr", "linear"), ("mlp.lr", "MLP"), ("joint.lr", "joint")):
            _slider(st, f"Learning rate ({label})", field, LR_OPTIONS)
    return data


def config_from_widgets(kind: str) -> Config:
    """The controls over the page default; faults are shown as plain text and the last valid config kept."""
    data = default_config().to_dict()
    data["regression"]["kind"] = kind if kind != "csv" else "sine-sweep"
    for field in FIELDS:
        node, *rest = field.split(".")
        if rest:
            data[node][rest[0]] = st.session_state[key(field)]
        else:
            data[node] = st.session_state[key(field)]
    try:
        config = Config.from_dict(data)
    except ConfigError as exc:
        st.error("These settings cannot run; the charts show the last valid ones.", icon=":material/error:")
        st.text("\n".join(f"{field}: {message}" for field, message in exc.problems))
        return st.session_state["reg:config"]
    st.session_state["reg:config"] = config
    return config


def upload(config: Config) -> Stream | None:
    """The CSV uploader: a valid file gives the stream; a fault is said in plain text and nothing runs."""
    file = st.sidebar.file_uploader("CSV with columns x, y (optional Stage)", type=["csv"], key="reg:file")
    if file is None:
        st.info("Upload a CSV with columns x, y and optionally Stage (at most 50,000 rows, 5 MB).")
        return None
    from dkvb_core.streams.regression_csv import load_regression_csv

    try:
        r = config.regression
        return load_regression_csv(file.getvalue(), r.num_stages, config.stream.test_fraction, config.seed_of_stream)
    except DataError as exc:
        st.error("The file was not loaded.", icon=":material/error:")
        st.text(f"{file.name}: {exc}")
        return None


def run(config: Config, stream: Stream | None) -> RunResult | None:
    outcome = current.run_with_progress(config, stream)
    if outcome.result is None:
        st.error("These settings cannot run.", icon=":material/error:")
        st.text(str(outcome.error))
    return outcome.result


def mse_metrics(result: RunResult) -> None:
    """One metric a model: final test MSE over every stage, with its MSE forgetting as the badge."""
    for col, (name, s) in zip(st.columns(len(result.models)), result.summaries().items(), strict=True):
        forgetting = s["forgetting_mse_lower_is_better"]
        col.metric(
            f"{MODEL_LABELS.get(name, name)}: final MSE",
            f"{s['final_mse_lower_is_better']:.3f}",
            delta=f"forgetting {forgetting:+.3f}",
            delta_color=layout.forgetting_colour(forgetting),
            delta_arrow="off",
            help="Mean test MSE over every stage at the end (lower is better); forgetting: mean rise of each "
            "earlier stage's MSE from its best to its final value (0 = kept).",
        )


def readout_table(result: RunResult) -> None:
    rec = result.models.get("dkvb")
    if rec is None or rec.readout_leak is None:
        return
    st.caption(
        "Soft readout, per stage: effective keys a sample (1/Σw², mean over heads) and the leak, the share of "
        "the stage's value updates that lands on keys earlier stages fetched."
    )
    import pandas as pd

    rows = [[f"{v:.2f}" for v in rec.effective_keys], [f"{v:.0%}" for v in rec.readout_leak]]
    columns = [f"S{t + 1}" for t in range(result.num_stages)]
    st.table(pd.DataFrame(rows, index=["effective keys", "leak"], columns=columns))


def body(result: RunResult, kind: str) -> None:
    models = list(result.models)
    mse_metrics(result)
    diverged = [
        MODEL_LABELS.get(m, m) for m, s in result.summaries().items() if not s["final_mse_lower_is_better"] < 1e9
    ]
    if diverged:
        st.warning(
            f"{', '.join(diverged)}: training diverged (the error overflowed). Lower its learning rate or use Adam.",
            icon=":material/warning:",
        )
    if kind == "sine-tasks":
        st.info(
            "Sine tasks conflict: every stage asks for another function over the same inputs, so no model can "
            "keep all stages; even the joint reference can only fit their average.",
            icon=":material/info:",
        )
    fig = charts.prediction_animation(result, models, height=layout.chart_height(600))
    layout.chart(fig, "reg_animation")
    st.caption(
        "Dashed: the true function (of the current stage). Bold points: the stage being trained; faded: earlier "
        "stages. Shaded: each stage's input range. Ticks on the x axis: DKVB's keys, coloured by their value. "
        "Press ▶ Play or drag the slider."
    )
    layout.chart(charts.mse_matrices(result, models, height=layout.chart_height(340)), "reg_mse")
    st.caption("Test MSE on each stage (columns) after training through each stage (rows); lower is better.")
    left, right = st.columns([3, 2])
    layout.chart(charts.forgetting_bars(result, models, height=layout.chart_height(340)), "reg_forgetting", left)
    left.caption("Forgetting in MSE: how much each old stage's error rose from its best (positive = forgot).")
    with right:
        readout_table(result)
    d = result.config.dkvb
    if d.readout == "soft" and d.topk == 1:
        st.caption("Soft readout over one key a head is the hard readout: raise the top-k to let τ spread the weight.")
    with st.expander("Share and download", icon=":material/share:"):
        st.markdown("**Share:** every setting is in the address bar (an uploaded file is not part of the link).")
        c1, c2, c3 = st.columns(3)
        c1.download_button(
            "Run (JSON)",
            lambda: downloads.result_json(result),
            "dkvb_regression_run.json",
            "application/json",
            on_click="ignore",
        )
        c2.download_button(
            "Metrics (CSV)",
            lambda: downloads.metrics_csv(result),
            "dkvb_regression_metrics.csv",
            "text/csv",
            on_click="ignore",
        )
        c3.download_button(
            "Animation (HTML)",
            lambda: downloads.animation_html(fig),
            "dkvb_regression.html",
            "text/html",
            on_click="ignore",
        )


layout.page_header(
    "Regression",
    "A 1-D function arrives one input range at a time. DKVB's keys tile the x axis and only the fetched values "
    "move, so earlier ranges keep their fit; the MLP's single function bends to the newest range.",
)
load_once()
kind = controls()
config = config_from_widgets(kind)
stream = upload(config) if kind == "csv" else None
if kind == "csv" and stream is None:
    settings.sync_url(config)
    layout.end_page()
result = run(config, stream)
settings.sync_url(config)
if result is None:
    layout.end_page()
body(result, kind)
