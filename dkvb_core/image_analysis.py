"""What the Images page shows, computed from a RunResult and its image Stream (no UI code here).

Confusion matrices per stage end, which images land on a key and what its value votes for, and
a seeded gallery of test images with every model's prediction at every stage end. Predictions
use 255 for "no class" (all logits tied), as in :mod:`dkvb_core.result`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dkvb_core.result import NO_CLASS, RunResult
from dkvb_core.streams.base import Stream


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """``M[i, j]``: how many samples of true class ``i`` were predicted as ``j``; ``(n, n + 1)``
    int64 whose last column counts "no class" predictions (ties), so every row sums to the class size."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"confusion_matrix: {y_true.shape} labels but {y_pred.shape} predictions")
    if len(y_true) and (y_true.min() < 0 or y_true.max() >= num_classes):
        raise ValueError(f"confusion_matrix: labels must be in 0..{num_classes - 1}")
    pred = np.where((y_pred < 0) | (y_pred >= num_classes), num_classes, y_pred)
    flat = y_true * (num_classes + 1) + pred
    return np.bincount(flat, minlength=num_classes * (num_classes + 1)).reshape(num_classes, num_classes + 1)


def confusion_per_stage(result: RunResult, stream: Stream, model: str) -> np.ndarray:
    """The model's confusion matrix on all test images at the end of each stage, ``(T, n, n + 1)``."""
    preds = _test_predictions(result, stream, model)
    return np.stack([confusion_matrix(stream.y_test, p, stream.num_classes) for p in preds])


def _test_predictions(result: RunResult, stream: Stream, model: str) -> np.ndarray:
    if model not in result.models:
        raise KeyError(f"model {model!r} was not run; models: {', '.join(result.models)}")
    preds = result.models[model].test_predictions
    if preds is None or preds.shape[1] != len(stream.y_test):
        raise ValueError("the run's test predictions do not match this stream; rebuild the stream from the run config")
    return preds


@dataclass(frozen=True)
class KeyView:
    """One key of one codebook: who lands on it, how often it was fetched, what it votes for."""

    codebook: int
    key: int
    train_rows: np.ndarray  # indices into the stream's training set
    test_rows: np.ndarray  # indices into the stream's test set
    train_class_counts: np.ndarray  # (num_classes,) classes of the training images on the key
    usage_per_stage: np.ndarray  # (T,) fetches while training each stage
    vote: int  # class the key's final value votes for; NO_CLASS if untouched or tied
    value: np.ndarray  # (dim_values,) the final value


def key_view(result: RunResult, stream: Stream, codebook: int, key: int) -> KeyView:
    """Everything about one key of the DKVB model (raises KeyError without a DKVB model)."""
    rec = result.models.get("dkvb")
    if rec is None or rec.train_key_index is None or rec.final_values is None or rec.key_usage_stages is None:
        raise KeyError("the run has no DKVB model; add dkvb to train.models")
    n_codebooks, n_keys = rec.final_values.shape[:2]
    if not 0 <= codebook < n_codebooks:
        raise ValueError(f"codebook: must be in 0..{n_codebooks - 1}; got {codebook}")
    if not 0 <= key < n_keys:
        raise ValueError(f"key: must be in 0..{n_keys - 1}; got {key}")
    train_rows = np.flatnonzero(rec.train_key_index[:, codebook] == key)
    test_rows = (
        np.flatnonzero(rec.test_key_index[:, codebook] == key)
        if rec.test_key_index is not None
        else np.zeros(0, np.int64)
    )
    value = rec.final_values[codebook, key].astype(np.float64)
    vote = NO_CLASS if value.max() == value.min() else int(value.argmax())
    return KeyView(
        codebook=codebook,
        key=key,
        train_rows=train_rows,
        test_rows=test_rows,
        train_class_counts=np.bincount(stream.y_train[train_rows], minlength=stream.num_classes),
        usage_per_stage=rec.key_usage_stages[:, codebook, key].astype(np.int64),
        vote=vote,
        value=value,
    )


def busiest_keys(result: RunResult, codebook: int, count: int = 10) -> np.ndarray:
    """The ``count`` keys of a codebook fetched most over the whole run, busiest first."""
    rec = result.models.get("dkvb")
    if rec is None or rec.key_usage_stages is None:
        raise KeyError("the run has no DKVB model; add dkvb to train.models")
    usage = rec.key_usage_stages[:, codebook].sum(axis=0)
    order = np.lexsort((np.arange(len(usage)), -usage))
    return order[:count]


def gallery_rows(stream: Stream, per_class: int, seed: int) -> np.ndarray:
    """A seeded pick of ``per_class`` test images of each class, ordered by stage then class."""
    rng = np.random.default_rng([seed, 0x6A1])
    picked = []
    for classes in stream.stage_classes:
        for c in classes:
            rows = np.flatnonzero(stream.y_test == c)
            picked.append(np.sort(rng.permutation(rows)[:per_class]))
    return np.concatenate(picked) if picked else np.zeros(0, np.int64)


def gallery_predictions(result: RunResult, stream: Stream, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Per model, the predicted class of each chosen test image at each stage end, ``(T, len(rows))``."""
    return {name: _test_predictions(result, stream, name)[:, rows] for name in result.models}


def held_out_images(stream: Stream) -> np.ndarray:
    """The test images ``(N_test, H, W)`` uint8 (``Stream.images`` holds train rows first)."""
    if stream.images is None:
        raise ValueError(f"stream {stream.name!r} carries no images")
    return stream.images[len(stream.y_train) :]


def training_images(stream: Stream) -> np.ndarray:
    """The training images ``(N_train, H, W)`` uint8."""
    if stream.images is None:
        raise ValueError(f"stream {stream.name!r} carries no images")
    return stream.images[: len(stream.y_train)]
