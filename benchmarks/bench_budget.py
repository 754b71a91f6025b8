"""The budget's estimate against the truth: predicted vs measured seconds and peak memory of runs.

Each config runs in a fresh child process (so peak memory is its own): the child reports wall
seconds of ``run_seeds`` and its peak resident memory above what it held just before the run
(``ru_maxrss``). A child over ``--timeout`` seconds is stopped and reported as "> timeout". The
ratio column is predicted / measured: the budget wants it in about [0.5, 2], and never under 1 for
the big cases. Also prints how long a refusal of the issue's three configs takes.

    python benchmarks/bench_budget.py              # the table (a few minutes)
    python benchmarks/bench_budget.py --quick      # two small configs
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dkvb_core import Config, ConfigError  # noqa: E402
from dkvb_core.budget import APP_BUDGET, check_budget, estimate, fmt_bytes  # noqa: E402

CASES: dict[str, dict] = {
    "default (toy)": {},
    "toy 1000 keys": {"dkvb.keys_per_codebook": 1024},
    "16 x 256 keys": {"dkvb.num_codebooks": 16, "dkvb.keys_per_codebook": 256},
    "64 x 1024, frame/10": {"dkvb.num_codebooks": 64, "dkvb.keys_per_codebook": 1024, "record.every": 10},
    "64 x 4096 keys": {"dkvb.num_codebooks": 64, "dkvb.keys_per_codebook": 4096, "train.steps_per_stage": 200},
    "32 classes x 2000": {"stream.num_classes": 32, "stream.train_per_class": 2000, "dkvb.num_codebooks": 8},
    "batch 200, 5000 steps": {"train.batch_size": 200, "train.steps_per_stage": 5000, "record.every": 500},
    "grid 400, frame/25": {"record.grid_size": 400, "record.every": 25, "train.steps_per_stage": 500},
    "64 x 1024, frame/2": {"dkvb.num_codebooks": 64, "dkvb.keys_per_codebook": 1024, "record.every": 2},
    "digits preset": "digits",
    "mnist preset (cnn)": "mnist",
}
QUICK = ["default (toy)", "16 x 256 keys"]
REFUSED = {
    "link: 32 classes x 5000, 64 x 4096 keys": {
        "stream.num_classes": 32,
        "stream.train_per_class": 5000,
        "dkvb.num_codebooks": 64,
        "dkvb.keys_per_codebook": 4096,
    },
    "sidebar max: 64 x 4096, 2000 steps, batch 50": {
        "dkvb.num_codebooks": 64,
        "dkvb.keys_per_codebook": 4096,
        "train.steps_per_stage": 2000,
        "train.batch_size": 50,
        "record.every": 50,
    },
    "64 x 1024 keys, a frame every step": {
        "dkvb.num_codebooks": 64,
        "dkvb.keys_per_codebook": 1024,
        "train.steps_per_stage": 500,
        "record.every": 1,
    },
    "512-d keys, 200 k-means iterations": {
        "dkvb.num_codebooks": 64,
        "dkvb.dim_keys": 512,
        "dkvb.kmeans_iters": 200,
        "dkvb.keys_per_codebook": 4096,
    },
}

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from dkvb_core import Config
from dkvb_core.engine import run_seeds
from dkvb_core.streams import build_stream
config = Config.from_json({config!r})
build_stream(config)  # data files read once, as a server that has seen the data set before
import gc; gc.collect()
before = int(open('/proc/self/statm').read().split()[1]) * resource.getpagesize()
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
start, cpu0 = time.perf_counter(), cpu()
run_seeds(config, [config.seed])
wall, used = time.perf_counter() - start, cpu() - cpu0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"seconds": wall, "cpu": used, "bytes": max(peak - before, 0)}}))
"""


def config_of(case: dict | str) -> Config:
    if isinstance(case, str):
        from dkvb_core.presets import preset

        return preset(case)
    return Config().replace(**case)


def measure(config: Config, timeout: float) -> dict | None:
    code = CHILD.format(root=str(ROOT), config=config.to_json())
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


def table(names: list[str], timeout: float) -> None:
    print("pred: the budget's estimate; cpu: the child's CPU seconds (what the estimate is calibrated on: a")
    print("loaded machine stretches wall time, not CPU time); wall: its wall seconds; load: 1-min load average")
    print(
        f"{'config':<26} {'pred s':>7} {'cpu s':>7} {'wall s':>7} {'ratio':>6} {'load':>5}   "
        f"{'pred mem':>9} {'meas mem':>9} {'ratio':>6}"
    )
    for name in names:
        config = config_of(CASES[name])
        est = estimate(config)
        got = measure(config, timeout)
        if got is None:
            print(f"{name:<26} {est.seconds:7.1f} {'':>7} {'>' + str(int(timeout)):>7}   {fmt_bytes(est.bytes):>9}")
            continue
        if "error" in got:
            print(f"{name:<26} failed: {got['error']}")
            continue
        rs, rb = est.seconds / got["cpu"], est.bytes / max(got["bytes"], 1)
        print(
            f"{name:<26} {est.seconds:7.2f} {got['cpu']:7.2f} {got['seconds']:7.2f} {rs:6.2f} {load():>5}   "
            f"{fmt_bytes(est.bytes):>9} {fmt_bytes(got['bytes']):>9} {rb:6.2f}",
            flush=True,
        )


def refusals(repeat: int = 5) -> None:
    print(f"\nrefused under the app's budget ({APP_BUDGET.describe()} a run): median of {repeat} checks")
    for name, updates in REFUSED.items():
        try:
            config = Config().replace(**updates)
        except ConfigError as exc:
            print(f"  {name}: not a valid config ({exc})")
            continue
        times = []
        message = "NOT REFUSED"
        for _ in range(repeat):
            start = time.perf_counter()
            try:
                check_budget(config, APP_BUDGET)
            except ConfigError as exc:
                message = str(exc)
            times.append(time.perf_counter() - start)
        print(f"  {name}: {statistics.median(times) * 1000:.1f} ms, estimate {estimate(config).describe()}")
        print(f"    {message[:300]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="two small configs only")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds before a measured run is stopped")
    ap.add_argument("--only", nargs="*", help="names of cases to run")
    args = ap.parse_args()
    names = args.only or (QUICK if args.quick else list(CASES))
    table(names, args.timeout)
    refusals()


if __name__ == "__main__":
    main()
