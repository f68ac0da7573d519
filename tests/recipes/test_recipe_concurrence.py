"""concurrence: Kendall tau between benchmark halves, the two gaps, and the recipe against its control."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit

import datafactors as df
from datafactors.metrics import concurrence
from datafactors.recipes import REGISTRY
from datafactors.recipes import concurrence as cc


def test_registered_with_paper_claim_and_control():
    r = REGISTRY.get("concurrence")
    assert r.paper and r.claim and "built the same way" in r.control


def test_kendall_matrix_is_scipy_tau_b_and_zero_for_a_tied_row():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, (3, 9)).astype(float)  # ties on purpose
    b = rng.integers(0, 5, (2, 9)).astype(float)
    want = [[stats.kendalltau(x, y).statistic for y in b] for x in a]
    np.testing.assert_allclose(cc.kendall_matrix(a, b), want, atol=1e-12)
    tied = np.ones((1, 9))
    assert cc.kendall_matrix(tied, b).tolist() == [[0.0, 0.0]]
    assert concurrence(tied[0], b[0], undefined="zero") == 0.0


def _planted(seed, n_models=14, n_items=250, construction_sd=1.0, saturation=6.0):
    """Correctness of every benchmark half from a logistic model of skill.

    Model m answers an item of construction c right with probability
    ``expit(theta_m + delta_mc - b_i)``: ``delta`` (sd ``construction_sd``) is how much a
    construction favours a model, shared by both halves of that construction; the
    saturated mix adds ``saturation`` to every logit.
    """
    rng = np.random.default_rng([seed, 7])
    theta = rng.normal(0.0, 1.0, n_models)
    out = {}
    names = [*cc.CONSTRUCTIONS, "saturated mix", "hard mix"]
    for name in names:
        delta = rng.normal(0.0, construction_sd, n_models) if name in cc.CONSTRUCTIONS[1:] else 0.0
        offset = {"saturated mix": saturation, "hard mix": -saturation}.get(name, 0.0)
        halves = []
        for _ in range(2):
            b = rng.normal(0.0, 1.0, n_items)
            p = expit((theta + delta)[:, None] + offset - b[None, :])
            halves.append(rng.random(p.shape) < p)
        out[name] = np.stack(halves)
    out["standard mix"] = out["standard"]
    return out


def test_gaps_hold_when_constructions_and_saturation_change_the_ranking():
    st = cc.ConcurrenceStatistics([_planted(s) for s in range(3)])
    cons, sat = cc.concurrence_effects(st, seed=0)
    assert cons.held and sat.held
    assert 0.4 < cons.estimate < 0.65 and 0.3 < sat.estimate < 0.7


def test_gaps_vanish_when_every_benchmark_is_built_the_same_way():
    st = cc.ConcurrenceStatistics([_planted(s, construction_sd=0.0, saturation=0.0) for s in range(3)])
    cons, sat = cc.concurrence_effects(st, seed=0)
    assert not cons.held and not sat.held
    assert abs(cons.estimate) < 0.05 and abs(sat.estimate) < 0.1


def test_parts_are_the_means_of_the_tau_matrix():
    st = cc.ConcurrenceStatistics([_planted(0)])
    m = np.arange(st.n_models)
    t = st.taus(0, m)
    idx = [st.benchmarks.index(c) for c in cc.CONSTRUCTIONS]
    parts = st.parts(0, m)
    sub = t[np.ix_(idx, idx)]
    assert parts["iid"] == pytest.approx(np.trace(sub) / 6)
    assert parts["cross"] == pytest.approx((sub.sum() - np.trace(sub)) / 30)
    acc = {b: _planted(0)[b].mean(axis=2) for b in ("standard", "saturated mix")}
    assert parts["standard"] == pytest.approx(concurrence(acc["standard"][0], acc["standard"][1]))
    assert parts["saturated"] == pytest.approx(
        concurrence(acc["saturated mix"][0], acc["saturated mix"][1], undefined="zero")
    )


SMALL_ZOO = [
    ("logistic n=1000", "logistic", (), 1000, None),
    ("mlp-32 n=500", "mlp", (32,), 500, None),
    ("mlp-32 n=1000", "mlp", (32,), 1000, None),
    ("mlp-128 n=1000", "mlp", (128,), 1000, None),
    ("mlp-128x128 n=1000", "mlp", (128, 128), 1000, None),
    ("mlp-128 n=1000 +noise aug", "mlp", (128,), 1000, "noise"),
    ("mlp-128 n=1000 +shift aug", "mlp", (128,), 1000, "shift"),
    ("mlp-128x128 n=1000 +noise aug", "mlp", (128, 128), 1000, "noise"),
]


@pytest.fixture
def small(monkeypatch):
    """8 models trained on 1000 examples; benchmark halves of 100 items; saturated mix = easiest half."""
    monkeypatch.setattr(cc, "zoo", lambda quick: SMALL_ZOO)
    monkeypatch.setattr(cc, "N_TRAIN", 1000)
    monkeypatch.setattr(cc, "N_SELECT", 2)
    monkeypatch.setattr(cc, "PASSES", 40)
    monkeypatch.setitem(cc.N_ITEMS, True, 100)


@pytest.mark.slow
def test_recipe_small_and_its_control(small):
    res = df.recipes.run("concurrence", quick=True, seed=0)
    ctl = df.recipes.run("concurrence", quick=True, seed=0, control=True)
    assert res.seeds == ctl.seeds == [0, 1]
    assert res.sizes == {"models": 8, "items per half": 100, "constructions": 6}
    acc = res.details.groupby("benchmark")["accuracy"].mean()
    # the constructions are built differently: every perturbation and the other generator cost accuracy,
    # and the easiest-items mix is far easier than the standard one
    for name in cc.CONSTRUCTIONS[1:]:
        assert acc[name] < acc["standard"] - 0.02
    assert acc["saturated mix"] > acc["standard"] + 0.2
    # the same halves in both arms where nothing was built differently
    same = res.details[res.details["benchmark"] == "standard"]["accuracy"].to_numpy()
    assert np.array_equal(same, ctl.details[ctl.details["benchmark"] == "standard"]["accuracy"].to_numpy())
    # control: every benchmark is standard items; accuracies and the construction gap vanish
    cacc = ctl.details.groupby("benchmark")["accuracy"].mean()
    assert (cacc - cacc["standard"]).abs().max() < 0.06
    assert not ctl.held
    assert abs(ctl.effects[0].estimate) < 0.05
    assert ctl.effects[0].hi < res.effects[0].hi
