"""Learning-curve fits: recovery of known curves, bootstrap intervals, inversion, regions."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from datafactors import DataError
from datafactors.scaling import (
    CurveComparison,
    DataNeeded,
    FrequencyFit,
    PowerLawFit,
    compare_curves,
    fit_frequency,
    fit_group_curves,
    fit_power_law,
    fits_table,
)

ALPHA, BETA, GAMMA = 2.0, -0.5, 0.05
SIZES = 2.0 ** np.arange(6, 15)  # 64 ... 16384, shards growing by powers of 2


def synthetic(seed=0, n_seeds=5, noise=0.002):
    rng = np.random.default_rng(seed)
    n = np.repeat(SIZES, n_seeds)
    err = ALPHA * n**BETA + GAMMA + rng.normal(0, noise, n.size)
    return n, err


@pytest.fixture(scope="module")
def fit() -> PowerLawFit:
    n, err = synthetic()
    return fit_power_law(n, err, n_boot=200, seed=0)


def test_recovers_parameters(fit):
    assert fit.alpha == pytest.approx(ALPHA, rel=0.05)
    assert fit.beta == pytest.approx(BETA, abs=0.02)
    assert fit.gamma == pytest.approx(GAMMA, abs=0.003)
    assert fit.n_points == SIZES.size * 5
    assert fit.ci_method == "within-n"
    assert (fit.n_min, fit.n_max) == (64.0, 16384.0)


def test_intervals_cover_truth_and_are_ordered(fit):
    for name, truth in zip(("alpha", "beta", "gamma"), (ALPHA, BETA, GAMMA), strict=True):
        lo, hi = fit.ci[name]
        assert lo <= getattr(fit, name) <= hi
        assert lo <= truth <= hi, (name, lo, hi)
    assert fit.boot.shape == (200, 3)
    assert (fit.boot[:, 0] >= 0).all() and (fit.boot[:, 1] < 0).all() and (fit.boot[:, 2] >= 0).all()


def test_noise_free_curve_is_recovered_exactly():
    f = fit_power_law(SIZES, ALPHA * SIZES**BETA + GAMMA, n_boot=0)
    assert (f.alpha, f.beta, f.gamma) == pytest.approx((ALPHA, BETA, GAMMA), rel=1e-6)
    assert f.rss < 1e-20
    assert f.ci_method == "none"
    assert all(math.isnan(v) for pair in f.ci.values() for v in pair)


def test_recovers_shallow_exponent_without_floor():
    # beta in the range the paper reports (-0.07 ... -0.35); gamma = 0 sits on its bound
    n = 2.0 ** np.arange(4, 20)
    f = fit_power_law(n, 0.9 * n**-0.2, n_boot=0)
    assert (f.alpha, f.beta) == pytest.approx((0.9, -0.2), rel=1e-4)
    assert f.gamma == pytest.approx(0.0, abs=1e-5)


def test_predict(fit):
    np.testing.assert_allclose(fit.predict([100.0, 1e4]), fit.alpha * np.array([100.0, 1e4]) ** fit.beta + fit.gamma)
    assert fit.predict(100).shape == ()
    assert fit.predict(np.ones((2, 3))).shape == (2, 3)


def test_predict_interval_brackets_prediction(fit):
    n = np.array([64.0, 1000.0, 16384.0, 1e6])
    lo, hi = fit.predict_interval(n)
    pred = fit.predict(n)
    assert lo.shape == hi.shape == (4,)
    assert np.all(lo <= pred) and np.all(pred <= hi)
    assert np.all(lo < hi)
    # the band is wider far beyond the data than at the largest observed size
    assert (hi - lo)[3] > (hi - lo)[2]


@pytest.mark.parametrize("target", [0.3, 0.1, 0.07, 0.055])
def test_data_needed_inverts_predict(fit, target):
    need = fit.data_needed(target)
    assert isinstance(need, DataNeeded)
    assert need.reachable
    assert float(fit.predict(need.n)) == pytest.approx(target, rel=1e-10)
    assert need.lo <= need.n <= need.hi


def test_data_needed_reason_mentions_extrapolation(fit):
    assert "within the observed range" in fit.data_needed(0.1).reason
    assert "beyond the largest observed n" in fit.data_needed(0.055).reason


def test_data_needed_unreachable_below_floor(fit):
    need = fit.data_needed(0.04)
    assert not need.reachable
    assert need.n == math.inf
    assert "gamma" in need.reason
    assert need.hi == math.inf


def test_data_needed_unreachable_below_gamma_interval():
    # gamma point estimate 0.05 but its interval (0.06, 0.07): 0.055 is not credibly reachable
    boot = np.array([[2.0, -0.5, 0.06], [2.0, -0.5, 0.07]])
    f = PowerLawFit(
        alpha=2.0,
        beta=-0.5,
        gamma=0.05,
        ci={"alpha": (2.0, 2.0), "beta": (-0.5, -0.5), "gamma": (0.06, 0.07)},
        n_points=10,
        boot=boot,
        n_min=10.0,
        n_max=1000.0,
    )
    need = f.data_needed(0.055)
    assert not need.reachable and need.n == math.inf
    assert "lower end of gamma" in need.reason
    assert need.lo == need.hi == math.inf
    assert f.data_needed(0.08).reachable


def test_bootstrap_is_deterministic_for_a_seed():
    n, err = synthetic(seed=1)
    f1 = fit_power_law(n, err, n_boot=20, seed=7)
    f2 = fit_power_law(n, err, n_boot=20, seed=np.random.default_rng(7))
    f3 = fit_power_law(n, err, n_boot=20, seed=8)
    np.testing.assert_array_equal(f1.boot, f2.boot)
    assert not np.array_equal(f1.boot, f3.boot)


def test_bootstrap_resamples_within_each_n():
    # Two identical seeds per n: resampling within each n reproduces the data exactly, so every
    # bootstrap fit equals the point fit (a resample across sizes would move it).
    rng = np.random.default_rng(5)
    err = ALPHA * SIZES**BETA + GAMMA + rng.normal(0, 0.002, SIZES.size)
    f = fit_power_law(np.repeat(SIZES, 2), np.repeat(err, 2), n_boot=10, seed=0)
    assert f.ci_method == "within-n"
    np.testing.assert_allclose(f.boot, np.tile([f.alpha, f.beta, f.gamma], (10, 1)), rtol=1e-8)


def test_single_point_per_n_uses_residual_bootstrap():
    rng = np.random.default_rng(2)
    err = ALPHA * SIZES**BETA + GAMMA + rng.normal(0, 0.002, SIZES.size)
    f = fit_power_law(SIZES, err, n_boot=30, seed=0)
    assert f.ci_method == "residual"
    lo, hi = f.ci["gamma"]
    assert lo < hi


def test_regions_follow_documented_rule(fit):
    reg = fit.regions()
    small_end, floor_start = reg["power_law"]
    assert reg["small_data"] == (0.0, small_end)
    assert reg["floor"] == (floor_start, math.inf)
    assert small_end == fit.n_min
    # floor starts where the local log-log slope has shrunk to 10% of beta
    assert float(fit.local_slope(floor_start)) == pytest.approx(0.1 * fit.beta, rel=1e-8)
    # with a best-guess error the small-data region ends where the curve reaches it
    reg2 = fit.regions(best_guess=0.9)
    assert float(fit.predict(reg2["small_data"][1])) == pytest.approx(0.9, rel=1e-10)


def test_regions_without_floor():
    f = PowerLawFit(alpha=1.0, beta=-0.3, gamma=0.0, ci={}, n_points=5, boot=np.empty((0, 3)), n_min=8.0, n_max=512.0)
    assert f.regions() == {"small_data": (0.0, 8.0), "power_law": (8.0, math.inf), "floor": (math.inf, math.inf)}


def test_to_dict_is_flat_and_json_serialisable(fit):
    d = fit.to_dict()
    json.dumps(d)
    for key in ("alpha", "beta", "gamma", "alpha_lo", "gamma_hi", "n_points", "n_boot", "small_data_end"):
        assert key in d
    assert d["alpha"] == fit.alpha and d["n_boot"] == 200


@pytest.mark.parametrize(
    ("n", "err", "kwargs", "match"),
    [
        ([1, 2, 2, 1], [0.5, 0.4, 0.4, 0.5], {}, "2 distinct values"),
        ([1, 2, 3], [0.5, np.nan, 0.3], {}, "err contains NaN"),
        ([1, 2, np.inf], [0.5, 0.4, 0.3], {}, "n contains NaN or inf"),
        ([0, 2, 3], [0.5, 0.4, 0.3], {}, "must be > 0"),
        ([-1, 2, 3], [0.5, 0.4, 0.3], {}, "must be > 0"),
        ([1, 2, 3], [0.5, 0.4], {}, "n has 3 points but err has 2"),
        ([[1, 2, 3]], [[0.5, 0.4, 0.3]], {}, "must be 1-D"),
        ([1, 2, 3], [0.5, 0.4, 0.3], {"n_boot": -1}, "n_boot == -1"),
        ([1, 2, 3], [0.5, 0.4, 0.3], {"level": 1.5}, "level == 1.5"),
        ([1, 2, 3], [0.5, 0.4, 0.3], {"seed": "x"}, "seed must be"),
    ],
)
def test_bad_inputs_raise(n, err, kwargs, match):
    with pytest.raises(DataError, match=match):
        fit_power_law(n, err, **kwargs)


def test_bad_targets_and_queries_raise(fit):
    with pytest.raises(DataError, match="target"):
        fit.data_needed(float("nan"))
    with pytest.raises(DataError, match="must be > 0"):
        fit.predict([0.0])
    with pytest.raises(DataError, match="floor_fraction"):
        fit.regions(floor_fraction=1.0)
    no_boot = fit_power_law(SIZES, ALPHA * SIZES**BETA + GAMMA, n_boot=0)
    with pytest.raises(DataError, match="n_boot == 0"):
        no_boot.predict_interval(100)


def test_rising_data_gives_the_documented_flat_fit():
    # error that grows with n has no reducible part: alpha = 0, beta = 0, gamma = mean(err)
    f = fit_power_law([10, 100, 1000, 10000], [0.1, 0.2, 0.3, 0.4], n_boot=0)
    assert f.flat
    assert (f.alpha, f.beta) == (0.0, 0.0)
    assert f.gamma == pytest.approx(0.25, abs=1e-12)


# --- frequency fits -------------------------------------------------------------------


def test_fit_frequency_exact_log_linear():
    freq = np.array([1, 10, 100, 1000, 1e4])
    perf = 0.05 * np.log(freq) + 0.2
    res = fit_frequency(freq, perf)
    assert isinstance(res, FrequencyFit)
    a, b, r = res
    assert (a, b, r) == pytest.approx((0.05, 0.2, 1.0), abs=1e-12)


def test_fit_frequency_matches_linregress():
    rng = np.random.default_rng(0)
    freq = rng.zipf(1.5, 50).astype(float)
    freq[0] = 1.0
    freq[1] = 1000.0
    perf = 0.1 * np.log(freq) + rng.normal(0, 0.2, 50)
    ref = stats.linregress(np.log(freq), perf)
    a, b, r = fit_frequency(freq, perf)
    assert (a, b, r) == pytest.approx((ref.slope, ref.intercept, ref.rvalue), abs=1e-10)


def test_fit_frequency_constant_perf_gives_nan_r():
    a, b, r = fit_frequency([1, 10, 100], [0.5, 0.5, 0.5])
    assert a == pytest.approx(0.0, abs=1e-12) and b == pytest.approx(0.5) and math.isnan(r)


@pytest.mark.parametrize(
    ("freq", "perf", "match"),
    [
        ([0, 1, 2], [0.1, 0.2, 0.3], "freq has minimum 0"),
        ([1, 2], [0.1, 0.2, 0.3], "freq has 2 values but perf has 3"),
        ([5, 5, 5], [0.1, 0.2, 0.3], "single distinct value"),
        ([1, 2, 3], [0.1, np.nan, 0.3], "perf contains NaN"),
    ],
)
def test_fit_frequency_bad_inputs(freq, perf, match):
    with pytest.raises(DataError, match=match):
        fit_frequency(freq, perf)


# --- flat curves ----------------------------------------------------------------------


def test_constant_curve_is_the_documented_flat_fit():
    n = np.repeat([100.0, 200.0, 400.0, 800.0], 2)
    f = fit_power_law(n, np.full(n.size, 0.3), n_boot=20, seed=0)
    assert f.flat and (f.alpha, f.beta) == (0.0, 0.0)
    assert f.gamma == pytest.approx(0.3, abs=1e-12)
    for name in ("alpha", "beta", "gamma"):
        lo, hi = f.ci[name]
        assert lo == hi == pytest.approx({"alpha": 0.0, "beta": 0.0, "gamma": 0.3}[name])
    np.testing.assert_allclose(f.predict([1.0, 1e6]), 0.3)
    lo, hi = f.predict_interval([50.0])
    assert lo[0] == pytest.approx(0.3) and hi[0] == pytest.approx(0.3)
    assert f.regions() == {"small_data": (0.0, 0.0), "power_law": (0.0, 0.0), "floor": (0.0, math.inf)}
    met = f.data_needed(0.35)
    assert met.reachable and met.n == 100.0 and "flat curve" in met.reason
    assert met.lo == met.hi == 100.0
    never = f.data_needed(0.25)
    assert not never.reachable and never.n == math.inf
    d = f.to_dict()
    assert not any(isinstance(v, float) and math.isnan(v) for v in d.values())


def test_profile_closed_form_matches_scipy_nnls():
    from scipy.optimize import nnls

    from datafactors.scaling import _BETA_GRID, _profile_many

    rng = np.random.default_rng(0)
    for trial in range(20):
        x = np.sort(rng.uniform(0.01, 1.0, 12))
        x[-1] = 1.0
        e = rng.normal(0.3, 0.2, 12) if trial % 2 else 0.5 * x**-0.3 + rng.normal(0, 0.05, 12)
        a, g, rss = _profile_many(x, e, _BETA_GRID)
        for k, b in enumerate(_BETA_GRID):
            col = x**b
            coef, rnorm = nnls(np.column_stack([col / col.max(), np.ones_like(col)]), e)
            assert rss[k] == pytest.approx(rnorm**2, rel=1e-9, abs=1e-12)
            assert a[k] * col.max() == pytest.approx(coef[0], rel=1e-6, abs=1e-9)
            assert g[k] == pytest.approx(coef[1], rel=1e-6, abs=1e-9)


# --- per-group curves -----------------------------------------------------------------


def test_group_curves_recover_each_groups_exponent():
    rng = np.random.default_rng(1)
    rows = []
    for g, (a, b, c) in {"easy": (1.0, -0.6, 0.02), "hard": (1.5, -0.2, 0.1)}.items():
        for n in SIZES:
            for _ in range(3):
                rows.append((n, a * n**b + c + rng.normal(0, 0.001), g))
    n, err, grp = (np.array(col) for col in zip(*rows, strict=True))
    fits = fit_group_curves(n.astype(float), err.astype(float), grp, n_boot=30, seed=0)
    assert list(fits) == ["easy", "hard"]
    assert fits["easy"].beta == pytest.approx(-0.6, abs=0.05)
    assert fits["hard"].beta == pytest.approx(-0.2, abs=0.05)
    # same seed -> a group's fit does not depend on the other groups
    alone = fit_power_law(n[grp == "hard"].astype(float), err[grp == "hard"].astype(float), n_boot=30, seed=0)
    np.testing.assert_array_equal(alone.boot, fits["hard"].boot)
    table = fits_table(fits)
    assert table["group"].tolist() == ["easy", "hard"]
    assert {"alpha", "beta", "gamma", "beta_lo", "beta_hi", "flat"} <= set(table.columns)


def test_group_curves_name_the_group_that_cannot_be_fitted():
    n = np.array([10, 20, 40, 10, 20], dtype=float)
    err = np.array([0.5, 0.4, 0.3, 0.5, 0.4])
    grp = np.array(["a", "a", "a", "b", "b"])
    with pytest.raises(DataError, match="group 'b': n has 2 distinct values"):
        fit_group_curves(n, err, grp, n_boot=0)
    with pytest.raises(DataError, match="same length"):
        fit_group_curves(n, err, grp[:4])
    with pytest.raises(DataError, match="missing value"):
        fit_group_curves(n, err, np.array(["a", None, "a", "b", "b"], dtype=object))


# --- comparing strategies by their curves ---------------------------------------------


def _curve(alpha, beta, gamma, boot=None, n_min=1.0, n_max=1e5):
    return PowerLawFit(
        alpha=alpha,
        beta=beta,
        gamma=gamma,
        ci={},
        n_points=8,
        boot=np.empty((0, 3)) if boot is None else boot,
        n_min=n_min,
        n_max=n_max,
    )


def test_single_crossing_by_hand():
    # 4 n^-0.5 = n^-0.25  <=>  n^0.25 = 4  <=>  n = 256; below it the shallow curve is lower.
    steep, shallow = _curve(4.0, -0.5, 0.0), _curve(1.0, -0.25, 0.0)
    cmp = compare_curves({"steep": steep, "shallow": shallow}, n_range=(10.0, 1e4))
    assert isinstance(cmp, CurveComparison)
    assert len(cmp.crossings) == 1
    row = cmp.crossings.iloc[0]
    assert row.n_cross == pytest.approx(256.0, rel=1e-9)
    assert row.err_cross == pytest.approx(0.25, rel=1e-9)
    assert (row.better_below, row.better_above) == ("shallow", "steep")
    assert math.isnan(row.n_cross_lo) and math.isnan(row.boot_fraction)
    w = cmp.winners
    assert w["best"].tolist() == ["shallow", "steep"]
    assert w["n_lo"].tolist()[0] == 10.0 and w["n_hi"].tolist()[-1] == 1e4
    assert w["n_hi"].iloc[0] == pytest.approx(256.0, rel=1e-9)
    assert (w["margin"] > 0).all()
    assert cmp.best_at([100.0, 1000.0]).tolist() == ["shallow", "steep"]


def test_two_crossings_match_a_dense_grid():
    a, b = _curve(2.0, -1.0, 0.10), _curve(1.0, -0.5, 0.05)
    cmp = compare_curves({"a": a, "b": b}, n_range=(1.0, 1e6))
    n = np.geomspace(1.0, 1e6, 2_000_001)
    d = a.predict(n) - b.predict(n)
    want = n[np.flatnonzero(np.sign(d[:-1]) != np.sign(d[1:]))]
    assert len(want) == 2
    np.testing.assert_allclose(cmp.crossings["n_cross"], want, rtol=1e-5)
    assert cmp.winners["best"].tolist() == ["b", "a", "b"]


def test_crossing_interval_from_paired_bootstraps():
    rng = np.random.default_rng(0)
    alphas = 4.0 * np.exp(rng.normal(0, 0.05, 400))
    boot_a = np.column_stack([alphas, np.full(400, -0.5), np.zeros(400)])
    boot_b = np.tile([1.0, -0.25, 0.0], (400, 1))
    cmp = compare_curves(
        {"a": _curve(4.0, -0.5, 0.0, boot_a), "b": _curve(1.0, -0.25, 0.0, boot_b)}, n_range=(10.0, 1e4)
    )
    row = cmp.crossings.iloc[0]
    # crossing at (alpha_a / 1)^4: its interval is the mapped alpha interval
    want = np.quantile(alphas**4, [0.025, 0.975])
    assert row.n_cross_lo == pytest.approx(want[0], rel=0.03)
    assert row.n_cross_hi == pytest.approx(want[1], rel=0.03)
    assert row.boot_fraction == 1.0


def test_identical_or_parallel_curves_do_not_cross():
    f = _curve(1.0, -0.3, 0.1)
    cmp = compare_curves({"x": f, "y": _curve(1.0, -0.3, 0.1), "z": _curve(1.0, -0.3, 0.2)}, n_range=(10, 1e4))
    assert cmp.crossings.empty
    assert cmp.winners["best"].tolist() == ["x"]


def test_default_range_is_the_observed_sizes_and_bad_inputs_raise():
    a, b = _curve(4.0, -0.5, 0.0, n_min=64, n_max=4096), _curve(1.0, -0.25, 0.0, n_min=32, n_max=2048)
    assert compare_curves({"a": a, "b": b}).n_range == (32.0, 4096.0)
    with pytest.raises(DataError, match="needs >= 2 fitted curves"):
        compare_curves({"a": a})
    with pytest.raises(DataError, match="n_range"):
        compare_curves({"a": a, "b": b}, n_range=(100.0, 10.0))
    with pytest.raises(DataError, match="must be a PowerLawFit"):
        compare_curves({"a": a, "b": (1, 2, 3)})
    with pytest.raises(DataError, match="pass n_range"):
        compare_curves({"a": _curve(1.0, -0.5, 0.0, n_min=math.nan), "b": b})


def test_fit_without_a_floor_matches_scipy_curve_fit_and_keeps_gamma_at_zero():
    # Noisy points of a curve with a floor, fitted as a pure power law a * n^b: the same least
    # squares as scipy's curve_fit (an independent optimizer, started near the optimum).
    from scipy.optimize import curve_fit

    rng = np.random.default_rng(3)
    n = np.repeat(2.0 ** np.arange(6, 12), 4)
    err = 0.8 * n**-0.4 + 0.03 + rng.normal(0, 0.003, n.size)
    fit = fit_power_law(n, err, n_boot=50, floor=False)
    (a, b), _ = curve_fit(lambda n, a, b: a * n**b, n, err, p0=(fit.alpha, fit.beta), maxfev=20000)
    assert fit.gamma == 0.0 and fit.ci["gamma"] == (0.0, 0.0)
    assert fit.alpha == pytest.approx(a, rel=1e-5) and fit.beta == pytest.approx(b, rel=1e-5)
    with_floor = fit_power_law(n, err, n_boot=0)
    assert with_floor.gamma > 0.01 and with_floor.rss < fit.rss  # the floor is real here and fits better
    assert fit.predict(np.array([2.0**16]))[0] < with_floor.predict(np.array([2.0**16]))[0]
    with pytest.raises(DataError, match="floor == 'no'"):
        fit_power_law(n, err, floor="no")
