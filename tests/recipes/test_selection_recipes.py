"""semdedup, datacomp-filters, domain-upsampling and equitable-sampling: verdicts follow from the measurements."""

import time

import numpy as np
import pytest

import datafactors as df
from datafactors.recipes import REGISTRY
from datafactors.recipes.datacomp_filters import sine_waves
from datafactors.recipes.domain_upsampling import to_target
from datafactors.recipes.equitable_sampling import GROUPS, group_task
from datafactors.recipes.semdedup import N_COPIES, planted_pool

NAMES = ("semdedup", "datacomp-filters", "domain-upsampling", "equitable-sampling")


def test_registered_with_paper_and_claim():
    for name in NAMES:
        r = REGISTRY.get(name)
        assert r.paper and r.claim and r.name == name


def test_planted_pool_records_the_source_of_every_copy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4)).astype(np.float32)
    y = np.arange(50) % 3
    Xp, yp, source = planted_pool(X, y, rng)
    assert Xp.shape == (50 + N_COPIES, 4) and len(yp) == len(source) == len(Xp)
    assert sorted(set(source.tolist())) == list(range(50))
    np.testing.assert_array_equal(yp, y[source])
    # every row is its source up to small noise
    assert np.abs(Xp - X[source]).max() < 0.5
    counts = np.bincount(source, minlength=50)
    assert counts.max() > 10 * np.median(counts)  # Zipf: a few rows are copied very often


def test_recipe_data_helpers():
    w = sine_waves(5, 40, 2.0, np.random.default_rng(0))
    assert w.shape == (5, 40) and w.dtype == np.float32
    np.testing.assert_allclose(w.std(axis=1), 2.0, rtol=1e-5)
    X = np.arange(6.0).reshape(2, 3)
    assert to_target(X).tolist() == [[2.0, 1.0, 0.0], [5.0, 4.0, 3.0]]
    ds = group_task(3000, np.random.default_rng(0))
    share = {g: float(np.mean(ds.groups == g)) for g in GROUPS}
    assert share["easy"] == pytest.approx(0.7, abs=0.03)
    # each group's label is the sign of the sum of its own block (up to 5% flips)
    easy = ds.groups == "easy"
    agree = (ds.X[easy, :2].sum(1) > 0).astype(int) == ds.y[easy]
    assert 0.92 < agree.mean() < 0.98
    assert (ds.X[easy, 2:42] == 0).all()


def _timed(name):
    t = time.perf_counter()
    res = df.recipes.run(name, quick=True)
    return res, time.perf_counter() - t


@pytest.mark.slow
def test_semdedup_quick():
    res, seconds = _timed("semdedup")
    assert seconds < 25
    m, d = res.measured, res.details
    assert set(d["strategy"]) == {"full pool", "semdedup", "random"} and len(d) == 3 * m["seeds"]
    gain = m["semdedup accuracy"] - m["random-subset accuracy"]
    gap = m["full-pool accuracy"] - m["semdedup accuracy"]
    assert m["gain over random (points)"] == pytest.approx(100 * gain)
    assert res.held == (
        m["precision on planted copies"] >= 0.9 and m["recall on planted copies"] >= 0.9 and gain > 0 and gap <= 0.02
    )
    # SemDeDup keeps nearly every distinct example, a random subset of the same size about half
    assert m["distinct examples kept by semdedup"] >= 0.95 * m["kept (budget)"]
    assert m["distinct examples in the random subset (mean)"] < 0.7 * m["kept (budget)"]
    assert (d.loc[d["strategy"] == "semdedup", "n_train"] == m["kept (budget)"]).all()


@pytest.mark.slow
def test_datacomp_filters_quick():
    res, seconds = _timed("datacomp-filters")
    assert seconds < 25
    m, d = res.measured, res.details
    acc = d.groupby("strategy")["accuracy"].mean()
    margin = acc["quality_cluster"] - max(acc["quality"], acc["cluster"])
    assert m["intersection minus best single filter (points)"] == pytest.approx(100 * margin)
    assert res.held == (margin > 0 and acc["quality_cluster"] > acc["random"])
    # each filter removes the bad data it is built for, the intersection both
    shares = d.groupby("strategy")[["clean", "mislabeled", "junk"]].mean()
    assert shares.loc["quality", "mislabeled"] < shares.loc["random", "mislabeled"] / 2
    assert shares.loc["cluster", "junk"] < shares.loc["random", "junk"] / 2
    assert shares.loc["quality_cluster", "clean"] == shares["clean"].max()


@pytest.mark.slow
def test_domain_upsampling_quick():
    res, seconds = _timed("domain-upsampling")
    assert seconds < 25
    m, d = res.measured, res.details
    assert sorted(d["f"].unique().tolist()) == [0.0, 0.05, 0.1, 0.2, 0.3]
    mean = d.groupby("f")[["target_accuracy", "general_accuracy"]].mean()
    best = m["best f in {0.1, 0.2}"]
    gain = mean.loc[best, "target_accuracy"] - mean.loc[0.0, "target_accuracy"]
    drop = mean.loc[0.0, "general_accuracy"] - mean.loc[best, "general_accuracy"]
    assert m["target gain at best f (points)"] == pytest.approx(100 * gain)
    assert res.held == (gain > 0 and drop <= 0.01)


@pytest.mark.slow
def test_equitable_sampling_quick():
    res, seconds = _timed("equitable-sampling")
    assert seconds < 25
    m, d = res.measured, res.details
    assert (d[["n_easy", "n_medium", "n_hard"]].sum(axis=1) == m["budget"]).all()
    worst = d.groupby("allocation")["worst_group_error"].mean()
    margin = min(worst["equal"], worst["proportional"]) - worst["adaptive"]
    assert res.held == (margin > 0)
    # proportional follows the pool (70% easy); adaptive moves examples to the hard group
    prop = d[d["allocation"] == "proportional"].iloc[0]
    assert prop["n_easy"] == pytest.approx(0.7 * m["budget"], rel=0.05)
    assert m["adaptive examples of group hard (mean)"] > m["budget"] / 3
