"""The results of a sweep on disk, and as pandas tables.

``runs.jsonl`` in the out dir is the log: one JSON line per finished config-seed run, appended
and flushed as soon as the run's task returns, keyed by the run id. A sweep started again
reads it and skips those runs. A line cut short by a kill is ignored (and that run redone).
``runs.csv`` (one row per run) and ``summary.csv`` (one row per config: each metric's mean and
standard deviation over seeds) are written from it when a sweep ends or is interrupted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from dkvb_core.errors import DataError

RUNS_LOG = "runs.jsonl"
RUNS_CSV = "runs.csv"
SUMMARY_CSV = "summary.csv"
SPEC_JSON = "spec.json"
META_COLUMNS = ("config_id", "seeds", "config")


class RunLog:
    """Append-only JSON-lines log of finished runs in ``out_dir``."""

    def __init__(self, out_dir: str | Path):
        self.dir = Path(out_dir)
        self.path = self.dir / RUNS_LOG

    def read(self) -> list[dict[str, Any]]:
        """Every complete row, first occurrence of each run id; torn or foreign lines are skipped."""
        if not self.path.is_file():
            return []
        rows, seen = [], set()
        with self.path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(row, dict) and isinstance(row.get("run_id"), str) and row["run_id"] not in seen:
                    seen.add(row["run_id"])
                    rows.append(row)
        return rows

    def done_ids(self) -> set[str]:
        return {row["run_id"] for row in self.read()}

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append rows and push them to disk now: a kill a moment later loses nothing finished."""
        text = "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows)
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
