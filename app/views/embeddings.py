"""Embeddings page: class-incremental runs on N-d features, your own file or a built-in set.

Widgets -> a validated Config (the data set's preset plus the controls; every setting but the file in the URL)
-> a cached run -> the Images page's charts (app/charts/images.py) and the 2-D PCA view (app/charts/embeddings.py).
The numbers come from dkvb_core (embedding_view, image_analysis); nothing is computed here.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import layout, plain, runs, settings, view_params
from app.charts import embeddings as pca_charts
from app.charts import forgetting as forgetting_charts
from app.charts import images as charts
from app.charts.palette import MODEL_LABELS
from app.image_panels import gallery_section, key_images_panel
from app.url_state import config_from_query
from dkvb_core import Config, ConfigError, DataError, RunResult, Stream, build_stream
from dkvb_core import image_analysis as analysis
from dkvb_core.image_encoder import EMBEDDING_DIM, encoder_record
from dkvb_core.models import REGISTRY
from dkvb_core.presets import preset_dict
from dkvb_core.streams.images import TITLES, available_image_sets

SOURCES = {
    "example": "Digits: 128-d CNN embeddings (example .npz)",
    "digits": f"{TITLES['digits']} through the CNN",
    "mnist": f"{TITLES['mnist']} through the CNN",
    "fashion": f"{TITLES['fashion']} through the CNN",
    "upload": "Your features file",
}
UPLOAD_PATH = "uploaded file"  # stream.path of an upload's config: the stream itself is handed to the run
MAX_UPLOAD_MB = 200  # = dkvb_core.streams.features.MAX_BYTES and server.maxUploadSize
# The default comparison, then the question (replay, a class-mean classifier) and the i.i.d. bound.
DEFAULT_MODELS = [*Config().train.models, "replay", "slda", "joint"]
MAX_CONFUSION_CLASSES = 40
KEYS_OPTIONS = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
DIM_KEYS_OPTIONS = [2, 4, 8, 16, 32, 64]
LR_OPTIONS = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
STEPS_OPTIONS = [20, 50, 100, 200, 300, 500, 1000, 2000]
BATCH_OPTIONS = [1, 5, 10, 32, 64, 128, 256]
FIELDS = (
    "dkvb.num_codebooks",
    "dkvb.keys_per_codebook",
    "dkvb.dim_keys",
    "dkvb.lr",
    "train.steps_per_stage",
    "train.batch_size",
    "train.models",
    "stream.classes_per_stage",
    "stream.stage_order",
    "stream.test_fraction",
    "seed",
)


def base_config(source: str) -> Config:
    """The settings a data set starts from: its preset, all four models, frames at stage ends only."""
    if source in ("example", "upload"):
        data = preset_dict("digits-embeddings")
        if source == "upload":
            data["stream"]["path"] = UPLOAD_PATH
    else:
        data = preset_dict(source)
        data["stream"]["encoder"] = "cnn"
    data.setdefault("train", {})["models"] = DEFAULT_MODELS
    data.setdefault("record", {})["every"] = 0
    return Config.from_dict(data)


def _get(config: Config, field: str) -> Any:
    value = config.to_dict()
    for part in field.split("."):
        value = value[part]
    return value


def _set_widgets(config: Config) -> None:
    for field in FIELDS:
        st.session_state[f"emb:{field}"] = _get(config, field)


def _source_changed() -> None:
    _set_widgets(base_config(st.session_state["view:source"]))


def _same_data(last: Config | None, base: Config) -> bool:
    """Whether the last valid config ran on the data set ``base`` describes (its settings may be kept)."""
    return last is not None and (last.stream.kind, last.stream.path) == (base.stream.kind, base.stream.path)


def seed_widgets(base: Config) -> None:
    """Widget values: on a session's first visit the link's settings over the data set's (bad values: its
    defaults + a warning; a session that came from a page with the shared settings keeps this page's
    defaults); later, values Streamlit dropped while another page showed come back from the last config."""
    if not st.session_state.get("emb:url_read"):
        st.session_state["emb:url_read"] = True
        config = base
        if not st.session_state.get("_url_loaded"):
            config, warnings = config_from_query(st.query_params.to_dict(), base=base)
            for w in warnings:
                view_params.warn(w)
        _set_widgets(config)
        return
    last = st.session_state.get("emb:config")
    fill = last if _same_data(last, base) else base
    for field in FIELDS:
        st.session_state.setdefault(f"emb:{field}", _get(fill, field))


def _with(options: list, value: Any) -> list:
    return options if value in options else sorted([*options, value])


def _slider(container, label: str, field: str, options: list, help: str | None = None) -> None:
    key = f"emb:{field}"
    container.select_slider(label, _with(options, st.session_state[key]), key=key, help=help)


def sidebar_controls(sb) -> None:
    """The model and training settings (the data set is chosen above them)."""
    with sb.expander("Bottleneck (DKVB)", expanded=True):
        st.slider("Codebooks", 1, 64, key="emb:dkvb.num_codebooks", help="heads, each with its own keys; 1 to 64")
        _slider(st, "Keys per codebook", "dkvb.keys_per_codebook", KEYS_OPTIONS)
        _slider(st, "Key dimension", "dkvb.dim_keys", DIM_KEYS_OPTIONS, "each head: a fixed random projection")
        _slider(st, "Learning rate (values)", "dkvb.lr", LR_OPTIONS)
    with sb.expander("Stream and training", expanded=True):
        st.number_input(
            "Classes per stage",
            1,
            1000,
            step=1,
            key="emb:stream.classes_per_stage",
            help="ignored when the file has a Stage column; 1 to 1,000",
        )
        st.radio("Stage order", ["consecutive", "interleaved"], key="emb:stream.stage_order", horizontal=True)
        st.slider(
            "Held-out share",
            0.05,
            0.9,
            step=0.05,
            key="emb:stream.test_fraction",
            help="of each class, when the file has no split",
        )
        _slider(st, "Steps per stage", "train.steps_per_stage", STEPS_OPTIONS)
        _slider(st, "Batch size", "train.batch_size", BATCH_OPTIONS)
        st.multiselect("Models", list(REGISTRY), key="emb:train.models", format_func=MODEL_LABELS.get)
        st.number_input("Seed", 0, 2**31 - 1, step=1, key="emb:seed")


def config_from_widgets(base: Config) -> Config | None:
    """The widgets over ``base``; an invalid combination is named and the last valid config kept."""
    data = base.to_dict()
    for field in FIELDS:
        if "." in field:
            section, name = field.split(".")
            data[section][name] = st.session_state[f"emb:{field}"]
        else:
            data[field] = st.session_state[f"emb:{field}"]
    try:
        config = Config.from_dict(data)
    except ConfigError as exc:
        for field, message in exc.problems:
            plain_fault(f"{field}: {message}. Showing the last valid settings.")
        last = st.session_state.get("emb:config")
        return last if _same_data(last, base) else None
    st.session_state["emb:config"] = config
    return config


def plain_fault(message: str, container=None) -> None:
    """A fault as plain text (it may echo a file name or a cell of the file): never read as markdown."""
    plain.alert("error", "{}", message, container=container, icon=":material/error:")


@st.cache_resource(max_entries=4, show_spinner=False)
def _parse_upload(
    file_id: str, _data: bytes, per_stage: int, order: str, fraction: float, seed: int, name: str
) -> Stream:
    from dkvb_core.streams.features import load_features_stream  # pandas / pyarrow: only for a file

    return load_features_stream(_data, per_stage, order, fraction, seed, name)


def upload_stream(config: Config, slot) -> Stream | None:
    """The uploader (in ``slot``); a good file replaces the data, a bad one is named above the results, and
    the last good one is kept."""
    file = slot.file_uploader(
        "Features file (.npz, .csv, .parquet)",
        type=["npz", "csv", "parquet"],
        key="emb:file",
        max_upload_size=MAX_UPLOAD_MB,
        help="npz: x (N x D), y (N), optional stage and split; CSV/Parquet: Feature_1..Feature_D, Labels, "
        "optional Stage and Split. At most 100,000 samples, 4,096 features, 254 classes, 200 MB.",
    )
    if file is not None:
        s = config.stream
        try:
            stream = _parse_upload(
                file.file_id, file.getvalue(), s.classes_per_stage, s.stage_order, s.test_fraction,
                config.seed_of_stream, file.name[:80],
            )  # fmt: skip
            st.session_state["emb:upload_stream"] = stream
        except DataError as exc:
            plain.alert("error", "**{}** was not loaded. {}", file.name[:80], exc, icon=":material/error:")
    stream = st.session_state.get("emb:upload_stream")
    if stream is None:
        st.info("Upload a features file in the sidebar, or pick a built-in data set.", icon=":material/upload:")
    return stream


def run_with_progress(config: Config, stream: Stream | None) -> RunResult | None:
    """The cached run, with a bar through key initialisation and training; stopped if the session closes."""
    bar = st.progress(0.0, text="Starting…")

    def progress(done: int, total: int, phase: str = "train") -> None:
        share = min(done / max(total, 1), 1.0)
        what = f"Training… step {done:,} of {total:,}" if phase == "train" else f"Initialising keys… {share:.0%}"
        bar.progress(share, text=what)

    outcome = runs.try_run(config, stream=stream, progress=runs.SessionWatch(progress))
    bar.empty()
    if outcome.error:  # one line a fault (a budget refusal names several fields): plain text
        st.error("These settings cannot run:", icon=":material/error:")
        st.text(outcome.error)
        return None
    return outcome.result


@st.cache_resource(max_entries=8, show_spinner=False)
def _built_in_stream(config_json: str) -> Stream:
    return build_stream(Config.from_json(config_json))


@st.cache_resource(max_entries=8, show_spinner=False)
def _features(run_key: tuple[str, str], _result: RunResult, _stream: Stream):
    """The run's (train, test) features and their PCA, fitted once a run (another codebook reuses them)."""
    from dkvb_core.embedding_view import fit_pca, training_features

    features = training_features(_result.config, _stream)
    return features, fit_pca(features[0], _result.config.seed)


@st.cache_resource(max_entries=8, show_spinner=False)
def _pca(run_key: tuple[str, str], codebook: int, _result: RunResult, _stream: Stream):
    from dkvb_core.embedding_view import pca_view

    features, projection = _features(run_key, _result, _stream)
    return pca_view(_result, _stream, features, codebook=codebook, projection=projection)


def pca_section(result: RunResult, stream: Stream, key: tuple[str, str]) -> int:
    """The animated 2-D view; returns the codebook chosen (the keys section shows the same one)."""
    st.subheader("The features in 2-D")
    codebook = 0
    if "dkvb" in result.models:
        n_codebooks = result.models["dkvb"].final_values.shape[0]
        codebook = view_params.url_select(
            "DKVB codebook", "codebook", list(range(n_codebooks)), 0, container=st.columns([1, 4])[0]
        )
    view = _pca(key, codebook, result, stream)
    models = list(result.models)
    layout.chart(pca_charts.pca_animation(result, view, models, height=layout.chart_height(560)), key="emb:pca")
    st.caption(
        f"Held-out samples ({len(view.rows):,} shown) on the two main axes of the training features (PCA fitted "
        f"once: {pca_charts.axes_note(view)}), coloured by the class each model predicts after each stage "
        "(grey: no class). Press Play: a model "
        "that forgets paints everything in the newest stage's colours. Diamonds: DKVB's keys, placed at the mean "
        "of the training samples they own, coloured by their value's vote, sized by their use in that stage."
    )
    return codebook


def keys_section(result: RunResult, stream: Stream, codebook: int) -> None:
    st.subheader("Keys")
    rec = result.models["dkvb"]
    layout.chart(
        charts.key_usage_heatmap(rec.key_usage_stages, codebook, height=layout.chart_height(300)), key="emb:usage"
    )
    st.caption(
        "How often each key was fetched while each stage trained, keys sorted by the stage that used them most: "
        "a staircase means each stage works with its own keys."
    )
    if stream.images is not None:
        key_images_panel(result, stream, codebook, "emb", picker=st.columns([1, 2])[0])


def confusion_section(result: RunResult, stream: Stream) -> None:
    st.subheader("Confusion per stage")
    if stream.num_classes > MAX_CONFUSION_CLASSES:
        st.caption(f"{stream.num_classes} classes: too many to draw a confusion matrix a stage (at most 40).")
        return
    models = list(result.models)
    model = view_params.url_select(
        "Model", "cm_model", models, models[0], container=st.columns([1, 3])[0], format_func=MODEL_LABELS.get
    )
    cms = analysis.confusion_per_stage(result, stream, model)
    title = f"{MODEL_LABELS.get(model, model)}: share of each true class (rows) predicted as each class"
    layout.chart(
        charts.confusion_matrices(cms, stream.class_names, title, height=layout.chart_height(340)), key="emb:confusion"
    )


def results(config: Config, stream: Stream, result: RunResult, key: tuple[str, str]) -> None:
    stages = " | ".join(", ".join(stream.class_names[c] for c in classes) for classes in stream.stage_classes)
    what = f"{stream.input_dim:,} features"
    if config.stream.encoder == "cnn":
        trained_on = encoder_record(stream.name).get("trained_on", "")
        trained_on = TITLES.get(trained_on, trained_on or "another data set")
        what = f"{stream.input_dim:,} pixels, {EMBEDDING_DIM}-d embeddings of a CNN trained on {trained_on} only"
    plain.caption(  # plain text: the name is the uploaded file's
        "{}",
        f"{stream.name}: {len(stream.y_train):,} training and {len(stream.y_test):,} held-out samples of "
        f"{what}, {stream.num_classes} classes; stages: {stages[:120]}",
    )
    models = list(result.models)
    layout.final_accuracy_metrics(result.summaries(), precision=1)
    st.subheader("Accuracy and forgetting")
    matrices = forgetting_charts.accuracy_matrices(result, models, height=layout.chart_height(340))  # wraps rows
    layout.chart(matrices, key="emb:acc")
    st.caption("Accuracy on each stage's held-out data (columns) after training through each stage (rows).")
    layout.chart(charts.forgetting_bars(result, models, height=layout.chart_height(300)), key="emb:forgetting")
    codebook = pca_section(result, stream, key)
    if "dkvb" in result.models:
        keys_section(result, stream, codebook)
    if stream.images is not None:
        gallery_section(result, stream, "emb")
    confusion_section(result, stream)


def page() -> tuple[Config | None, Config]:
    """Draw the page; returns the config in force (None if none) and the data set's base, for the URL."""
    sb = st.sidebar
    source = view_params.url_select(
        "Data",
        "source",
        list(SOURCES),
        "example",
        container=sb,
        widget="radio",
        format_func=SOURCES.get,
        on_change=_source_changed,
    )
    base = base_config(source)
    seed_widgets(base)
    upload_slot = sb.container()  # the uploader sits right under the data choice, drawn once the config is known
    sidebar_controls(sb)
    config = config_from_widgets(base)
    missing = available_image_sets().get(source) if source in TITLES else None
    if missing:
        plain_fault(missing)
        return config, base
    if config is None:
        return None, base
    stream = upload_stream(config, upload_slot) if source == "upload" else _built_in_stream(config.to_json())
    if stream is None:
        return config, base
    fault = config.size_fault(stream.num_stages)  # a file's stages are only known once it is read
    if fault:
        plain_fault(fault)
        return config, base
    given = stream if config.stream.kind == "features" else None  # a file's size is known once read: the budget
    result = run_with_progress(config, given)
    if result is not None:
        results(config, stream, result, runs.run_key(config, given))
    return config, base


layout.page_header(
    "Embeddings",
    "Your own features, a frozen backbone's embeddings, arrive a few classes at a time. Does the bottleneck "
    "keep what it learned where a probe, an MLP or replay forget?",
)
_config, _base = None, base_config("example")
try:
    _config, _base = page()
except DataError as exc:
    plain_fault(str(exc))
finally:
    settings.sync_url(_config or _base, _base)
