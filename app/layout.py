"""Look and feel shared by the pages: presentation mode, CSS for projectors, URL warnings, headers."""

from __future__ import annotations

from typing import NoReturn

import streamlit as st

BASE_CSS = """
<style>
  h1 { font-size: 2.2rem !important; }
  [data-testid="stMetricValue"] { font-size: 2.0rem; }
  [data-testid="stCaptionContainer"] { font-size: 0.98rem; }
  .block-container { padding-top: 2.6rem; }
  /* region maps are small class-id images stretched over the panel: keep their cells crisp */
  .js-plotly-plot .layer-below image, .js-plotly-plot .layer-above image { image-rendering: pixelated; }
</style>
"""
PRESENT_CSS = """
<style>
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
  [data-testid="stExpandSidebarButton"] { display: none; }
  .block-container { padding-top: 3.2rem; max-width: 100%; }
  html { font-size: 19px; }
  h1 { font-size: 2.6rem !important; }
</style>
"""


class PageEnd(Exception):  # noqa: N818 - a signal, not an error
    """Raised by :func:`end_page`; ``app/main.py`` catches it and finishes the run as usual."""


def end_page() -> NoReturn:
    """Stop drawing the page here (it has said why), unlike ``st.stop()`` still letting the entry
    script finish: placeholders are cleared, link warnings shown and the URL kept in sync."""
    raise PageEnd


def presentation_mode() -> bool:
    """Presentation mode hides the controls and enlarges the charts; ``present=1`` in the URL."""
    if "present" not in st.session_state:
        st.session_state["present"] = st.query_params.get("present") == "1"
    return bool(st.session_state["present"])


def _set_present(on: bool) -> None:
    st.session_state["present"] = on


def inject_css(present: bool) -> None:
    st.html(BASE_CSS + (PRESENT_CSS if present else ""))


def chart_height(normal: int) -> int:
    """Charts grow a little in presentation mode (width, not height, limits the square panels)."""
    return int(normal * 1.1) if st.session_state.get("present") else normal


# Charts keep their own projector styling (theme=None) and a lean mode bar.
CHART_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


def page_header(title: str, subtitle: str) -> None:
    """Title, a one-line explanation, and the presentation-mode switch on the right."""
    left, right = st.columns([5, 1.3], vertical_alignment="bottom")
    left.title(title)
    left.caption(subtitle)
    if st.session_state.get("present"):
        right.button("Exit presentation", on_click=_set_present, args=(False,), icon=":material/close_fullscreen:")
    else:
        right.button("Present", on_click=_set_present, args=(True,), icon=":material/slideshow:", key="present_on")


def chart(fig, key: str, container=None) -> None:
    """Draw a plotly figure with the app's chart settings (own styling, lean mode bar)."""
    (container or st).plotly_chart(fig, key=key, config=CHART_CONFIG, theme=None)


def forgetting_colour(forgetting: float) -> str:
    """Badge colour of a forgetting value: green when (almost) nothing is forgotten, orange for some, red for much."""
    if forgetting < 0.05:
        return "green"
    return "orange" if forgetting < 0.25 else "red"


def final_accuracy_metrics(summaries: dict[str, dict], precision: int = 0) -> None:
    """One metric a model: final accuracy over every stage, with its forgetting as the delta."""
    from app.charts.palette import MODEL_LABELS

    for col, (name, s) in zip(st.columns(len(summaries)), summaries.items(), strict=True):
        col.metric(
            f"{MODEL_LABELS.get(name, name)}: final accuracy",
            f"{s['average_accuracy']:.{precision}%}",
            delta=f"forgetting {s['forgetting']:.0%}",
            delta_color=forgetting_colour(s["forgetting"]),
            delta_arrow="off",  # a text badge: an arrow read "up" even for no forgetting at all
            help="Mean accuracy over every stage's held-out data at the end; forgetting: mean drop from each "
            "stage's best accuracy to its final one.",
        )


def preload_chart_library(slot, engine_starting: bool) -> None:
    """An empty chart, so the browser fetches and parses the chart library (~1-2 s) while the
    server prepares the page's run, and a note when that run waits for a fresh server's engine."""
    with slot.container():
        if engine_starting:
            st.caption("Starting the engine (first visit after a server start)…")
        st.plotly_chart(
            {
                "data": [{"type": "scatter", "x": [], "y": [], "hoverinfo": "skip"}],
                "layout": {
                    "height": 40,
                    "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
                    "xaxis": {"visible": False},
                    "yaxis": {"visible": False},
                },
            },
            key="chart_library_preload",
            config={"staticPlot": True, "displayModeBar": False},
            theme=None,
        )


def show_url_warnings(container=None) -> None:
    """Warnings about the link that opened the page (bad values replaced by defaults), once."""
    from app import plain

    warnings = st.session_state.pop("_url_warnings", [])
    if warnings:  # they echo the link's keys and values: plain text, never markdown
        template = "Some settings in the link were not valid and were replaced by defaults:\n\n"
        plain.alert(
            "warning",
            template + "\n".join("- {}" for _ in warnings),
            *warnings,
            container=container,
            icon=":material/link_off:",
        )
