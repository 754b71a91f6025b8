"""How soon a page run stops once its session goes away, in key initialisation and in training.

The run goes through the app's path (``app.runs.get_run`` with a ``SessionWatch``); another thread
marks the session closed after ``--after`` seconds of the phase, and the time until the run has
unwound is measured: wall seconds and the run thread's CPU seconds (a loaded machine stretches the
first, not the second). Median of ``--repeat`` runs; the 1-minute load average is printed too.

    python benchmarks/bench_cancel.py
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import runs  # noqa: E402
from dkvb_core import Config  # noqa: E402
from dkvb_core.budget import NO_BUDGET  # noqa: E402
from dkvb_core.progress import RunCancelled  # noqa: E402

CASES = {
    "train (a frame every step, grid 200)": (
        {"record.every": 1, "record.grid_size": 200, "train.steps_per_stage": 500},
        "train",
    ),
    "keys (32 x 1024 keys, k-means)": (
        {"dkvb.num_codebooks": 32, "dkvb.keys_per_codebook": 1024, "train.steps_per_stage": 10},
        "keys",
    ),
}


def once(config: Config, phase: str, after: float) -> tuple[float, float, str]:
    """Wall and run-thread CPU seconds from the session closing to the run having stopped; the last phase seen."""
    alive = threading.Event()
    alive.set()
    seen: list[str] = []
    marks: dict[str, float] = {}
    clock = time.pthread_getcpuclockid(threading.get_ident())  # this (the run's) thread's CPU clock

    def show(done: int, total: int, ph: str = "train") -> None:
        seen.append(ph)

    def closer() -> None:
        while phase not in seen:
            time.sleep(0.005)
        time.sleep(after)
        marks["wall"], marks["cpu"] = time.perf_counter(), time.clock_gettime(clock)
        alive.clear()

    watch = runs.SessionWatch(show, alive=alive.is_set, yield_point=lambda: None, every=0.05)
    runs.run_cache().clear()
    t = threading.Thread(target=closer, daemon=True)
    t.start()
    with contextlib.suppress(RunCancelled):
        runs.get_run(config, progress=watch, budget=NO_BUDGET)
    end_wall, end_cpu = time.perf_counter(), time.clock_gettime(clock)
    t.join(1)
    if "wall" not in marks:
        return float("nan"), float("nan"), "finished before the close"
    return end_wall - marks["wall"], end_cpu - marks["cpu"], seen[-1] if seen else "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--after", type=float, default=0.5, help="seconds into the phase when the session closes")
    args = ap.parse_args()
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"load average {load}; the session closes {args.after} s into the phase; median of {args.repeat}")
    print(f"{'phase':<40} {'wall latency':>12} {'CPU latency':>11}  last phase reported")
    for name, (updates, phase) in CASES.items():
        config = Config().replace(**updates)
        got = [once(config, phase, args.after) for _ in range(args.repeat)]
        wall = statistics.median(g[0] for g in got)
        cpu = statistics.median(g[1] for g in got)
        print(f"{name:<40} {wall:11.2f}s {cpu:10.2f}s  {got[-1][2]}", flush=True)


if __name__ == "__main__":
    main()
