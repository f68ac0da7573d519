"""Concurrence: scipy's Kendall tau-b for 1-D, seed-paired averages for 2-D."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from datafactors import DataError
from datafactors.metrics import concurrence


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_1d_equals_scipy_kendalltau(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 5, 12).astype(float)  # ties on purpose: tau-b corrects for them
    b = a + rng.integers(-2, 3, 12)
    assert concurrence(a, b) == pytest.approx(stats.kendalltau(a, b).statistic, abs=1e-12)


def test_1d_pearson_equals_scipy():
    rng = np.random.default_rng(3)
    a = rng.normal(size=20)
    b = a + rng.normal(size=20)
    assert concurrence(a, b, method="pearson") == pytest.approx(stats.pearsonr(a, b).statistic, abs=1e-12)


def test_1d_hand_values():
    assert concurrence([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert concurrence([1, 2, 3, 4], [40, 30, 20, 10]) == pytest.approx(-1.0)
    # one swapped pair out of 6: (5 - 1) / 6
    assert concurrence([1, 2, 3, 4], [1, 2, 4, 3]) == pytest.approx(4 / 6)


# 3 models x 2 seeds on each benchmark.
A = np.array([[1, 1], [2, 3], [3, 2]], dtype=float)
B = np.array([[1, 1], [2, 3], [3, 2]], dtype=float)


def test_2d_seed_paired_hand_case():
    # columns: a0 = b0 = [1, 2, 3], a1 = b1 = [1, 3, 2]
    # tau(a0, b0) = 1; tau(a1, b1) = 1
    # tau(a0, b1) = tau(a1, b0): pairs (1,2) concordant, (1,3) concordant, (2,3) discordant -> 1/3
    # mean over the 4 seed pairs = (1 + 1/3 + 1/3 + 1) / 4 = 2/3
    assert concurrence(A, B) == pytest.approx(2 / 3, abs=1e-12)
    # Averaging seeds first would give tau-b([1, 2.5, 2.5], [1, 2.5, 2.5]) = 1: pairing matters.
    assert stats.kendalltau(A.mean(1), B.mean(1)).statistic == pytest.approx(1.0)


def test_2d_matches_loop_over_scipy_with_unequal_seed_counts():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(8, 3))
    b = a[:, :1] + rng.normal(scale=0.5, size=(8, 5))
    want = np.mean([stats.kendalltau(a[:, s], b[:, t]).statistic for s in range(3) for t in range(5)])
    assert concurrence(a, b) == pytest.approx(want, abs=1e-12)


def test_1d_and_2d_can_be_mixed():
    assert concurrence(A[:, 0], B) == pytest.approx((1 + 1 / 3) / 2, abs=1e-12)


def test_constant_scores_give_nan():
    assert np.isnan(concurrence([0.9, 0.9, 0.9], [0.1, 0.5, 0.7]))
    assert np.isnan(concurrence([0.9, 0.9, 0.9], [0.1, 0.5, 0.7], method="pearson"))


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "match"),
    [
        ([1, 2, 3], [1, 2], {}, "scores_a has 3 models but scores_b has 2"),
        ([1], [1], {}, "need >= 2"),
        ([1, np.nan], [1, 2], {}, "scores_a contains NaN"),
        ([1, 2], [1, np.inf], {}, "scores_b contains NaN or inf"),
        (np.zeros((2, 2, 2)), [1, 2], {}, "must be \\(n_models,\\) or \\(n_models, n_seeds\\)"),
        ([1, 2], [1, 2], {"method": "spearman"}, "method == 'spearman'"),
        (np.zeros((3, 0)), [1, 2, 3], {}, "0 seed columns"),
    ],
)
def test_bad_inputs_raise(a, b, kwargs, match):
    with pytest.raises(DataError, match=match):
        concurrence(a, b, **kwargs)
