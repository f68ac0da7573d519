"""Facility location against an independent float64 greedy (digits, 100 picks), and its options.

The reference is the plain definition, written here: the gain of candidate ``j`` is
``sum(max(current, S[j])) - sum(current)`` in float64, ties to the lowest index. Its
similarities are apricot's: ``max(D^2) - D^2`` (euclidean), ``cos^2`` (cosine) and ``r^2``
(corr). apricot itself is compared only when it is installed (a slow test).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

import datafactors as df
from datafactors.select import select
from datafactors.select.facility import (
    DenseFacility,
    SparseFacility,
    facility_location,
    lazy_greedy,
    naive_greedy,
    two_stage_greedy,
)

K = 100


def ref_greedy(S, k, initial=()):
    """Naive float64 greedy on a similarity matrix (row j = what j covers); ties -> lowest index."""
    S = np.asarray(S, dtype=np.float64)
    cur = np.zeros(S.shape[1])
    for i in initial:
        cur = np.maximum(cur, S[i])
    taken = list(initial)
    picks, gains = [], []
    for _ in range(k):
        g = np.maximum(S, cur).sum(axis=1) - cur.sum()
        g[taken] = -np.inf
        j = int(np.argmax(g))
        picks.append(j)
        taken.append(j)
        gains.append(g[j])
        cur = np.maximum(cur, S[j])
    return np.array(picks), np.array(gains)


def similarity(X, metric):
    """apricot's similarity for ``metric``, in float64."""
    X = np.asarray(X, dtype=np.float64)
    if metric == "euclidean":
        sq = (X**2).sum(axis=1)
        D = np.maximum(sq[:, None] + sq[None, :] - 2 * X @ X.T, 0)  # exact for integer data
        np.fill_diagonal(D, 0)
        return D.max() - D
    if metric == "corr":
        X = X - X.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(X, axis=1)
    U = np.divide(X, norms[:, None], out=np.zeros_like(X), where=norms[:, None] > 0)
    S = (U @ U.T) ** 2
    np.fill_diagonal(S, (norms > 0).astype(float))
    return S


@pytest.fixture(scope="module")
def digits():
    return load_digits().data


_REF: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def digits_ref(X, metric):
    if metric not in _REF:
        _REF[metric] = ref_greedy(similarity(X, metric), K)
    return _REF[metric]


# ---------------------------------------------------------------- parity on digits


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "corr"])
def test_digits_picks_and_gains_match_float64_greedy(digits, metric):
    ref, ref_gains = digits_ref(digits, metric)
    idx, gains = facility_location(digits, K, metric=metric)
    assert idx.tolist() == ref.tolist()
    np.testing.assert_array_almost_equal(gains, ref_gains, decimal=4)  # apricot's own check
    np.testing.assert_allclose(gains, ref_gains, rtol=1e-10)
    if metric == "euclidean":
        # integer pixels: the gains are integers, equal ones included, and exactly reproduced
        assert np.all(gains == np.round(gains)) and np.any(np.diff(ref_gains) == 0)
        np.testing.assert_array_equal(gains, ref_gains)


@pytest.mark.parametrize(
    "metric, optimizer",
    [("euclidean", "naive"), ("euclidean", "two-stage"), ("cosine", "two-stage"), ("corr", "two-stage")],
)
def test_digits_naive_and_two_stage_equal_the_reference(digits, metric, optimizer):
    ref, ref_gains = digits_ref(digits, metric)
    idx, gains = facility_location(digits, K, metric=metric, optimizer=optimizer)
    assert idx.tolist() == ref.tolist()
    np.testing.assert_array_almost_equal(gains, ref_gains, decimal=4)


@pytest.mark.slow
def test_digits_euclidean_matches_apricot(digits):
    apricot = pytest.importorskip("apricot")
    sel = apricot.FacilityLocationSelection(K, metric="euclidean", optimizer="naive").fit(digits)
    idx, gains = facility_location(digits, K, optimizer="lazy")
    assert idx.tolist() == list(sel.ranking)
    np.testing.assert_array_almost_equal(gains, sel.gains, decimal=4)


def test_built_first_pick_and_plain_objective_agree(digits):
    X = digits[:600]
    a, ga = lazy_greedy(DenseFacility.from_embeddings(X, first_pick=True), 40)
    b, gb = naive_greedy(DenseFacility.from_embeddings(X), 40)
    c, gc = two_stage_greedy(DenseFacility.from_embeddings(X, "cosine", first_pick=True), 40, n_first=3)
    d, gd = lazy_greedy(DenseFacility.from_embeddings(X, "cosine"), 40)
    assert a.tolist() == b.tolist() and c.tolist() == d.tolist()
    np.testing.assert_array_equal(ga, gb)
    np.testing.assert_array_equal(gc, gd)


@pytest.mark.parametrize("seed", range(4))
def test_exact_ties_go_to_the_lowest_index_for_every_optimizer(seed):
    # small integer data with duplicated rows: many exact ties, exact in float64 (euclidean;
    # cosine ties of parallel rows differ in float64 rounding, so a plain argmax is no reference)
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 3, size=(60, 3)).astype(np.float64)
    ref, ref_gains = ref_greedy(similarity(X, "euclidean"), 25)
    for opt in ("naive", "lazy", "two-stage"):
        idx, gains = facility_location(X, 25, optimizer=opt, batch=3, n_first=4)
        assert idx.tolist() == ref.tolist(), opt
        np.testing.assert_array_equal(gains, ref_gains)


def test_corr_constant_rows_have_zero_similarity():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 6))
    X[[3, 17]] = 5.0  # constant rows: no direction, similarity 0 to everything (apricot: NaN)
    ref, ref_gains = ref_greedy(similarity(X, "corr"), 12)
    idx, gains = facility_location(X, 12, metric="corr")
    assert idx.tolist() == ref.tolist()
    np.testing.assert_allclose(gains, ref_gains, rtol=1e-10)
    assert 3 not in idx[:10].tolist() and 17 not in idx[:10].tolist()


# ---------------------------------------------------------------- precomputed similarity


def test_precomputed_equals_the_metric_it_was_built_from(digits):
    S = similarity(digits, "euclidean")
    a, ga = facility_location(S, 50, metric="precomputed")
    b, gb = facility_location(digits, 50)
    assert a.tolist() == b.tolist()
    np.testing.assert_array_equal(ga, gb)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_precomputed_asymmetric_with_negative_entries(dtype):
    rng = np.random.default_rng(2)
    S = (rng.random((70, 70)) - 0.2).astype(dtype)  # row j = what j covers; negatives never count
    ref, ref_gains = ref_greedy(S, 20)
    for opt in ("naive", "lazy", "two-stage"):
        idx, gains = facility_location(S, 20, metric="precomputed", optimizer=opt)
        assert idx.tolist() == ref.tolist(), opt
        np.testing.assert_allclose(gains, ref_gains, rtol=1e-12)
    s_idx, _ = facility_location(S, 20, metric="precomputed", optimizer="stochastic", seed=0)
    assert len(set(s_idx.tolist())) == 20


def test_precomputed_through_select():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 4))
    S = similarity(X, "cosine")
    ds = df.Dataset.from_arrays(X, np.arange(50) % 2)
    got = select(ds, "facility_location", 8, embeddings=S, metric="precomputed")
    assert got.tolist() == ref_greedy(S, 8)[0].tolist()


# ---------------------------------------------------------------- initial_subset


def test_initial_subset_counts_and_is_not_repicked(digits):
    X = digits[:500]
    S = similarity(X, "euclidean")
    initial = [7, 100, 250]
    ref, ref_gains = ref_greedy(S, 30, initial=initial)
    for opt in ("naive", "lazy", "two-stage"):
        idx, gains = facility_location(X, 30, optimizer=opt, initial_subset=initial)
        assert idx.tolist() == ref.tolist(), opt
        np.testing.assert_array_equal(gains, ref_gains)
    assert not set(initial) & set(idx.tolist())
    # the gains are those of the new rows: f(S u I) - f(I)
    f = lambda rows: np.max(S[list(rows)], axis=0).sum()  # noqa: E731
    assert gains.sum() == pytest.approx(f(initial + idx.tolist()) - f(initial), rel=1e-12)
    mask = np.zeros(len(X), dtype=bool)
    mask[initial] = True
    assert facility_location(X, 30, initial_subset=mask)[0].tolist() == ref.tolist()


def test_initial_subset_with_stochastic_and_sparse():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(120, 5)).astype(np.float32)
    initial = [0, 1, 2, 3]
    s, _ = facility_location(X, 20, optimizer="stochastic", initial_subset=initial, seed=1)
    assert len(set(s.tolist())) == 20 and not set(initial) & set(s.tolist())
    a, ga = facility_location(X, 20, n_neighbors=6, optimizer="naive", initial_subset=initial)
    b, gb = facility_location(X, 20, n_neighbors=6, optimizer="lazy", initial_subset=initial)
    assert a.tolist() == b.tolist() and not set(initial) & set(a.tolist())
    np.testing.assert_array_equal(ga, gb)
    obj = SparseFacility.from_embeddings(X, "euclidean", 6)
    for i in initial:
        obj.add(i)
    obj.n_initial = len(initial)
    assert naive_greedy(obj, 20)[0].tolist() == a.tolist()


# ---------------------------------------------------------------- two-stage


@pytest.mark.parametrize("n_first", [0, 1, 10, 50])
def test_two_stage_equals_lazy_for_any_switch_point(n_first):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 8))
    a, ga = facility_location(X, 30, metric="cosine", optimizer="lazy")
    b, gb = facility_location(X, 30, metric="cosine", optimizer="two-stage", n_first=n_first)
    assert a.tolist() == b.tolist()
    np.testing.assert_array_equal(ga, gb)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, err, msg",
    [
        ({"initial_subset": [0, 40]}, df.DataError, r"initial_subset holds 40, must be row indices in \[0, 40\)"),
        ({"initial_subset": [-1]}, df.DataError, "initial_subset holds -1"),
        ({"initial_subset": [3, 5, 3]}, df.DataError, "initial_subset holds row 3 more than once"),
        ({"initial_subset": [1.5]}, df.DataError, "initial_subset must be a 1-D list of row indices"),
        ({"initial_subset": [[1, 2]]}, df.DataError, "initial_subset must be a 1-D list of row indices"),
        ({"initial_subset": np.ones(39, dtype=bool)}, df.DataError, r"boolean mask must have shape \(40,\)"),
        ({"initial_subset": list(range(38))}, df.DataError, "k == 3, must be <= the 2 rows left beside initial_subset"),
        ({"initial_subset": list(range(40))}, df.DataError, "initial_subset holds all 40 rows"),
        ({"n_first": -1}, df.ConfigError, "n_first == -1"),
        ({"metric": "cos"}, df.ConfigError, "metric == 'cos'"),
        ({"optimizer": "twostage"}, df.ConfigError, "optimizer == 'twostage'"),
    ],
)
def test_bad_options_raise_one_clear_error(kwargs, err, msg):
    X = np.random.default_rng(6).normal(size=(40, 3))
    with pytest.raises(err, match=msg):
        facility_location(X, 3, **kwargs)


def test_bad_precomputed_similarity():
    X = np.random.default_rng(7).normal(size=(40, 3))
    with pytest.raises(df.DataError, match=r"square \(n, n\) similarity matrix .* got \(40, 3\)"):
        facility_location(X, 3, metric="precomputed")
    S = similarity(X, "cosine")
    with pytest.raises(df.ConfigError, match="n_neighbors == 5 needs embeddings"):
        facility_location(S, 3, metric="precomputed", n_neighbors=5)
    S[2, 3] = np.nan
    with pytest.raises(df.DataError, match="NaN or inf"):
        facility_location(S, 3, metric="precomputed")


def test_select_passes_initial_subset_and_two_stage_through():
    """``select(ds, "facility_location", k, initial_subset=..., optimizer="two-stage")`` equals the function."""
    X = load_digits().data[:300].astype(np.float64)
    ds = df.Dataset.from_arrays(X, load_digits().target[:300])
    want, _ = facility_location(X, 20, initial_subset=[0, 5, 9], optimizer="two-stage", n_first=4)
    got = df.select.select(ds, "facility_location", 20, initial_subset=[0, 5, 9], optimizer="two-stage", n_first=4)
    assert got.tolist() == want.tolist() and not set(got) & {0, 5, 9}
