"""The image presets over 5 seeds: accuracy of DKVB, linear probe, MLP and joint, and run time.

For each image preset (digits on raw pixels; MNIST 5k and Fashion-MNIST through the frozen CNN)
every seed runs all four models; the tables give the median over seeds (and the range) of the
final average accuracy and forgetting, DKVB's ratio and gap to the joint reference measured in
the same runs, and wall time: the whole run (stream, encoder, key initialisation, training) and
a DKVB-only run, as ratios of a linear-probe-only run of the same preset (the baseline).

    python benchmarks/bench_images.py            # all three presets, 5 seeds (a few minutes)
    python benchmarks/bench_images.py --quick    # 2 seeds, 30 steps a stage: a smoke run
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from dkvb_core import build_stream, preset, run
from dkvb_core.config import Config
from dkvb_core.streams.images import fashion_missing

MODELS = ["dkvb", "linear", "mlp", "joint"]
TARGETS = {
    "digits": "DKVB >= 0.90, MLP <= 0.40, whole run <= 3 s",
    "mnist": "DKVB within 0.10 of joint",
    "fashion": "DKVB within 0.10 of joint",
}


def timed(config: Config) -> tuple[float, object]:
    start = time.perf_counter()
    result = run(config)
    return time.perf_counter() - start, result


def med(values: list[float]) -> float:
    return statistics.median(values)


def bench(name: str, seeds: list[int], steps: int | None) -> dict:
    base = preset(name).replace(**{"train.models": MODELS, "record.every": 0})
    if steps:
        base = base.replace(**{"train.steps_per_stage": steps})
    start = time.perf_counter()
    build_stream(base)  # cold: read the data set files once
    run(base.replace(**{"train.models": ["linear"], "train.steps_per_stage": 1}))  # cold: embeddings
    cold = time.perf_counter() - start
    acc = {m: [] for m in MODELS}
    forget = {m: [] for m in MODELS}
    t_all, t_dkvb, t_linear = [], [], []
    for seed in seeds:
        print(f"  {name}: seed {seed}…", file=sys.stderr, flush=True)
        cfg = base.replace(seed=seed)
        seconds, result = timed(cfg)
        t_all.append(seconds)
        for m in MODELS:
            s = result.summary(m)
            acc[m].append(s["average_accuracy"])
            forget[m].append(s["forgetting"])
        t_dkvb.append(timed(cfg.replace(**{"train.models": ["dkvb"]}))[0])
        t_linear.append(timed(cfg.replace(**{"train.models": ["linear"]}))[0])
    gaps = [j - d for j, d in zip(acc["joint"], acc["dkvb"], strict=True)]
    return {
        "name": name,
        "config": base,
        "acc": acc,
        "forget": forget,
        "gap": gaps,
        "t_all": t_all,
        "t_dkvb": t_dkvb,
        "t_linear": t_linear,
        "cold": cold,
    }


def print_tables(rows: list[dict], seeds: list[int]) -> None:
    print(f"\nFinal average accuracy over {len(seeds)} seeds: median [min, max]; forgetting median")
    print(f"| preset | encoder | {' | '.join(MODELS)} | DKVB / joint | joint - DKVB | forgetting dkvb / mlp |")
    print("|---|---|" + "---|" * (len(MODELS) + 3))
    for r in rows:
        cells = [f"{med(r['acc'][m]):.3f} [{min(r['acc'][m]):.3f}, {max(r['acc'][m]):.3f}]" for m in MODELS]
        ratio = med([d / j for d, j in zip(r["acc"]["dkvb"], r["acc"]["joint"], strict=True)])
        print(
            f"| {r['name']} | {r['config'].stream.encoder} | {' | '.join(cells)} | {ratio:.3f} | "
            f"{med(r['gap']):+.3f} | {med(r['forget']['dkvb']):.3f} / {med(r['forget']['mlp']):.3f} |"
        )
    print(f"\nWall time, median of {len(seeds)} runs (warm: data and embeddings cached); baseline = linear-only run")
    print("| preset | all 4 models (s) | DKVB only (s) | linear only (s) | all / linear | DKVB / linear | cold (s) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        a, d, lin = med(r["t_all"]), med(r["t_dkvb"]), med(r["t_linear"])
        print(f"| {r['name']} | {a:.2f} | {d:.2f} | {lin:.2f} | {a / lin:.1f}x | {d / lin:.1f}x | {r['cold']:.2f} |")
    print("\nSettings")
    for r in rows:
        c = r["config"]
        s = c.stream
        print(
            f"- {r['name']}: {len(c.stream.resolved_stage_classes())} stages x {s.classes_per_stage} classes, "
            f"{c.dkvb.num_codebooks} codebooks x {c.dkvb.keys_per_codebook} keys, dim_keys {c.dkvb.dim_keys}, "
            f"dkvb.lr {c.dkvb.lr}, {c.train.steps_per_stage} steps/stage, batch {c.train.batch_size}, "
            f"{c.train.optimizer}; linear.lr {c.linear.lr}, mlp.lr {c.mlp.lr}, joint {c.joint.arch} lr {c.joint.lr}"
        )
    print("\nTargets")
    for r in rows:
        verdict = check(r)
        print(f"- {r['name']}: {TARGETS[r['name']]} -> {verdict}")


def check(r: dict) -> str:
    if r["name"] == "digits":
        d, m, t = med(r["acc"]["dkvb"]), med(r["acc"]["mlp"]), med(r["t_all"])
        ok = d >= 0.90 and m <= 0.40 and t <= 3.0
        return f"{'met' if ok else 'MISSED'} (DKVB {d:.3f}, MLP {m:.3f}, {t:.2f} s)"
    g = med(r["gap"])
    return f"{'met' if g <= 0.10 else 'MISSED'} (gap {g:+.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, 30 steps a stage")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--only", choices=["digits", "mnist", "fashion"], action="append")
    args = parser.parse_args()
    os.environ.setdefault("DKVB_CACHE_DIR", tempfile.mkdtemp(prefix="dkvb-bench-cache-"))  # a cold cache
    seeds = list(range(2 if args.quick else args.seeds))
    names = args.only or ["digits", "mnist", "fashion"]
    rows = []
    for name in names:
        if name == "fashion" and fashion_missing():
            print(f"fashion: skipped, {fashion_missing()}")
            continue
        rows.append(bench(name, seeds, 30 if args.quick else None))
    print_tables(rows, seeds)


if __name__ == "__main__":
    main()
