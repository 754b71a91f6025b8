"""The Embeddings page under Streamlit's AppTest: the example file by default, settings in the link (bad
values named), a source without a file, an invalid setting, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ENTRY = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
PAGE = str(Path(__file__).resolve().parents[2] / "app" / "views" / "embeddings.py")
QUICK = {"train.steps_per_stage": "50"}


def open_page(**params: str) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=240)
    for k, v in {**QUICK, **params}.items():
        at.query_params[k] = v
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, float]:
    return {m.label.split(":")[0]: float(m.value.rstrip("%")) / 100 for m in at.metric}


def shown(element) -> str:
    """What a plain-text element reads as: its markdown escapes removed."""
    return element.value.replace("\\", "")


def data_line(at: AppTest) -> str:
    """The line that says what the data is (file name, samples, features, stages)."""
    return next(shown(c) for c in at.caption if "held-out samples" in shown(c))


def specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_example_file_shows_every_view_and_dkvb_keeps_old_classes():
    at = open_page()
    assert at.radio(key="view:source").value == "example"
    assert [s.value for s in at.subheader] == [
        "Accuracy and forgetting",
        "The features in 2-D",
        "Keys",
        "Confusion per stage",
    ]
    m = metrics(at)
    assert set(m) == {"DKVB", "Linear probe", "MLP", "Replay", "Streaming LDA", "Joint (i.i.d.)"}
    assert m["DKVB"] > 0.8 > 0.4 > m["Linear probe"]
    pca = [s for s in specs(at) if s.get("frames")]
    assert len(pca) == 1 and len(pca[0]["frames"]) == 5
    assert data_line(at).startswith("digits_cnn.npz: 1,438 training and 359 held-out samples of 128")
    assert not at.error
    assert at.query_params["train.steps_per_stage"] == "50"


def test_settings_come_from_the_link_and_go_back_into_it():
    at = open_page(**{"dkvb.keys_per_codebook": "64", "view.codebook": "3", "stream.classes_per_stage": "5"})
    assert at.select_slider(key="emb:dkvb.keys_per_codebook").value == 64
    assert at.selectbox(key="view:codebook").value == 3
    assert data_line(at).endswith("stages: 0, 1, 2, 3, 4 | 5, 6, 7, 8, 9")
    assert any("Key usage per stage, codebook 3" in json.dumps(s) for s in specs(at))
    at.select_slider(key="emb:dkvb.lr").set_value(0.3).run()
    assert at.query_params["dkvb.lr"] == "0.3" and at.query_params["dkvb.keys_per_codebook"] == "64"
    at.select_slider(key="emb:dkvb.keys_per_codebook").set_value(512).run()  # back to the data set's own value
    assert "dkvb.keys_per_codebook" not in at.query_params


def test_a_bad_link_value_is_named_and_replaced_by_the_data_sets_value():
    at = open_page(**{"dkvb.keys_per_codebook": "lots", "stream.path": "/etc/passwd"})
    text = " ".join(shown(w) for w in at.warning)
    assert "dkvb.keys_per_codebook" in text and "using the default 512" in text
    assert "stream.path: cannot be set from a link" in text
    assert at.select_slider(key="emb:dkvb.keys_per_codebook").value == 512
    assert len(at.metric) == 6


def test_upload_source_without_a_file_asks_for_one_and_trains_nothing():
    at = open_page(**{"view.source": "upload"})
    assert any("Upload a features file" in i.value for i in at.info)
    assert not at.metric and not at.get("plotly_chart")


def test_no_models_is_named_in_plain_text_and_the_last_results_stay():
    at = open_page()
    at.multiselect(key="emb:train.models").set_value([]).run()
    assert not at.exception
    assert any(shown(e).startswith("train.models: choose at least one") for e in at.error)
    assert len(at.metric) == 6


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DKVB_CACHE_DIR", str(tmp_path / "cache"))


def test_an_image_set_shows_its_image_panels_and_says_what_the_models_see():
    at = open_page(**{"view.source": "digits", "train.steps_per_stage": "30"})
    assert not at.exception, [e.value for e in at.exception]
    line = data_line(at)
    assert line.startswith("digits: 1,438 training")
    assert "64 pixels, 128-d embeddings of a CNN trained on Fashion-MNIST (28x28) only" in line
    heads = [s.value for s in at.subheader]
    assert "Predictions at each stage end" in heads and "The features in 2-D" in heads
    assert at.selectbox(key="emb:key:0").value is not None  # the images on a key
    assert len(at.metric) == 6


def test_a_run_over_the_servers_budget_is_refused_in_plain_text(monkeypatch):
    monkeypatch.setenv("DKVB_BUDGET_SECONDS", "0.01")
    at = open_page(**{"seed": "4242"})  # a config no other test has cached
    assert not at.exception
    assert any("cannot run" in e.value for e in at.error)
    assert any(t.value.startswith("budget: this run is estimated at about") for t in at.text)
    assert not at.metric
