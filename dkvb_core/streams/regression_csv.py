"""A 1-D regression stream read from a CSV: columns ``x, y`` and optionally ``Stage``, every fault named.

Without a Stage column the rows are sorted by x and cut into ``num_stages`` contiguous ranges of equal
size (a sweep from left to right, like ``sine-sweep``). With one, its whole numbers are the stages in
sorted order. Each stage's rows are split into training and held-out rows (``test_fraction``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dkvb_core.errors import DataError
from dkvb_core.streams.base import Stream, split_held_out
from dkvb_core.streams.csv_stream import MAX_ROWS, _drop_index_column, read_csv_table
from dkvb_core.streams.regression import regression_stream

COLUMNS = ("x", "y")
STAGE = "Stage"
MAX_STAGES = 20
CURVE_POINTS = 200


def validate_regression_table(df: pd.DataFrame) -> pd.DataFrame:
    """Check columns, numbers, NaN and the row limit; return the clean table."""
    df = _drop_index_column(df)
    df.columns = [str(c).strip() for c in df.columns]
    cols = list(df.columns)
    missing = [c for c in COLUMNS if c not in cols]
    if missing:
        raise DataError(
            f"columns: missing {', '.join(missing)}; the file needs x, y and may have Stage "
            f"(found: {', '.join(cols) or 'none'})"
        )
    extra = [c for c in cols if c not in (*COLUMNS, STAGE)]
    if extra:
        raise DataError(f"columns: unexpected {', '.join(extra)}; allowed are x, y, Stage")
    if len(df) > MAX_ROWS:
        raise DataError(f"rows: more than the limit of {MAX_ROWS:,} rows")
    for col in [c for c in (*COLUMNS, STAGE) if c in cols]:
        numeric = pd.to_numeric(df[col], errors="coerce")
        bad = numeric.isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"{col}: empty or non-numeric value {df[col].iloc[row]!r} in data row {row + 1}")
        if not np.isfinite(numeric.to_numpy(dtype=float)).all():
            raise DataError(f"{col}: infinite value; every value must be a finite number")
        df[col] = numeric
    if STAGE in cols:
        values = df[STAGE].to_numpy(dtype=float)
        if not np.all(values == np.round(values)) or values.min() < 0:
            raise DataError("Stage: must hold whole numbers >= 0")
        if df[STAGE].nunique() > MAX_STAGES:
            raise DataError(f"Stage: {df[STAGE].nunique()} stages; at most {MAX_STAGES} are allowed")
    return df


def regression_stream_from_table(df: pd.DataFrame, num_stages: int, test_fraction: float, seed: int) -> Stream:
    """Stages from the Stage column, or ``num_stages`` contiguous x-ranges; a held-out split per stage."""
    x = df["x"].to_numpy(dtype=np.float64)
    y = df["y"].to_numpy(dtype=np.float64)
    if STAGE in df.columns:
        _, stage = np.unique(df[STAGE].to_numpy(dtype=np.int64), return_inverse=True)
    else:
        order = np.argsort(x, kind="stable")
        stage = np.empty(len(x), dtype=np.int64)
        stage[order] = np.arange(len(x)) * num_stages // len(x)
    counts = np.bincount(stage)
    if len(counts) == 0 or counts.min() < 2:
        need = 2 * num_stages if STAGE not in df.columns else 2
        raise DataError(
            f"rows: every stage needs at least 2 rows (one to train, one to test); "
            f"{len(x)} rows give {counts.min() if len(counts) else 0} in a stage (at least {need} rows needed)"
        )
    rng = np.random.default_rng([seed, 0xC5E])
    train, test = split_held_out(stage, test_fraction, rng)
    curve_x = np.linspace(x.min(), x.max(), CURVE_POINTS) if x.max() > x.min() else np.full(CURVE_POINTS, x.min())
    return regression_stream(
        "regression-csv",
        (x[train], y[train], stage[train]),
        (x[test], y[test], stage[test]),
        int(stage.max()) + 1,
        curve_x,
        None,
    )


def load_regression_csv(
    source: str | Path | bytes, num_stages: int = 5, test_fraction: float = 0.2, seed: int = 0
) -> Stream:
    """Read, validate and split a regression CSV. Raises :class:`DataError` naming the fault."""
    df = validate_regression_table(read_csv_table(source))
    return regression_stream_from_table(df, num_stages, test_fraction, seed)
