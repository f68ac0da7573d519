"""Deduplication: exact (row bytes / text) and SemDeDup, checked on hand-computed cases."""

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors._neighbors import kmeans
from datafactors.select import select
from datafactors.select.dedup import (
    exact_duplicate_groups,
    semdedup,
    semdedup_eps_for_keep,
    semdedup_max_similarity,
)

DEG = np.pi / 180


def _ds(X, y=None, **kw):
    X = np.asarray(X, dtype=float)
    y = np.arange(len(X)) % 2 if y is None else y
    return df.Dataset.from_arrays(X, y, **kw)


# ---------------------------------------------------------------- exact


def test_exact_groups_hash_rows_and_treat_signed_zero_alike():
    X = np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0], [-0.0, 0.0], [0.0, -0.0], [3.0, 4.0]])
    assert exact_duplicate_groups(X).tolist() == [0, 1, 0, 2, 2, 1]


def test_exact_dedup_keeps_first_occurrence():
    X = [[1.0], [2.0], [1.0], [3.0], [2.0], [1.0]]
    ds = _ds(X)
    assert select(ds, "exact_dedup", 3, order="first").tolist() == [0, 1, 3]
    assert select(ds, "exact_dedup", 2, order="first").tolist() == [0, 1]
    # random order: the same three first occurrences, permuted by the seed, deterministic
    r = select(ds, "exact_dedup", 3, seed=4)
    assert sorted(r.tolist()) == [0, 1, 3]
    assert r.tolist() == select(ds, "exact_dedup", 3, seed=4).tolist()
    with pytest.raises(df.DataError, match=r"only 3 of 6 rows pass exact_dedup; the budget asks for 4"):
        select(ds, "exact_dedup", 4)


def test_exact_dedup_on_a_text_column():
    extra = pd.DataFrame({"text": ["a cat", "A  Cat", "a dog", "a cat"]})
    ds = _ds(np.arange(4.0)[:, None], extra=extra)  # feature rows all differ
    assert select(ds, "exact_dedup", 3, column="text", order="first").tolist() == [0, 1, 2]
    assert select(ds, "exact_dedup", 2, column="text", order="first", normalize_text=True).tolist() == [0, 2]
    with pytest.raises(df.DataError, match="only 2 of 4 rows pass exact_dedup; the budget asks for 3"):
        select(ds, "exact_dedup", 3, column="text", normalize_text=True)
    with pytest.raises(df.DataError, match="column 'caption' is not in the dataset's extra columns"):
        select(ds, "exact_dedup", 2, column="caption")
    with pytest.raises(df.ConfigError, match="order =="):
        select(ds, "exact_dedup", 2, order="last")


def test_exact_groups_bad_input():
    with pytest.raises(df.DataError, match="needs features X or texts"):
        exact_duplicate_groups()
    with pytest.raises(df.DataError, match="texts has 2 values but X has 3 rows"):
        exact_duplicate_groups(np.zeros((3, 1)), ["a", "b"])
    with pytest.raises(df.DataError, match="missing value at row 1"):
        exact_duplicate_groups(texts=["a", None])


# ---------------------------------------------------------------- SemDeDup, hand cases


def _unit_at(degrees):
    a = np.asarray(degrees, dtype=float) * DEG
    return np.c_[np.cos(a), np.sin(a)]


ANGLES = [30, 60, 61, 2, 0, 90]


def test_semdedup_max_similarity_easy_order_by_hand():
    # One cluster: the centroid points at about 40.5 degrees, so "easy" (nearest first) orders
    # the rows 30, 60, 61, 2, 0, 90 degrees. M_j = cos of the smallest angle to an earlier row.
    r = semdedup_max_similarity(_unit_at(ANGLES), n_clusters=1, keep="easy")
    assert r.position.tolist() == [0, 1, 2, 3, 4, 5]
    expected = [-1.0, np.cos(30 * DEG), np.cos(1 * DEG), np.cos(28 * DEG), np.cos(2 * DEG), np.cos(29 * DEG)]
    np.testing.assert_allclose(r.max_sim, expected, atol=1e-6)
    # eps = 0.01 removes cosines above 0.99: the 61-degree and 0-degree rows
    assert semdedup(_unit_at(ANGLES), n_clusters=1, eps=0.01, keep="easy").tolist() == [
        True,
        True,
        False,
        True,
        False,
        True,
    ]


def test_semdedup_hard_order_keeps_the_atypical_member():
    # "hard" (the authors' default): farthest first -> 90, 0, 2, 61, 60, 30
    r = semdedup_max_similarity(_unit_at(ANGLES), n_clusters=1, keep="hard")
    assert r.position.tolist() == [5, 4, 3, 2, 1, 0]
    expected = [np.cos(28 * DEG), np.cos(1 * DEG), np.cos(29 * DEG), np.cos(2 * DEG), 0.0, -1.0]
    np.testing.assert_allclose(r.max_sim, expected, atol=1e-6)
    # of each near-duplicate pair the member farther from the centroid survives
    assert r.keep_mask(0.01).tolist() == [True, False, True, False, True, True]


def test_semdedup_max_runs_over_all_earlier_members_not_only_kept_ones():
    # 0, 1.5 and 3 degrees in "hard" order (0 is farthest from the ~1.5 degree centroid... ties
    # aside): row at 3 degrees is 1.5 from a *removed* row and 3 from the kept one.
    E = _unit_at([0.0, 1.5, 3.0, 90.0])
    r = semdedup_max_similarity(E, n_clusters=1, keep="easy")
    order = np.argsort(r.position)
    M = r.max_sim
    for pos, j in enumerate(order):
        earlier = order[:pos]
        want = -1.0 if pos == 0 else float(np.max(E[earlier] @ E[j] / np.linalg.norm(E[earlier], axis=1)))
        assert M[j] == pytest.approx(want, abs=1e-6)


def test_semdedup_exact_duplicates_keep_the_lower_row():
    E = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    mask = semdedup(E, n_clusters=1, eps=1e-4)
    assert mask.tolist() == [True, True, False, False]


def test_semdedup_with_clusters_finds_planted_pairs():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 16)) * 2  # members of a blob: cosine about 0.8
    base = np.repeat(centres, 50, axis=0) + rng.normal(size=(200, 16))
    src = rng.choice(200, 20, replace=False)
    E = np.vstack([base, base[src] + 0.01 * rng.normal(size=(20, 16))])
    mask = semdedup(E, n_clusters=4, eps=0.01, seed=1)
    removed = np.flatnonzero(~mask)
    assert len(removed) == 20
    # exactly one member of every planted pair was removed
    for s, c in zip(src, range(200, 220), strict=True):
        assert mask[s] != mask[c]


def test_semdedup_brute_force_and_blocking_agree():
    rng = np.random.default_rng(1)
    E = rng.normal(size=(300, 8)).astype(np.float32)
    r = semdedup_max_similarity(E, n_clusters=5, seed=0)
    U = E / np.linalg.norm(E, axis=1, keepdims=True)
    for c in range(5):
        rows = np.flatnonzero(r.cluster == c)
        rows = rows[np.argsort(r.position[rows])]
        assert r.position[rows].tolist() == list(range(len(rows)))
        G = U[rows].astype(np.float64) @ U[rows].T.astype(np.float64)
        want = np.array([-1.0] + [G[:j, j].max() for j in range(1, len(rows))])
        np.testing.assert_allclose(r.max_sim[rows], want, atol=1e-5)
    small = semdedup_max_similarity(E, n_clusters=5, seed=0, block_floats=97)
    np.testing.assert_allclose(small.max_sim, r.max_sim, atol=1e-6)  # BLAS blocking: last-bit differences
    np.testing.assert_array_equal(small.cluster, r.cluster)


# ---------------------------------------------------------------- eps search and the selector


def test_eps_search_hits_the_keep_count():
    M = np.array([-1.0, 0.2, 0.99, 0.5, 0.97], dtype=np.float32)
    for keep in range(1, 6):
        eps = semdedup_eps_for_keep(M, keep)
        assert int((M <= 1 - eps).sum()) == keep
        assert 0.0 <= eps <= 2.0
    assert semdedup_eps_for_keep(M, 0.6) == semdedup_eps_for_keep(M, 3)
    # ties at the cut keep more than asked: the selector cuts them by the seed
    T = np.array([0.5, 0.5, 0.5, 0.1], dtype=np.float32)
    assert int((T <= 1 - semdedup_eps_for_keep(T, 2)).sum()) == 4


def test_eps_search_is_exact_on_float32_values():
    rng = np.random.default_rng(2)
    M = rng.uniform(-1, 1, 1000).astype(np.float32)
    for keep in (1, 17, 500, 999, 1000):
        assert int((M <= 1 - semdedup_eps_for_keep(M, keep)).sum()) == keep


def test_semdedup_selector_keeps_the_searched_set():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 6))
    X = np.vstack([X, X[:30] + 1e-3 * rng.normal(size=(30, 6))])
    ds = _ds(X)
    idx = select(ds, "semdedup", 120, n_clusters=3, seed=0)
    assert len(idx) == 120 and len(set(idx.tolist())) == 120
    r = semdedup_max_similarity(X, n_clusters=3, seed=np.random.default_rng(0))
    eps = semdedup_eps_for_keep(r, 120)
    assert set(idx.tolist()) == set(np.flatnonzero(r.keep_mask(eps)).tolist())
    # one member of every planted pair is gone
    kept = np.zeros(150, bool)
    kept[idx] = True
    assert all(kept[i] != kept[120 + i] for i in range(30))
    np.testing.assert_array_equal(idx, select(ds, "semdedup", 120, n_clusters=3, seed=0))
    # budget as a fraction, and class-balanced
    assert len(select(ds, "semdedup", 0.5, n_clusters=3)) == 75
    bal = select(ds, "semdedup", 40, n_clusters=2, class_balanced=True)
    assert np.bincount(ds.y[bal]).tolist() == [20, 20]


def test_kmeans_recovers_separated_blobs_and_is_seeded():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 0.1, (30, 2)) for c in ([5, 0], [0, 5], [-5, -5])])
    C, labels, d2 = kmeans(X, 3, spherical=False, seed=3)
    assert C.shape == (3, 2) and labels.shape == (90,) and d2.shape == (90,)
    for b in range(3):
        assert len(set(labels[30 * b : 30 * (b + 1)])) == 1
    assert len(set(labels.tolist())) == 3
    np.testing.assert_allclose(d2, ((X - C[labels]) ** 2).sum(1), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(labels, kmeans(X, 3, spherical=False, seed=3)[1])


# ---------------------------------------------------------------- bad input


def test_semdedup_bad_inputs():
    E = np.random.default_rng(0).normal(size=(10, 3))
    bad = E.copy()
    bad[4, 1] = np.nan
    with pytest.raises(df.DataError, match=r"E contain 1 NaN or inf values \(first at row 4, column 1\)"):
        semdedup(bad, eps=0.1)
    with pytest.raises(df.ConfigError, match="eps == -0.1"):
        semdedup(E, eps=-0.1)
    with pytest.raises(df.ConfigError, match="n_clusters == 11, must be <= the number of rows"):
        semdedup(E, n_clusters=11, eps=0.1)
    with pytest.raises(df.ConfigError, match="n_clusters == 0"):
        semdedup(E, n_clusters=0, eps=0.1)
    with pytest.raises(df.ConfigError, match="keep == 'middle'"):
        semdedup_max_similarity(E, keep="middle")
    with pytest.raises(df.DataError, match=r"shape \(n, d\)"):
        semdedup(E[0], eps=0.1)
    with pytest.raises(df.DataError, match="keep == 0"):
        semdedup_eps_for_keep(np.zeros(3), 0)
    with pytest.raises(df.DataError, match="keep == 4"):
        semdedup_eps_for_keep(np.zeros(3), 4)


def test_selector_bad_inputs_name_the_parameter():
    ds = _ds(np.random.default_rng(0).normal(size=(10, 3)))
    emb = np.ones((10, 2))
    emb[3, 0] = np.nan
    with pytest.raises(df.DataError, match="embeddings"):
        select(ds, "semdedup", 3, embeddings=emb)
    with pytest.raises(df.DataError, match="embeddings"):
        select(ds, "semdedup", 3, embeddings=np.ones((9, 2)))
    for bad, msg in ((0, "budget == 0"), (11, "<= the number"), (1.5, "fraction"), (-2, "budget == -2")):
        with pytest.raises(df.DataError, match=msg):
            select(ds, "semdedup", bad)
