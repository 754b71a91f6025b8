"""View settings that are not part of a run's Config (presentation mode, which chart shows what).

They live in the URL as ``view.<name>`` so a shared link reproduces the view. A bad value falls
back to the default with a warning naming the parameter and what it accepts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

import streamlit as st

T = TypeVar("T")
PREFIX = "view."
_STATE = "_view_params"


def _store() -> dict[str, str]:
    if _STATE not in st.session_state:
        st.session_state[_STATE] = {}
    return st.session_state[_STATE]


def read_choice(name: str, options: Sequence[T], default: T, params: Mapping[str, str] | None = None) -> T:
    """The URL's value of ``view.<name>`` if it is one of ``options``; else ``default`` (+ warning)."""
    params = st.query_params if params is None else params
    raw = params.get(PREFIX + name)
    if raw is None:
        return default
    for option in options:
        if encode(option) == raw:
            return option
    allowed = ", ".join(encode(o) for o in options)
    warn(f"{PREFIX}{name}: {raw[:40]!r} is not allowed (one of {allowed}); using {encode(default)}")
    return default


def encode(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def remember(name: str, value: object, default: object) -> None:
    """Record a view setting for the URL (written once per run by :func:`app.settings.sync_url`)."""
    _store()[PREFIX + name] = "" if value == default else encode(value)


def start_run() -> None:
    """A full run starts: forget the view settings remembered so far (they stay managed, so a page that
    does not draw them again drops them from the URL: Keys' ``view.compare`` does not follow you to Forgetting)."""
    store = _store()
    for k in store:
        store[k] = ""


def view_query() -> dict[str, str]:
    """The view settings that differ from their defaults."""
    return {k: v for k, v in _store().items() if v != ""}


def managed_keys() -> set[str]:
    return set(_store())


def warn(message: str) -> None:
    """Queue a warning about the URL, shown once at the top of the page."""
    st.session_state.setdefault("_url_warnings", [])
    if message not in st.session_state["_url_warnings"]:
        st.session_state["_url_warnings"].append(message)


def url_toggle(label: str, name: str, default: bool, help: str | None = None, container=None) -> bool:
    """A toggle whose state lives in the URL as ``view.<name>=1/0``."""
    key = f"view:{name}"
    if key not in st.session_state:
        st.session_state[key] = read_choice(name, [True, False], default)
    value = bool((container or st).toggle(label, key=key, help=help))
    remember(name, value, default)
    return value


def url_select(
    label: str, name: str, options: Sequence[T], default: T, container=None, widget: str = "selectbox", **kwargs
) -> T:
    """A choice (selectbox, radio or segmented_control) that lives in the URL as ``view.<name>``."""
    key = f"view:{name}"
    if key not in st.session_state or st.session_state[key] not in options:
        st.session_state[key] = read_choice(name, options, default)
    value = getattr(container or st, widget)(label, options, key=key, **kwargs)
    if value is None:  # a segmented control can be deselected: keep the default
        value = default
    remember(name, value, default)
    return value


def sync_url() -> None:
    """Write the view settings (and presentation mode) into the URL, for pages without the shared
    run settings (``app.settings.sync_url`` does this, and the config, for the others)."""
    wanted = view_query()
    if st.session_state.get("present"):
        wanted["present"] = "1"
    current = st.query_params.to_dict()
    for k in list(current):
        if (k in managed_keys() or k == "present") and k not in wanted:
            del st.query_params[k]
    for k, v in wanted.items():
        if current.get(k) != v:
            st.query_params[k] = v
