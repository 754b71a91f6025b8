"""Get the training engine ready in a background thread, once per server process.

Two ways in:
- :func:`start` (called by every page run): imports the engine (torch, ~1.5 s). On a fresh
  ``streamlit run app/main.py`` the first visit draws its title, sidebar and the chart library
  while torch loads; the first run waits only for what is left (Python's per-module import locks
  make the page's own ``import`` block until the thread has finished it).
- :func:`warm_default` (awaited by ``app/serve.py`` before the server reports itself up): the same
  import, then the default run (into the shared run cache) and its landing-page figure, so the
  first visitor's page finds its result cached. It runs before the server takes requests, not
  beside them: a torch import in a background thread holds the GIL so much that the page shell
  (a few MB of JS served by the same process) takes about twice as long to arrive.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading

HEAVY_MODULES = ("dkvb_core.engine",)
POOL_WAIT_S = 20.0  # the warm start waits this long at most for the model workers to start
_lock = threading.Lock()
_started = threading.Event()
_done = threading.Event()
log = logging.getLogger("dkvb_explorer")


def _import_all() -> None:
    for name in HEAVY_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # the page's own import reports it where the user sees it
            log.exception("background import of %s failed", name)
    _done.set()


def warm_default() -> None:
    """Start the model workers, import the engine, run the default config into the run cache and
    build its landing figure once (then drop it: that loads plotly's modules), then wait for the
    workers (a worker still importing torch would slow the first visit). Blocks for ~3 s; logs
    instead of raising."""
    with _lock:
        _started.set()
    from app import runs  # streamlit and the config: light

    try:  # the workers import the engine in their own processes meanwhile (the second core)
        runs.start_model_pool()
    except Exception:  # runs then train in this process
        log.exception("the model workers did not start")
    _import_all()
    try:
        from app.charts import boundaries
        from dkvb_core import Config

        result = runs.get_run(Config())
        boundaries.animated_boundaries(result, list(result.models), show_test=False)
    except Exception:  # the page's own run reports it where the user sees it
        log.exception("warm start of the default run failed")
    if not runs.wait_for_model_pool(POOL_WAIT_S):
        log.warning("the model workers are not ready after %s s; runs train in one process meanwhile", POOL_WAIT_S)


def start() -> None:
    """Begin the background engine import (no-op once anything was started in this process)."""
    with _lock:
        if _started.is_set():
            return
        _started.set()
    threading.Thread(target=_import_all, name="dkvb-warmup", daemon=True).start()


def ready() -> bool:
    """True when a run can start without waiting for the import (always true once it finished)."""
    if _started.is_set():
        return _done.is_set()
    return all(name in sys.modules for name in HEAVY_MODULES)
