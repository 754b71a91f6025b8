"""The results of a sweep on disk, and as pandas tables.

``runs.jsonl`` in the out dir is the log: one JSON line per finished config-seed run, appended
and flushed as soon as the run's task returns, keyed by the run id. A sweep started again
reads it and skips those runs. A line cut short by a kill is ignored (and that run redone).
``runs.csv`` (one row per run) and ``summary.csv`` (one row per config: each metric's mean and
standard deviation over seeds) are written from it when a sweep ends or is interrupted.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from dkvb_core import safe_json
from dkvb_core.errors import ConfigError, DataError

RUNS_LOG = "runs.jsonl"
RUNS_CSV = "runs.csv"
SUMMARY_CSV = "summary.csv"
SPEC_JSON = "spec.json"
META_COLUMNS = ("config_id", "seeds", "config")


class RunLog:
    """Append-only JSON-lines log of finished runs in ``out_dir``.

    Every line carries a checksum of its content; on reading, a line that is torn, not UTF-8, not
    JSON, off the row schema, or whose checksum or ids do not match is skipped (that run is redone)
    and described in :attr:`problems`."""

    def __init__(self, out_dir: str | Path):
        self.dir = Path(out_dir)
        self.path = self.dir / RUNS_LOG
        self.problems: list[str] = []

    def read(self) -> list[dict[str, Any]]:
        """Every valid row, first occurrence of each run id; the others are listed in ``problems``."""
        self.problems = []
        if not self.path.is_file():
            return []
        rows, seen = [], set()
        with self.path.open("rb") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                row, problem = parse_row(line)
                if problem is not None:
                    if len(self.problems) < MAX_PROBLEMS_LISTED:
                        self.problems.append(f"{RUNS_LOG} line {number}: {problem}; skipped (that run is redone)")
                    continue
                if row["run_id"] not in seen:
                    seen.add(row["run_id"])
                    rows.append(row)
        return rows

    def done_ids(self) -> set[str]:
        return {row["run_id"] for row in self.read()}

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append rows (each with its checksum) and push them to disk now: a kill a moment later loses
        nothing finished."""
        text = "".join(json.dumps(with_checksum(row), sort_keys=True) + "\n" for row in rows)
        if not text:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+b") as fh:
            if fh.tell() > 0:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":  # a torn last line from a kill: start on a fresh line
                    text = "\n" + text
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())


MAX_LINE_BYTES = 200_000
MAX_PROBLEMS_LISTED = 20
CHECK = "check"
# Allowed range of each logged metric (the metric is the part after "model/").
METRIC_RANGES = {
    "average_accuracy": (0.0, 1.0),
    "online_accuracy": (0.0, 1.0),
    "online_accuracy_pretrain_mode": (0.0, 1.0),
    "online_accuracy_ood": (0.0, 1.0),
    "recovery_gap": (-1.0, 1.0),
    "forgetting": (-1.0, 1.0),
    "bwt": (-1.0, 1.0),
    "seconds": (0.0, 1e9),
}


def checksum(row: dict[str, Any]) -> str:
    """A digest of a row's content (its ``check`` field aside): a line changed by hand no longer matches."""
    body = {k: v for k, v in row.items() if k != CHECK}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def with_checksum(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, CHECK: checksum(row)}


def parse_row(line: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """A log line -> (row, None), or (None, what is wrong with it)."""
    if len(line) > MAX_LINE_BYTES:
        return None, f"{len(line):,} bytes, more than {MAX_LINE_BYTES:,}"
    try:
        row = safe_json.loads(line, "line", max_chars=MAX_LINE_BYTES)
    except ConfigError as exc:
        return None, exc.problems[0][1]
    if not isinstance(row, dict):
        return None, "not a JSON object"
    problem = row_problem(row)
    return (None, problem) if problem else (row, None)


def row_problem(row: dict[str, Any]) -> str | None:
    """What is wrong with a parsed row (schema, ids, ranges, checksum), or None."""
    from dkvb_core.sweep.ids import ID_CHARS, _digest, run_id_from_json

    for key, kind in (
        ("run_id", str),
        ("config_id", str),
        ("seed", int),
        ("params", dict),
        ("metrics", dict),
        ("config", dict),
    ):
        value = row.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"{key} missing or not {'an object' if kind is dict else kind.__name__}"
    if not 0 <= row["seed"] <= 2**31 - 1:
        return "seed out of range"
    for name, value in row["metrics"].items():
        problem = _metric_problem(str(name), value)
        if problem:
            return problem
    wall = row.get("wall_seconds")
    if wall is not None and (not isinstance(wall, int | float) or isinstance(wall, bool) or not 0 <= wall < 1e9):
        return "wall_seconds is not a number of seconds"
    if row.get(CHECK) != checksum(row):
        return "checksum missing or does not match the line (edited or damaged)"
    canonical = json.dumps(row["config"], sort_keys=True)
    if row["config_id"] != _digest(canonical)[:ID_CHARS] or row["run_id"] != run_id_from_json(canonical, row["seed"]):
        return "run_id or config_id does not match the config and seed"
    return None


def _metric_problem(name: str, value: Any) -> str | None:
    if "/" not in name:
        return f"metric {name[:40]!r} is not model/metric"
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return f"metric {name[:40]} = {str(value)[:20]!r} is not a finite number"
    lo, hi = METRIC_RANGES.get(name.split("/", 1)[1], (-math.inf, math.inf))
    if not lo <= value <= hi:
        return f"metric {name[:40]} = {value} outside [{lo}, {hi}]"
    return None


def runs_frame(rows: list[dict[str, Any]], axes: list[str] | None = None) -> pd.DataFrame:
    """One row per run: run_id, config_id, seed, the swept fields, ``model/metric`` columns."""
    records = []
    for row in rows:
        rec: dict[str, Any] = {"run_id": row["run_id"], "config_id": row["config_id"], "seed": row["seed"]}
        for key, value in row.get("params", {}).items():
            rec[key] = _cell(value)
        rec.update(row.get("metrics", {}))
        rec["wall_seconds"] = row.get("wall_seconds")
        rec["config"] = json.dumps(row.get("config", {}), sort_keys=True)
        records.append(rec)
    frame = pd.DataFrame.from_records(records)
    if axes is not None and len(frame):
        missing = [a for a in axes if a not in frame.columns]
        if missing:
            raise DataError(f"sweep table: the runs lack the axes {missing}")
    return frame


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """The ``model/metric`` columns of a runs frame."""
    return [c for c in frame.columns if "/" in str(c)]


def summary_frame(runs: pd.DataFrame, axes: list[str]) -> pd.DataFrame:
    """One row per config: its axes, ``seeds`` (count), and ``<metric>_mean`` / ``<metric>_std``.

    The standard deviation is the sample one (ddof 1) over seeds: NaN for a single seed.
    """
    if runs.empty:
        return pd.DataFrame(columns=["config_id", *axes, "seeds"])
    metrics = metric_columns(runs)
    grouped = runs.groupby("config_id", sort=False)
    out = grouped[axes].first() if axes else pd.DataFrame(index=grouped.size().index)
    out["seeds"] = grouped.size()
    for m in metrics:
        out[f"{m}_mean"] = grouped[m].mean()
        out[f"{m}_std"] = grouped[m].std(ddof=1)
    out["config"] = grouped["config"].first()
    return out.reset_index()


def write_tables(out_dir: str | Path, rows: list[dict[str, Any]], axes: list[str]) -> tuple[Path, Path]:
    """Write ``runs.csv`` and ``summary.csv`` for ``rows``; returns both paths."""
    d = Path(out_dir)
    runs = runs_frame(rows, axes)
    summary = summary_frame(runs, axes)
    runs.to_csv(d / RUNS_CSV, index=False)
    summary.to_csv(d / SUMMARY_CSV, index=False)
    return d / RUNS_CSV, d / SUMMARY_CSV


def _cell(value: Any) -> Any:
    """Lists (e.g. train.models) become their JSON text so they fit one table cell."""
    return json.dumps(value) if isinstance(value, list | dict) else value
