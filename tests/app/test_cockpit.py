"""The cockpit's Python side: the player's payload (frames, stage ends, start and seek), story mode in
the app (a link opens a step; Next applies the next step's link, page and frame)."""

import json

from app import cockpit
from app.charts import boundaries
from tests.app.plain_text import shown
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
    assert "step 2 of 9" in text and "the baselines forget" in text
    at.button(key="story_next").click().run()
    assert not at.exception
    assert at.query_params["step"] == "3" and at.query_params["story"] == "dkvb-paper"
    ((header3, fig3),) = players(at)
    assert header3["seek"]["pos"] == len(fig3["frames"]) - 1 and header3["seek"]["token"] > header["seek"]["token"]


def test_a_bad_story_link_is_warned_and_the_page_still_draws():
    at = start(story="nope")
    assert any("'nope' is not a built-in story" in shown(w.value) for w in at.warning)
    assert len(players(at)) == 1


def _blob(cx: float, cy: float, c: int, s: int, n: int = 8) -> list[list[float]]:
    return [[cx + 0.1 * (i % 3), cy + 0.1 * (i // 3), c, s] for i in range(n)]


def test_a_drawn_stream_runs_like_an_uploaded_csv():
    at = start(**{"view.figure": "draw"})
    assert not players(at)  # the drawing plane instead of the animation
    points = _blob(-2, -2, 0, 0) + _blob(2, 2, 1, 0) + _blob(2, -2, 2, 1) + _blob(-2, 2, 3, 1)
    at.session_state["drawn_points"] = points
    at.run()
    at.button(key="draw_run").click().run()
    assert not at.exception
    assert at.session_state["upload_name"] == "your drawing"
    ((header, _fig),) = players(at)
    assert [e["label"] for e in header["stageEnds"]] == ["end of stage 1", "end of stage 2"]
    assert at.query_params.get("view.figure") is None  # back on the animation


def test_a_drawing_that_cannot_run_says_why_in_plain_text():
    at = start(**{"view.figure": "draw"})
    at.session_state["drawn_points"] = _blob(0, 0, 1, 0, n=5)  # one class only
    at.run()
    at.button(key="draw_run").click().run()
    assert not at.exception
    assert any("cannot run yet" in t.value and "Labels" in t.value for t in at.text)
    assert "upload_name" not in at.session_state


def test_drawn_points_become_the_seed_csv_and_bad_points_are_dropped():
    from app import drawing

    raw = [[1, 2, 0, 0], [float("nan"), 0, 0, 0], [0, 0, 99, 0], [0, 0, 1, 7], "x", [0.5, -0.5, 1, 1]]
    clean = drawing.clean_points(raw, num_classes=8, num_stages=4)
    assert clean == [[1.0, 2.0, 0, 0], [0.5, -0.5, 1, 1]]
    assert drawing.points_csv(clean).decode().splitlines() == [
        "Feature_1,Feature_2,Labels,Stage",
        "1.0000,2.0000,0,0",
        "0.5000,-0.5000,1,1",
    ]


def test_a_figure_is_built_once_per_run_and_options(small_result):
    built = []

    def build():
        built.append(1)
        return boundaries.animated_boundaries(small_result, ["dkvb"])

    first = cockpit._cached_json(build, 1.0, (small_result, ("t", ("dkvb",))))
    again = cockpit._cached_json(build, 1.0, (small_result, ("t", ("dkvb",))))
    assert len(built) == 1 and first == again
    cockpit._cached_json(build, 1.3, (small_result, ("t", ("dkvb",))))  # another text size: another figure
    assert len(built) == 2


def test_every_step_of_the_builtin_story_draws_without_a_fault():
    """Each step opened by a bare link applies its settings, and draws with no exception or error box."""
    from app.story import load_builtin, step_query

    story = load_builtin("dkvb-paper")
    for number in range(1, len(story.steps) + 1):
        at = start(story="dkvb-paper", step=str(number))
        assert not at.exception, number
        assert not at.error, (number, [e.value for e in at.error])
        for key, value in step_query(story, number - 1).items():  # a bare story link applies the step's settings
            got = at.query_params.get(key)
            assert got == value or json.loads(got) == json.loads(value), (number, key, got)  # 16 and 16.0 alike


def test_a_story_link_to_a_step_on_another_page_opens_that_page():
    at = start(story="dkvb-paper", step="4")  # step 4 is on the Keys page; the link opened the Playground
    titles = " ".join(str(t.value) for t in at.title)
    assert "Keys" in titles and "Playground" not in titles, titles
    text = " ".join(str(h.proto.body) for h in at.get("html"))
    assert "step 4 of 9" in text
    assert at.query_params["step"] == "4" and at.query_params["story"] == "dkvb-paper"


def test_a_new_figure_is_built_on_the_frame_the_player_shows():
    """A presenter at frame 12 who changes a setting: the new figure already shows frame 12 (one draw in
    the browser, not a draw of frame 0 and then a second of frame 12)."""
    at = start(**{"view.frame": "12", "record.every": "12"})  # a run of its own (figures are cached by run)
    ((header, fig),) = players(at)
    names = [f["name"] for f in fig["frames"]]
    assert names[header["base"]] == "12" == names[header["start"]]
    frame = fig["frames"][header["base"]]
    assert fig["layout"]["images"] == frame["layout"]["images"]
    assert fig["layout"]["title"]["text"] == frame["layout"]["title"]["text"]
    for trace, update in zip([fig["data"][i] for i in frame["traces"]], frame["data"], strict=True):
        assert trace.get("visible", True) == update["visible"]
        assert trace["marker"]["opacity"] == update["marker"]["opacity"]
    plain = start(**{"record.every": "25"})  # another run, no frame in the link: built on the first frame
    ((header0, fig0),) = players(plain)
    assert header0["base"] == 0 and fig0["layout"]["images"] == fig0["frames"][0]["layout"]["images"]


def test_a_hostile_frame_in_the_link_neither_breaks_the_page_nor_sticks_to_the_shared_figure():
    """'stage' + 5,000 digits once raised in int(); a frame that names no frame must not become the base
    of the figure cached for every visitor of the run."""
    for value in ["stage " + "9" * 5000, "9" * 5000, "<b>x</b>", "x" * 100_000, "-1"]:
        ((header, fig),) = players(start(**{"view.frame": value}))
        assert header["start"] == 0 and 0 <= header["base"] < len(fig["frames"])  # a real frame (figures are shared)
    ((header, fig),) = players(start(**{"view.frame": "12"}))  # a real frame still opens there
    assert [f["name"] for f in fig["frames"]][header["start"]] == "12"
