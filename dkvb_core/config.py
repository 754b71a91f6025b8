"""One immutable, validated, hashable description of a run: stream, models, training, recording.

Validation is done by pydantic; every fault is re-raised as a :class:`ConfigError` whose message
names the field (``section.field``) and its allowed range, so the CLI and the app can show it
as is. Nothing is clamped silently.
"""

from __future__ import annotations

import itertools
import json
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import annotated_types as at
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from dkvb_core import safe_json
from dkvb_core.errors import ConfigError
from dkvb_core.models import model_names

ModelName = Literal[model_names()]  # type: ignore[valid-type]  # the registry's names, nothing else
StreamKind = Literal["toy", "csv", "digits", "mnist", "fashion", "features"]
RegressionKind = Literal["sine-sweep", "sine-tasks", "csv"]
TaskKind = Literal["classification", "regression"]

MAX_TOTAL_STEPS = 100_000
MAX_FRAMES = 2_000
MAX_SAMPLES_SEEN = 5_000_000  # steps x batch: bounds the batch schedule's memory
MAX_GRID_BYTES = 256 * 2**20  # recorded decision-boundary frames, all models

Seed = Annotated[int, Field(ge=0, le=2**31 - 1)]
LearningRate = Annotated[float, Field(gt=0.0, le=100.0)]

NUMBER_TEXT = re.compile(r"[+-]?([0-9]{1,30}(\.[0-9]{0,30})?|\.[0-9]{1,30})([eE][+-]?[0-9]{1,3})?")


def _leaf_types(annotation: Any) -> set[Any]:
    """The scalar types a field's annotation admits, looking through Optional, tuples and Annotated."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is Literal:
        return {type(a) for a in args}
    if args:
        return set().union(*(_leaf_types(a) for a in args if a is not Ellipsis))
    return {annotation}


def _holds_bool(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return any(_holds_bool(v) for v in value)
    return isinstance(value, bool)


def _dotted(model: type[BaseModel], name: str) -> str:
    """``dkvb.lr`` for field ``lr`` of the dkvb section; ``seed`` for a top-level field."""
    top = globals().get("Config")  # None while the module is still being defined
    fields_ = top.model_fields.items() if top is not None else ()
    section = next((s for s, f in fields_ if f.annotation is model), None)
    return f"{section}.{name}" if section else name


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    @field_validator("*", mode="before")
    @classmethod
    def _strict_scalars(cls, value: Any, info: ValidationInfo) -> Any:
        """Strict where pydantic is lax: true/false is not a number, and a number written as text
        holds ASCII digits only (no full-width digits, underscores or spaces)."""
        name = info.field_name or ""
        leaves = _leaf_types(cls.model_fields[name].annotation) if name in cls.model_fields else set()
        if not leaves & {int, float}:
            return value
        where = _dotted(cls, name)
        where = f"{where}: " if "." in where else ""  # a top-level field is named by pydantic's location
        if bool not in leaves and _holds_bool(value):
            raise ValueError(f"{where}must be {field_range(cls, name)}, not true/false; got {value!r}")
        if isinstance(value, str) and str not in leaves and not NUMBER_TEXT.fullmatch(value):
            raise ValueError(f"{where}must be {field_range(cls, name)}, written in ASCII digits; got {value[:40]!r}")
        return value


class StreamConfig(_Frozen):
    """Which data arrives, in which stages, and how it is sampled."""

    kind: StreamKind = Field("toy", description="toy Gaussians, a 2-D CSV file, an image set, or a features file")
    num_classes: int = Field(8, ge=2, le=32, description="number of classes")
    classes_per_stage: int = Field(2, ge=1, le=1000, description="classes that arrive per stage")
    stage_classes: tuple[tuple[Annotated[int, Field(ge=0, le=31)], ...], ...] | None = Field(
        None, description="explicit classes of each stage; overrides stage_order"
    )
    stage_order: Literal["interleaved", "consecutive"] = Field(
        "interleaved",
        description="interleaved: stage i gets classes i, i+T, ... (the seed); consecutive: 0,1 | 2,3",
    )
    layout: Literal["circle", "grid", "random"] = Field("circle", description="toy class means")
    radius: float = Field(5.0, gt=0.0, le=1000.0, description="toy: distance of the means")
    spread: float = Field(0.7, gt=0.0, le=100.0, description="toy: standard deviation a class")
    train_per_class: int = Field(100, ge=1, le=5000, description="training samples a class")
    test_per_class: int = Field(100, ge=1, le=5000, description="held-out samples a class")
    seed: Seed | None = Field(None, description="data seed; None uses the run seed")
    encoder: Literal["identity", "cnn"] = Field(
        "identity", description="frozen encoder in front of every model; cnn: the shipped image CNN"
    )
    test_fraction: float = Field(0.2, ge=0.05, le=0.9, description="csv and image sets: share of each class held out")
    csv_path: str | None = Field(None, description="csv: path of the CSV file")
    # features: the file decides the classes (num_classes and stage_classes are not used; at most 254 classes)
    path: str | None = Field(None, description="features: path of a .npz, .csv or .parquet file of N-d features")

    @model_validator(mode="after")
    def _check_stages(self) -> StreamConfig:
        if self.kind == "features":
            return self._check_features()
        if self.stage_classes is not None:
            flat = [c for stage in self.stage_classes for c in stage]
            if not self.stage_classes or any(len(s) == 0 for s in self.stage_classes):
                raise ValueError("stream.stage_classes: every stage needs at least one class")
            if len(set(flat)) != len(flat):
                raise ValueError("stream.stage_classes: a class may appear in one stage only")
            if max(flat) >= self.num_classes:
                raise ValueError(
                    f"stream.stage_classes: classes must be in 0..{self.num_classes - 1} "
                    f"(stream.num_classes = {self.num_classes})"
                )
        elif self.classes_per_stage > self.num_classes:
            raise ValueError(
                f"stream.classes_per_stage: must be at most stream.num_classes "
                f"({self.num_classes}); got {self.classes_per_stage}"
            )
        if self.kind == "csv" and not self.csv_path:
            raise ValueError("stream.csv_path: required when stream.kind is 'csv'")
        return self

    def _check_features(self) -> StreamConfig:
        """A features file brings its own classes: only its path is required; stages come from its Stage
        column or from classes_per_stage and stage_order, checked against the file when it is read."""
        if not self.path:
            raise ValueError("stream.path: required when stream.kind is 'features'")
        if self.stage_classes is not None:
            raise ValueError("stream.stage_classes: not used with features; give the file a Stage column instead")
        return self

    def resolved_stage_classes(self) -> tuple[tuple[int, ...], ...]:
        """The classes of each stage: explicit, or derived from classes_per_stage and order."""
        if self.stage_classes is not None:
            return self.stage_classes
        per = self.classes_per_stage
        n_stages = -(-self.num_classes // per)
        if self.stage_order == "consecutive":
            return tuple(tuple(range(i * per, min((i + 1) * per, self.num_classes))) for i in range(n_stages))
        return tuple(tuple(c for c in range(i, self.num_classes, n_stages)) for i in range(n_stages))


class DKVBConfig(_Frozen):
    """The bottleneck classifier: split, codebooks, key initialisation, decoder."""

    num_codebooks: int = Field(1, ge=1, le=64, description="codebooks (heads), C")
    keys_per_codebook: int = Field(64, ge=1, le=4096, description="key-value pairs a codebook, K")
    dim_keys: int | None = Field(None, ge=1, le=512, description="key dimension; None: automatic")
    split: Literal["auto", "identity", "random_projection", "chunk"] = Field(
        "auto",
        description="how the embedding reaches the heads; auto: identity for one head on 2-D inputs, else projection",
    )
    topk: int = Field(1, ge=1, le=16, description="keys fetched a head")
    decoder: Literal["mean", "linear"] = Field("mean", description="mean of values, or a linear layer")
    dim_values: int | None = Field(None, ge=1, le=512, description="value dimension; mean decoder: number of classes")
    key_init: Literal["kmeans", "random"] = Field("kmeans", description="unsupervised key init")
    key_init_data: Literal["uniform", "first_stage", "stream", "pretrain", "pool"] = Field(
        "uniform", description="inputs the keys are fitted on; uniform over the data's region sees no later stage"
    )
    eval_rule: Literal["untrained_no_class", "trained_keys_only"] = Field(
        "untrained_no_class",
        description="evaluation: a fetched untrained key gives no class, or (the authors') only trained keys fetched",
    )
    kmeans_iters: int = Field(10, ge=0, le=200, description="Lloyd iterations of the key init")
    ema_epochs: int = Field(0, ge=0, le=50, description="EMA k-means passes after the init")
    decay: float = Field(0.95, gt=0.0, lt=1.0, description="EMA decay of the key updates")
    threshold_ema_dead_code: float = Field(
        0.2, ge=0.0, le=1000.0, description="EMA count under which a key is dead and replaced"
    )
    value_init: Literal["zeros", "normal"] = Field("zeros", description="initial values")
    lr: LearningRate = Field(0.1, description="learning rate of the values")
    readout: Literal["hard", "soft"] = Field(
        "hard", description="hard: mean of the top-k values; soft: softmax(-distance^2 / temperature) over the top-k"
    )
    temperature: float = Field(
        1.0, gt=0.0, le=1000.0, description="soft readout: tau; small = nearest key only, large = even top-k mean"
    )

    @model_validator(mode="after")
    def _check(self) -> DKVBConfig:
        if self.topk > self.keys_per_codebook:
            raise ValueError(
                f"dkvb.topk: must be at most dkvb.keys_per_codebook ({self.keys_per_codebook}); got {self.topk}"
            )
        if self.readout == "soft" and self.decoder != "mean":
            raise ValueError("dkvb.readout: 'soft' weights the fetched values, so it needs dkvb.decoder = 'mean'")
        return self


class LinearConfig(_Frozen):
    """Linear probe on the (frozen) embedding, zero-initialised like the seed notebook."""

    lr: LearningRate = Field(0.05, description="learning rate of the linear probe")


class MLPConfig(_Frozen):
    """A ReLU MLP on the embedding, Kaiming-initialised: one hidden layer for classification,
    40-40 (the seed's sinusoid network) for regression, unless ``widths`` says otherwise."""

    hidden: int = Field(32, ge=1, le=1024, description="hidden width (when widths is null, classification)")
    widths: tuple[Annotated[int, Field(ge=1, le=1024)], ...] | None = Field(
        None, description="hidden widths, e.g. [40, 40]; null: [hidden] for classification, [40, 40] for regression"
    )
    lr: LearningRate = Field(0.05, description="learning rate of the MLP")

    @model_validator(mode="after")
    def _check(self) -> MLPConfig:
        if self.widths is not None and not 1 <= len(self.widths) <= 4:
            raise ValueError(f"mlp.widths: give 1 to 4 hidden widths; got {len(self.widths)}")
        return self

    def hidden_widths(self, task: str) -> tuple[int, ...]:
        """The hidden widths in force for ``task``."""
        if self.widths is not None:
            return self.widths
        return (self.hidden,) if task == "classification" else REGRESSION_MLP_WIDTHS


REGRESSION_MLP_WIDTHS = (40, 40)


class RegressionConfig(_Frozen):
    """The 1-D regression streams (``task = 'regression'``): which function, over which stages."""

    kind: RegressionKind = Field(
        "sine-sweep",
        description="sine-sweep: one function learned range by range; sine-tasks: a new sinusoid each stage; csv",
    )
    num_stages: int = Field(5, ge=1, le=20, description="stages (csv without a Stage column: x-ranges)")
    noise: float = Field(0.1, ge=0.0, le=5.0, description="standard deviation of the noise on training targets")
    train_per_stage: int = Field(100, ge=2, le=5000, description="training points a stage")
    test_per_stage: int = Field(100, ge=2, le=5000, description="held-out points a stage (noise-free targets)")
    x_min: float = Field(-5.0, ge=-100.0, le=100.0, description="left end of the input range")
    x_max: float = Field(5.0, ge=-100.0, le=100.0, description="right end of the input range")
    curve_points: int = Field(200, ge=10, le=2000, description="points of the recorded prediction curves")
    csv_path: str | None = Field(None, description="csv: path of a CSV with columns x, y and optionally Stage")

    @model_validator(mode="after")
    def _check(self) -> RegressionConfig:
        if self.x_max <= self.x_min:
            raise ValueError(
                f"regression.x_max: must be greater than regression.x_min ({self.x_min}); got {self.x_max}"
            )
        if self.kind == "csv" and not self.csv_path:
            raise ValueError("regression.csv_path: required when regression.kind is 'csv'")
        return self


class ReplayConfig(_Frozen):
    """Experience replay: the MLP plus a reservoir buffer of raw past samples replayed every step."""

    hidden: int = Field(32, ge=1, le=1024, description="hidden width")
    lr: LearningRate = Field(0.1, description="learning rate (tuned: benchmarks/tune_baselines.py)")
    memory: int = Field(200, ge=1, le=100_000, description="buffer slots (raw past samples kept)")


class EWCConfig(_Frozen):
    """Online EWC: the MLP plus a quadratic penalty on moving weights the Fisher says mattered."""

    hidden: int = Field(32, ge=1, le=1024, description="hidden width")
    lr: LearningRate = Field(0.001, description="learning rate (tuned: benchmarks/tune_baselines.py)")
    lam: float = Field(100.0, ge=0.0, le=1e8, description="penalty strength λ of λ Σ F (θ − θ*)²")
    gamma: float = Field(0.9, ge=0.0, le=1.0, description="Fisher decay γ: F ← γ F + F_new at each stage end")


class LwFConfig(_Frozen):
    """Learning without Forgetting: the MLP distilled towards its stage-start copy on old classes."""

    hidden: int = Field(32, ge=1, le=1024, description="hidden width")
    lr: LearningRate = Field(0.003, description="learning rate (tuned: benchmarks/tune_baselines.py)")
    alpha: float = Field(100.0, ge=0.0, le=1000.0, description="weight α of the distillation term")
    temperature: float = Field(1.0, gt=0.0, le=100.0, description="softening temperature T")


class AGEMConfig(_Frozen):
    """A-GEM: the MLP whose gradient is projected so that the loss on an episodic memory does not rise."""

    hidden: int = Field(32, ge=1, le=1024, description="hidden width")
    lr: LearningRate = Field(0.003, description="learning rate (tuned: benchmarks/tune_baselines.py)")
    memory: int = Field(200, ge=1, le=100_000, description="episodic memory (raw past samples kept), shared by stages")
    memory_batch: int = Field(
        200, ge=1, le=1024, description="memory samples of each reference gradient; the whole memory by default"
    )


class SLDAConfig(_Frozen):
    """Streaming LDA on the frozen features: class means and one shared covariance, no gradient steps."""

    covariance: Literal["shared", "identity"] = Field(
        "shared", description="shared: streaming LDA; identity: the nearest-class-mean classifier"
    )
    shrinkage: float = Field(1e-4, gt=0.0, le=1.0, description="ε of the precision ((1 − ε) Σ + ε I)⁻¹")


class JointConfig(_Frozen):
    """The i.i.d. upper bound: one model trained on all stages' data shuffled together."""

    arch: Literal["mlp", "linear", "dkvb"] = Field("mlp", description="architecture of the reference")
    lr: LearningRate = Field(0.01, description="learning rate of the joint reference")


class OnlineConfig(_Frozen):
    """The online stream with returning tasks (OSAKA): a Markov chain over tasks of the stream's modes.

    Modes group the classes: mode 0 is the pre-training mode, the others are out-of-distribution.
    At each step the task switches with probability 1 - p; a switch draws a mode from ``mode_probs``
    (the same mode may come again) and a task of ``n_way`` of its classes. Off unless ``enabled``.
    """

    enabled: bool = Field(False, description="train on the online stream instead of the stages")
    p: float = Field(0.98, gt=0.0, lt=1.0, description="probability of staying on the task at each step")
    mode_probs: tuple[Annotated[float, Field(ge=0.0, le=1.0)], ...] = Field(
        (0.5, 0.25, 0.25), description="probability of each mode at a switch (mode 0: pre-training); sum 1"
    )
    n_way: int = Field(2, ge=2, le=16, description="classes of a task")
    classes_per_mode: int = Field(4, ge=2, le=16, description="toy: classes of each mode")
    modes: tuple[tuple[Annotated[int, Field(ge=0, le=31)], ...], ...] | None = Field(
        None, description="explicit classes of each mode; None: the stream's own layout"
    )
    steps: int = Field(2000, ge=1, le=50_000, description="steps of the online stream after pre-training")
    pretrain_steps: int = Field(200, ge=0, le=20_000, description="i.i.d. steps on the pre-training mode first")
    labels: Literal["global", "task_local"] = Field(
        "global", description="global: a class keeps its label; task_local (OSAKA): 0..n_way-1 a task"
    )
    recovery_k: int = Field(5, ge=1, le=100, description="batches after a task returns that recovery scores")
    window: int = Field(100, ge=1, le=10_000, description="steps of the windowed online accuracy")

    @model_validator(mode="after")
    def _check(self) -> OnlineConfig:
        if not 1 <= len(self.mode_probs) <= 8:
            raise ValueError(f"online.mode_probs: give 1 to 8 probabilities; got {len(self.mode_probs)}")
        if abs(sum(self.mode_probs) - 1.0) > 1e-3:
            raise ValueError(f"online.mode_probs: must sum to 1; got {sum(self.mode_probs):.4g}")
        if self.modes is not None:
            self._check_modes(self.modes)
        return self

    def _check_modes(self, modes: tuple[tuple[int, ...], ...]) -> None:
        flat = [c for m in modes for c in m]
        if len(set(flat)) != len(flat):
            raise ValueError("online.modes: a class may belong to one mode only")
        if len(modes) != len(self.mode_probs):
            raise ValueError(
                f"online.modes: {len(modes)} modes but {len(self.mode_probs)} mode_probs; give one probability a mode"
            )
        small = min(len(m) for m in modes)
        if small < self.n_way:
            raise ValueError(f"online.n_way: must be at most the smallest mode's size ({small}); got {self.n_way}")

    @property
    def total_steps(self) -> int:
        return self.pretrain_steps + self.steps


class TrainConfig(_Frozen):
    """What is trained and how: the same batches feed every model."""

    models: tuple[ModelName, ...] = Field(("dkvb", "linear", "mlp"), description="models to run")
    steps_per_stage: int = Field(1000, ge=1, le=20_000, description="SGD steps a stage")
    batch_size: int = Field(10, ge=1, le=1024, description="samples a step")
    optimizer: Literal["sgd", "adam"] = Field("sgd", description="optimiser of every model")

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if not self.models:
            raise ValueError(f"train.models: choose at least one of {', '.join(model_names())}")
        if len(set(self.models)) != len(self.models):
            raise ValueError("train.models: each model may be named once")
        return self


class RecordConfig(_Frozen):
    """What the engine records while training (frames drive the animations)."""

    every: int = Field(50, ge=0, le=100_000, description="steps between frames; 0: stage ends only")
    grid_size: int = Field(100, ge=0, le=400, description="decision-boundary grid side; 0: none")
    grid_margin: float = Field(0.15, ge=0.0, le=2.0, description="grid margin, fraction of extent")


class Config(_Frozen):
    """A whole run. Immutable and hashable: usable as a cache key."""

    seed: Seed = Field(0, description="seed of initialisation and batch order")
    task: TaskKind = Field("classification", description="classification (stream section) or regression (regression)")
    stream: StreamConfig = StreamConfig()
    dkvb: DKVBConfig = DKVBConfig()
    linear: LinearConfig = LinearConfig()
    mlp: MLPConfig = MLPConfig()
    replay: ReplayConfig = ReplayConfig()
    ewc: EWCConfig = EWCConfig()
    lwf: LwFConfig = LwFConfig()
    agem: AGEMConfig = AGEMConfig()
    slda: SLDAConfig = SLDAConfig()
    joint: JointConfig = JointConfig()
    regression: RegressionConfig = RegressionConfig()
    train: TrainConfig = TrainConfig()
    record: RecordConfig = RecordConfig()
    online: OnlineConfig = OnlineConfig()

    @property
    def num_stages(self) -> int:
        """Stages of the configured stream (a regression CSV's Stage column may hold fewer)."""
        if self.task == "regression":
            return self.regression.num_stages
        return len(self.stream.resolved_stage_classes())

    @model_validator(mode="after")
    def _check(self) -> Config:
        _check_task(self)
        n_stages, total = self.num_stages, None
        if self.online.enabled:
            self._check_online()
            n_stages, total = 1, self.online.total_steps
        fault = self.size_fault(n_stages, total)
        if fault:
            raise ValueError(fault)
        features = self.task == "classification" and self.stream.kind == "features"  # the file decides the classes
        outputs = 1 if self.task == "regression" else self.stream.num_classes
        if self.dkvb.decoder == "mean" and not features and self.dkvb.dim_values not in (None, outputs):
            what = "1 (a scalar per key) for regression" if self.task == "regression" else "stream.num_classes"
            raise ValueError(
                f"dkvb.dim_values: the mean decoder needs dim_values = {what} ({outputs}); got {self.dkvb.dim_values}"
            )
        return self

    def size_fault(self, n_stages: int, total: int | None = None) -> str | None:
        """Why a run of ``n_stages`` stages (``total`` steps: by default the stages' steps) is too large
        (steps, frames, samples, grid), or None. Configs check their own stages; a features file, whose
        stages only its reader knows, is checked after reading."""
        total = n_stages * self.train.steps_per_stage if total is None else total
        every = self.record.every
        if total > MAX_TOTAL_STEPS:
            return (
                f"train.steps_per_stage: {n_stages} stages x {self.train.steps_per_stage} steps "
                f"= {total}, more than the limit of {MAX_TOTAL_STEPS} steps in all"
            )
        if every and total // every > MAX_FRAMES:
            return (
                f"record.every: {total} steps every {every} gives {total // every} frames, more than the limit of "
                f"{MAX_FRAMES}; record every {-(-total // MAX_FRAMES)} steps or more, or train fewer steps"
            )
        samples = total * self.train.batch_size
        if samples > MAX_SAMPLES_SEEN:
            return (
                f"train.batch_size: {total} steps x batch {self.train.batch_size} = {samples:,} samples, "
                f"more than the limit of {MAX_SAMPLES_SEEN:,}; lower the batch size or the steps"
            )
        frames = n_stages + 1 + (total // every if every else 0)
        size, models = self.record.grid_size, len(self.train.models)
        grid_bytes = frames * size**2 * models
        if grid_bytes > MAX_GRID_BYTES:
            return (
                f"record.grid_size: {frames} frames of a {size}x{size} grid for {models} models is "
                f"{grid_bytes / 2**20:.0f} MiB, more than the limit of {MAX_GRID_BYTES // 2**20} MiB; "
                "use a smaller grid or record fewer frames (record.every)"
            )
        return None

    def _check_online(self) -> None:
        o = self.online
        if self.task != "classification":
            raise ValueError(f"online.enabled: the online stream is for classification; task is {self.task!r}")
        if o.total_steps > MAX_TOTAL_STEPS:
            raise ValueError(
                f"online.steps: {o.pretrain_steps} pre-training + {o.steps} online steps = {o.total_steps}, "
                f"more than the limit of {MAX_TOTAL_STEPS}"
            )
        if self.stream.kind == "toy" and o.modes is None:
            if o.n_way > o.classes_per_mode:
                raise ValueError(
                    f"online.n_way: must be at most online.classes_per_mode ({o.classes_per_mode}); got {o.n_way}"
                )
            if o.classes_per_mode * len(o.mode_probs) > 32:
                raise ValueError(
                    f"online.classes_per_mode: {len(o.mode_probs)} modes x {o.classes_per_mode} classes is more "
                    "than the limit of 32 classes"
                )

    @property
    def total_steps(self) -> int:
        """Steps of the whole run: every stage's, or the online stream's with its pre-training."""
        if self.online.enabled:
            return self.online.total_steps
        return len(self.stream.resolved_stage_classes()) * self.train.steps_per_stage

    @property
    def seed_of_stream(self) -> int:
        """The data seed: the stream's own, or the run seed."""
        return self.seed if self.stream.seed is None else self.stream.seed

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-ready dict (round-trips through :meth:`from_dict`)."""
        return self.model_dump(mode="json")

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """Validate a (possibly partial) dict; missing fields take their defaults."""
        return validate_config(cls, data)

    @classmethod
    def from_json(cls, text: str) -> Config:
        data = safe_json.loads(text, "config")
        if not isinstance(data, dict):
            raise ConfigError([("config", "must be a JSON object of sections")])
        return cls.from_dict(data)

    def replace(self, **updates: Any) -> Config:
        """A validated copy with dotted-path updates, e.g. ``replace(**{"dkvb.lr": 0.2})``."""
        data = self.to_dict()
        for path, value in updates.items():
            set_dotted(data, path, value)
        return Config.from_dict(data)


def _check_task(config: Config) -> None:
    """Every chosen model must support the task (its registry spec says which tasks it can do)."""
    from dkvb_core.models import REGISTRY

    refused = [m for m in config.train.models if config.task not in REGISTRY[m].tasks]
    if refused:
        able = [name for name, spec in REGISTRY.items() if config.task in spec.tasks]
        raise ValueError(
            f"train.models: {', '.join(refused)} cannot do {config.task}; models that can: {', '.join(able)}"
        )


def set_dotted(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``data['a']['b'] = value`` for ``path == 'a.b'``; unknown sections are errors."""
    parts = path.split(".")
    if len(parts) > 2 or (len(parts) == 2 and parts[0] not in section_names()):
        raise ConfigError([(path, f"unknown section {parts[0]!r}; sections: {', '.join(section_names())}")])
    if len(parts) == 1 and parts[0] in section_names():
        raise ConfigError([(path, "name a field of the section, e.g. dkvb.lr=0.1")])
    node = data
    if len(parts) == 2:
        node = data.setdefault(parts[0], {})
        if not isinstance(node, dict):
            raise ConfigError([(parts[0], "must be an object of fields")])
    node[parts[-1]] = value


def section_names() -> list[str]:
    return [name for name, f in Config.model_fields.items() if _is_model(f.annotation)]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def field_range(model_cls: type[BaseModel], name: str) -> str:
    """A human description of what a field accepts, e.g. 'an integer from 2 to 32'."""
    info = model_cls.model_fields[name]
    return _describe(info.annotation, info.metadata)


def _describe(annotation: Any, metadata: list[Any]) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return _describe(inner[0], metadata) + ", or null"
    if origin is tuple:
        if args and _is_literal(args[0]):
            return "a list of " + ", ".join(repr(a) for a in typing.get_args(args[0]))
        if args and typing.get_origin(args[0]) is Annotated:
            inner, *raw = typing.get_args(args[0])
            meta = [m for item in raw for m in getattr(item, "metadata", [item])]
            return "a list of " + _describe(inner, meta).replace("an integer", "integers")
        return "a list of lists of class ids"
    lo = hi = None
    lo_open = hi_open = False
    for m in metadata:
        if isinstance(m, at.Ge):
            lo = m.ge
        elif isinstance(m, at.Gt):
            lo, lo_open = m.gt, True
        elif isinstance(m, at.Le):
            hi = m.le
        elif isinstance(m, at.Lt):
            hi, hi_open = m.lt, True
    kind = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(annotation, "a value")
    if lo is not None and hi is not None:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        return f"{kind} in {left}{lo}, {hi}{right}"
    if lo is not None:
        return f"{kind} {'>' if lo_open else '>='} {lo}"
    if hi is not None:
        return f"{kind} {'<' if hi_open else '<='} {hi}"
    return kind


def _is_literal(annotation: Any) -> bool:
    return typing.get_origin(annotation) is Literal


def _model_and_field(loc: tuple[Any, ...]) -> tuple[type[BaseModel], str] | None:
    """Walk ``loc`` (('stream', 'num_classes')) through the models to the field's owner."""
    model: type[BaseModel] = Config
    for i, part in enumerate(loc):
        if not isinstance(part, str) or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        if i == len(loc) - 1 or not _is_model(annotation):
            return model, part
        model = annotation
    return None


def _problem(err: dict[str, Any]) -> tuple[str, str]:
    loc = tuple(p for p in err.get("loc", ()) if p not in ("function-after",))
    field = ".".join(str(p) for p in loc) or "config"
    if err.get("type") == "value_error":
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        if ": " in msg and msg.split(": ", 1)[0].count(".") == 1:
            return tuple(msg.split(": ", 1))  # type: ignore[return-value]
        return field, msg
    if err.get("type") == "extra_forbidden":
        owner = _model_and_field(loc[:-1]) if len(loc) > 1 else None
        parent = owner[0].model_fields[owner[1]].annotation if owner else Config
        known = ", ".join(parent.model_fields) if _is_model(parent) else ""
        return field, f"unknown field; known fields here: {known}"
    named = tuple(itertools.takewhile(lambda p: isinstance(p, str), loc))
    found = _model_and_field(named)
    allowed = field_range(*found) if found else "a valid value"
    got = err.get("input")
    if len(named) < len(loc):  # an item inside a list field: name the field, point at the item
        where = "".join(f"[{p}]" for p in loc[len(named) :])
        return ".".join(named), f"item {where} = {got!r} is not allowed; the field must be {allowed}"
    return field, f"must be {allowed}; got {got!r}"


def validate_config(cls: type[Config], data: Any) -> Config:
    """Build a Config, turning pydantic's errors into one :class:`ConfigError`."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_problem(e) for e in exc.errors()]) from None


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON config file into a dict (validated later, with overrides applied)."""
    data = safe_json.loads(safe_json.read_file(path, "--config"), "--config")
    if not isinstance(data, dict):
        raise ConfigError([("--config", f"{str(path)[:200]} must hold a JSON object of sections")])
    return data


def describe_fields() -> list[tuple[str, str, str, str]]:
    """Every settable field as (dotted name, default, allowed range, description): for --help."""
    rows: list[tuple[str, str, str, str]] = []
    for name, info in Config.model_fields.items():
        if _is_model(info.annotation):
            section = info.annotation
            for fname, finfo in section.model_fields.items():
                rows.append(
                    (
                        f"{name}.{fname}",
                        json.dumps(_jsonable(finfo.default)),
                        field_range(section, fname),
                        finfo.description or "",
                    )
                )
        else:
            rows.append((name, json.dumps(info.default), field_range(Config, name), info.description or ""))
    return rows


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value
