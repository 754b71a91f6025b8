"""A 2-D stream read from a CSV in the seed notebook's format, with every fault named.

Columns: ``Feature_1, Feature_2, Labels``, optionally ``Stage``, optionally a leading pandas
index column (unnamed, or named ``Unnamed: 0``). Labels are integers; they are mapped to class
ids 0..n-1 in sorted order and the original labels are kept as class names.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from dkvb_core.errors import DataError
from dkvb_core.streams.base import Stream, split_held_out

FEATURES = ("Feature_1", "Feature_2")
LABELS = "Labels"
STAGE = "Stage"
MAX_BYTES = 5_000_000
MAX_ROWS = 50_000
MAX_CLASSES = 32
MAX_STAGES = 32
# Features beyond this make the baselines' float32 logits overflow and the grid meaningless; labels and
# stages are whole numbers that must fit a 32-bit integer.
MAX_ABS_FEATURE = 1e6
MAX_ABS_LABEL = 2**31 - 1


def read_csv_table(source: str | Path | bytes) -> pd.DataFrame:
    """Read the raw table from a path or from uploaded bytes, with size limits enforced.

    UTF-8 (with or without a byte-order mark) and UTF-16 with a byte-order mark (spreadsheets'
    "Unicode text" export) are read; anything else is reported as not UTF-8 text."""
    if isinstance(source, bytes):
        if len(source) > MAX_BYTES:
            raise DataError(f"file: {len(source):,} bytes is larger than the limit of {MAX_BYTES:,} bytes")
        data = source
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"stream.csv_path: no such file: {path}")
        if path.stat().st_size > MAX_BYTES:
            raise DataError(f"file: larger than the limit of {MAX_BYTES:,} bytes")
        data = path.read_bytes()
    text = _decode(data)
    try:
        return pd.read_csv(io.StringIO(text), nrows=MAX_ROWS + 1)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise DataError(f"file: not a readable CSV ({str(exc).splitlines()[0]})") from None


def _decode(data: bytes) -> str:
    encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise DataError("file: not UTF-8 text (a spreadsheet or another binary file?); save it as CSV UTF-8") from None


def _drop_index_column(df: pd.DataFrame) -> pd.DataFrame:
    first = str(df.columns[0]) if len(df.columns) else ""
    if first == "" or first.startswith("Unnamed: 0"):
        return df.drop(columns=df.columns[0])
    return df


def validate_table(df: pd.DataFrame) -> pd.DataFrame:
    """Check columns, types, NaN, row and class limits; return the clean table."""
    df = _drop_index_column(df)
    df.columns = [str(c).strip() for c in df.columns]  # "Feature_1, Feature_2, Labels" is a common way to write it
    cols = list(df.columns)
    twice = sorted({c for c in cols if cols.count(c) > 1})
    if twice:
        raise DataError(f"columns: {', '.join(twice)[:80]} appears more than once")
    required = [*FEATURES, LABELS]
    missing = [c for c in required if c not in cols]
    if missing:
        raise DataError(
            f"columns: missing {', '.join(missing)}; the file needs Feature_1, Feature_2, Labels "
            f"and may have Stage (found: {', '.join(cols) or 'none'})"
        )
    extra = [c for c in cols if c not in (*required, STAGE)]
    if extra:
        raise DataError(f"columns: unexpected {', '.join(extra)}; allowed are Feature_1, Feature_2, Labels, Stage")
    if len(df) > MAX_ROWS:
        raise DataError(f"rows: more than the limit of {MAX_ROWS:,} rows")
    if len(df) < 4:
        raise DataError(f"rows: {len(df)} rows; at least 4 are needed (2 classes, train and test)")
    for col in [c for c in (*required, STAGE) if c in cols]:
        numeric = pd.to_numeric(df[col], errors="coerce")
        bad = numeric.isna() & df[col].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{col}: non-numeric value {df[col].iloc[row]!r} in data row {row + 1}")
        if numeric.isna().any():
            row = int(np.flatnonzero(numeric.isna().to_numpy())[0])
            raise DataError(f"{col}: empty or NaN value in data row {row + 1}")
        if not np.isfinite(numeric.to_numpy(dtype=float)).all():
            raise DataError(f"{col}: infinite value; every value must be a finite number")
        df[col] = numeric
    for col in FEATURES:
        _check_within(df[col].to_numpy(dtype=float), col, MAX_ABS_FEATURE, "; rescale the data")
    for col in [c for c in (LABELS, STAGE) if c in cols]:
        values = df[col].to_numpy(dtype=float)
        if not np.all(values == np.round(values)):
            raise DataError(f"{col}: must hold whole numbers")
        _check_within(values, col, MAX_ABS_LABEL, "")
    n_classes = df[LABELS].nunique()
    if n_classes < 2:
        raise DataError("Labels: only one class; at least 2 are needed")
    if n_classes > MAX_CLASSES:
        raise DataError(f"Labels: {n_classes} classes; at most {MAX_CLASSES} are allowed")
    if STAGE in cols:
        stages = df[STAGE].astype(int)
        if stages.min() < 0 or stages.nunique() > MAX_STAGES:
            raise DataError(f"Stage: stages must be whole numbers >= 0, at most {MAX_STAGES} distinct")
    return df


def _check_within(values: np.ndarray, col: str, limit: float, hint: str) -> None:
    """Every value in [-limit, limit]; else a DataError naming the column, the row and the limit."""
    bad = np.flatnonzero(np.abs(values) > limit)
    if len(bad):
        row = int(bad[0])
        raise DataError(
            f"{col}: value {values[row]:.6g} in data row {row + 1} is outside [-{limit:,.0f}, {limit:,.0f}]{hint}"
        )


def stream_from_table(
    df: pd.DataFrame,
    classes_per_stage: int,
    stage_order: str,
    test_fraction: float,
    seed: int,
    name: str = "csv",
) -> Stream:
    """Turn a validated table into a Stream: stages from the Stage column or from the classes."""
    labels_raw = df[LABELS].astype(int).to_numpy()
    names, y = np.unique(labels_raw, return_inverse=True)
    n_classes = len(names)
    counts = np.bincount(y, minlength=n_classes)
    if counts.min() < 2:
        raise DataError(
            f"Labels: class {names[counts.argmin()]} has {counts.min()} row; every class needs >= 2 "
            "(one to train, one to test)"
        )
    x = df[list(FEATURES)].to_numpy(dtype=np.float32)
    if STAGE in df.columns:
        stage_raw = df[STAGE].astype(int).to_numpy()
        _, stage = np.unique(stage_raw, return_inverse=True)
        stage_classes = tuple(tuple(int(c) for c in np.unique(y[stage == s])) for s in range(stage.max() + 1))
    else:
        from dkvb_core.config import StreamConfig

        per = min(classes_per_stage, n_classes)
        stage_classes = StreamConfig(
            num_classes=n_classes, classes_per_stage=per, stage_order=stage_order
        ).resolved_stage_classes()
        table = np.empty(n_classes, dtype=np.int64)
        for s, classes in enumerate(stage_classes):
            table[list(classes)] = s
        stage = table[y]
    rng = np.random.default_rng([seed, 0xC5F])
    key = y * 1000 + stage  # split within each (class, stage) cell
    train, test = split_held_out(key, test_fraction, rng)
    return Stream(
        x_train=x[train],
        y_train=y[train].astype(np.int64),
        stage_train=stage[train].astype(np.int64),
        x_test=x[test],
        y_test=y[test].astype(np.int64),
        stage_test=stage[test].astype(np.int64),
        stage_classes=stage_classes,
        num_classes=n_classes,
        name=name,
        class_names=tuple(str(n) for n in names),
    )


def load_csv_stream(
    source: str | Path | bytes,
    classes_per_stage: int = 2,
    stage_order: str = "interleaved",
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Stream:
    """Read, validate and split a CSV stream. Raises :class:`DataError` naming the fault."""
    df = validate_table(read_csv_table(source))
    return stream_from_table(df, classes_per_stage, stage_order, test_fraction, seed)
