"""The aflite and irt-recovery recipes: the data they plant, the claim and its negative control."""

import numpy as np
import pytest

import datafactors as df
from datafactors.recipes import REGISTRY
from datafactors.recipes.aflite import shortcut_task
from datafactors.recipes.irt_recovery import simulate_2pl, simulate_sparse


def test_registered_with_paper_claim_and_control():
    assert {"aflite", "irt-recovery"} <= set(REGISTRY.names())
    assert "WinoGrande" in REGISTRY.get("aflite").paper
    assert "label" in REGISTRY.get("aflite").control
    assert "Spearman" in REGISTRY.get("irt-recovery").claim
    assert "random respondents" in REGISTRY.get("irt-recovery").control


def test_shortcut_task_is_as_described():
    X, y, carrier = shortcut_task(1000, seed=0)
    assert X.shape == (1000, 11)
    np.testing.assert_array_equal(X[carrier, 2], 2.0 * y[carrier] - 1)
    assert (X[~carrier, 2] == 0).all()
    assert 0.55 < carrier.mean() < 0.65
    # the real signal is XOR of the two core signs: invisible to a linear model, plain to the rule
    rule = (np.sign(X[:, 0]) * np.sign(X[:, 1]) > 0).astype(int)
    assert (rule == y).mean() > 0.85


def test_shortcut_task_control_keeps_the_feature_but_not_its_label_information():
    X, y, carrier = shortcut_task(4000, seed=3)
    Xc, yc, cc = shortcut_task(4000, seed=3, label_dependent=False)
    np.testing.assert_array_equal(y, yc)
    np.testing.assert_array_equal(carrier, cc)
    np.testing.assert_array_equal(np.delete(X, 2, axis=1), np.delete(Xc, 2, axis=1))
    assert set(np.unique(Xc[cc, 2])) == {-1.0, 1.0} and (Xc[~cc, 2] == 0).all()
    # on the carriers the sign agrees with the label about half the time (vs always)
    agree = (Xc[cc, 2] == 2.0 * yc[cc] - 1).mean()
    assert 0.47 < agree < 0.53


def test_simulate_2pl_shapes():
    R, a, b, theta = simulate_2pl(50, 20, seed=0)
    assert R.shape == (50, 20) and set(np.unique(R)) <= {0.0, 1.0}
    assert a.shape == b.shape == (50,) and theta.shape == (20,) and (a > 0).all()


def test_simulate_sparse_matched_and_random_assignment():
    R, a, b, theta, full = simulate_sparse(300, 200, seed=0)
    Rr, ar, br, thr, fullr = simulate_sparse(300, 200, seed=0, assignment="random")
    np.testing.assert_array_equal(full, fullr)
    np.testing.assert_array_equal(b, br)
    obs, obs_r = ~np.isnan(R), ~np.isnan(Rr)
    # the observed answers are the complete matrix's; every item and respondent has one
    np.testing.assert_array_equal(R[obs], full[obs])
    assert obs.any(axis=0).all() and obs.any(axis=1).all() and obs_r.any(axis=0).all()
    assert 0.25 < obs.mean() < 0.4
    # random assignment keeps each item's number of answers, not who gives them
    np.testing.assert_array_equal(obs.sum(axis=1), obs_r.sum(axis=1))
    gap = np.abs(theta[None, :] - b[:, None])
    assert gap[obs].mean() < 0.75 < gap[obs_r].mean()
    # matched: every item is answered at about even odds, so the error rate hardly tracks b
    err = 1 - np.nanmean(R, axis=1)
    assert np.corrcoef(err, b)[0, 1] < 0.75 < np.corrcoef(1 - np.nanmean(Rr, axis=1), b)[0, 1]
    with pytest.raises(ValueError, match="assignment"):
        simulate_sparse(10, 10, assignment="adaptive")


@pytest.fixture(scope="module")
def aflite_runs():
    return df.recipes.run("aflite", quick=True, seed=0), df.recipes.run("aflite", quick=True, seed=0, control=True)


def test_aflite_removes_the_carriers_and_the_control_removes_nothing_in_particular(aflite_runs):
    res, ctl = aflite_runs
    assert res.held and not ctl.held
    assert res.seeds == ctl.seeds == [0, 1] and res.sizes["examples"] == 2000
    enrich, drop = res.effects
    c_enrich, c_drop = ctl.effects
    # measured: enrichment 0.80 [0.64, 0.95], probe drop 0.29 (the whole planted excess)
    assert 0.65 < enrich.estimate < 0.95 and enrich.margin == 0.5
    assert 0.25 < drop.estimate < 0.33 and drop.margin == 0.1
    assert res.measured["shortcut-only probe excess over chance, kept set"] < 0.02
    assert res.measured["removal recall (share of carriers removed)"].startswith("1 ")
    # control: a few dozen removals, carriers no more often than the rest, no excess to lose
    assert abs(c_enrich.estimate) < 0.05 and abs(c_drop.estimate) < 0.03
    assert ctl.measured["removed per seed (mean)"] < 200
    assert abs(ctl.measured["shortcut-only probe excess over chance, all data"]) < 0.03
    d = res.details
    assert len(d) == 2 * 2000 and set(d["seed"]) == {0, 1}
    removed = (d["removed_round"] > 0).groupby(d["seed"]).sum().mean()
    assert removed == res.measured["removed per seed (mean)"]


@pytest.fixture(scope="module")
def irt_runs():
    return (
        df.recipes.run("irt-recovery", quick=True, seed=0),
        df.recipes.run("irt-recovery", quick=True, seed=0, control=True),
    )


def test_irt_beats_the_error_rate_only_when_who_answers_depends_on_ability(irt_runs):
    res, ctl = irt_runs
    assert res.held and not ctl.held
    assert res.seeds == ctl.seeds == [0, 1] and res.sizes == {"items": 300, "respondents": 200, "seeds": 2}
    adv, recovery = res.effects
    c_adv, c_recovery = ctl.effects
    # measured: advantage 0.34 [0.29, 0.40] matched, 0.002 [-0.005, 0.009] with random respondents
    assert 0.25 < adv.estimate < 0.45 and adv.margin == 0.1
    assert abs(c_adv.estimate) < 0.03
    # the recovery itself does not need the confounding: it holds in both
    assert recovery.estimate > 0.93 and c_recovery.held
    m, mc = res.measured, ctl.measured
    assert m["item error rate Spearman"] < 0.7 < 0.9 < mc["item error rate Spearman"]
    assert m["complete design (context): item error rate Spearman"] > 0.95
    assert m["all fits converged"] and m["2PL Spearman(a_hat, a) (finite items)"] > 0.4
    assert len(res.details) == 2 * 300
