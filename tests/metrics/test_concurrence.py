"""Concurrence: scipy's Kendall tau-b for 1-D, seed-paired averages for 2-D."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from datafactors import DataError
from datafactors.metrics import concurrence, saturation_simulation
from datafactors.metrics.concurrence import DEFAULT_REGIMES


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


def test_undefined_policy_for_constant_columns():
    a = np.array([[0.9, 0.2], [0.9, 0.5], [0.9, 0.7]])  # seed 0 saturated (constant), seed 1 informative
    b = np.array([0.1, 0.5, 0.7])
    assert np.isnan(concurrence(a, b))
    # the constant pair counts as 0, the other as tau = 1 -> (0 + 1) / 2
    assert concurrence(a, b, undefined="zero") == pytest.approx(0.5)
    with pytest.raises(DataError, match="1 of 2 seed pairs have a constant score column"):
        concurrence(a, b, undefined="raise")
    with pytest.raises(DataError, match="undefined == 'skip'"):
        concurrence(a, b, undefined="skip")


@pytest.fixture(scope="module")
def sim():
    return saturation_simulation(n_reps=8, seed=0).set_index("regime")


def test_saturation_simulation_regimes(sim):
    assert list(sim.index) == list(DEFAULT_REGIMES)
    assert set(sim.columns) >= {"mean_score_a", "mean_score_b", "tau", "tau_sd", "undefined_fraction", "tau_true_skill"}
    inf, sat, flo = sim.loc["both informative"], sim.loc["both saturated"], sim.loc["both floored"]
    # informative benchmarks agree; saturated or floored ones look like they do not,
    # although all rank the same true skills
    assert inf["tau"] > 0.6
    assert sat["mean_score_a"] > 0.99 and flo["mean_score_a"] < 0.01
    assert sat["tau"] < 0.35 and flo["tau"] < 0.35
    assert sim.loc["one saturated", "tau"] < inf["tau"] - 0.3
    assert sat["tau_true_skill"] < inf["tau_true_skill"]
    assert not sim[["tau", "tau_sd", "undefined_fraction"]].isna().any().any()


def test_saturation_simulation_is_deterministic_and_configurable():
    a = saturation_simulation(regimes={"mid": (0.0, 0.0)}, n_models=6, n_items=20, n_seeds=2, n_reps=2, seed=3)
    b = saturation_simulation(regimes={"mid": (0.0, 0.0)}, n_models=6, n_items=20, n_seeds=2, n_reps=2, seed=3)
    assert a.equals(b) and list(a["regime"]) == ["mid"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"regimes": {}}, "regimes is empty"),
        ({"regimes": {"x": (1.0,)}}, "regime 'x'"),
        ({"regimes": {"x": (np.inf, 0.0)}}, "offsets must be finite"),
        ({"n_models": 1}, "need >= 2"),
        ({"n_items": 0}, "n_items == 0"),
        ({"skill_sd": 0.0}, "skill_sd == 0.0"),
    ],
)
def test_saturation_simulation_bad_settings(kwargs, match):
    with pytest.raises(DataError, match=match):
        saturation_simulation(**kwargs)
