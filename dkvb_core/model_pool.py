"""A run's models trained side by side on the machine's cores: one group here, the others in worker
processes, merged into one result with the same numbers.

The models of a run are independent (each model's numbers never depend on which others run beside
it; ``tests/core/test_models_registry.py`` checks it), so a run can split its models into groups of
about equal cost (:attr:`ModelSpec.step_cost`), train them at once and merge the results
(:func:`merge_results`): bit for bit what one process would have given, in about the slowest group's
time. Used by the app's server, where a six-model Playground run drops from ~1.1 s to ~0.6 s on two
cores. A worker reports progress and is stopped through two small shared arrays (a slot a run), so a
closed tab or a newer setting stops every part of a run.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from dkvb_core.config import Config
from dkvb_core.progress import Progress, RunCancelled, report
from dkvb_core.result import RunResult
from dkvb_core.streams.base import Stream

SLOTS = 16  # runs in flight at once (more: the extra runs train in one process)
POLL_S = 0.02  # how often a run waiting for its workers checks its own progress callback
_shared: dict[str, Any] = {}  # in a worker: the cancel flags and progress counters (set at start)


def split_models(models: tuple[str, ...], parts: int) -> list[tuple[str, ...]]:
    """At most ``parts`` non-empty groups of about equal cost, each in the config's order: for two
    groups the best split (every subset tried: a run has a handful of models), else longest first
    into the lightest group."""
    from dkvb_core.models import get_spec

    cost = {m: get_spec(m).step_cost for m in models}
    parts = max(1, min(parts, len(models)))
    if parts == 2:
        subsets = (
            frozenset(m for i, m in enumerate(models) if mask >> i & 1) for mask in range(1, 2 ** len(models) - 1)
        )
        best = min(subsets, key=lambda g: max(sum(cost[m] for m in g), sum(cost.values()) - sum(cost[m] for m in g)))
        groups = [[m for m in models if m in best], [m for m in models if m not in best]]
    else:
        groups = [[] for _ in range(parts)]
        for name in sorted(models, key=lambda m: -cost[m]):
            min(groups, key=lambda g: sum(cost[m] for m in g)).append(name)
    order = {m: i for i, m in enumerate(models)}
    return sorted((tuple(sorted(g, key=order.__getitem__)) for g in groups if g), key=lambda g: order[g[0]])


def merge_results(config: Config, parts: list[RunResult]) -> RunResult:
    """One result from runs of the same config on disjoint model groups: the models in ``config``'s
    order; each run-level field from the part that has it (DKVB's key map comes with DKVB)."""
    records = {name: rec for part in parts for name, rec in part.models.items()}
    merged: dict[str, Any] = {}
    for f in dataclasses.fields(RunResult):
        values = [getattr(p, f.name) for p in parts]
        merged[f.name] = next((v for v in values if v is not None), values[0])
    merged["extra"] = {k: v for p in parts for k, v in p.extra.items()}
    merged["models"] = {name: records[name] for name in config.train.models}
    merged["config"] = config
    return RunResult(**merged)


def _worker_start(cancel: Any, done: Any) -> None:
    """A worker's start: one thread (two workers on two cores must not oversubscribe), the engine
    imported (torch, ~1.5 s) before the first run asks for it, the shared arrays kept."""
    from dkvb_core.sweep.task import limit_threads

    limit_threads()
    threading.Thread(target=_exit_with_parent, name="dkvb-parent-watch", daemon=True).start()
    import dkvb_core.engine  # noqa: F401

    _shared.update(cancel=cancel, done=done)


def _exit_with_parent() -> None:
    """A worker's watch: when the server is killed (its pipes are not closed for us), exit too."""
    from multiprocessing.connection import wait

    parent = mp.parent_process()
    if parent is not None:
        wait([parent.sentinel])
        os._exit(0)


def _run_part(config_json: str, stream: Stream | None, slot: int) -> RunResult:
    """In a worker: run ``config_json`` (a group of a run's models), reporting through ``slot``."""
    from dkvb_core.engine import run

    cancel, done = _shared["cancel"], _shared["done"]

    def progress(n: int, total: int, phase: str = "train") -> None:
        done[2 * slot], done[2 * slot + 1] = n, total
        if cancel[slot]:
            raise RunCancelled("the run was stopped")

    return run(Config.from_json(config_json), stream=stream, progress=progress)


def _ready() -> bool:
    return True


class ModelPool:
    """Worker processes that train parts of runs. :meth:`run` falls back to one process when the
    workers are still starting, all slots are taken, a run has one model, or a worker died."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        ctx = mp.get_context("spawn")  # never fork a threaded server (and torch) into a worker
        self._cancel = ctx.Array("b", SLOTS, lock=False)
        self._done = ctx.Array("q", 2 * SLOTS, lock=False)
        self._executor = ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_worker_start, initargs=(self._cancel, self._done)
        )
        self._warm = [self._executor.submit(_ready) for _ in range(workers)]
        self._free = list(range(SLOTS))
        self._lock = threading.Lock()
        self.broken = False

    def ready(self) -> bool:
        """True once every worker has started and imported the engine."""
        return all(f.done() and f.exception() is None for f in self._warm)

    def run(self, config: Config, stream: Stream | None = None, progress: Progress | None = None) -> RunResult:
        """The result of ``config`` (on ``stream``), its models trained on this process and the workers."""
        from dkvb_core.engine import run

        groups = split_models(config.train.models, 1 + self.workers)
        slot = self._take_slot() if len(groups) > 1 and self.ready() and not self.broken else None
        if slot is None:
            return run(config, stream=stream, progress=progress)
        try:
            remote = [
                self._executor.submit(_run_part, _with_models(config, g).to_json(), stream, slot) for g in groups[1:]
            ]
        except RuntimeError:  # the pool broke (a worker died) or shut down: this run trains here
            self.broken = True
            self._release(slot)
            return run(config, stream=stream, progress=progress)
        _release_when_done(remote, lambda: self._release(slot))
        try:
            local = run(_with_models(config, groups[0]), stream=stream, progress=self._progress(progress, slot))
            parts = [local, *(self._wait(f, progress, slot) for f in remote)]
        except BrokenProcessPool:  # a worker died (out of memory?): the rest of this run trains here
            self.broken = True
            return run(config, stream=stream, progress=progress)
        except BaseException:  # a cancel (or Streamlit's rerun) stops the workers' parts too
            self._cancel[slot] = 1
            raise
        return merge_results(config, parts)

    def _progress(self, progress: Progress | None, slot: int) -> Progress | None:
        """The local part's progress plus the worker's (its counters), passed to ``progress``. A run's
        worker parts share one slot: with two or more workers the bar counts whichever reported last."""
        if progress is None:
            return None

        def combined(done: int, total: int, phase: str = "train") -> None:
            progress(done + self._done[2 * slot], total + self._done[2 * slot + 1], phase)

        return combined

    def _wait(self, future: Future, progress: Progress | None, slot: int) -> RunResult:
        """A worker's part, checking ``progress`` (which may stop the run) while it trains."""
        while True:
            try:
                return future.result(timeout=POLL_S)
            except FutureTimeout:
                report(progress, int(self._done[2 * slot]), max(1, int(self._done[2 * slot + 1])), "train")

    def _take_slot(self) -> int | None:
        with self._lock:
            if not self._free:
                return None
            slot = self._free.pop()
        self._cancel[slot] = 0
        self._done[2 * slot] = self._done[2 * slot + 1] = 0
        return slot

    def _release(self, slot: int) -> None:
        with self._lock:
            self._free.append(slot)

    def shutdown(self) -> None:
        """Stop the workers (runs in flight are stopped)."""
        for slot in range(SLOTS):
            self._cancel[slot] = 1
        self._executor.shutdown(wait=True, cancel_futures=True)


def _with_models(config: Config, models: tuple[str, ...]) -> Config:
    return config.replace(**{"train.models": list(models)})


def _release_when_done(futures: list[Future], release: Any) -> None:
    """Call ``release`` once every future has finished (a slot is reused only when its workers are idle)."""
    pending = [len(futures)]
    lock = threading.Lock()

    def one_done(_f: Future) -> None:
        with lock:
            pending[0] -= 1
            last = pending[0] == 0
        if last:
            release()

    for f in futures:
        f.add_done_callback(one_done)
