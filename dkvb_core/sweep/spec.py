"""A validated what-if sweep: a base config, the fields to vary (grid or random), and the seeds.

Every fault is a :class:`ConfigError` naming the spec entry (``axes.dkvb.keys_per_codebook``,
``seeds``, ``runs``) and what it accepts, so the CLI and the page show it as is. Every point of
the sweep is validated as a full :class:`Config` up front: a bad combination is reported before
any run starts, not halfway through a long sweep.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from pathlib import Path
from typing import Any, Literal

from dkvb_core import safe_json
from dkvb_core.config import Config, describe_fields, set_dotted
from dkvb_core.errors import ConfigError
from dkvb_core.presets import PRESETS, preset_dict

MAX_RUNS = 20_000  # any sweep (CLI); the page passes its own, smaller limit
MAX_SEEDS = 32
MAX_SPEC_BYTES = 1_000_000
SPEC_KEYS = ("name", "preset", "base", "mode", "axes", "samples", "sample_seed", "seeds")

# Random-sampling description of one axis: {"low": a, "high": b, "log": bool, "integer": bool}
# or {"choices": [...]}; a plain list means "pick one of these".
AxisSpec = list[Any] | dict[str, Any]


def _settable_fields() -> dict[str, str]:
    """Dotted field name -> allowed range, for every field a sweep may vary (not the run seed)."""
    return {name: allowed for name, _default, allowed, _desc in describe_fields() if name != "seed"}


class SweepSpec:
    """A parsed, validated sweep. Build with :func:`parse_spec` or :func:`load_spec`."""

    def __init__(
        self,
        name: str,
        base: Config,
        mode: Literal["grid", "random"],
        points: list[dict[str, Any]],
        seeds: list[int],
        source: dict[str, Any],
    ):
        self.name = name
        self.base = base
        self.mode = mode
        self.points = points  # one dict of {dotted field: value} per config of the sweep
        self.seeds = seeds
        self.source = source  # the spec as given (JSON-ready), saved next to the results
        self.axes = list(points[0]) if points else []
        self._configs: list[Config] | None = None

    @property
    def num_runs(self) -> int:
        return len(self.points) * len(self.seeds)

    def configs(self) -> list[Config]:
        """The config of each point (validated when the spec was parsed), in point order."""
        if self._configs is None:
            self._configs = [self.base.replace(**p) for p in self.points]
        return self._configs

    def to_dict(self) -> dict[str, Any]:
        return dict(self.source)


def load_spec(path: str | Path, max_runs: int = MAX_RUNS) -> SweepSpec:
    """Read a JSON sweep spec file (see :func:`parse_spec` for the format)."""
    raw = safe_json.read_file(path, "--spec", MAX_SPEC_BYTES)
    data = safe_json.loads(raw, "--spec", max_chars=MAX_SPEC_BYTES)
    return parse_spec(data, max_runs=max_runs)


def parse_spec(data: Any, max_runs: int = MAX_RUNS) -> SweepSpec:
    """Validate a sweep spec dict.

    Format (every key but ``axes`` optional)::

        {"name": "keys-vs-codebooks", "preset": "toy", "base": {"train": {"steps_per_stage": 200}},
         "mode": "grid", "axes": {"dkvb.num_codebooks": [1, 4], "dkvb.keys_per_codebook": [4, 64]},
         "seeds": 3}

    ``seeds`` is a count (seeds 0..n-1) or a list of seeds. ``mode: "random"`` draws ``samples``
    points (with ``sample_seed``); each axis is then a list to choose from, ``{"choices": [...]}``
    or a range ``{"low": a, "high": b, "log": true, "integer": false}``.
    """
    if not isinstance(data, dict):
        raise ConfigError([("spec", "must be a JSON object with at least 'axes'")])
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise ConfigError([(k, f"unknown spec key; known keys: {', '.join(SPEC_KEYS)}") for k in unknown])
    name = data.get("name", "sweep")
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        raise ConfigError([("name", f"must be a string of 1 to 100 characters; got {name!r}")])
    base = _base_config(data)
    mode = data.get("mode", "grid")
    if mode not in ("grid", "random"):
        raise ConfigError([("mode", f"must be one of 'grid', 'random'; got {mode!r}")])
    axes = _check_axes(data.get("axes"), mode)
    seeds = _check_seeds(data.get("seeds", 1))
    if mode == "grid":
        count = math.prod(len(v) for v in axes.values())
        _check_count(count, len(seeds), max_runs)
        points = [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]
    else:
        samples = data.get("samples", 10)
        if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
            raise ConfigError([("samples", f"must be a positive integer (points drawn); got {samples!r}")])
        _check_count(samples, len(seeds), max_runs)
        sample_seed = data.get("sample_seed", 0)
        if not isinstance(sample_seed, int) or isinstance(sample_seed, bool):
            raise ConfigError([("sample_seed", f"must be an integer; got {sample_seed!r}")])
        points = _draw(axes, samples, sample_seed)
    spec = SweepSpec(name, base, mode, points, seeds, _jsonable(data))
    _check_points(spec, drop_repeats=mode == "random")
    return spec


def _base_config(data: dict[str, Any]) -> Config:
    preset_name = data.get("preset", "toy")
    if not isinstance(preset_name, str) or preset_name not in PRESETS:
        raise ConfigError([("preset", f"unknown preset {str(preset_name)[:40]!r}; one of {', '.join(PRESETS)}")])
    merged = preset_dict(preset_name)
    base = data.get("base", {})
    if not isinstance(base, dict):
        raise ConfigError([("base", 'must be an object of config sections, e.g. {"train": {"steps_per_stage": 200}}')])
    for section, value in base.items():
        if isinstance(value, dict):
            for field, v in value.items():
                set_dotted(merged, f"{section}.{field}", v)
        else:
            set_dotted(merged, section, value)
    try:
        return Config.from_dict(merged)
    except ConfigError as exc:
        raise ConfigError([(f"base.{f}", m) for f, m in exc.problems]) from None


def _check_axes(axes: Any, mode: str) -> dict[str, list[Any] | dict[str, Any]]:
    if not isinstance(axes, dict) or not axes:
        raise ConfigError([("axes", 'must be a non-empty object of field: values, e.g. {"dkvb.lr": [0.01, 0.1]}')])
    known = _settable_fields()
    out: dict[str, list[Any] | dict[str, Any]] = {}
    for field, values in axes.items():
        where = f"axes.{field}"
        if field == "seed":
            raise ConfigError([(where, "the run seed is not an axis; list seeds under 'seeds'")])
        if field not in known:
            raise ConfigError([(where, _unknown_field_message(field, known))])
        if mode == "grid" or isinstance(values, list):
            if not isinstance(values, list):
                raise ConfigError([(where, f"must be a list of values ({known[field]}); got {_clip(values)}")])
            if not values:
                raise ConfigError([(where, f"empty list of values; give at least one ({known[field]})")])
            if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
                raise ConfigError([(where, f"values repeat; give each value once: {_clip(values)}")])
            out[field] = values
        else:
            out[field] = _check_range(where, values, known[field])
    return out


def _unknown_field_message(field: str, known: dict[str, str]) -> str:
    section = field.split(".", 1)[0]
    same = [k for k in known if k.startswith(section + ".")]
    if same:
        return f"unknown field; fields of {section}: {', '.join(k.split('.', 1)[1] for k in same)}"
    sections = sorted({k.split(".", 1)[0] for k in known if "." in k})
    return f"unknown field; give section.field with a section among {', '.join(sections)}"


def _check_range(where: str, values: Any, allowed: str) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise ConfigError([(where, 'must be a list, {"choices": [...]} or {"low": a, "high": b}')])
    if "choices" in values:
        choices = values["choices"]
        if set(values) != {"choices"} or not isinstance(choices, list) or not choices:
            raise ConfigError([(where, f"choices: must be a non-empty list ({allowed})")])
        return {"choices": choices}
    extra = set(values) - {"low", "high", "log", "integer"}
    if extra:
        raise ConfigError([(where, f"unknown keys {sorted(extra)}; use low, high, log, integer")])
    low, high = values.get("low"), values.get("high")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)):
        raise ConfigError([(where, f"low and high must be numbers ({allowed}); got {low!r}, {high!r}")])
    if low > high:
        raise ConfigError([(where, f"low must be at most high; got low={low}, high={high}")])
    log, integer = bool(values.get("log", False)), bool(values.get("integer", False))
    if log and low <= 0:
        raise ConfigError([(where, f"log sampling needs low > 0; got {low}")])
    return {"low": low, "high": high, "log": log, "integer": integer}


def _check_seeds(seeds: Any) -> list[int]:
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if not 1 <= seeds <= MAX_SEEDS:
            raise ConfigError([("seeds", f"must be a count in [1, {MAX_SEEDS}] or a list of seeds; got {seeds}")])
        return list(range(seeds))
    ok = isinstance(seeds, list) and all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
    if not ok or not seeds:
        raise ConfigError([("seeds", f"must be a count in [1, {MAX_SEEDS}] or a non-empty list of integers")])
    if len(seeds) > MAX_SEEDS or len(set(seeds)) != len(seeds) or not all(0 <= s <= 2**31 - 1 for s in seeds):
        raise ConfigError([("seeds", f"must be at most {MAX_SEEDS} distinct integers in [0, 2147483647]")])
    return list(seeds)


def _check_count(configs: int, seeds: int, max_runs: int) -> None:
    runs = configs * seeds
    if runs > max_runs:
        hint = " (run bigger sweeps with `python -m dkvb_core sweep`)" if max_runs < MAX_RUNS else ""
        raise ConfigError(
            [("runs", f"{configs} configs x {seeds} seeds = {runs} runs, more than the limit of {max_runs}{hint}")]
        )


def _draw(axes: dict[str, Any], samples: int, sample_seed: int) -> list[dict[str, Any]]:
    """``samples`` random points (repeats dropped); the same spec and ``sample_seed`` give the same points."""
    rng = random.Random(sample_seed)
    points, seen = [], set()
    for _ in range(samples):
        point = {}
        for field, ax in axes.items():
            if isinstance(ax, list):
                point[field] = rng.choice(ax)
            elif "choices" in ax:
                point[field] = rng.choice(ax["choices"])
            else:
                lo, hi = ax["low"], ax["high"]
                x = math.exp(rng.uniform(math.log(lo), math.log(hi))) if ax["log"] else rng.uniform(lo, hi)
                point[field] = round(x) if ax["integer"] else float(f"{x:.6g}")
        key = json.dumps(point, sort_keys=True)
        if key not in seen:
            seen.add(key)
            points.append(point)
    return points


def _check_points(spec: SweepSpec, drop_repeats: bool = False) -> None:
    """Build every point's Config once; a bad value or combination names the axis and the point.

    Two points giving the same config (``1`` and ``1.0``) would share their run ids and one row of
    the table: a grid names them, random sampling drops the repeat."""
    configs, points, seen = [], [], {}
    for point in spec.points:
        try:
            config = spec.base.replace(**point)
        except ConfigError as exc:
            field, msg = exc.problems[0]
            where = f"axes.{field}" if field in point else field
            raise ConfigError([(where, f"{msg} (at {_shown(point)})")]) from None
        canonical = config.to_json()
        if canonical in seen:
            if drop_repeats:
                continue
            raise ConfigError(
                [("axes", f"{_shown(seen[canonical])} and {_shown(point)} give the same config; give each value once")]
            )
        seen[canonical] = point
        configs.append(config)
        points.append(point)
    spec.points = points
    spec._configs = configs


def _clip(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shown(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in point.items())[:200]


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data))


def parse_value_list(text: str) -> list[Any]:
    """``"4, 16, 0.1, adam, [1, 2]"`` -> ``[4, 16, 0.1, "adam", [1, 2]]``: each item is JSON if it
    parses, else a bare string; commas inside brackets do not split (for list-valued fields)."""
    items, depth, current = [], 0, []
    for ch in text:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    out = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            out.append(json.loads(item))
        except json.JSONDecodeError:
            out.append(item)
    return out
