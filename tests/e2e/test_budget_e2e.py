"""A real server and browser: a run in progress stops when its tab closes (the server's CPU is freed).

The server here has no budget (``DKVB_BUDGET_SECONDS=off``, ``DKVB_BUDGET_GB=off``) so that a long run
can start at all; it logs "a run stopped: its session has closed" when a page run notices its session
has gone.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import SCRIPT, free_port, start_server, stop_server, wait_healthy

LONG_RUN = "?dkvb.num_codebooks=64&dkvb.keys_per_codebook=1024&record.every=2&train.steps_per_stage=500"


@pytest.fixture(scope="module")
def unbudgeted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    names = ("DKVB_BUDGET_SECONDS", "DKVB_BUDGET_GB")
    before = {n: os.environ.get(n) for n in names}
    os.environ.update(dict.fromkeys(names, "off"))
    try:
        proc = start_server(port, log_path, SCRIPT)
    finally:
        for n, v in before.items():
            if v is None:
                os.environ.pop(n)
            else:
                os.environ[n] = v
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url, log_path
    finally:
        stop_server(proc)


def test_closing_the_tab_stops_its_run(browser, unbudgeted_server):
    url, log_path = unbudgeted_server
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/{LONG_RUN}")
    # the long run is in its step loop (key init reports progress only once the keys branch lands)
    page.get_by_text("Training: step").wait_for(timeout=240_000)
    context.close()  # the tab goes away mid-run
    closed = time.monotonic()
    deadline = closed + 30
    while time.monotonic() < deadline:
        if "its session has closed" in log_path.read_text(errors="replace"):
            break
        time.sleep(0.2)
    print(f"run stopped {time.monotonic() - closed:.2f} s after the tab closed (log polled every 0.2 s)")
    log = log_path.read_text(errors="replace")
    assert "a run stopped: its session has closed" in log, log[-2000:]
