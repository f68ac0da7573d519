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
