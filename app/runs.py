"""The one place pages get results from: cached runs by config, and runs of an uploaded CSV.

Caches are bounded (an LRU of ``MAX_CACHED_RUNS``) and keyed by the config's JSON (plus the stream's content
digest for uploads), so the same settings never train twice in a server's life. Errors the
core raises on purpose come back as a message, never as a traceback.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from dkvb_core import Config, DKVBError, RunResult, Stream
from dkvb_core.progress import Progress

MAX_CACHED_RUNS = 24
MAX_CACHED_UPLOADS = 8


@dataclass(frozen=True)
class Outcome:
    """A run's result, or the message that explains why there is none."""

    result: RunResult | None
    error: str | None = None


class RunCache:
    """A thread-safe LRU of results by key, computing each key once.

    Not ``st.cache_resource``: a progress callback that updates an element drawn outside the cached
    function breaks Streamlit's replay of cached calls. A caller asking for a key that another
    thread is computing (two visitors, or a visitor and the server's warm start) waits for that
    result instead of training the same config twice on the same two cores."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[tuple[str, ...], RunResult] = OrderedDict()
        self._lock = threading.Lock()
        self._in_flight: dict[tuple[str, ...], threading.Event] = {}

    def get(self, key: tuple[str, ...]) -> RunResult | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: tuple[str, ...], value: RunResult) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def get_or_compute(self, key: tuple[str, ...], compute: Callable[[], RunResult]) -> RunResult:
        """The cached value of ``key``; else the one another thread is computing; else ``compute()``.

        A failed computation caches nothing: the waiters then try it themselves (and raise the same error)."""
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key]
                pending = self._in_flight.get(key)
                if pending is None:
                    pending = self._in_flight[key] = threading.Event()
                    break
            pending.wait()
        try:
            value = compute()
            self.put(key, value)
            return value
        finally:
            with self._lock:
                del self._in_flight[key]
            pending.set()

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_RUN_CACHE = RunCache(MAX_CACHED_RUNS)


def run_cache() -> RunCache:
    """One cache per server process, shared by every session and the server's warm start."""
    return _RUN_CACHE


def run_key(config: Config, stream: Stream | None = None) -> tuple[str, str]:
    """The cache key of a run: the config's JSON and, for an upload, the stream's content digest."""
    return (config.to_json(), "" if stream is None else stream.digest())


def is_cached(config: Config, stream: Stream | None = None) -> bool:
    """True when the run of ``config`` (on ``stream``) is ready in the cache."""
    return run_cache().get(run_key(config, stream)) is not None


def get_run(config: Config, stream: Stream | None = None, progress: Progress | None = None) -> RunResult:
    """The (cached) result of ``config``, on its own stream or on ``stream`` (an upload)."""

    def compute() -> RunResult:
        from dkvb_core.engine import run  # torch: imported on first use (see app.warmup)

        return run(config, stream=stream, progress=progress)

    return run_cache().get_or_compute(run_key(config, stream), compute)


def try_run(config: Config, stream: Stream | None = None, progress: Progress | None = None) -> Outcome:
    """:func:`get_run`, with the core's errors (bad data, unavailable kind) turned into text."""
    try:
        return Outcome(get_run(config, stream, progress))
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
