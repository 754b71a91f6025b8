"""Control change -> chart drawn, in a real browser against a real `streamlit run` server.

Measures (each >= 5 runs; median and 95th percentile, and the ratio to the baseline measured in
the same run):
- fresh server: process start -> health endpoint answers (``serve.py`` warms up before that);
- first render: a fresh server (health OK) -> the landing page's title shown and its decision-boundary
  heatmaps drawn; ``--fresh`` servers (default 5) for the README's ``app/serve.py`` (warm start) and for
  ``app/main.py`` alone, each opened by a new visitor (empty browser cache: 4.7 MB of chart library to
  fetch and parse) and by a returning one (its cache from an earlier visit; same port, as when a
  presenter restarts the server);
- baseline: reload the page with the default config (result already cached) -> heatmaps drawn;
- new seed (uncached): type a new seed -> the redrawn heatmaps differ (a full training run);
- seen seed (cached): type a seed already run -> the heatmaps differ;
- view change: toggle the held-out points (no training) -> chart redrawn;
- frame step: press → in the animation -> the next frame drawn (timed in the page: key event to paint);
- scrub: move the player's scrubber to another frame -> that frame drawn (timed in the page);
- six models (DKVB and the five continual-learning baselines, issue 9): a new seed, and the held-out toggle.

Usage: python benchmarks/bench_browser.py [--runs 7] [--fresh 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

try:  # the browser and the e2e fixtures come with the test requirements
    import playwright  # noqa: F401
    import pytest  # noqa: F401
except ImportError:
    sys.exit(
        "bench_browser.py needs the test requirements: pip install -r requirements-dev.txt "
        "(Playwright, pytest) and Debian's Chromium (bash .ci/install.sh installs both)"
    )

from tests.e2e.conftest import (  # noqa: E402 - reuse the e2e server and browser settings
    CHROMIUM,
    CHROMIUM_ARGS,
    SCRIPT,
    SERVE,
    free_port,
    start_server,
    stop_server,
    wait_healthy,
)

HEATMAP = ".js-plotly-plot .imagelayer image"  # the region maps (layout images)
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'


PANELS = 3  # dkvb, linear, mlp on the default config
# Issue 9's six-model Playground: DKVB against the five continual-learning baselines (the costliest six).
SIX_MODELS = ("dkvb", "replay", "ewc", "lwf", "agem", "slda")
DRAWN = f"(n) => document.querySelectorAll('{HEATMAP}').length >= n"
CHANGED = "() => { const gd = document.querySelector('.js-plotly-plot'); return gd && gd.data !== window.__benchData; }"


def drawn(page, panels: int = PANELS) -> None:
    """Every panel has its heatmap image, then two animation frames have been painted."""
    page.wait_for_function(DRAWN, arg=panels, timeout=120_000)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def mark_chart(page) -> None:
    """Remember the chart's data object: plotly replaces it when it draws new data."""
    page.evaluate("() => { window.__benchData = document.querySelector('.js-plotly-plot').data; }")


def set_seed(page, seed: int, panels: int = PANELS) -> float:
    """Type a seed and press Enter; seconds until the chart is drawn with the new data."""
    box = page.get_by_label("Seed")
    drawn(page, panels)
    mark_chart(page)
    box.fill(str(seed))
    start = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(CHANGED, timeout=120_000)
    drawn(page, panels)
    elapsed = time.perf_counter() - start
    page.wait_for_selector(READY, timeout=120_000)
    return elapsed


def toggle_held_out(page, panels: int = PANELS) -> float:
    """Click the held-out points toggle (no training: pure redraw); seconds until drawn."""
    drawn(page, panels)
    mark_chart(page)
    start = time.perf_counter()
    page.get_by_text("Show held-out points").click()
    page.wait_for_function(CHANGED, timeout=120_000)
    drawn(page, panels)
    elapsed = time.perf_counter() - start
    page.wait_for_selector(READY, timeout=120_000)
    return elapsed


STEP_JS = """
async ([mode, target]) => {
  const p = document.querySelector('.dkvb-player');
  const names = [...p.querySelector('.js-plotly-plot')._transitionData._frames.map(f => f.name)];
  const name = names[target % names.length];
  const t0 = performance.now();
  if (mode === 'key') {
    document.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowRight', bubbles: true}));
  } else {
    const s = p.querySelector('.dkvb-slider');
    s.value = String(target % names.length);
    s.dispatchEvent(new Event('input', {bubbles: true}));
  }
  while (p.dataset.drawn !== name) await new Promise(r => requestAnimationFrame(r));
  await new Promise(r => requestAnimationFrame(r));  // painted
  return (performance.now() - t0) / 1000;
}
"""


def frame_steps(page, runs: int) -> tuple[list[float], list[float]]:
    """Seconds from a → key press (and from a scrub) to the new frame painted, timed inside the page."""
    page.keyboard.press("Home")
    page.wait_for_function("() => document.querySelector('.dkvb-player').dataset.drawn === '0'")
    steps, scrubs = [], []
    for i in range(runs):
        pos = int(page.evaluate("() => Number(document.querySelector('.dkvb-player .dkvb-slider').value)"))
        steps.append(page.evaluate(STEP_JS, ["key", pos + 1]))
        scrubs.append(page.evaluate(STEP_JS, ["scrub", 40 + 7 * i]))
        page.wait_for_timeout(600)  # let the debounced frame report (a rerun) pass
        page.wait_for_selector(READY, timeout=120_000)
    return steps, scrubs


def first_render(context, port: int, entry: str) -> tuple[float, float, float]:
    """A fresh ``entry`` server on ``port``: seconds from its start to healthy, then from opening the
    page (in a new tab of ``context``) to the title shown and to the heatmaps drawn."""
    proc = start_server(port, Path(tempfile.mkdtemp()) / "server.log", entry)
    try:
        up = wait_healthy(f"http://127.0.0.1:{port}", proc)
        page = context.new_page()
        t0 = time.perf_counter()
        page.goto(f"http://127.0.0.1:{port}")
        page.locator("h1").first.wait_for(timeout=120_000)
        title = time.perf_counter() - t0
        drawn(page)
        charts = time.perf_counter() - t0
        page.close()
        return up, title, charts
    finally:
        stop_server(proc)


def first_renders(browser, fresh: int) -> dict[str, list[float]]:
    """The first-render rows: both entries, empty and warm browser cache, interleaved (same machine load)."""
    port = free_port()
    viewport = {"width": 1600, "height": 1000}
    returning = browser.new_context(viewport=viewport)  # keeps its HTTP cache across the server restarts
    first_render(returning, port, SCRIPT)  # the earlier visit that filled its cache
    rows: dict[str, list[float]] = {}
    for i in range(fresh):
        for entry in (SERVE, SCRIPT):
            name = Path(entry).name
            print(f"  fresh server {i + 1}/{fresh}: {name}…", file=sys.stderr, flush=True)
            new_visitor = browser.new_context(viewport=viewport)
            up, title, charts = first_render(new_visitor, port, entry)
            new_visitor.close()
            rows.setdefault(f"{name}: start -> healthy", []).append(up)
            rows.setdefault(f"{name}: first render, title (new visitor)", []).append(title)
            rows.setdefault(f"{name}: first render, charts (new visitor)", []).append(charts)
            _, _, again = first_render(returning, port, entry)
            rows.setdefault(f"{name}: first render, charts (returning)", []).append(again)
    returning.close()
    return rows


def six_models(page, url: str, runs: int) -> dict[str, list[float]]:
    """The Playground with :data:`SIX_MODELS` (a grid of six panels): a new seed and a view toggle."""
    print("  six models: seeds, held-out toggle…", file=sys.stderr, flush=True)
    page.goto(f"{url}/?train.models={','.join(SIX_MODELS)}")
    drawn(page, len(SIX_MODELS))
    page.wait_for_selector(READY, timeout=120_000)
    n = len(SIX_MODELS)
    return {
        "six models: new seed (uncached)": [set_seed(page, 200 + i, n) for i in range(runs)],
        "six models: held-out points toggle": [toggle_held_out(page, n) for _ in range(runs)],
    }


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per scenario (>= 5)")
    parser.add_argument("--fresh", type=int, default=5, help="fresh servers for the first-render rows (>= 1)")
    args = parser.parse_args()
    runs = max(5, args.runs)
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkdtemp()) / "server.log"
    proc = start_server(port, log)
    results: dict[str, list[float]] = {}
    try:
        up = wait_healthy(url, proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            results.update(first_renders(browser, max(1, args.fresh)))
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(url)
            drawn(page)
            page.wait_for_selector(READY, timeout=120_000)
            baseline = []
            for _ in range(runs):
                t = time.perf_counter()
                page.reload()
                drawn(page)
                baseline.append(time.perf_counter() - t)
                page.wait_for_selector(READY, timeout=120_000)
            results["baseline: reload, cached run"] = baseline
            print("  scenarios on one server: seeds, held-out toggle…", file=sys.stderr, flush=True)
            results["control change: new seed (uncached)"] = [set_seed(page, 100 + i) for i in range(runs)]
            results["control change: seen seed (cached)"] = [set_seed(page, 100 + (i + 1) % runs) for i in range(runs)]
            results["view change: held-out points toggle"] = [toggle_held_out(page) for _ in range(runs)]
            steps, scrubs = frame_steps(page, runs)
            results["frame step: → key (in page)"] = steps
            results["frame scrub: scrubber (in page)"] = scrubs
            results.update(six_models(page, url, runs))
            browser.close()
    finally:
        stop_server(proc)
    base = statistics.median(results["baseline: reload, cached run"])
    print(f"server healthy after {up:.2f} s; {runs} runs a scenario; times in seconds")
    print(f"{'scenario':<44} {'n':>3} {'median':>8} {'p95':>8} {'x baseline':>11}")
    for name, values in results.items():
        med = statistics.median(values)
        print(f"{name:<44} {len(values):>3} {med:>8.3f} {p95(values):>8.3f} {med / base:>11.2f}")


if __name__ == "__main__":
    main()
