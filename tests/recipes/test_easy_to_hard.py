"""The easy-to-hard recipe, its Supervision Gap Recovered bootstrap and its negative control."""

import numpy as np
import pytest

import datafactors as df
from datafactors.recipes import REGISTRY
from datafactors.recipes.easy_to_hard import (
    DATASETS,
    SGR_MARGIN,
    _supervision_gap_recovered,
    easy_to_hard_experiment,
    load_pool,
)


def test_sgr_hand_case():
    e = np.array([[1, 1, 0, 0]])
    h = np.array([[1, 1, 1, 0]])
    u = np.array([[0, 1, 0, 0]])
    out = _supervision_gap_recovered(e, h, u, n_boot=200, seed=0)
    # (0.5 - 0.25) / (0.75 - 0.25)
    assert out["sgr"] == pytest.approx(0.5)
    assert (out["easy"], out["hard"], out["unsup"]) == (0.5, 0.75, 0.25)
    assert out["lo"] <= out["sgr"] <= out["hi"]


def test_sgr_bootstrap_over_items_and_seeds():
    rng = np.random.default_rng(0)
    h = rng.random((4, 400)) < 0.8
    e = rng.random((4, 400)) < 0.6
    u = np.full((4, 400), 0.1)  # a uniform guess over 10 classes: expected correctness 0.1 per item
    a = _supervision_gap_recovered(e, h, u, n_boot=2000, seed=1)
    assert a == _supervision_gap_recovered(e, h, u, n_boot=2000, seed=1)
    expected = (e.mean() - 0.1) / (h.mean() - 0.1)
    assert a["sgr"] == pytest.approx(expected)
    assert a["lo"] < expected < a["hi"] and a["hi"] - a["lo"] < 0.2
    # identical conditions: every resample recovers exactly the whole gap
    same = _supervision_gap_recovered(h, h, u, n_boot=100, seed=0)
    assert same["sgr"] == same["lo"] == same["hi"] == pytest.approx(1.0)
    # a single seed given as 1-D works like one row
    one = _supervision_gap_recovered(e[0], h[0], u[0], n_boot=100)
    assert one["sgr"] == pytest.approx((e[0].mean() - 0.1) / (h[0].mean() - 0.1))


def test_sgr_no_gap_is_nan_not_inf():
    c = np.array([[1, 0, 1, 0]])
    out = _supervision_gap_recovered(c, c, c, n_boot=50)
    assert np.isnan(out["sgr"]) and np.isnan(out["lo"]) and np.isnan(out["hi"])


def test_sgr_bad_shapes():
    with pytest.raises(df.DataError, match="shape"):
        _supervision_gap_recovered(np.ones((2, 3)), np.ones((2, 3)), np.ones((1, 3)))
    with pytest.raises(df.DataError, match="n_boot"):
        _supervision_gap_recovered(np.ones(3), np.ones(3), np.zeros(3), n_boot=0)


def test_registered_with_control():
    r = REGISTRY.get("easy-to-hard")
    assert "Hase" in r.paper and "SGR" in r.claim and "easy labels permuted" in r.control


def test_pools_are_the_shipped_data_sets():
    sizes = {name: (load_pool(name).n, load_pool(name).n_classes) for name in DATASETS}
    assert sizes == {"digits": (1797, 10), "breast_cancer": (569, 2)}
    with pytest.raises(df.DataError, match="breast_cancer"):
        load_pool("iris")


def test_control_permutes_only_the_easy_labels():
    # a cheap stand-in hardness (distance to the class mean): the arms, not the hardness, are under test
    pool = load_pool("breast_cancer")

    def dist(X, y, s):
        Xs = (X - X.mean(0)) / X.std(0)
        centres = np.array([Xs[y == c].mean(0) for c in range(2)])
        return np.linalg.norm(Xs - centres[y], axis=1)

    real, rows, facts = easy_to_hard_experiment(pool, [0, 1], hardness=dist, n_boot=200)
    ctl, crows, _ = easy_to_hard_experiment(pool, [0, 1], hardness=dist, n_boot=200, control=True)
    assert facts["hard test items"] == 85 and facts["train size per arm"] == 86
    # the hard-trained and zero-label arms are the same runs; only the easy arm lost its labels
    assert real["hard"] == ctl["hard"] and real["unsup"] == ctl["unsup"] == 0.5
    assert set(rows["n_train"]) == {0, 86}
    assert ctl["easy"] < real["easy"] - 0.2


def test_easy_to_hard_quick_and_its_control():
    res = df.recipes.run("easy-to-hard", quick=True, seed=0)
    ctl = df.recipes.run("easy-to-hard", quick=True, seed=0, control=True)
    assert res.held and not ctl.held
    assert res.seeds == ctl.seeds == [0, 1] and ctl.is_control
    assert res.sizes["digits hard test items"] == 269 and res.sizes["breast_cancer hard test items"] == 85
    digits, cancer = res.effects
    assert all(e.margin == SGR_MARGIN and e.above for e in res.effects)
    # measured at seed 0: digits 0.63 [0.56, 0.71], breast cancer 0.80 [0.70, 0.91]
    assert 0.55 < digits.estimate < 0.72 and 0.7 < cancer.estimate < 0.9
    # the zero-label arm is a uniform guess: exactly 1/K on every item
    arm = res.details.groupby(["dataset", "arm"])["hard_test_accuracy"].mean()
    assert arm["digits", "unsupervised"] == pytest.approx(0.1) and arm["breast_cancer", "unsupervised"] == 0.5
    assert arm["digits", "hard"] > 0.75 and arm["digits", "easy"] > 0.45
    # control: easy labels permuted, SGR falls to about zero on both data sets
    assert all(abs(e.estimate) < 0.3 and e.lo < 0.2 for e in ctl.effects)
    carm = ctl.details.groupby(["dataset", "arm"])["hard_test_accuracy"].mean()
    assert carm["digits", "hard"] == arm["digits", "hard"]
    assert carm["digits", "easy"] < 0.15
    assert "claim:" in str(res) and "negative control" in str(ctl)
