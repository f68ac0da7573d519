"""DataComp filters (quality, cluster, both), the DFN filter, AFLite as a selector, and the
contract every issue-4 selector keeps (exact budget, unique, in range, deterministic)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import datafactors as df
from datafactors.select import select
from datafactors.select.aflite_select import aflite_order
from datafactors.select.datacomp import cluster_filter, quality_order
from datafactors.select.dfn import dfn_agreement


def _blobs(seed=0, n_per=20):
    """Three tight 2-D blobs at (10, 0), (0, 10), (-10, -10); rows 0-19, 20-39, 40-59."""
    rng = np.random.default_rng(seed)
    centres = np.array([[10.0, 0.0], [0.0, 10.0], [-10.0, -10.0]])
    X = np.vstack([rng.normal(c, 0.3, (n_per, 2)) for c in centres])
    return X, centres


def _ds(X, y=None, **kw):
    y = np.arange(len(X)) % 2 if y is None else y
    return df.Dataset.from_arrays(X, y, ids=[f"r{i}" for i in range(len(X))], **kw)


# ---------------------------------------------------------------- quality


def test_quality_keeps_the_top_scores_and_reads_a_column():
    ds = _ds(np.zeros((6, 1)))
    q = np.array([0.3, 0.9, 0.1, 0.7, 0.5, 0.8])
    assert select(ds, "quality", 3, scores=q).tolist() == [1, 5, 3]
    assert select(ds, "quality", 2, scores=q, higher_is_better=False).tolist() == [2, 0]
    frame = pd.DataFrame({"clip": q[::-1]}, index=ds.ids[::-1])
    assert select(ds, "quality", 3, scores=frame, score="clip").tolist() == [1, 5, 3]
    assert quality_order([1.0, 1.0, 0.0], np.random.default_rng(0))[-1] == 2


def test_quality_threshold_bounds_the_budget():
    ds = _ds(np.zeros((6, 1)))
    q = np.array([0.3, 0.9, 0.1, 0.7, 0.5, 0.8])
    assert select(ds, "quality", 3, scores=q, threshold=0.7).tolist() == [1, 5, 3]
    with pytest.raises(df.DataError, match=r"only 3 of \d+ rows pass quality; the budget asks for 4"):
        select(ds, "quality", 4, scores=q, threshold=0.7)
    with pytest.raises(df.ConfigError, match="threshold =="):
        select(ds, "quality", 2, scores=q, threshold="high")
    with pytest.raises(df.DataError, match="needs scores"):
        select(ds, "quality", 2)
    with pytest.raises(df.DataError, match=r"shape \(6,\)"):
        select(ds, "quality", 2, scores=q[:5])
    with pytest.raises(df.DataError, match="NaN"):
        select(ds, "quality", 2, scores=np.r_[q[:5], np.nan])


# ---------------------------------------------------------------- cluster filter


def test_cluster_filter_keeps_the_clusters_the_target_falls_into():
    X, centres = _blobs()
    target = np.array([[9.0, 1.0], [11.0, -0.5], [-9.0, -11.0]])  # two hits in blob 0, one in blob 2
    r = cluster_filter(X, target, n_clusters=3, seed=0)
    assert r.keep.tolist() == [True] * 20 + [False] * 20 + [True] * 20
    assert sorted(r.hits.tolist()) == [0, 1, 2]
    # fill order: kept clusters by hits (blob 0 then blob 2), then blob 1
    blob_of_cluster = {r.labels[0]: 0, r.labels[20]: 1, r.labels[40]: 2}
    assert [blob_of_cluster[c] for c in r.cluster_order] == [0, 2, 1]


def test_cluster_filter_selector_cuts_randomly_and_fills_by_cluster_order():
    X, _ = _blobs()
    ds = _ds(X)
    target = np.array([[9.5, 0.2]])  # only blob 0
    inside = select(ds, "cluster_filter", 15, target=target, n_clusters=3, seed=1)
    assert len(inside) == 15 and set(inside.tolist()) <= set(range(20))
    # more than blob 0 holds: all of blob 0 first, then the nearer of the other blobs
    # (blob 1 at (0, 10) is nearer to the target than blob 2 at (-10, -10))
    filled = select(ds, "cluster_filter", 30, target=target, n_clusters=3, seed=1)
    assert set(filled[:20].tolist()) == set(range(20))
    assert set(filled[20:].tolist()) <= set(range(20, 40))
    # target as ids of pool rows, and as a boolean mask: the same clusters
    by_ids = select(ds, "cluster_filter", 20, target=["r3", "r7"], n_clusters=3, seed=1)
    mask = np.zeros(60, bool)
    mask[[3, 7]] = True
    by_mask = select(ds, "cluster_filter", 20, target=mask, n_clusters=3, seed=1)
    assert set(by_ids.tolist()) == set(by_mask.tolist()) == set(range(20))


def test_quality_cluster_is_the_best_quality_inside_the_kept_clusters():
    X, _ = _blobs()
    ds = _ds(X)
    q = np.linspace(0, 1, 60)[::-1].copy()  # row 0 best ... row 59 worst
    q[45] = 2.0  # the single best row sits in blob 2
    target = np.array([[9.5, 0.2], [0.1, 9.8]])  # blobs 0 and 1
    idx = select(ds, "quality_cluster", 10, scores=q, target=target, n_clusters=3, seed=0)
    assert idx.tolist() == list(range(10))  # the intersection: 45 is excluded despite its quality
    assert select(ds, "quality", 1, scores=q).tolist() == [45]
    full = select(ds, "quality_cluster", 45, scores=q, target=target, n_clusters=3, seed=0)
    assert full[:40].tolist() == list(range(40)) and full[40] == 45  # then blob 2 by quality


def test_cluster_filter_bad_inputs():
    X, _ = _blobs()
    ds = _ds(X)
    with pytest.raises(df.DataError, match="needs target="):
        select(ds, "cluster_filter", 5)
    with pytest.raises(df.DataError, match="target has 3 dimensions but the embeddings have 2"):
        select(ds, "cluster_filter", 5, target=np.zeros((2, 3)))
    with pytest.raises(df.DataError, match="id 'nope' is not in dataset"):
        select(ds, "cluster_filter", 5, target=["nope"])
    with pytest.raises(df.DataError, match=r"target mask must have shape \(60,\)"):
        select(ds, "cluster_filter", 5, target=np.ones(5, bool))
    with pytest.raises(df.DataError, match="target contain 1 NaN"):
        select(ds, "cluster_filter", 5, target=np.array([[np.nan, 1.0]]))
    with pytest.raises(df.ConfigError, match="n_clusters == 61"):
        select(ds, "cluster_filter", 5, target=X[:2], n_clusters=61)


# ---------------------------------------------------------------- DFN


def test_dfn_ranks_the_rows_whose_label_the_filter_rejects_last():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(-2, 0.5, (40, 2)), rng.normal(2, 0.5, (40, 2))]
    y = np.r_[np.zeros(40, int), np.ones(40, int)]
    wrong = np.array([5, 17, 50, 66])
    y[wrong] = 1 - y[wrong]
    ds = _ds(X, y)
    trusted = ["r0", "r1", "r2", "r3", "r40", "r41", "r42", "r43"]
    a = dfn_agreement(ds, trusted)
    assert a.shape == (80,) and ((a >= 0) & (a <= 1)).all()
    assert set(np.argsort(a)[:4].tolist()) == set(wrong.tolist())
    idx = select(ds, "dfn", 76, trusted=trusted, seed=0)
    assert set(range(80)) - set(idx.tolist()) == set(wrong.tolist())
    mask = np.zeros(80, bool)
    mask[[0, 1, 2, 3, 40, 41, 42, 43]] = True
    np.testing.assert_array_equal(select(ds, "dfn", 76, trusted=mask, seed=0), idx)
    first = select(ds, "dfn", 10, trusted=trusted, trusted_first=True, seed=0)
    assert set(first[:8].tolist()) == {0, 1, 2, 3, 40, 41, 42, 43}


def test_dfn_bad_inputs():
    ds = _ds(np.random.default_rng(0).normal(size=(10, 2)), [0] * 5 + [1] * 5)
    with pytest.raises(df.DataError, match="trusted= is required"):
        select(ds, "dfn", 3)
    with pytest.raises(df.DataError, match="holds only class '0'|hold only class '0'"):
        select(ds, "dfn", 3, trusted=["r0", "r1"])
    with pytest.raises(df.DataError, match=r"trusted mask must have shape \(10,\)"):
        select(ds, "dfn", 3, trusted=np.ones(3, bool))
    with pytest.raises(df.ConfigError, match="unknown learner"):
        select(ds, "dfn", 3, trusted=["r0", "r9"], learner="nope")


# ---------------------------------------------------------------- AFLite as a selector


def test_aflite_order_kept_first_then_latest_removals():
    rr = np.array([1, 0, 2, 0, 2, 1])
    p = np.array([0.9, 0.3, 0.8, 0.1, 0.95, 0.85])
    assert aflite_order(rr, p, np.random.default_rng(0)).tolist() == [3, 1, 2, 4, 5, 0]


def test_aflite_selector_keeps_its_filtered_set_and_fills():
    from datafactors.scores.aflite import aflite_filter

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    X = np.c_[rng.normal(size=(300, 4)), np.where(np.arange(300) < 150, 2.0 * y - 1, 0.0)]
    ds = _ds(X, y)
    res = aflite_filter(X, y, 16, 80, 40, 0.75, np.random.default_rng(5))
    n_kept = len(res.kept)
    assert 80 <= n_kept < 300
    # the selector's rng is the same Generator sequence: seed 5
    small = select(ds, "aflite", n_kept - 10, n=16, m=80, cutoff=40, seed=5)
    assert set(small.tolist()) <= set(res.kept.tolist())
    big = select(ds, "aflite", n_kept + 10, n=16, m=80, cutoff=40, seed=5)
    assert set(big[:n_kept].tolist()) == set(res.kept.tolist())
    assert (res.removed_round[big[n_kept:]] == res.removed_round.max()).all()  # latest removals fill first
    assert (big >= 150).mean() > 0.5  # the shortcut rows (first half) are mostly filtered


# ---------------------------------------------------------------- the contract over issue-4 selectors


def _contract_ds(n=40):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(n, 4))
    y = np.arange(n) % 2
    groups = np.array(["a", "b"])[(np.arange(n) // 2) % 2]
    return df.Dataset.from_arrays(X, y, ids=[f"r{i}" for i in range(n)], groups=groups)


CONTRACT = {
    "exact_dedup": {},
    "semdedup": {},
    "quality": {"scores": "q"},
    "cluster_filter": {"target": ["r0", "r5"]},
    "quality_cluster": {"scores": "q", "target": ["r0", "r5"]},
    "dfn": {"trusted": ["r0", "r1", "r2", "r3"]},
    "quad": {"scores": "q", "chunk": 3},
    "aflite": {"n": 4, "m": 10, "cutoff": 5},
    "mixture": {"weights": {"a": 1.0, "b": 2.0}},
    "equitable": {"allocation": "equal"},
}


def _kwargs(name, ds):
    kw = dict(CONTRACT[name])
    if kw.get("scores") == "q":
        kw["scores"] = np.linspace(0, 1, ds.n)
    return kw


@pytest.mark.parametrize("name", sorted(CONTRACT))
@pytest.mark.parametrize("budget", [1, 7, 40])
def test_contract_exact_unique_in_range_deterministic(name, budget):
    ds = _contract_ds()
    a = select(ds, name, budget, seed=3, **_kwargs(name, ds))
    b = select(ds, name, budget, seed=3, **_kwargs(name, ds))
    assert a.dtype == np.int64 and len(a) == budget and len(np.unique(a)) == budget
    assert a.min() >= 0 and a.max() < ds.n
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["semdedup", "quality", "cluster_filter", "quality_cluster", "exact_dedup"])
def test_contract_smallest_input(name):
    ds = df.Dataset.from_arrays([[0.0, 1.0], [1.0, 0.0]], [0, 1], ids=["r0", "r5"])
    kw = _kwargs(name, ds)
    assert len(select(ds, name, 1, **kw)) == 1
    assert sorted(select(ds, name, 2, **kw).tolist()) == [0, 1]


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 30),
    frac=st.floats(0.01, 1.0),
    seed=st.integers(0, 1000),
    name=st.sampled_from(["semdedup", "quality", "quality_cluster", "mixture"]),
)
def test_property_budget_is_met(n, frac, seed, name):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.arange(n) % 2
    ds = df.Dataset.from_arrays(X, y, ids=[f"r{i}" for i in range(n)], groups=np.arange(n) % 3)
    kw = {"scores": rng.random(n)} if name.startswith("quality") else {}
    if name == "quality_cluster":
        kw["target"] = ["r0"]
    k = max(1, min(n, int(round(frac * n))))
    idx = select(ds, name, frac, seed=seed, **kw)
    assert len(idx) == k and len(set(idx.tolist())) == k and 0 <= idx.min() and idx.max() < n


def test_balanced_options_apply_to_issue4_selectors():
    ds = _contract_ds()
    for name in ("semdedup", "quality", "exact_dedup"):
        idx = select(ds, name, 10, class_balanced=True, **_kwargs(name, ds))
        assert np.bincount(ds.y[idx]).tolist() == [5, 5]
    # AFLite needs two classes inside every cell, so balance it over groups
    idx = select(ds, "aflite", 10, group_balanced=True, **_kwargs("aflite", ds))
    assert pd.Series(ds.groups[idx]).value_counts().tolist() == [5, 5]
