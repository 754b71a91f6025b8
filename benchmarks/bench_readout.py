"""What the soft readout and the regression task cost: DKVB run time, hard vs soft readout, and each
regression model's run time on the ``sine`` preset, printed as tables.

Each case is the median of ``--repeat`` runs of the whole engine (key init, training, recording),
with the ratio against a baseline measured in the same run: DKVB's hard top-1 readout (first table),
the linear probe (second table).

    python benchmarks/bench_readout.py             # both tables (about a minute)
    python benchmarks/bench_readout.py --quick     # a smoke run of every code path
"""

from __future__ import annotations

import argparse
import statistics
import time

from dkvb_core import Config, run
from dkvb_core.presets import preset_dict


def median_seconds(config: Config, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run(config)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def readout_table(steps: int, repeat: int) -> None:
    base = {"train": {"models": ["dkvb"], "steps_per_stage": steps}, "record": {"every": 50, "grid_size": 100}}
    cases = [("hard, top-1", {}), ("hard, top-8 mean", {"topk": 8})]
    cases += [(f"soft, top-{k}, tau 1", {"readout": "soft", "topk": k, "temperature": 1.0}) for k in (1, 8, 16)]
    print(f"\nDKVB on the toy ({steps} steps a stage, 100x100 grid frames every 50 steps), median of {repeat}")
    print(f"{'readout':<22} {'seconds':>8} {'x hard top-1':>13}")
    baseline = None
    for label, dkvb in cases:
        secs = median_seconds(Config.from_dict({**base, "dkvb": dkvb}), repeat)
        baseline = baseline or secs
        print(f"{label:<22} {secs:8.3f} {secs / baseline:13.2f}")


def regression_table(steps: int, repeat: int) -> None:
    data = preset_dict("sine")
    data["train"]["steps_per_stage"] = steps
    models = ["linear", *[m for m in data["train"]["models"] if m != "linear"]]
    print(f"\nsine preset ({steps} steps a stage, Adam), one model a run, median of {repeat}")
    print(f"{'model':<10} {'seconds':>8} {'x linear':>9}")
    baseline = None
    for model in models:
        data["train"]["models"] = [model]
        secs = median_seconds(Config.from_dict(data), repeat)
        baseline = baseline or secs
        print(f"{model:<10} {secs:8.3f} {secs / baseline:9.2f}")
    soft = {
        **data,
        "train": {**data["train"], "models": ["dkvb"]},
        "dkvb": {**data["dkvb"], "readout": "soft", "topk": 8},
    }
    secs = median_seconds(Config.from_dict(soft), repeat)
    print(f"{'dkvb soft8':<10} {secs:8.3f} {secs / baseline:9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny runs: check every path works")
    args = parser.parse_args()
    steps, repeat = (20, 1) if args.quick else (1000, args.repeat)
    readout_table(steps, repeat)
    regression_table(steps, repeat)


if __name__ == "__main__":
    main()
