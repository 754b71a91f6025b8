"""AppTest for the Online page, and the online chart builders on a small real run."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app.charts import online as charts
from dkvb_core import Config, RunResult, run
from dkvb_core import online_analysis as oa
from tests.app.plain_text import shown

ENTRY = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
PAGE = str(Path(__file__).resolve().parents[2] / "app" / "views" / "online.py")
SMALL = {"online.steps": "500", "online.pretrain_steps": "50", "online.p": "0.9"}


@pytest.fixture(scope="module")
def online_result() -> RunResult:
    config = Config.from_dict(
        {
            "online": {"enabled": True, "steps": 500, "pretrain_steps": 50, "p": 0.9},
            "train": {"models": ["dkvb", "mlp", "joint"]},
            "record": {"every": 25, "grid_size": 30},
        }
    )
    return run(config)


def spec(fig) -> dict:
    return json.loads(fig.to_json())


def arr(value) -> np.ndarray:
    """A trace array as plotly serialises it (a plain list, or base64 typed data)."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value)


def start(**params: str) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=180)
    for k, v in {**SMALL, **params}.items():
        at.query_params[k] = v
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def figures(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_timeline_has_a_bar_a_segment_and_marks_every_return(online_result):
    seg = oa.segments(online_result.online)
    fig = spec(charts.timeline(online_result))
    task_bars = next(t for t in fig["data"] if t.get("name") == "task")
    assert len(arr(task_bars["x"])) == len(seg.start) and arr(task_bars["x"]).sum() == 500
    returns = next(t for t in fig["data"] if t.get("name") == "a task returns")
    assert len(arr(returns["x"])) == int(seg.returning.sum()) > 0


def test_windowed_chart_draws_a_line_a_model_and_the_switches(online_result):
    fig = spec(charts.windowed_accuracy(online_result, ["dkvb", "mlp"]))
    assert [t["name"] for t in fig["data"]] == ["DKVB", "MLP"]
    seg = oa.segments(online_result.online)
    lines = [s for s in fig["layout"]["shapes"] if s["type"] == "line"]
    assert len(lines) == len(seg.start) - 1
    y = arr(fig["data"][0]["y"]).astype(float)
    assert y.min() >= 0 and y.max() <= 1


def test_cumulative_bars_equal_the_summary(online_result):
    fig = spec(charts.cumulative_bars(online_result, ["dkvb", "mlp", "joint"]))
    for trace, name in zip(fig["data"], ["dkvb", "mlp", "joint"], strict=True):
        s = online_result.summary(name)
        assert arr(trace["y"])[0] == pytest.approx(s["online_accuracy"])
        assert list(arr(trace["y"])[1:]) == pytest.approx(s["online_accuracy_per_mode"])


def test_recovery_leaves_out_the_shuffled_joint(online_result):
    fig = spec(charts.recovery_bars(online_result, ["dkvb", "mlp", "joint"]))
    assert list(fig["data"][0]["x"]) == ["DKVB", "MLP"]


def test_regions_animation_has_a_frame_each_recorded_frame(online_result):
    fig = spec(charts.animated_regions(online_result, ["dkvb", "mlp"]))
    assert len(fig["frames"]) == online_result.num_frames
    assert len(fig["data"]) == 4  # faded points and the current task's points, a panel
    last = fig["frames"][-1]
    task = online_result.online.task[-1]
    classes = online_result.online.task_classes[task]
    assert "Step 550 of 550" in last["layout"]["title"]["text"]
    shown = len(arr(last["data"][0]["x"]))
    assert shown == min(charts.POINTS_PER_CLASS, 100) * len(classes)


def test_page_draws_every_chart_and_keeps_its_settings_in_the_url():
    at = start()
    figs = figures(at)
    assert len(figs) == 5  # timeline, windowed, cumulative, recovery, regions
    assert [m.label for m in at.metric][:3] == [
        "DKVB: online accuracy",
        "Linear probe: online accuracy",
        "MLP: online accuracy",
    ]
    assert at.query_params["online.p"] == "0.9"
    at.radio(key="online:online.labels").set_value("task_local").run()
    assert not at.exception
    assert at.query_params["online.labels"] == "task_local"
    assert any("OSAKA's rule" in c.value for c in at.caption)


def test_bad_mode_probabilities_are_named_and_the_last_result_stays():
    at = start()
    at.text_input(key="online:online.mode_probs").set_value("0.5, lots").run()
    assert not at.exception
    texts = [shown(e.value) for e in at.error]
    assert any("online.mode_probs" in t and "separated by commas" in t for t in texts)
    assert len(figures(at)) == 5
    at.text_input(key="online:online.mode_probs").set_value("0.5, 0.6, 0.1").run()
    assert any("online.mode_probs" in t and "sum to 1" in t for t in (shown(e.value) for e in at.error))


def test_a_bad_link_value_is_warned_and_replaced():
    at = start(**{"online.p": "7", "online.n_way": "3"})
    assert at.slider(key="online:online.n_way").value == 3
    warning = shown(" ".join(w.value for w in at.warning))
    assert "online.p" in warning
