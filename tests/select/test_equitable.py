"""Equitable adaptive sampling: baselines, curve estimates, allocation on known curves, the selector."""

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.select import select
from datafactors.select.equitable import (
    curve_gain,
    curve_predict,
    equal_allocation,
    equitable_allocate,
    proportional_allocation,
)


def test_equal_and_proportional_allocation():
    assert equal_allocation([100, 100, 100], 30).tolist() == [10, 10, 10]
    assert equal_allocation([100, 5, 100], 30).tolist() == [13, 5, 12]
    assert proportional_allocation([300, 100, 100], 50).tolist() == [30, 10, 10]
    assert proportional_allocation([700, 150, 150], 900).tolist() == [630, 135, 135]


def test_curve_estimates_by_hand():
    n = np.array([50, 100, 200, 400])
    pred, how = curve_predict(n, 2 * n**-0.5 + 0.1, [100, 400])
    assert how == "power-law"
    np.testing.assert_allclose(pred, [0.3, 0.2], atol=1e-6)
    g, how = curve_gain(n, 2 * n**-0.5 + 0.1, 100, 300)
    assert how == "power-law" and g == pytest.approx(0.1, abs=1e-6)
    # secant through the mean errors at two sizes; never rising, clipped at zero
    g, how = curve_gain([10, 20, 20], [0.5, 0.38, 0.42], 20, 10)
    assert how == "secant" and g == pytest.approx(0.1)
    assert curve_gain([10, 20], [0.4, 0.5], 20, 10) == (0.0, "secant")
    pred, _ = curve_predict([10, 20], [0.2, 0.1], [20, 100])
    assert pred.tolist() == [pytest.approx(0.1), 0.0]
    assert curve_gain([10, 10], [0.5, 0.4], 10, 10) == (float("inf"), "explore")


def _known(curves):
    """evaluate() for groups whose error is exactly curves[g](n_g)."""

    def ev(counts):
        return np.array([f(max(int(c), 1)) for f, c in zip(curves, counts, strict=True)])

    return ev


def test_allocation_on_known_curves_worst_group():
    # group 0 saturates at 0.05, group 1 (the worst) falls as 1 / sqrt(n) with a floor of 0.1
    curves = [lambda n: 0.05 + 0.5 * n**-1.0, lambda n: 0.1 + 2.0 * n**-0.5]
    r = equitable_allocate(_known(curves), [1000, 1000], 400, batch=20, initial=20)
    assert r.counts.sum() == 400 and r.batches.sum() == 360
    # exploration first: each group gets one batch (the worse first); then group 1, the worst,
    # on its secant and then on its fitted curve, gets every batch: it stays worst throughout
    assert r.steps[:3].tolist() == [1, 0, 1]
    assert r.counts.tolist() == [40, 360]
    first = r.history[r.history["round"] == 0]
    assert first["method"].tolist() == ["explore", "explore"]
    g1 = r.history[(r.history["group"] == 1) & (r.history["round"] >= 3) & r.history["chosen"]]
    assert (g1["method"] == "power-law").all() and (g1["gain"] > 0).all()


def test_worst_group_at_its_floor_does_not_absorb_the_budget():
    # group 1 is worst but flat (irreducible 0.3); group 0 can still improve: with the "worst"
    # objective no batch lowers the worst error, so the groups' own gains decide -> group 0.
    curves = [lambda n: 0.05 + 1.0 * n**-0.5, lambda n: 0.3]
    r = equitable_allocate(_known(curves), [1000, 1000], 300, batch=20, initial=20)
    assert r.counts[0] > r.counts[1]
    assert r.counts[1] <= 60  # only the exploration batches (two sizes do not make a fitted curve)


def test_sum_objective_and_costs():
    curves = [lambda n: 0.1 + 1.0 * n**-0.5, lambda n: 0.1 + 1.2 * n**-0.5]
    worst = equitable_allocate(_known(curves), [2000, 2000], 600, batch=20, initial=20)
    total = equitable_allocate(_known(curves), [2000, 2000], 600, batch=20, initial=20, objective="sum")
    assert worst.counts[1] > worst.counts[0] and total.counts[1] > total.counts[0]
    # a four times higher cost per example of group 1 moves the "sum" allocation to group 0
    costly = equitable_allocate(
        _known(curves), [2000, 2000], 600, batch=20, initial=20, objective="sum", costs=[1.0, 4.0]
    )
    assert costly.counts[0] > costly.counts[1]


def test_capacity_and_history():
    curves = [lambda n: 0.1, lambda n: 0.5 * n**-0.3]
    r = equitable_allocate(_known(curves), [1000, 50], 200, batch=30, initial=10)
    assert r.counts.tolist() == [150, 50]  # group 1 is used up, then the rest goes to group 0
    h = r.history
    assert set(h.columns) >= {"round", "group", "n", "error", "estimate", "gain", "own_gain", "method", "chosen"}
    assert h.groupby("round")["chosen"].sum().iloc[:-1].eq(1).all()
    assert r.worst_error() == pytest.approx(max(0.1, 0.5 * 50**-0.3))


def test_allocate_bad_inputs():
    ev = _known([lambda n: 0.1, lambda n: 0.2])
    with pytest.raises(df.DataError, match="k == 300, must be <= the rows available"):
        equitable_allocate(ev, [100, 100], 300, batch=10)
    with pytest.raises(df.ConfigError, match="batch == 0"):
        equitable_allocate(ev, [100, 100], 50, batch=0)
    with pytest.raises(df.ConfigError, match="objective == 'mean'"):
        equitable_allocate(ev, [100, 100], 50, batch=10, objective="mean")
    with pytest.raises(df.ConfigError, match="costs must be 2 finite numbers > 0"):
        equitable_allocate(ev, [100, 100], 50, batch=10, costs=[1.0, 0.0])
    with pytest.raises(df.DataError, match="initial allocation"):
        equitable_allocate(ev, [100, 100], 50, batch=10, initial=30)
    with pytest.raises(df.DataError, match="evaluate returned"):
        equitable_allocate(lambda c: np.array([0.1]), [100, 100], 50, batch=10)


def _group_ds(n=600, seed=0):
    rng = np.random.default_rng(seed)
    g = np.where(np.arange(n) < int(0.7 * n), "big", np.where(np.arange(n) % 2, "small", "hard"))
    X = rng.normal(size=(n, 6))
    y = np.where(g == "hard", X[:, :5].sum(1) > 0, X[:, 0] > 0).astype(int)
    return df.Dataset.from_arrays(np.c_[X, (g == "hard") * 2.0, (g == "small") * 2.0], y, groups=g)


def test_equitable_selector_budgets_and_baselines():
    ds = _group_ds()
    sizes = pd.Series(ds.groups).value_counts()
    for alloc, want in (("equal", {"big": 40, "hard": 40, "small": 40}), ("proportional", None)):
        idx = select(ds, "equitable", 120, allocation=alloc, seed=0)
        assert len(set(idx.tolist())) == 120
        got = pd.Series(ds.groups[idx]).value_counts().to_dict()
        if want:
            assert got == want
        else:
            assert got["big"] == round(120 * sizes["big"] / 600)
    a = select(ds, "equitable", 150, batch=30, initial=10, seed=1)
    b = select(ds, "equitable", 150, batch=30, initial=10, seed=1)
    np.testing.assert_array_equal(a, b)
    assert len(set(a.tolist())) == 150


def test_equitable_selector_never_picks_validation_rows_and_checks_the_budget():
    ds = _group_ds(100)
    # 20% of every group is held out for validation: 80 rows remain
    idx = select(ds, "equitable", 80, batch=20, initial=5, seed=2)
    assert len(set(idx.tolist())) == 80
    with pytest.raises(df.DataError, match="budget == 81, but adaptive allocation holds out 20 validation rows"):
        select(ds, "equitable", 81, batch=20, seed=2)
    with pytest.raises(df.ConfigError, match="allocation == 'greedy'"):
        select(ds, "equitable", 10, allocation="greedy")
    with pytest.raises(df.ConfigError, match="val_fraction == 1.5"):
        select(ds, "equitable", 10, val_fraction=1.5)
    with pytest.raises(df.DataError, match="has no groups"):
        select(df.Dataset.from_arrays(np.zeros((4, 1)), [0, 1, 0, 1]), "equitable", 2)
