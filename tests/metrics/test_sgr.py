"""Supervision gap recovered: hand values, bootstrap distributions with known answers, a naive loop."""

from __future__ import annotations

import numpy as np
import pytest

from datafactors import DataError
from datafactors.metrics import SGRResult, supervision_gap_recovered


def test_point_estimate_by_hand():
    easy = [[1, 1, 0, 0], [1, 0, 1, 0]]  # 0.5
    hard = [[1, 1, 1, 0], [1, 1, 0, 1]]  # 0.75
    unsup = [[0, 1, 0, 0]]  # 0.25
    res = supervision_gap_recovered(easy, hard, unsup, n_boot=200, seed=0)
    assert isinstance(res, SGRResult)
    assert res.sgr == pytest.approx(0.5)
    assert (res.easy, res.hard, res.unsup) == pytest.approx((0.5, 0.75, 0.25))
    assert res.gap == pytest.approx(0.5)
    assert res.n_items == 4 and res.n_seeds == {"easy": 2, "hard": 2, "unsup": 1}
    assert res.lo <= res.sgr <= res.hi
    assert res.boot.shape == (200,)


def test_seed_resampling_distribution_is_exact():
    # Every item scores the same within a seed, so resampling items changes nothing and the
    # bootstrap only resamples easy's two seeds (0.2, 0.4): mean 0.2 / 0.3 / 0.4 with
    # probability 1/4, 1/2, 1/4 -> SGR = mean / 0.8 in {0.25, 0.375, 0.5}.
    easy = np.array([[0.2] * 5, [0.4] * 5])
    hard = np.full((3, 5), 0.8)
    unsup = np.zeros((1, 5))
    res = supervision_gap_recovered(easy, hard, unsup, n_boot=4000, seed=1)
    assert res.sgr == pytest.approx(0.375)
    values, counts = np.unique(np.round(res.boot, 12), return_counts=True)
    np.testing.assert_allclose(values, [0.25, 0.375, 0.5])
    np.testing.assert_allclose(counts / 4000, [0.25, 0.5, 0.25], atol=0.03)
    assert (res.lo, res.hi) == (0.25, 0.5)


def test_item_resampling_distribution_matches_binomial():
    # One seed each; hard always right, unsup never: SGR = easy's accuracy on resampled items,
    # i.e. Binomial(m, k/m) / m with mean k/m and variance (k/m)(1 - k/m)/m.
    m, k = 50, 30
    easy = np.r_[np.ones(k), np.zeros(m - k)]
    res = supervision_gap_recovered(easy, np.ones(m), np.zeros(m), n_boot=20_000, seed=2)
    assert res.sgr == pytest.approx(0.6)
    assert res.boot.mean() == pytest.approx(0.6, abs=0.005)
    assert res.boot.var() == pytest.approx(0.6 * 0.4 / m, rel=0.05)


def naive_bootstrap(easy, hard, unsup, n_boot, rng):
    out = []
    n_items = easy.shape[1]
    for _ in range(n_boot):
        items = rng.integers(0, n_items, n_items)
        means = []
        for x in (easy, hard, unsup):
            seeds = rng.integers(0, x.shape[0], x.shape[0])
            means.append(x[np.ix_(seeds, items)].mean())
        e, h, u = means
        out.append((e - u) / (h - u))
    return np.quantile(out, [0.025, 0.975])


def test_interval_agrees_with_a_naive_loop():
    rng = np.random.default_rng(5)
    skill = rng.uniform(0.2, 0.9, 300)  # item easiness
    easy = (rng.random((4, 300)) < skill * 0.85).astype(float)
    hard = (rng.random((4, 300)) < skill).astype(float)
    unsup = (rng.random((2, 300)) < skill * 0.3).astype(float)
    res = supervision_gap_recovered(easy, hard, unsup, n_boot=3000, seed=0)
    lo, hi = naive_bootstrap(easy, hard, unsup, 3000, np.random.default_rng(99))
    assert res.lo == pytest.approx(lo, abs=0.03)
    assert res.hi == pytest.approx(hi, abs=0.03)
    assert res.lo < res.sgr < res.hi


def test_resampling_only_items_or_only_seeds():
    rng = np.random.default_rng(6)
    easy, hard, unsup = (rng.integers(0, 2, (3, 40)).astype(float) for _ in range(3))
    hard[:, :20] = 1.0
    only_items = supervision_gap_recovered(easy, hard, unsup, n_boot=500, over=("items",))
    only_seeds = supervision_gap_recovered(easy, hard, unsup, n_boot=500, over=["seeds"])
    both = supervision_gap_recovered(easy, hard, unsup, n_boot=500)
    assert only_items.sgr == only_seeds.sgr == both.sgr
    assert both.hi - both.lo >= 0.8 * max(only_items.hi - only_items.lo, only_seeds.hi - only_seeds.lo)


def test_undefined_resamples_are_counted_not_hidden():
    # H = 2/3, U = 1/3 overall, but a resample of item 0 three times has H == U == 1.
    res = supervision_gap_recovered([1, 0, 0], [1, 1, 0], [1, 0, 0], n_boot=2000, seed=0)
    assert res.n_undefined > 0
    assert np.isnan(res.boot).sum() == res.n_undefined
    assert np.isfinite(res.lo) and np.isfinite(res.hi)


def test_no_gap_is_a_clear_error():
    with pytest.raises(DataError, match="Hard == Unsup \\(0.5 == 0.5\\).*undefined"):
        supervision_gap_recovered([[1, 0]], [[1, 0]], [[0, 1]])


def test_no_bootstrap():
    res = supervision_gap_recovered([1, 0], [1, 1], [0, 0], n_boot=0)
    assert res.sgr == 0.5 and np.isnan(res.lo) and np.isnan(res.hi) and res.boot.size == 0


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([1, 0], [1, 1, 0], [0, 0]), {}, "same items; got 2, 3 and 2"),
        (([1, 2], [1, 1], [0, 0]), {}, "easy has values in \\[1, 2\\]"),
        (([1, np.nan], [1, 1], [0, 0]), {}, "easy contains NaN"),
        (([1, 0], np.zeros((1, 1, 2)), [0, 0]), {}, "hard has shape"),
        (([1, 0], [1, 1], np.zeros((0, 2))), {}, "unsup has shape \\(0, 2\\)"),
        (([1, 0], [1, 1], [0, 0]), {"n_boot": -1}, "n_boot == -1"),
        (([1, 0], [1, 1], [0, 0]), {"level": 0.0}, "level == 0.0"),
        (([1, 0], [1, 1], [0, 0]), {"over": ("models",)}, "over =="),
        (([1, 0], [1, 1], [0, 0]), {"seed": -3}, "seed == -3"),
    ],
)
def test_bad_inputs_raise(args, kwargs, match):
    with pytest.raises(DataError, match=match):
        supervision_gap_recovered(*args, **kwargs)
