"""targeted-augmentation recipe: equal-step epochs, worst-group and its within-group bootstrap, the arms, the claim and its control."""

import numpy as np
import pytest

import datafactors as df
from datafactors.learners._torch import plan_steps
from datafactors.metrics import worst_group_accuracy
from datafactors.recipes import REGISTRY
from datafactors.recipes.targeted_augmentation import (
    COPIES,
    group_members,
    make_arms,
    matched_epochs,
    worst_group,
    worst_group_gain,
)
from datafactors.tasks.spurious import make_spurious


def test_registered_with_paper_claim_and_control():
    r = REGISTRY.get("targeted-augmentation")
    assert "Targeted Image Data Augmentation" in r.paper and "Gao et al." in r.paper
    assert "worst-group" in r.claim and "generic" in r.claim
    assert "not planted" in r.control and "rho = 0.5" in r.control


def test_matched_epochs_give_the_same_step_count():
    # 16000 rows / 128 = 125 steps an epoch, 4000 / 128 = 31.25 -> 32: 10 x 125 = 1250 = 39.0625 x 32
    assert matched_epochs(4000, 16000, 10, 128) == pytest.approx(39.0625)
    assert matched_epochs(16000, 16000, 10, 128) == 10
    ep = matched_epochs(4000, 16000, 10, 128)
    assert plan_steps(4000, ep, 128).total_steps == plan_steps(16000, 10, 128).total_steps == 1250
    # fewer rows than one batch: one step an epoch
    assert matched_epochs(50, 300, 2, 128) == pytest.approx(2 * 3 / 1)


def test_group_members_and_worst_group_by_hand():
    names, members = group_members(np.array(["b", "a", "b", "a", "b", "a"]))
    assert names == ["a", "b"]
    assert [m.tolist() for m in members] == [[1, 3, 5], [0, 2, 4]]
    correct = np.array([[1, 1, 0, 1, 0, 0], [1, 0, 1, 1, 1, 1]])
    # seed 0: a = rows 1,3,5 -> 1,1,0 = 2/3; b = rows 0,2,4 -> 1,0,0 = 1/3 -> 1/3
    # seed 1: a -> 0,1,1 = 2/3; b -> 1,1,1 = 1 -> 2/3
    np.testing.assert_allclose(worst_group(correct, members), [1 / 3, 2 / 3])


def test_worst_group_agrees_with_the_metrics_function():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, size=300)
    groups = np.array([f"y={v},s={s}" for v, s in zip(y, rng.integers(0, 2, size=300), strict=True)])
    probs = rng.dirichlet([1, 1], size=(2, 300))
    correct = (probs.argmax(axis=2) == y).astype(float)
    _, members = group_members(groups)
    expect = [worst_group_accuracy(p, y, groups) for p in probs]
    np.testing.assert_allclose(worst_group(correct, members), expect)


def test_worst_group_gain_resamples_within_groups():
    # a is right on every item of both groups, b on group 0 only: worst group 1 vs 0 in
    # every draw that keeps the groups apart (a pooled resample could leave a group empty
    # or mix them), so the whole interval is exactly 1
    members = [np.arange(0, 5), np.arange(5, 12)]
    a = np.ones((3, 12))
    b = np.r_[np.ones(5), np.zeros(7)][None].repeat(3, axis=0)
    assert worst_group_gain(a, b, members, seed=0, n_boot=200) == (1.0, 1.0, 1.0)


def test_worst_group_gain_estimate_is_the_mean_per_seed_difference():
    rng = np.random.default_rng(0)
    groups = np.repeat(["g0", "g1", "g2"], [40, 60, 50])
    y = np.zeros(150, dtype=int)
    # a is right 80% of the time, b right 80% except 40% in group g1
    pa = np.where(rng.random((3, 150)) < 0.8, 0.9, 0.1)
    pb = np.where(rng.random((3, 150)) < np.where(groups == "g1", 0.4, 0.8), 0.9, 0.1)
    a, b = (pa > 0.5).astype(float), (pb > 0.5).astype(float)
    _, members = group_members(groups)
    est, lo, hi = worst_group_gain(a, b, members, seed=1, n_boot=300)
    by_metrics = [
        worst_group_accuracy(np.c_[p, 1 - p], y, groups) - worst_group_accuracy(np.c_[q, 1 - q], y, groups)
        for p, q in zip(pa, pb, strict=True)
    ]
    assert est == pytest.approx(np.mean(by_metrics))
    assert lo < est < hi and lo > 0.15  # a 0.4-point gap in the worst group, ~60 items in it


def test_arms_keep_core_columns_and_break_the_cue():
    train = make_spurious("digits", rho=0.9, n_train=400, n_test=20, seed=0).train
    arms = make_arms(train, 0)
    n, d = train.n, train.n_features
    assert [a.n for a in arms.values()] == [n, n * (1 + COPIES), n * (1 + COPIES)]
    row_of = {str(i): k for k, i in enumerate(train.ids)}
    tgt = arms["targeted"]
    np.testing.assert_array_equal(tgt.X[:n], train.X)
    parents = np.array([row_of[p] for p in tgt.extra["parent"][n:]])
    donors = np.array([row_of[p] for p in tgt.extra["donor"][n:]])
    new = tgt.X[n:]
    same = (new == train.X[parents]).all(axis=0)
    assert same.sum() == d - 8  # the 8 spurious columns are the only ones that change
    np.testing.assert_array_equal(new[:, ~same], train.X[donors][:, ~same])
    np.testing.assert_array_equal(tgt.y[n:], train.y[parents])
    # the donors' cue is independent of the copy's label: ~50% agree in the copies, so the
    # arm's rows agree (0.9 + 3 x 0.5) / 4 = 0.6 of the time
    assert abs(tgt.extra["aligned"][n:].mean() - 0.5) < 0.04
    assert abs(tgt.extra["aligned"].mean() - 0.6) < 0.03
    # the generic copies change every column (core and spurious) and keep the labels
    gen = arms["generic"]
    gparents = np.array([row_of[p] for p in gen.extra["parent"][n:]])
    assert (gen.X[n:] != train.X[gparents]).mean(axis=0).min() > 0.95
    assert gen.extra["aligned"].mean() == pytest.approx(train.extra["aligned"].mean())
    # same seed, same rows; another seed, other rows
    again = make_arms(train, 0)
    np.testing.assert_array_equal(again["targeted"].X, tgt.X)
    np.testing.assert_array_equal(again["generic"].X, gen.X)
    assert not np.array_equal(make_arms(train, 1)["targeted"].X, tgt.X)


@pytest.mark.slow
def test_targeted_augmentation_claim_and_control():
    res = df.recipes.run("targeted-augmentation", quick=True)
    assert res.held and res.seeds == [0, 1]
    wg_none, wg_generic, acc_none, acc_generic = res.effects
    # measured at quick size: 43.8, 44.8 worst-group points; 13.7, 13.6 OOD accuracy points
    assert 30 < wg_none.estimate < 55 and 30 < wg_generic.estimate < 55
    assert 8 < acc_none.estimate < 20 and 8 < acc_generic.estimate < 20
    d = res.details.set_index(["seed", "arm"])
    assert len(d) == 6 and set(d.index.get_level_values("arm")) == {"none", "generic", "targeted"}
    # without augmentation the model leans on the cue: the cue-disagreeing OOD groups fail
    none = d.xs("none", level="arm")
    assert (none["ood_worst_group"] < 0.35).all() and (none["ood_acc[y=0,s=0]"] > 0.9).all()
    # the targeted arm trades in-distribution accuracy (where the cue helps) for OOD accuracy
    tgt = d.xs("targeted", level="arm")
    assert (tgt["test_accuracy"] < none["test_accuracy"]).all() and (tgt["ood_accuracy"] > 0.68).all()
    assert (abs(tgt["cue_agrees_with_label"] - 0.6) < 0.02).all()
    assert d["epochs"].xs("none", level="arm").iloc[0] == pytest.approx(39.0625)

    ctl = df.recipes.run("targeted-augmentation", quick=True, control=True)
    assert not ctl.held and ctl.is_control
    c_wg_none, _, c_acc_none, _ = ctl.effects
    # measured: 2.1 [-1.6, 6.5] worst-group, 2.6 [0.6, 4.4] accuracy points -- no shortcut to break
    assert not c_wg_none.held and abs(c_wg_none.estimate) < 5
    assert not c_acc_none.held and abs(c_acc_none.estimate) < 4
    cd = ctl.details.set_index(["seed", "arm"])
    assert (abs(cd["cue_agrees_with_label"] - 0.5) < 0.02).all()
    # the same OOD rows: without the shortcut, "none" is as good OOD as targeted is with it
    assert cd.xs("none", level="arm")["ood_worst_group"].min() > 0.55
