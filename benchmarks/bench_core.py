"""Speed, memory and the paper's result for the core engine, printed as tables.

Speed: each case is timed as the median of ``--repeat`` runs, against a straightforward eager
PyTorch loop of the same models written here (autograd through the modules every step, the
bottleneck looking keys up every step), measured in the same process and run.
Baselines: each continual-learning baseline's default toy run against the MLP's (target: at most 2x),
and every model's final accuracy, forgetting and BWT on the default toy over 5 seeds.
Results: final average accuracy over 5 seeds, DKVB with 64 and with 4 keys vs the baselines.

    python benchmarks/bench_core.py            # full tables (a few minutes: the eager loop is slow)
    python benchmarks/bench_core.py --quick    # tiny smoke run of every code path
    python benchmarks/bench_core.py --only baselines   # the continual-learning baselines' cost and results
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc

import numpy as np
import torch

from dkvb_core import Config, build_stream, run, run_seeds
from dkvb_core.bottleneck import KeyValueBottleneck
from dkvb_core.encoders import IdentitySplit
from dkvb_core.result import GridSpec
from dkvb_core.schedule import stage_schedule
from dkvb_core.torch_models import MLP, DKVBClassifier, LinearProbe

TARGETS = {"dkvb": 0.1, "all3_frames": 1.0, "all3_frames_5_seeds": 2.0}


def eager_models(config: Config, stream) -> dict[str, tuple[torch.nn.Module, list[torch.nn.Parameter]]]:
    """The chosen models as torch modules; DKVB's keys are k-means-initialised and frozen."""
    torch.manual_seed(config.seed)
    out = {}
    d, n = stream.input_dim, stream.num_classes
    for name in config.train.models:
        if name == "dkvb":
            bn = KeyValueBottleneck(
                1,
                config.dkvb.keys_per_codebook,
                d,
                n,
                init_mode="kmeans",
                kmeans_iters=config.dkvb.kmeans_iters,
                value_init="zeros",
                seed=config.seed,
            )
            split = IdentitySplit(d, 1)
            bn.initialize_keys(split(torch.from_numpy(stream.x_train)))
            bn.freeze_keys()
            model = DKVBClassifier(split, bn, n)
            out[name] = (model, [bn.values])
        elif name == "linear":
            m = LinearProbe(d, n)
            out[name] = (m, list(m.parameters()))
        else:
            m = MLP(d, config.mlp.hidden, n)
            out[name] = (m, list(m.parameters()))
    return out


def eager_run(config: Config, grid_every: int) -> float:
    """Train every model of ``config`` the plain way; returns wall seconds (key init included)."""
    start = time.perf_counter()
    stream = build_stream(config)
    steps, batch = config.train.steps_per_stage, config.train.batch_size
    rows = stage_schedule(stream, steps, batch, np.random.default_rng([config.seed, 0xBA7C]))
    x = torch.from_numpy(stream.x_train)
    y = torch.from_numpy(stream.y_train)
    x_test = torch.from_numpy(stream.x_test)
    grid = None
    if grid_every:
        pts = np.concatenate([stream.x_train, stream.x_test])
        lo, hi = pts.min(0), pts.max(0)
        grid = torch.from_numpy(GridSpec(lo[0], hi[0], lo[1], hi[1], config.record.grid_size).points())
    for name, (model, params) in eager_models(config, stream).items():
        lr = getattr(config, name).lr
        opt = torch.optim.SGD(params, lr=lr)
        for t, r in enumerate(torch.from_numpy(rows)):
            loss = torch.nn.functional.cross_entropy(model(x[r]), y[r])
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                if grid is not None and (t + 1) % grid_every == 0:
                    model(grid).argmax(1)
                if (t + 1) % steps == 0:
                    model(x_test).argmax(1)
    return time.perf_counter() - start


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def speed_table(repeat: int, steps: int) -> None:
    base = {"train": {"steps_per_stage": steps}}
    no_frames = {"record": {"every": 0, "grid_size": 0}}
    cases = [
        ("dkvb", {**base, **no_frames, "train": {**base["train"], "models": ["dkvb"]}}, 0, 1),
        ("linear", {**base, **no_frames, "train": {**base["train"], "models": ["linear"]}}, 0, 1),
        ("mlp", {**base, **no_frames, "train": {**base["train"], "models": ["mlp"]}}, 0, 1),
        ("all3_frames", base, 50, 1),
        ("all3_frames_5_seeds", base, 50, 5),
    ]
    run(Config.from_dict({"train": {"steps_per_stage": 10}}))  # warm-up: imports, allocator
    print(f"\nSpeed: median of {repeat} runs; 4 stages x {steps} steps, batch 10 (2-core CPU)")
    print(f"{'case':<22}{'fast s':>9}{'us/step':>9}{'eager s':>9}{'speed-up':>10}{'target s':>10}{'met':>5}")
    for name, cfg_dict, grid_every, seeds in cases:
        print(f"  timing {name} ({repeat} runs, fast and eager)…", file=sys.stderr, flush=True)
        cfg = Config.from_dict(cfg_dict)
        seed_list = list(range(seeds))
        fast = median_time(lambda cfg=cfg, s=seed_list: run_seeds(cfg, s), repeat)
        eager = median_time(
            lambda cfg=cfg, s=seed_list, g=grid_every: [eager_run(cfg.replace(seed=k), g) for k in s], repeat
        )
        total_steps = 4 * steps * seeds * len(cfg.train.models)
        target = TARGETS.get(name)
        met = "" if target is None or steps != 1000 else ("yes" if fast <= target else "NO")
        print(
            f"{name:<22}{fast:>9.3f}{1e6 * fast / total_steps:>9.1f}{eager:>9.3f}{eager / fast:>9.1f}x"
            f"{'' if target is None else target:>10}{met:>5}"
        )


BASELINE_MODELS = ("mlp", "replay", "ewc", "lwf", "agem", "slda", "dkvb")
BASELINE_TARGET = 2.0  # each baseline's toy run costs at most 2x the MLP's (issue 9)


def baselines_table(repeat: int, steps: int) -> None:
    """Each model alone on the default toy run (frames every 50 steps, 100x100 grid), one seed and
    five seeds batched, against the MLP timed in the same rounds (models interleaved each round)."""
    print(f"\nBaselines: default toy run per model alone, median of {repeat} interleaved rounds; ratio vs the MLP")
    print(f"{'model':<10}{'1 seed s':>10}{'x MLP':>8}{'5 seeds s':>11}{'x MLP':>8}{'target':>8}{'met':>5}")
    times: dict[tuple[str, int], list[float]] = {}
    for _ in range(repeat):
        for model in BASELINE_MODELS:
            cfg = Config.from_dict({"train": {"steps_per_stage": steps, "models": [model]}})
            for seeds in (1, 5):
                t0 = time.perf_counter()
                run_seeds(cfg, list(range(seeds)))
                times.setdefault((model, seeds), []).append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    for model in BASELINE_MODELS:
        one, five = med[(model, 1)], med[(model, 5)]
        r1, r5 = one / med[("mlp", 1)], five / med[("mlp", 5)]
        met = "" if model in ("mlp", "dkvb") else ("yes" if max(r1, r5) <= BASELINE_TARGET else "NO")
        target = "" if model in ("mlp", "dkvb") else BASELINE_TARGET
        print(f"{model:<10}{one:>10.3f}{r1:>8.2f}{five:>11.3f}{r5:>8.2f}{target:>8}{met:>5}")


def memory_table() -> None:
    print("  memory: one seed, then five…", file=sys.stderr, flush=True)
    tracemalloc.start()
    run(Config())
    _, peak_one = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    run_seeds(Config(), list(range(5)))
    _, peak_five = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print("\nMemory: peak numpy/Python allocations (tracemalloc) during a run, 3 models + 100x100 frames")
    print(f"{'case':<22}{'peak MiB':>10}{'ratio':>8}")
    print(f"{'1 seed':<22}{peak_one / 2**20:>10.1f}{1.0:>8.2f}")
    print(f"{'5 seeds':<22}{peak_five / 2**20:>10.1f}{peak_five / peak_one:>8.2f}")


def baseline_results_table(seeds: int, steps: int) -> None:
    """Every registered model on the default toy (the demo's stream), final accuracy, forgetting and BWT."""
    from dkvb_core.models import model_names

    cfg = Config.from_dict({"train": {"steps_per_stage": steps, "models": list(model_names())}})
    results = run_seeds(cfg, list(range(seeds)))
    print(f"\nEvery model on the default toy, seeds 0-{seeds - 1}: final average accuracy (mean ± sd), forgetting, BWT")
    print(f"{'model':<10}{'accuracy':>18}{'forgetting':>12}{'BWT':>9}{'online':>9}")
    for model in cfg.train.models:
        s = [r.summary(model) for r in results]
        acc = np.array([x["average_accuracy"] for x in s])
        forg, bwt, online = (np.mean([x[k] for x in s]) for k in ("forgetting", "bwt", "online_accuracy"))
        print(f"{model:<10}{acc.mean():>11.3f} ± {acc.std():.3f}{forg:>12.3f}{bwt:>+9.3f}{online:>9.3f}")


def results_table(seeds: int, steps: int) -> None:
    print(f"\nFinal average accuracy over all 8 classes, {seeds} seeds (mean ± std, min..max)")
    print(f"{'keys':<8}{'model':<8}{'mean':>7}{'std':>7}{'min':>7}{'max':>7}{'forgetting':>12}")
    for keys in (64, 4):
        print(f"  {seeds} seeds with {keys} keys…", file=sys.stderr, flush=True)
        cfg = Config.from_dict({"dkvb": {"keys_per_codebook": keys}, "train": {"steps_per_stage": steps}})
        results = run_seeds(cfg, list(range(seeds)))
        for model in ("dkvb", "linear", "mlp"):
            acc = np.array([r.summary(model)["average_accuracy"] for r in results])
            forg = np.mean([r.summary(model)["forgetting"] for r in results])
            print(
                f"{keys:<8}{model:<8}{acc.mean():>7.3f}{acc.std():>7.3f}{acc.min():>7.3f}{acc.max():>7.3f}{forg:>12.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs a case (median reported)")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run: 1 repeat, 20 steps a stage")
    parser.add_argument("--only", choices=["speed", "baselines", "memory", "results"], help="print one table only")
    args = parser.parse_args()
    torch.set_num_threads(1)
    repeat, steps, seeds = (1, 20, 2) if args.quick else (args.repeat, 1000, 5)
    if args.only in (None, "speed"):
        speed_table(repeat, steps)
    if args.only in (None, "baselines"):
        baselines_table(repeat, steps)
        baseline_results_table(seeds, steps)
    if args.only in (None, "memory"):
        memory_table()
    if args.only in (None, "results"):
        results_table(seeds, steps)


if __name__ == "__main__":
    main()
