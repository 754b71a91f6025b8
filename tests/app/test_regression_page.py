"""The Regression page under Streamlit's AppTest: the sine default, soft readout, sine tasks, bad
settings and a bad upload said in plain text, settings in the URL; never a traceback."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.app.plain_text import shown

ENTRY = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
PAGE = "views/regression.py"
FAST = {"train.steps_per_stage": 100, "regression.num_stages": 3}


def open_page(**query: str) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=240)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(PAGE)
    at.run()  # the page's default run (cached for the later tests), then the quick settings
    for field, value in FAST.items():
        at.session_state[f"reg:{field}"] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, float]:
    return {m.label.split(":")[0]: float(m.value) for m in at.metric}


def test_default_sine_sweep_shows_curves_matrices_and_dkvb_keeps_old_ranges():
    at = open_page()
    m = metrics(at)
    assert set(m) == {"DKVB", "Linear probe", "MLP", "Joint (i.i.d.)", "Replay"}  # every model that can regress
    assert m["DKVB"] < m["MLP"] and m["DKVB"] < m["Linear probe"]
    charts = at.get("plotly_chart")
    assert len(charts) == 3  # the animation, the MSE matrices, the bars
    assert m["Replay"] < m["MLP"]  # its reservoir keeps old ranges
    assert at.query_params["task"] == "regression"
    assert at.query_params["regression.num_stages"] == "3"
    assert not at.error


def test_soft_readout_shows_effective_keys_and_leak():
    at = open_page()
    at.session_state["reg:dkvb.readout"] = "soft"
    at.session_state["reg:dkvb.topk"] = 4
    at.session_state["reg:dkvb.temperature"] = 1.0
    at.run()
    assert not at.exception
    assert at.query_params["dkvb.readout"] == "soft"
    table = at.table[0].value
    assert list(table.index) == ["effective keys", "leak"] and table.shape[1] == 3
    assert table.loc["leak", "S1"] == "0%"  # the first stage has no earlier stage to leak into
    assert any("effective keys" in c.value for c in at.caption)


def test_sine_tasks_says_no_model_can_keep_all_stages():
    at = open_page()
    at.sidebar.selectbox(key="view:regdata").set_value("sine-tasks").run()
    assert not at.exception
    assert any("conflict" in i.value for i in at.info)
    assert at.query_params["view.regdata"] == "sine-tasks"
    assert at.session_state["reg:mlp.lr"] == 0.03  # the sine-tasks preset's tuned rate came with it


def test_settings_that_cannot_run_are_said_in_plain_text_and_the_last_run_stays():
    at = open_page()
    at.session_state["reg:dkvb.topk"] = 16
    at.session_state["reg:dkvb.keys_per_codebook"] = 4
    at.run()
    assert not at.exception
    assert at.error and "cannot run" in at.error[0].value
    assert any("dkvb.topk" in t.value for t in at.text)
    assert len(at.get("plotly_chart")) == 3  # the last valid run is still drawn


def test_a_link_with_a_bad_value_warns_and_uses_the_default():
    at = AppTest.from_file(ENTRY, default_timeout=240)
    for k, v in {"task": "regression", "dkvb.temperature": "-3", "regression.noise": "0.3"}.items():
        at.query_params[k] = v
    at.switch_page(PAGE)  # the link opens the Regression page itself
    at.run()
    assert not at.exception
    assert at.session_state["reg:regression.noise"] == 0.3
    assert at.session_state["reg:dkvb.temperature"] == 1.0
    assert any("dkvb.temperature" in shown(w.value) for w in at.warning)
    # the link names no optimiser, so the config defaults (SGD, MLP lr 0.05) hold and the MLP diverges: said
    assert any("MLP" in w.value and "diverged" in w.value for w in at.warning)


def test_csv_choice_waits_for_a_file():
    at = open_page()
    at.sidebar.selectbox(key="view:regdata").set_value("csv").run()
    assert not at.exception
    assert any("Upload a CSV" in i.value for i in at.info)
    assert not at.get("plotly_chart")  # nothing runs without a file
