"""Progress for work measured in units known up front (key init: distances scored), reported at a
steady pace so a caller can show a bar and cancel: at most every 0.1 s, and always at the end."""

from __future__ import annotations

import time

from dkvb_core.progress import Progress


class WorkMeter:
    """Adds up units of work towards ``total`` and calls ``progress(done, total, phase)``.

    Reports are throttled by time (0.1 s), which changes when the callback runs, never a result;
    a callback that raises (``RunCancelled``) stops the work at the next report.
    """

    def __init__(self, progress: Progress | None, total: int, phase: str = "keys", every: float = 0.1):
        self.progress, self.total, self.phase, self.every = progress, max(1, int(total)), phase, every
        self.done = 0
        self._last = time.perf_counter()

    def add(self, units: int) -> None:
        """Count ``units`` more done; report if enough time has passed."""
        self.done = min(self.total, self.done + int(units))
        if self.progress is None:
            return
        now = time.perf_counter()
        if now - self._last >= self.every or self.done >= self.total:
            self._last = now
            self.progress(self.done, self.total, self.phase)

    def skip_to(self, done: int) -> None:
        """Jump forward to ``done`` (work that turned out unnecessary, e.g. k-means converged early)."""
        if done > self.done:
            self.add(done - self.done)

    def finish(self) -> None:
        """Report the whole total as done."""
        self.skip_to(self.total)
