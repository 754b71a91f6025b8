"""Saved runs (``.json`` / ``.npz``) read defensively: every member checked against the run schema.

A run file is a JSON document (inside an ``.npz`` as the one string member ``run``). Before a
:class:`~dkvb_core.result.RunResult` is built, :func:`check_document` checks each member's
presence, type, dtype and shape (shapes must agree with each other and with the saved config:
stages, codebooks, keys, grid size) and value ranges (accuracies in [0, 1], indices in range).
Every fault is a :class:`DataError` naming the member, never a raw exception later.
"""

from __future__ import annotations

import base64
import binascii
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from dkvb_core import safe_json
from dkvb_core.config import Config
from dkvb_core.errors import ConfigError, DataError

MAX_RUN_BYTES = 1 << 30  # a run with every frame of the largest allowed config fits well within this
MAX_ARRAY_DIMS = 4
NPZ_MEMBER = "run.npy"
# dtype kinds: b bool, i/u integers, f floats. Shapes: names bind once and must then agree.
ARRAYS: dict[str, tuple[str, tuple[str, ...]]] = {
    "frame_steps": ("iu", ("F",)),
    "frame_stage": ("iu", ("F",)),
    "stage_end_frames": ("iu", ("T",)),
    "x_train": ("f", ("Ntr", "D")),
    "y_train": ("iu", ("Ntr",)),
    "stage_train": ("iu", ("Ntr",)),
    "x_test": ("f", ("Nte", "D")),
    "y_test": ("iu", ("Nte",)),
    "stage_test": ("iu", ("Nte",)),
    "keys_2d": ("f", ("C", "K", "D")),
    "grid_key_index": ("iu", ("C", "G2")),
}
MODEL_ARRAYS: dict[str, tuple[str, tuple[str, ...]]] = {
    "stage_accuracy": ("f", ("F", "T")),
    "step_loss": ("f", ("S",)),
    "step_correct": ("iu", ("S",)),
    "grid_predictions": ("u", ("F", "G2")),
    "test_predictions": ("u", ("E", "Nte")),
    "key_usage_frames": ("iu", ("F", "C", "K")),
    "key_usage_stages": ("iu", ("U", "C", "K")),
    "value_votes": ("u", ("F", "C", "K")),
    "values_changed": ("b", ("F", "C", "K")),
    "final_values": ("f", ("C", "K", "V")),
    "train_key_index": ("iu", ("Ntr", "C")),
    "test_key_index": ("iu", ("Nte", "C")),
    "step_order": ("iu", ("S",)),
}
ONLINE_ARRAYS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mode": ("i", ("S",)),
    "task": ("i", ("S",)),
    "segment": ("i", ("S",)),
    "task_classes": ("iu", ("Tasks", "W")),
}
# Regression runs (config.task = 'regression'): float targets and predictions, MSE per stage, prediction
# curves over G inputs instead of a decision grid, no accuracy (an empty (F, 0) array), no hit counts.
REGRESSION_ARRAYS: dict[str, tuple[str, tuple[str, ...]]] = {
    **ARRAYS,
    "y_train": ("f", ("Ntr",)),
    "y_test": ("f", ("Nte",)),
    "grid_key_index": ("iu", ("C", "G")),
    "curve_x": ("f", ("G",)),
    "curve_true": ("f", ("T", "G")),
}
REGRESSION_MODEL_ARRAYS: dict[str, tuple[str, tuple[str, ...]]] = {
    **MODEL_ARRAYS,
    "stage_accuracy": ("f", ("F", "A0")),
    "step_correct": ("iu", ("A0",)),
    "test_predictions": ("f", ("T", "Nte")),
    "stage_mse": ("f", ("F", "T")),
    "curve_predictions": ("f", ("F", "G")),
    "value_frames": ("f", ("F", "C", "K")),
}
SOFT_READOUT_ARRAYS: dict[str, tuple[str, tuple[str, ...]]] = {
    "effective_keys": ("f", ("T",)),
    "readout_leak": ("f", ("T",)),
}
REQUIRED = ("config", "stage_classes", "class_names", "frame_steps", "frame_stage", "stage_end_frames", "models")
MODEL_REQUIRED = ("name", "stage_accuracy", "step_loss", "step_correct")


def _fail(where: str, what: str) -> DataError:
    return DataError(f"run file: {where}: {what}")


def read_document(path: str | Path) -> dict[str, Any]:
    """The JSON document of a ``.json`` or ``.npz`` run file, size-bounded; DataError for anything else."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except (OSError, ValueError) as exc:
        raise _fail("file", f"cannot read {str(p)[:80]}: {getattr(exc, 'strerror', None) or exc}") from None
    if size == 0:
        raise _fail("file", "empty")
    if size > MAX_RUN_BYTES:
        raise _fail("file", f"{size:,} bytes; at most {MAX_RUN_BYTES:,}")
    raw = _npz_member(p) if p.suffix == ".npz" else p.read_bytes()
    return parse_document(raw)


def _npz_member(p: Path) -> bytes:
    """The ``run`` member of an npz (a zip of .npy files), its uncompressed size checked first."""
    try:
        with zipfile.ZipFile(p) as z:
            names = z.namelist()
            if NPZ_MEMBER not in names:
                raise _fail("run", f"member missing from the npz (found: {', '.join(names)[:80] or 'none'})")
            if z.getinfo(NPZ_MEMBER).file_size > MAX_RUN_BYTES:
                raise _fail("run", f"larger than {MAX_RUN_BYTES:,} bytes unpacked")
            with z.open(NPZ_MEMBER) as fh:
                arr = np.lib.format.read_array(fh, allow_pickle=False)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise _fail("file", f"not a run .npz (a zip of arrays): {exc}") from None
    except ValueError as exc:
        raise _fail("run", f"not a text array: {exc}") from None
    if arr.dtype.kind != "U" or arr.shape != ():
        raise _fail("run", f"must be one string; got a {arr.dtype} array of shape {arr.shape}")
    return str(arr).encode("utf-8")


def parse_document(raw: str | bytes) -> dict[str, Any]:
    try:
        data = safe_json.loads(raw, "run file", max_chars=MAX_RUN_BYTES, allow_nan=True)
    except ConfigError as exc:
        raise DataError(str(exc)) from None
    if not isinstance(data, dict):
        raise _fail("document", "must be a JSON object")
    return data


def decode_array(where: str, value: Any, max_bytes: int = MAX_RUN_BYTES) -> np.ndarray:
    """``{"__ndarray__": base64, "dtype", "shape"}`` -> array, each part checked (numeric dtypes only)."""
    if not isinstance(value, dict) or set(value) != {"__ndarray__", "dtype", "shape"}:
        raise _fail(where, "must be an encoded array {__ndarray__, dtype, shape}")
    try:
        dtype = np.dtype(value["dtype"]) if isinstance(value["dtype"], str) else None
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in "biuf" or dtype.itemsize > 8:
        raise _fail(where, f"dtype {str(value['dtype'])[:40]!r} is not a numeric or bool type")
    shape = value["shape"]
    ok = isinstance(shape, list) and len(shape) <= MAX_ARRAY_DIMS
    if not ok or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= max_bytes for n in shape):
        raise _fail(where, f"shape {str(shape)[:40]} is not a list of at most {MAX_ARRAY_DIMS} sizes")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > max_bytes:
        raise _fail(where, f"{nbytes:,} bytes; at most {max_bytes:,}")
    try:
        buf = base64.b64decode(value["__ndarray__"], validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise _fail(where, "the data is not base64") from None
    if len(buf) != nbytes:
        raise _fail(where, f"{len(buf):,} bytes of data for shape {shape} of {dtype}; expected {nbytes:,}")
    return np.frombuffer(buf, dtype=dtype).reshape(shape).copy()


class _Shapes:
    """Named dimensions: the first array to use a name binds it; later ones must agree."""

    def __init__(self, **known: int) -> None:
        self.sizes = dict(known)

    def check(self, where: str, arr: np.ndarray, kinds: str, dims: tuple[str, ...]) -> None:
        if arr.dtype.kind not in kinds:
            raise _fail(where, f"dtype {arr.dtype} where {'/'.join(_KIND_NAMES[k] for k in kinds)} belongs")
        if arr.ndim != len(dims):
            raise _fail(where, f"{arr.ndim} dimensions; expected {len(dims)} ({', '.join(dims)})")
        for size, name in zip(arr.shape, dims, strict=True):
            bound = self.sizes.setdefault(name, size)
            if size != bound:
                raise _fail(where, f"shape {list(arr.shape)} disagrees: {name} is {bound} elsewhere ({_DIMS[name]})")


_KIND_NAMES = {"b": "bool", "i": "int", "u": "unsigned int", "f": "float"}
_DIMS = {
    "F": "frames",
    "T": "stages",
    "C": "codebooks in the config",
    "K": "keys per codebook in the config",
    "G2": "grid cells of the config's grid size",
    "G": "points of the regression curves",
    "A0": "empty in a regression run",
    "S": "training steps",
    "Ntr": "training samples",
    "Nte": "test samples",
    "D": "input dimensions",
    "V": "value dimensions",
    "E": "stage ends (online: the end of pre-training, if any)",
    "U": "key-usage buckets (stages; online: one)",
    "W": "online.n_way",
    "Tasks": "tasks of the online stream",
}


def check_document(data: dict[str, Any]) -> dict[str, Any]:
    """Check a run document against the schema; returns its members decoded (arrays as numpy)."""
    from dkvb_core.result import FORMAT_VERSION, GridSpec, ModelRecord, RunResult

    if data.get("format_version") != FORMAT_VERSION:
        raise _fail("format_version", f"{str(data.get('format_version'))[:20]} is not {FORMAT_VERSION}")
    allowed = {"format_version", *RunResult.__dataclass_fields__}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _fail(unknown[0][:40], f"unknown member; members: {', '.join(sorted(allowed))}")
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise _fail(missing[0], "missing")
    config = _config(data["config"])
    out: dict[str, Any] = {"config": config}
    regression = config.task == "regression"
    out["stage_classes"] = _stage_classes(data["stage_classes"], shared=regression)
    T = len(out["stage_classes"])
    out["class_names"] = _class_names(data["class_names"])
    n_classes = max(c for s in out["stage_classes"] for c in s) + 1
    if len(out["class_names"]) < n_classes:
        raise _fail("class_names", f"{len(out['class_names'])} names for {n_classes} classes")
    grid = data.get("grid")
    G2 = config.record.grid_size**2
    on = config.online
    E, U = (1 if on.pretrain_steps else 0, 1) if on.enabled else (T, T)
    shapes = _Shapes(T=T, E=E, U=U, C=config.dkvb.num_codebooks, K=config.dkvb.keys_per_codebook, G2=G2)
    for name, (kinds, dims) in (REGRESSION_ARRAYS if regression else ARRAYS).items():
        out[name] = None if data.get(name) is None else decode_array(name, data[name])
        if out[name] is not None:
            shapes.check(name, out[name], kinds, dims)
    out["batch_size"] = _int_in("batch_size", data.get("batch_size", config.train.batch_size), 1, 1024)
    if out["batch_size"] != config.train.batch_size:
        raise _fail("batch_size", f"{out['batch_size']} disagrees with train.batch_size = {config.train.batch_size}")
    out["grid"] = None if grid is None else GridSpec(**_grid(grid, config.record.grid_size))
    out["models"] = _models(data["models"], config, shapes, out["batch_size"], ModelRecord)
    out["online"] = _online(data.get("online"), config, shapes, out["stage_classes"])
    for name in ("curve_x", "curve_true"):
        if not regression and data.get(name) is not None:
            raise _fail(name, "only a regression run has prediction curves")
    _indices(out, shapes)
    extra = data.get("extra", {})
    if not isinstance(extra, dict):
        raise _fail("extra", "must be an object")
    out["extra"] = {
        k: decode_array(f"extra.{k}", v) if isinstance(v, dict) and "__ndarray__" in v else v for k, v in extra.items()
    }
    return out


def _config(raw: Any) -> Config:
    if not isinstance(raw, dict):
        raise _fail("config", "must be an object of config sections")
    try:
        return Config.from_dict(raw)
    except ConfigError as exc:
        field, msg = exc.problems[0]
        raise _fail(f"config.{field}", msg) from None


def _stage_classes(raw: Any, shared: bool = False, where: str = "stage_classes") -> tuple[tuple[int, ...], ...]:
    ok = isinstance(raw, list) and 0 < len(raw) <= 32 and all(isinstance(s, list) and s for s in raw)
    flat = [c for s in raw for c in s] if ok else []
    if not ok or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c < 32 for c in flat):
        raise _fail(where, "must be 1 to 32 non-empty lists of class ids in [0, 31]")
    if len(set(flat)) != len(flat) and not shared:  # regression stages all hold the one output ``y``
        raise _fail(where, "a class appears in two stages")
    return tuple(tuple(s) for s in raw)


def _class_names(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or len(raw) > 32 or not all(isinstance(n, str) and len(n) <= 100 for n in raw):
        raise _fail("class_names", "must be a list of at most 32 names of at most 100 characters")
    return tuple(raw)


def _int_in(where: str, value: Any, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise _fail(where, f"must be an integer in [{lo}, {hi}]; got {str(value)[:40]}")
    return value


def _grid(raw: Any, size: int) -> dict[str, Any]:
    keys = {"x_min", "x_max", "y_min", "y_max", "size"}
    if not isinstance(raw, dict) or set(raw) != keys:
        raise _fail("grid", f"must be an object with {', '.join(sorted(keys))}")
    for k in ("x_min", "x_max", "y_min", "y_max"):
        v = raw[k]
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
            raise _fail(f"grid.{k}", f"must be a finite number; got {str(v)[:40]}")
    if raw["x_min"] >= raw["x_max"] or raw["y_min"] >= raw["y_max"]:
        raise _fail("grid", "x_min < x_max and y_min < y_max are needed")
    if _int_in("grid.size", raw["size"], 1, 400) != size:
        raise _fail("grid.size", f"{raw['size']} disagrees with record.grid_size = {size}")
    return raw


def _models(raw: Any, config: Config, shapes: _Shapes, batch: int, record_cls: type) -> dict[str, Any]:
    if not isinstance(raw, dict) or not raw:
        raise _fail("models", "must be a non-empty object of model records")
    fields_ = set(record_cls.__dataclass_fields__)
    out = {}
    for name, rec in raw.items():
        where = f"models.{str(name)[:20]}"
        if name not in config.train.models:
            raise _fail(where, f"not among train.models ({', '.join(config.train.models)})")
        if not isinstance(rec, dict):
            raise _fail(where, "must be an object")
        unknown = sorted(set(rec) - fields_)
        missing = [k for k in MODEL_REQUIRED if k not in rec]
        if unknown or missing:
            raise _fail(f"{where}.{(unknown or missing)[0][:30]}", "unknown member" if unknown else "missing")
        if rec["name"] != name:
            raise _fail(f"{where}.name", f"{str(rec['name'])[:20]!r} is not the record's key")
        seconds = rec.get("seconds", 0.0)
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 <= seconds < 1e9:
            raise _fail(f"{where}.seconds", "must be a number of seconds >= 0")
        kwargs: dict[str, Any] = {"name": name, "seconds": float(seconds)}
        for field in sorted(fields_ - {"name", "seconds"}):
            value = rec.get(field)
            if value is None:
                continue
            arr = decode_array(f"{where}.{field}", value)
            schema = {
                **(REGRESSION_MODEL_ARRAYS if config.task == "regression" else MODEL_ARRAYS),
                **SOFT_READOUT_ARRAYS,
            }
            if field in schema:
                shapes.check(f"{where}.{field}", arr, *schema[field])
            kwargs[field] = arr
        _model_values(where, kwargs, batch, undefined_ok=config.online.enabled and config.online.labels == "task_local")
        out[name] = record_cls(**kwargs)
    return out


def _model_values(where: str, rec: dict[str, Any], batch: int, undefined_ok: bool = False) -> None:
    """Values in range; ``undefined_ok``: held-out accuracy is NaN (task-local labels have none)."""
    acc = rec["stage_accuracy"]
    if undefined_ok and np.isnan(acc).all():
        acc = np.zeros(0)
    if not (np.isfinite(acc).all() and (acc >= 0).all() and (acc <= 1).all()):
        raise _fail(f"{where}.stage_accuracy", "accuracies must be finite fractions in [0, 1]")
    correct = rec["step_correct"]
    if len(correct) and (correct.min() < 0 or correct.max() > batch):
        raise _fail(f"{where}.step_correct", f"counts must lie in [0, batch_size = {batch}]")
    for field in ("key_usage_frames", "key_usage_stages"):
        if field in rec and rec[field].size and rec[field].min() < 0:
            raise _fail(f"{where}.{field}", "fetch counts must be >= 0")
    if "stage_mse" in rec and (rec["stage_mse"] < 0).any():  # NaN stays: a diverged model's honest record
        raise _fail(f"{where}.stage_mse", "squared errors must be >= 0")
    for field in ("effective_keys", "readout_leak"):
        if field in rec and (rec[field] < 0).any():
            raise _fail(f"{where}.{field}", "must be >= 0")


def _indices(out: dict[str, Any], shapes: _Shapes) -> None:
    """Index arrays point inside what they index (frames, stages, keys)."""
    sizes = shapes.sizes
    checks = [
        ("stage_end_frames", out["stage_end_frames"], sizes.get("F")),
        ("frame_stage", out["frame_stage"], sizes.get("T")),
        ("grid_key_index", out["grid_key_index"], sizes.get("K")),
    ]
    for name, rec in out["models"].items():
        for field in ("train_key_index", "test_key_index"):
            checks.append((f"models.{name}.{field}", getattr(rec, field, None), sizes.get("K")))
        checks.append((f"models.{name}.step_order", getattr(rec, "step_order", None), sizes.get("S")))
    for where, arr, bound in checks:
        if arr is not None and bound is not None and arr.size and (arr.min() < 0 or arr.max() >= bound):
            raise _fail(where, f"indices must lie in [0, {bound - 1}]")
    steps = out["frame_steps"]
    if len(steps) and (steps.min() < 0 or (np.diff(steps.astype(np.int64)) < 0).any()):
        raise _fail("frame_steps", "must be non-negative and non-decreasing")


def _online(raw: Any, config: Config, shapes: _Shapes, stage_classes: tuple[tuple[int, ...], ...]) -> Any:
    """The online stream's tags (an :class:`~dkvb_core.result.OnlineLog`), present exactly for online runs."""
    from dkvb_core.result import OnlineLog

    on = config.online
    if raw is None:
        if on.enabled:
            raise _fail("online", "missing: the config is an online run (online.enabled)")
        return None
    if not on.enabled:
        raise _fail("online", "present, but online.enabled is off in the config")
    keys = set(OnlineLog.__dataclass_fields__)
    if not isinstance(raw, dict) or set(raw) != keys:
        raise _fail("online", f"must be an object with {', '.join(sorted(keys))}")
    if _int_in("online.pretrain_steps", raw["pretrain_steps"], 0, 20_000) != on.pretrain_steps:
        raise _fail("online.pretrain_steps", f"disagrees with the config's {on.pretrain_steps}")
    if raw["labels"] != on.labels:
        raise _fail("online.labels", f"disagrees with the config's {on.labels!r}")
    if _stage_classes(raw["mode_classes"], where="online.mode_classes") != stage_classes:
        raise _fail("online.mode_classes", "disagrees with stage_classes (the modes are the stages)")
    arrays = {}
    for name, (kinds, dims) in ONLINE_ARRAYS.items():
        arrays[name] = decode_array(f"online.{name}", raw[name])
        shapes.check(f"online.{name}", arrays[name], kinds, dims)
    _online_values(arrays, len(stage_classes), on.n_way)
    return OnlineLog(on.pretrain_steps, mode_classes=stage_classes, labels=on.labels, **arrays)


def _online_values(arrays: dict[str, np.ndarray], modes: int, n_way: int) -> None:
    tasks = len(arrays["task_classes"])
    bounds = {
        "mode": (0, modes - 1),
        "task": (-1, tasks - 1),
        "segment": (-1, len(arrays["segment"])),
        "task_classes": (0, 31),
    }
    for name, (lo, hi) in bounds.items():
        arr = arrays[name]
        if arr.size and (arr.min() < lo or arr.max() > hi):
            raise _fail(f"online.{name}", f"values must lie in [{lo}, {hi}]")
    if arrays["task_classes"].size and arrays["task_classes"].shape[1] != n_way:
        raise _fail("online.task_classes", f"{arrays['task_classes'].shape[1]} classes a task; online.n_way is {n_way}")
