"""Calibration family: a hand-worked case, a naive reference loop, and validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datafactors import DataError
from datafactors.metrics import classwise_ece, ece, evaluate, mce, reliability_bins

# Top-label confidences .9 (correct), .7 (wrong), .4 (correct), .5 (wrong).
HAND_P = np.array(
    [
        [0.9, 0.05, 0.05],
        [0.7, 0.2, 0.1],
        [0.4, 0.35, 0.25],
        [0.2, 0.3, 0.5],
    ]
)
HAND_Y = np.array([0, 1, 0, 0])


def test_ece_two_width_bins_by_hand():
    # Bins [0, .5] and (.5, 1]; .5 lands in the first (right-closed).
    # [0, .5]: {.4 ok, .5 wrong} conf .45 acc .5 gap .05, weight 2/4 -> .025
    # (.5, 1]: {.9 ok, .7 wrong} conf .80 acc .5 gap .30, weight 2/4 -> .150
    # ECE = .175, MCE = .30
    assert ece(HAND_P, HAND_Y, n_bins=2) == pytest.approx(0.175, abs=1e-12)
    assert mce(HAND_P, HAND_Y, n_bins=2) == pytest.approx(0.30, abs=1e-12)


def test_ece_equal_mass_by_hand():
    # Sorted conf .4, .5, .7, .9 split 2/1/1 by np.array_split into 3 groups:
    # {.4 ok, .5 wrong}: gap |.5 - .45| = .05, weight .5 -> .025
    # {.7 wrong}:        gap .7,              weight .25 -> .175
    # {.9 ok}:           gap .1,              weight .25 -> .025   => .225; MCE .7
    assert ece(HAND_P, HAND_Y, n_bins=3, binning="mass") == pytest.approx(0.225, abs=1e-12)
    assert mce(HAND_P, HAND_Y, n_bins=3, binning="mass") == pytest.approx(0.7, abs=1e-12)


def test_reliability_bins_hand_case():
    df = reliability_bins(HAND_P, HAND_Y, n_bins=2)
    assert list(df.columns) == ["bin_lower", "bin_upper", "confidence", "accuracy", "count"]
    np.testing.assert_allclose(df["bin_lower"], [0.0, 0.5])
    np.testing.assert_allclose(df["bin_upper"], [0.5, 1.0])
    np.testing.assert_allclose(df["confidence"], [0.45, 0.8])
    np.testing.assert_allclose(df["accuracy"], [0.5, 0.5])
    assert df["count"].tolist() == [2, 2]


def test_right_closed_edge_goes_to_lower_bin():
    # Top-label confidence exactly 0.2 with 5 bins belongs to [0, 0.2], and 0.6 to (0.4, 0.6]
    # even though 0.6 * 5 is not exactly 3 in floating point.
    p = np.array([[0.2] * 5, [0.6, 0.1, 0.1, 0.1, 0.1]])
    df = reliability_bins(p, [0, 0], n_bins=5)
    np.testing.assert_allclose(df["bin_upper"], [0.2, 0.6])
    assert df["count"].tolist() == [1, 1]


def test_classwise_ece_by_hand():
    # Two classes, 1 bin: class 0 scores mean .5 vs freq 1/2 -> 0; with 2 bins:
    # class 0 scores .8, .2 -> bins (.5,1]: {.8, y=0 yes} gap .2, [0,.5]: {.2, y=1 -> no} gap .2 -> ECE .2
    # class 1 is the mirror image -> .2; mean .2
    p = np.array([[0.8, 0.2], [0.2, 0.8]])
    assert classwise_ece(p, [0, 1], n_bins=1) == pytest.approx(0.0, abs=1e-12)
    assert classwise_ece(p, [0, 1], n_bins=2) == pytest.approx(0.2, abs=1e-12)


def test_perfect_confident_predictions_have_zero_error():
    p = np.eye(3)[[0, 1, 2, 1]]
    y = [0, 1, 2, 1]
    assert ece(p, y) == 0.0
    assert mce(p, y) == 0.0
    assert classwise_ece(p, y) == 0.0


# --- naive reference implementations -------------------------------------------------


def naive_width_bins(score, outcome, n_bins):
    edges = np.linspace(0, 1, n_bins + 1)
    bins = []
    for b in range(n_bins):
        lo, hi = edges[b], edges[b + 1]
        members = [i for i in range(len(score)) if lo < score[i] <= hi or (b == 0 and score[i] == lo)]
        if members:
            bins.append(members)
    return bins


def naive_mass_bins(score, n_bins):
    order = sorted(range(len(score)), key=lambda i: score[i])
    n = len(score)
    sizes = [n // n_bins + (1 if b < n % n_bins else 0) for b in range(n_bins)]
    bins, start = [], 0
    for s in sizes:
        if s:
            bins.append(order[start : start + s])
        start += s
    return bins


def naive_ece(score, outcome, n_bins, binning):
    bins = naive_width_bins(score, outcome, n_bins) if binning == "width" else naive_mass_bins(score, n_bins)
    total, worst = 0.0, 0.0
    for members in bins:
        conf = sum(score[i] for i in members) / len(members)
        acc = sum(outcome[i] for i in members) / len(members)
        total += len(members) / len(score) * abs(acc - conf)
        worst = max(worst, abs(acc - conf))
    return total, worst


def random_problem(seed, n=157, c=4):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(c, 0.7), size=n)
    y = rng.integers(0, c, size=n)
    return p, y


@pytest.mark.parametrize("binning", ["width", "mass"])
@pytest.mark.parametrize("n_bins", [1, 5, 15, 200])
def test_ece_and_mce_match_naive_loop(binning, n_bins):
    p, y = random_problem(n_bins)
    conf = p.max(axis=1).tolist()
    correct = (p.argmax(axis=1) == y).astype(float).tolist()
    want_ece, want_mce = naive_ece(conf, correct, n_bins, binning)
    assert ece(p, y, n_bins=n_bins, binning=binning) == pytest.approx(want_ece, abs=1e-12)
    assert mce(p, y, n_bins=n_bins, binning=binning) == pytest.approx(want_mce, abs=1e-12)


@pytest.mark.parametrize("binning", ["width", "mass"])
def test_classwise_ece_matches_naive_loop(binning):
    p, y = random_problem(7, n=90, c=3)
    per_class = [naive_ece(p[:, c].tolist(), (y == c).astype(float).tolist(), 10, binning)[0] for c in range(3)]
    assert classwise_ece(p, y, n_bins=10, binning=binning) == pytest.approx(np.mean(per_class), abs=1e-12)


@pytest.mark.parametrize("binning", ["width", "mass"])
def test_reliability_bins_reproduce_ece(binning):
    p, y = random_problem(3)
    df = reliability_bins(p, y, n_bins=12, binning=binning)
    assert isinstance(df, pd.DataFrame)
    assert df["count"].sum() == len(y)
    assert (df["count"] > 0).all()
    assert df["confidence"].is_monotonic_increasing
    assert ((df["bin_lower"] <= df["confidence"]) & (df["confidence"] <= df["bin_upper"])).all()
    from_table = float(np.sum(df["count"] / len(y) * np.abs(df["accuracy"] - df["confidence"])))
    assert from_table == pytest.approx(ece(p, y, n_bins=12, binning=binning), abs=1e-12)


def test_mass_binning_with_more_bins_than_examples():
    p, y = random_problem(4, n=5)
    df = reliability_bins(p, y, n_bins=15, binning="mass")
    assert df["count"].tolist() == [1, 1, 1, 1, 1]
    # one example per bin: ECE is the mean |correct - conf|
    conf, correct = p.max(axis=1), p.argmax(axis=1) == y
    assert ece(p, y, n_bins=15, binning="mass") == pytest.approx(np.mean(np.abs(correct - conf)))


def test_mce_is_at_least_ece():
    p, y = random_problem(11)
    assert mce(p, y) >= ece(p, y)


def test_evaluate_ece_is_equal_width():
    p, y = random_problem(5)
    assert evaluate(p, y, n_bins=10)["ece"] == ece(p, y, n_bins=10, binning="width")


@pytest.mark.parametrize("fn", [ece, mce, classwise_ece, reliability_bins])
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_bins": 0}, "n_bins == 0"),
        ({"n_bins": 2.5}, "n_bins must be an int"),
        ({"n_bins": True}, "n_bins must be an int"),
        ({"binning": "quantile"}, "binning == 'quantile'"),
    ],
)
def test_bad_bin_settings_raise(fn, kwargs, match):
    with pytest.raises(DataError, match=match):
        fn(HAND_P, HAND_Y, **kwargs)


def test_bad_probs_raise():
    with pytest.raises(DataError, match="sums to"):
        ece([[0.3, 0.3]], [0])
    with pytest.raises(DataError, match="must be in \\[0, 3\\)"):
        ece(HAND_P, [0, 1, 2, 3])
