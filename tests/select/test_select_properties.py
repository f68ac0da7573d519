"""Hypothesis invariants of the geometric and stratified selectors, through select()."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import datafactors as df
from datafactors.select import _balanced_quota, select
from datafactors.select.facility import DenseFacility, lazy_greedy, naive_greedy
from datafactors.select.kcenter import kcenter_greedy

MINE = ["kcenter", "facility_location", "herding", "cluster_balanced", "ccs"]


def _dataset(n, seed, n_groups=3, dup=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).round(1 if dup else 6)  # rounding plants duplicates
    y = rng.integers(0, 3, size=n)
    y[:2] = [0, 1]
    groups = rng.integers(0, n_groups, size=n)
    return df.Dataset.from_arrays(X, y, groups=groups), rng.integers(0, 4, size=n).astype(float)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(2, 40),
    frac=st.floats(0.01, 1.0),
    seed=st.integers(0, 10**6),
    name=st.sampled_from(MINE),
    balance=st.sampled_from(["none", "class", "group", "both"]),
    dup=st.booleans(),
)
def test_exact_unique_deterministic_and_balanced(n, frac, seed, name, balance, dup):
    ds, s = _dataset(n, seed, dup=dup)
    opts = {"class_balanced": balance in ("class", "both"), "group_balanced": balance in ("group", "both")}
    idx = select(ds, name, frac, scores=s, seed=seed, **opts)
    k = max(1, min(n, round(frac * n)))
    assert len(idx) == k == len(set(idx.tolist()))
    assert idx.min() >= 0 and idx.max() < n
    assert np.array_equal(idx, select(ds, name, frac, scores=s, seed=seed, **opts))
    if balance != "none":
        keys = []
        if opts["class_balanced"]:
            keys.append(ds.y)
        if opts["group_balanced"]:
            keys.append(ds.groups)
        _, cell = np.unique(np.stack(keys, 1), axis=0, return_inverse=True)
        cell = cell.ravel()
        want = _balanced_quota(np.bincount(cell), k)
        assert np.bincount(cell[idx], minlength=len(want)).tolist() == want.tolist()


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 30), k=st.integers(1, 30), seed=st.integers(0, 10**6), dup=st.booleans())
def test_greedy_gains_never_rise_and_lazy_equals_naive(n, k, seed, dup):
    k = min(k, n)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)).round(0 if dup else 6).astype(np.float32)
    idx, gains = kcenter_greedy(X, k, start=0)
    assert np.all(np.diff(gains[1:]) <= 1e-5)
    a, ga = naive_greedy(DenseFacility.from_embeddings(X), k)
    b, gb = lazy_greedy(DenseFacility.from_embeddings(X), k, batch=int(rng.integers(1, 5)))
    assert a.tolist() == b.tolist()
    assert np.all(np.diff(ga) <= 1e-6 * max(1.0, ga[0]))


@pytest.mark.parametrize(
    "bad, msg",
    [(0, "budget == 0"), (-3, "budget == -3"), (41, "<= the number"), (1.5, "fraction"), (float("nan"), "finite")],
)
@pytest.mark.parametrize("name", MINE)
def test_bad_budgets(name, bad, msg):
    ds, s = _dataset(40, 0)
    with pytest.raises(df.DataError, match=msg):
        select(ds, name, bad, scores=s)
