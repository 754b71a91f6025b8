"""Where sweep tasks run: this process, a local process pool, or Ray (a local instance or a cluster).

Each executor takes the list of tasks and yields ``(task, rows)`` as tasks finish, in any order.
``cancel()`` drops the tasks not yet started (tasks already running finish, their rows are kept).
Distribution is the pool's or Ray's job; nothing here schedules by hand.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from dkvb_core.errors import DKVBError
from dkvb_core.sweep.task import Task, limit_threads, run_task

EXECUTORS = ("local", "ray", "inline")
# Results are a few kB a task: a small object store keeps a local Ray instance light on a shared box.
LOCAL_OBJECT_STORE_BYTES = 256 * 2**20
Rows = list[dict[str, Any]]


class SweepExecutor:
    """Base: run tasks, yield results as they finish; usable as a context manager."""

    name = "base"

    def run(self, tasks: list[Task]) -> Iterator[tuple[Task, Rows]]:
        raise NotImplementedError

    def cancel(self) -> None:
        """Stop handing out tasks; the ``run`` iterator ends after the tasks in flight."""

    def close(self) -> None:
        """Release workers (and a Ray instance this executor started)."""

    def __enter__(self) -> SweepExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InlineExecutor(SweepExecutor):
    """Every task in this process, one after another: the baseline, and for tiny sweeps."""

    name = "inline"

    def __init__(self) -> None:
        self._cancelled = False

    def run(self, tasks: list[Task]) -> Iterator[tuple[Task, Rows]]:
        for task in tasks:
            if self._cancelled:
                return
            yield task, run_task(task)

    def cancel(self) -> None:
        self._cancelled = True


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class LocalPoolExecutor(SweepExecutor):
    """A ``ProcessPoolExecutor`` with the forkserver start method (spawn where unavailable).

    forkserver: workers fork from a clean server that imported torch once, never from a parent
    holding threads (Streamlit's, torch's); each worker uses one torch thread.
    """

    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers or default_workers()
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if ctx.get_start_method() == "forkserver":
            ctx.set_forkserver_preload(["dkvb_core.sweep.task", "torch"])
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=limit_threads)
        self._futures: dict[Future[Rows], Task] = {}

    def run(self, tasks: list[Task]) -> Iterator[tuple[Task, Rows]]:
        self._futures = {self._pool.submit(run_task, t): t for t in tasks}
        pending = set(self._futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                if fut.cancelled():
                    continue
                yield self._futures[fut], fut.result()

    def cancel(self) -> None:
        for fut in self._futures:
            fut.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class RayExecutor(SweepExecutor):
    """Tasks as Ray remote functions on a cluster at ``address``, or on a local instance.

    A local instance gets ``num_cpus`` CPUs, no dashboard and quiet logs, and is shut down on
    close; a cluster that was already connected, or given by address, is left running.
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None):
        try:
            import ray
        except ImportError:
            raise DKVBError(
                "--executor: ray is not installed; install the optional extra: pip install 'dkvb-explorer[ray]'"
            ) from None
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": logging.ERROR,
            }
            if address:
                check_ray_address(address)
                kwargs.pop("include_dashboard")
                kwargs["address"] = address
            else:
                kwargs["num_cpus"] = num_cpus or default_workers()
                kwargs["object_store_memory"] = LOCAL_OBJECT_STORE_BYTES
            try:
                if address:
                    _init_within(ray, kwargs, address)
                else:
                    ray.init(**kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"the cluster at {address}" if address else "a local Ray instance"
                raise DKVBError(f"--address: could not connect to {where}: {exc}") from None
            self._started = True
        self._remote = ray.remote(num_cpus=1, max_retries=0)(run_task)
        self._refs: dict[Any, Task] = {}

    def run(self, tasks: list[Task]) -> Iterator[tuple[Task, Rows]]:
        ray = self._ray
        self._refs = {self._remote.remote(t): t for t in tasks}
        pending = list(self._refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    rows = ray.get(ref)
                except ray.exceptions.TaskCancelledError:
                    continue
                yield self._refs[ref], rows

    def cancel(self) -> None:
        for ref in self._refs:
            with contextlib.suppress(Exception):  # a finished task cannot be cancelled; nothing to do
                self._ray.cancel(ref)

    def close(self) -> None:
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
        self._started = False


RAY_CONNECT_TIMEOUT_S = 10.0  # a TCP answer from the cluster's address
RAY_INIT_TIMEOUT_S = 30.0  # joining the cluster there


def check_ray_address(address: str, timeout: float = RAY_CONNECT_TIMEOUT_S) -> None:
    """``--address`` is ``auto``, or ``[ray://]HOST:PORT`` that answers within ``timeout`` seconds."""
    if address == "auto":
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise DKVBError(f"--address: expected HOST:PORT (or ray://HOST:PORT, or auto); got {address[:80]!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise DKVBError(
            f"--address: nothing answers at {host}:{port} within {timeout:.0f} s ({exc.strerror or exc}); "
            "is the Ray cluster up, and is this its address?"
        ) from None


def _init_within(ray: Any, kwargs: dict[str, Any], address: str, timeout: float = RAY_INIT_TIMEOUT_S) -> None:
    """``ray.init`` on a cluster, given up after ``timeout`` s: on an address where something else
    answers (a proxy, another service) Ray retries for ever."""
    failure: list[BaseException] = []

    def init() -> None:
        try:
            ray.init(**kwargs)
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=init, name="ray-init", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise DKVBError(f"--address: no Ray cluster answered at {address} within {timeout:.0f} s")
    if failure:
        raise failure[0]


def make_executor(kind: str, workers: int | None = None, address: str | None = None) -> SweepExecutor:
    """``local`` (default), ``ray`` or ``inline``; an unknown kind names the choices."""
    if kind == "local":
        return LocalPoolExecutor(workers)
    if kind == "ray":
        return RayExecutor(address, workers)
    if kind == "inline":
        return InlineExecutor()
    raise DKVBError(f"--executor: must be one of {', '.join(EXECUTORS)}; got {kind!r}")
