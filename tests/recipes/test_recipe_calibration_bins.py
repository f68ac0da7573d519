"""calibration-bins: the bin-count sweep, its floor-only null, and the recipe against its control."""

import itertools

import numpy as np
import pytest
from scipy import stats

import datafactors as df
from datafactors.metrics import BIN_COUNTS, ece
from datafactors.recipes import REGISTRY
from datafactors.recipes import calibration_bins as cb


def test_registered_with_paper_claim_and_control():
    r = REGISTRY.get("calibration-bins")
    assert r.paper and r.claim and "perfectly calibrated" in r.control


def test_ece_table_matches_metrics_ece_at_every_bin_count():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 700, 10)) * np.array([1.0, 3.0, 6.0])[:, None, None]
    probs = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    y = rng.integers(0, 10, 700)
    conf = probs.max(axis=2)
    resid = (probs.argmax(axis=2) == y) - conf
    table = cb.ece_table(cb.fine_bins(conf), resid)
    ref = np.array([[ece(p, y, k) for k in BIN_COUNTS] for p in probs])
    np.testing.assert_allclose(table, ref, atol=1e-12)
    # item weights are repeated rows
    rows = rng.integers(0, 700, 700)
    weighted = cb.ece_table(cb.fine_bins(conf), resid, np.bincount(rows, minlength=700))
    ref = np.array([[ece(p[rows], y[rows], k) for k in BIN_COUNTS] for p in probs])
    np.testing.assert_allclose(weighted, ref, atol=1e-12)


def test_rank_agreement_is_mean_scipy_tau_b_and_ignores_duplicated_models():
    rng = np.random.default_rng(1)
    table = rng.normal(size=(12, 5))
    table[3] = table[4]  # a model drawn twice: its pair is tied in every column
    want = np.mean(
        [stats.kendalltau(table[:, a], table[:, b]).statistic for a, b in itertools.combinations(range(5), 2)]
    )
    assert cb.rank_agreement(table) == pytest.approx(want, abs=1e-12)
    assert cb.rank_agreement(np.tile(np.arange(6.0)[:, None], (1, 4))) == pytest.approx(1.0)


def test_fine_share_and_relative_spread_by_hand():
    table = np.array([[0.02, 0.03, 0.05], [0.10, 0.10, 0.10]])
    # model 0: 1 - 0.02 / (0.1 / 3) = 0.4 ; model 1: 0
    assert cb.fine_share(table) == pytest.approx(0.2)
    assert cb.relative_spread(table) == pytest.approx((0.03 / (0.1 / 3)) / 2)


def _planted(seed, n_models=20, n=4000, amplitude=(0.05, 0.12)):
    """Over-confident models whose scaled predictions keep a fine sawtooth of miscalibration.

    After scaling, accuracy is ``conf - L - A * sign(sin(2 pi conf / 0.04))``: the sawtooth
    flips sign every 0.02 of confidence, so a 5-bin ECE (bins 0.2 wide) averages it away
    and bins of 0.02 or less see all of it. Before scaling the same models are strongly
    over-confident everywhere, which every bin count sees alike. ``amplitude=(0, 0)``
    leaves only a coarse, bin-independent gap.
    """
    rng = np.random.default_rng([seed, 99])
    after = rng.uniform(0.15, 0.95, (n_models, n))
    level = rng.uniform(0.0, 0.04, (n_models, 1))
    amp = rng.uniform(*amplitude, (n_models, 1))
    acc = np.clip(after - level - amp * np.sign(np.sin(2 * np.pi * after / 0.04)), 0, 1)
    correct = (rng.random((n_models, n)) < acc).astype(float)
    before = 1 - (1 - after) * rng.uniform(0.3, 0.6, (n_models, 1))
    return {"conf_before": before, "conf_after": after, "correct": correct}


def test_floor_null_keeps_each_coarse_bins_accuracy_and_flattens_it_inside():
    st = _planted(0, n_models=2, n=20000)
    conf, correct = st["conf_after"], st["correct"]
    null = cb.floor_null(conf, correct, np.random.default_rng(5))
    coarse = np.clip(np.ceil(conf * 5).astype(int) - 1, 0, 4)
    for m in range(2):
        for b in np.unique(coarse[m]):
            sel = coarse[m] == b
            assert null[m, sel].mean() == pytest.approx(correct[m, sel].mean(), abs=0.03)
    # the sawtooth is gone: at 50 bins the null sees about the 5-bin ECE plus noise, the data far more
    fine = cb.fine_bins(conf)
    real_t, null_t = cb.ece_table(fine, correct - conf), cb.ece_table(fine, null - conf)
    k50 = BIN_COUNTS.index(50)
    assert (real_t[:, k50] - real_t[:, 0] > 0.04).all()
    assert (null_t[:, k50] - null_t[:, 0] < 0.02).all()


def test_effects_hold_for_bin_resolvable_miscalibration_and_not_for_a_coarse_gap():
    planted = cb.BinCountStatistics([_planted(s) for s in range(3)], seed=0)
    tau, share = cb.floor_null_effects(planted, seed=0, n_boot=300)
    assert tau.held and share.held
    assert 0.15 < tau.estimate < 0.3 and 0.08 < share.estimate < 0.15
    flat = cb.BinCountStatistics([_planted(s, amplitude=(0.0, 0.0)) for s in range(3)], seed=0)
    tau, share = cb.floor_null_effects(flat, seed=0, n_boot=300)
    assert not tau.held and not share.held
    assert abs(share.estimate) < 0.02


def test_perfectly_calibrated_labels_follow_the_probabilities():
    p = np.tile(np.array([0.7, 0.2, 0.1]), (2, 20000, 1))
    y = cb.perfectly_calibrated_labels(p, seed=3)
    assert y.shape == (2, 20000)
    np.testing.assert_allclose(np.bincount(y.ravel(), minlength=3) / y.size, [0.7, 0.2, 0.1], atol=0.01)


@pytest.fixture
def small(monkeypatch):
    """A zoo of 8 MLPs on 1000 training and 2000 test examples per seed."""
    sizes = {250: 120.0, 1000: 40.0}

    def zoo(quick):
        return [
            (f"mlp-{w} n={n} {lab}", w, n, ep)
            for w in (32, 128)
            for n, long in sizes.items()
            for lab, ep in (("short", long / 8), ("long", long))
        ]

    monkeypatch.setattr(cb, "zoo", zoo)
    monkeypatch.setattr(cb, "N_TRAIN", 1000)
    monkeypatch.setitem(cb.N_TEST, True, 2000)


@pytest.mark.slow
def test_recipe_small_and_its_control(small):
    res = df.recipes.run("calibration-bins", quick=True, seed=0)
    ctl = df.recipes.run("calibration-bins", quick=True, seed=0, control=True)
    assert res.seeds == ctl.seeds == [0, 1]
    assert res.sizes == {"models": 8, "test items": 1600, "bin counts": 9}
    d = res.details
    assert set(d["labels"]) == {"real", "null", "calibrated"} and sorted(d["n_bins"].unique()) == list(BIN_COUNTS)
    real = d[d["labels"] == "real"].groupby("stage")["ece"].mean()
    assert real["after"] < real["before"] - 0.03  # scaling fixes much of the miscalibration

    def share(frame, stage, labels):
        sub = frame[(frame["stage"] == stage) & (frame["labels"] == labels)]
        table = sub.pivot_table(index=["seed", "model"], columns="n_bins", values="ece")[list(BIN_COUNTS)]
        return cb.fine_share(table.to_numpy())

    # the paper's observation is there without a null: far more of ECE depends on the bin count after scaling
    rise = share(d, "after", "real") - share(d, "before", "real")
    null_rise = share(d, "after", "null") - share(d, "before", "null")
    assert rise > 0.2
    # ... and the floor-only null reproduces it, so neither effect clears its margin
    assert res.effects[1].estimate == pytest.approx(rise - null_rise, abs=1e-9)
    assert abs(res.effects[1].estimate) < 0.03 and -0.1 < res.effects[0].estimate < 0.25
    assert not res.held
    # control: nothing for scaling to fix, and no effect either
    assert not ctl.held
    assert 0.7 < ctl.details["temperature"].min() and ctl.details["temperature"].max() < 1.3
    assert share(ctl.details, "after", "real") - share(ctl.details, "before", "real") < 0.0
