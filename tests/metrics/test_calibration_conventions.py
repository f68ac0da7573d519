"""Calibration conventions: right- vs left-closed bins, top-label vs positive-class binary scoring.

Hand-worked cases for each option, a naive left-closed reference loop, and netcal (whose
conventions the non-default options reproduce) when it is importable.
"""

from __future__ import annotations

import numpy as np
import pytest

from datafactors import DataError
from datafactors.metrics import bin_sweep, calibration_metrics, classwise_ece, ece, mce, reliability_bins

# Top-label confidences .9 (correct), .7 (wrong), .4 (correct), .5 (correct); three labels seen.
HAND_P = np.array(
    [
        [0.9, 0.05, 0.05],
        [0.7, 0.2, 0.1],
        [0.4, 0.35, 0.25],
        [0.2, 0.3, 0.5],
    ]
)
HAND_Y = np.array([0, 1, 0, 2])

# Two classes: positive-class probabilities .2, .7, .5, .1 for labels 1, 1, 0, 0.
BIN_P = np.array([[0.8, 0.2], [0.3, 0.7], [0.5, 0.5], [0.9, 0.1]])
BIN_Y = np.array([1, 1, 0, 0])


def test_right_and_left_closed_bins_by_hand():
    # right (default), bins [0, .5] and (.5, 1]:
    #   {.4 ok, .5 ok}: conf .45, acc 1, gap .55, weight 2/4 -> .275
    #   {.9 ok, .7 wrong}: conf .8, acc .5, gap .3, weight 2/4 -> .15      ECE .425, MCE .55
    # left, bins [0, .5) and [.5, 1]: .5 moves up
    #   {.4 ok}: gap .6, weight 1/4 -> .15
    #   {.9 ok, .7 wrong, .5 ok}: conf .7, acc 2/3, gap 1/30, weight 3/4 -> .025   ECE .175, MCE .6
    assert ece(HAND_P, HAND_Y, n_bins=2) == pytest.approx(0.425, abs=1e-12)
    assert mce(HAND_P, HAND_Y, n_bins=2) == pytest.approx(0.55, abs=1e-12)
    assert ece(HAND_P, HAND_Y, n_bins=2, bin_edges="left") == pytest.approx(0.175, abs=1e-12)
    assert mce(HAND_P, HAND_Y, n_bins=2, bin_edges="left") == pytest.approx(0.6, abs=1e-12)
    right = reliability_bins(HAND_P, HAND_Y, n_bins=2)
    left = reliability_bins(HAND_P, HAND_Y, n_bins=2, bin_edges="left")
    assert right["count"].tolist() == [2, 2] and left["count"].tolist() == [1, 3]
    np.testing.assert_allclose(left["confidence"], [0.4, 0.7])
    # the defaults are the right-closed, top-label conventions
    assert ece(HAND_P, HAND_Y, n_bins=2, bin_edges="right", binary="top_label") == ece(HAND_P, HAND_Y, n_bins=2)


def test_left_closed_edges_follow_the_float_edges():
    # 5 bins, edges np.linspace(0, 1, 6): 0.2 opens [0.2, 0.4) with left-closed bins and closes
    # [0, 0.2] with right-closed ones; 1.0 stays in the last bin. The edge 0.6000000000000001
    # lies above the float 0.6, so 0.6 stays in [0.4, 0.6) when bins are left-closed, as in
    # np.histogram and netcal.
    p = np.array([[0.2] * 5, [1.0, 0, 0, 0, 0], [0.6, 0.1, 0.1, 0.1, 0.1]])
    left = reliability_bins(p, [0, 0, 0], n_bins=5, bin_edges="left")
    np.testing.assert_allclose(left["bin_lower"], [0.2, 0.4, 0.8])
    assert left["count"].tolist() == [1, 1, 1]
    assert np.histogram(p.max(axis=1), bins=np.linspace(0, 1, 6))[0].tolist() == [0, 1, 1, 0, 1]
    right = reliability_bins(p, [0, 0, 0], n_bins=5)
    np.testing.assert_allclose(right["bin_upper"], [0.2, 0.6, 1.0])


def test_binary_positive_class_by_hand():
    # top label, right-closed: conf .8 (wrong), .7 (ok), .5 (tie -> class 0, ok), .9 (ok)
    #   [0, .5]: {.5 ok} gap .5 * 1/4 = .125; (.5, 1]: conf .8, acc 2/3, gap 2/15 * 3/4 = .1 -> .225
    # positive class p1 = .2, .7, .5, .1 against y == 1: 1, 1, 0, 0
    #   right: [0, .5]: {.2, .5, .1} conf 4/15, freq 1/3, gap 1/15 * 3/4 = .05; (.5, 1]: {.7} gap .3 * 1/4
    #          -> .125, MCE .3
    #   left:  [0, .5): {.2, .1} conf .15, freq .5, gap .35 * 1/2 = .175; [.5, 1]: {.7, .5} conf .6,
    #          freq .5, gap .1 * 1/2 = .05 -> .225, MCE .35
    assert ece(BIN_P, BIN_Y, n_bins=2) == pytest.approx(0.225, abs=1e-12)
    assert ece(BIN_P, BIN_Y, n_bins=2, binary="positive") == pytest.approx(0.125, abs=1e-12)
    assert mce(BIN_P, BIN_Y, n_bins=2, binary="positive") == pytest.approx(0.3, abs=1e-12)
    assert ece(BIN_P, BIN_Y, n_bins=2, binary="positive", bin_edges="left") == pytest.approx(0.225, abs=1e-12)
    assert mce(BIN_P, BIN_Y, n_bins=2, binary="positive", bin_edges="left") == pytest.approx(0.35, abs=1e-12)
    rb = reliability_bins(BIN_P, BIN_Y, n_bins=2, binary="positive")
    np.testing.assert_allclose(rb["accuracy"], [1 / 3, 1.0])  # the frequency of y == 1 per bin


def test_binary_option_leaves_multiclass_inputs_on_the_top_label():
    assert ece(HAND_P, HAND_Y, n_bins=2, binary="positive") == ece(HAND_P, HAND_Y, n_bins=2)
    assert mce(HAND_P, HAND_Y, n_bins=3, binary="positive", binning="mass") == mce(
        HAND_P, HAND_Y, n_bins=3, binning="mass"
    )


def test_options_reach_calibration_metrics_and_bin_sweep():
    p, y = _edge_problem(1, n=300, c=2, n_bins=10)
    for edges in ("right", "left"):
        for binary in ("top_label", "positive"):
            m = calibration_metrics(p, y, n_bins=10, bin_edges=edges, binary=binary)
            assert m["ece"] == ece(p, y, n_bins=10, bin_edges=edges, binary=binary)
            assert m["ece_mass"] == ece(p, y, n_bins=10, binning="mass", binary=binary)
            assert m["mce"] == mce(p, y, n_bins=10, bin_edges=edges, binary=binary)
            assert m["classwise_ece"] == classwise_ece(p, y, n_bins=10, bin_edges=edges)
            sweep = bin_sweep(p, y, bin_counts=[10], binnings=["width"], bin_edges=edges, binary=binary)
            assert sweep["ece"].iloc[0] == m["ece"] and sweep["mce"].iloc[0] == m["mce"]
    # edge-snapped scores: the two bin conventions really differ here
    assert ece(p, y, n_bins=10, bin_edges="left") != ece(p, y, n_bins=10)


@pytest.mark.parametrize(
    "kwargs, msg", [({"bin_edges": "both"}, "bin_edges == 'both'"), ({"binary": 1}, "binary == 1")]
)
def test_bad_convention_names_the_parameter(kwargs, msg):
    with pytest.raises(DataError, match=msg):
        ece(HAND_P, HAND_Y, **kwargs)
    with pytest.raises(DataError, match=msg):
        calibration_metrics(HAND_P, HAND_Y, **kwargs)


# --- naive left-closed reference ------------------------------------------------------


def _naive_left_ece(score, outcome, n_bins):
    edges = np.linspace(0, 1, n_bins + 1)
    total, worst = 0.0, 0.0
    for b in range(n_bins):
        lo, hi = edges[b], edges[b + 1]
        members = [i for i in range(len(score)) if lo <= score[i] < hi or (b == n_bins - 1 and score[i] == hi)]
        if members:
            gap = abs(np.mean(outcome[members]) - np.mean(score[members]))
            total += len(members) / len(score) * gap
            worst = max(worst, gap)
    return total, worst


def _edge_problem(seed, n, c, n_bins):
    """Random probabilities whose top entry sits exactly on a bin edge for a third of the rows.

    The top label is right with probability 1.3 conf - 0.2 (clipped), so low bins are
    over- and high bins underconfident: moving edge rows between bins changes the ECE.
    """
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(c) * 0.7, size=n)
    edges = np.linspace(0, 1, n_bins + 1)
    snap = rng.random(n) < 1 / 3
    for i in np.flatnonzero(snap):
        e = edges[rng.integers(int(np.ceil(n_bins / c)) + 1, n_bins + 1)]  # an edge >= 1/c
        p[i] = (1 - e) / (c - 1)
        p[i, rng.integers(c)] = e
    top = p.argmax(axis=1)
    right = rng.random(n) < np.clip(1.3 * p.max(axis=1) - 0.2, 0, 1)
    y = np.where(right, top, (top + rng.integers(1, c, n)) % c)
    return p, y


@pytest.mark.parametrize("n_bins", [5, 10, 15])
def test_left_closed_ece_mce_classwise_match_a_naive_loop(n_bins):
    p, y = _edge_problem(n_bins, n=400, c=3, n_bins=n_bins)
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(float)
    want_ece, want_mce = _naive_left_ece(conf, correct, n_bins)
    assert ece(p, y, n_bins=n_bins, bin_edges="left") == pytest.approx(want_ece, abs=1e-12)
    assert mce(p, y, n_bins=n_bins, bin_edges="left") == pytest.approx(want_mce, abs=1e-12)
    cw = np.mean([_naive_left_ece(p[:, k], (y == k).astype(float), n_bins)[0] for k in range(3)])
    assert classwise_ece(p, y, n_bins=n_bins, bin_edges="left") == pytest.approx(cw, abs=1e-12)
    pos_ece, _ = _naive_left_ece(p[:, 1], (y == 1).astype(float), n_bins)
    p2 = np.stack([1 - p[:, 1], p[:, 1]], axis=1)
    y2 = (y == 1).astype(int)
    assert ece(p2, y2, n_bins=n_bins, bin_edges="left", binary="positive") == pytest.approx(pos_ece, abs=1e-12)


# --- netcal ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_bins", [5, 10, 15])
def test_left_closed_bins_match_netcal_on_edge_values(n_bins):
    netcal = pytest.importorskip("netcal.metrics")
    p, y = _edge_problem(100 + n_bins, n=1500, c=4, n_bins=n_bins)
    assert len(np.unique(y)) > 2  # netcal reads two distinct labels as a binary problem
    assert ece(p, y, n_bins=n_bins, bin_edges="left") == pytest.approx(netcal.ECE(bins=n_bins).measure(p, y), abs=1e-12)
    assert mce(p, y, n_bins=n_bins, bin_edges="left") == pytest.approx(netcal.MCE(bins=n_bins).measure(p, y), abs=1e-12)
    # our default (right-closed) differs from netcal exactly because of the edge values
    assert abs(ece(p, y, n_bins=n_bins) - netcal.ECE(bins=n_bins).measure(p, y)) > 1e-6


@pytest.mark.parametrize("n_bins", [4, 10])
def test_binary_positive_matches_netcal(n_bins):
    netcal = pytest.importorskip("netcal.metrics")
    p, y = _edge_problem(200 + n_bins, n=1000, c=2, n_bins=n_bins)
    want_ece = netcal.ECE(bins=n_bins).measure(p, y)
    want_mce = netcal.MCE(bins=n_bins).measure(p, y)
    assert ece(p, y, n_bins=n_bins, bin_edges="left", binary="positive") == pytest.approx(want_ece, abs=1e-12)
    assert mce(p, y, n_bins=n_bins, bin_edges="left", binary="positive") == pytest.approx(want_mce, abs=1e-12)
