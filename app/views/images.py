"""Images page: class-incremental digits, MNIST and Fashion-MNIST through a frozen encoder.

Widgets -> a validated Config (the data set's preset plus the controls) -> a cached run ->
chart builders in app/charts/images.py. The numbers come from dkvb_core.image_analysis.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import layout, page_link, plain, runs
from app.charts import images as charts
from app.charts.palette import MODEL_LABELS
from app.image_panels import gallery_section, key_images_panel
from dkvb_core import Config, ConfigError, DataError, RunResult, Stream, build_stream
from dkvb_core import image_analysis as analysis
from dkvb_core.image_encoder import encoder_record
from dkvb_core.models import REGISTRY
from dkvb_core.presets import preset_dict
from dkvb_core.streams.images import IMAGE_KINDS, TITLES, available_image_sets

KEYS_OPTIONS = [8, 16, 32, 64, 128, 256, 512, 1024]
LR_OPTIONS = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
STEPS_OPTIONS = [20, 50, 100, 200, 300, 500, 1000, 2000]
ENCODERS = {"identity": "Raw pixels", "cnn": "Pretrained CNN (frozen)"}
# Widget key -> config field; the data set's preset fills them when the data set changes.
CONTROLS = {
    "img:codebooks": "dkvb.num_codebooks",
    "img:keys": "dkvb.keys_per_codebook",
    "img:lr": "dkvb.lr",
    "img:steps": "train.steps_per_stage",
    "img:encoder": "stream.encoder",
    "img:models": "train.models",
    "img:per_stage": "stream.classes_per_stage",
}
PER_STAGE_OPTIONS = [1, 2, 5, 10]
DEFAULT_MODELS = [*Config().train.models, "joint"]  # the default comparison and the i.i.d. bound
# The controls kept in the link (view.img.*): a shared link reproduces the page.
LINKED_DATASET = page_link.Linked("img:dataset", "img.dataset", page_link.choice(list(IMAGE_KINDS)))
LINKED = [
    page_link.Linked("img:encoder", "img.encoder", page_link.choice(list(ENCODERS))),
    page_link.Linked("img:codebooks", "img.codebooks", page_link.whole(1, 64)),
    page_link.Linked("img:keys", "img.keys", page_link.whole(1, 4096)),
    page_link.Linked("img:lr", "img.lr", page_link.number(0.0, 100.0)),
    page_link.Linked("img:per_stage", "img.per_stage", page_link.whole(1, 10)),
    page_link.Linked("img:steps", "img.steps", page_link.whole(1, 20000)),
    page_link.Linked("img:models", "img.models", page_link.names(list(REGISTRY))),
    page_link.Linked("img:seed", "img.seed", page_link.whole(0, 2**31 - 1)),
]


@st.cache_resource(max_entries=8, show_spinner=False)
def _stream(config_json: str) -> Stream:
    """The run's stream again, for its images and labels (RunResult keeps only 2-D points)."""
    return build_stream(Config.from_json(config_json))


def _preset_config(kind: str) -> Config:
    data = preset_dict(kind)
    data.setdefault("train", {})["models"] = DEFAULT_MODELS
    data.setdefault("record", {})["every"] = 0
    return Config.from_dict(data)


def _get(config: Config, field: str) -> Any:
    section, name = field.split(".")
    value = getattr(getattr(config, section), name)
    return list(value) if isinstance(value, tuple) else value


def _load_preset() -> None:
    config = _preset_config(st.session_state["img:dataset"])
    for k, field in CONTROLS.items():
        st.session_state[k] = _get(config, field)


def _with(options: list, value: Any) -> list:
    return options if value in options else sorted([*options, value])


def controls() -> Config | None:
    """The sidebar: data set, encoder, bottleneck and training. Returns the valid config, or None."""
    available = available_image_sets()
    sb = st.sidebar
    page_link.restore([LINKED_DATASET], "img:_link_dataset")
    if any(k not in st.session_state for k in ("img:dataset", *CONTROLS)):
        st.session_state.setdefault("img:dataset", "digits")
        _load_preset()
    st.session_state.setdefault("img:seed", 0)
    page_link.restore(LINKED, "img:_link_rest")  # over the data set's preset
    sb.radio("Data set", list(IMAGE_KINDS), key="img:dataset", format_func=TITLES.get, on_change=_load_preset)
    kind = st.session_state["img:dataset"]
    missing = {k: why for k, why in available.items() if why}
    for k, why in missing.items():
        sb.caption(f"{TITLES[k]}: {why}")
    sb.radio("Encoder", list(ENCODERS), key="img:encoder", format_func=ENCODERS.get, horizontal=True)
    with sb.expander("Bottleneck (DKVB)", expanded=True):
        st.slider("Codebooks", 1, 64, key="img:codebooks", help="heads, each with its own keys; 1 to 64")
        st.select_slider("Keys per codebook", _with(KEYS_OPTIONS, st.session_state["img:keys"]), key="img:keys")
        st.select_slider("Learning rate (values)", _with(LR_OPTIONS, st.session_state["img:lr"]), key="img:lr")
    with sb.expander("Training", expanded=True):
        st.select_slider(
            "Classes per stage",
            _with(PER_STAGE_OPTIONS, st.session_state["img:per_stage"]),
            key="img:per_stage",
            help="2: five stages of two classes (0, 1 | 2, 3 | ...); 10: one stage, no shift at all",
        )
        st.select_slider("Steps per stage", _with(STEPS_OPTIONS, st.session_state["img:steps"]), key="img:steps")
        st.multiselect("Models", list(REGISTRY), key="img:models", format_func=MODEL_LABELS.get)
        st.number_input("Seed", 0, 2**31 - 1, step=1, key="img:seed")
    preset = _preset_config(kind)
    page_link.remember(
        [LINKED_DATASET, *LINKED],
        {"img:dataset": "digits", "img:seed": 0, **{k: _get(preset, field) for k, field in CONTROLS.items()}},
    )
    if kind in missing:
        others = ", ".join(TITLES[k] for k in IMAGE_KINDS if k not in missing)
        st.warning(f"{missing[kind]}\n\nAvailable here: {others}.", icon=":material/download:")
        return None
    data = _preset_config(kind).to_dict()
    for k, field in CONTROLS.items():
        section, name = field.split(".")
        data[section][name] = st.session_state[k]
    data["seed"] = st.session_state["img:seed"]
    try:
        config = Config.from_dict(data)
    except ConfigError as exc:
        for field, message in exc.problems:
            plain.alert(
                "error", "**{}**: {}. Showing the last valid settings.", field, message, icon=":material/error:"
            )
        return st.session_state.get("img:config")
    st.session_state["img:config"] = config
    return config


def encoder_caption(config: Config) -> str:
    if config.stream.encoder != "cnn":
        return "Encoder: raw pixels, split into the codebooks by fixed random projections."
    rec = encoder_record(config.stream.kind)
    if not rec:
        return "Encoder: the project's CNN (its training record is missing)."
    return (
        f"Encoder: a small CNN trained on {TITLES.get(rec['trained_on'], rec['trained_on'])} only "
        f"(test accuracy there {rec['test_accuracy']:.1%}), frozen; it never saw these images."
    )


def run_with_progress(config: Config) -> RunResult | None:
    bar = st.progress(0.0, text="Training…")

    def progress(done: int, total: int, phase: str = "train") -> None:
        what = f"step {done:,} of {total:,}" if phase == "train" else f"placing keys ({done / max(total, 1):.0%})"
        bar.progress(min(done / max(total, 1), 1.0), text=f"Training… {what}")

    outcome = runs.try_run(config, progress=runs.SessionWatch(progress))
    bar.empty()
    if outcome.error:
        st.error("These settings cannot run:", icon=":material/error:")
        st.text(outcome.error)
        return None
    return outcome.result


def keys_section(result: RunResult, stream: Stream) -> None:
    st.subheader("Keys")
    rec = result.models["dkvb"]
    n_codebooks = rec.final_values.shape[0]
    c1, c2 = st.columns([1, 3])
    codebook = int(c1.number_input("Codebook", 0, n_codebooks - 1, value=0, step=1, key="img:codebook"))
    st.plotly_chart(
        charts.key_usage_heatmap(rec.key_usage_stages, codebook, height=layout.chart_height(300)),
        key="img:usage",
        config={"displaylogo": False},
    )
    st.caption(
        "How often each key was fetched while each stage trained. Keys are sorted by the stage that used "
        "them most: a staircase means each stage works with its own keys, so training one stage leaves "
        "the values of the others alone."
    )
    key_images_panel(result, stream, codebook, "img", picker=c2)


def confusion_section(result: RunResult, stream: Stream) -> None:
    st.subheader("Confusion per stage")
    model = st.selectbox("Model", list(result.models), format_func=MODEL_LABELS.get, key="img:cm_model")
    cms = analysis.confusion_per_stage(result, stream, model)
    title = f"{MODEL_LABELS.get(model, model)}: share of each true class (rows) predicted as each class"
    st.plotly_chart(
        charts.confusion_matrices(cms, stream.class_names, title, height=layout.chart_height(340)),
        key="img:confusion",
        config={"displaylogo": False},
    )
    st.caption("Models that forget predict only the latest stage's classes: their columns light up, the rest go dark.")


layout.page_header(
    "Images",
    "Hand-written digits and clothing arrive two classes at a time through a frozen encoder. "
    "DKVB only changes the values of the keys it fetches, so earlier classes survive.",
)
config = controls()
if config is None:
    layout.end_page()
st.caption(encoder_caption(config))
result = run_with_progress(config)
if result is None:  # the message is shown; the previous result stays on the page
    if "img:last" not in st.session_state:
        layout.end_page()
    st.info("Showing the previous result.", icon=":material/history:")
    config, result = st.session_state["img:last"]
else:
    st.session_state["img:last"] = (config, result)
try:
    stream = _stream(config.to_json())
except DataError as exc:
    plain.alert("error", "{}", exc, icon=":material/error:")
    layout.end_page()
stages = " | ".join(", ".join(stream.class_names[c] for c in classes) for classes in stream.stage_classes)
st.caption(
    f"{len(stream.y_train):,} training and {len(stream.y_test):,} held-out images; stages: {stages}. "
    "Each stage trains only on its own classes."
)
models = list(result.models)
layout.final_accuracy_metrics(result.summaries(), precision=1)
st.subheader("Accuracy and forgetting")
st.plotly_chart(
    charts.accuracy_matrices(result, models, height=layout.chart_height(380)),
    key="img:acc",
    config={"displaylogo": False},
)
st.caption(
    "Accuracy on each stage's held-out images (columns) after training through each stage (rows); "
    "a model that forgets keeps only the diagonal."
)
st.plotly_chart(
    charts.forgetting_bars(result, models, height=layout.chart_height(300)),
    key="img:forgetting",
    config={"displaylogo": False},
)
st.caption("Forgetting: the drop from each stage's best accuracy to its final one (mean in the legend).")
if "dkvb" in result.models:
    keys_section(result, stream)
gallery_section(result, stream, "img")
confusion_section(result, stream)
