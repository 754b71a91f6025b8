"""Image streams: class-incremental splits, held-out data, seeding, and the faults they name."""

import gzip

import numpy as np
import pytest

from dkvb_core import Config, DataError, build_stream, preset, run
from dkvb_core.streams import BUILDERS
from dkvb_core.streams.images import (
    fashion_missing,
    load_digits_images,
    load_fashion_images,
    load_mnist5k_images,
    read_idx,
)


def _cfg(kind: str, **stream) -> Config:
    return Config.from_dict(
        {"stream": {"kind": kind, "num_classes": 10, "classes_per_stage": 2, "stage_order": "consecutive", **stream}}
    )


def test_importing_the_core_registers_the_image_sets():
    assert {"digits", "mnist", "fashion"} <= set(BUILDERS)


def test_digits_split_is_class_incremental_with_held_out_data():
    s = build_stream(_cfg("digits"))
    assert s.stage_classes == ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9))
    assert len(s.y_train) + len(s.y_test) == 1797 and s.x_train.shape[1] == 64
    assert s.images.shape == (1797, 8, 8) and s.images.dtype == np.uint8
    for stage, classes in enumerate(s.stage_classes):
        assert set(np.unique(s.y_train[s.stage_train == stage])) == set(classes)
        assert set(np.unique(s.y_test[s.stage_test == stage])) == set(classes)
    counts_test, counts_all = np.bincount(s.y_test), np.bincount(np.concatenate([s.y_train, s.y_test]))
    np.testing.assert_allclose(counts_test / counts_all, 0.2, atol=0.01)
    assert s.x_train.min() >= 0.0 and s.x_train.max() == pytest.approx(1.0)
    # the pixels shown are the pixels the models see, train rows first
    np.testing.assert_allclose(s.images[: len(s.y_train)].reshape(len(s.y_train), -1) / 255.0, s.x_train, atol=1e-6)


def test_train_and_test_images_do_not_overlap():
    s = build_stream(_cfg("mnist"))
    assert len(s.y_train) == 4000 and len(s.y_test) == 1000
    train_rows = {r.tobytes() for r in s.images[: len(s.y_train)]}
    assert not any(r.tobytes() in train_rows for r in s.images[len(s.y_train) :])


def test_split_is_seeded():
    a, b = build_stream(_cfg("digits")), build_stream(_cfg("digits"))
    np.testing.assert_array_equal(a.x_test, b.x_test)
    c = build_stream(_cfg("digits").replace(seed=3))
    assert not np.array_equal(a.x_test, c.x_test)
    d = build_stream(_cfg("digits", seed=0).replace(seed=3))  # stream.seed pins the data
    np.testing.assert_array_equal(a.x_test, d.x_test)


def test_stage_layout_and_test_fraction_are_configurable():
    s = build_stream(_cfg("digits", classes_per_stage=5, test_fraction=0.5))
    assert s.stage_classes == ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9))
    assert abs(len(s.y_test) - len(s.y_train)) < 15
    e = build_stream(_cfg("digits", num_classes=6, stage_classes=[[5, 0], [3]]))
    assert set(np.unique(e.y_train)) == {0, 3, 5} and e.num_stages == 2
    assert e.class_names == ("0", "1", "2", "3", "4", "5")


def test_more_than_ten_classes_is_a_named_error():
    with pytest.raises(DataError, match=r"stream.num_classes: digits has 10 classes"):
        build_stream(_cfg("digits", num_classes=12, classes_per_stage=3))


def test_digits_match_scikit_learn():
    from sklearn.datasets import load_digits

    images, labels = load_digits_images()
    ref = load_digits()
    np.testing.assert_array_equal(labels, ref.target)
    np.testing.assert_allclose(images / 255.0, ref.images / 16.0, atol=0.5 / 255)


def test_mnist5k_has_500_images_a_class():
    images, labels = load_mnist5k_images()
    assert images.shape == (5000, 28, 28)
    np.testing.assert_array_equal(np.bincount(labels), np.full(10, 500))


@pytest.fixture()
def fashion_or_skip():
    if fashion_missing():
        pytest.skip("dataset-fashion-mnist is not installed (CI installs it)")


def test_fashion_keeps_the_official_split_and_caps_per_class(fashion_or_skip):
    s = build_stream(_cfg("fashion", train_per_class=30, test_per_class=7))
    np.testing.assert_array_equal(np.bincount(s.y_train), np.full(10, 30))
    np.testing.assert_array_equal(np.bincount(s.y_test), np.full(10, 7))
    assert s.class_names[0] == "T-shirt/top" and s.class_names[9] == "Ankle boot"
    test_images, _ = load_fashion_images("t10k")
    pool = {r.tobytes() for r in test_images}
    assert all(r.tobytes() in pool for r in s.images[len(s.y_train) :])


def test_missing_fashion_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("DKVB_FASHION_MNIST_DIR", str(tmp_path))
    load_fashion_images.cache_clear()
    try:
        assert "apt-get install dataset-fashion-mnist" in fashion_missing()
        with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
            build_stream(_cfg("fashion"))
    finally:
        load_fashion_images.cache_clear()


def test_corrupt_idx_file_is_a_named_error(tmp_path):
    bad = tmp_path / "x.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + (2).to_bytes(4, "big") + b"\x00" * 20))
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_idx(bad, 3)
    wrong = tmp_path / "y.gz"
    wrong.write_bytes(gzip.compress(b"PK\x03\x04 not an idx file"))
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(wrong, 3)
    plain = tmp_path / "z.gz"
    plain.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="cannot read"):
        read_idx(plain, 1)


def test_digits_preset_runs_through_the_engine_with_image_records():
    cfg = preset("digits").replace(**{"train.steps_per_stage": 20, "record.every": 0})
    r = run(cfg)
    s = build_stream(cfg)
    dk = r.models["dkvb"]
    assert dk.test_predictions.shape == (5, len(s.y_test))
    assert dk.train_key_index.shape == (len(s.y_train), cfg.dkvb.num_codebooks)
    assert r.grid is None and r.x_train is None
    assert r.accuracy_matrix("dkvb").shape == (5, 5)
