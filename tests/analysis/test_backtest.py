"""The learning-curve backtest: refit on budgets up to half the largest, predict the largest, compare."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datafactors._errors import DataError
from datafactors.analysis.backtest import BACKTEST_COLUMNS, backtest_summary, backtest_table

SIZES = np.array([100, 200, 400, 800, 1600], dtype=float)


def _points(err_of, strategy="random", seeds=3, noise=0.002, seed=0):
    rng = np.random.default_rng(seed)
    n = np.repeat(SIZES, seeds)
    err = err_of(n) + rng.normal(0, noise, len(n))
    return pd.DataFrame({"strategy": strategy, "eval_set": "id_test", "n_train": n, "seed": 0, "err": err})


def test_a_true_power_law_is_predicted_and_covered():
    truth = lambda n: 0.6 * n**-0.5 + 0.05  # noqa: E731
    row = backtest_table(_points(truth), n_boot=200).iloc[0]
    assert list(backtest_table(_points(truth), n_boot=20).columns) == BACKTEST_COLUMNS
    assert row["n_fit_max"] == 800 and row["n_pred"] == 1600 and row["n_points"] == 12 and row["status"] == "ok"
    assert row["pred"] == pytest.approx(truth(1600.0), abs=0.004)  # 0.065 from the four small budgets
    assert row["lo"] <= row["measured"] <= row["hi"] and bool(row["covered"])


def test_a_curve_that_bends_after_the_fitted_budgets_is_not_covered():
    # Falls as a power law up to 800, then the largest budget drops far below the extrapolation
    # (e.g. a selection that only pays off at full size): the interval must miss it.
    def bend(n):
        return np.where(n < 1600, 0.6 * n**-0.5 + 0.05, 0.02)

    row = backtest_table(_points(bend), n_boot=200).iloc[0]
    assert row["status"] == "ok" and row["pred"] > 0.06
    assert row["measured"] == pytest.approx(0.02, abs=0.003) and not bool(row["covered"])
    line = backtest_summary(backtest_table(_points(bend), n_boot=50))
    assert "held the measured error for 0 of 1 curves" in line and "Missed: random on id_test" in line


def _exact(sizes, err_of, seeds=3):
    n = np.repeat(np.asarray(sizes, dtype=float), seeds)
    return pd.DataFrame({"strategy": "random", "eval_set": "id_test", "n_train": n, "seed": 0, "err": err_of(n)})


def _power(n):
    return 0.6 * n**-0.5 + 0.05


def test_an_exact_power_law_has_no_shape_error_and_keeps_the_bootstrap_interval():
    pts = _exact(SIZES, _power)
    row = backtest_table(pts, n_boot=50).iloc[0]
    boot = backtest_table(pts, n_boot=50, shape_check=False).iloc[0]
    assert row["shape_error"] == pytest.approx(0.0, abs=1e-6) and np.isnan(boot["shape_error"])
    assert row["lo"] == pytest.approx(boot["lo"], rel=1e-6) and row["hi"] == pytest.approx(boot["hi"], rel=1e-6)
    assert row["pred"] == pytest.approx(_power(1600.0), rel=1e-6) and bool(row["covered"])


def test_a_curve_that_bends_inside_the_fitted_budgets_widens_the_interval_by_its_residual():
    # A power law on 100, 200, 400, then 10% above it at 800 = n_fit_max (and 0.06 at 1600):
    # the refit on n <= 400 is the power law itself, so it predicts 0.6 / sqrt(800) + 0.05 =
    # 0.0712 at 800 and misses by a factor 1.1; the backtest reaches from 800 to 1600, as far
    # in log n as 400 to 800, so shape_error = log(1.1) * log(2) / log(2) = 0.0953 and the
    # interval is the bootstrap one divided / multiplied by 1.1.
    def bend(n):
        return np.where(n <= 400, _power(n), np.where(n == 800, 1.1 * _power(800.0), 0.06))

    pts = _exact(SIZES, bend)
    row = backtest_table(pts, n_boot=100).iloc[0]
    boot = backtest_table(pts, n_boot=100, shape_check=False).iloc[0]
    assert row["shape_error"] == pytest.approx(np.log(1.1), rel=1e-4)
    assert row["lo"] == pytest.approx(boot["lo"] / 1.1, rel=1e-4)
    assert row["hi"] == pytest.approx(boot["hi"] * 1.1, rel=1e-4)
    assert row["pred"] == pytest.approx(boot["pred"]) and row["lo"] < row["pred"] < row["hi"]


def test_the_shape_error_is_scaled_by_the_reach_of_the_backtest():
    # Sizes 100, 200, 300, 400, 1000: n_fit_max = 400, half of it (200) leaves two sizes, so the
    # inner refit takes the three smallest (<= 300) and predicts 400: a reach of log(4/3) in
    # log n, against log(1000/400) for the backtest itself. 5% off at 400 gives
    # shape_error = log(1.05) * log(2.5) / log(4/3) = 0.0488 * 3.185 = 0.1554.
    def bend(n):
        return np.where(n <= 300, _power(n), np.where(n == 400, 1.05 * _power(400.0), 0.065))

    row = backtest_table(_exact([100, 200, 300, 400, 1000], bend), n_boot=50).iloc[0]
    assert row["n_fit_max"] == 400 and row["n_pred"] == 1000
    assert row["shape_error"] == pytest.approx(np.log(1.05) * np.log(2.5) / np.log(4 / 3), rel=1e-4)
    assert row["shape_error"] == pytest.approx(0.1554, abs=1e-4)


def test_three_fitted_sizes_give_no_shape_check_and_the_summary_says_so():
    pts = _exact([100, 200, 400, 800], _power)  # fitted: 100, 200, 400 -- no fourth size to check the shape on
    row = backtest_table(pts, n_boot=50).iloc[0]
    boot = backtest_table(pts, n_boot=50, shape_check=False).iloc[0]
    assert row["status"] == "ok" and np.isnan(row["shape_error"])
    assert (row["lo"], row["hi"]) == (boot["lo"], boot["hi"])
    assert "1 of the 1 intervals had no shape check" in backtest_summary(backtest_table(pts, n_boot=20))
    assert "no shape check" not in backtest_summary(backtest_table(_exact(SIZES, _power), n_boot=20))
    with pytest.raises(DataError, match="shape_check == 'yes'"):
        backtest_table(pts, shape_check="yes")


def test_the_summary_says_when_every_strategy_shares_the_largest_size():
    # At the whole pool every strategy trains on the same rows: a selection's curve (here a
    # steeper one) is then checked against the pool's error, and the summary says so.
    full = _exact(SIZES, _power)
    steep = _exact(SIZES, lambda n: np.where(n < 1600, 2.0 * n**-0.5 + 0.05, _power(1600.0))).assign(strategy="el2n")
    line = backtest_summary(backtest_table(pd.concat([full, steep]), n_boot=20))
    assert "At n = 1,600 all 2 strategies measured the same error" in line
    assert "measured the same error" not in backtest_summary(backtest_table(full, n_boot=20))


def test_too_short_and_flat_curves_say_so():
    short = _points(lambda n: 0.6 * n**-0.5)
    short = short[short["n_train"] >= 400]  # sizes 400, 800, 1600: only 400 and 800 are <= 800
    row = backtest_table(short, n_boot=20).iloc[0]
    assert row["status"].startswith("too short: 2 sizes") and pd.isna(row["covered"]) and np.isnan(row["pred"])
    flat = backtest_table(_points(lambda n: 0.3 + 0 * n, noise=0.0), n_boot=20).iloc[0]
    assert flat["status"].startswith("flat") and pd.isna(flat["covered"])
    assert "cannot be checked" in backtest_summary(backtest_table(short, n_boot=20))


def test_one_row_per_strategy_and_eval_set_and_bad_level():
    pts = pd.concat([_points(lambda n: 0.6 * n**-0.5 + 0.05, "random"), _points(lambda n: 0.4 * n**-0.4, "el2n")])
    out = backtest_table(pts, n_boot=20)
    assert out["strategy"].tolist() == ["el2n", "random"] and (out["level"] == 0.9).all()
    with pytest.raises(DataError, match="level == 1.5"):
        backtest_table(pts, level=1.5)


def test_a_floor_the_small_budgets_cannot_pin_is_spanned_by_the_floor_free_fit():
    # 100..800 lie exactly on 0.6 / sqrt(n) + 0.05, so every bootstrap refit with a floor predicts
    # 0.065 at 1600. A pure power law a * n^b fits the same four points a little worse and
    # extrapolates lower (scipy's curve_fit, an independent fit, gives it); the measured error
    # at 1600 lies between the two: only the interval that spans the floor-free fit holds it.
    from scipy.optimize import curve_fit

    sizes = SIZES[:-1]
    (a, b), _ = curve_fit(lambda n, a, b: a * n**b, sizes, _power(sizes), p0=(0.6, -0.3), maxfev=20000)
    no_floor = a * 1600.0**b
    assert no_floor < _power(1600.0) - 0.002  # the two laws are told apart only past the data
    measured = (no_floor + _power(1600.0)) / 2
    pts = _exact(SIZES, lambda n: np.where(n < 1600, _power(n), measured))
    with_floor_only = backtest_table(pts, n_boot=100, floor_free=False).iloc[0]
    row = backtest_table(pts, n_boot=100).iloc[0]
    assert row["pred_no_floor"] == pytest.approx(no_floor, rel=1e-4) and np.isnan(with_floor_only["pred_no_floor"])
    assert with_floor_only["hi"] == pytest.approx(_power(1600.0), rel=1e-6) and not bool(with_floor_only["covered"])
    assert row["lo"] < measured < row["hi"] and bool(row["covered"])
    assert row["pred"] == pytest.approx(_power(1600.0), rel=1e-6)  # the point prediction stays the fit with a floor
    with pytest.raises(DataError, match="floor_free == 1"):
        backtest_table(pts, floor_free=1)


def _pool_points():
    # random follows the power law; a steeper selection (say EL2N-hardest) is far above it
    # below 100%, and at 100% = 1,600 rows trains on the pool's rows: random's error.
    rand = _exact(SIZES, _power)
    steep = _exact(SIZES, lambda n: np.where(n < 1600, 2.0 * n**-0.5 + 0.05, _power(1600.0))).assign(strategy="el2n")
    return pd.concat([rand, steep], ignore_index=True)


def test_a_whole_pool_selection_also_spans_the_random_curve_there():
    pts = _pool_points()
    alone = backtest_table(pts, n_boot=50).set_index("strategy")  # a frame has no pool size: nothing anchored
    pooled = backtest_table(pts, n_boot=50, n_pool=1600).set_index("strategy")
    # Its own curve, an exact law, predicts 2 / 40 + 0.05 = 0.1 with no width, and misses 0.065.
    assert alone.loc["el2n", "pred"] == pytest.approx(0.1, rel=1e-6) and not bool(alone.loc["el2n", "covered"])
    assert alone.loc["el2n", "anchor"] == "" and pooled.loc["random", "anchor"] == ""
    assert pooled.loc["el2n", "anchor"] == "random" and bool(pooled.loc["el2n", "covered"])
    assert pooled.loc["el2n", "lo"] == pytest.approx(min(alone.loc["el2n", "lo"], alone.loc["random", "lo"]))
    assert pooled.loc["el2n", "hi"] == pytest.approx(max(alone.loc["el2n", "hi"], alone.loc["random", "hi"]))
    assert pooled.loc["el2n", "pred"] == alone.loc["el2n", "pred"]  # the prediction stays its own curve's
    # A pool larger than the largest budget: the selection never reached it, so nothing is joined.
    assert backtest_table(pts, n_boot=20, n_pool=3200).set_index("strategy").loc["el2n", "anchor"] == ""
    assert backtest_table(pts, n_boot=20, n_pool=1600, anchor=None).set_index("strategy").loc["el2n", "anchor"] == ""
    line = backtest_summary(backtest_table(pts, n_boot=20, n_pool=1600))
    assert "the selections' intervals there also span the random curve's" in line
    assert "no plain random strategy anchors them" in backtest_summary(backtest_table(pts, n_boot=20))
    with pytest.raises(DataError, match="anchor == 'uniform' is not a strategy"):
        backtest_table(pts, anchor="uniform", n_pool=1600)
    with pytest.raises(DataError, match="n_pool == -1"):
        backtest_table(pts, n_pool=-1)


def test_a_run_anchors_its_plain_random_strategy_and_not_augmented_ones(tmp_path):
    import yaml

    from datafactors.store import RunStore

    store = RunStore(tmp_path)
    store.write_manifest({"run_id": "hand", "status": "complete", "dataset": {"n_train": 1600}})
    strategies = [
        {"name": "hard", "selector": "hardest", "score": "el2n"},
        {"name": "hard_aug", "selector": "hardest", "score": "el2n", "augment": "generic"},
        {"name": "balanced", "selector": "random", "class_balanced": True},
        {"name": "uniform", "selector": "random"},
    ]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"strategies": strategies}), encoding="utf-8")
    curves = {"uniform": _power, "balanced": _power, "hard": None, "hard_aug": None}
    for name, law in curves.items():
        for n in SIZES:
            err = law(n) if law is not None else (_power(n) if n == 1600 else 2.0 * n**-0.5 + 0.05)
            for seed in range(3):
                trial = {"trial_id": f"{name}/{n}/{seed}", "strategy": name, "budget": n / 1600, "n_train": int(n),
                         "seed": seed, "learner": "mlp", "status": "ok", "error": None, "seconds": 0.1}  # fmt: skip
                store.write_trial(trial, [("id_test", "accuracy", 1.0 - float(err))])
    bt = backtest_table(store, n_boot=20).set_index("strategy")
    assert bt["anchor"].to_dict() == {"balanced": "uniform", "hard": "uniform", "hard_aug": "", "uniform": ""}
    assert bool(bt.loc["hard", "covered"]) and not bool(bt.loc["hard_aug", "covered"])
