"""semdedup recipe: the planted pool, the removal's precision / recall, the claim and its control."""

import math

import numpy as np
import pytest

import datafactors as df
from datafactors.recipes import REGISTRY
from datafactors.recipes import semdedup as sd
from datafactors.recipes.semdedup import N_COPIES, NOISE, planted_pool, removal_quality


def test_registered_with_paper_claim_and_control():
    r = REGISTRY.get("semdedup")
    assert r.paper and r.claim and "not planted" in r.control


def test_planted_pool_records_the_source_of_every_copy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 40)).astype(np.float32)
    y = np.arange(50) % 3
    Xp, yp, source = planted_pool(X, y, rng)
    assert Xp.shape == (50 + N_COPIES, 40) and len(yp) == len(source) == len(Xp)
    assert sorted(set(source.tolist())) == list(range(50))
    np.testing.assert_array_equal(yp, y[source])
    counts = np.bincount(source, minlength=50)
    assert counts.max() > 10 * np.median(counts)  # Zipf: a few rows are copied very often
    # copies are the source plus noise of a level in NOISE: the originals are exact, the
    # copies' relative distance spans the range (near-identical to merely similar)
    rel = np.linalg.norm(Xp - X[source], axis=1) / np.linalg.norm(X.std(axis=0))
    assert (rel == 0).sum() == 50
    copies = rel[rel > 0]
    assert NOISE[0] * 0.7 < copies.min() and copies.max() < NOISE[1] * 1.3
    assert np.quantile(copies, 0.1) < 0.1 and np.quantile(copies, 0.9) > 0.3


def test_removal_quality_by_hand():
    # sources: 0 0 0 1 2 2 ; redundant rows = 6 - 3 = 3
    source = np.array([0, 0, 0, 1, 2, 2])
    kept = np.array([True, False, False, False, True, True])
    # removed rows 1, 2 (source 0 survives: right), row 3 (source 1 lost: wrong)
    p, r = removal_quality(source, kept)
    assert p == pytest.approx(2 / 3) and r == pytest.approx(2 / 3)
    p, r = removal_quality(np.arange(4), np.ones(4, dtype=bool))
    assert math.isnan(p) and math.isnan(r)  # nothing removed, nothing redundant


@pytest.mark.slow
def test_semdedup_claim_and_control(monkeypatch):
    res = df.recipes.run("semdedup", quick=True)
    assert res.held
    assert res.seeds == [0, 1] and res.sizes["pool"] == 4000
    share, vs_full, vs_random = res.effects
    # the fixed threshold removes a share set by the data, not the planted count
    m = res.measured
    assert 0.35 < share.estimate < 0.55 and m["removed by SemDeDup (mean over seeds)"] < 0.8 * m["planted duplicates"]
    assert m["precision of the removal (mean over seeds)"] > 0.98
    assert 0.55 < m["recall of the planted duplicates (mean over seeds)"] < 0.85
    assert m["distinct examples kept by SemDeDup (mean)"] > 0.99 * 1500
    assert m["distinct examples in the random subset (mean)"] < 0.75 * 1500
    assert -1.5 < vs_full.estimate < 1.0 and 4.0 < vs_random.estimate < 8.0
    d = res.details
    assert set(d["strategy"]) == {"whole pool", "semdedup", "random"} and len(d) == 3 * 2
    same = d[d["strategy"] != "whole pool"].groupby("seed")["n_train"].nunique()
    assert (same == 1).all()  # the random subset has SemDeDup's size

    # control, on a smaller pool (its outcome does not need the full size): no duplicates
    # planted -> next to nothing removed, no informed removal to beat random with
    monkeypatch.setattr(sd, "N_BASE", 800)
    monkeypatch.setattr(sd, "N_COPIES", 1400)
    ctl = df.recipes.run("semdedup", quick=True, control=True)
    assert not ctl.held and ctl.is_control
    c_share, _, c_random = ctl.effects
    assert c_share.estimate < 0.01 and not c_share.held
    assert not c_random.held and abs(c_random.estimate) < 1.5
    assert ctl.measured["planted duplicates"] == 0
    assert math.isnan(ctl.measured["recall of the planted duplicates (mean over seeds)"])
