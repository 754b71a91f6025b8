"""A page sweep's child process: lower priority, one worker, stopped at once by cancel or by the
page's session going away (its whole process group), finished runs kept."""

from __future__ import annotations

import os
import threading
import time

import pytest

from dkvb_core.sweep import parse_spec
from dkvb_core.sweep.job import NICE, SweepJob

LONG = {
    "name": "long",
    "preset": "toy",
    "base": {"train": {"steps_per_stage": 2000, "models": ["dkvb", "linear", "mlp"]}},
    "axes": {"dkvb.keys_per_codebook": [8, 16, 32, 64, 128, 256], "dkvb.lr": [0.01, 0.1, 1.0]},
    "seeds": 2,
}


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def _wait_running(job: SweepJob) -> int:
    assert job._proc is not None
    return job._proc.pid


@pytest.mark.timeout(300)
def test_a_page_sweep_runs_niced_and_stops_at_once_when_its_session_goes(tmp_path):
    alive = threading.Event()
    alive.set()
    job = SweepJob(parse_spec(LONG), tmp_path / "out", alive=alive.is_set).start()
    pid = _wait_running(job)
    assert os.getpriority(os.PRIO_PROCESS, pid) == NICE
    assert job.workers == 1
    time.sleep(3)  # the child is importing torch or training: either way it must stop
    assert job.running
    alive.clear()  # the tab closes
    assert job.wait(30), "the sweep kept running after its session went away"
    assert job.cancelled and job.state in ("cancelled", "done") and job.error is None
    deadline = time.monotonic() + 10
    while not _group_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _group_gone(pid), "a worker of the sweep is still alive"


@pytest.mark.timeout(300)
def test_cancel_stops_the_child_and_its_workers_without_waiting_for_runs_in_flight(tmp_path):
    job = SweepJob(parse_spec(LONG), tmp_path / "out").start()
    pid = _wait_running(job)
    deadline = time.monotonic() + 240
    while job.done == 0 and time.monotonic() < deadline:  # one config (2 runs) logged: the next is in flight
        time.sleep(0.05)
    assert job.done > 0
    at_cancel = job.done
    job.cancel()
    assert job.wait(30)
    assert job.state == "cancelled" and job.error is None
    assert job.done == at_cancel, "a run in flight was finished after the cancel"
    deadline = time.monotonic() + 10
    while not _group_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _group_gone(pid)
