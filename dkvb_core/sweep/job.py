"""A sweep running in the background for the app, with progress, time left and cancel.

The sweep runs as the ``sweep`` CLI in a child process: the app's server never forks training
workers itself (Streamlit swaps ``sys.modules['__main__']`` for the page script, which pool
workers would re-run), and a crash in a sweep cannot take the server down. Progress is read
from the out dir's run log. Cancel stops the child's whole process group at once (the finished
runs are kept in the log; the same spec resumes), and so does the page's session going away
(``alive`` turns false). The child runs at a lower CPU priority (``nice``) with one worker by
default, so a sweep does not starve other visitors' runs. At most ``MAX_ACTIVE_JOBS`` jobs run per
server process (bigger work: the CLI).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from dkvb_core.errors import DataError, DKVBError
from dkvb_core.sweep.runner import planned_run_ids, sweep_tables
from dkvb_core.sweep.spec import SweepSpec
from dkvb_core.sweep.table import SPEC_JSON, RunLog

MAX_ACTIVE_JOBS = 1
POLL_SECONDS = 0.2
PAGE_WORKERS = 1  # one core stays free for the other visitors' runs
NICE = 10  # the sweep's processes yield the CPU to the server's own work
KILL_AFTER_S = 2.0  # a cancelled child still running after this is killed
STOP_FILE = "stop-requested"
_active: set[SweepJob] = set()
_lock = threading.Lock()
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def sweeps_root() -> Path:
    """Where the app keeps its sweeps: ``$DKVB_SWEEPS_DIR`` or a folder in the temp dir."""
    return Path(os.environ.get("DKVB_SWEEPS_DIR") or Path(tempfile.gettempdir()) / "dkvb-explorer-sweeps")


MAX_DIR_CHARS = 300


def user_sweep_dir(text: str, roots: list[Path] | None = None) -> Path:
    """A sweep folder typed by a user, resolved; it must lie inside one of ``roots`` (default: the
    working directory, where the CLI's ``--out`` folders go, and :func:`sweeps_root`), so a shared
    server cannot be made to read folders elsewhere. Raises DataError naming the rule."""
    roots = roots if roots is not None else [Path.cwd(), sweeps_root()]
    text = text.strip()
    if not text or len(text) > MAX_DIR_CHARS:
        raise DataError(f"Folder path: give a folder path of 1 to {MAX_DIR_CHARS} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise DataError("Folder path: may not hold control characters (NUL, tab, newline, ...)")
    allowed = [r.resolve() for r in roots]
    path = Path(text)
    resolved = (path if path.is_absolute() else allowed[0] / path).resolve()
    if not any(resolved == r or r in resolved.parents for r in allowed):
        where = " or ".join(str(r) for r in allowed)
        raise DataError(f"Folder path: {text[:60]!r} is outside the folders sweeps are read from ({where})")
    return resolved


def out_dir_for(spec: SweepSpec, root: Path | None = None) -> Path:
    """A stable folder per spec (name + digest of the spec), so the same spec resumes there."""
    digest = hashlib.sha256(json.dumps(spec.to_dict(), sort_keys=True).encode()).hexdigest()[:10]
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", spec.name).strip("-")[:40] or "sweep"
    return (root or sweeps_root()) / f"{slug}-{digest}"


class SweepJob:
    """Run ``spec`` into ``out_dir`` in a child process; poll ``done``, ``total``, ``state``."""

    def __init__(
        self,
        spec: SweepSpec,
        out_dir: str | Path,
        executor: str = "local",
        workers: int | None = PAGE_WORKERS,
        alive: Callable[[], bool] | None = None,
        nice: int = NICE,
    ):
        self.spec = spec
        self.alive = alive
        self.nice = nice
        self.out_dir = Path(out_dir)
        self.executor = executor
        self.workers = workers
        self.total = spec.num_runs
        self.done = 0
        self.first_done: int | None = None
        self.started = 0.0
        self.error: str | None = None
        self.runs: pd.DataFrame | None = None
        self.summary: pd.DataFrame | None = None
        self._wanted = set(planned_run_ids(spec))
        self._proc: subprocess.Popen | None = None
        self._cancelled = False
        self._cancelled_at = 0.0
        self._thread = threading.Thread(target=self._watch, name=f"sweep-{spec.name}", daemon=True)

    @property
    def stop_file(self) -> Path:
        return self.out_dir / STOP_FILE

    def start(self) -> SweepJob:
        """Start the child process, or raise :class:`DKVBError` if this server already runs a sweep."""
        with _lock:
            if len(_active) >= MAX_ACTIVE_JOBS:
                raise DKVBError("a sweep is already running on this server; wait for it, or run yours with the CLI")
            _active.add(self)
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self.stop_file.unlink(missing_ok=True)
            spec_path = self.out_dir / SPEC_JSON
            spec_path.write_text(json.dumps(self.spec.to_dict(), indent=2) + "\n", encoding="utf-8")
            cmd = [sys.executable, "-m", "dkvb_core", "sweep", "--spec", str(spec_path), "--out", str(self.out_dir)]
            cmd += ["--executor", self.executor, "--no-progress", "--stop-file", str(self.stop_file)]
            if self.workers:
                cmd += ["--workers", str(self.workers)]
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")])}
            self._count()
            self.first_done = self.done
            self.started = time.monotonic()
            self._proc = subprocess.Popen(
                cmd,
                cwd=_PACKAGE_ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,  # its own process group: cancel stops the pool workers with it
            )
            self._lower_priority()
        except BaseException:
            with _lock:
                _active.discard(self)
            raise
        self._thread.start()
        return self

    def _lower_priority(self) -> None:
        """Renice the child (its pool workers, forked later, inherit it)."""
        assert self._proc is not None
        if self.nice and hasattr(os, "setpriority"):
            with contextlib.suppress(OSError):  # it may already have exited
                os.setpriority(os.PRIO_PROCESS, self._proc.pid, self.nice)

    def _count(self) -> None:
        self.done = sum(1 for row in RunLog(self.out_dir).read() if row["run_id"] in self._wanted)

    def _watch(self) -> None:
        assert self._proc is not None
        try:
            while self._proc.poll() is None:
                self._count()
                if not self._cancelled and self.alive is not None and not self.alive():
                    self.cancel()  # the page's session has gone: nobody will read this sweep
                elif self._cancelled_at and time.monotonic() - self._cancelled_at > KILL_AFTER_S:
                    self._signal(signal.SIGKILL)  # it ignored the polite stop
                time.sleep(POLL_SECONDS)
            err = self._proc.stderr.read() if self._proc.stderr else ""
            self._count()
            if self._proc.returncode != 0 and not self._cancelled:
                lines = [ln for ln in err.strip().splitlines() if ln.strip()]
                self.error = lines[-1] if lines else f"the sweep exited with code {self._proc.returncode}"
            self.runs, self.summary = sweep_tables(self.spec, self.out_dir)
        except Exception as exc:  # reported to the page as a message; the finished runs stay on disk
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            with _lock:
                _active.discard(self)

    def cancel(self) -> None:
        """Stop now: the child and its workers end; the runs finished so far are kept in the log."""
        self._cancelled = True
        if not self.running or self._proc is None:
            return
        self._cancelled_at = time.monotonic()
        self.stop_file.touch()
        self._signal(signal.SIGTERM)

    def _signal(self, sig: int) -> None:
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
            os.killpg(self._proc.pid, sig)

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def state(self) -> str:
        """``running``, ``cancelling``, ``failed``, ``cancelled`` or ``done``."""
        if self.running:
            return "cancelling" if self._cancelled else "running"
        if self.error:
            return "failed"
        return "cancelled" if self.done < self.total else "done"

    def seconds_left(self) -> float | None:
        """Time left at the rate of this job's own runs so far; None before the first one."""
        new = self.done - (self.first_done or 0)
        if not self.running or new <= 0:
            return None
        return (time.monotonic() - self.started) / new * (self.total - self.done)


def active_jobs() -> int:
    with _lock:
        return len(_active)
