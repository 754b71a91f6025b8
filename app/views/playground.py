"""Playground: decision boundaries of DKVB and the baselines, animated through the stages."""

from __future__ import annotations

import streamlit as st

from app import cockpit, current, downloads, layout, settings, view_params
from app.charts import boundaries, gif
from app.charts.keys import class_legend_html

layout.page_header(
    "Playground",
    "A stream arrives in stages of new classes. Watch which model keeps the old classes: "
    "DKVB only updates the values of the keys it fetches, so earlier regions stay put.",
)
result = current.page_result()

VIEWS = {"animation": "▶ Animation", "paper": "The paper's toy figure"}
models = list(result.models)
if result.grid is None:
    st.warning("Decision boundaries need 2-D inputs and record.grid_size > 0; see the Forgetting page.")
    layout.end_page()

shown: dict = {}  # the figure on screen, for the HTML download (a rerun of the fragment replaces it)


@st.fragment
def chart_view() -> None:
    """The chart and its view-only controls. A fragment: changing the view redraws this part only
    (no sidebar, no run lookup, no metrics), then writes the view into the URL."""
    # one row of view controls and the class legend: the chart's Play button stays above the fold on a projector
    left, middle, right = st.columns([2.3, 3.4, 1.7], vertical_alignment="center")
    view = view_params.url_select(
        "View",
        "figure",
        list(VIEWS),
        "animation",
        container=left,
        widget="segmented_control",
        format_func=VIEWS.get,
        label_visibility="collapsed",
    )
    middle.markdown(class_legend_html(result), unsafe_allow_html=True)
    if view == "animation":
        show_test = view_params.url_toggle("Show held-out points (◆)", "heldout", False, container=right)
        fig = boundaries.animated_boundaries(
            result, models, show_test=show_test, height=layout.chart_height(600), dark=layout.dark_mode()
        )
        cockpit.player(fig, "boundaries", url_name="frame")
        st.caption(
            "Regions: the class each model predicts there (grey: no class yet). Bold points: the stage being "
            "trained; faded: earlier stages. Press ▶ Play or Space; ← → step a frame; PageDown jumps to a stage end."
        )
    else:
        fig = boundaries.paper_figure(result, models, height_per_row=layout.chart_height(250), dark=layout.dark_mode())
        cockpit.player(fig, "paper_figure")
        st.caption("Each column: the end of a stage. Each row: a model. The paper's Figure 1 setting.")
    shown["fig"] = fig
    if st.session_state.get("_playground_full_run") is False:  # a rerun of this fragment alone
        settings.sync_url()
    st.session_state["_playground_full_run"] = False


st.session_state["_playground_full_run"] = True
chart_view()

layout.final_accuracy_metrics(result.summaries())

with st.expander("Share and download", icon=":material/share:"):
    st.markdown(
        "**Share:** every setting is in the address bar; copy it to reproduce this view "
        "(an uploaded file is not part of the link)."
    )
    c1, c2, c3, c4 = st.columns(4)
    c1.download_button(
        "Run (JSON)", lambda: downloads.result_json(result), "dkvb_run.json", "application/json", on_click="ignore"
    )
    c2.download_button(
        "Metrics (CSV)", lambda: downloads.metrics_csv(result), "dkvb_metrics.csv", "text/csv", on_click="ignore"
    )
    c3.download_button(
        "Animation (HTML)",
        lambda: downloads.animation_html(shown["fig"]),
        "dkvb_animation.html",
        "text/html",
        on_click="ignore",
    )
    c4.download_button(
        "Animation (GIF)",
        lambda: gif.animation_gif(result, models),
        "dkvb_animation.gif",
        "image/gif",
        on_click="ignore",
        help="For slides that cannot embed HTML: every model through the stages, about 0.25 MB.",
    )
