"""A run's cost (seconds and peak bytes) estimated from its config before anything runs, and the
budget check that refuses a run over it with the fields to lower and by how much.

Field-by-field limits do not bound the product: 64 codebooks x 4096 keys on 160,000 samples is
within every field's range and ran k-means for over 15 minutes. The estimate is arithmetic on
the config (no stream is built, nothing is allocated), so a refusal takes milliseconds. Its
constants are calibrated on the project's 2-core machine by ``benchmarks/bench_budget.py``, which
prints predicted against measured time and memory; they lean high, so that big runs are never
under-estimated.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from dkvb_core.config import Config
from dkvb_core.errors import ConfigError
from dkvb_core.key_cost import kmeans_work

GiB = 2**30

# --- calibrated constants (seconds per unit of work; see benchmarks/bench_budget.py) ----------
SETUP_S = 0.15  # stream, schedules, result assembly of a small run
KMEANS_S = 1.6e-10  # key init: per distance scored (kmeans.kmeans_work) x (dim + 10)
LOOKUP_S = 1.6e-10  # exact frozen lookup (train, test, grid): per codebook x point x key x (dim + 10)
EMA_BATCH_S = 2e-4  # EMA k-means: Python overhead of one codebook of one batch
STEP_S = 2.5e-5  # one model's step: Python and numpy call overhead
SOLVE_S = 1.0e-10  # SLDA: per flop of the D x D solve after every update (D^3 / 3)
MATMUL_S = 2.0e-10  # per multiply-add of a dense layer (steps: x3 for forward and backward)
GATHER_S = 2.0e-8  # a step's gather and scatter-add, per fetched value entry (DKVB: codebooks x topk x classes)
PREDICT_SAMPLE_S = 2.5e-8  # a frame's prediction of one sample: per-sample overhead
PREDICT_MATMUL_S = 2.0e-10  # ... per multiply-add
PREDICT_GATHER_S = 4.0e-9  # ... per fetched value entry
FRAME_S = 2e-4  # one model's frame: accuracy per stage, hooks
FLUSH_S = 1.8e-8  # loss and hits from the buffered logits: per logit entry (step x batch x classes x model)
SCHEDULE_S = 3e-8  # batch schedules and their labels: per sample drawn (step x batch)
TABLE_S = 4e-9  # DKVB frames: per value-table entry (votes, changed rows, copy), four passes
USAGE_S = 2.5e-8  # DKVB key usage after training: per fetched slot, and per frame x key
ENCODE_CNN_S = 2e-4  # the image CNN: per image encoded
LOAD_IMAGES_S = {"digits": 0.3, "mnist": 1.0, "fashion": 2.0}  # reading an image set (first time)
BASE_BYTES = 30 * 2**20  # interpreter-side extras of any run (torch workspaces, small arrays)

# Images per class of the shipped sets (upper bounds): digits 1,797 images, mnist the 5,000 subset.
IMAGE_PER_CLASS = {"digits": 183, "mnist": 600}
IMAGE_DIM = {"digits": 64, "mnist": 784, "fashion": 784}
CNN_DIM = 128
CSV_MAX_ROWS, CSV_DIM = 50_000, 2  # a CSV's size is unknown until it is read: assume the loader's limit

# Step cost relative to the MLP's, for models the formulas below do not know (from the registry when
# the models wing provides one).
DEFAULT_RELATIVE_STEP_COST = 1.0


@dataclass(frozen=True)
class Budget:
    """Per-run limits; ``None`` means no limit. ``total_seconds`` bounds a sweep's runs added up."""

    seconds: float | None
    bytes: int | None
    total_seconds: float | None = None

    def describe(self) -> str:
        parts = []
        if self.seconds is not None:
            parts.append(f"{self.seconds:.3g} s")
        if self.bytes is not None:
            parts.append(fmt_bytes(self.bytes))
        return " and ".join(parts) if parts else "no limit"

    @property
    def unlimited(self) -> bool:
        return self.seconds is None and self.bytes is None and self.total_seconds is None


NO_BUDGET = Budget(None, None, None)
APP_BUDGET = Budget(30.0, 2 * GiB, 600.0)  # a shared demo server on 2 cores
CLI_BUDGET = Budget(900.0, 8 * GiB, None)  # one person's terminal: larger; --no-budget lifts it
ENV_SECONDS, ENV_GB, ENV_SWEEP_SECONDS = "DKVB_BUDGET_SECONDS", "DKVB_BUDGET_GB", "DKVB_SWEEP_BUDGET_SECONDS"


def budget_from_env(default: Budget = APP_BUDGET, env: dict[str, str] | None = None) -> Budget:
    """The server's budget: ``$DKVB_BUDGET_SECONDS``, ``$DKVB_BUDGET_GB`` and
    ``$DKVB_SWEEP_BUDGET_SECONDS`` over ``default``; ``off`` lifts a limit. A bad value is a
    ConfigError naming the variable."""
    env = os.environ if env is None else env
    seconds = _env_number(env, ENV_SECONDS, default.seconds)
    gb = _env_number(env, ENV_GB, None if default.bytes is None else default.bytes / GiB)
    total = _env_number(env, ENV_SWEEP_SECONDS, default.total_seconds)
    return Budget(seconds, None if gb is None else int(gb * GiB), total)


def _env_number(env: Any, name: str, default: float | None) -> float | None:
    text = env.get(name)
    if text is None or not text.strip():
        return default
    if text.strip().lower() == "off":
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0 or value > 1e9:
        raise ConfigError([(name, f"must be a positive number (or 'off'); got {text[:40]!r}")])
    return value


def fmt_bytes(n: float) -> str:
    return f"{n / GiB:.1f} GB" if n >= GiB else f"{n / 2**20:.0f} MB"


def fmt_seconds(s: float) -> str:
    if s >= 3600:
        return f"{s / 3600:.1f} h"
    return f"{s / 60:.0f} min" if s >= 120 else f"{s:.1f} s" if s < 10 else f"{s:.0f} s"


# --- what a run is made of --------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """The numbers of a run that its cost depends on (a config, resolved against its data)."""

    n_train: int
    n_test: int
    n_key_init: int  # points the keys are fitted on (dkvb.key_init_data)
    dim: int  # embedding size the models see
    n_grid: int  # decision-boundary grid points (0: none)
    classes: int
    stages: int
    steps: int  # total steps (all stages)
    batch: int
    frames: int
    every: int  # record.every (0: stage ends only)
    models: tuple[str, ...]
    dkvb: bool  # keys to initialise
    codebooks: int
    keys: int
    dim_keys: int
    topk: int
    kmeans_iters: int
    kmeans: bool
    ema_epochs: int
    hidden: int
    shared_covariance: bool  # SLDA solves a D x D system after every step
    seeds: int
    cnn: bool
    load_s: float


def shape_of(config: Config, seeds: int = 1, stream: Any = None) -> Shape:
    """Resolve ``config`` (and ``stream``, an upload, when given) into the sizes the cost depends on."""
    s, d, t = config.stream, config.dkvb, config.train
    n_train, n_test, raw_dim, load_s = _data_size(config, stream)
    cnn = s.encoder == "cnn"
    dim = CNN_DIM if cnn else raw_dim
    grid = config.record.grid_size**2 if (config.record.grid_size and dim == 2 and not cnn) else 0
    if config.task == "regression":  # 1-D inputs; each frame evaluates the prediction curve, not a grid
        grid = config.regression.curve_points
    stages = config.num_stages
    total = stages * t.steps_per_stage
    classes = 1 if config.task == "regression" else s.num_classes
    if config.online.enabled:  # the online stream: its own steps and classes (task-local: n_way outputs)
        stages, total, classes = 1, config.total_steps, _online_classes(config)
    frames = _frames(stages, total, config.record.every)
    auto = "identity" if d.num_codebooks == 1 and dim <= 2 else "random_projection"  # as encoders.make_splitter
    split = d.split if d.split != "auto" else auto
    dim_keys = {"identity": dim, "chunk": max(1, dim // d.num_codebooks)}.get(split, d.dim_keys or max(2, min(dim, 16)))
    needs_dkvb = "dkvb" in t.models or ("joint" in t.models and config.joint.arch == "dkvb")
    return Shape(
        n_train=n_train,
        n_test=n_test,
        n_key_init=_key_init_points(d.key_init_data, d.keys_per_codebook, n_train, stages),
        dim=dim,
        n_grid=grid,
        classes=classes,
        stages=stages,
        steps=total,
        batch=t.batch_size,
        frames=frames,
        every=config.record.every,
        models=tuple(config.joint.arch if m == "joint" else m for m in t.models),
        dkvb=needs_dkvb,
        codebooks=d.num_codebooks,
        keys=d.keys_per_codebook,
        dim_keys=dim_keys,
        topk=d.topk,
        kmeans_iters=d.kmeans_iters,
        kmeans=d.key_init == "kmeans",
        ema_epochs=d.ema_epochs,
        hidden=sum(config.mlp.hidden_widths(config.task)),
        shared_covariance=getattr(getattr(config, "slda", None), "covariance", "shared") == "shared",
        seeds=max(1, int(seeds)),
        cnn=cnn,
        load_s=load_s,
    )


def _data_size(config: Config, stream: Any) -> tuple[int, int, int, float]:
    """(training samples, test samples, input dimension, seconds to load) without reading the data."""
    s = config.stream
    if stream is not None:
        return len(stream.y_train), len(stream.y_test), int(stream.x_train.shape[1]), 0.0
    if config.task == "regression":
        r = config.regression
        if r.kind == "csv":
            return CSV_MAX_ROWS, CSV_MAX_ROWS, 1, 0.5
        return r.num_stages * r.train_per_stage, r.num_stages * r.test_per_stage, 1, 0.0
    if config.online.enabled and s.kind in ("toy", "digits", "mnist"):
        return _online_data_size(config)
    k = s.num_classes
    if s.kind == "toy":
        return k * s.train_per_class, k * s.test_per_class, 2, 0.0
    if s.kind == "csv":
        return CSV_MAX_ROWS, CSV_MAX_ROWS, CSV_DIM, 0.5
    if s.kind == "fashion":
        return k * min(s.train_per_class, 6000), k * min(s.test_per_class, 1000), IMAGE_DIM["fashion"], 2.0
    per = IMAGE_PER_CLASS.get(s.kind, 600) * min(k, 10)
    test = math.ceil(per * s.test_fraction)
    return per - test + k, test + k, IMAGE_DIM.get(s.kind, 784), LOAD_IMAGES_S.get(s.kind, 1.0)


def _online_classes(config: Config) -> int:
    """Logits of the online stream's models: n_way (task-local labels), else every class of its layout."""
    o, kind = config.online, config.stream.kind
    if o.labels == "task_local":
        return o.n_way
    if kind == "toy":
        return len(o.mode_probs) * o.classes_per_mode
    return 20 if kind in ("digits", "mnist") else config.stream.num_classes


def _online_data_size(config: Config) -> tuple[int, int, int, float]:
    """The online layouts' sizes: toy groups of classes; digits / mnist with Fashion-MNIST (upper bounds)."""
    s, o = config.stream, config.online
    if s.kind == "toy":
        k = len(o.mode_probs) * o.classes_per_mode
        return k * s.train_per_class, k * s.test_per_class, 2, 0.0
    per = IMAGE_PER_CLASS[s.kind] * 10
    test = math.ceil(per * s.test_fraction)
    fashion_train, fashion_test = 10 * min(s.train_per_class, 6000), 10 * min(s.test_per_class, 1000)
    load = LOAD_IMAGES_S[s.kind] + LOAD_IMAGES_S["fashion"]
    return per - test + 10 + fashion_train, test + 10 + fashion_test, IMAGE_DIM[s.kind], load


# --- the estimate --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """Predicted wall seconds and peak extra bytes of a run, with the parts they are made of."""

    seconds: float
    bytes: int
    seconds_by_part: dict[str, float] = field(default_factory=dict)
    bytes_by_part: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        return f"about {fmt_seconds(self.seconds)} and {fmt_bytes(self.bytes)}"


def _work_per_sample(model: str, sh: Shape) -> tuple[float, float]:
    """(dense multiply-adds, gathered value entries) of one sample's forward pass."""
    n = sh.classes
    mlp = float(sh.dim * sh.hidden + sh.hidden * n)
    if model == "dkvb":
        return 0.0, float(sh.codebooks * sh.topk * n)
    if model == "linear":
        return float(sh.dim * n), 0.0
    if model == "mlp":
        return mlp, 0.0
    return _relative(model) * mlp, 0.0  # a model the formulas do not know: the registry's step cost x the MLP's


def _relative(model: str) -> float:
    """A model's step cost relative to the MLP's, from the registry (1 for a name it does not know)."""
    from dkvb_core.models import REGISTRY  # light: specs only, no torch

    spec = REGISTRY.get(model)
    return float(spec.step_cost) if spec is not None else DEFAULT_RELATIVE_STEP_COST


def _key_init_points(choice: str, keys: int, n_train: int, stages: int) -> int:
    """How many points the keys are fitted on (see :mod:`dkvb_core.key_data`); unknown sizes: n_train."""
    if choice == "uniform":
        return max(1000, 4 * keys)
    if choice == "first_stage":
        return math.ceil(n_train / max(1, stages))
    return n_train


def _seconds(sh: Shape) -> dict[str, float]:
    S = sh.seeds
    parts = {"setup": SETUP_S + sh.load_s + (ENCODE_CNN_S * (sh.n_train + sh.n_test) * S if sh.cnn else 0.0)}
    if sh.dkvb:
        C, K, N, dk = sh.codebooks, sh.keys, sh.n_train, sh.dim_keys
        if sh.kmeans:
            parts["keys"] = S * KMEANS_S * kmeans_work(C, sh.n_key_init, K, sh.kmeans_iters) * (dk + 10)
        ema_batches = sh.ema_epochs * math.ceil(sh.n_key_init / (sh.batch * 10))
        parts["keys"] = parts.get("keys", 0.0) + S * ema_batches * C * (EMA_BATCH_S + LOOKUP_S * sh.batch * 10 * K * dk)
        parts["lookup"] = S * LOOKUP_S * C * (N + sh.n_test + sh.n_grid) * K * (dk + 10 + sh.topk)
    steps = frames = 0.0
    points = sh.n_test + sh.n_grid
    for m in sh.models:
        flops, gathered = _work_per_sample(m, sh)
        steps += sh.steps * (STEP_S + S * sh.batch * (3 * MATMUL_S * flops + GATHER_S * gathered))
        per_sample = PREDICT_SAMPLE_S + PREDICT_MATMUL_S * flops + PREDICT_GATHER_S * gathered
        frames += sh.frames * (FRAME_S + S * points * per_sample)
        if m == "slda":  # the scatter update, and the discriminant re-solved after each step
            steps += sh.steps * S * sh.batch * 2 * MATMUL_S * sh.dim**2
            steps += sh.steps * S * SOLVE_S * sh.dim**3 / 3 if sh.shared_covariance else 0.0
        if m == "dkvb":
            frames += sh.frames * TABLE_S * 4 * S * sh.codebooks * sh.keys * sh.classes
            frames += USAGE_S * S * (sh.steps * sh.batch * sh.codebooks * sh.topk + sh.frames * sh.codebooks * sh.keys)
    parts["train"] = steps + S * sh.steps * sh.batch * (SCHEDULE_S + FLUSH_S * sh.classes * len(sh.models))
    parts["frames"] = frames
    return parts


def _bytes(sh: Shape) -> dict[str, int]:
    """Peak memory: what the run keeps throughout, plus the largest of its phases' temporaries."""
    S, C, K, n = sh.seeds, sh.codebooks, sh.keys, sh.classes
    points = sh.n_train + sh.n_test + sh.n_grid
    keep = {
        "base": BASE_BYTES,
        "embeddings": 4 * S * points * sh.dim * 2,
        "schedules": 8 * 3 * S * sh.steps * sh.batch * (2 if "joint" in sh.models else 1),
        "steps": 8 * S * sh.steps * len(sh.models),
    }
    recorded = 0
    for m in sh.models:
        recorded += S * (sh.frames * (4 * sh.stages + sh.n_grid) + sh.stages * sh.n_test)
        if m == "dkvb":
            recorded += S * sh.frames * C * K * (4 + 1 + 1)
    keep["recorded"] = 2 * recorded  # the engine's arrays and each seed's copy in its result
    phases = {"training": 4 * 256 * S * sh.batch * n * len(sh.models)}
    if sh.dkvb:
        keep["slots"] = 8 * S * points * C * sh.topk + 4 * S * C * K * (n + 2 * sh.dim_keys)
        heads = 4 * points * C * sh.dim_keys
        fit = min(sh.n_key_init, 4 * K)  # k-means works on chunks of 2^21 distances and a pool of <= 4 K points
        kmeans = heads + (3 * 8 * C * fit * sh.dim_keys + 4 * C * fit * 64 + 48 * 2**21 if sh.kmeans else 0)
        lookup = heads + 48 * 2**21 + 12 * points * C * sh.topk
        fetched = 8 * 5 * S * sh.steps * sh.batch * C * sh.topk
        usage = fetched + 8 * 3 * S * sh.frames * C * K
        phases.update({"keys": kmeans, "lookup": lookup, "key usage": usage})
    worst = max(phases, key=phases.__getitem__)
    keep[f"peak of {worst}"] = phases[worst]
    return keep


def estimate(config: Config, seeds: int = 1, stream: Any = None) -> Estimate:
    """Predicted seconds and peak bytes of running ``config`` for ``seeds`` seeds (on ``stream``)."""
    return estimate_shape(shape_of(config, seeds, stream))


def estimate_shape(sh: Shape) -> Estimate:
    secs, mem = _seconds(sh), _bytes(sh)
    return Estimate(sum(secs.values()), int(sum(mem.values())), secs, mem)


# --- the check and its advice -------------------------------------------------------------------


@dataclass(frozen=True)
class Knob:
    """A config field that lowers the cost, the shape entry it sets, and how far it may go."""

    field: str
    attr: str
    floor: int
    to_shape: Callable[[Shape, int], Shape] | None = None
    up: bool = False  # record.every: larger is cheaper


def _frames(stages: int, total: int, every: int) -> int:
    return stages + 1 + (total // every if every else 0)


def _set_steps(sh: Shape, v: int) -> Shape:
    total = sh.stages * v
    return replace(sh, steps=total, frames=_frames(sh.stages, total, sh.every))


def _set_online_steps(config: Config) -> Callable[[Shape, int], Shape]:
    def apply(sh: Shape, v: int) -> Shape:
        total = config.online.pretrain_steps + v
        return replace(sh, steps=total, frames=_frames(sh.stages, total, sh.every))

    return apply


def _set_every(sh: Shape, v: int) -> Shape:
    return replace(sh, every=v, frames=_frames(sh.stages, sh.steps, v))


def _set_per_class(attr: str) -> Callable[[Shape, int], Shape]:
    def apply(sh: Shape, v: int) -> Shape:
        return replace(sh, **{attr: v * sh.classes})

    return apply


def _set_grid(sh: Shape, v: int) -> Shape:
    return replace(sh, n_grid=v * v if sh.n_grid else 0)


def _knobs(config: Config, sh: Shape) -> list[tuple[Knob, int]]:
    """Each field that can lower this run's cost, with its current value."""
    knobs: list[tuple[Knob, int]] = []
    if sh.dkvb:
        knobs += [
            (Knob("dkvb.keys_per_codebook", "keys", max(1, sh.topk)), sh.keys),
            (Knob("dkvb.num_codebooks", "codebooks", 1), sh.codebooks),
        ]
        if sh.kmeans and sh.kmeans_iters:
            knobs.append((Knob("dkvb.kmeans_iters", "kmeans_iters", 0), sh.kmeans_iters))
        if sh.ema_epochs:
            knobs.append((Knob("dkvb.ema_epochs", "ema_epochs", 0), sh.ema_epochs))
        if config.dkvb.dim_keys is not None:
            knobs.append((Knob("dkvb.dim_keys", "dim_keys", 1), sh.dim_keys))
    if config.stream.kind in ("toy", "fashion"):
        knobs.append(
            (Knob("stream.train_per_class", "n_train", 1, _set_per_class("n_train")), sh.n_train // sh.classes)
        )
        knobs.append((Knob("stream.test_per_class", "n_test", 1, _set_per_class("n_test")), sh.n_test // sh.classes))
    if config.online.enabled:
        knobs.append((Knob("online.steps", "steps", 1, _set_online_steps(config)), config.online.steps))
    else:
        knobs.append((Knob("train.steps_per_stage", "steps", 1, _set_steps), config.train.steps_per_stage))
    knobs.append((Knob("train.batch_size", "batch", 1), sh.batch))
    if config.record.every:
        knobs.append((Knob("record.every", "frames", config.record.every, _set_every, up=True), config.record.every))
    if sh.n_grid:
        knobs.append((Knob("record.grid_size", "n_grid", 2, _set_grid), config.record.grid_size))
    if "mlp" in sh.models:
        knobs.append((Knob("mlp.hidden", "hidden", 1), sh.hidden))
    return knobs


def _apply(sh: Shape, knob: Knob, value: int) -> Shape:
    return knob.to_shape(sh, value) if knob.to_shape else replace(sh, **{knob.attr: value})


def _fits(est: Estimate, budget: Budget) -> bool:
    return (budget.seconds is None or est.seconds <= budget.seconds) and (
        budget.bytes is None or est.bytes <= budget.bytes
    )


def _best_value(sh: Shape, knob: Knob, current: int, budget: Budget) -> int | None:
    """The value of ``knob`` nearest ``current`` that keeps the run within ``budget`` (others fixed)."""
    if knob.up:  # record.every: the smallest interval that fits; past the steps it means stage ends only
        hi = max(sh.steps, current)
        if not _fits(estimate_shape(_set_every(sh, hi)), budget):
            return 0 if _fits(estimate_shape(_set_every(sh, 0)), budget) else None
        lo = current  # does not fit
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if _fits(estimate_shape(_set_every(sh, mid)), budget) else (mid, hi)
        return hi
    lo = knob.floor
    if not _fits(estimate_shape(_apply(sh, knob, lo)), budget):
        return None
    hi = current  # does not fit
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if _fits(estimate_shape(_apply(sh, knob, mid)), budget) else (lo, mid)
    return lo


def advice(config: Config, budget: Budget, seeds: int = 1, stream: Any = None) -> list[tuple[str, str]]:
    """For each field that alone brings the run within ``budget``: (field, 'now -> at most v ...')."""
    sh = shape_of(config, seeds, stream)
    out = []
    for knob, current in _knobs(config, sh):
        best = _best_value(sh, knob, current, budget)
        if best is None or best == current:
            continue
        bound = "at least" if knob.up else "at most"
        shown = "0 (stage ends only)" if knob.up and best == 0 else f"{bound} {best:,}"
        out.append((knob.field, f"{current:,} -> {shown} keeps this run under {budget.describe()}"))
    return out


def check_budget(config: Config, budget: Budget, seeds: int = 1, stream: Any = None) -> Estimate:
    """Raise a ConfigError naming the fields to lower (and to what) when ``config`` is estimated
    over ``budget``; otherwise return the estimate. Takes milliseconds: nothing runs."""
    est = estimate(config, seeds, stream)
    if budget.unlimited or _fits(est, budget):
        return est
    raise ConfigError(over_budget_problems(config, est, budget, seeds, stream))


def over_budget_problems(
    config: Config, est: Estimate, budget: Budget, seeds: int = 1, stream: Any = None
) -> list[tuple[str, str]]:
    """The refusal: what it would cost, the largest parts, and the fields to lower."""
    parts = sorted(est.seconds_by_part.items(), key=lambda kv: -kv[1])[:2]
    big = ", ".join(f"{name} {fmt_seconds(s)}" for name, s in parts)
    runs = f" for {seeds} seeds" if seeds > 1 else ""
    head = (
        f"this run{runs} is estimated at {est.describe()} (largest parts: {big}), over the budget of "
        f"{budget.describe()} a run"
    )
    fixes = advice(config, budget, seeds, stream)
    if len(fixes) >= 2:
        return [("budget", head + "; lower one of these fields"), *fixes]
    together = combined_advice(config, budget, seeds, stream)
    if not fixes and not together:
        return [("budget", head + "; it cannot be brought within by the fields this check knows: ask the operator")]
    if together:
        fixes.append(("together", "; ".join(together) + f" keeps this run under {budget.describe()}"))
    if len(fixes) == 1:
        what = "; lower these fields together" if fixes[0][0] == "together" else "; lower this field"
    else:
        what = "; lower one of these, or several together"
    return [("budget", head + what), *fixes]


def combined_advice(config: Config, budget: Budget, seeds: int = 1, stream: Any = None) -> list[str]:
    """Several fields lowered together (greedily halving whichever helps most) until the run fits:
    ['stream.train_per_class: 5,000 -> 312', ...]; empty if even that does not fit."""
    sh = shape_of(config, seeds, stream)
    knobs = _knobs(config, sh)
    values = {k.field: v for k, v in knobs}
    current = dict(values)
    for _ in range(80):
        if _fits(estimate_shape(sh), budget):
            break
        best = None
        for knob, _v in knobs:
            v = values[knob.field]
            nxt = (max(v * 2, 1) if v else None) if knob.up else max(knob.floor, v // 2)
            if nxt is None or nxt == v or (knob.up and nxt > max(sh.steps, 1)):
                continue
            trial = _apply(sh, knob, nxt)
            score = _overrun(estimate_shape(trial), budget)
            if best is None or score < best[0]:
                best = (score, knob, nxt, trial)
        if best is None:
            return []
        _, knob, values[knob.field], sh = best
    if not _fits(estimate_shape(sh), budget):
        return []
    return [f"{f}: {current[f]:,} -> {v:,}" for f, v in values.items() if v != current[f]]


def _overrun(est: Estimate, budget: Budget) -> float:
    """How far over the budget an estimate is (1 = exactly at it), the worse of time and memory."""
    ratios = [0.0]
    if budget.seconds is not None:
        ratios.append(est.seconds / budget.seconds)
    if budget.bytes is not None:
        ratios.append(est.bytes / budget.bytes)
    return max(ratios)


# --- command-line flags -----------------------------------------------------------------------


def add_budget_arguments(parser: Any, default: Budget = CLI_BUDGET) -> None:
    """``--budget-seconds``, ``--budget-gb`` and ``--no-budget`` on an argparse parser."""
    gb = None if default.bytes is None else default.bytes / GiB
    parser.add_argument(
        "--budget-seconds",
        type=float,
        default=default.seconds,
        help=f"refuse a run estimated over this many seconds (default {default.seconds:g})",
    )
    parser.add_argument(
        "--budget-gb", type=float, default=gb, help=f"refuse a run estimated over this much memory (default {gb:g})"
    )
    parser.add_argument("--no-budget", action="store_true", help="run whatever the estimate says (no budget check)")


def budget_from_args(args: Any) -> Budget:
    """The budget the flags ask for; a non-positive or non-finite value is a ConfigError naming the flag."""
    if args.no_budget:
        return NO_BUDGET
    for flag, value in (("--budget-seconds", args.budget_seconds), ("--budget-gb", args.budget_gb)):
        if value is not None and not (math.isfinite(value) and 0 < value <= 1e9):
            raise ConfigError([(flag, f"must be a positive number; got {value}")])
    gb = args.budget_gb
    return Budget(args.budget_seconds, None if gb is None else int(gb * GiB), None)
