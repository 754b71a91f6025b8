"""The 2-D view of N-d features: PCA against a float64 brute force, key centroids, what a view holds."""

import numpy as np
import pytest

from dkvb_core.embedding_view import fit_pca, key_centroids, pca_view, shown_rows
from dkvb_core.presets import preset
from dkvb_core.streams import build_stream


def test_pca_matches_float64_eigendecomposition():
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(500, 40)) * np.linspace(5, 0.1, 40)) @ np.linalg.qr(rng.normal(size=(40, 40)))[0]
    x = x.astype(np.float32)
    proj = fit_pca(x, seed=0)
    centred = x.astype(np.float64) - x.astype(np.float64).mean(axis=0)
    vals, vecs = np.linalg.eigh(centred.T @ centred)
    top = vecs[:, ::-1][:, :2].T
    for got, want in zip(proj.components, top, strict=True):
        assert abs(float(got @ want)) == pytest.approx(1.0, abs=1e-6)  # same axis, up to sign
    np.testing.assert_allclose(proj.explained, vals[::-1][:2] / vals.sum(), rtol=1e-5)
    assert (proj.components[np.arange(2), np.abs(proj.components).argmax(axis=1)] > 0).all()
    again = fit_pca(x, seed=0)
    np.testing.assert_array_equal(proj.components, again.components)


def test_randomized_pca_beyond_the_exact_size_finds_the_same_axes(monkeypatch):
    from dkvb_core import embedding_view

    rng = np.random.default_rng(4)
    x = rng.normal(size=(400, 30)) * np.r_[8.0, 4.0, np.full(28, 0.5)]
    exact = fit_pca(x)
    monkeypatch.setattr(embedding_view, "EXACT_MAX_DIM", 10)
    approx = fit_pca(x)
    np.testing.assert_allclose(np.abs((approx.components * exact.components).sum(axis=1)), 1.0, atol=1e-8)


def test_key_centroids_average_their_samples_and_leave_empty_keys_nan():
    x = np.array([[0.0, 0.0], [2.0, 4.0], [10.0, 10.0]])
    cents = key_centroids(x, np.array([1, 1, 3]), 4)
    np.testing.assert_array_equal(cents[1], [1.0, 2.0])
    np.testing.assert_array_equal(cents[3], [10.0, 10.0])
    assert np.isnan(cents[0]).all() and np.isnan(cents[2]).all()


def test_view_of_a_run_on_the_example_file():
    from dkvb_core.engine import run

    config = preset("digits-embeddings").replace(
        **{"train.steps_per_stage": 50, "train.models": ["dkvb", "linear"], "record.every": 0}
    )
    stream = build_stream(config)
    result = run(config, stream=stream)
    view = pca_view(result, stream, (stream.x_train, stream.x_test), codebook=3, max_points=100)
    n = len(view.rows)
    assert 90 <= n <= 100 and view.points.shape == (n, 2)
    assert set(np.unique(view.labels)) == set(range(10))  # every class keeps a share
    assert set(view.predictions) == {"dkvb", "linear"} and view.predictions["dkvb"].shape == (5, n)
    assert view.codebook == 3 and view.keys.shape == (512, 2) and view.key_votes.shape == (5, 512)
    owned = np.unique(result.models["dkvb"].train_key_index[:, 3])
    assert np.isfinite(view.keys[owned]).all() and np.isnan(np.delete(view.keys, owned, axis=0)).all()
    np.testing.assert_array_equal(shown_rows(stream, 100, 0), view.rows)
    other = pca_view(result, stream, (stream.x_train, stream.x_test), 5, 100, projection=view.projection)
    assert other.projection is view.projection and other.codebook == 5
    np.testing.assert_array_equal(other.points, view.points)
