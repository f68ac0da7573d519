"""Accuracy family: hand-computed values and input validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from datafactors import DataError
from datafactors.metrics import accuracy, brier, check_probs_labels, evaluate, nll

PROBS = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.5, 0.25, 0.25], [0.2, 0.2, 0.6]])
Y = np.array([0, 2, 0, 1])


def test_accuracy_hand_value():
    # argmax = [0, 1, 0, 2]; correct = [1, 0, 1, 0]
    assert accuracy(PROBS, Y) == 0.5


def test_accuracy_ties_go_to_lowest_class():
    assert accuracy([[0.5, 0.5]], [0]) == 1.0
    assert accuracy([[0.5, 0.5]], [1]) == 0.0


def test_nll_hand_value():
    # true-class probabilities 0.7, 0.3, 0.5, 0.2
    expected = -(math.log(0.7) + math.log(0.3) + math.log(0.5) + math.log(0.2)) / 4
    assert nll(PROBS, Y) == pytest.approx(expected, rel=1e-12)


def test_nll_zero_probability_is_floored_by_eps():
    assert nll([[1.0, 0.0]], [1]) == pytest.approx(-math.log(1e-12))
    assert nll([[1.0, 0.0]], [1], eps=1e-3) == pytest.approx(-math.log(1e-3))


def test_brier_hand_value():
    # row 0: .3^2+.2^2+.1^2 = .14; row 1: .1^2+.6^2+.7^2 = .86
    # row 2: .5^2+.25^2+.25^2 = .375; row 3: .2^2+.8^2+.6^2 = 1.04 -> mean 2.415 / 4
    assert brier(PROBS, Y) == pytest.approx(2.415 / 4, rel=1e-12)


def test_brier_bounds():
    assert brier([[1.0, 0.0]], [0]) == 0.0
    assert brier([[1.0, 0.0]], [1]) == 2.0


def test_evaluate_matches_individual_functions():
    out = evaluate(PROBS, Y, n_bins=10)
    assert set(out) == {"accuracy", "nll", "brier", "ece"}
    assert all(type(v) is float for v in out.values())
    assert out["accuracy"] == accuracy(PROBS, Y)
    assert out["nll"] == nll(PROBS, Y)
    assert out["brier"] == brier(PROBS, Y)


def test_integral_float_labels_and_lists_accepted():
    p, y = check_probs_labels(PROBS.tolist(), [0.0, 2.0, 0.0, 1.0])
    assert y.dtype == np.int64 and y.tolist() == [0, 2, 0, 1]
    assert p.dtype == np.float64


def test_small_float_drift_in_row_sums_accepted():
    p = np.array([[0.7, 0.3 + 5e-4]])
    assert accuracy(p, [0]) == 1.0


@pytest.mark.parametrize(
    ("probs", "y", "match"),
    [
        ([0.5, 0.5], [0, 1], "must be 2-D"),
        (np.zeros((0, 2)), np.zeros(0, dtype=int), "at least 1 example"),
        ([[0.5, np.nan]], [0], "NaN or inf"),
        ([[0.5, np.inf]], [0], "NaN or inf"),
        ([[0.6, 0.6]], [0], "sums to 1.2"),
        ([[2.0, -1.0]], [0], "must be in \\[0, 1\\]"),
        ([[0.5, 0.5]], [2], "must be in \\[0, 2\\)"),
        ([[0.5, 0.5]], [-1], "labels in \\[-1, -1\\]"),
        ([[0.5, 0.5]], [0, 1], "2 labels but probs has 1 rows"),
        ([[0.5, 0.5]], [[0]], "must be 1-D"),
        ([[0.5, 0.5]], [0.5], "non-integer"),
        ([[0.5, 0.5]], [True], "dtype bool"),
        ([["a", "b"]], [0], "numeric array"),
    ],
)
def test_bad_inputs_raise_data_error(probs, y, match):
    with pytest.raises(DataError, match=match):
        accuracy(probs, y)


@pytest.mark.parametrize("eps", [0, -1e-3, 1.5, "x"])
def test_nll_bad_eps(eps):
    with pytest.raises(DataError, match="eps"):
        nll(PROBS, Y, eps=eps)
