"""The easy-to-hard recipe and its Supervision Gap Recovered bootstrap."""

import numpy as np
import pytest

import datafactors as df
from datafactors.recipes import REGISTRY
from datafactors.recipes.easy_to_hard import SGR_THRESHOLD, _supervision_gap_recovered


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
    u = rng.random((4, 400)) < 0.1
    a = _supervision_gap_recovered(e, h, u, n_boot=2000, seed=1)
    assert a == _supervision_gap_recovered(e, h, u, n_boot=2000, seed=1)
    expected = (e.mean() - u.mean()) / (h.mean() - u.mean())
    assert a["sgr"] == pytest.approx(expected)
    assert a["lo"] < expected < a["hi"] and a["hi"] - a["lo"] < 0.2
    # identical conditions: every resample recovers exactly the whole gap
    same = _supervision_gap_recovered(h, h, u, n_boot=100, seed=0)
    assert same["sgr"] == same["lo"] == same["hi"] == pytest.approx(1.0)
    # a single seed given as 1-D works like one row
    one = _supervision_gap_recovered(e[0], h[0], u[0], n_boot=100)
    assert one["sgr"] == pytest.approx((e[0].mean() - u[0].mean()) / (h[0].mean() - u[0].mean()))


def test_sgr_no_gap_is_nan_not_inf():
    c = np.array([[1, 0, 1, 0]])
    out = _supervision_gap_recovered(c, c, c, n_boot=50)
    assert np.isnan(out["sgr"]) and out["undefined_frac"] == 1.0


def test_sgr_bad_shapes():
    with pytest.raises(df.DataError, match="shape"):
        _supervision_gap_recovered(np.ones((2, 3)), np.ones((2, 3)), np.ones((1, 3)))
    with pytest.raises(df.DataError, match="n_boot"):
        _supervision_gap_recovered(np.ones(3), np.ones(3), np.zeros(3), n_boot=0)


def test_registered():
    r = REGISTRY.get("easy-to-hard")
    assert "Hase" in r.paper and "SGR" in r.claim


def test_easy_to_hard_quick():
    res = df.recipes.run("easy-to-hard", quick=True, seed=0)
    m = res.measured
    assert set(res.details["condition"]) == {"easy", "hard", "unsupervised"}
    assert len(res.details) == 3 * m["seeds"]
    assert res.details.groupby("condition")["n_train"].nunique().eq(1).all()  # same size for all conditions
    assert m["bootstrap resamples"] >= 1000
    # the verdict follows from the measurement
    assert res.held == (m["SGR"] >= SGR_THRESHOLD)
    assert m["SGR 95% CI low"] <= m["SGR"] <= m["SGR 95% CI high"]
    # shuffled labels remove the supervision: near chance (10 classes); hard-trained probes clearly above
    assert m["unsupervised (shuffled labels) accuracy on hard test"] < 0.2
    assert m["hard-trained accuracy on hard test"] > 0.6
    assert "claim:" in str(res)
