"""diversification recipe: the spurious-digits splits, worst-group accuracy, the claim and its control."""

import numpy as np
import pytest

from datafactors.recipes import REGISTRY
from datafactors.recipes import diversification as dv
from datafactors.recipes.diversification import _spurious_splits, _spurious_values, _unlabeled, _worst_group

TEST_EPOCHS = 100  # the quick run's seeds, shorter training (about 25 s of CPU for the claim and its control)


def test_registered_with_paper_claim_and_control():
    r = REGISTRY.get("diversification")
    assert r.paper and "ERM" in r.claim and "mi_weight = 0" in r.control


def test_spurious_values_align_an_exact_share_of_each_class():
    y = np.r_[np.zeros(10, int), np.ones(30, int)]
    s = _spurious_values(y, 0.8, np.random.default_rng(0))
    assert (s[y == 0] == 0).sum() == 8 and (s[y == 1] == 1).sum() == 24
    assert (_spurious_values(y, 1.0, np.random.default_rng(0)) == y).all()
    assert (_spurious_values(y, 0.0, np.random.default_rng(0)) == 1 - y).all()


def test_spurious_splits_train_fully_aligned_test_balanced_pool_from_the_target():
    d = _spurious_splits(0)
    train = d["train"]
    assert train.n == 700 and set(train.groups) == {"y=0,s=0", "y=1,s=1"}
    cue = train.X[:, 64:].mean(1) > 0  # the eight spurious columns
    assert (cue == train.y).all()
    Xte, yte, gte = d["test"]
    assert len(yte) == 537 and len(set(gte)) == 4 and abs(np.mean([g[2] != g[-1] for g in gte]) - 0.5) < 0.01
    val = d["val"]
    assert val.n == 60 and abs(((val.X[:, 64:].mean(1) > 0) != val.y).mean() - 0.5) < 0.05
    X_pool, y_pool = d["pool"]
    for m in (0.0, 0.3, 0.5, 1.0):
        Xu = _unlabeled(d["pool"], m, 0)
        np.testing.assert_array_equal(Xu[:, :64], X_pool)  # the same images, only the cue changes
        minority = ((Xu[:, 64:].mean(1) > 0).astype(int) != y_pool).mean()
        assert minority == pytest.approx(m, abs=0.01)


def test_worst_group_by_hand():
    correct = np.array([1, 1, 0, 1, 0, 0, 1.0])
    groups = np.array([0, 0, 0, 1, 1, 3, 3])  # group 2 empty: skipped
    assert _worst_group(correct, groups, 4) == pytest.approx(0.5)
    assert _worst_group(np.ones(3), np.array([0, 1, 2]), 4) == 1.0


@pytest.mark.slow
def test_diversification_claim_and_disagreement_off_control():
    res = dv.run_diversification(seed=0, quick=True, epochs=TEST_EPOCHS)
    ctl = dv.run_diversification(seed=0, quick=True, control=True, epochs=TEST_EPOCHS)
    assert res.seeds == ctl.seeds == [0, 1] and res.sizes["n_val_labels"] == 60
    d = res.details
    erm = d[d.method == "erm"]
    # ERM reads the cue: near-zero worst group, near-chance mean accuracy on the balanced test
    assert (erm.worst_group_accuracy < 0.1).all() and (erm.accuracy < 0.6).all()
    assert res.held, str(res)
    wg, mean = res.effects
    # the picked head reads the digit: worst group from ~0 to ~0.65, mean accuracy from ~0.52 to ~0.8
    assert 0.45 < wg.estimate < 0.8 and 0.2 < mean.estimate < 0.36
    # without the mutual-information term the best of four heads is another ERM
    assert not ctl.held, str(ctl)
    c_wg, c_mean = ctl.effects
    assert abs(c_wg.estimate) < 0.05 and abs(c_mean.estimate) < 0.03
    assert set(ctl.details.method) == {"erm", "divdis"} and ctl.measured["DivDis mutual-information weight"] == 0
