"""The Images page under Streamlit's AppTest: the digits default, switching to MNIST with the CNN,
a missing Fashion-MNIST, invalid settings and a broken weights file, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dkvb_core import image_encoder
from tests.app.plain_text import shown

ENTRY = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
PAGE = "views/images.py"  # relative to the entry script


def open_page() -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=180)
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, float]:
    return {m.label.split(":")[0]: float(m.value.rstrip("%")) / 100 for m in at.metric}


def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def test_digits_default_shows_every_view_and_dkvb_keeps_old_classes():
    at = open_page()
    assert at.radio(key="img:dataset").value == "digits"
    assert at.radio(key="img:encoder").value == "identity"
    m = metrics(at)
    assert set(m) == {"DKVB", "Linear probe", "MLP", "Joint (i.i.d.)"}
    assert m["DKVB"] > 0.85 and m["MLP"] < 0.4
    assert [s.value for s in at.subheader] == [
        "Accuracy and forgetting",
        "Keys",
        "Predictions at each stage end",
        "Confusion per stage",
    ]
    assert len(charts(at)) == 6
    assert not at.error


def test_choosing_another_key_and_model_redraws_without_error():
    at = open_page()
    codebook = at.number_input(key="img:codebook")
    codebook.set_value(3).run()
    busiest = at.selectbox(key="img:key:3").value
    at.selectbox(key="img:key:3").select_index(2).run()
    chosen = at.selectbox(key="img:key:3").value
    assert chosen != busiest
    assert any(f"is key {chosen} " in c.value for c in at.caption)
    at.selectbox(key="img:cm_model").set_value("mlp").run()
    at.slider(key="img:per_class").set_value(2).run()
    assert not at.exception and not at.error
    assert any("codebook 3" in c.value for c in at.caption)
    assert len(charts(at)) == 6


def test_mnist_switches_to_the_pretrained_cnn():
    at = open_page()
    at.radio(key="img:dataset").set_value("mnist").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="img:encoder").value == "cnn"
    assert any("trained on Fashion-MNIST" in c.value and "never saw these images" in c.value for c in at.caption)
    m = metrics(at)
    assert m["DKVB"] > m["MLP"] + 0.3


def test_missing_fashion_mnist_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("DKVB_FASHION_MNIST_DIR", str(tmp_path))
    at = open_page()
    at.radio(key="img:dataset").set_value("fashion").run()
    assert not at.exception
    text = shown(" ".join(w.value for w in at.warning))
    assert "apt-get install dataset-fashion-mnist" in text and "MNIST 5k" in text
    assert not at.metric  # nothing is trained on a set that is not there


def test_classes_per_stage_changes_the_stages():
    at = open_page()
    at.select_slider(key="img:per_stage").set_value(5).run()
    assert not at.exception and not at.error
    assert any("stages: 0, 1, 2, 3, 4 | 5, 6, 7, 8, 9." in c.value for c in at.caption)
    assert len(at.metric) == 4


def test_no_models_is_named_and_the_last_results_stay():
    at = open_page()
    at.multiselect(key="img:models").set_value([]).run()
    assert not at.exception
    assert any("train.models" in shown(e.value) for e in at.error)
    assert len(at.metric) == 4  # the last valid run is still on screen


def test_broken_weights_file_is_a_message_not_a_traceback(tmp_path, monkeypatch):
    (tmp_path / "cnn_fashion.pt").write_bytes(b"garbage")
    monkeypatch.setattr(image_encoder, "ENCODER_DIR", tmp_path)
    at = open_page()
    at.number_input(key="img:seed").set_value(777).run()  # a config no other test has cached
    at.radio(key="img:encoder").set_value("cnn").run()
    assert not at.exception
    assert at.error and any("corrupt or not a torch state dict" in t.value for t in at.text)  # plain text


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DKVB_CACHE_DIR", str(tmp_path / "cache"))


def test_a_shared_link_reproduces_the_images_settings_and_bad_values_are_warned():
    at = AppTest.from_file(ENTRY, default_timeout=180)
    for k, v in {"view.img.keys": "32", "view.img.steps": "50", "view.img.seed": "abc"}.items():
        at.query_params[k] = v
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.select_slider(key="img:keys").value == 32 and at.select_slider(key="img:steps").value == 50
    assert any("view.img.seed" in shown(w.value) and "whole number" in shown(w.value) for w in at.warning)
    assert at.query_params["view.img.keys"] == "32"
    assert "view.img.seed" not in at.query_params  # the default seed is not written back
    at.number_input(key="img:seed").set_value(7).run()
    assert at.query_params["view.img.seed"] == "7"
