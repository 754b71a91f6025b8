"""Start importing the training engine (torch, ~1.5 s) in a background thread, once per server.

The first visit to a fresh server can then draw its title, sidebar and the chart library while
torch loads; the first run waits only for what is left of the import (Python's per-module import
locks make the page's own ``import`` block until the thread has finished it).
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading

HEAVY_MODULES = ("dkvb_core.engine",)
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


def start() -> None:
    """Begin the background import (no-op after the first call in this process)."""
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
