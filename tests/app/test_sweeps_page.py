"""The Sweeps page under Streamlit's AppTest: spec validation messages, the run limit, loading a
sweep dir, a bounded sweep started from the page (real child process), and cancel."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from streamlit.testing.v1 import AppTest

from dkvb_core.sweep import parse_spec, run_sweep
from tests.app.plain_text import shown

ENTRY = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
PAGE = "views/sweeps.py"  # relative to the entry script
BASE = {"train": {"steps_per_stage": 15, "models": ["dkvb", "linear"]}, "stream": {"train_per_class": 15}}


@pytest.fixture(autouse=True)
def own_sweeps_dir(tmp_path, monkeypatch):
    """Page sweeps go to this test's folder, never to a shared temp dir."""
    monkeypatch.setenv("DKVB_SWEEPS_DIR", str(tmp_path / "sweeps"))


def open_page() -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def errors(at: AppTest) -> str:
    return shown("\n".join(e.value for e in at.error))


def test_page_opens_with_a_valid_default_sweep():
    at = open_page()
    assert any("20 configs × 3 seeds = **60 runs**" in c.value for c in at.caption)
    assert not at.button(key="sweep:start").disabled
    assert not at.error


def test_unknown_value_names_the_field_and_disables_start():
    at = open_page()
    at.text_input(key="sweep:values1").set_value("4, lots")
    at.run()
    text = errors(at)
    assert "axes.dkvb.keys_per_codebook" in text and "[1, 4096]" in text and "lots" in text
    assert at.button(key="sweep:start").disabled
    assert not at.exception


def test_empty_values_and_repeated_axis_are_named():
    at = open_page()
    at.text_input(key="sweep:values0").set_value(" , ")
    at.run()
    assert "axes.dkvb.num_codebooks" in errors(at) and "empty list" in errors(at)
    at.text_input(key="sweep:values0").set_value("1, 2")
    at.selectbox(key="sweep:axis2").set_value("dkvb.keys_per_codebook")
    at.run()
    assert "axis 3 repeats a field" in errors(at)


def test_too_many_runs_for_the_page_points_to_the_cli():
    at = open_page()
    at.text_input(key="sweep:values1").set_value(", ".join(str(k) for k in range(1, 26)))
    at.number_input(key="sweep:seeds").set_value(3)
    at.run()
    text = errors(at)
    assert "runs" in text and "100 configs x 3 seeds = 300 runs" in text and "limit of 200" in text
    assert "python -m dkvb_core sweep" in text
    assert at.button(key="sweep:start").disabled


def test_loading_a_sweep_dir_draws_heatmap_lines_and_playground_link(tmp_path):
    spec = parse_spec({"base": BASE, "axes": {"dkvb.num_codebooks": [1, 2], "dkvb.keys_per_codebook": [4, 8]}})
    run_sweep(spec, tmp_path / "sweeps" / "mine", "inline")  # inside the folders sweeps are read from
    at = open_page()
    at.text_input(key="sweep:path").set_value(str(tmp_path / "sweeps" / "mine"))
    at.button(key="sweep:load_path").click()
    at.run()
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) == 2  # heatmap and lines
    (link,) = at.get("link_button")
    url = urlparse(link.proto.url)
    assert url.path == "./"  # the Playground is the app's default page: its URL is the root
    query = parse_qs(url.query)
    assert query["train.steps_per_stage"] == ["15"] and query["dkvb.keys_per_codebook"] == ["4"]


def test_an_image_data_sweep_explains_instead_of_linking_to_the_playground(tmp_path):
    base = {"train": {"steps_per_stage": 10, "models": ["dkvb"]}, "stream": {"kind": "digits"}}
    spec = parse_spec({"base": base, "axes": {"dkvb.keys_per_codebook": [4, 8]}})
    run_sweep(spec, tmp_path / "sweeps" / "digits", "inline")
    at = open_page()
    at.text_input(key="sweep:path").set_value(str(tmp_path / "sweeps" / "digits"))
    at.button(key="sweep:load_path").click()
    at.run()
    assert not at.exception and not at.get("link_button")
    assert at.button(key="sweep:open_disabled").disabled
    assert any("Images" in c.value for c in at.caption)


def test_loading_a_folder_that_is_not_a_sweep_is_a_message(tmp_path):
    (tmp_path / "sweeps" / "empty").mkdir(parents=True)
    at = open_page()
    at.text_input(key="sweep:path").set_value(str(tmp_path / "sweeps" / "empty"))
    at.button(key="sweep:load_path").click()
    at.run()
    assert "no spec.json" in errors(at) and not at.exception


@pytest.mark.parametrize("path", ["/etc", "../../../../etc/passwd", "a" * 3000])
def test_a_folder_outside_the_sweep_folders_is_refused(path):
    at = open_page()
    at.text_input(key="sweep:path").set_value(path)
    at.button(key="sweep:load_path").click()
    at.run()
    text = errors(at)
    assert "Folder path" in text and not at.exception and len(text) < 600


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_sweep_started_on_the_page_runs_and_shows_results():
    at = open_page()
    at.selectbox(key="sweep:steps").set_value(50)
    at.text_input(key="sweep:values0").set_value("1, 2")
    at.text_input(key="sweep:values1").set_value("4, 16")
    at.number_input(key="sweep:seeds").set_value(2)
    at.run()
    at.button(key="sweep:start").click()
    at.run()
    job = at.session_state["sweep:job"]
    assert job.total == 8
    assert job.wait(240), "the sweep did not end"
    assert job.state == "done", job.error
    at.run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 2
    assert any("8 runs" in c.value for c in at.caption)
    assert "sweep:job" not in at.session_state


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_cancel_keeps_finished_runs_and_stops_early():
    at = open_page()
    at.selectbox(key="sweep:steps").set_value(1000)
    at.text_input(key="sweep:values0").set_value("1, 2, 3, 4, 5, 6")
    at.text_input(key="sweep:values1").set_value("8, 16, 32, 64")
    at.number_input(key="sweep:seeds").set_value(2)
    at.run()
    at.button(key="sweep:start").click()
    at.run()
    job = at.session_state["sweep:job"]
    assert job.running
    job.cancel()  # what the Cancel button's callback does
    assert job.wait(240)
    assert job.state == "cancelled" and 0 <= job.done < job.total
    at.run()
    assert not at.exception
    assert any(f"Cancelled after {job.done} of 48 runs" in shown(w.value) for w in at.warning)


def test_a_sweep_over_the_budget_is_refused_as_plain_text_naming_the_axis():
    at = open_page()
    at.text_input(key="sweep:values0").set_value("1, 64")
    at.text_input(key="sweep:values1").set_value("64, 4096")
    at.selectbox(key="sweep:axis2").set_value("stream.train_per_class")
    at.run()
    at.text_input(key="sweep:values2").set_value("100, 2000")
    at.run()
    assert not at.exception
    text = errors(at)
    assert "runs at dkvb.num_codebooks=64, dkvb.keys_per_codebook=4096, stream.train_per_class=" in text
    assert "axes.dkvb.keys_per_codebook" in text and "4,096 -> at most" in text
    assert at.button(key="sweep:start").disabled


def test_picking_an_axis_suggests_values_or_the_default():
    at = open_page()
    at.selectbox(key="sweep:axis2").set_value("mlp.hidden")
    at.run()
    assert at.text_input(key="sweep:values2").value == "8, 32, 128"
    at.selectbox(key="sweep:axis2").set_value("dkvb.decay")
    at.run()
    assert at.text_input(key="sweep:values2").value == "0.95"
    assert any("20 configs × 3 seeds = **60 runs**" in c.value for c in at.caption)  # one value: same count


def test_the_spec_is_in_the_link_and_a_shared_link_reproduces_it():
    at = AppTest.from_file(ENTRY, default_timeout=120)
    for k, v in {"view.sweep.seeds": "2", "view.sweep.values3": "0.01, 0.1", "view.sweep.axis3": "dkvb.lr"}.items():
        at.query_params[k] = v
    at.query_params["view.sweep.steps"] = "7"  # not one of the choices: warned, default kept
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.number_input(key="sweep:seeds").value == 2
    assert at.selectbox(key="sweep:axis2").value == "dkvb.lr"
    assert at.selectbox(key="sweep:steps").value == 200
    assert any("view.sweep.steps" in w.value.replace("\\", "") for w in at.warning)
    assert at.text_input(key="sweep:values2").value == "0.01, 0.1"
    at.text_input(key="sweep:values0").set_value("1, 2").run()
    assert at.query_params["view.sweep.values1"] == "1, 2" and at.query_params["view.sweep.seeds"] == "2"
