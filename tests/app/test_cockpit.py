"""The cockpit's Python side: the player's payload (frames, stage ends, start and seek), story mode in
the app (a link opens a step; Next applies the next step's link, page and frame)."""

import json

from app import cockpit
from app.charts import boundaries
from tests.app.test_pages import players, start


def test_figure_json_drops_plotlys_controls_and_keeps_stage_ends(small_result):
    fig = boundaries.animated_boundaries(small_result, ["dkvb", "mlp"])
    body, names, ends = cockpit.figure_json(fig, font_scale=1.3)
    spec = json.loads(body)
    assert "sliders" not in spec["layout"] and "updatemenus" not in spec["layout"]
    assert names == [f["name"] for f in spec["frames"]] and len(names) == small_result.num_frames
    assert [e["label"] for e in ends] == [f"end of stage {t + 1}" for t in range(small_result.num_stages)]
    assert [names[e["pos"]] for e in ends] == [str(int(f)) for f in small_result.stage_end_frames]
    assert spec["layout"]["font"]["size"] == round(16 * 1.3, 1)


def test_frame_words_resolve_to_positions():
    names = [str(i) for i in range(10)]
    ends = [{"pos": 4, "label": "end of stage 1"}, {"pos": 9, "label": "end of stage 2"}]
    assert cockpit._resolve("start", names, ends) == 0
    assert cockpit._resolve("end", names, ends) == 9
    assert cockpit._resolve("stage 1", names, ends) == 4
    assert cockpit._resolve("stage 3", names, ends) is None
    assert cockpit._resolve("7", names, ends) == 7
    assert cockpit._resolve("70", names, ends) is None


def test_a_link_with_a_frame_opens_the_animation_there():
    at = start(**{"view.frame": "12"})
    ((header, fig),) = players(at)
    assert [f["name"] for f in fig["frames"]][header["start"]] == "12"
    assert at.query_params["view.frame"] == "12"


def test_a_story_link_opens_its_step_and_next_walks_on():
    at = start(story="dkvb-paper", step="2")
    ((header, _fig),) = players(at)
    ends = {e["label"]: e["pos"] for e in header["stageEnds"]}
    assert header["seek"]["pos"] == ends["end of stage 2"]
    text = " ".join(str(h.proto.body) for h in at.get("html"))
    assert "step 2 of 7" in text and "the baselines forget" in text
    at.button(key="story_next").click().run()
    assert not at.exception
    assert at.query_params["step"] == "3" and at.query_params["story"] == "dkvb-paper"
    ((header3, _),) = players(at)
    assert header3["seek"]["pos"] == len(_["frames"]) - 1 and header3["seek"]["token"] > header["seek"]["token"]


def test_a_bad_story_link_is_warned_and_the_page_still_draws():
    at = start(story="nope")
    assert any("not a built-in story" in w.value for w in at.warning)
    assert len(players(at)) == 1
