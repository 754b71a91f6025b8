"""A class-incremental stream of your own N-d features (a frozen backbone's embeddings), every fault named.

Formats (picked by the file's first bytes, so an upload needs no name):
- ``.npz`` (read with ``allow_pickle=False``): ``x`` ``(N, D)`` floats, ``y`` ``(N,)`` whole-number labels,
  optional ``stage`` ``(N,)`` whole numbers and ``split`` ``(N,)`` of ``"train"``/``"test"`` or 0/1 (1 = test);
- CSV or Parquet with columns ``Feature_1 .. Feature_D, Labels`` and optional ``Stage`` and ``Split`` (a leading
  pandas index column is dropped).

Labels map to class ids 0..n-1 in sorted order (the labels stay as class names); stages come from ``stage``
(sorted, 0..S-1) or from the classes (``classes_per_stage``, ``stage_order``); the held-out data from ``split``
or a seeded fraction of each (class, stage) cell. Limits: the file size (the upload limit), ``N``, ``D``, the
classes, float32 ``x`` no larger than the upload limit, finite values.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dkvb_core.errors import DataError
from dkvb_core.streams.base import Stream, split_held_out

MAX_BYTES = 200 * 2**20  # the upload limit: server.maxUploadSize in .streamlit/config.toml is the same 200 MB
MAX_ROWS = 100_000
MAX_DIM = 4_096
MAX_CLASSES = 254  # predictions are stored as uint8 and 255 means 'no class' (dkvb_core.result.NO_CLASS)
FEATURE = "Feature_"
LABELS, STAGE, SPLIT = "Labels", "Stage", "Split"
FORMATS = ("npz", "csv", "parquet")


@dataclass(frozen=True)
class Features:
    """The raw contents of a features file: ``x`` float32 ``(N, D)``, raw labels, optional stage and split."""

    x: np.ndarray
    y: np.ndarray  # (N,) int64, the file's labels
    stage: np.ndarray | None  # (N,) int64, the file's stage ids
    test: np.ndarray | None  # (N,) bool, True for held-out rows
    tabular: bool  # read from CSV/Parquet (messages say "data row r+1") rather than npz ("row r")


# --- reading -------------------------------------------------------------------------------------------


def read_bytes(source: str | Path | bytes, field: str = "stream.path") -> bytes:
    """The file's bytes, from a path or an upload, within the size limit."""
    if isinstance(source, bytes):
        size = len(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"{field}: no such file: {path}")
        size = path.stat().st_size
    if size > MAX_BYTES:
        raise DataError(f"file: {size:,} bytes is larger than the limit of {MAX_BYTES:,} bytes ({MAX_BYTES >> 20} MB)")
    return source if isinstance(source, bytes) else path.read_bytes()


def file_format(data: bytes) -> str:
    """``npz`` (a zip), ``parquet`` (starts with PAR1) or ``csv`` (anything else: parsed as text)."""
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        return "npz"
    if data[:4] == b"PAR1":
        return "parquet"
    return "csv"


def read_features(source: str | Path | bytes, field: str = "stream.path") -> Features:
    """Read and check a features file (npz, CSV or Parquet); raises :class:`DataError` naming the fault."""
    data = read_bytes(source, field)
    kind = file_format(data)
    if kind == "npz":
        feats = _from_npz(data)
    else:
        feats = _from_table(_parquet_table(data) if kind == "parquet" else _csv_table(data))
    check_features(feats)
    return feats


def _npz_headers(archive: zipfile.ZipFile) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of every array of an npz, read from the headers only (a huge array is refused unread)."""
    out = {}
    for info in archive.infolist():
        name = info.filename.removesuffix(".npy")
        with archive.open(info) as fh:
            try:
                version = np.lib.format.read_magic(fh)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _order, dtype = read(fh)
            except (ValueError, OSError, EOFError) as exc:
                raise DataError(f"{name}: not a numpy array ({str(exc).splitlines()[0][:100]})") from None
        out[name] = (shape, dtype)
    return out


def _from_npz(data: bytes) -> Features:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        headers = _npz_headers(archive)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"file: not a readable .npz ({exc})") from None
    missing = [a for a in ("x", "y") if a not in headers]
    if missing:
        found = ", ".join(sorted(headers)) or "none"
        raise DataError(f"{', '.join(missing)}: array missing; the .npz needs x and y (found: {found})")
    extra = sorted(set(headers) - {"x", "y", "stage", "split"})
    if extra:
        raise DataError(f"{', '.join(extra)}: unexpected array; allowed are x, y, stage, split")
    shape_x, dtype_x = headers["x"]
    if len(shape_x) != 2:
        raise DataError(f"x: must be 2-D (N samples x D features); got shape {shape_x}")
    _check_size(*shape_x)
    if dtype_x.kind not in "fiub" or dtype_x.itemsize > 8:
        raise DataError(f"x: must hold real numbers of at most 64 bits; got dtype {dtype_x}")
    for name, (shape, dtype) in headers.items():
        if dtype.hasobject:
            raise DataError(f"{name}: holds Python objects, which are not loaded (no pickle); save plain arrays")
        if name != "x" and shape != (shape_x[0],):
            raise DataError(f"{name}: shape {shape} disagrees with x {shape_x}; expected ({shape_x[0]},)")
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = {name: z[name] for name in headers}
    return Features(
        x=_to_float32(arrays["x"], "x", tabular=False),
        y=_whole("y", arrays["y"], tabular=False),
        stage=_whole("stage", arrays["stage"], tabular=False) if "stage" in arrays else None,
        test=_split_flags("split", arrays["split"], tabular=False) if "split" in arrays else None,
        tabular=False,
    )


def _check_size(n: int, d: int) -> None:
    if n > MAX_ROWS:
        raise DataError(f"x: {n:,} samples; at most {MAX_ROWS:,} are allowed")
    if d > MAX_DIM:
        raise DataError(f"x: {d:,} features a sample; at most {MAX_DIM:,} are allowed")
    if d < 1:
        raise DataError("x: no features; D must be at least 1")
    if n * d * 4 > MAX_BYTES:
        raise DataError(
            f"x: {n:,} x {d:,} is {n * d * 4:,} bytes as float32, more than the limit of {MAX_BYTES:,} bytes"
        )


def _csv_table(data: bytes):  # -> pd.DataFrame
    import pandas as pd

    from dkvb_core.streams.csv_stream import _decode

    text = _decode(data)
    header = text.split("\n", 1)[0]
    if header.count(",") > MAX_DIM + 3:
        raise DataError(f"columns: {header.count(',') + 1:,} columns; at most {MAX_DIM:,} features are allowed")
    try:
        return pd.read_csv(io.StringIO(text), nrows=MAX_ROWS + 1)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise DataError(f"file: not a readable CSV ({str(exc).splitlines()[0]})") from None


def _parquet_table(data: bytes):  # -> pd.DataFrame
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(io.BytesIO(data)).metadata
        if meta.num_rows > MAX_ROWS:
            raise DataError(f"rows: {meta.num_rows:,} rows; at most {MAX_ROWS:,} are allowed")
        if meta.num_columns > MAX_DIM + 3:
            raise DataError(f"columns: {meta.num_columns:,} columns; at most {MAX_DIM:,} features are allowed")
        return pq.read_table(io.BytesIO(data)).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"file: not a readable Parquet file ({str(exc).splitlines()[0][:120]})") from None


def _feature_columns(cols: list[str]) -> list[str]:
    """``Feature_1 .. Feature_D`` in order, every number present; a clear message otherwise."""
    numbers = sorted(int(c[len(FEATURE) :]) for c in cols if c.startswith(FEATURE) and c[len(FEATURE) :].isdigit())
    if not numbers:
        raise DataError(f"columns: no Feature_1 .. Feature_D columns (found: {', '.join(cols[:8]) or 'none'})")
    gaps = sorted(set(range(1, numbers[-1] + 1)) - set(numbers))
    if gaps:
        raise DataError(f"columns: Feature_{gaps[0]} missing (features must be Feature_1 .. Feature_{numbers[-1]})")
    return [f"{FEATURE}{i}" for i in numbers]


def _from_table(df) -> Features:
    from dkvb_core.streams.csv_stream import _drop_index_column

    df = _drop_index_column(df)
    df.columns = [str(c).strip() for c in df.columns]
    cols = list(df.columns)
    if LABELS not in cols:
        raise DataError("columns: Labels missing; the file needs Feature_1 .. Feature_D and Labels")
    features = _feature_columns(cols)
    extra = [c for c in cols if c not in {*features, LABELS, STAGE, SPLIT}]
    if extra:
        raise DataError(
            f"columns: unexpected {', '.join(extra[:5])}; allowed are Feature_1 .. Feature_D, Labels, Stage, Split"
        )
    _check_size(len(df), len(features))
    return Features(
        x=_to_float32(_numeric_block(df, features), "x", tabular=True),
        y=_whole(LABELS, _numeric_column(df, LABELS), tabular=True),
        stage=_whole(STAGE, _numeric_column(df, STAGE), tabular=True) if STAGE in cols else None,
        test=_split_flags(SPLIT, df[SPLIT].to_numpy(), tabular=True) if SPLIT in cols else None,
        tabular=True,
    )


def _numeric_block(df, columns: list[str]) -> np.ndarray:
    """The feature columns as float64; a non-numeric cell is named by column and row."""
    try:
        return df[columns].to_numpy(dtype=np.float64)
    except (ValueError, TypeError):
        for c in columns:
            _numeric_column(df, c)
        raise  # pragma: no cover - one column above is not numeric


def _numeric_column(df, col: str) -> np.ndarray:
    import pandas as pd

    numeric = pd.to_numeric(df[col], errors="coerce")
    bad = numeric.isna() & df[col].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{col}: non-numeric value {str(df[col].iloc[row])[:40]!r} in data row {row + 1}")
    return numeric.to_numpy(dtype=np.float64)


# --- values --------------------------------------------------------------------------------------------


def _to_float32(x: np.ndarray, name: str, tabular: bool) -> np.ndarray:
    """Finite float32 or a message naming the first bad row (and column)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.asarray(x).astype(np.float32)
    bad = ~np.isfinite(out)
    if bad.any():
        r, c = (int(v) for v in np.argwhere(bad)[0])
        row = f"data row {r + 1}" if tabular else f"row {r}"
        col = f"{FEATURE}{c + 1}" if tabular else f"column {c}"
        v = float(x[r, c])
        what = "NaN or empty" if np.isnan(v) else ("infinite" if np.isinf(v) else f"{v:g}, beyond float32's range")
        raise DataError(f"{name}: {row} has a value that is {what} ({col}); every value must be a finite float32")
    return out


def _whole(name: str, values: np.ndarray, tabular: bool) -> np.ndarray:
    """Whole numbers as int64; NaN, fractions and text are named with their row."""
    v = np.asarray(values)
    if v.dtype.kind in "iub":
        return v.astype(np.int64)
    if v.dtype.kind != "f":
        raise DataError(f"{name}: must hold whole numbers; got {v.dtype} values")
    bad = ~np.isfinite(v) | (v != np.round(v)) | (np.abs(v) > 2**62)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        row = f"data row {r + 1}" if tabular else f"row {r}"
        raise DataError(f"{name}: {row} holds {_shown(v[r])}; labels and stages must be whole numbers")
    return v.astype(np.int64)


def _split_flags(name: str, values: np.ndarray, tabular: bool) -> np.ndarray:
    """``split`` as booleans (True = held out): "train"/"test" or 0/1."""
    v = np.asarray(values)
    if v.dtype.kind in "USO":
        text = np.char.lower(np.char.strip(v.astype(str)))
        ok = np.isin(text, ["train", "test"])
        flags = text == "test"
    else:
        num = v.astype(np.float64) if v.dtype.kind in "iubf" else np.full(len(v), np.nan)
        ok = np.isin(num, [0.0, 1.0])
        flags = num == 1.0
    if not ok.all():
        r = int(np.flatnonzero(~ok)[0])
        row = f"data row {r + 1}" if tabular else f"row {r}"
        raise DataError(f"{name}: {row} holds {_shown(v[r])}; use 'train'/'test' or 0/1 (1 = test)")
    return flags


def _shown(value: object) -> str:
    """A cell as plain Python text, clipped (a message may echo a long string)."""
    return repr(value.item() if isinstance(value, np.generic) else value)[:40]


def check_features(f: Features) -> None:
    """Class and stage limits that need the whole file: classes, one-sample classes, stages without data."""
    labels, counts = np.unique(f.y, return_counts=True)
    if len(labels) < 2:
        raise DataError("y: only one class; at least 2 are needed")
    if len(labels) > MAX_CLASSES:
        raise DataError(
            f"y: {len(labels):,} classes; at most {MAX_CLASSES:,} are allowed (predictions are stored one byte each)"
        )
    if counts.min() < 2:
        raise DataError(
            f"y: class {labels[counts.argmin()]} has one sample; every class needs at least 2 "
            "(one to train, one to test)"
        )


# --- the stream ----------------------------------------------------------------------------------------


def stage_classes_of(n_classes: int, classes_per_stage: int, stage_order: str) -> tuple[tuple[int, ...], ...]:
    """Classes of each stage, by the same rule as the toy stream's config (interleaved or consecutive)."""
    from dkvb_core.config import StreamConfig

    per = min(classes_per_stage, n_classes)
    rule = StreamConfig.model_construct(num_classes=n_classes, classes_per_stage=per, stage_order=stage_order)
    return rule.resolved_stage_classes()


def stream_from_features(
    f: Features,
    classes_per_stage: int = 2,
    stage_order: str = "interleaved",
    test_fraction: float = 0.2,
    seed: int = 0,
    name: str = "features",
) -> Stream:
    """Stages and the held-out split of checked features; a stage without training or test data is named."""
    names, y = np.unique(f.y, return_inverse=True)
    if f.stage is not None:
        stage_ids, stage = np.unique(f.stage, return_inverse=True)
        stage_classes = tuple(tuple(int(c) for c in np.unique(y[stage == s])) for s in range(len(stage_ids)))
    else:
        stage_ids = None
        stage_classes = stage_classes_of(len(names), classes_per_stage, stage_order)
        table = np.empty(len(names), dtype=np.int64)
        for s, classes in enumerate(stage_classes):
            table[list(classes)] = s
        stage = table[y]
    if f.test is not None:
        test = f.test
    else:
        rng = np.random.default_rng([seed, 0xFEA7])
        _, test_rows = split_held_out(y.astype(np.int64) * len(stage_classes) + stage, test_fraction, rng)
        test = np.zeros(len(y), bool)
        test[test_rows] = True
    for s in range(len(stage_classes)):
        label = f"stage {stage_ids[s]}" if stage_ids is not None else f"stage {s + 1}"
        in_stage = stage == s
        if not (in_stage & ~test).any():
            raise DataError(f"split: {label} has no training data; every stage needs samples to train on")
        if not (in_stage & test).any():
            raise DataError(f"split: {label} has no test data; every stage needs held-out samples to score")
    train, held = np.flatnonzero(~test), np.flatnonzero(test)
    return Stream(
        x_train=f.x[train],
        y_train=y[train].astype(np.int64),
        stage_train=stage[train].astype(np.int64),
        x_test=f.x[held],
        y_test=y[held].astype(np.int64),
        stage_test=stage[held].astype(np.int64),
        stage_classes=stage_classes,
        num_classes=len(names),
        name=name,
        class_names=tuple(str(n) for n in names),
    )


def load_features_stream(
    source: str | Path | bytes,
    classes_per_stage: int = 2,
    stage_order: str = "interleaved",
    test_fraction: float = 0.2,
    seed: int = 0,
    name: str = "features",
) -> Stream:
    """Read, check and split a features file. Raises :class:`DataError` naming the fault."""
    return stream_from_features(read_features(source), classes_per_stage, stage_order, test_fraction, seed, name)


# --- writing (the example file, the tests' round trips) -----------------------------------------------


def save_features(
    path: str | Path, x: np.ndarray, y: np.ndarray, stage: np.ndarray | None = None, split: np.ndarray | None = None
) -> None:
    """Write features as .npz (compressed), .csv or .parquet, picked by the file's suffix.
    ``split`` is boolean (True = test) or "train"/"test"."""
    path = Path(path)
    test = None if split is None else _split_flags("split", np.asarray(split), tabular=False)
    if path.suffix == ".npz":
        arrays = {"x": np.asarray(x, np.float32), "y": np.asarray(y)}
        if stage is not None:
            arrays["stage"] = np.asarray(stage)
        if test is not None:
            arrays["split"] = test.astype(np.int8)
        np.savez_compressed(path, **arrays)
        return
    import pandas as pd

    df = pd.DataFrame(np.asarray(x, np.float32), columns=[f"{FEATURE}{i + 1}" for i in range(x.shape[1])])
    df[LABELS] = np.asarray(y)
    if stage is not None:
        df[STAGE] = np.asarray(stage)
    if test is not None:
        df[SPLIT] = np.where(test, "test", "train")
    if path.suffix == ".csv":
        df.to_csv(path, index=False, float_format="%.9g")  # 9 significant digits: float32 round-trips exactly
    elif path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        raise DataError(f"file: {path.suffix or 'no suffix'} is not one of .npz, .csv, .parquet")
