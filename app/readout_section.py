"""The Keys page's soft-readout section: effective keys and leak of the current run, DKVB's accuracy
and forgetting as the temperature grows (cached runs), and a tau x k sweep one click away.

Its own module so the Keys page only calls :func:`soft_readout_section`; the numbers come from
dkvb_core.readout, the figure from app/charts/readout.py.
"""

from __future__ import annotations

import streamlit as st

from app import layout, runs, settings, view_params
from app.charts import readout as charts
from dkvb_core import RunResult
from dkvb_core.readout import DIAL_TEMPERATURES, dial_configs, dial_point

SWEEP_AXES = (
    ("dkvb.temperature", ", ".join(f"{t:g}" for t in DIAL_TEMPERATURES)),
    ("dkvb.topk", "1, 4, 8, 16"),
    ("dkvb.readout", "soft"),
)


def open_sweep() -> None:
    """Fill the Sweeps page's form with a tau x k sweep of the soft readout, then go there."""
    for i, (field, values) in enumerate(SWEEP_AXES):
        st.session_state[f"sweep:axis{i}"] = field
        st.session_state[f"sweep:values{i}"] = values
    st.switch_page("views/sweeps.py")


def current_run_figures(result: RunResult) -> None:
    point = dial_point(result)
    rec = result.models["dkvb"]
    c1, c2, c3 = st.columns(3)
    c1.metric(
        "Readout",
        "soft" if rec.readout_leak is not None else "hard",
        help="dkvb.readout; soft: w = softmax(-distance² / τ) over the top-k keys (set it in a link or a sweep)",
    )
    c2.metric(
        "Effective keys a sample",
        f"{point['effective_keys']:.2f}",
        help="1/Σw² a head, mean over heads and training samples: 1 = one key, k = an even spread.",
    )
    leak = point["leak"]
    c3.metric(
        "Leak",
        "n/a" if leak != leak else f"{leak:.0%}",
        help="Share of a stage's value updates that lands on keys an earlier stage fetched (mean over stages "
        "after the first). With hard top-1 lookup it is the stages' key overlap.",
    )
    if rec.readout_leak is not None:
        per = ", ".join(f"S{t + 1} {v:.0%}" for t, v in enumerate(rec.readout_leak))
        st.caption(f"Leak per stage: {per}.")


def soft_readout_section(result: RunResult) -> None:
    """Draw the section (DKVB must be in the run)."""
    st.subheader("Soft readout: a dial between local memory and forgetting")
    st.caption(
        "A soft readout weights the top-k keys by softmax(−distance²/τ). Small τ: only the nearest key (the hard "
        "lookup). Large τ: every fetched key moves, so training a new stage leaks into old stages' values."
    )
    current_run_figures(result)
    dial = view_params.url_toggle(
        "Show DKVB's accuracy and forgetting as τ grows",
        "tau_dial",
        False,
        help=f"Runs DKVB alone on these settings at τ = {', '.join(f'{t:g}' for t in DIAL_TEMPERATURES)} (cached).",
    )
    if dial:
        hard_cfg, soft_cfgs = dial_configs(settings.current_config())
        stream = settings.current_stream()
        outcomes = [runs.try_run(c, stream) for c in (hard_cfg, *soft_cfgs)]
        failed = next((o.error for o in outcomes if o.result is None), None)
        if failed:
            st.error("The temperature dial cannot run on these settings.", icon=":material/error:")
            st.text(str(failed))
        else:
            points = [dial_point(o.result) for o in outcomes]
            fig = charts.temperature_dial(points[1:], points[0], height=layout.chart_height(380))
            layout.chart(fig, "tau_dial")
            st.caption(f"Soft readout over the top {soft_cfgs[0].dkvb.topk} keys a head; dotted: the hard readout.")
    if st.button("Open a τ × k sweep in Sweeps", icon=":material/grid_on:", key="tau_sweep_button"):
        open_sweep()
