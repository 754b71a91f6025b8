"""Links for pages whose settings are not the shared run Config (Images, Sweeps): chosen widgets
live in the URL as ``view.<name>`` (only where they differ from the page's defaults), and a link's
values are checked before any widget uses them: a bad one is replaced by the default with a
warning naming the parameter and what it accepts.

A page lists its widgets as :class:`Linked` (widget key, URL name, parser), calls :func:`restore`
before drawing them and :func:`remember` after; ``app/main.py`` writes the URL at the end of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from app import view_params

Parser = Callable[[str], Any]


@dataclass(frozen=True)
class Linked:
    """A widget kept in the link: its session key, its URL name (after ``view.``) and its parser."""

    key: str
    name: str
    parse: Parser


def choice(options: Sequence[Any]) -> Parser:
    """One of ``options`` (compared by their link text)."""

    def parse(text: str) -> Any:
        for option in options:
            if view_params.encode(option) == text:
                return option
        raise ValueError(f"one of {', '.join(view_params.encode(o) for o in options)[:160]}")

    return parse


def whole(lo: int, hi: int) -> Parser:
    """A whole number in ``lo..hi``."""

    def parse(text: str) -> int:
        if not text.strip().lstrip("-").isdigit() or not lo <= int(text) <= hi:
            raise ValueError(f"a whole number from {lo} to {hi}")
        return int(text)

    return parse


def number(lo: float, hi: float) -> Parser:
    """A number in ``(lo, hi]``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not lo < value <= hi:
            raise ValueError(f"a number in ({lo}, {hi}]")
        return value

    return parse


def names(allowed: Sequence[str], at_least: int = 1) -> Parser:
    """Comma-separated names, each one of ``allowed``."""

    def parse(text: str) -> list[str]:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if len(parts) < at_least or any(p not in allowed for p in parts) or len(set(parts)) != len(parts):
            raise ValueError(f"comma-separated names from {', '.join(allowed)}")
        return parts

    return parse


def text(max_chars: int) -> Parser:
    """Any text of at most ``max_chars`` characters."""

    def parse(value: str) -> str:
        if len(value) > max_chars:
            raise ValueError(f"a text of at most {max_chars} characters")
        return value

    return parse


def restore(links: Iterable[Linked], flag: str, params: Mapping[str, str] | None = None) -> None:
    """Once per session (``flag``): put the link's valid values into the widgets' state; warn about the rest."""
    if st.session_state.get(flag):
        return
    st.session_state[flag] = True
    params = st.query_params if params is None else params
    for link in links:
        raw = params.get(view_params.PREFIX + link.name)
        if raw is None:
            continue
        try:
            st.session_state[link.key] = link.parse(raw)
        except ValueError as exc:
            view_params.warn(f"{view_params.PREFIX}{link.name}: {raw[:40]!r} is not allowed ({exc}); using the default")


def remember(links: Iterable[Linked], defaults: Mapping[str, Any]) -> None:
    """Keep the widgets' current values in the link (those equal to ``defaults[key]`` are left out)."""
    for link in links:
        if link.key in st.session_state:
            view_params.remember(link.name, st.session_state[link.key], defaults.get(link.key))
