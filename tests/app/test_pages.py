"""AppTest for the Playground, Keys and Forgetting pages: set widgets, check the figures change."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.plain_text import shown

ENTRY = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
PAGES = Path(__file__).resolve().parents[2] / "app" / "views"
SMALL = {"train.steps_per_stage": "100", "record.every": "20"}


def start(page: str = "playground", **params: str) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    for k, v in {**SMALL, **params}.items():
        at.query_params[k] = v
    if page != "playground":
        at.switch_page(str(PAGES / f"{page}.py"))
    at.run()
    assert not at.exception, at.exception
    return at


def charts(at: AppTest) -> list[dict]:
    """Every figure on the page: plotly charts, then the cockpit's animated players (app/cockpit.py)."""
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return figs + [fig for _header, fig in players(at)]


def players(at: AppTest) -> list[tuple[dict, dict]]:
    """The cockpit players on the page as (header, figure): the component's bytes are a JSON header line
    and the figure's JSON."""
    out = []
    for c in at.get("bidi_component"):
        if c.proto.component_name == "dkvb_cockpit":
            head, _, body = c.proto.bytes.decode().partition("\n")
            header = json.loads(head)
            if header["kind"] == "player":
                out.append((header, json.loads(body)))
    return out


def widget(at: AppTest, kind: str, label: str):
    found = [w for w in getattr(at, kind) if w.label == label]
    assert found, f"no {kind} labelled {label!r}"
    return found[0]


def test_playground_shows_the_animation_and_redraws_on_a_control_change():
    at = start()
    (fig,) = charts(at)
    assert len(fig["frames"]) == 21 and len(fig["data"]) == 3 * 4
    before = fig["frames"][-1]["layout"]["images"][0]["source"]
    widget(at, "select_slider", "Keys per codebook").set_value(4).run()
    assert not at.exception
    (after,) = charts(at)
    assert after["frames"][-1]["layout"]["images"][0]["source"] != before
    assert at.query_params["dkvb.keys_per_codebook"] == "4"
    assert [b.label for b in at.get("download_button")] == [
        "Run (JSON)",
        "Metrics (CSV)",
        "Animation (HTML)",
        "Animation (GIF)",
    ]
    dkvb_metric = at.metric[0]
    assert dkvb_metric.label.startswith("DKVB") and dkvb_metric.value == "50%"


def test_a_pages_view_settings_do_not_follow_to_another_page():
    at = start("keys", **{"view.compare": "1"})
    assert at.query_params["view.compare"] == "1"
    at.switch_page(str(PAGES / "forgetting.py")).run()
    assert not at.exception
    assert "view.compare" not in at.query_params
    assert at.query_params["train.steps_per_stage"] == "100"  # the run's settings do follow


def test_forgetting_badges_are_green_for_dkvb_and_red_for_the_mlp():
    from streamlit.proto.Metric_pb2 import Metric

    at = start()
    badges = {m.label.split(":")[0]: m for m in at.metric}
    assert badges["DKVB"].delta == "forgetting 0%" and badges["DKVB"].proto.color == Metric.MetricColor.GREEN
    assert badges["MLP"].proto.color == Metric.MetricColor.RED


def test_playground_paper_figure_and_held_out_points():
    at = start()
    widget(at, "toggle", "Show held-out points (◆)").set_value(True).run()
    (fig,) = charts(at)
    assert len(fig["data"]) == 3 * 5
    at.segmented_control[0].set_value("paper").run()
    (paper,) = charts(at)
    assert sum(t["type"] == "heatmap" for t in paper["data"]) == 3 * 4
    assert at.query_params["view.figure"] == "paper"


def test_models_control_changes_the_panels():
    at = start()
    widget(at, "multiselect", "Models").set_value(["dkvb", "mlp"]).run()
    (fig,) = charts(at)
    assert len(fig["layout"]["images"]) == 2
    assert at.query_params["train.models"] == "dkvb,mlp"


def test_a_shared_link_reproduces_the_settings_and_garbage_is_warned():
    at = start(**{"dkvb.keys_per_codebook": "4", "dkvb.lr": "fast", "view.figure": "nonsense"})
    assert widget(at, "select_slider", "Keys per codebook").value == 4
    text = shown(" ".join(w.value for w in at.warning))
    assert "dkvb.lr" in text and "view.figure" in text
    assert at.metric[0].value == "50%"


def test_inconsistent_settings_are_named_and_the_last_result_stays():
    at = start()
    widget(at, "slider", "Classes").set_value(3).run()
    widget(at, "slider", "Classes per stage").set_value(5).run()
    assert not at.exception
    errors = shown(" ".join(e.value for e in at.sidebar.error))
    assert "stream.classes_per_stage" in errors
    assert len(charts(at)) == 1  # the previous valid run is still drawn
    main_area = shown(" ".join(w.value for w in at.main.warning))  # said next to the chart, not only in the sidebar
    assert "last valid settings" in main_area and "stream.classes_per_stage" in main_area
    widget(at, "slider", "Classes per stage").set_value(1).run()
    assert not any("last valid settings" in shown(w.value) for w in at.main.warning)


def test_presentation_mode_hides_the_controls():
    at = start()
    at.button(key="present_on").click().run()
    assert not at.exception
    assert len(at.sidebar.select_slider) == 0
    assert at.query_params["present"] == "1"
    assert len(charts(at)) == 1


def test_keys_page_shows_the_key_story():
    at = start("keys")
    figs = charts(at)
    assert len(figs) == 4  # key map, overlap, touched, usage
    shared_64 = at.metric[1].value
    widget(at, "select_slider", "Keys per codebook").set_value(4).run()
    assert at.metric[1].value == "100%" != shared_64
    widget(at, "toggle", "Compare 4 and 64 keys on these settings").set_value(True).run()
    assert not at.exception
    assert len(charts(at)) == 4 + 4


def test_keys_page_without_dkvb_explains_itself():
    at = start("keys", **{"train.models": "linear,mlp"})
    assert any("DKVB" in w.value for w in at.warning)
    assert charts(at) == []  # nothing drawn, not even the chart-library preload
    # a page that ends early still keeps the link in step with the settings
    widget(at, "select_slider", "Keys per codebook").set_value(4).run()
    assert at.query_params["dkvb.keys_per_codebook"] == "4"


def test_forgetting_page_matrices_follow_the_models():
    at = start("forgetting")
    figs = charts(at)
    assert len(figs) == 3
    assert sum(t["type"] == "heatmap" for t in figs[0]["data"]) == 3
    widget(at, "multiselect", "Models").set_value(["dkvb"]).run()
    assert sum(t["type"] == "heatmap" for t in charts(at)[0]["data"]) == 1
    assert len(at.dataframe) == 1


@pytest.mark.parametrize("page", ["playground", "keys", "forgetting"])
def test_a_run_error_is_a_message_not_a_traceback(page):
    at = start(page, **{"stream.encoder": "cnn"})  # a CNN on 2-D points cannot run
    assert not at.exception
    assert at.error, "expected a message naming the fault"


def test_the_app_says_which_models_keep_raw_past_samples():
    at = start("forgetting", **{"train.models": "dkvb,replay,ewc,agem,slda"})
    captions = [c.value.replace("\\", "") for c in at.sidebar.caption]  # shown as plain text: escapes dropped
    assert any(c.startswith("Replay keeps 200 past samples") for c in captions)
    assert any(c.startswith("A-GEM keeps 200 past samples") for c in captions)
    assert not any(c.startswith(("EWC", "DKVB", "Streaming LDA")) for c in captions)
    note = [t.value for t in at.text if "keeps 200 past samples" in t.value]
    assert note and "EWC" not in note[0] and "The other models keep no past samples" in note[0]
    figs = charts(at)
    assert sum(t["type"] == "heatmap" for t in figs[0]["data"]) == 5
    keeps = at.dataframe[0].value["keeps"].tolist()
    assert keeps[0] == "no past samples" and keeps[1].startswith("200 past samples")
