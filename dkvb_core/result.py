"""Everything one run produced, and its lossless JSON / npz form (no pickle).

Frames are snapshots taken every ``record.every`` steps, at each stage end and before the
first step (frame 0). Per model a frame holds the accuracy on each stage's held-out data and,
for 2-D inputs, the predicted class on the decision-boundary grid (uint8; 255 = no class).
DKVB frames also hold cumulative key usage, the class each value row votes for, and which
value rows changed since the previous frame.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from dkvb_core import metrics
from dkvb_core.config import Config
from dkvb_core.errors import DataError

FORMAT_VERSION = 1
NO_CLASS = 255  # a predicted class where every logit ties (an untouched value, a zero probe): never correct


@dataclass(eq=False)
class GridSpec:
    """A square grid over ``[x_min, x_max] x [y_min, y_max]``, ``size`` cells a side, row-major
    with y increasing along rows (so ``predictions.reshape(size, size)[row, col]``)."""

    x_min: float
    x_max: float
    y_min: float
    y_max: float
    size: int

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        return np.linspace(self.x_min, self.x_max, self.size), np.linspace(self.y_min, self.y_max, self.size)

    def points(self) -> np.ndarray:
        xs, ys = self.axes()
        xx, yy = np.meshgrid(xs, ys)
        return np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)


@dataclass(eq=False)
class OnlineLog:
    """The online stream's per-step tags, in stream order: ``pretrain_steps`` pre-training steps
    first (mode 0, task and segment -1), then the Markov chain's steps.

    A *segment* is a maximal run of steps between two switches; a *task* is a set of ``n_way``
    classes (``task_local``: an ordered one, since the order gives the labels 0..n_way-1). Task ids
    count distinct tasks in order of first appearance, so a task id seen again is a returning task.
    """

    pretrain_steps: int
    mode: np.ndarray  # (steps,) int8: the mode of each step
    task: np.ndarray  # (steps,) int32: the task of each step (-1 in pre-training)
    segment: np.ndarray  # (steps,) int32: the segment of each step (-1 in pre-training)
    task_classes: np.ndarray  # (tasks, n_way) int16: each task's classes, in label order
    mode_classes: tuple[tuple[int, ...], ...]  # the classes of each mode; mode 0 is pre-training
    labels: str  # "global" or "task_local"

    @property
    def num_modes(self) -> int:
        return len(self.mode_classes)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _encode(getattr(self, f.name)) for f in fields(self)}


@dataclass(eq=False)
class ModelRecord:
    """One model's record of a run."""

    name: str
    stage_accuracy: np.ndarray  # (F, T) float32: accuracy on each stage's test data per frame
    step_loss: np.ndarray  # (steps,) float32: training loss of each batch before its update
    step_correct: np.ndarray  # (steps,) int16: correct predictions in each batch before its update
    seconds: float = 0.0
    grid_predictions: np.ndarray | None = None  # (F, G*G) uint8
    test_predictions: np.ndarray | None = None  # (T, N_test) uint8 at each stage end
    key_usage_frames: np.ndarray | None = None  # (F, C, K) int32 cumulative fetch counts
    key_usage_stages: np.ndarray | None = None  # (T, C, K) int32 fetch counts within each stage
    value_votes: np.ndarray | None = None  # (F, C, K) uint8 class a value row votes for
    values_changed: np.ndarray | None = None  # (F, C, K) bool: row changed since previous frame
    final_values: np.ndarray | None = None  # (C, K, dv) float32
    train_key_index: np.ndarray | None = None  # (N_train, C) int32: nearest key of each sample
    test_key_index: np.ndarray | None = None  # (N_test, C) int32
    key_active: np.ndarray | None = None  # (C, K) bool: key in use (False: surplus, never fetched)
    key_counts: np.ndarray | None = None  # (4,) int64: keys total, unused, duplicates, never trained
    step_order: np.ndarray | None = None  # (steps,) int32: online joint only, the stream step of each step
    # regression (``stage_accuracy`` is then empty, (F, 0)):
    stage_mse: np.ndarray | None = None  # (F, T) float32: test MSE on each stage's data per frame (lower is better)
    curve_predictions: np.ndarray | None = None  # (F, G) float32: prediction at each of the run's curve_x
    value_frames: np.ndarray | None = None  # (F, C, K) float32: DKVB's scalar value of each key per frame
    # soft readout (dkvb.readout = 'soft'):
    effective_keys: np.ndarray | None = None  # (T,) float32: mean over a stage's samples of 1/sum(w^2) a head
    readout_leak: np.ndarray | None = None  # (T,) float32: share of a stage's readout weight on earlier stages' keys


@dataclass(eq=False)
class RunResult:
    """A run of several models over one stream and one seed."""

    config: Config
    stage_classes: tuple[tuple[int, ...], ...]
    class_names: tuple[str, ...]
    frame_steps: np.ndarray  # (F,) int32: steps done when the frame was taken
    frame_stage: np.ndarray  # (F,) int16: stage being trained (0 for frame 0)
    stage_end_frames: np.ndarray  # (T,) int32: frame index at the end of each stage
    models: dict[str, ModelRecord]
    batch_size: int
    grid: GridSpec | None = None
    x_train: np.ndarray | None = None  # 2-D streams only: the points, for plotting
    y_train: np.ndarray | None = None
    stage_train: np.ndarray | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    stage_test: np.ndarray | None = None
    keys_2d: np.ndarray | None = None  # (C, K, 2): keys placed in the 2-D input space
    grid_key_index: np.ndarray | None = None  # (C, G*G) int16/32: nearest key of each cell
    curve_x: np.ndarray | None = None  # regression: (G,) float32 inputs of the recorded prediction curves
    curve_true: np.ndarray | None = None  # regression: (T, G) float32 true function of each stage (None: unknown)
    extra: dict[str, Any] = field(default_factory=dict)
    online: OnlineLog | None = None  # the online stream's tags (None for the stage stream)

    # --- derived ---------------------------------------------------------------------------
    @property
    def num_stages(self) -> int:
        return len(self.stage_classes)

    @property
    def num_frames(self) -> int:
        return len(self.frame_steps)

    @property
    def task(self) -> str:
        return self.config.task

    def mse_matrix(self, model: str) -> np.ndarray:
        """Regression: ``E[i, j]``, test MSE on stage j's data after training through stage i (lower is better)."""
        mse = self.models[model].stage_mse
        if mse is None:
            raise ValueError(f"{model}: a classification run has no MSE matrix; use accuracy_matrix")
        return mse[self.stage_end_frames].astype(np.float64)

    def online_mse(self, model: str) -> np.ndarray:
        """Regression: running mean of each batch's MSE before training on it (predict-then-train)."""
        return metrics.online_mse(self.models[model].step_loss)

    def accuracy_matrix(self, model: str) -> np.ndarray:
        """``R[i, j]``: accuracy on stage j's test data after training through stage i."""
        return self.models[model].stage_accuracy[self.stage_end_frames].astype(np.float64)

    def online_accuracy(self, model: str) -> np.ndarray:
        return metrics.online_accuracy(self.models[model].step_correct, self.batch_size)

    def online_tags(self, model: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Mode, task and segment of each step in the order ``model`` trained (online runs). The joint
        reference trains on the stream's batches shuffled: its modes follow its batches, and it has
        no task or segment order (None)."""
        log = self.online
        if log is None:
            raise ValueError("online_tags: this run is not an online run")
        order = self.models[model].step_order
        if order is None:
            return log.mode, log.task, log.segment
        return log.mode[order], None, None

    def summary(self, model: str) -> dict[str, Any]:
        """The model's metrics (see :mod:`dkvb_core.metrics`) plus online accuracy (regression: online
        MSE) and time."""
        if self.online is not None:
            return self._online_summary(model)
        if self.task == "regression":
            out = metrics.regression_summary(self.mse_matrix(model))
            online_mse = self.online_mse(model)
            out["online_mse_lower_is_better"] = float(online_mse[-1]) if len(online_mse) else 0.0
            out["seconds"] = float(self.models[model].seconds)
            return out
        out = metrics.summary(self.accuracy_matrix(model))
        online = self.online_accuracy(model)
        out["online_accuracy"] = float(online[-1]) if len(online) else 0.0
        out["seconds"] = float(self.models[model].seconds)
        return out

    def _online_summary(self, model: str) -> dict[str, Any]:
        """Online runs: the online figures of :func:`dkvb_core.metrics.online_summary`, the held-out
        accuracy per mode at the end (global labels only) and time."""
        assert self.online is not None
        mode, task, segment = self.online_tags(model)
        cfg = self.config.online
        rec = self.models[model]
        out = metrics.online_summary(
            rec.step_correct,
            self.batch_size,
            mode,
            task,
            segment,
            self.online.num_modes,
            cfg.pretrain_steps,
            cfg.recovery_k,
        )
        last = rec.stage_accuracy[-1].astype(np.float64)
        out["heldout_accuracy_per_mode"] = [None if not np.isfinite(v) else float(v) for v in last]
        out["seconds"] = float(rec.seconds)
        return out

    def summaries(self) -> dict[str, dict[str, Any]]:
        return {name: self.summary(name) for name in self.models}

    # --- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; arrays become ``{"__ndarray__": base64, "dtype", "shape"}``."""
        out: dict[str, Any] = {"format_version": FORMAT_VERSION}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "config":
                out["config"] = value.to_dict()
            elif f.name == "models":
                out["models"] = {
                    k: {mf.name: _encode(getattr(rec, mf.name)) for mf in fields(rec)} for k, rec in value.items()
                }
            elif f.name == "grid":
                out["grid"] = None if value is None else {g.name: getattr(value, g.name) for g in fields(value)}
            elif f.name == "online":
                out["online"] = None if value is None else value.to_dict()
            else:
                out[f.name] = _encode(value)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """Rebuild a run from :meth:`to_dict`'s form, every member checked against the run schema
        (:mod:`dkvb_core.run_file`); a fault raises :class:`DataError` naming the member."""
        from dkvb_core.run_file import check_document

        if not isinstance(data, dict):
            raise DataError("run file: document: must be a JSON object")
        return cls(**check_document(data))

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | bytes) -> RunResult:
        from dkvb_core.run_file import parse_document

        return cls.from_dict(parse_document(text))

    def save(self, path: str | Path) -> None:
        """Write ``.json`` or ``.npz`` (the npz holds the same JSON document as one string)."""
        p = Path(path)
        if p.suffix == ".npz":
            np.savez_compressed(p, run=np.array(self.to_json()))
        else:
            p.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> RunResult:
        """Read a ``.json`` or ``.npz`` run file; any fault is a :class:`DataError` naming what is wrong."""
        from dkvb_core.run_file import read_document

        return cls.from_dict(read_document(path))

    def to_npz_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez_compressed(buf, run=np.array(self.to_json()))
        return buf.getvalue()


def _encode(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {
            "__ndarray__": base64.b64encode(np.ascontiguousarray(value).tobytes()).decode("ascii"),
            "dtype": value.dtype.str,
            "shape": list(value.shape),
        }
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value
