"""Playground: decision boundaries of DKVB and the baselines, animated through the stages."""

from __future__ import annotations

import streamlit as st

from app import cockpit, current, downloads, drawing, layout, runs, settings, view_params
from app.charts import boundaries, gif
from app.charts.keys import class_legend_html
from app.charts.palette import class_colour
from dkvb_core import DataError

layout.page_header(
    "Playground",
    "A stream arrives in stages of new classes. Watch which model keeps the old classes: "
    "DKVB only updates the values of the keys it fetches, so earlier regions stay put.",
)
result = current.page_result()

VIEWS = {"animation": "▶ Animation", "paper": "Paper figure", "draw": "✎ Draw"}
models = list(result.models)
if result.grid is None:
    st.warning("Decision boundaries need 2-D inputs and record.grid_size > 0; see the Forgetting page.")
    layout.end_page()

shown: dict = {}  # the figure on screen, for the HTML download (a rerun of the fragment replaces it)
DRAW_CLASSES, DRAW_STAGES = max(8, len(result.class_names)), max(4, result.num_stages)


def run_drawing() -> None:
    """The Run button's callback (before the script, so the Data widget may still change): the drawing
    becomes the data, exactly as an uploaded CSV would."""
    points = st.session_state.get("drawn_points", [])
    try:
        stream = runs.stream_from_upload(drawing.points_csv(points), settings.current_config())
    except DataError as exc:
        st.session_state["drawn_error"] = str(exc)
        return
    st.session_state.pop("drawn_error", None)
    st.session_state.update({"upload_stream": stream, "upload_name": "your drawing", "view:data": "Your CSV"})
    st.session_state["view:figure"] = "animation"
    st.session_state["_drawn_started"] = True


def draw_view() -> None:
    """A plane to draw a stream on (class and stage chosen above it), then Run or download it."""
    g = result.grid
    bounds = (g.x_min, g.x_max, g.y_min, g.y_max) if g is not None else (-4.0, 4.0, -4.0, 4.0)
    classes = [(f"class {c}", class_colour(c)) for c in range(DRAW_CLASSES)]
    reported = cockpit.drawing(
        "draw", classes, DRAW_STAGES, bounds, st.session_state.get("drawn_points", []), 0, layout.chart_height(460)
    )
    if reported is not None:
        st.session_state["drawn_points"] = drawing.clean_points(reported, DRAW_CLASSES, DRAW_STAGES)
    points = st.session_state.get("drawn_points", [])
    st.caption(
        "Click on the plane to add a point of the chosen class and stage; drag to add several. "
        "Undo removes the last stroke. The stream runs like an uploaded CSV."
    )
    c1, c2, c3 = st.columns([1.3, 1.3, 3], vertical_alignment="center")
    c1.button("▶ Run this stream", type="primary", on_click=run_drawing, disabled=len(points) < 4, key="draw_run")
    c2.download_button(
        "Download as CSV", drawing.points_csv(points), "my_stream.csv", "text/csv", on_click="ignore", key="draw_csv"
    )
    c3.caption(drawing.summary(points))
    if st.session_state.get("drawn_error"):
        st.text(f"This drawing cannot run yet: {st.session_state['drawn_error']}")


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
        height, dark = layout.chart_height(600), layout.dark_mode()

        def build(frame: str):
            shown["fig"] = boundaries.animated_boundaries(
                result, models, show_test=show_test, height=height, dark=dark, base_frame=frame
            )
            return shown["fig"]

        cache = (result, ("boundaries", tuple(models), show_test, height, dark))
        cockpit.player(build, "boundaries", url_name="frame", cache=cache, base_follows_frame=True)
        fig = shown.get("fig")
        st.caption(
            "Regions: the class each model predicts there (grey: no class yet). Bold points: the stage being "
            "trained; faded: earlier stages. Press ▶ Play or Space; ← → step a frame; PageDown jumps to a stage end."
        )
    elif view == "paper":
        fig = boundaries.paper_figure(result, models, height_per_row=layout.chart_height(250), dark=layout.dark_mode())
        cockpit.player(fig, "paper_figure")
        st.caption("Each column: the end of a stage. Each row: a model. The paper's Figure 1 setting.")
    else:
        draw_view()
        fig = None
    if fig is not None:
        shown["fig"] = fig
    if st.session_state.pop("_drawn_started", False):
        st.rerun(scope="app")  # the sidebar and the run follow the new data
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
        lambda: downloads.animation_html(shown.get("fig") or boundaries.animated_boundaries(result, models)),  # built
        # on demand when the chart came from the figure cache
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
