"""The Keys page's soft-readout section: current run's effective keys and leak, the temperature dial
(cached DKVB runs) and the one-click tau x k sweep."""

from __future__ import annotations

import json
import math

import pytest
from streamlit.testing.v1 import AppTest

from app.charts.readout import temperature_dial
from dkvb_core import Config, run
from dkvb_core.readout import DIAL_TEMPERATURES, dial_configs, dial_point
from tests.app.test_pages import charts, start

SMALL = {"train": {"steps_per_stage": 60, "models": ["dkvb"]}, "record": {"every": 0, "grid_size": 0}}


def test_dial_configs_and_points():
    base = Config.from_dict(SMALL)
    hard, soft = dial_configs(base)
    assert hard.dkvb.readout == "hard" and [c.dkvb.temperature for c in soft] == list(DIAL_TEMPERATURES)
    assert all(c.dkvb.readout == "soft" and c.dkvb.topk == 16 for c in soft)
    p_hard = dial_point(run(hard))
    assert p_hard["effective_keys"] == 1.0 and math.isnan(p_hard["temperature"]) and 0 <= p_hard["leak"] < 0.2
    cold, hot = dial_point(run(soft[0])), dial_point(run(soft[-1]))
    assert cold["effective_keys"] < hot["effective_keys"] <= 16 and cold["leak"] < hot["leak"]
    fig = temperature_dial([cold, hot], p_hard)
    doc = json.loads(fig.to_json())
    assert [t["name"] for t in doc["data"]][:2] == ["final accuracy", "forgetting"]
    assert len(doc["layout"]["shapes"]) == 3  # the hard readout's reference lines


def _section_metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_keys_page_section_dial_and_sweep_link():
    at = start("keys", **{"dkvb.readout": "soft", "dkvb.topk": "4", "dkvb.temperature": "1.0"})
    m = _section_metrics(at)
    assert m["Readout"] == "soft" and 1 < float(m["Effective keys a sample"]) <= 4
    assert any(c.value.startswith("Leak per stage: S1 0%") for c in at.caption)
    before = len(charts(at))
    at.toggle(key="view:tau_dial").set_value(True).run()
    assert not at.exception
    assert len(charts(at)) == before + 1
    assert at.query_params["view.tau_dial"] == "1"
    at.button(key="tau_sweep_button").click().run()
    assert not at.exception
    assert at.session_state["sweep:axis0"] == "dkvb.temperature"
    assert at.session_state["sweep:values1"] == "1, 4, 8, 16"
    assert at.selectbox(key="sweep:axis0").value == "dkvb.temperature"


@pytest.mark.parametrize("page", ["keys"])
def test_hard_run_section_shows_its_overlap_as_leak(page):
    at = start(page)
    m = _section_metrics(at)
    assert m["Readout"] == "hard" and m["Effective keys a sample"] == "1.00" and m["Leak"].endswith("%")
