"""Shared numerics: unit rows, k-means and kNN against brute-force and scikit-learn references."""

import numpy as np
import pytest

import datafactors as df
from datafactors._arrays import check_embeddings, check_matrix
from datafactors._errors import ConfigError
from datafactors._neighbors import kmeans, knn, unit_rows


def _brute(Q, B, k, exclude_self=False):
    """Reference: float64 distances, every pair, sorted by (distance, index)."""
    D = np.sqrt(((Q[:, None, :].astype(np.float64) - B[None, :, :].astype(np.float64)) ** 2).sum(-1))
    if exclude_self:
        np.fill_diagonal(D, np.inf)
    order = np.lexsort((np.broadcast_to(np.arange(len(B)), D.shape), D), axis=1)[:, :k]
    return np.take_along_axis(D, order, axis=1), order


@pytest.mark.parametrize("seed", [0, 1])
def test_exact_knn_matches_brute_force_on_random_data(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    Q = rng.normal(size=(40, 5)).astype(np.float32)
    d, i = knn(X, 7, queries=Q)
    d_ref, i_ref = _brute(Q, X, 7)
    np.testing.assert_allclose(d, d_ref, rtol=1e-12)
    np.testing.assert_array_equal(i, i_ref)
    d, i = knn(X, 4, exclude_self=True)
    d_ref, i_ref = _brute(X, X, 4, exclude_self=True)
    np.testing.assert_allclose(d, d_ref, rtol=1e-12)
    np.testing.assert_array_equal(i, i_ref)


def test_exact_knn_with_ties_gives_the_reference_distances_and_orders_ties_by_index():
    # integer grid points: many neighbours at exactly the same distance
    X = np.array([[x, y] for x in range(5) for y in range(5)], dtype=np.float32)
    d, i = knn(X, 4, exclude_self=True)
    d_ref, i_ref = _brute(X, X, 4, exclude_self=True)
    np.testing.assert_array_equal(d, d_ref)
    # the centre (2, 2) has four neighbours at distance 1: rows 7, 11, 13, 17, in index order
    np.testing.assert_array_equal(i[12], [7, 11, 13, 17])
    np.testing.assert_array_equal(d[12], [1.0, 1.0, 1.0, 1.0])
    # every returned index really is at the returned distance
    np.testing.assert_allclose(np.linalg.norm(X[i] - X[:, None, :], axis=-1), d)


def test_inner_product_metric_and_masks():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [0.7071, 0.7071]], dtype=np.float32)
    v, i = knn(X, 2, queries=X[:1], metric="ip", self_index=np.array([0]))
    assert i.tolist() == [[2, 1]]
    np.testing.assert_allclose(v, [[0.7071, 0.0]], atol=1e-6)
    # a mask leaving no eligible row gives inf distance and index -1
    d, i = knn(X, 1, queries=X[:1], mask=lambda qs, bs: np.ones((qs.stop - qs.start, bs.stop - bs.start), bool))
    assert i.tolist() == [[-1]] and d.tolist() == [[np.inf]]


def test_faiss_path_finds_the_same_neighbours_as_the_exact_path_on_separated_data():
    pytest.importorskip("faiss")
    rng = np.random.default_rng(3)
    centres = rng.normal(scale=50.0, size=(30, 8))
    X = (np.repeat(centres, 10, axis=0) + rng.normal(scale=0.01, size=(300, 8))).astype(np.float32)
    # each row's 9 nearest are exactly the other members of its blob (float32 faiss cannot rank within a blob)
    _, i_ex = knn(X, 9, exclude_self=True)
    assert all(set(r) == set(range(10 * (j // 10), 10 * (j // 10) + 10)) - {j} for j, r in enumerate(i_ex.tolist()))
    for method in ("faiss-flat", "faiss-hnsw"):
        _, i_f = knn(X, 9, exclude_self=True, method=method, n_threads=1)
        assert [set(r) for r in i_f.tolist()] == [set(r) for r in i_ex.tolist()]
    _, i_auto = knn(X, 9, exclude_self=True, method="auto", exact_below=100)
    assert [set(r) for r in i_auto.tolist()] == [set(r) for r in i_ex.tolist()]


def test_knn_rejects_unknown_metric_and_method():
    X = np.zeros((4, 2), dtype=np.float32)
    with pytest.raises(df.ConfigError, match="metric == 'cos'"):
        knn(X, 1, metric="cos")
    with pytest.raises(df.ConfigError, match="method == 'ivf'"):
        knn(X, 1, method="ivf")


def test_unit_rows_of_a_zero_row_stays_zero():
    U = unit_rows(np.array([[3.0, 4.0], [0.0, 0.0], [0.0, -2.0]]))
    assert U.dtype == np.float32
    np.testing.assert_allclose(U, [[0.6, 0.8], [0.0, 0.0], [0.0, -1.0]], rtol=1e-7)
    unit = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    assert unit_rows(unit, reuse_unit=True) is unit
    assert unit_rows(unit) is not unit


def _blobs(seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0], [20.0, 20.0]])
    truth = np.repeat(np.arange(4), 50)
    return (centres[truth] + rng.normal(size=(200, 2))).astype(np.float32), truth


def _same_partition(a, b):
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize("sample", ["seed", "faiss"])
def test_kmeans_is_deterministic_per_seed_and_matches_scikit_learn_on_blobs(sample):
    pytest.importorskip("faiss")
    from sklearn.cluster import KMeans

    X, truth = _blobs()
    C, labels, d2 = kmeans(X, 4, seed=1, sample=sample)
    C2, labels2, _ = kmeans(X, 4, seed=1, sample=sample)
    np.testing.assert_array_equal(labels, labels2)
    np.testing.assert_array_equal(C, C2)
    ref = KMeans(4, n_init=10, random_state=0).fit_predict(X)
    assert _same_partition(labels, ref) and _same_partition(labels, truth)
    np.testing.assert_allclose(d2, ((X - C[labels]) ** 2).sum(1), rtol=1e-3, atol=1e-3)


def test_kmeans_with_one_cluster_is_the_mean_row():
    X = np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 3.0]], dtype=np.float32)
    C, labels, d2 = kmeans(X, 1)
    np.testing.assert_allclose(C, [[2.0, 1.0]])
    assert labels.tolist() == [0, 0, 0]
    np.testing.assert_allclose(d2, [5.0, 1.0, 8.0], rtol=1e-6)


def test_kmeans_rejects_bad_cluster_counts():
    X = np.zeros((5, 2))
    with pytest.raises(df.ConfigError, match="n_clusters == 6, must be <= the number of rows"):
        kmeans(X, 6)
    with pytest.raises(df.ConfigError, match="n_clusters == 0"):
        kmeans(X, 0)


def test_array_checks_name_the_array_and_the_problem():
    assert check_matrix([[1, 2]]).dtype == np.float32
    with pytest.raises(df.DataError, match=r"E must be a 2-D array of shape \(n, d\) with n >= 2"):
        check_matrix(np.zeros((1, 3)), name="E", min_rows=2)
    with pytest.raises(df.DataError, match=r"embeddings must have shape \(4, d\), got \(3, 2\)"):
        check_embeddings(np.zeros((3, 2)), 4)
    bad = np.zeros((3, 2))
    bad[2, 0], bad[1, 1] = np.inf, np.nan
    with pytest.raises(df.DataError, match=r"X contain 2 NaN or inf values \(first at row 1, column 1\)"):
        check_embeddings(bad, name="X")
    with pytest.raises(df.DataError, match="X must be a numeric"):
        check_matrix([["a", "b"]])


@pytest.mark.parametrize("metric", ["l2", "ip"])
def test_faiss_flat_with_separate_queries_equals_exact(metric):
    pytest.importorskip("faiss")
    rng = np.random.default_rng(7)
    X = rng.normal(size=(3000, 12)).astype(np.float32)
    Q = rng.normal(size=(40, 12)).astype(np.float32)
    v_exact, i_exact = knn(X, 6, queries=Q, metric=metric, method="exact")
    v_faiss, i_faiss = knn(X, 6, queries=Q, metric=metric, method="faiss-flat")
    np.testing.assert_array_equal(i_faiss, i_exact)
    np.testing.assert_allclose(v_faiss, v_exact, rtol=1e-12)
    # brute force in float64 as the independent reference
    if metric == "l2":
        ref = np.argsort(((Q[:, None, :].astype(float) - X[None].astype(float)) ** 2).sum(-1), axis=1)[:, :6]
    else:
        ref = np.argsort(-(Q.astype(float) @ X.T.astype(float)), axis=1)[:, :6]
    np.testing.assert_array_equal(i_exact, ref)
    with pytest.raises(ConfigError, match="no mask or self_index"):
        knn(X, 3, queries=Q, method="faiss-flat", self_index=np.arange(40))
