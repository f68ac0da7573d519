"""annotator-exemplars: 1-NN guidelines of per-class exemplars vs class-balanced random, and the permuted control."""

import numpy as np
import pytest

import datafactors as df
from datafactors.io import load_builtin
from datafactors.recipes import REGISTRY
from datafactors.recipes.annotator_exemplars import (
    BUDGETS,
    _split,
    class_coverage,
    exemplar_experiment,
    one_nn_correct,
    permute_within_class,
)


def test_registered_with_paper_claim_and_control():
    r = REGISTRY.get("annotator-exemplars")
    assert r.paper.startswith("Thinking Like an Annotator") and "Chang" in r.paper
    assert "representative" in r.claim and "permuted within each class" in r.control
    assert BUDGETS == (1, 2, 5)


def test_one_nn_correct_by_hand():
    X_ref, y_ref = np.array([[0.0], [10.0]]), np.array([0, 1])
    # 1 -> row 0 (label 0, right); 6 -> row 1 (label 1, right); 5 ties -> lowest row 0 (label 0, right);
    # 9 -> row 1 (label 1, but the truth is 0)
    Q, yq = np.array([[1.0], [6.0], [5.0], [9.0]]), np.array([0, 1, 0, 0])
    np.testing.assert_array_equal(one_nn_correct(X_ref, y_ref, Q, yq), [1.0, 1.0, 1.0, 0.0])
    # 2-D: (3, 4) is 5 from the origin and sqrt(2) from (4, 5)
    ok = one_nn_correct(np.array([[0.0, 0.0], [4.0, 5.0]]), np.array([7, 3]), np.array([[3.0, 4.0]]), np.array([3]))
    assert ok.tolist() == [1.0]


def test_permute_within_class_keeps_each_class_rows_and_breaks_the_link():
    y = np.repeat([0, 1, 2], [50, 80, 70])
    E = np.column_stack([np.arange(200.0), -np.arange(200.0)])
    P = permute_within_class(E, y, np.random.default_rng(0))
    assert P.shape == E.shape
    for c in range(3):
        rows = np.flatnonzero(y == c)
        np.testing.assert_array_equal(np.sort(P[rows, 0]), rows.astype(float))  # only its own class's rows
    np.testing.assert_array_equal(P[:, 1], -P[:, 0])  # whole rows move, not single features
    assert (P[:, 0] == np.arange(200)).mean() < 0.1  # a random permutation fixes ~1 row per class
    np.testing.assert_array_equal(P, permute_within_class(E, y, np.random.default_rng(0)))


def test_class_coverage_by_hand():
    X = np.array([[0.0], [1.0], [2.0], [10.0], [14.0]])
    y = np.array([0, 0, 0, 1, 1])
    # class 0 to pick 1: 1, 0, 1 -> 2/3; class 1 to pick 3 (10): 0, 16 -> 8; mean (2/3 + 8) / 2
    assert class_coverage(X, y, np.array([1, 3])) == pytest.approx(13 / 3)
    # a second pick in class 1 covers its last row: class 1 -> 0
    assert class_coverage(X, y, np.array([1, 3, 4])) == pytest.approx(1 / 3)


def test_one_exemplar_per_class_is_the_brute_force_medoid():
    # independent check of what the recipe's "exemplars" arm shows at k = 1: the member of each
    # class with the smallest summed squared distance to its class, and 1-NN over those ten images
    details, correct = exemplar_experiment([0], control=False, budgets=(1,), n_random=3)
    data = load_builtin("digits", test_size=0.5, seed=0)
    X, y = data.train.X.astype(float), data.train.y
    medoids = []
    for c in range(10):
        rows = np.flatnonzero(y == c)
        d2 = ((X[rows, None] - X[None, rows]) ** 2).sum(axis=2).sum(axis=1)
        medoids.append(rows[np.argmin(d2)])
    Xt, yt = data.test.X, data.test.y
    d = ((Xt[:, None] - X[None, medoids]) ** 2).sum(axis=2)
    expected = (y[medoids][d.argmin(axis=1)] == yt).mean()
    assert correct[("exemplars", 1)].shape == (1, len(yt))
    assert correct[("exemplars", 1)].mean() == pytest.approx(expected)
    # the random arm is a mean over 3 draws: every entry is a multiple of 1/3
    r = correct[("random", 1)] * 3
    np.testing.assert_allclose(r, np.round(r))
    assert set(details["arm"]) == {"exemplars", "random", "centroid exemplars"} and len(details) == 3


def test_test_slots_hold_the_same_class_in_every_seed():
    (_, t0), (_, t1) = _split(0), _split(1)
    assert not np.array_equal(t0.ids, t1.ids)  # the split changes with the seed
    np.testing.assert_array_equal(t0.y, t1.y)  # but slot j is the same class
    assert (np.diff(t0.y) >= 0).all()


@pytest.mark.slow
def test_quick_exemplars_beat_random_and_control_vanishes():
    res = df.recipes.run("annotator-exemplars", quick=True)
    assert res.held and res.seeds == [0, 1]
    assert res.sizes == {"pool": 899, "test images": 898, "random draws": 20, "budgets": 3}
    e1, e2, e5 = res.effects
    # measured 19.6 [16.5, 22.6], 13.8 [12.3, 15.2], 8.71 [7.63, 9.76]: the gain shrinks as k grows
    assert 15 < e1.estimate < 25 and 10 < e2.estimate < 18 and 6 < e5.estimate < 12
    assert e1.estimate > e2.estimate > e5.estimate
    m = res.measured
    assert 0.6 < m["1/class accuracy: random (expected)"] < 0.7  # measured 0.648
    assert m["1/class accuracy: exemplars"] == m["1/class accuracy: centroid exemplars"]  # same pick at k = 1
    for k in BUDGETS:
        assert m[f"{k}/class coverage ratio exemplars / random"] < 0.8  # measured 0.69-0.73
        assert m[f"{k}/class accuracy: exemplars"] < m["whole-pool 1-NN accuracy (ceiling)"]
    assert m["whole-pool 1-NN accuracy (ceiling)"] > 0.97

    ctl = df.recipes.run("annotator-exemplars", quick=True, control=True)
    assert not ctl.held and ctl.is_control
    # measured -0.35 [-6.6, 5.7], -0.13 [-4.8, 4.4], -0.25 [-2.4, 1.6]
    for e in ctl.effects:
        assert not e.held and abs(e.estimate) < 3 and e.lo < 0
    for k in BUDGETS:
        assert ctl.measured[f"{k}/class coverage ratio exemplars / random"] > 0.95  # no closer than random
    # the random guidelines are the same draws in both runs
    rand = res.details[res.details["arm"] == "random"]["accuracy"].to_numpy()
    np.testing.assert_array_equal(rand, ctl.details[ctl.details["arm"] == "random"]["accuracy"].to_numpy())
