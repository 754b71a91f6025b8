"""Real-browser fixtures: a `streamlit run app/serve.py` server (the README's) on a free 127.0.0.1 port and a
headless Debian Chromium driven by Playwright. Screenshots go to artifacts/screenshots/ (CI keeps it).

Other pages' e2e tests reuse ``app_url``, ``browser``, ``page``, ``open_page``, ``wait_idle`` and
``screenshot``. The server is started once per test session and killed by its PID.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SERVER_START_TIMEOUT = 90.0
IDLE_TIMEOUT_MS = 90_000

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SERVE = "app/serve.py"  # what the README and the Dockerfile start (warm start of the default run)
SCRIPT = "app/main.py"  # the page script alone (no warm start)


def start_server(port: int, log_path: Path, entry: str = SERVE) -> subprocess.Popen:
    """Start `streamlit run <entry>` headless on 127.0.0.1:port (its own process group)."""
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        entry,
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    log = log_path.open("wb")
    return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = SERVER_START_TIMEOUT) -> float:
    """Poll Streamlit's health endpoint; return seconds until it answered 'ok'."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return time.monotonic() - start
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"streamlit did not answer on {url} within {timeout} s")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the server we started: SIGTERM to its process group (by PID), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    proc = start_server(port, log_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        stop_server(proc)
        log_text = log_path.read_text(errors="replace")
        if "Traceback" in log_text:
            print(f"--- streamlit server log ---\n{log_text[-4000:]}")


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, device_scale_factor=1)
    pg = context.new_page()
    pg.set_default_timeout(IDLE_TIMEOUT_MS)
    try:
        yield pg
    finally:
        context.close()


def wait_idle(page, timeout_ms: int = IDLE_TIMEOUT_MS) -> None:
    """Wait until the app's script has finished running (Streamlit's own script-state marker)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)


@pytest.fixture()
def open_page(page, app_url: str) -> Callable[[str], object]:
    """Open ``app_url/<path>`` (path may include a query string) and wait until it is drawn."""

    def _open(path: str = "") -> object:
        page.goto(f"{app_url}/{path.lstrip('/')}")
        wait_idle(page)
        return page

    return _open


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG under artifacts/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_no_exception(page) -> None:
    """No Streamlit exception element and no traceback text on the page."""
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback (most recent call last)" not in page.content()


def wait_rerun(page, timeout_ms: int = IDLE_TIMEOUT_MS) -> None:
    """After an interaction: wait for the rerun to start (if it has not already) and to finish."""
    with contextlib.suppress(Exception):  # the rerun may have started and ended already
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="running"]', timeout=3000)
    wait_idle(page, timeout_ms)
