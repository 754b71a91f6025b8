"""User text on the page is plain text, never markdown (issue 15, item 2): hostile link keys and values,
folder paths and sweep files reach the page escaped, and the app keeps running."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dkvb_core.sweep import parse_spec, run_sweep
from tests.app.plain_text import live_markup, shown
from tests.app.test_pages import charts  # plotly charts and the cockpit's players

ENTRY = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
SMALL = {"train.steps_per_stage": "100", "record.every": "20"}
IMAGE_KEY = "dkvb.![x](http://host.invalid/p.png)"
PHISH_KEY = "dkvb.# Session expired\n[Sign in again](http://host.invalid/login)"
HOSTILE_VALUES = [
    "![x](http://host.invalid/p.png)",
    "<img src=http://host.invalid/p.png>",
    "# Sign in\n\n[Sign in again](http://host.invalid)",
    ":red[alert] :material/lock:",
    "`code` **bold** $x^2$",
]


def test_text_escapes_every_markup_character():
    from app import plain

    for value in [IMAGE_KEY, PHISH_KEY, *HOSTILE_VALUES, "a\x00b\r\nc"]:
        md = plain.text(value)
        assert not live_markup(md), (value, md)
        assert "\n" not in md and "\x00" not in md
    assert shown(plain.text("dkvb.lr: got 'fast'")) == "dkvb.lr: got 'fast'"
    assert len(shown(plain.text("x" * 5000))) == plain.MAX_CHARS


def test_fill_keeps_the_template_and_escapes_the_values():
    from app import plain

    md = plain.fill("**{}** was not loaded. {}", "![a](http://h/p.png).csv", "Labels: bad")
    assert md.startswith("**") and live_markup(md, trusted="**") == []
    assert shown(md) == "**![a](http://h/p.png).csv** was not loaded. Labels: bad"


def _start(**params: str) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    for k, v in {**SMALL, **params}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize(
    "params",
    [
        {IMAGE_KEY: "1"},
        {PHISH_KEY: "1"},
        {"dkvb.lr": HOSTILE_VALUES[0]},
        {"dkvb.keys_per_codebook": HOSTILE_VALUES[2], "view.figure": HOSTILE_VALUES[1]},
        {"stream.layout": HOSTILE_VALUES[3], "train.models": HOSTILE_VALUES[4]},
    ],
    ids=["image-key", "phishing-key", "image-value", "heading-value", "directive-value"],
)
def test_hostile_link_keys_and_values_are_echoed_as_plain_text(params):
    at = _start(**params)
    assert at.warning, "the link's faults are reported"
    for element in [*at.warning, *at.error, *at.caption, *at.info]:
        assert not live_markup(element.value, trusted="** ---"), element.value
    text = shown(" ".join(w.value for w in at.warning))
    first_key = next(iter(params)).split("\n")[0][:40]
    assert first_key.replace("\n", " ") in text.replace("\n", " ")
    assert charts(at), "the page still draws its charts"


BASE = {"train": {"steps_per_stage": 15, "models": ["dkvb", "linear"]}, "stream": {"train_per_class": 15}}


@pytest.fixture
def sweeps_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DKVB_SWEEPS_DIR", str(tmp_path / "sweeps"))
    monkeypatch.chdir(tmp_path)
    spec = parse_spec({"base": BASE, "axes": {"dkvb.num_codebooks": [1, 2], "dkvb.keys_per_codebook": [4, 8]}})
    run_sweep(spec, tmp_path / "sweeps" / "good", "inline")
    return tmp_path / "sweeps"


def _hostile_folder(root: Path, case: str) -> str:
    """A sweep folder broken in one way (item 13); returns the text typed into the folder box."""
    good = root / "good"
    bad = root / case
    bad.mkdir()
    spec = (good / "spec.json").read_text()
    lines = (good / "runs.jsonl").read_bytes().splitlines(keepends=True)
    rows = [json.loads(line) for line in lines]
    log = b"".join(lines)
    if case == "nul":
        return str(good) + "\x00/x"
    if case == "bad-utf8":
        log = lines[0][:10] + b"\xff" + lines[0][10:] + b"".join(lines[1:])
    elif case == "no-config-id":
        log = b"".join(json.dumps({k: v for k, v in r.items() if k != "config_id"}).encode() + b"\n" for r in rows)
    elif case == "text-numbers":
        log = b"".join(
            json.dumps(dict(r, metrics={k: "![x](http://h/p.png)" for k in r["metrics"]})).encode() + b"\n"
            for r in rows
        )
    elif case == "deep-spec":
        spec = "[" * 30_000 + "]" * 30_000
    elif case == "huge-number-spec":
        spec = (
            spec.replace('"seeds": 1', '"seeds": ' + "7" * 5000)
            if '"seeds": 1' in spec
            else '{"seeds": ' + ("7" * 5000) + "}"
        )
    elif case == "markup-path":
        return str(root / "![x](http://host.invalid/p.png)")
    (bad / "spec.json").write_text(spec)
    (bad / "runs.jsonl").write_bytes(log)
    return str(bad)


@pytest.mark.parametrize(
    "case", ["nul", "bad-utf8", "no-config-id", "text-numbers", "deep-spec", "huge-number-spec", "markup-path"]
)
def test_loading_a_hostile_sweep_folder_keeps_the_charts(sweeps_dir, case):
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    at.switch_page("views/sweeps.py")
    at.run()
    at.text_input(key="sweep:path").set_value(str(sweeps_dir / "good"))
    at.button(key="sweep:load_path").click()
    at.run()
    assert len(at.get("plotly_chart")) == 2 and not at.error
    at.text_input(key="sweep:path").set_value(_hostile_folder(sweeps_dir, case))
    at.button(key="sweep:load_path").click()
    at.run()
    assert not at.exception, at.exception
    said = [*at.error, *at.warning]
    if case != "bad-utf8":  # one bad line of four: the rest loads, with a warning
        assert at.error, case
    assert said, case
    for element in said:
        assert not live_markup(element.value, trusted="- **"), element.value
    assert len(at.get("plotly_chart")) == 2, "the charts shown before stay"


HOSTILE_NAME = "![x](http://host.invalid/p.png) # Sign in.csv"
GOOD_CSV = "Feature_1,Feature_2,Labels\n" + "".join(f"{i % 3}.5,{i % 5}.25,{i % 2}\n" for i in range(40))


@pytest.mark.parametrize(
    ("content", "kind"),
    [(GOOD_CSV, "success"), (GOOD_CSV + "0,0,1e20\n", "error"), (GOOD_CSV + "1e30,0,1\n", "error")],
    ids=["good", "label-1e20", "feature-1e30"],
)
def test_an_upload_with_a_hostile_name_is_named_as_plain_text(content, kind):
    at = _start(**{"view.data": "Your CSV"})
    charts_before = len(charts(at))
    at.sidebar.get("file_uploader")[0].set_value((HOSTILE_NAME, content.encode(), "text/csv"))
    at.run()
    assert not at.exception, at.exception
    said = [e for e in [*at.sidebar.error, *at.sidebar.get("alert"), *at.error, *at.caption] if hasattr(e, "value")]
    said += list(getattr(at.sidebar, kind))
    named = [e for e in said if "host.invalid" in shown(e.value)]
    assert named, [e.value for e in said]
    for element in named:
        assert not live_markup(element.value, trusted="**"), element.value
    assert len(charts(at)) >= charts_before > 0, "the chart shown before stays"
