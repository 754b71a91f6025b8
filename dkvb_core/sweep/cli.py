"""``python -m dkvb_core sweep --spec FILE.json [--executor local|ray] [--address ADDR] --out DIR``.

Shows a progress bar with the time left on a terminal (a plain line now and then otherwise).
Ctrl-C stops handing out runs; finished runs stay in DIR and the same command resumes.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path
from typing import Any

from dkvb_core.budget import add_budget_arguments, budget_from_args
from dkvb_core.cli import ascii_int
from dkvb_core.errors import ConfigError
from dkvb_core.sweep.budget import check_sweep_budget
from dkvb_core.sweep.executors import EXECUTORS
from dkvb_core.sweep.runner import run_sweep
from dkvb_core.sweep.spec import MAX_RUNS, load_spec
from dkvb_core.sweep.table import SUMMARY_CSV

SPEC_HELP = """spec file (JSON):
  {"name": "keys-vs-codebooks", "preset": "toy", "base": {"train": {"steps_per_stage": 200}},
   "mode": "grid", "axes": {"dkvb.num_codebooks": [1, 4], "dkvb.keys_per_codebook": [4, 16, 64]},
   "seeds": 3}
  mode "random": add "samples": N (and "sample_seed"); an axis is then a list to pick from,
  {"choices": [...]} or {"low": 0.01, "high": 1.0, "log": true, "integer": false}.
  Axes are any config fields (see `python -m dkvb_core run --help`); seeds: a count or a list.
outputs in --out: runs.jsonl (one line per finished run; the resume log), runs.csv, summary.csv
  (per config: each model/metric's mean and std over seeds), spec.json."""


def add_sweep_command(sub: Any, name: str) -> None:
    """Register the subcommand on the main parser's subparsers (the CLI's SUBCOMMANDS hook)."""
    p = sub.add_parser(
        name,
        help="run a what-if sweep (grid or random over config fields x seeds) into a results table",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=SPEC_HELP,
    )
    p.add_argument("--spec", required=True, help="sweep spec JSON file")
    p.add_argument("--out", required=True, help="results directory (created; a sweep there is resumed)")
    p.add_argument("--executor", default="local", help=f"one of {', '.join(EXECUTORS)} (default local)")
    p.add_argument("--address", help="ray: address of a running cluster (default: start a local instance)")
    p.add_argument("--workers", type=ascii_int, help="local pool processes / local Ray CPUs (default: one per core)")
    p.add_argument("--max-runs", type=ascii_int, help="stop after this many new runs (resume later)")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    p.add_argument("--stop-file", help="stop handing out runs once this file exists (the app's cancel button)")
    add_budget_arguments(p)
    p.set_defaults(handler=cmd_sweep)


def _check_args(args: argparse.Namespace) -> None:
    if args.executor not in EXECUTORS:
        raise ConfigError([("--executor", f"must be one of {', '.join(EXECUTORS)}; got {args.executor!r}")])
    if args.address and args.executor != "ray":
        raise ConfigError([("--address", "only with --executor ray")])
    if args.workers is not None and not 1 <= args.workers <= 256:
        raise ConfigError([("--workers", f"must be an integer in [1, 256]; got {args.workers}")])
    if args.max_runs is not None and not 1 <= args.max_runs <= MAX_RUNS:
        raise ConfigError([("--max-runs", f"must be an integer in [1, {MAX_RUNS}]; got {args.max_runs}")])
    if args.executor == "ray" and importlib.util.find_spec("ray") is None:
        raise ConfigError([("--executor", "ray is not installed here; pip install 'dkvb-explorer[ray]', or use local")])
    _check_out(args.out)


def _check_out(text: str) -> None:
    """``--out``: a folder path that is not empty, holds no control characters and is not a file."""
    if not text.strip():
        raise ConfigError([("--out", "give a folder for the results; got an empty path")])
    if any(ord(ch) < 32 for ch in text):
        raise ConfigError([("--out", "a folder path may not hold control characters (NUL, newline, ...)")])
    p = Path(text)
    if p.exists() and not p.is_dir():
        raise ConfigError([("--out", f"{text[:80]} is a file; give a folder (it is created if missing)")])
    existing = next((a for a in [p, *p.absolute().parents] if a.exists()), None)
    if existing is not None and not os.access(existing, os.W_OK):
        raise ConfigError([("--out", f"cannot write in {str(existing)[:80]} (permission denied)")])


class SweepBar:
    """tqdm bar (runs, rate, time left) on a terminal; otherwise a plain line every 10 s."""

    def __init__(self, enabled: bool, every: float = 10.0):
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.bar: Any = None
        self.every = every
        self.last = 0.0
        self.start = time.monotonic()
        self.first_done: int | None = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.tty:
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=total, initial=done, unit="run", file=sys.stderr, dynamic_ncols=True)
            else:
                self.bar.update(done - self.bar.n)
            return
        now = time.monotonic()
        if self.first_done is None:
            self.first_done = done
        if done == total or now - self.last >= self.every:
            self.last = now
            print(f"sweep: {done}/{total} runs{self._eta(done, total, now)}", file=sys.stderr, flush=True)

    def _eta(self, done: int, total: int, now: float) -> str:
        new = done - (self.first_done or 0)
        if new <= 0 or done >= total:
            return ""
        left = (now - self.start) / new * (total - done)
        return f", about {left:.0f} s left"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_sweep(args: argparse.Namespace) -> int:
    _check_args(args)
    spec = load_spec(args.spec)
    check_sweep_budget(spec, budget_from_args(args))
    bar = SweepBar(not args.no_progress)
    print(
        f"sweep {spec.name!r}: {len(spec.points)} configs x {len(spec.seeds)} seeds = {spec.num_runs} runs "
        f"on the {args.executor} executor -> {args.out}",
        file=sys.stderr,
    )
    try:
        outcome = run_sweep(
            spec,
            args.out,
            args.executor,
            workers=args.workers,
            address=args.address,
            progress=bar,
            max_new_runs=args.max_runs,
            should_stop=(lambda: Path(args.stop_file).exists()) if args.stop_file else None,
            warn=lambda line: print(f"warning: {line}", file=sys.stderr, flush=True),
        )
    except KeyboardInterrupt:
        bar.close()
        print(f"interrupted: finished runs are kept in {args.out}; run the same command to resume", file=sys.stderr)
        return 130
    bar.close()
    done = outcome.skipped_runs + outcome.new_runs
    state = "complete" if outcome.complete else f"{outcome.total_runs - done} runs left; run again to resume"
    if outcome.cancelled:
        state = "cancelled, " + state
    print(
        f"{outcome.new_runs} new runs ({outcome.skipped_runs} already done) in {outcome.seconds:.1f} s; "
        f"{done}/{outcome.total_runs} runs, {state}. Table: {args.out}/{SUMMARY_CSV}",
        file=sys.stderr,
    )
    return 0
