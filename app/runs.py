"""The one place pages get results from: cached runs by config, and runs of an uploaded CSV.

Runs are checked against the server's budget (``dkvb_core.budget``: seconds and bytes estimated from
the config) before anything runs, and a refusal comes back as a message naming the fields to lower.
The run cache is an LRU bounded in bytes (``$DKVB_CACHE_MB``, default ``DEFAULT_CACHE_MB``), keyed by
the config's JSON (plus the stream's content digest for uploads), so the same settings never train
twice while they fit. A page's run stops when its session asks for a newer run or goes away
(:class:`SessionWatch`). Errors the core raises on purpose come back as a message, never as a
traceback.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

import numpy as np
import streamlit as st

from dkvb_core import Config, DKVBError, RunResult, Stream
from dkvb_core.budget import APP_BUDGET, Budget, budget_from_env, check_budget
from dkvb_core.errors import ConfigError
from dkvb_core.model_pool import ModelPool
from dkvb_core.progress import Progress, RunCancelled

DEFAULT_CACHE_MB = 1024
MAX_CACHED_UPLOADS = 8
MAX_WORKERS = 8
WAIT_POLL_S = 0.1  # a caller waiting for another's run checks its own session this often
log = logging.getLogger("dkvb_explorer")


@dataclass(frozen=True)
class Outcome:
    """A run's result, or the message that explains why there is none."""

    result: RunResult | None
    error: str | None = None


def result_nbytes(value: Any, _seen: set[int] | None = None) -> int:
    """Bytes held by the arrays of a result (its dataclasses, dicts and lists walked; shared arrays once)."""
    seen = _seen if _seen is not None else set()
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if is_dataclass(value) and not isinstance(value, type):
        return sum(result_nbytes(getattr(value, f.name), seen) for f in fields(value))
    if isinstance(value, dict):
        return sum(result_nbytes(v, seen) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(result_nbytes(v, seen) for v in value)
    return 0


class RunCache:
    """A thread-safe LRU of results by key, bounded in bytes, computing each key once.

    Not ``st.cache_resource``: a progress callback that updates an element drawn outside the cached
    function breaks Streamlit's replay of cached calls. A caller asking for a key that another
    thread is computing (two visitors, or a visitor and the server's warm start) waits for that
    result instead of training the same config twice on the same two cores; while it waits it
    calls ``check`` (its own session's cancel check) every ``WAIT_POLL_S``. The lock is held only
    to look up and store: one session's run never blocks another session's cached page. A result
    larger than the whole bound is returned but not kept."""

    def __init__(self, max_bytes: int, sizeof: Callable[[Any], int] = result_nbytes) -> None:
        self.max_bytes = max_bytes
        self.sizeof = sizeof
        self._items: OrderedDict[tuple[str, ...], tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._in_flight: dict[tuple[str, ...], threading.Event] = {}

    def get(self, key: tuple[str, ...]) -> Any | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        return None

    def put(self, key: tuple[str, ...], value: Any) -> None:
        size = self.sizeof(value)
        with self._lock:
            if key in self._items:
                self._bytes -= self._items.pop(key)[1]
            if size > self.max_bytes:
                return
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                self._bytes -= self._items.popitem(last=False)[1][1]

    def get_or_compute(
        self, key: tuple[str, ...], compute: Callable[[], Any], check: Callable[[], None] | None = None
    ) -> Any:
        """The cached value of ``key``; else the one another thread is computing; else ``compute()``.

        A failed or cancelled computation caches nothing: the waiters then try it themselves."""
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key][0]
                pending = self._in_flight.get(key)
                if pending is None:
                    pending = self._in_flight[key] = threading.Event()
                    break
            while not pending.wait(WAIT_POLL_S):
                if check is not None:
                    check()
        try:
            value = compute()
            self.put(key, value)
            return value
        finally:
            with self._lock:
                del self._in_flight[key]
            pending.set()

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


def _cache_bytes() -> int:
    text = os.environ.get("DKVB_CACHE_MB", "")
    try:
        mb = float(text) if text.strip() else DEFAULT_CACHE_MB
    except ValueError:
        mb = -1.0
    if not 0 < mb <= 1e6:
        log.warning("DKVB_CACHE_MB=%r is not a positive number of MB; using %s", text[:40], DEFAULT_CACHE_MB)
        mb = DEFAULT_CACHE_MB
    return int(mb * 2**20)


_RUN_CACHE = RunCache(_cache_bytes())
_POOL: ModelPool | None = None  # worker processes for runs' models (app/serve.py starts them)
_POOL_LOCK = threading.Lock()


def model_workers() -> int:
    """Worker processes beside the server's own for a run's models (``$DKVB_WORKERS``, 0 to 8):
    by default one less than the machine's cores."""
    default = max(0, min(MAX_WORKERS, (os.cpu_count() or 1) - 1))
    text = os.environ.get("DKVB_WORKERS", "").strip()
    if not text:
        return default
    if text.isdigit() and len(text) <= 2 and int(text) <= MAX_WORKERS:
        return int(text)
    log.warning("DKVB_WORKERS=%r is not a whole number from 0 to %s; using %s", text[:40], MAX_WORKERS, default)
    return default


def start_model_pool() -> None:
    """Start the workers that train a run's models beside the server's process (once; none if
    ``model_workers()`` is 0). Runs use them once they have imported the engine (~2 s)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None and (workers := model_workers()) > 0:
            _POOL = ModelPool(workers)


def wait_for_model_pool(timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for the workers to finish starting (True when they have): a
    worker still importing torch would take the first visitor's CPU."""
    deadline = time.monotonic() + timeout
    while _POOL is not None and not _POOL.ready():
        if time.monotonic() > deadline or _POOL.broken:
            return False
        time.sleep(0.05)
    return True


def run_cache() -> RunCache:
    """One cache per server process, shared by every session and the server's warm start."""
    return _RUN_CACHE


def server_budget() -> Budget:
    """The budget of one app run (``$DKVB_BUDGET_SECONDS``, ``$DKVB_BUDGET_GB``; see the README)."""
    try:
        return budget_from_env(APP_BUDGET)
    except ConfigError as exc:
        log.warning("%s; using the default budget %s", exc, APP_BUDGET.describe())
        return APP_BUDGET


def _session_alive() -> bool:
    """False once the browser session of the running script has disconnected (True outside a server)."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None or not Runtime.exists():
        return True
    return Runtime.instance().is_active_session(ctx.session_id)


def session_alive_check() -> Callable[[], bool]:
    """A check, usable from any thread, that the calling script's session is still connected (for work
    that outlives the script run, such as a sweep's child process)."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None or not Runtime.exists():
        return lambda: True
    session_id, runtime = ctx.session_id, Runtime.instance()
    return lambda: runtime.is_active_session(session_id)


def _yield_to_streamlit() -> None:
    """Give Streamlit a point to act on a pending rerun or stop of this session: reading session state
    raises its rerun or stop exception there (the newer run then starts at once)."""
    _ = "_dkvb_yield" in st.session_state


class SessionWatch:
    """A page run's progress callback: stops the run when its session has gone (``RunCancelled``) or
    has a newer run waiting (Streamlit's own rerun exception, so the newer run starts), and passes
    progress on to ``show``. Checks at most every ``every`` seconds, so it costs nothing per step."""

    def __init__(
        self,
        show: Progress | None = None,
        alive: Callable[[], bool] = _session_alive,
        yield_point: Callable[[], None] = _yield_to_streamlit,
        every: float = 0.05,
    ) -> None:
        self.show, self.alive, self.yield_point, self.every = show, alive, yield_point, every
        self._last = 0.0

    def check(self) -> None:
        """Raise if this session's run should stop."""
        if not self.alive():
            log.warning("a run stopped: its session has closed")  # the server's log shows the CPU freed
            raise RunCancelled("the session has closed")
        self.yield_point()

    def __call__(self, done: int, total: int, phase: str = "train") -> None:
        now = time.monotonic()
        if now - self._last < self.every:
            return
        self._last = now
        self.check()
        if self.show is not None:
            self.show(done, total, phase)


def run_key(config: Config, stream: Stream | None = None) -> tuple[str, str]:
    """The cache key of a run: the config's JSON and, for an upload, the stream's content digest."""
    return (config.to_json(), "" if stream is None else stream.digest())


def is_cached(config: Config, stream: Stream | None = None) -> bool:
    """True when the run of ``config`` (on ``stream``) is ready in the cache."""
    return run_cache().get(run_key(config, stream)) is not None


def get_run(
    config: Config, stream: Stream | None = None, progress: Progress | None = None, budget: Budget | None = None
) -> RunResult:
    """The (cached) result of ``config``, on its own stream or on ``stream`` (an upload).

    A config not cached yet is checked against ``budget`` (default: the server's) first: over it,
    a ConfigError naming the fields to lower, in milliseconds. ``progress`` may stop the run by raising."""
    key = run_key(config, stream)
    cached = run_cache().get(key)
    if cached is not None:
        return cached
    check_budget(config, server_budget() if budget is None else budget, stream=stream)

    def compute() -> RunResult:
        if _POOL is not None:  # the models split over this process and the workers: same numbers, sooner
            return _POOL.run(config, stream=stream, progress=progress)
        from dkvb_core.engine import run  # torch: imported on first use (see app.warmup)

        return run(config, stream=stream, progress=progress)

    check = progress.check if isinstance(progress, SessionWatch) else None
    return run_cache().get_or_compute(key, compute, check)


def try_run(config: Config, stream: Stream | None = None, progress: Progress | None = None) -> Outcome:
    """:func:`get_run`, with the core's errors (over budget, bad data, unavailable kind) turned into text."""
    try:
        return Outcome(get_run(config, stream, progress))
    except ConfigError as exc:  # one line a fault: the budget's refusal names several fields
        return Outcome(None, "\n".join(f"{field}: {message}" for field, message in exc.problems))
    except DKVBError as exc:
        return Outcome(None, str(exc))


@st.cache_data(max_entries=MAX_CACHED_UPLOADS, show_spinner=False)
def _parse_csv(data: bytes, classes_per_stage: int, stage_order: str, test_fraction: float, seed: int) -> Stream:
    from dkvb_core.streams import load_csv_stream  # pandas: only when a file is uploaded

    return load_csv_stream(data, classes_per_stage, stage_order, test_fraction, seed)


def stream_from_upload(data: bytes, config: Config) -> Stream:
    """Validate and split an uploaded CSV with the stream settings of ``config``.

    Raises :class:`dkvb_core.DataError` naming the fault (columns, values, classes, size).
    """
    s = config.stream
    return _parse_csv(bytes(data), s.classes_per_stage, s.stage_order, s.test_fraction, config.seed_of_stream)


def upload_digest(data: bytes) -> str:
    """A short content hash of an upload, to tell a new file from the one already loaded."""
    return hashlib.sha256(data).hexdigest()[:16]
