"""kNN distances against scikit-learn's brute force; faiss paths against the exact search."""

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

import datafactors as df
from datafactors.scores import compute
from datafactors.scores.knn import knn_density, knn_distances, knn_uniqueness


def _brute(E, k):
    nn = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(E)
    d, i = nn.kneighbors(E)
    return d[:, 1:], i[:, 1:]


def _recall(a, b):
    return np.mean([len(set(x) & set(y)) / len(x) for x, y in zip(a, b, strict=True)])


def test_exact_matches_sklearn_brute_force():
    E = np.random.default_rng(0).normal(size=(500, 12)).astype(np.float32) + 50.0  # large offset: cancellation
    d, i = knn_distances(E, 7)
    bd, bi = _brute(E.astype(np.float64), 7)
    np.testing.assert_allclose(d, bd, rtol=1e-5, atol=1e-5)
    assert _recall(i, bi) == 1.0
    assert not (i == np.arange(500)[:, None]).any()


def test_exact_blocks_do_not_change_result(monkeypatch):
    import datafactors.scores.knn as knn

    E = np.random.default_rng(1).normal(size=(300, 4))
    d, i = knn_distances(E, 5)
    monkeypatch.setattr(knn, "_BLOCK_FLOATS", 1000)  # 3 rows per block
    d2, i2 = knn_distances(E, 5)
    np.testing.assert_array_equal(i, i2)
    np.testing.assert_array_equal(d, d2)


@pytest.mark.slow
def test_faiss_flat_matches_exact_on_30k():
    E = np.random.default_rng(2).normal(size=(30_000, 8)).astype(np.float32)
    d, i = knn_distances(E, 10)  # 30k > exact_threshold: faiss IndexFlatL2
    q = np.random.default_rng(3).choice(30_000, 1000, replace=False)
    nn = NearestNeighbors(n_neighbors=11, algorithm="brute").fit(E.astype(np.float64))
    bd, bi = nn.kneighbors(E[q].astype(np.float64))
    np.testing.assert_allclose(d[q], bd[:, 1:], rtol=1e-5, atol=1e-5)
    assert _recall(i[q], bi[:, 1:]) >= 0.99
    d_ex, i_ex = knn_distances(E, 10, method="exact")
    assert _recall(i_ex, i) >= 0.99
    np.testing.assert_allclose(d_ex, d, rtol=1e-6)


def test_faiss_flat_matches_exact():
    E = np.random.default_rng(2).normal(size=(4000, 16)).astype(np.float32)
    d_ex, i_ex = knn_distances(E, 10, method="exact")
    d_ff, i_ff = knn_distances(E, 10, method="faiss-flat")
    assert _recall(i_ex, i_ff) >= 0.99
    np.testing.assert_allclose(d_ex, d_ff, rtol=1e-6)


def test_auto_uses_faiss_above_threshold(monkeypatch):
    import datafactors.scores.knn as knn

    called = []
    monkeypatch.setattr(knn, "_faiss_knn", lambda E, k, **kw: called.append(kw) or knn._exact_knn(E, k))
    knn_distances(np.random.default_rng(0).normal(size=(50, 2)), 3, exact_threshold=40)
    knn_distances(np.random.default_rng(0).normal(size=(50, 2)), 3, exact_threshold=40, hnsw_threshold=45)
    assert [c["hnsw"] for c in called] == [False, True]


def test_faiss_hnsw_recall():
    E = np.random.default_rng(4).normal(size=(5000, 8)).astype(np.float32)
    _, i_ex = knn_distances(E, 10, method="exact")
    _, i_h = knn_distances(E, 10, method="faiss-hnsw", n_threads=1)
    assert _recall(i_ex, i_h) >= 0.95
    _, i_h2 = knn_distances(E, 10, method="faiss-hnsw", n_threads=1)
    np.testing.assert_array_equal(i_h, i_h2)


def test_duplicates_and_k_clipping():
    E = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 0.0]])
    d, i = knn_distances(E, 10)  # clipped to n - 1 = 2
    assert d.shape == (3, 2)
    np.testing.assert_allclose(d[:, 0], [0.0, 0.0, 5.0])
    assert i[0, 0] == 1 and i[1, 0] == 0
    for method in ("faiss-flat", "faiss-hnsw"):
        d2, i2 = knn_distances(E, 10, method=method)
        np.testing.assert_allclose(d2, d)
        assert not (i2 == np.arange(3)[:, None]).any()


def test_hand_values():
    E = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])
    # cos to others: row0: (0, 1/sqrt2, -1) -> top2 mean (1/sqrt2 + 0)/2
    np.testing.assert_allclose(knn_density(E, 2)[0], (1 / np.sqrt(2) + 0) / 2)
    # row3 = (-1, 0): cos (-1, 0, -1/sqrt2) -> top2 mean (0 - 1/sqrt2)/2
    np.testing.assert_allclose(knn_density(E, 2)[3], (0 - 1 / np.sqrt(2)) / 2)
    # Euclidean 2nd nearest: row0 (1.414, 1, 2) -> 1.414; row2 (1, 1, 2.236) -> 1
    np.testing.assert_allclose(knn_uniqueness(E, 2), [np.sqrt(2), np.sqrt(2), 1.0, 2.0])


def test_scorers_and_orientation():
    rng = np.random.default_rng(5)
    X = np.r_[rng.normal(size=(100, 3)) * 0.1, rng.normal(size=(5, 3)) * 0.1 + [8, 0, 0]]
    ds = df.Dataset.from_arrays(X, rng.integers(0, 2, 105))
    s = compute(ds, ["knn_density", "knn_uniqueness"])
    # the five far-away points have only 4 like them within k=10: most unique
    assert set(np.argsort(-s["knn_uniqueness"].to_numpy())[:5]) == set(range(100, 105))
    emb = rng.normal(size=(105, 4))
    s2 = compute(ds, ["knn_uniqueness"], embeddings=emb)
    np.testing.assert_allclose(s2["knn_uniqueness"], knn_uniqueness(emb, 10))


@pytest.mark.parametrize("bad", [np.zeros((1, 3)), np.array([[np.nan, 1.0], [0.0, 1.0]]), np.zeros(4)])
def test_bad_embeddings(bad):
    with pytest.raises(df.DataError, match="embeddings"):
        knn_distances(bad, 2)


def test_bad_k_and_method():
    E = np.zeros((4, 2))
    with pytest.raises(df.ConfigError, match="k =="):
        knn_distances(E, 0)
    with pytest.raises(df.ConfigError, match="method"):
        knn_distances(E, 1, method="annoy")
