"""The one place pages get results from: cached runs by config, and runs of an uploaded CSV.

Caches are bounded (``max_entries``) and keyed by the config's JSON (plus the stream's content
digest for uploads), so the same settings never train twice in a server's life. Errors the
core raises on purpose come back as a message, never as a traceback.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st
import torch

from dkvb_core import Config, DKVBError, RunResult, Stream, run
from dkvb_core.streams import load_csv_stream

MAX_CACHED_RUNS = 24
MAX_CACHED_UPLOADS = 8
Progress = Callable[[int, int], None]

# Small tensors: one thread avoids thread hand-off costs and keeps two sessions from fighting.
torch.set_num_threads(1)


@dataclass(frozen=True)
class Outcome:
    """A run's result, or the message that explains why there is none."""

    result: RunResult | None
    error: str | None = None


@st.cache_resource(max_entries=MAX_CACHED_RUNS, show_spinner=False)
def _cached_run(config_json: str, _progress: Progress | None = None) -> RunResult:
    return run(Config.from_json(config_json), progress=_progress)


@st.cache_resource(max_entries=MAX_CACHED_RUNS, show_spinner=False)
def _cached_stream_run(
    config_json: str, stream_digest: str, _stream: Stream, _progress: Progress | None = None
) -> RunResult:
    return run(Config.from_json(config_json), stream=_stream, progress=_progress)


def get_run(config: Config, stream: Stream | None = None, progress: Progress | None = None) -> RunResult:
    """The (cached) result of ``config``, on its own stream or on ``stream`` (an upload)."""
    if stream is None:
        return _cached_run(config.to_json(), progress)
    return _cached_stream_run(config.to_json(), stream.digest(), stream, progress)


def try_run(config: Config, stream: Stream | None = None, progress: Progress | None = None) -> Outcome:
    """:func:`get_run`, with the core's errors (bad data, unavailable kind) turned into text."""
    try:
        return Outcome(get_run(config, stream, progress))
    except DKVBError as exc:
        return Outcome(None, str(exc))


@st.cache_data(max_entries=MAX_CACHED_UPLOADS, show_spinner=False)
def _parse_csv(data: bytes, classes_per_stage: int, stage_order: str, test_fraction: float, seed: int) -> Stream:
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
