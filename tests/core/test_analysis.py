"""Key and frame analysis: hand-checked small cases."""

import numpy as np
import pytest

from dkvb_core import analysis


def usage() -> np.ndarray:
    # 3 stages, 1 codebook, 4 keys: stage 0 uses keys 0,1; stage 1 uses 1,2; stage 2 uses 2
    u = np.zeros((3, 1, 4), np.int32)
    u[0, 0, [0, 1]] = [5, 1]
    u[1, 0, [1, 2]] = [2, 2]
    u[2, 0, 2] = 7
    return u


def test_fraction_touched_per_stage():
    np.testing.assert_allclose(analysis.fraction_touched_per_stage(usage()), [0.5, 0.5, 0.25])


def test_overlap_is_jaccard_and_symmetric():
    o = analysis.stage_key_overlap(usage())
    np.testing.assert_allclose(np.diag(o), [1, 1, 1])
    assert o[0, 1] == pytest.approx(1 / 3)  # {0,1} vs {1,2}
    assert o[1, 2] == pytest.approx(1 / 2)  # {1,2} vs {2}
    assert o[0, 2] == 0
    np.testing.assert_allclose(o, o.T)


def test_overlap_of_empty_stages_is_zero():
    assert analysis.stage_key_overlap(np.zeros((2, 1, 3)))[0, 1] == 0


def test_overlap_averages_codebooks():
    u = np.zeros((2, 2, 2), np.int32)
    u[:, 0, 0] = 1  # codebook 0: both stages on key 0 -> 1
    u[0, 1, 0] = u[1, 1, 1] = 1  # codebook 1: disjoint -> 0
    assert analysis.stage_key_overlap(u)[0, 1] == pytest.approx(0.5)


def test_dead_and_shared_keys():
    np.testing.assert_array_equal(analysis.dead_keys(usage()), [[False, False, False, True]])
    assert analysis.shared_key_fraction(usage()) == pytest.approx(2 / 3)  # keys 1, 2 of 0, 1, 2
    assert analysis.shared_key_fraction(np.zeros((2, 1, 3))) == 0.0


def test_bad_shape_is_named():
    with pytest.raises(ValueError, match="usage_stages"):
        analysis.keys_touched(np.zeros((3, 4)))


def test_region_votes_maps_cells_through_their_key():
    votes = np.array([[[255, 255]], [[3, 5]]], np.uint8)  # (F=2, C=1, K=2)
    grid_key = np.array([[0, 1, 1, 0]])
    out = analysis.region_votes(votes, grid_key, 0)
    np.testing.assert_array_equal(out, [[255, 255, 255, 255], [3, 5, 5, 3]])
    assert out.dtype == np.uint8


def test_seen_accuracy_per_frame():
    acc = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 1.0]])
    np.testing.assert_allclose(analysis.seen_accuracy_per_frame(acc, np.array([0, 0, 1])), [0.0, 1.0, 0.75])


def test_bwt_per_stage():
    R = np.array([[0.9, 0.1], [0.4, 1.0]])
    np.testing.assert_allclose(analysis.bwt_per_stage(R), [-0.5, 0.0])
