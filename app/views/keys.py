"""Keys: where the keys sit, which class each key's value votes for, and which keys each stage
touches. Shows why few keys forget (stages share keys) and many keys do not."""

from __future__ import annotations

import streamlit as st

from app import cockpit, current, layout, runs, settings, view_params
from app.charts import keys as charts
from app.readout_section import soft_readout_section
from app.views import PAGES
from dkvb_core import analysis as an
from dkvb_core.key_data import KEY_INIT_DATA

layout.page_header(
    "Keys",
    "Keys are fixed after k-means; only the values of the keys a sample fetches are trained. "
    "If stages fetch different keys, a new stage cannot overwrite an old stage's values.",
)
result = current.page_result()
if "dkvb" not in result.models:
    st.warning("Add **DKVB** to the models in the sidebar to see its keys.")
    layout.end_page()

rec = result.models["dkvb"]
usage = rec.key_usage_stages
C, K = usage.shape[1], usage.shape[2]
codebook = 0
if C > 1:
    codebook = view_params.url_select("Codebook", "codebook", list(range(C)), 0)

dead = an.dead_keys(usage)
counts = rec.key_counts if rec.key_counts is not None else [C * K, 0, 0, int(dead.sum())]
c1, c2, c3, c4 = st.columns(4)
c1.metric("Keys", f"{C} × {K}", help="codebooks × keys per codebook")
c2.metric(
    "Shared between stages",
    f"{an.shared_key_fraction(usage):.0%}",
    help="Share of the touched keys that more than one stage fetched: their values get overwritten.",
)
c3.metric(
    "Never trained",
    f"{int(counts[3])} of {C * K}",
    help="Keys in use that no training sample fetched: a test sample that fetches one gets no class "
    "(under the project's evaluation rule).",
)
c4.metric("DKVB final accuracy", f"{result.summary('dkvb')['average_accuracy']:.0%}")
st.text(
    f"Unused keys: {int(counts[1])} (more keys than distinct points to fit them on: left out of the lookup). "
    f"Duplicate keys: {int(counts[2])}. Keys fitted on: {result.config.dkvb.key_init_data}; "
    f"evaluation rule: {result.config.dkvb.eval_rule}."
)

has_map = result.grid is not None and result.keys_2d is not None
left, right = st.columns([3, 2]) if has_map else (st.container(), st.container())
if has_map:
    with left:
        st.markdown(charts.class_legend_html(result), unsafe_allow_html=True)
        # the cockpit's player: keeps its frame across reruns, keyboard and clicker keys (app/cockpit.py)
        cockpit.player(
            charts.animated_key_map(result, codebook, height=layout.chart_height(580)),
            "key_map",
            start="end",
            base="end",  # the key map's figure shows the end of the stream
            url_name="frame",
        )
        st.caption(
            "Each region is the part of the plane whose nearest key is the diamond inside it, coloured by the "
            "class that key's value votes for (grey: not trained yet). With 64 keys each class has its own keys; "
            "with 4 keys every key covers several classes and the last stage to fetch it wins."
        )
else:
    st.info("Keys can be drawn in input space for 2-D streams only; the usage charts still apply.")
with right:
    layout.chart(charts.overlap_heatmap(result), "overlap")
    st.caption(
        "Key-set overlap of two stages: |A∩B| / |A∪B| of the keys they fetched (mean over codebooks). "
        "High overlap: a later stage rewrites an earlier stage's values."
    )
    layout.chart(charts.touched_fraction_bars(result, height=280), "touched")
    st.caption("Fraction of all keys fetched at least once during each stage.")

st.subheader("Which keys each stage fetches")
layout.chart(charts.key_usage_heatmap(result, codebook), "usage")
st.caption("Fetch counts per key (columns) and stage (rows), log scale. Empty columns are dead keys.")

st.subheader("4 keys fail, 64 keys work")
compare = view_params.url_toggle(
    "Compare 4 and 64 keys on these settings", "compare", False, help="Runs the current settings twice (cached)."
)
if compare:
    base = settings.current_config()
    cols = st.columns(2)
    for col, k in zip(cols, (4, 64), strict=True):
        cfg = base.replace(**{"dkvb.keys_per_codebook": k, "train.models": ["dkvb"]})
        outcome = runs.try_run(cfg, settings.current_stream())
        if outcome.result is None:
            col.error("These settings cannot run:", icon=":material/error:")
            col.text(outcome.error)
            continue
        r = outcome.result
        u = r.models["dkvb"].key_usage_stages
        title = (
            f"<b>{k} keys</b>: accuracy {r.summary('dkvb')['average_accuracy']:.0%}, "
            f"shared keys {an.shared_key_fraction(u):.0%}"
        )
        if r.grid is not None and r.keys_2d is not None:
            layout.chart(charts.final_key_map(r, 0, title=title), f"story_{k}", col)
        else:
            col.markdown(title, unsafe_allow_html=True)
        layout.chart(charts.overlap_heatmap(r, height=260), f"story_overlap_{k}", col)

st.subheader("What the keys were fitted on")
st.markdown(
    "Keys are fixed before stage 1, so what they are fitted on decides which later inputs find keys of their "
    "own. Fitting them on every stage's inputs lets the initialisation see the future and flatters DKVB."
)
st.table({"dkvb.key_init_data": list(KEY_INIT_DATA), "what the keys are fitted on": list(KEY_INIT_DATA.values())})
a, b = st.columns([3, 1], vertical_alignment="bottom")
compare_data = view_params.url_toggle(
    "Compare uniform, first_stage and stream on these settings",
    "compare_init",
    False,
    help="Runs the current settings three times (cached): the cost of each choice to DKVB.",
    container=a,
)
if b.button("Sweep it on the Sweeps page", icon=":material/grid_on:"):
    st.session_state.update(
        {
            "sweep:axis0": "dkvb.key_init_data",
            "sweep:values0": "uniform, first_stage, stream",
            "sweep:axis1": "dkvb.keys_per_codebook",
            "sweep:values1": "64, 256, 1024",
            "sweep:axis2": "—",
            "sweep:values2": "",
        }
    )
    st.switch_page(f"views/{next(p.file for p in PAGES if p.url_path == 'sweeps')}")
if compare_data:
    base = settings.current_config()
    cols = st.columns(3)
    for col, choice in zip(cols, ("uniform", "first_stage", "stream"), strict=True):
        outcome = runs.try_run(
            base.replace(**{"dkvb.key_init_data": choice, "train.models": ["dkvb"]}), settings.current_stream()
        )
        if outcome.result is None:
            col.text(outcome.error)
            continue
        r = outcome.result
        title = f"<b>{choice}</b>: accuracy {r.summary('dkvb')['average_accuracy']:.0%}"
        if r.grid is not None and r.keys_2d is not None:
            layout.chart(charts.final_key_map(r, 0, title=title), f"init_{choice}", col)
        else:
            col.markdown(title, unsafe_allow_html=True)
soft_readout_section(result)
