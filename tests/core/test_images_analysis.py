"""image_analysis: confusion matrices, key views and the prediction gallery, on a short digits run."""

import numpy as np
import pytest

from dkvb_core import build_stream, preset, run
from dkvb_core import image_analysis as ia


@pytest.fixture(scope="module")
def digits_run():
    cfg = preset("digits").replace(
        **{"train.steps_per_stage": 60, "record.every": 0, "train.models": ["dkvb", "mlp"], "dkvb.num_codebooks": 4}
    )
    return run(cfg), build_stream(cfg)


def test_confusion_matrix_counts_and_no_class_column():
    y = np.array([0, 0, 1, 2, 2, 2])
    p = np.array([0, 1, 1, 2, 255, 0])
    m = ia.confusion_matrix(y, p, 3)
    assert m.shape == (3, 4)
    np.testing.assert_array_equal(m, [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 1, 1]])
    np.testing.assert_array_equal(m.sum(axis=1), np.bincount(y))
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.2"):
        ia.confusion_matrix(np.array([3]), np.array([0]), 3)
    with pytest.raises(ValueError, match="predictions"):
        ia.confusion_matrix(y, p[:2], 3)


def test_confusion_per_stage_matches_the_accuracy_matrix(digits_run):
    result, stream = digits_run
    for model in result.models:
        cms = ia.confusion_per_stage(result, stream, model)
        assert cms.shape == (5, 10, 11)
        R = result.accuracy_matrix(model)
        for t in range(5):
            for j, classes in enumerate(stream.stage_classes):
                hits = sum(cms[t, c, c] for c in classes)
                total = sum(cms[t, c].sum() for c in classes)
                assert hits / total == pytest.approx(R[t, j], abs=1e-6)


def test_forgetting_shows_in_the_mlp_confusion(digits_run):
    result, stream = digits_run
    final = ia.confusion_per_stage(result, stream, "mlp")[-1]
    last_stage = list(stream.stage_classes[-1])
    # the MLP ends up predicting (almost) only the last stage's classes
    assert final[:, last_stage].sum() / final.sum() > 0.8


def test_key_view_lists_the_images_on_a_key(digits_run):
    result, stream = digits_run
    rec = result.models["dkvb"]
    key = int(ia.busiest_keys(result, 1, 1)[0])
    view = ia.key_view(result, stream, 1, key)
    assert len(view.train_rows) > 0
    assert (rec.train_key_index[view.train_rows, 1] == key).all()
    assert view.train_class_counts.sum() == len(view.train_rows)
    assert view.usage_per_stage.sum() == rec.key_usage_stages[:, 1, key].sum() > 0
    assert view.vote == int(np.argmax(rec.final_values[1, key]))
    # a busy key votes for the class most of its images have
    assert view.vote == int(np.argmax(view.train_class_counts))
    with pytest.raises(ValueError, match=r"codebook: must be in 0\.\.3"):
        ia.key_view(result, stream, 4, 0)


def test_busiest_keys_are_sorted_by_use(digits_run):
    result, _ = digits_run
    keys = ia.busiest_keys(result, 0, 5)
    usage = result.models["dkvb"].key_usage_stages[:, 0].sum(axis=0)
    assert list(usage[keys]) == sorted(usage[keys], reverse=True)
    assert usage[keys[0]] == usage.max()


def test_gallery_is_seeded_and_covers_every_class(digits_run):
    result, stream = digits_run
    rows = ia.gallery_rows(stream, 2, seed=0)
    assert len(rows) == 20
    assert list(stream.y_test[rows]) == [c for stage in stream.stage_classes for c in stage for _ in range(2)]
    np.testing.assert_array_equal(rows, ia.gallery_rows(stream, 2, seed=0))
    assert not np.array_equal(rows, ia.gallery_rows(stream, 2, seed=1))
    preds = ia.gallery_predictions(result, stream, rows)
    assert set(preds) == {"dkvb", "mlp"} and preds["dkvb"].shape == (5, 20)
    assert ia.held_out_images(stream)[rows].shape == (20, 8, 8)
