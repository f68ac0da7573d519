"""Issue-6 recipes: registered with their claims; quick runs compute the verdict from the measurements."""

import pytest

import datafactors as df
from datafactors.recipes import REGISTRY

NAMES = ("scaling-predictable", "calibration-bins", "quality-not-quantity", "concurrence")


@pytest.mark.parametrize("name", NAMES)
def test_registered_with_paper_and_claim(name):
    r = REGISTRY.get(name)
    assert r.paper and r.claim
    assert name in REGISTRY.names()


@pytest.mark.slow
def test_scaling_predictable_quick():
    res = df.recipes.run("scaling-predictable", quick=True, seed=0)
    m = res.measured
    assert set(res.details["model"]) == {"logistic", "mlp-64", "mlp-256"}
    assert len(res.details) == 3 * 6 * m["seeds"]
    # errors fall with data for the MLPs (the learning curves are curves)
    for model in ("mlp-64", "mlp-256"):
        by_n = res.details[res.details.model == model].groupby("n")["error"].mean()
        assert by_n.iloc[-1] < by_n.iloc[0] - 0.15
    assert m["predictable from <= 25%"] == (m["largest extrapolation relative error"] <= 0.10)
    want = (
        m["power-law region in >= 2 models"]
        and m["similar exponents"]
        and m["different intercepts"]
        and m["predictable from <= 25%"]
    )
    assert res.held == want
    assert "claim:" in str(res)


@pytest.mark.slow
def test_calibration_bins_quick():
    res = df.recipes.run("calibration-bins", quick=True, seed=0)
    m = res.measured
    assert m["models"] == res.details["model"].nunique() >= 12
    assert sorted(res.details["n_bins"].unique()) == [5, 10, 15, 20, 25, 50, 100, 200, 500]
    b, a = "rank agreement across bin counts before (mean Kendall tau)", "rank agreement across bin counts after"
    sb, sa = "relative ECE spread across bin counts before", "relative ECE spread across bin counts after"
    assert res.held == (m[a] < m[b] and m[sa] > m[sb])
    # temperature scaling lowers the mean ECE of this over-confident zoo
    assert res.details["after"].mean() < res.details["before"].mean()


@pytest.mark.slow
def test_quality_not_quantity_quick():
    res = df.recipes.run("quality-not-quantity", quick=True, seed=0)
    m = res.measured
    er_robust = m["ER of the robust source alone"]
    er_largest = m["ER with 4000 shortcut examples added"]
    rho = m["Spearman rho (shortcut share, ER)"]
    assert res.held == (er_robust >= 0.05 and rho <= -0.7 and er_largest <= er_robust - 0.02)
    # shortcut-only baselines sit on their own line (ER ~ 0); the robust source is well above it
    assert m["baseline ER (mean |ER| of shortcut-only models)"] < 0.05
    assert er_robust > 0.1


@pytest.mark.slow
def test_concurrence_quick():
    res = df.recipes.run("concurrence", quick=True, seed=0)
    m = res.measured
    same = m["concurrence, same distribution (Kendall tau)"]
    shift = m["concurrence, shifted (Kendall tau)"]
    inf = m["simulation tau, both informative"]
    deg = m["simulation tau, worst of both saturated / both floored"]
    assert res.held == (same >= 0.6 and same > shift and inf >= 0.6 and deg <= 0.3)
    assert set(res.details["benchmark"]) == {"test", "fresh test", "shifted (OOD)", "simulation"}
    assert inf > deg
