"""Story files: the built-in story loads; a faulty file is refused with a message naming the field."""

import json

import pytest

from app.story import MAX_FILE_BYTES, StoryError, builtin_names, load_builtin, parse_story, step_query


def story(**step) -> str:
    return json.dumps({"title": "T", "steps": [{"caption": "c", **step}]})


def test_the_builtin_paper_story_is_valid_and_walks_pages_and_frames():
    assert "dkvb-paper" in builtin_names()
    s = load_builtin("dkvb-paper")
    assert len(s.steps) >= 5
    assert {st.page for st in s.steps} >= {"playground", "keys", "forgetting"}
    assert any(st.settings.get("dkvb.keys_per_codebook") == "4" for st in s.steps)
    assert s.steps[1].frame == "stage 2"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[1]", "file: must be a JSON object"),
        ("{oops", "file: not valid JSON (line 1"),
        (json.dumps({"title": "", "steps": []}), "title:"),
        (json.dumps({"title": "T", "steps": []}), "steps: must be a list of 1 to"),
        (json.dumps({"title": "T", "steps": [{}], "extra": 1}), "extra: unknown field"),
        (story(page="nowhere"), "steps[1].page: 'nowhere' is not a page"),
        (story(frame="middle"), "steps[1].frame:"),
        (story(settings={"dkvb.lr": -1}), "steps[1].settings.dkvb.lr:"),
        (story(settings={"dkvb.nothing": 1}), "steps[1].settings.dkvb.nothing: not a setting"),
        (story(settings={"stream.csv_path": "/etc/passwd"}), "steps[1].settings.stream.csv_path: not a setting"),
        (story(settings=[1]), "steps[1].settings: must be an object"),
        (story(foo=1), "steps[1].foo: unknown field"),
        (json.dumps({"title": "T", "steps": [{"page": "keys"}]}), "steps[1].caption:"),
    ],
)
def test_a_faulty_story_names_the_field(text, named):
    with pytest.raises(StoryError) as err:
        parse_story(text, "u")
    assert named in str(err.value)


def test_bytes_that_are_too_big_or_not_text_are_refused():
    with pytest.raises(StoryError, match="at most"):
        parse_story(b" " * (MAX_FILE_BYTES + 1), "u")
    with pytest.raises(StoryError, match="not UTF-8"):
        parse_story(b"\xff\xfe\x00{", "u")


def test_unknown_builtin_names_the_available_ones():
    with pytest.raises(StoryError, match="dkvb-paper"):
        load_builtin("../../etc/passwd")


def test_a_step_becomes_a_link():
    s = parse_story(story(settings={"dkvb.keys_per_codebook": 4, "view.heldout": True}), "mine")
    assert step_query(s, 0, present=True) == {
        "dkvb.keys_per_codebook": "4",
        "view.heldout": "1",
        "story": "mine",
        "step": "1",
        "present": "1",
    }
