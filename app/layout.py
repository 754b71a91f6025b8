"""Look and feel shared by the pages: presentation mode, CSS for projectors, URL warnings, headers."""

from __future__ import annotations

import urllib.parse
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
  .dkvb-story-title { font-weight: 700; font-size: 0.9rem; opacity: 0.75; }
  .dkvb-story-caption { font-size: 1.12rem; line-height: 1.45; }
  .dkvb-theme-link { font-size: 0.9rem; text-decoration: none; }
  /* No fade of the page while a run trains: the spinner and the progress bar say it is on its way, a
     projector shows no flicker, and a fading 6-panel chart costs the browser ~0.15 s of CPU a second on
     the cores the run needs (benchmarks/bench_browser.py, six models). */
  [data-testid="stElementContainer"][data-stale="true"] { opacity: 1 !important; transition: none !important; }
</style>
"""
PRESENT_CSS = """
<style>
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
  [data-testid="stExpandSidebarButton"] { display: none; }
  .block-container { padding-top: 3.2rem; max-width: 100%; }
  html { font-size: 19px; }
  h1 { font-size: 2.6rem !important; }
  /* a 720p projector: less air above the title, so the chart keeps its height */
  @media (max-height: 800px) {
    html { font-size: 17px; }
    .block-container { padding-top: 1.2rem; }
    h1 { font-size: 2.1rem !important; padding-top: 0.2rem; }
  }
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


PRESENT_FONT_SCALE = 1.3


def font_scale() -> float:
    """Chart text grows with the page in presentation mode (read from across the room)."""
    return PRESENT_FONT_SCALE if st.session_state.get("present") else 1.0


def dark_mode() -> bool:
    """True when the page shows the dark theme (a dark room): charts are then drawn dark too."""
    try:
        return st.context.theme.type == "dark"
    except Exception:  # no browser (AppTest) or an older Streamlit
        return False


def theme_link() -> str:
    """A markdown link to this page in the other theme (Streamlit switches themes only by link or menu)."""
    params = {k: v for k, v in st.query_params.to_dict().items() if k != "embed_options"}
    params["embed_options"] = "light_theme" if dark_mode() else "dark_theme"
    query = urllib.parse.urlencode(params)
    label = "☀ Light room" if dark_mode() else "☾ Dark room"
    return f'<a href="?{query}" target="_self" class="dkvb-theme-link">{label}</a>'


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
    right.markdown(theme_link(), unsafe_allow_html=True)


def chart(fig, key: str, container=None) -> None:
    """Draw a plotly figure with the app's chart settings (own styling, lean mode bar), darkened on a
    dark page and with larger text in presentation mode."""
    from app.charts.common import darken, scale_fonts

    if dark_mode():
        darken(fig)
    if font_scale() != 1.0:
        fig = scale_fonts(fig.to_plotly_json(), font_scale())
    (container or st).plotly_chart(fig, key=key, config=CHART_CONFIG, theme=None)


def forgetting_colour(forgetting: float) -> str:
    """Badge colour of a forgetting value: green when (almost) nothing is forgotten, orange for some, red for much."""
    if forgetting < 0.05:
        return "green"
    return "orange" if forgetting < 0.25 else "red"


def final_accuracy_metrics(summaries: dict[str, dict], precision: int = 0) -> None:
    """One metric a model (three a row beyond four models): final accuracy over every stage, with its
    forgetting as the delta and the model's one-line description at hand (the ? next to it)."""
    from app.charts.palette import MODEL_LABELS, model_description

    items = list(summaries.items())
    per_row = len(items) if len(items) <= 4 else 3
    for start in range(0, len(items), per_row):
        row = items[start : start + per_row]
        for col, (name, s) in zip(st.columns(per_row), row, strict=False):
            col.metric(
                f"{MODEL_LABELS.get(name, name)}: final accuracy",
                f"{s['average_accuracy']:.{precision}%}",
                delta=f"forgetting {s['forgetting']:.0%}",
                delta_color=forgetting_colour(s["forgetting"]),
                delta_arrow="off",  # a text badge: an arrow read "up" even for no forgetting at all
                help=f"{model_description(name)}  \nFinal accuracy: mean accuracy over every stage's held-out "
                "data at the end; forgetting: mean drop from each stage's best accuracy to its final one.",
            )


def preload_chart_library(slot, note_slot=None) -> None:
    """Start loading the chart library (~0.4-1 s to fetch and parse) while the server prepares the
    page's run; ``slot`` stays for the whole run (emptied early, the browser may never mount the
    loader). In ``note_slot``, a note that the run waits for a fresh server's engine."""
    from app import cockpit

    if note_slot is not None:
        note_slot.caption("Starting the engine (first visit after a server start)…")
    cockpit.preload(slot)


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
