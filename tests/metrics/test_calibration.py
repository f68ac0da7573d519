"""Calibration family: hand-worked cases, naive reference loops, netcal, the KS reference formula, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafactors import DataError
from datafactors.metrics import (
    BIN_COUNTS,
    CALIBRATION_METRICS,
    accuracy,
    bin_sweep,
    brier,
    calibration_metrics,
    classwise_ece,
    ece,
    evaluate,
    ks_error,
    mce,
    nll,
    reliability_bins,
)

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


# --- KS error (Gupta et al., 2021) ---------------------------------------------------


def reference_ks(probs, y):
    """The authors' formula: sort by top-label score, max |cumsum(correct) - cumsum(score)| / n."""
    probs = np.asarray(probs, dtype=float)
    scores = probs.max(axis=1)
    labels = (probs.argmax(axis=1) == np.asarray(y)).astype(float)
    order = scores.argsort()
    scores, labels = scores[order], labels[order]
    n = len(scores)
    return float(np.amax(np.absolute(np.cumsum(scores) / n - np.cumsum(labels) / n)))


def test_ks_error_by_hand():
    # sorted conf .4 (ok), .5 (wrong), .7 (wrong), .9 (ok); cumulative (correct - conf) / 4:
    # (1 - .4)/4 = .15, (1 - .9)/4 = .025, (1 - 1.6)/4 = -.15, (2 - 2.5)/4 = -.125  -> KS = .15
    assert ks_error(HAND_P, HAND_Y) == pytest.approx(0.15, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ks_error_matches_reference_formula(seed):
    p, y = random_problem(seed, n=300, c=5)
    assert ks_error(p, y) == pytest.approx(reference_ks(p, y), abs=1e-12)


def test_ks_error_ignores_the_order_of_tied_confidences():
    # Two examples tied at .6: one right, one wrong. Cutting between them would depend on the order.
    p = np.array([[0.6, 0.4], [0.6, 0.4], [0.9, 0.1]])
    y = np.array([0, 1, 0])
    # tie group end: (1 - 1.2)/3 = -.0667; then (2 - 2.1)/3 = -.0333 -> KS = .0667
    assert ks_error(p, y) == pytest.approx(0.2 / 3, abs=1e-12)
    assert ks_error(p[[1, 0, 2]], y[[1, 0, 2]]) == ks_error(p, y)


def test_ks_error_zero_for_confident_correct_predictions():
    assert ks_error(np.eye(3), [0, 1, 2]) == 0.0


# --- independent implementation: netcal ------------------------------------------------


@pytest.mark.parametrize("n_bins", [5, 15, 100])
def test_ece_and_mce_match_netcal(n_bins):
    netcal = pytest.importorskip("netcal.metrics")
    # Continuous confidences never sit exactly on a bin edge, where netcal's bins are
    # left-closed and ours right-closed; elsewhere the two must agree.
    p, y = random_problem(20 + n_bins, n=2000, c=6)
    assert ece(p, y, n_bins=n_bins) == pytest.approx(netcal.ECE(bins=n_bins).measure(p, y), abs=1e-12)
    assert mce(p, y, n_bins=n_bins) == pytest.approx(netcal.MCE(bins=n_bins).measure(p, y), abs=1e-12)


# --- all metrics at once, bin sweep ---------------------------------------------------


def test_calibration_metrics_equal_the_separate_functions():
    p, y = random_problem(9, n=400, c=4)
    m = calibration_metrics(p, y, n_bins=10)
    assert list(m) == list(CALIBRATION_METRICS)
    want = {
        "accuracy": accuracy(p, y),
        "nll": nll(p, y),
        "brier": brier(p, y),
        "ece": ece(p, y, n_bins=10),
        "ece_mass": ece(p, y, n_bins=10, binning="mass"),
        "classwise_ece": classwise_ece(p, y, n_bins=10),
        "mce": mce(p, y, n_bins=10),
        "ks": ks_error(p, y),
    }
    for k, v in want.items():
        assert m[k] == pytest.approx(v, abs=1e-12), k


def test_bin_sweep_equals_the_separate_functions():
    p, y = random_problem(10, n=300, c=3)
    sweep = bin_sweep(p, y)
    assert BIN_COUNTS == (5, 10, 15, 20, 25, 50, 100, 200, 500)
    assert len(sweep) == 2 * len(BIN_COUNTS)
    assert list(sweep.columns) == ["binning", "n_bins", "ece", "mce", "classwise_ece"]
    for row in sweep.itertuples():
        assert row.ece == pytest.approx(ece(p, y, n_bins=row.n_bins, binning=row.binning), abs=1e-12)
        assert row.mce == pytest.approx(mce(p, y, n_bins=row.n_bins, binning=row.binning), abs=1e-12)
        cw = classwise_ece(p, y, n_bins=row.n_bins, binning=row.binning)
        assert row.classwise_ece == pytest.approx(cw, abs=1e-12)


def test_classwise_ece_on_bin_edges_matches_naive_loop():
    # Scores exactly on the edges k/10 exercise the right-closed rule in the vectorised path.
    rng = np.random.default_rng(12)
    raw = rng.integers(0, 11, size=(200, 2)) / 10.0
    p = np.column_stack([raw[:, 0], 1 - raw[:, 0]])
    y = rng.integers(0, 2, 200)
    per_class = [naive_ece(p[:, c].tolist(), (y == c).astype(float).tolist(), 10, "width")[0] for c in range(2)]
    assert classwise_ece(p, y, n_bins=10) == pytest.approx(np.mean(per_class), abs=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bin_counts": []}, "bin_counts is empty"),
        ({"bin_counts": [5, 0]}, "n_bins == 0"),
        ({"binnings": []}, "binnings is empty"),
        ({"binnings": ["width", "quantile"]}, "binning == 'quantile'"),
    ],
)
def test_bin_sweep_bad_settings(kwargs, match):
    with pytest.raises(DataError, match=match):
        bin_sweep(HAND_P, HAND_Y, **kwargs)


@given(
    st.integers(min_value=1, max_value=40),
    st.integers(min_value=2, max_value=6),
    st.integers(min_value=0, max_value=10_000),
)
@settings(max_examples=40, deadline=None)
def test_invariants(n, c, seed):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(c, 0.5), size=n)
    # coarse values make ties common
    p = np.round(p, 1)
    p[:, -1] = 1 - p[:, :-1].sum(axis=1)
    p = np.clip(p, 0, 1)
    p /= p.sum(axis=1, keepdims=True)
    y = rng.integers(0, c, n)
    m = calibration_metrics(p, y, n_bins=7)
    for key in ("ece", "ece_mass", "classwise_ece", "mce", "ks"):
        assert 0.0 <= m[key] <= 1.0 + 1e-12
    assert m["ece"] <= m["mce"] + 1e-12
    perm = rng.permutation(n)
    assert ks_error(p[perm], y[perm]) == pytest.approx(m["ks"], abs=1e-12)
    assert ece(p[perm], y[perm], n_bins=7) == pytest.approx(m["ece"], abs=1e-12)
