"""How long work reports on itself and is stopped: one callback, called often, that may raise.

A run calls ``progress(done, total, phase)`` while it works: ``phase`` is ``"keys"`` during key
initialisation (k-means, lookups) and ``"train"`` during the step loop. A caller that wants to stop
the run (a newer config from the same session, a closed tab) raises :class:`RunCancelled` from the
callback; the run unwinds at once and nothing is cached.
"""

from __future__ import annotations

from typing import Protocol

from dkvb_core.errors import DKVBError


class RunCancelled(DKVBError):  # noqa: N818 (a stop signal, not a fault)
    """Raised from a progress callback to stop a run; carries no result."""


class Progress(Protocol):
    """``progress(done, total, phase)``: ``done`` of ``total`` units of ``phase`` are finished."""

    def __call__(self, done: int, total: int, phase: str = "train") -> None: ...


def report(progress: Progress | None, done: int, total: int, phase: str = "train") -> None:
    """Call ``progress`` if there is one (the one place that knows it may be absent)."""
    if progress is not None:
        progress(done, total, phase)
