"""The shared settings sidebar: widgets <-> Config <-> URL, and the data source (toy or upload).

Widget keys are ``cfg:<section.field>``. The last *valid* config lives in
``st.session_state["config"]``; an invalid combination shows a message naming the setting and
keeps the last good run on screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from app import plain, runs, view_params
from app.url_state import DEFAULTS, RANGES, config_from_query, config_to_query, flatten
from dkvb_core import Config, ConfigError, DataError, Stream
from dkvb_core.models import REGISTRY

PRESETS_2D: dict[str, dict[str, Any]] = {
    "The paper's toy (64 keys)": {},
    "Too few keys (4 keys)": {"dkvb.keys_per_codebook": 4},
    "Many codebooks (8 x 16 keys)": {"dkvb.num_codebooks": 8, "dkvb.keys_per_codebook": 16},
    "Adam optimiser": {"train.optimizer": "adam"},
    "Hard stream (12 classes, wide spread)": {
        "stream.num_classes": 12,
        "stream.classes_per_stage": 3,
        "stream.spread": 1.2,
    },
}
KEYS_OPTIONS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
LR_OPTIONS = [0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.3, 1.0, 3.0, 10.0]
STEPS_OPTIONS = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000]
BATCH_OPTIONS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1024]
EVERY_OPTIONS = [10, 20, 25, 50, 100, 200, 500, 1000]


def models_help(config: Config | None = None) -> str:
    """Each model's one-line description and what raw past data it keeps, for the models picker's help."""
    config = config or Config()
    return "\n\n".join(f"{spec.label}: {spec.description}. Keeps {spec.stores(config)}." for spec in REGISTRY.values())


def keeps_past_samples(config: Config) -> list[str]:
    """Labels of the chosen models that keep raw past samples, with how many (said next to the picker)."""
    return [
        f"{REGISTRY[m].label} keeps {REGISTRY[m].stores(config)}"
        for m in config.train.models
        if REGISTRY[m].keeps_samples(config)
    ]


def key(field: str) -> str:
    return f"cfg:{field}"


def current_config() -> Config:
    """The last valid config of this session (defaults before the first run)."""
    return st.session_state.get("config", Config())


def current_stream() -> Stream | None:
    """The uploaded stream in use, or None for the config's own (toy) stream."""
    if st.session_state.get("view:data") == "Your CSV":
        return st.session_state.get("upload_stream")
    return None


def _seed_widgets(config: Config) -> None:
    """Put ``config``'s values into widget state (for widgets not yet in the session)."""
    flat = {**DEFAULTS, **flatten(config.to_dict())}
    for field, value in flat.items():
        k = key(field)
        if k not in st.session_state:
            st.session_state[k] = list(value) if isinstance(value, list | tuple) else value


def _set_widgets(config: Config) -> None:
    for field, value in flatten(config.to_dict()).items():
        st.session_state[key(field)] = list(value) if isinstance(value, list | tuple) else value


def load_from_url_once() -> None:
    """On a session's first run, read the config from the URL (bad values -> defaults + warning)."""
    if st.session_state.get("_url_loaded"):
        return
    config, warnings = config_from_query(st.query_params.to_dict())
    if config.task != "classification":  # a Regression page link opened on a classification page
        warnings.append("task: these pages show classification; regression runs are on the Regression page")
        config = Config()
    st.session_state["config"] = config
    for w in warnings:
        view_params.warn(w)
    _set_widgets(config)
    st.session_state["_url_loaded"] = True


def _with(options: Sequence[Any], value: Any) -> list[Any]:
    """``options`` plus ``value`` (sorted in) so a value from a link is always selectable."""
    out = list(options)
    if value not in out:
        out = sorted([*out, value])
    return out


def _select_slider(container, label: str, field: str, options: Sequence[Any], help: str | None = None) -> Any:
    k = key(field)
    opts = _with(options, st.session_state[k])
    return container.select_slider(label, opts, key=k, help=help or RANGES.get(field))


def _apply_preset() -> None:
    name = st.session_state.get("preset_choice")
    if name in PRESETS_2D:
        _set_widgets(Config().replace(**PRESETS_2D[name]))


def render_sidebar() -> Config:
    """Draw the settings; return the config in force (the last valid one if the new one is not)."""
    load_from_url_once()
    _seed_widgets(current_config())
    sb = st.sidebar
    sb.selectbox(
        "Preset",
        list(PRESETS_2D),
        index=None,
        key="preset_choice",
        on_change=_apply_preset,
        placeholder="Choose…",
        help="A preset replaces every setting below (seed and steps included) with its own.",
    )
    sb.multiselect(
        "Models",
        list(REGISTRY),
        key=key("train.models"),
        format_func=lambda name: REGISTRY[name].label,
        help=models_help(current_config()),
    )
    for line in keeps_past_samples(current_config()):
        plain.caption("{}", line, container=sb)
    with sb.expander("Bottleneck (DKVB)", expanded=True):
        st.slider("Codebooks", 1, 64, key=key("dkvb.num_codebooks"), help=RANGES["dkvb.num_codebooks"])
        _select_slider(st, "Keys per codebook", "dkvb.keys_per_codebook", KEYS_OPTIONS)
        _select_slider(st, "Learning rate (values)", "dkvb.lr", LR_OPTIONS)
    with sb.expander("Training", expanded=True):
        st.radio("Optimiser", ["sgd", "adam"], key=key("train.optimizer"), horizontal=True)
        _select_slider(st, "Steps per stage", "train.steps_per_stage", STEPS_OPTIONS)
        _select_slider(st, "Batch size", "train.batch_size", BATCH_OPTIONS)
        _select_slider(st, "Learning rate (linear probe)", "linear.lr", LR_OPTIONS)
        _select_slider(st, "Learning rate (MLP)", "mlp.lr", LR_OPTIONS)
    with sb.expander("Stream", expanded=True):
        view_params.url_select("Data", "data", ["Toy Gaussians", "Your CSV"], "Toy Gaussians", container=st)
        st.slider("Classes", 2, 32, key=key("stream.num_classes"), help=RANGES["stream.num_classes"])
        st.slider(
            "Classes per stage", 1, 32, key=key("stream.classes_per_stage"), help=RANGES["stream.classes_per_stage"]
        )
        spread = st.session_state[key("stream.spread")]
        st.slider("Spread", min(0.1, spread), max(3.0, spread), step=0.05, key=key("stream.spread"))
        st.radio("Layout", ["circle", "grid", "random"], key=key("stream.layout"), horizontal=True)
        st.radio("Stage order", ["interleaved", "consecutive"], key=key("stream.stage_order"), horizontal=True)
        st.number_input("Seed", 0, 2**31 - 1, step=1, key=key("seed"))
    with sb.expander("Recording"):
        _select_slider(st, "Frame every … steps", "record.every", EVERY_OPTIONS)
    config = _config_from_widgets()
    if st.session_state.get("view:data") == "Your CSV":
        render_upload(config)
    return config


def _config_from_widgets() -> Config:
    updates = {}
    for field in DEFAULTS:
        k = key(field)
        if k in st.session_state:
            updates[field] = st.session_state[k]
    base = current_config().to_dict()
    for field, value in updates.items():
        if "." in field:
            section, name = field.split(".", 1)
            base[section][name] = value
        else:
            base[field] = value
    try:
        config = Config.from_dict(base)
    except ConfigError as exc:
        for field, message in exc.problems:
            plain.alert(
                "error",
                "**{}**: {}. Showing the last valid settings.",
                field,
                message,
                container=st.sidebar,
                icon=":material/error:",
            )
        st.session_state["settings_problems"] = exc.problems
        return current_config()
    st.session_state["settings_problems"] = []
    st.session_state["config"] = config
    return config


def settings_problems() -> list[tuple[str, str]]:
    """Why the sidebar's current settings cannot run (empty when they can): ``(field, message)`` pairs."""
    return list(st.session_state.get("settings_problems", []))


def render_upload(config: Config) -> None:
    """The CSV uploader: a good file replaces the data; a bad one is reported and changes nothing."""
    st.sidebar.file_uploader(
        "CSV with Feature_1, Feature_2, Labels (optional Stage)",
        type=["csv"],
        key="upload_file",
        max_upload_size=5,  # the CSV loader's limit (the server allows 200 MB for the Embeddings page)
        help="The seed notebook's format; at most 50,000 rows and 5 MB. Labels are whole numbers.",
    )
    file = st.session_state.get("upload_file")
    if file is None:  # removed, or refused by the uploader itself (too large): no older file's fault stays shown
        st.session_state.pop("upload_error", None)
        if st.session_state.get("upload_stream") is None:
            st.sidebar.info("No file yet: the toy stream is shown until a valid CSV is uploaded.")
        return
    data = file.getvalue()
    try:
        stream = runs.stream_from_upload(data, config)
    except DataError as exc:
        st.session_state["upload_error"] = f"{file.name}: {exc}"
        plain.alert("error", "**{}** was not loaded. {}", file.name, exc, container=st.sidebar, icon=":material/error:")
        return
    st.session_state.pop("upload_error", None)
    st.session_state["upload_stream"] = stream
    st.session_state["upload_name"] = file.name
    rows = len(stream.y_train) + len(stream.y_test)
    plain.alert(
        "success",
        "Using **{}**: {} rows, {} classes, {} stages.",
        file.name,
        f"{rows:,}",
        stream.num_classes,
        stream.num_stages,
        container=st.sidebar,
    )


def sync_url(config: Config | None = None, base: Config | None = None) -> None:
    """Write the config (the shared settings' by default) and the view settings that differ from the
    defaults (or from a page's ``base`` config) into the URL."""
    wanted = {**config_to_query(current_config() if config is None else config, base), **view_params.view_query()}
    if st.session_state.get("present"):
        wanted["present"] = "1"
    managed = set(DEFAULTS) | view_params.managed_keys() | {"present"}
    current = st.query_params.to_dict()
    for k in list(current):
        if k in managed and k not in wanted:
            del st.query_params[k]
    for k, v in wanted.items():
        if current.get(k) != v:
            st.query_params[k] = v
