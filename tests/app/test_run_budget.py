"""The app's runs under the budget: byte-bounded cache, cancellation by session, refusals on the page."""

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app import runs
from dkvb_core import Config, ConfigError
from dkvb_core.budget import APP_BUDGET
from dkvb_core.progress import RunCancelled
from tests.app.test_pages import players

ENTRY = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
TINY = Config().replace(**{"train.steps_per_stage": 5, "record.every": 0, "record.grid_size": 0})


def test_the_cache_is_bounded_in_bytes_not_entries():
    cache = runs.RunCache(100, sizeof=len)
    cache.put(("a",), b"x" * 40)
    cache.put(("b",), b"x" * 40)
    assert cache.get(("a",)) is not None  # a is now the most recent
    cache.put(("c",), b"x" * 40)  # 120 > 100: the least recent (b) goes
    assert cache.get(("b",)) is None and cache.get(("a",)) is not None and cache.nbytes == 80
    for i in range(50):  # many small entries fit where few big ones did not
        cache.put((f"s{i}",), b"x")
    assert cache.nbytes <= 100 and len(cache) > 3
    cache.put(("huge",), b"x" * 101)  # larger than the whole bound: returned by the caller, never kept
    assert cache.get(("huge",)) is None and cache.nbytes <= 100


def test_result_nbytes_counts_every_array_once():
    @dataclass
    class Inner:
        a: np.ndarray
        b: np.ndarray | None

    @dataclass
    class Outer:
        inner: dict
        shared: np.ndarray
        name: str

    shared = np.zeros(1000, np.float32)
    value = Outer({"m": Inner(np.zeros(10, np.int64), shared)}, shared, "x")
    assert runs.result_nbytes(value) == 4000 + 80


def test_a_run_with_a_frame_every_step_weighs_more_in_the_cache():
    from dkvb_core.engine import run

    lean = run(TINY.replace(**{"train.steps_per_stage": 50}))
    framed = run(TINY.replace(**{"train.steps_per_stage": 50, "record.every": 1, "record.grid_size": 50}))
    assert runs.result_nbytes(framed) > 10 * runs.result_nbytes(lean) > 0


def test_a_run_over_the_budget_is_refused_before_anything_runs(monkeypatch):
    import dkvb_core.engine as engine

    def must_not_run(*args, **kwargs):
        raise AssertionError("the engine ran")

    monkeypatch.setattr(engine, "run", must_not_run)
    big = Config().replace(**{"dkvb.num_codebooks": 64, "dkvb.keys_per_codebook": 4096})
    outcome = runs.try_run(big)
    assert outcome.result is None and "dkvb.keys_per_codebook: 4,096 -> at most" in outcome.error
    with pytest.raises(ConfigError):
        runs.get_run(big, budget=APP_BUDGET)


def test_a_page_run_stops_when_its_session_goes_away():
    runs.run_cache().clear()
    config = Config().replace(**{"record.every": 1, "record.grid_size": 150, "train.steps_per_stage": 500})
    alive = {"yes": True}
    calls = []

    def show(done, total, phase="train"):
        calls.append(phase)
        if len(calls) == 3:
            alive["yes"] = False  # the tab closes while the run trains

    watch = runs.SessionWatch(show, alive=lambda: alive["yes"], yield_point=lambda: None, every=0.0)
    with pytest.raises(RunCancelled):
        runs.get_run(config, progress=watch)
    assert len(calls) == 3  # stopped at the next check
    assert not runs.is_cached(config)
    assert runs.run_cache().get_or_compute(("after",), lambda: "free") == "free"  # nothing left in flight


def test_a_newer_run_of_the_session_interrupts_the_old_one_at_its_yield_point():
    class RerunRequestedError(Exception):  # stands for Streamlit's own rerun exception
        pass

    pending = {"rerun": False}

    def yield_point():
        if pending["rerun"]:
            raise RerunRequestedError

    def show(done, total, phase="train"):
        pending["rerun"] = True  # a newer setting arrives while this run trains

    watch = runs.SessionWatch(show, alive=lambda: True, yield_point=yield_point, every=0.0)
    with pytest.raises(RerunRequestedError):
        runs.get_run(TINY.replace(**{"train.steps_per_stage": 300}), progress=watch)


def test_a_waiter_stops_waiting_when_its_session_goes_and_other_keys_are_served_meanwhile():
    cache = runs.RunCache(10_000, sizeof=lambda v: 1)
    cache.put(("cached",), "ready")
    release = threading.Event()
    started = threading.Event()

    def slow():
        started.set()
        release.wait(30)
        return "done"

    owner = threading.Thread(target=lambda: cache.get_or_compute(("k",), slow))
    owner.start()
    assert started.wait(30)
    # another session's cached page: answered while the run is in flight
    got: list = []
    reader = threading.Thread(target=lambda: got.append(cache.get_or_compute(("cached",), lambda: "recomputed")))
    reader.start()
    reader.join(10)
    assert got == ["ready"]
    # a session waiting on the same key goes away: its wait ends with RunCancelled
    gone = threading.Event()

    def check():
        if gone.is_set():
            raise RunCancelled("closed")

    errors: list = []

    def waiter():
        try:
            cache.get_or_compute(("k",), lambda: "twice", check)
        except RunCancelled as exc:
            errors.append(exc)

    w = threading.Thread(target=waiter)
    w.start()
    gone.set()
    w.join(10)
    assert not w.is_alive() and len(errors) == 1
    release.set()
    owner.join(10)
    assert cache.get(("k",)) == "done"


def test_the_page_shows_a_refusal_as_plain_text_and_keeps_the_previous_chart():
    runs.run_cache().clear()
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.query_params["train.steps_per_stage"] = "100"
    at.query_params["record.every"] = "20"
    at.run()
    assert not at.exception
    before = [fig for _header, fig in players(at)]  # the Playground's animated chart (the cockpit player)
    assert before
    next(s for s in at.slider if s.label == "Classes").set_value(32)
    next(s for s in at.slider if s.label == "Codebooks").set_value(64)
    next(s for s in at.select_slider if s.label == "Keys per codebook").set_value(4096)
    at.run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert any("dkvb.keys_per_codebook: 4,096 -> at most" in t for t in texts), texts
    assert any("These settings cannot run" in e.value for e in at.error)
    assert [fig for _header, fig in players(at)] == before  # the earlier chart stays


def test_the_images_page_shows_a_refusal_as_plain_text_and_keeps_the_previous_result(monkeypatch):
    monkeypatch.setenv("DKVB_BUDGET_SECONDS", "3")  # the operator's setting: read when a run is asked for
    at = AppTest.from_file(ENTRY, default_timeout=180)
    at.run()
    at.switch_page("views/images.py")
    at.run()
    assert not at.exception and len(at.metric) == 4
    shown = [m.value for m in at.metric]
    at.slider(key="img:codebooks").set_value(64)
    at.select_slider(key="img:keys").set_value(1024)
    at.run()
    assert not at.exception
    assert any("These settings cannot run" in e.value for e in at.error)
    texts = "\n".join(t.value for t in at.text)
    assert "over the budget of 3 s" in texts and "dkvb.keys_per_codebook: 1,024 -> at most" in texts, texts
    assert [m.value for m in at.metric] == shown  # the previous result stays on the page
