"""Streaming LDA equals a batch LDA fitted (in float64) on the samples it has seen; identity
covariance is the nearest-class-mean classifier."""

from __future__ import annotations

import numpy as np
import pytest

from dkvb_core import Config, run
from dkvb_core.models.closed_form import SLDALearner

N, D, CLASSES, B, STEPS, EPS = 80, 4, 5, 6, 30, 1e-4


def batch_lda(x: np.ndarray, y: np.ndarray, eps: float, identity: bool) -> tuple[np.ndarray, np.ndarray]:
    """Class means and pooled within-class covariance (divisor: all samples) of every sample seen,
    then the discriminant's weights and offsets, all in float64 by brute force."""
    classes = np.unique(y)
    means = np.zeros((CLASSES, x.shape[1]))
    for c in classes:
        means[c] = x[y == c].mean(axis=0)
    dev = x - means[y]
    cov = dev.T @ dev / len(x)
    prec = np.eye(x.shape[1]) if identity else np.linalg.inv((1 - eps) * cov + eps * np.eye(x.shape[1]))
    w = prec @ means.T
    return w, -0.5 * (means.T * w).sum(axis=0)


@pytest.fixture()
def data():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (CLASSES, D))
    y = rng.integers(0, CLASSES, N)
    x = (centres[y] + rng.normal(0, 1, (N, D)) @ rng.normal(0, 1, (D, D))).astype(np.float32)
    rows = rng.integers(0, N, (STEPS, B))
    return x, y, rows


@pytest.mark.parametrize("covariance", ["shared", "identity"])
def test_slda_matches_batch_lda_at_every_step(data, covariance):
    """Each step's pre-update logits are the scores of a batch LDA fitted on every earlier sample."""
    x, y, rows = data
    fast = SLDALearner({"train": x[None]}, CLASSES, B, covariance, EPS)
    out = np.zeros((1, B, CLASSES), np.float32)
    x64 = x.astype(np.float64)
    for t, r in enumerate(rows):
        fast.step(r[None], y[r][None], out)
        if t == 0:
            continue
        seen = rows[:t].reshape(-1)
        w, c = batch_lda(x64[seen], y[seen], EPS, covariance == "identity")
        known = np.isin(np.arange(CLASSES), y[seen])
        np.testing.assert_allclose(out[0][:, known], (x64[r] @ w + c)[:, known], rtol=1e-5, atol=1e-3)
    seen = rows.reshape(-1)
    np.testing.assert_allclose(fast.mean[0][np.unique(y[seen])], _means(x64[seen], y[seen]), rtol=1e-10)
    dev = x64[seen] - fast.mean[0][y[seen]]
    np.testing.assert_allclose(fast.scatter[0] / fast.total, dev.T @ dev / len(seen), rtol=1e-9, atol=1e-12)


def _means(x, y):
    return np.stack([x[y == c].mean(axis=0) for c in np.unique(y)])


def test_slda_logits_on_a_set_equal_the_batch_fit(data):
    x, y, rows = data
    fast = SLDALearner({"train": x[None], "all": x[None]}, CLASSES, B, "shared", EPS)
    out = np.zeros((1, B, CLASSES), np.float32)
    for r in rows:
        fast.step(r[None], y[r][None], out)
    seen = rows.reshape(-1)
    w, c = batch_lda(x.astype(np.float64)[seen], y[seen], EPS, False)
    ref = x.astype(np.float64) @ w + c
    np.testing.assert_allclose(fast.logits("all")[0], ref, rtol=1e-5, atol=1e-3)
    assert (fast.predict("all")[0] == ref.argmax(axis=1)).mean() > 0.99


def test_identity_covariance_is_the_nearest_class_mean(data):
    x, y, rows = data
    fast = SLDALearner({"train": x[None], "all": x[None]}, CLASSES, B, "identity", EPS)
    out = np.zeros((1, B, CLASSES), np.float32)
    for r in rows:
        fast.step(r[None], y[r][None], out)
    dist = ((x[:, None, :].astype(np.float64) - fast.mean[0][None]) ** 2).sum(axis=-1)
    np.testing.assert_array_equal(fast.predict("all")[0], dist.argmin(axis=1))


def test_unseen_classes_are_never_predicted_and_nothing_seen_is_no_class():
    x = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [6.0, 5.0]], np.float32)
    fast = SLDALearner({"train": x[None], "all": x[None]}, 3, 2, "shared", EPS)
    assert (fast.predict("all") == 255).all()  # all logits tie before any sample: "no class"
    fast.step(np.array([[0, 1]]), np.array([[2, 2]]), np.zeros((1, 2, 3), np.float32))
    assert (fast.predict("all") == 2).all()  # only class 2 seen: the only one predicted
    logits = fast.logits("all")[0]
    np.testing.assert_allclose(logits[:, :2], np.repeat(logits[:, 2:] - 30.0, 2, axis=1), rtol=1e-6)


def test_slda_on_the_toy_stream_keeps_earlier_stages():
    result = run(Config.from_dict({"train": {"models": ["slda"], "steps_per_stage": 50}, "record": {"every": 0}}))
    R = result.accuracy_matrix("slda")
    assert R[-1].mean() > 0.9 and result.summary("slda")["forgetting"] < 0.05
