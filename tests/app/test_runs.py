"""Run cache (bounded, keyed by config and stream) and upload validation messages."""

import os
import threading
import time

import numpy as np
import pytest

from app import runs, warmup
from dkvb_core import Config, DataError

TINY = Config().replace(**{"train.steps_per_stage": 5, "record.every": 0, "record.grid_size": 0})


def test_lru_is_bounded_and_keeps_recent_entries():
    cache = runs.RunCache(2, sizeof=lambda v: 1)  # one unit an entry: two entries fit
    cache.put(("a",), "A")
    cache.put(("b",), "B")
    assert cache.get(("a",)) == "A"  # a is now the most recent
    cache.put(("c",), "C")
    assert len(cache) == 2 and cache.get(("b",)) is None and cache.get(("a",)) == "A"


def test_a_key_being_computed_is_waited_for_not_computed_again():
    cache = runs.RunCache(4, sizeof=lambda v: 1)
    calls: list[int] = []
    started = threading.Event()

    def slow() -> str:
        calls.append(1)
        started.set()
        time.sleep(0.2)
        return "A"

    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(cache.get_or_compute(("k",), slow)))
    first.start()
    started.wait(5)
    second = threading.Thread(target=lambda: results.append(cache.get_or_compute(("k",), slow)))
    second.start()
    first.join(5)
    second.join(5)
    assert results == ["A", "A"] and len(calls) == 1


def test_a_failed_computation_caches_nothing_and_the_next_caller_retries():
    cache = runs.RunCache(4, sizeof=lambda v: 1)

    def boom() -> str:
        raise DataError("no")

    with pytest.raises(DataError):
        cache.get_or_compute(("k",), boom)
    assert cache.get(("k",)) is None
    assert cache.get_or_compute(("k",), lambda: "B") == "B"


def test_the_servers_warm_start_leaves_the_default_run_cached():
    runs.run_cache().clear()
    warmup.warm_default()
    assert warmup.ready()
    cached = runs.run_cache().get(runs.run_key(Config()))
    assert cached is not None and runs.get_run(Config()) is cached


def test_same_config_is_computed_once_and_is_deterministic():
    runs.run_cache().clear()
    assert not runs.is_cached(TINY)
    first = runs.get_run(TINY)
    assert runs.is_cached(TINY) and not runs.is_cached(TINY.replace(seed=1))
    assert runs.get_run(TINY) is first
    other = runs.get_run(TINY.replace(seed=1))
    assert other is not first
    runs.run_cache().clear()
    again = runs.get_run(TINY)
    np.testing.assert_array_equal(again.models["dkvb"].step_loss, first.models["dkvb"].step_loss)


def csv(rows: list[str], header: str = ",Feature_1,Feature_2,Labels") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


GOOD = [f"{i},{i * 0.1:.2f},{-i * 0.2:.2f},{i % 4}" for i in range(40)]


def test_a_good_upload_runs_and_is_cached_by_content():
    stream = runs.stream_from_upload(csv(GOOD), TINY)
    assert stream.num_classes == 4 and stream.num_stages == 2
    result = runs.get_run(TINY, stream)
    assert result.models["dkvb"].stage_accuracy.shape[1] == 2
    assert runs.get_run(TINY, runs.stream_from_upload(csv(GOOD), TINY)) is result


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (csv(GOOD, header=",Feature_1,Labels"), "missing Feature_2"),
        (csv([r + ",9" for r in GOOD], header=",Feature_1,Feature_2,Labels,Extra"), "unexpected Extra"),
        (csv([*GOOD, "99,abc,1.0,1"]), "non-numeric"),
        (csv([*GOOD, "99,,1.0,1"]), "NaN"),
        (csv([f"{i},{i},{i},3" for i in range(10)]), "only one class"),
        (b"\x00\x01\x02garbage", "Feature_1"),
        (b"x" * 5_000_001, "larger than the limit"),
        (csv([f"{i},{i % 7},{i % 5},{i % 2}" for i in range(50_001)]), "more than the limit of 50,000 rows"),
    ],
)
def test_every_upload_fault_is_named(data, named):
    with pytest.raises(DataError, match=named):
        runs.stream_from_upload(data, TINY)


def test_every_page_run_can_be_stopped_by_its_session(monkeypatch):
    """Playground, Online and Regression runs all go through one helper that passes a SessionWatch
    (a closed tab or a newer setting stops the run), not a bare progress function."""
    from streamlit.testing.v1 import AppTest

    from tests.app.test_online_page import ENTRY, SMALL
    from tests.app.test_online_page import PAGE as ONLINE

    seen: list = []
    real = runs.try_run
    monkeypatch.setattr(runs, "is_cached", lambda config, stream=None: False)
    monkeypatch.setattr(runs, "try_run", lambda c, s=None, p=None: seen.append(p) or real(c, s, p))
    regression = ONLINE.replace("online.py", "regression.py")
    for page, params in ((None, {"train.steps_per_stage": "20"}), (ONLINE, SMALL), (regression, {})):
        seen.clear()
        at = AppTest.from_file(ENTRY, default_timeout=240)
        for k, v in params.items():
            at.query_params[k] = v
        if page:
            at.switch_page(page)
        at.run()
        assert not at.exception, at.exception
        assert seen and all(isinstance(p, runs.SessionWatch) for p in seen), (page, seen)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("2", 2),
        (" 1 ", 1),
        ("abc", None),
        ("-1", None),
        ("9", None),
        ("1e3", None),
        ("True", None),
        ("", None),
        ("9" * 5000, None),
    ],
)
def test_the_workers_setting_takes_0_to_8_and_else_the_default(monkeypatch, caplog, text, expected):
    monkeypatch.setenv("DKVB_WORKERS", text)
    default = max(0, min(runs.MAX_WORKERS, (os.cpu_count() or 1) - 1))
    assert runs.model_workers() == (default if expected is None else expected)
    if expected is None and text.strip():
        assert "DKVB_WORKERS" in caplog.text and "0 to 8" in caplog.text
