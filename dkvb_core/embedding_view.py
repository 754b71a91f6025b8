"""A 2-D picture of N-d features: PCA fitted once on the training features, the held-out samples with each
model's prediction at every stage end, and DKVB's keys placed where their training samples sit.

The features are what the models see (the encoder's output for an image set). A key lives in its codebook's
projected space; it is shown at the mean of the training features whose nearest key it is (for k-means keys,
the point whose projection the key is), so the picture needs no inverse of the projection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dkvb_core.config import Config
from dkvb_core.encoders import make_encoder
from dkvb_core.result import RunResult
from dkvb_core.streams.base import Stream

MAX_FIT_ROWS = 20_000  # PCA is fitted on at most this many training rows (a seeded pick beyond)
EXACT_MAX_DIM = 1_024  # up to this many features, an exact eigendecomposition; beyond, randomized SVD


@dataclass(frozen=True)
class Projection:
    """``(x - mean) @ components.T``; ``explained``: share of the variance each axis keeps."""

    mean: np.ndarray  # (D,) float64
    components: np.ndarray  # (2, D) float64, unit rows
    explained: np.ndarray  # (2,)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, np.float64) - self.mean) @ self.components.T


def fit_pca(x: np.ndarray, seed: int = 0) -> Projection:
    """The top two principal axes of ``x`` (rows are samples), in float64; signs fixed so each axis' largest
    loading is positive. More than ``MAX_FIT_ROWS`` rows: fitted on a seeded pick of them; more than
    ``EXACT_MAX_DIM`` features: scikit-learn's randomized SVD (seeded)."""
    x = np.asarray(x)
    if len(x) > MAX_FIT_ROWS:
        x = x[np.sort(np.random.default_rng([seed, 0x9CA]).choice(len(x), MAX_FIT_ROWS, replace=False))]
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=0)
    centred = x64 - mean
    total = float((centred**2).sum()) or 1.0
    if x.shape[1] <= 2:
        comps = np.eye(2, x.shape[1])
    elif x.shape[1] <= EXACT_MAX_DIM:  # the covariance's eigenvectors, exactly
        comps = np.linalg.eigh(centred.T @ centred)[1][:, ::-1][:, :2].T
    else:
        from sklearn.utils.extmath import randomized_svd  # imported on first use (~1 s)

        _, _, vt = randomized_svd(centred, 2, n_oversamples=10, n_iter=6, random_state=seed)
        comps = vt
    comps = comps * np.where(comps[np.arange(len(comps)), np.abs(comps).argmax(axis=1)] < 0, -1.0, 1.0)[:, None]
    explained = ((centred @ comps.T) ** 2).sum(axis=0) / total
    return Projection(mean, comps, explained)


def training_features(config: Config, stream: Stream) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` features as the models see them: through the run's frozen encoder."""
    encoder = make_encoder(config.stream.encoder, stream.input_dim, stream.name)
    return encoder.encode(stream.x_train), encoder.encode(stream.x_test)


@dataclass(frozen=True)
class PCAView:
    """What the 2-D view draws: held-out points, their labels and predictions, DKVB's keys of one codebook."""

    projection: Projection
    points: np.ndarray  # (n, 2) held-out samples shown
    rows: np.ndarray  # (n,) their indices in the stream's test set
    labels: np.ndarray  # (n,) true class ids
    stages: np.ndarray  # (n,) stage of each sample
    predictions: dict[str, np.ndarray]  # model -> (T, n) class at each stage end (255: none)
    codebook: int = 0
    keys: np.ndarray | None = None  # (K, 2); NaN for a key that owns no training sample
    key_votes: np.ndarray | None = None  # (T, K) class each key's value votes for at each stage end
    key_usage: np.ndarray | None = None  # (T, K) fetches within each stage


def shown_rows(stream: Stream, max_points: int, seed: int) -> np.ndarray:
    """At most ``max_points`` held-out rows, a seeded pick in the same share from every class."""
    n = len(stream.y_test)
    if n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng([seed, 0x9C1])
    picked = [rng.permutation(np.flatnonzero(stream.y_test == c)) for c in range(stream.num_classes)]
    share = max_points / n
    return np.sort(np.concatenate([p[: max(1, int(len(p) * share))] for p in picked]))


def key_centroids(x_train: np.ndarray, key_index: np.ndarray, num_keys: int) -> np.ndarray:
    """Mean training feature of each key's samples ``(K, D)``; NaN rows for keys that own none."""
    counts = np.bincount(key_index, minlength=num_keys).astype(np.float64)
    sums = np.zeros((num_keys, x_train.shape[1]))
    np.add.at(sums, key_index, np.asarray(x_train, np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None]


def pca_view(
    result: RunResult,
    stream: Stream,
    features: tuple[np.ndarray, np.ndarray] | None = None,
    codebook: int = 0,
    max_points: int = 2_000,
    projection: Projection | None = None,
) -> PCAView:
    """The 2-D view of a run on ``stream``; ``features`` are the (train, test) features (else encoded here),
    ``projection`` the PCA of the training features if already fitted (a view of another codebook)."""
    x_train, x_test = features if features is not None else training_features(result.config, stream)
    seed = result.config.seed
    proj = projection if projection is not None else fit_pca(x_train, seed)
    rows = shown_rows(stream, max_points, seed)
    preds = {m: rec.test_predictions[:, rows] for m, rec in result.models.items() if rec.test_predictions is not None}
    view = dict(
        projection=proj,
        points=proj(x_test[rows]),
        rows=rows,
        labels=stream.y_test[rows],
        stages=stream.stage_test[rows],
        predictions=preds,
    )
    rec = result.models.get("dkvb")
    if rec is not None and rec.train_key_index is not None and rec.value_votes is not None:
        n_keys = rec.value_votes.shape[2]
        codebook = int(np.clip(codebook, 0, rec.value_votes.shape[1] - 1))
        cents = key_centroids(x_train, rec.train_key_index[:, codebook], n_keys)
        used = ~np.isnan(cents[:, 0])
        keys = np.full((n_keys, 2), np.nan)
        keys[used] = proj(cents[used])
        view.update(
            codebook=codebook,
            keys=keys,
            key_votes=rec.value_votes[result.stage_end_frames, codebook],
            key_usage=rec.key_usage_stages[:, codebook] if rec.key_usage_stages is not None else None,
        )
    return PCAView(**view)
