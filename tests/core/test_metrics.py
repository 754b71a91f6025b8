"""Metrics on hand-built accuracy matrices, each value worked out by hand in the comments."""

import numpy as np
import pytest

from dkvb_core import metrics

# R[i, j]: accuracy on stage j after training through stage i.
R3 = np.array(
    [
        [0.9, 0.1, 0.0],
        [0.6, 0.8, 0.2],
        [0.3, 0.7, 1.0],
    ]
)
R4 = np.array(
    [
        [1.0, 0.0, 0.0, 0.0],
        [0.5, 1.0, 0.0, 0.0],
        [0.8, 0.2, 1.0, 0.0],
        [0.4, 0.6, 0.5, 1.0],
    ]
)


def test_average_accuracy_3x3():
    # seen: [0.9], [0.6, 0.8] -> 0.7, [0.3, 0.7, 1.0] -> 2/3
    np.testing.assert_allclose(metrics.average_accuracy_seen(R3), [0.9, 0.7, 2 / 3])
    np.testing.assert_allclose(metrics.average_accuracy_all(R3), [1.0 / 3, 1.6 / 3, 2 / 3])
    assert metrics.final_average_accuracy(R3) == pytest.approx(2 / 3)


def test_forgetting_3x3():
    # stage 0: max(0.9, 0.6) - 0.3 = 0.6; stage 1: max(0.1, 0.8) - 0.7 = 0.1 -> mean 0.35
    assert metrics.forgetting_max(R3) == pytest.approx(0.35)
    np.testing.assert_allclose(metrics.forgetting_per_stage(R3), [0.6, 0.1, 0.0])


def test_bwt_3x3():
    # (0.3 - 0.9) + (0.7 - 0.8) = -0.7 -> mean -0.35
    assert metrics.bwt_gem(R3) == pytest.approx(-0.35)


def test_forgetting_uses_best_earlier_not_diagonal_4x4():
    # stage 0 peaks at 1.0 (diag) -> 1.0 - 0.4 = 0.6; stage 1: 1.0 - 0.6 = 0.4; stage 2: 1.0 - 0.5 = 0.5
    assert metrics.forgetting_max(R4) == pytest.approx((0.6 + 0.4 + 0.5) / 3)
    # BWT: (0.4-1) + (0.6-1) + (0.5-1) = -1.5 -> -0.5
    assert metrics.bwt_gem(R4) == pytest.approx(-0.5)
    assert metrics.final_average_accuracy(R4) == pytest.approx(2.5 / 4)


def test_forgetting_differs_from_bwt_when_accuracy_rises_after_its_stage():
    R = np.array([[0.2, 0.0], [0.9, 0.9]])
    # stage 0 improved later: BWT positive, forgetting (max over l < T-1 = row 0 only) negative
    assert metrics.bwt_gem(R) == pytest.approx(0.7)
    assert metrics.forgetting_max(R) == pytest.approx(-0.7)


def test_single_stage_has_no_forgetting():
    assert metrics.forgetting_max(np.array([[0.5]])) == 0.0
    assert metrics.bwt_gem(np.array([[0.5]])) == 0.0


def test_online_accuracy_is_running_mean_of_batches():
    np.testing.assert_allclose(metrics.online_accuracy(np.array([10, 0, 5]), 10), [1.0, 0.5, 0.5])


def test_rejects_non_square():
    with pytest.raises(ValueError, match="square"):
        metrics.forgetting_max(np.zeros((2, 3)))


def test_summary_is_json_ready():
    s = metrics.summary(R4)
    assert s["accuracy_matrix"] == R4.tolist()
    assert isinstance(s["forgetting"], float)
