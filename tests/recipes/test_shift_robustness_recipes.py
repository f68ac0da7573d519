"""Issue-7 recipes (diversification, adanpc, unforgettable, specialist-generalist): claims, helpers, verdicts."""

import math

import numpy as np
import pytest

import datafactors as df
from datafactors.recipes import REGISTRY
from datafactors.recipes.adanpc_recipe import SHIFT_END, SHIFT_START, _domain_args
from datafactors.recipes.diversification import _spurious_splits, _spurious_values, _unlabeled
from datafactors.recipes.unforgettable import _normalised_drop

NAMES = ("diversification", "adanpc", "unforgettable", "specialist-generalist")


@pytest.mark.parametrize("name", NAMES)
def test_registered_with_paper_and_claim(name):
    r = REGISTRY.get(name)
    assert r.paper and r.claim
    assert name in REGISTRY.names()


def test_spurious_values_align_an_exact_share_of_each_class():
    y = np.r_[np.zeros(10, int), np.ones(30, int)]
    s = _spurious_values(y, 0.8, np.random.default_rng(0))
    assert (s[y == 0] == 0).sum() == 8 and (s[y == 1] == 1).sum() == 24
    assert (_spurious_values(y, 1.0, np.random.default_rng(0)) == y).all()
    assert (_spurious_values(y, 0.0, np.random.default_rng(0)) == 1 - y).all()


def test_spurious_splits_train_fully_aligned_test_balanced_and_mix_controlled():
    d = _spurious_splits(0)
    train = d["train"]
    assert train.n == 700 and set(train.groups) == {"y=0,s=0", "y=1,s=1"}
    cue = train.X[:, 64:].mean(1) > 0  # the eight spurious columns
    assert (cue == train.y).all()
    Xte, yte, gte = d["test"]
    assert len(set(gte)) == 4 and abs(np.mean([g[2] != g[-1] for g in gte]) - 0.5) < 0.01
    X_pool, y_pool = d["pool"]
    for m in (0.0, 0.3, 1.0):
        Xu = _unlabeled(d["pool"], m, 0)
        np.testing.assert_array_equal(Xu[:, :64], X_pool)  # the same images, only the cue changes
        minority = ((Xu[:, 64:].mean(1) > 0).astype(int) != y_pool).mean()
        assert minority == pytest.approx(m, abs=0.01)


def test_adanpc_domains_interpolate_the_shift():
    assert _domain_args(0) == SHIFT_START
    assert _domain_args(5) == SHIFT_END
    mid = _domain_args(2)
    assert SHIFT_START["iid_noise_scale"] < mid["iid_noise_scale"] < SHIFT_END["iid_noise_scale"]
    assert isinstance(mid["max_translation"], int)


def test_normalised_drop():
    assert _normalised_drop(0.9, 0.5, 0.1) == pytest.approx(0.5)
    assert _normalised_drop(0.9, 0.1, 0.1) == pytest.approx(1.0)
    assert _normalised_drop(0.9, 0.9, 0.1) == 0.0
    assert math.isnan(_normalised_drop(0.1, 0.1, 0.1))


@pytest.mark.slow
def test_diversification_quick():
    res = df.recipes.run("diversification", quick=True, seed=0)
    m = res.measured
    by_mix = m["DivDis worst-group accuracy by unlabeled minority share m"]
    assert sorted(by_mix) == [0.0, 0.25, 0.5, 0.75, 1.0]
    # ERM leans on the cue: near-zero worst group, near-chance average on the balanced test set
    assert m["ERM worst-group accuracy"] < 0.2 and m["ERM accuracy"] < 0.65
    assert m["D-BAT worst-group accuracy (m = 0.5)"] > m["ERM worst-group accuracy"] + 0.2
    want = (
        m["DivDis gain over ERM (m = 0.5)"] >= 0.10
        and 0 < m["best m"] < 1
        and (m["peak above the better end (m = 0 or 1)"] >= 0.05)
    )
    assert res.held == want
    assert set(res.details.method) == {"erm", "divdis", "dbat"}


@pytest.mark.slow
def test_adanpc_quick():
    res = df.recipes.run("adanpc", quick=True, seed=0)
    m = res.measured
    d = res.details
    assert len(d) == 6 * m["seeds"]
    # accuracy falls as the shift grows, for every method
    by = d.groupby("domain")[["erm", "knn", "adanpc"]].mean()
    assert (by.iloc[0] > by.iloc[-1] + 0.2).all()
    # the memory only grows along the stream
    assert (d.groupby("seed").memory_size.apply(lambda s: s.is_monotonic_increasing)).all()
    wins = int(m["seeds where AdaNPC > kNN"].split()[0])
    assert res.held == (m["AdaNPC - ERM"] >= 0.01 and m["AdaNPC - kNN"] > 0 and wins > m["seeds"] / 2)


@pytest.mark.slow
def test_unforgettable_quick():
    res = df.recipes.run("unforgettable", quick=True, seed=0)
    m = res.measured
    d = res.details
    assert len(d) == 3 * m["seeds"]
    assert (d.task_test_accuracy_before > 0.9).all()
    # the forget set itself ends near chance against its true labels
    assert m["forget-set accuracy (true labels) after"] < 0.5
    fg, spill = (
        m["forgetting generalization FG (new examples of the task)"],
        m["spill-over onto other tasks (normalised drop)"],
    )
    assert res.held == (fg >= 0.5 and spill < fg and m["probe accuracy retained (worst case)"] >= 0.9)


@pytest.mark.slow
def test_specialist_generalist_quick():
    res = df.recipes.run("specialist-generalist", quick=True, seed=0)
    m = res.measured
    curve = m["accuracy by ratio"]
    assert sorted(curve) == [0.0, 2.0, 8.0, 16.0]
    assert curve[0.0] > 0.12  # above chance (0.1) even alone
    want = (
        m["gain of the best mix over specialist alone"] >= 0.03
        and m["gain from r = 8 to r = 16"] < 0.01
        and m["general data alone"] <= m["best mix accuracy"] - 0.01
    )
    assert res.held == want
