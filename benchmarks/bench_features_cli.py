"""The research-scale features case through the command line: a whole run, file to metrics.

    python benchmarks/bench_features_cli.py [--repeats 3] [--keep FILE]

Writes a synthetic, class-clustered features file (20,000 x 512 float32, 10 classes; seeded), then times
``python -m dkvb_core run --set stream.kind=features stream.path=FILE ...`` with 5 stages of 2 classes,
64 codebooks x 1,024 keys, 1,000 steps a stage, batch 32 (the issue's case), against the same config run in
one process on a stream already in memory (the baseline: no process start, no file reading). Prints the
median wall time, the ratio to the baseline, the peak memory of the CLI process and DKVB's accuracy.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N, D, CLASSES = 20_000, 512, 10
SETTINGS = {
    "stream.kind": "features",
    "stream.classes_per_stage": 2,
    "stream.stage_order": "consecutive",
    "dkvb.num_codebooks": 64,
    "dkvb.keys_per_codebook": 1024,
    "train.steps_per_stage": 1000,
    "train.batch_size": 32,
}


def write_features(path: Path) -> None:
    """Class means N(0, I) in 512-d, samples spread 0.8 around them, classes in shuffled order."""
    rng = np.random.default_rng(0)
    means = rng.normal(size=(CLASSES, D))
    y = rng.permutation(np.repeat(np.arange(CLASSES), N // CLASSES))
    x = (means[y] + 0.8 * rng.normal(size=(N, D))).astype(np.float32)
    np.savez(path, x=x, y=y)


def cli_run(path: Path, out: Path) -> tuple[float, float, float, dict]:
    """Wall and CPU seconds (user + system), peak RSS (MiB) of the child and the metrics JSON of one CLI run.
    CPU time is the fairer number on a shared machine: wall time counts the waits for a core."""
    sets = [f"{k}={v}" for k, v in {**SETTINGS, "stream.path": str(path)}.items()]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "dkvb_core", "run", "--set", *sets, "--no-progress", "--out", str(out)]
    subprocess.run(cmd, cwd=ROOT, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024, json.loads(out.read_text())


def in_memory_run(path: Path) -> tuple[float, float]:
    """Wall and CPU seconds of the same run in this process on a stream already read."""
    from dkvb_core import Config, build_stream
    from dkvb_core.engine import run

    config = Config().replace(**{**SETTINGS, "stream.path": str(path)})
    stream = build_stream(config)
    start, cpu = time.perf_counter(), time.process_time()
    run(config, stream=stream)
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", help="write the features file here (default: a temporary folder)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    path = Path(args.keep) if args.keep else folder / "research.npz"
    if not path.is_file():
        write_features(path)
    cli = [cli_run(path, folder / "out.json") for _ in range(args.repeats)]
    base = [in_memory_run(path) for _ in range(args.repeats)]
    med = statistics.median
    b_wall, b_cpu = med(b[0] for b in base), med(b[1] for b in base)
    c_wall, c_cpu = med(c[0] for c in cli), med(c[1] for c in cli)
    doc = cli[-1][3]
    print(f"features file {path.name}: {N:,} x {D} float32, {CLASSES} classes, {path.stat().st_size / 2**20:.0f} MiB")
    print(f"median of {args.repeats}; ratio = CLI / baseline (wall)")
    print(f"{'case':<50} {'wall s':>7} {'CPU s':>7} {'ratio':>6} {'peak MiB':>9}")
    print(f"{'in-memory stream, one process (baseline)':<50} {b_wall:>7.1f} {b_cpu:>7.1f} {1.0:>6.2f} {'':>9}")
    print(f"{'CLI: file -> metrics (start, read, keys, train)':<50} {c_wall:>7.1f} {c_cpu:>7.1f} "
          f"{c_wall / b_wall:>6.2f} {max(c[2] for c in cli):>9.0f}")  # fmt: skip
    res = doc["results"]
    accs = ", ".join(f"{m} {r['average_accuracy']:.3f}" for m, r in res.items())
    print(f"final accuracy: {accs}; DKVB seconds (keys + train) {res['dkvb']['seconds']:.1f}")


if __name__ == "__main__":
    main()
