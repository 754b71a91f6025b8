"""The presenter's cockpit: animated charts that keep their place, keyboard and clicker keys, and a
drawing plane. One Streamlit custom component (v2, ``app/cockpit.js``) drawn with the app's own
copy of plotly.js (:mod:`app.vendor`).

How a page uses it:

- An animated chart: build the figure as usual (frames named by frame index, and
  ``charts.boundaries.animation_controls`` for the scrubber: its labelled steps become the player's
  stage-end jumps), then ``frame = cockpit.player(fig, key="my_chart")`` instead of
  ``layout.chart``. The player keeps the shown frame, play state and speed across reruns, view
  toggles and a page change (by ``key``); Space, ←/→, Home/End and PageUp/PageDown drive the chart
  the presenter last touched (else the first on the page); the ``?`` button lists the keys. It reports
  the frame (a frame name) to Python only on pause and on a step, so playing causes no reruns.
  ``url_name="frame"`` keeps that frame in the link as ``view.frame``; ``start="last"`` opens
  on the last frame. A story step (:mod:`app.story`) moves a player with :func:`request_seek`.
- A drawing plane: :func:`drawing` returns the points drawn so far as ``[x, y, class, stage]``.

The alternative, ``st.plotly_chart`` with a stable key and ``uirevision``, cannot keep the frame
when the figure itself changes (a toggle adds traces: new JSON, and plotly resets the scrubber to
what the JSON says), never tells Python the frame, and exposes no plotly object to drive from keys.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from app import vendor, view_params

HERE = Path(__file__).resolve().parent
FRAME_MS = 140
_SEEKS = "_cockpit_seeks"
_FRAMES = "_cockpit_frames"
# Figure JSON by the object it was drawn from (a cached run) and the drawing options: a rerun that
# changes nothing in the chart (a frame report, a toggle back) sends the same bytes without building.
_JSON_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple, tuple[str, list[str], list[dict[str, Any]], str]]]
_JSON_CACHE = weakref.WeakKeyDictionary()
_JSON_LOCK = threading.Lock()
MAX_FIGURES_A_RUN = 8


@functools.cache
def _component():
    return st.components.v2.component(
        "dkvb_cockpit",
        js=(HERE / "cockpit.js").read_text(encoding="utf-8"),
        css=(HERE / "cockpit.css").read_text(encoding="utf-8"),
        isolate_styles=False,  # plotly adds its own styles to the document
    )


def _payload(header: dict[str, Any], body: str = "") -> bytes:
    return (json.dumps(header, separators=(",", ":")) + "\n" + body).encode("utf-8")


def stage_ends(layout: dict[str, Any]) -> list[dict[str, Any]]:
    """The labelled scrubber steps of a figure made with ``animation_controls``: ``[{pos, label}]``."""
    sliders = layout.get("sliders") or []
    if not sliders:
        return []
    return [{"pos": i, "label": s.get("label")} for i, s in enumerate(sliders[0].get("steps", [])) if s.get("label")]


def figure_json(fig, font_scale: float = 1.0) -> tuple[str, list[str], list[dict[str, Any]]]:
    """The figure as JSON without plotly's own Play button and scrubber (the player draws its own),
    with its text scaled by ``font_scale``; its frame names and its stage ends."""
    from app.charts.common import scale_fonts

    spec = fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else dict(fig)
    if font_scale != 1.0:
        spec = scale_fonts(spec, font_scale)
    layout = dict(spec.get("layout") or {})
    ends = stage_ends(layout)
    layout.pop("updatemenus", None)
    layout.pop("sliders", None)
    layout.pop("width", None)
    layout["autosize"] = True  # the width follows the page (and a window resize)
    layout.setdefault("margin", {})
    layout["margin"] = {**layout["margin"], "b": 10}
    names = [str(f.get("name")) for f in spec.get("frames") or []]
    import plotly.io as pio

    body = pio.to_json(
        {"data": spec.get("data", []), "layout": layout, "frames": spec.get("frames", [])}, validate=False
    )
    return body, names, ends


def request_seek(key: str, frame: str | int) -> None:
    """Move player ``key`` to ``frame`` on its next draw: a frame name, ``"start"``, ``"end"`` or
    ``"stage N"`` (the end of stage N, 1-based). Key ``"*"``: the next page's main animation (the
    player drawn with ``url_name="frame"``)."""
    seeks = st.session_state.setdefault(_SEEKS, {})
    st.session_state["_cockpit_seek_token"] = token = st.session_state.get("_cockpit_seek_token", 0) + 1
    seeks[key] = (frame, token)


def _resolve(frame: str | int, names: list[str], ends: list[dict[str, Any]]) -> int | None:
    text = str(frame).strip().lower()
    if text == "start":
        return 0
    if text == "end":
        return len(names) - 1
    if text.startswith("stage "):
        k = text.split(" ", 1)[1]
        if k.isdigit() and len(k) <= 6 and 1 <= int(k) <= len(ends):  # a link's text: never int() of 5,000 digits
            return int(ends[int(k) - 1]["pos"])
        return None
    return names.index(str(frame)) if str(frame) in names else None


def _cached_json(
    fig, scale: float, cache: tuple[Any, tuple] | None, base: str | None = None
) -> tuple[str, list[str], list[dict], str, str | None]:
    """``figure_json`` of ``fig`` (a figure, a function building it, or with ``base`` a function of the
    frame the figure should show), its digest and that frame; from the cache when ``cache = (owner,
    options)`` was seen (``owner``: the object drawn, e.g. the cached RunResult). A cached figure keeps
    the frame it was built on: a new frame alone never rebuilds (nor redraws) it."""

    def build() -> tuple[str, list[str], list[dict], str, str | None]:
        made = fig if not callable(fig) else (fig(base) if base is not None else fig())
        body, names, ends = figure_json(made, scale)
        built_on = base if base in names else None  # a frame from a link may name no frame at all
        return body, names, ends, hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest(), built_on

    if cache is None:
        return build()
    owner, options = cache
    options = (*options, scale)
    with _JSON_LOCK:
        hit = _JSON_CACHE.get(owner, {}).get(options)
    if hit is not None:
        return hit
    entry = build()
    with _JSON_LOCK:
        per_owner = _JSON_CACHE.setdefault(owner, {})
        if len(per_owner) >= MAX_FIGURES_A_RUN:
            per_owner.pop(next(iter(per_owner)))
        per_owner[options] = entry
    return entry


def player(
    fig: Any | Callable[[], Any],
    key: str,
    *,
    start: str | int = "start",
    url_name: str | None = None,
    config=None,
    font_scale: float | None = None,
    cache: tuple[Any, tuple] | None = None,
    base: str | int = "start",
    base_follows_frame: bool = False,
) -> str | None:
    """Draw an animated figure in the cockpit player; the frame name the presenter left it on
    (reported on pause and step), or None before any report. ``font_scale`` defaults to the page's
    (larger in presentation mode). ``fig`` may be a function that builds the figure, and ``cache``
    ``(run, options)``: the figure is then built once per run and options (weakly keyed on the run).
    ``base``: the frame the figure's own data and layout show (``"start"``, ``"end"``...): opening there
    needs no second draw. ``base_follows_frame``: ``fig`` is a function of a frame name, and a new
    figure (new data) is built on the frame the presenter left the player on: one draw, not a draw of
    the first frame and then a second of that frame (six panels at the last frame: 1.45 -> 1.25 s)."""
    from app import layout

    scale = layout.font_scale() if font_scale is None else font_scale
    frames = st.session_state.setdefault(_FRAMES, {})
    if url_name and key not in frames:  # the link's frame, read once per session
        frames[key] = st.query_params.get(view_params.PREFIX + url_name)
    wanted = str(frames.get(key) or "") if base_follows_frame else None
    body, names, ends, digest, built_on = _cached_json(fig, scale, cache, wanted)
    if built_on:
        base = built_on
    first = _resolve(frames.get(key) or start, names, ends)
    seeks = st.session_state.get(_SEEKS, {})
    if url_name == "frame" and "*" in seeks:  # a story step's frame goes to the page's main animation
        seeks[key] = seeks.pop("*")
    seek = seeks.get(key)
    seek_pos = _resolve(seek[0], names, ends) if seek else None
    header = {
        "kind": "player",
        "id": key,
        "plotlyUrl": vendor.plotly_js_url(),
        "figId": digest,
        "start": 0 if first is None else first,
        "base": _resolve(base, names, ends),
        "stageEnds": ends,
        "frameMs": FRAME_MS,
        "fit": bool(st.session_state.get("present")),
        "config": config or {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]},
        "seek": {"pos": seek_pos, "token": seek[1]} if seek and seek_pos is not None else None,
    }
    state = _component()(key=f"cockpit_{key}", data=_payload(header, body), on_frame_change=lambda: None)
    reported = state.get("frame") if hasattr(state, "get") else getattr(state, "frame", None)
    if reported is not None:
        frames[key] = reported
    if url_name:
        shown = frames.get(key)
        view_params.remember(url_name, shown if shown in names else "", "")
    return frames.get(key)


def story_keys(active: bool) -> str | None:
    """The keyboard's story hook (no UI): while ``active``, PageDown/PageUp ask for the next or previous
    story step instead of a stage end. Returns ``"next"``/``"prev"`` on the run such a key caused."""
    state = _component()(
        key="cockpit_story_keys",
        data=_payload({"kind": "keys", "active": bool(active)}),
        on_nav_change=lambda: None,
        height=0,
    )
    return state.get("nav") if hasattr(state, "get") else getattr(state, "nav", None)


def drawing(
    key: str,
    classes: list[tuple[str, str]],
    stages: int,
    bounds: tuple[float, float, float, float],
    points: list[list[float]],
    version: int,
    height: int = 460,
    max_points: int = 2000,
) -> list[list[float]] | None:
    """A plane to draw a stream on: ``classes`` as (name, colour); returns the points as
    ``[x, y, class, stage]`` after each stroke, undo or clear (None before the first). ``points`` and a
    new ``version`` replace what is drawn (e.g. after loading an example)."""
    header = {
        "kind": "draw",
        "id": key,
        "plotlyUrl": vendor.plotly_js_url(),
        "classes": [{"name": n, "colour": c} for n, c in classes],
        "stages": stages,
        "bounds": list(bounds),
        "points": points,
        "version": version,
        "maxPoints": max_points,
        "layout": {"height": height, "margin": {"l": 30, "r": 10, "t": 10, "b": 30}},
    }
    state = _component()(key=f"cockpit_{key}", data=_payload(header), on_points_change=lambda: None)
    return state.get("points") if hasattr(state, "get") else getattr(state, "points", None)


def preload(container=None) -> None:
    """Start loading the chart library (no UI): a session's first page calls it before its run is ready."""
    with container or st.container():
        _component()(
            key="cockpit_preload", data=_payload({"kind": "preload", "plotlyUrl": vendor.plotly_js_url()}), height=0
        )
