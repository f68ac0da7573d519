"""The aflite and irt-recovery recipes: registered, quick, and the verdict follows the numbers."""

import numpy as np
import pytest

import datafactors as df
from datafactors.recipes import REGISTRY
from datafactors.recipes.aflite import shortcut_task
from datafactors.recipes.irt_recovery import simulate_2pl


def test_registered_with_paper_and_claim():
    assert {"aflite", "irt-recovery"} <= set(REGISTRY.names())
    assert "WinoGrande" in REGISTRY.get("aflite").paper
    assert "Spearman" in REGISTRY.get("irt-recovery").claim


def test_shortcut_task_is_as_described():
    X, y, carrier = shortcut_task(1000, seed=0)
    assert X.shape == (1000, 11)
    np.testing.assert_array_equal(X[carrier, 2], 2.0 * y[carrier] - 1)
    assert (X[~carrier, 2] == 0).all()
    assert 0.55 < carrier.mean() < 0.65
    # the real signal is XOR of the two core signs: invisible to a linear model, plain to the rule
    rule = (np.sign(X[:, 0]) * np.sign(X[:, 1]) > 0).astype(int)
    assert (rule == y).mean() > 0.85


def test_simulate_2pl_shapes():
    R, a, b, theta = simulate_2pl(50, 20, seed=0)
    assert R.shape == (50, 20) and set(np.unique(R)) <= {0.0, 1.0}
    assert a.shape == b.shape == (50,) and theta.shape == (20,) and (a > 0).all()


def test_aflite_recipe_quick():
    res = df.recipes.run("aflite", quick=True, seed=0)
    m = res.measured
    precision = m["removal precision (share of removed carrying the shortcut)"]
    excess_before = m["shortcut-only probe accuracy before"] - m["chance before"]
    excess_after = m["shortcut-only probe accuracy after"] - m["chance after"]
    assert res.held == (precision >= 0.8 and (excess_after <= 0.1 or excess_after <= 0.5 * excess_before))
    assert m["removed"] == int((res.details["removed_round"] > 0).sum())
    # at this scale the claim holds: the shortcut carriers go, the shortcut stops predicting
    assert res.held
    assert precision > 0.85
    assert m["shortcut-only probe accuracy before"] > 0.75
    assert "claim:" in str(res)


@pytest.mark.parametrize("quick", [True, False])
def test_irt_recovery(quick):
    res = df.recipes.run("irt-recovery", quick=quick, seed=0)
    m = res.measured
    rho, rho_err = m["2PL Spearman(b_hat, b)"], m["item error rate Spearman"]
    assert res.held == (rho >= 0.97 and rho > rho_err)
    assert res.held
    assert m["2PL Spearman(a_hat, a) (finite items)"] > 0.5
    assert m["2PL converged"]
    assert len(res.details) == m["items"]
