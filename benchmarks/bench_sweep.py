"""Sweep throughput on this machine: runs per second of a small sweep over the default toy config.

Executors: a single process (the baseline), the local process pool, and Ray started locally.
"Warm": the executor is started once, then each sweep is timed (the throughput of a long
sweep), with one task per config (its seeds vectorised by ``run_seeds``) and one task per
config-seed. "Cold": the whole CLI in a fresh process (import, pool or Ray start-up, sweep),
what a one-off sweep pays. Each number is the median of ``--repeat`` rounds; a round runs
every case once (interleaved, so that other load on the machine hits all cases alike).

Per-run overhead = (wall seconds x workers - seconds the workers spent training) / runs: the
time a worker slot was not training, spread over the runs (start-up, dispatch, idle, logging).

    python benchmarks/bench_sweep.py             # full table (a few minutes)
    python benchmarks/bench_sweep.py --quick     # a smoke run of every code path
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from dkvb_core.sweep import parse_spec, run_sweep
from dkvb_core.sweep.executors import SweepExecutor, default_workers, make_executor
from dkvb_core.sweep.table import RunLog

REPO = Path(__file__).resolve().parents[1]


def sweep_spec(configs: int, seeds: int, steps: int | None) -> dict:
    base = {} if steps is None else {"train": {"steps_per_stage": steps}}
    lrs = [round(0.05 * 2**i, 4) for i in range(configs)]
    return {"name": "bench", "preset": "toy", "base": base, "axes": {"dkvb.lr": lrs}, "seeds": seeds}


def one_sweep(spec, executor: str | SweepExecutor, grouping: str, workers: int) -> tuple[float, float]:
    """Wall seconds of one fresh sweep, and the seconds spent training inside tasks."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = run_sweep(spec, out, executor, workers=workers, grouping=grouping)
        wall = time.perf_counter() - start
        assert result.complete, "the benchmark sweep did not finish"
        busy = sum(row["wall_seconds"] for row in RunLog(out).read())
    return wall, busy


Case = tuple[str, Callable[[], tuple[float, float]], int]  # label, one timed sweep, worker slots


def executor_kinds(no_ray: bool) -> tuple[list[str], str]:
    """The executors to measure, and a note when the Ray rows are left out because Ray is absent."""
    if no_ray:
        return ["inline", "local"], ""
    if importlib.util.find_spec("ray") is None:
        return ["inline", "local"], "Ray rows skipped: Ray is not installed (pip install 'dkvb-explorer[ray]')."
    return ["inline", "local", "ray"], ""


def measure(cases: list[Case], repeat: int, runs: int) -> list[dict[str, float | str]]:
    """Median over ``repeat`` rounds; each round runs every case once, so a change in the
    machine's load (other processes) touches all cases alike instead of the ones timed last."""
    walls: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    busies: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    for r in range(repeat):
        for label, run_once, _ in cases:
            print(f"  round {r + 1}/{repeat}: {label}…", file=sys.stderr, flush=True)
            wall, busy = run_once()
            walls[label].append(wall)
            busies[label].append(busy)
    rows = []
    for label, _, slots in cases:
        wall, busy = statistics.median(walls[label]), statistics.median(busies[label])
        rows.append(
            {
                "case": label,
                "wall": wall,
                "runs_per_s": runs / wall,
                "overhead": max(0.0, wall * slots - busy) / runs,
                "min": min(walls[label]),
                "max": max(walls[label]),
            }
        )
    return rows


def cli_sweep(spec_data: dict, executor: str, workers: int) -> tuple[float, float]:
    """Wall seconds of ``python -m dkvb_core sweep`` in a fresh process: import, start-up, sweep."""
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec_data), encoding="utf-8")
        cmd = [sys.executable, "-m", "dkvb_core", "sweep", "--spec", str(spec_path), "--out", f"{tmp}/out"]
        cmd += ["--executor", executor, "--workers", str(workers), "--no-progress"]
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{executor} sweep failed: {done.stderr}")
        busy = sum(row["wall_seconds"] for row in RunLog(f"{tmp}/out").read())
    return wall, busy


def print_table(title: str, rows: list[dict[str, float | str]]) -> None:
    base = rows[0]["runs_per_s"]
    header = f"{'case':<40} {'sweep s':>8} {'(min-max)':>13} {'runs/s':>7} {'x single':>8} {'overhead/run s':>15}"
    print(title)
    print(header)
    print("-" * len(header))
    for r in rows:
        spread = f"{r['min']:.2f}-{r['max']:.2f}"
        print(
            f"{r['case']:<40} {r['wall']:>8.2f} {spread:>13} {r['runs_per_s']:>7.2f} "
            f"{r['runs_per_s'] / base:>8.2f} {r['overhead']:>15.3f}"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="sweeps per case (median); default 5")
    parser.add_argument("--configs", type=int, default=4, help="configs in the sweep (learning rates); default 4")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per config; default 3")
    parser.add_argument("--quick", action="store_true", help="tiny runs, 1 repetition: checks the code paths")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray rows")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    spec_data = sweep_spec(args.configs, args.seeds, 20 if args.quick else None)
    spec = parse_spec(spec_data)
    runs = spec.num_runs
    workers = default_workers()
    kinds, note = executor_kinds(args.no_ray)
    names = {"inline": "single process", "local": "local pool", "ray": "Ray (local instance)"}
    print(f"sweep: default toy config, {len(spec.points)} configs x {len(spec.seeds)} seeds = {runs} runs;")
    print(f"{workers} workers for the pool and Ray; median of {repeat} sweeps per case\n")

    with ExitStack() as stack:
        warm_cases: list[Case] = []
        for kind in kinds:
            ex = stack.enter_context(make_executor(kind, workers))
            one_sweep(spec, ex, "config", workers)  # start the workers, import torch in them
            for grouping in ("config", "run"):
                warm_cases.append(
                    (
                        f"{names[kind]}, task per {grouping}",
                        lambda e=ex, g=grouping: one_sweep(spec, e, g, workers),
                        1 if kind == "inline" else workers,
                    )
                )
        warm = measure(warm_cases, repeat, runs)
    print_table("Warm: executor already started (throughput of a long sweep)", warm)

    cold_cases: list[Case] = [
        (names[kind], lambda k=kind: cli_sweep(spec_data, k, workers), 1 if kind == "inline" else workers)
        for kind in kinds
    ]
    cold = measure(cold_cases, repeat, runs)
    print_table("Cold: `python -m dkvb_core sweep` in a fresh process (import + start-up + sweep)", cold)
    print("x single: runs/s against the single-process row of the same table, measured in this run.")
    if note:
        print(note)


if __name__ == "__main__":
    main()
