"""A sweep running in a background thread, with progress, time left and cancel: for the app.

The app's script returns at once and polls the job; the runs go to an out dir, so a cancelled
or abandoned job keeps its finished runs and the same spec later resumes. At most
``MAX_ACTIVE_JOBS`` jobs run in one server process, so two browser tabs cannot oversubscribe
the machine's cores (bigger sweeps belong to the CLI).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
import time
from pathlib import Path

from dkvb_core.errors import DKVBError
from dkvb_core.sweep.runner import SweepOutcome, run_sweep
from dkvb_core.sweep.spec import SweepSpec

MAX_ACTIVE_JOBS = 1
_active: set[SweepJob] = set()
_lock = threading.Lock()


def sweeps_root() -> Path:
    """Where the app keeps its sweeps: ``$DKVB_SWEEPS_DIR`` or a folder in the temp dir."""
    return Path(os.environ.get("DKVB_SWEEPS_DIR") or Path(tempfile.gettempdir()) / "dkvb-explorer-sweeps")


def out_dir_for(spec: SweepSpec, root: Path | None = None) -> Path:
    """A stable folder per spec (name + digest of the spec), so the same spec resumes there."""
    digest = hashlib.sha256(json.dumps(spec.to_dict(), sort_keys=True).encode()).hexdigest()[:10]
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", spec.name).strip("-")[:40] or "sweep"
    return (root or sweeps_root()) / f"{slug}-{digest}"


class SweepJob:
    """Run ``spec`` into ``out_dir`` on ``executor`` in a thread; poll ``done``/``total``/``state``."""

    def __init__(self, spec: SweepSpec, out_dir: str | Path, executor: str = "local", workers: int | None = None):
        self.spec = spec
        self.out_dir = Path(out_dir)
        self.executor = executor
        self.workers = workers
        self.total = spec.num_runs
        self.done = 0
        self.first_done: int | None = None
        self.started = 0.0
        self.finished = 0.0
        self.outcome: SweepOutcome | None = None
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name=f"sweep-{spec.name}", daemon=True)

    def start(self) -> SweepJob:
        """Start the thread, or raise :class:`DKVBError` if the server is already running a sweep."""
        with _lock:
            if len(_active) >= MAX_ACTIVE_JOBS:
                raise DKVBError("a sweep is already running on this server; wait for it, or run yours with the CLI")
            _active.add(self)
        self.started = time.monotonic()
        self._thread.start()
        return self

    def _progress(self, done: int, total: int) -> None:
        if self.first_done is None:
            self.first_done = done
        self.done, self.total = done, total

    def _work(self) -> None:
        try:
            self.outcome = run_sweep(
                self.spec,
                self.out_dir,
                self.executor,
                workers=self.workers,
                progress=self._progress,
                should_stop=self._stop.is_set,
            )
        except Exception as exc:  # reported to the page as a message; the finished runs stay on disk
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.finished = time.monotonic()
            with _lock:
                _active.discard(self)

    def cancel(self) -> None:
        """Stop after the tasks in flight; their runs are kept."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    @property
    def state(self) -> str:
        """``running``, ``cancelling``, ``failed``, ``cancelled`` or ``done``."""
        if self.running:
            return "cancelling" if self.cancelled else "running"
        if self.error:
            return "failed"
        return "cancelled" if self.cancelled and self.done < self.total else "done"

    def seconds_left(self) -> float | None:
        """Time left at the rate of this job's own runs so far; None before the first one."""
        new = self.done - (self.first_done or 0)
        if not self.running or new <= 0:
            return None
        elapsed = time.monotonic() - self.started
        return elapsed / new * (self.total - self.done)


def active_jobs() -> int:
    with _lock:
        return len(_active)
