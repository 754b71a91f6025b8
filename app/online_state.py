"""The Online page's settings: widgets <-> Config <-> URL, against the data's preset (``osaka`` /
``osaka-digits``). Only the page's own fields go into its links; a bad value in a link falls back to
the preset's with a warning naming the field (:func:`app.url_state.config_from_query`)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import view_params
from app.url_state import config_from_query, config_to_query, flatten
from dkvb_core import Config, ConfigError
from dkvb_core.presets import preset

DATA = {"toy": "Toy Gaussians (2-D)", "digits": "Digits, then Fashion-MNIST"}
PRESETS = {"toy": "osaka", "digits": "osaka-digits"}
FIELDS = (
    "train.models",
    "online.p",
    "online.mode_probs",
    "online.n_way",
    "online.steps",
    "online.pretrain_steps",
    "online.labels",
    "dkvb.keys_per_codebook",
    "seed",
)


def key(field: str) -> str:
    return f"online:{field}"


def base_config(kind: str) -> Config:
    """The page's starting point for a data choice: its preset."""
    return preset(PRESETS[kind])


def _widget_value(field: str, value: Any) -> Any:
    if field == "online.mode_probs":
        return ", ".join(f"{v:g}" for v in value)
    return list(value) if isinstance(value, list | tuple) else value


def set_widgets(config: Config) -> None:
    flat = flatten(config.to_dict())
    for field in FIELDS:
        st.session_state[key(field)] = _widget_value(field, flat[field])


def load_preset() -> None:
    """The data choice changed: every control takes the new preset's value."""
    set_widgets(base_config(st.session_state[key("data")]))


def load_from_url_once() -> None:
    """On the page's first run in a session, read its settings from the URL; later, restore controls
    that Streamlit dropped while another page was shown."""
    if st.session_state.get("online:url_loaded"):
        if any(key(f) not in st.session_state for f in (*FIELDS, "data")):
            st.session_state.setdefault(key("data"), st.session_state["online:config"].stream.kind)
            set_widgets(st.session_state["online:config"])
        return
    params = st.query_params.to_dict()
    kind = params.pop("stream.kind", "toy")
    if kind not in DATA:
        view_params.warn(f"stream.kind: {kind[:40]!r} is not offered here (one of {', '.join(DATA)}); using toy")
        kind = "toy"
    config, warnings = config_from_query(params, base=base_config(kind), fields=FIELDS)
    for w in warnings:
        view_params.warn(w)
    st.session_state[key("data")] = kind
    set_widgets(config)
    st.session_state["online:config"] = config
    st.session_state["online:url_loaded"] = True


def parse_probs(text: str) -> list[float]:
    """'0.5, 0.25, 0.25' -> [0.5, 0.25, 0.25]; a ConfigError naming the field otherwise."""
    try:
        return [float(part) for part in str(text).replace(";", ",").split(",") if part.strip()]
    except ValueError:
        shown = str(text)[:60]
        raise ConfigError(
            [("online.mode_probs", f"write numbers separated by commas, e.g. 0.5, 0.25, 0.25; got {shown!r}")]
        ) from None


def config_from_widgets() -> tuple[Config, list[tuple[str, str]]]:
    """The config the controls describe, or the last valid one and the problems ``(field, message)``."""
    kind = st.session_state.get(key("data"), "toy")
    data = base_config(kind).to_dict()
    try:
        for field in FIELDS:
            value = st.session_state.get(key(field))
            if field == "online.mode_probs":
                value = parse_probs(value)
            if "." in field:
                section, name = field.split(".")
                data[section][name] = value
            else:
                data[field] = value
        config = Config.from_dict(data)
    except ConfigError as exc:
        return st.session_state.get("online:config", base_config(kind)), list(exc.problems)
    st.session_state["online:config"] = config
    return config, []


def sync_url(config: Config) -> None:
    """Write the page's fields that differ from the preset into the URL (and the data choice)."""
    kind = config.stream.kind if config.stream.kind in DATA else "toy"
    wanted = config_to_query(config, base=base_config(kind), fields=FIELDS)
    if kind != "toy":
        wanted["stream.kind"] = kind
    if st.session_state.get("present"):
        wanted["present"] = "1"
    current = st.query_params.to_dict()
    for k in list(current):
        if k in (*FIELDS, "stream.kind", "present") and k not in wanted:
            del st.query_params[k]
    for k, v in wanted.items():
        if current.get(k) != v:
            st.query_params[k] = v
