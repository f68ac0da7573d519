"""Geometric selectors against brute-force references on small fixed datasets."""

import numpy as np
import pytest

import datafactors as df
from datafactors.select import _balanced_quota, select
from datafactors.select._blas import dense_sq_dists, knn_graph
from datafactors.select.cluster import cluster_balanced
from datafactors.select.facility import (
    DenseFacility,
    SparseFacility,
    facility_location,
    lazy_greedy,
    naive_greedy,
)
from datafactors.select.herding import kernel_herding
from datafactors.select.kcenter import kcenter_greedy


def _blobs(n=90, d=5, centers=4, seed=0, spread=6.0):
    rng = np.random.default_rng(seed)
    C = rng.normal(size=(centers, d)) * spread
    lab = np.arange(n) % centers
    return (C[lab] + rng.normal(size=(n, d))).astype(np.float32), lab


# ---------------------------------------------------------------- brute-force references


def _bf_kcenter(X, k, start):
    X = X.astype(np.float64)
    picks = [start]
    mind = np.full(len(X), np.inf)
    gains = [np.inf]
    for _ in range(k - 1):
        mind = np.minimum(mind, np.sqrt(((X - X[picks[-1]]) ** 2).sum(1)))
        mind[picks] = -1
        j = int(np.argmax(mind))
        picks.append(j)
        gains.append(mind[j])
    return np.array(picks), np.array(gains)


def _bf_greedy(S, k):
    """Naive greedy on a dense similarity matrix (row j = what j covers), float64."""
    cur = np.zeros(S.shape[1])
    picks, gains = [], []
    for _ in range(k):
        g = np.maximum(S - cur, 0).sum(1)
        g[picks] = -np.inf
        j = int(np.argmax(g))
        picks.append(j)
        gains.append(g[j])
        cur = np.maximum(cur, S[j])
    return np.array(picks), np.array(gains)


def _bf_sq(X):
    X = X.astype(np.float64)
    return ((X[:, None] - X[None]) ** 2).sum(-1)


def _bf_herding(X, k, gamma):
    X = X.astype(np.float64)
    K = np.exp(-gamma * _bf_sq(X))
    mu = K.mean(1)
    picks, acc = [], np.zeros(len(X))
    for t in range(k):
        crit = mu - acc / (t + 1)
        crit[picks] = -np.inf
        j = int(np.argmax(crit))
        picks.append(j)
        acc += K[:, j]
    return np.array(picks)


# ---------------------------------------------------------------- k-center


def test_kcenter_matches_brute_force():
    X, _ = _blobs()
    for start in (0, 17, 89):
        idx, gains = kcenter_greedy(X, 25, start=start)
        ref, ref_gains = _bf_kcenter(X, 25, start)
        assert idx.tolist() == ref.tolist()
        np.testing.assert_allclose(gains[1:], ref_gains[1:], rtol=1e-5)
        assert gains[0] == np.inf and np.all(np.diff(gains[1:]) <= 1e-6)


def test_kcenter_far_from_origin_and_near_ties():
    # an offset of 1e4 would wreck |x|^2 + |c|^2 - 2x.c without centring; a grid has exact ties
    g = np.stack(np.meshgrid(np.arange(6.0), np.arange(6.0)), -1).reshape(-1, 2)
    X = (g + 1e4).astype(np.float32)
    idx, _ = kcenter_greedy(X, 12, start=0)
    ref, _ = _bf_kcenter(X - 1e4, 12, 0)
    assert idx.tolist() == ref.tolist()


def test_kcenter_duplicates_and_full_budget():
    X = np.zeros((7, 3), np.float32)
    X[3] = 1
    idx, gains = kcenter_greedy(X, 7, start=0)
    assert sorted(idx.tolist()) == list(range(7)) and idx[1] == 3
    assert gains[2:].tolist() == [0.0] * 5


def test_kcenter_start_from_seed_is_deterministic():
    X, _ = _blobs()
    a, _ = kcenter_greedy(X, 10, seed=3)
    b, _ = kcenter_greedy(X, 10, seed=np.random.default_rng(3))
    assert a.tolist() == b.tolist()


# ---------------------------------------------------------------- facility location


def test_facility_dense_euclidean_matches_brute_force_greedy():
    X, _ = _blobs(80)
    D2 = _bf_sq(X)
    S = D2.max() - D2  # apricot's metric="euclidean"
    ref, ref_gains = _bf_greedy(S, 20)
    for opt in ("naive", "lazy"):
        idx, gains = facility_location(X, 20, optimizer=opt)
        assert idx.tolist() == ref.tolist()
        np.testing.assert_allclose(gains, ref_gains, rtol=2e-5)


def test_facility_dense_cosine_matches_brute_force_greedy():
    X, _ = _blobs(60)
    Xn = X.astype(np.float64) / np.linalg.norm(X, axis=1, keepdims=True)
    ref, ref_gains = _bf_greedy((Xn @ Xn.T) ** 2, 15)  # apricot's metric="cosine": cos^2
    idx, gains = facility_location(X, 15, metric="cosine")
    assert idx.tolist() == ref.tolist()
    np.testing.assert_allclose(gains, ref_gains, rtol=2e-5)


def test_facility_sparse_matches_brute_force_greedy():
    X, _ = _blobs(70)
    K = 6
    D = np.sqrt(_bf_sq(X))
    S = np.zeros_like(D)
    nbrs = np.argsort(D, axis=1, kind="stable")[:, : K + 1]  # self and K nearest
    rows = np.repeat(np.arange(len(X)), K + 1)
    dist = D[rows, nbrs.ravel()]
    S[rows, nbrs.ravel()] = dist.max() - dist  # apricot's sparse metric="euclidean"
    ref, ref_gains = _bf_greedy(S, 20)
    for opt in ("naive", "lazy"):
        idx, gains = facility_location(X, 20, n_neighbors=K, optimizer=opt)
        assert idx.tolist() == ref.tolist()
        np.testing.assert_allclose(gains, ref_gains, rtol=1e-4)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("batch", [1, 3, 64])
def test_lazy_equals_naive(sparse, batch):
    X, _ = _blobs(120, d=3, centers=6, seed=1)

    def build():
        if sparse:
            return SparseFacility.from_embeddings(X, "euclidean", 10)
        return DenseFacility.from_embeddings(X, "euclidean")

    a, ga = naive_greedy(build(), 40)
    b, gb = lazy_greedy(build(), 40, batch=batch)
    assert a.tolist() == b.tolist()
    np.testing.assert_array_equal(ga, gb)
    assert np.all(np.diff(ga) <= 1e-9)  # submodular: greedy gains never rise


def test_facility_gains_sum_to_objective_and_stochastic_is_close():
    X, _ = _blobs(150, seed=2)
    obj = DenseFacility.from_embeddings(X)
    idx, gains = lazy_greedy(obj, 30)
    assert gains.sum() == pytest.approx(obj.value, rel=1e-6)
    s1, g1 = facility_location(X, 30, optimizer="stochastic", seed=5)
    s2, _ = facility_location(X, 30, optimizer="stochastic", seed=5)
    assert s1.tolist() == s2.tolist() and len(set(s1.tolist())) == 30
    assert g1.sum() >= 0.95 * gains.sum()


def test_knn_graph_exact_and_cell_search():
    X, _ = _blobs(600, d=4, centers=8, seed=3)
    D = np.sqrt(_bf_sq(X))
    ref = np.sort(D, axis=1)[:, :6]
    nb, Dk = knn_graph(X, 5)
    assert (nb[:, 0] == np.arange(600)).all() and (Dk[:, 0] == 0).all()
    np.testing.assert_allclose(Dk, ref, atol=1e-3)
    I2, D2 = knn_graph(X, 5, exact_max_rows=0, seed=1)  # cell-by-cell path
    assert (I2[:, 0] == np.arange(600)).all()
    recall = np.mean([len(set(I2[i]) & set(nb[i])) / 6 for i in range(600)])
    assert recall > 0.97


def test_dense_matrix_refused_above_limit():
    with pytest.raises(df.DataError, match="refused above 10 rows"):
        dense_sq_dists(np.zeros((11, 2), np.float32), max_rows=10)


# ---------------------------------------------------------------- herding


def test_herding_matches_kernel_herding_definition():
    X, _ = _blobs(50, d=3, seed=4)
    gamma = 0.05
    idx, gains = kernel_herding(X, 15, gamma=gamma)
    assert idx.tolist() == _bf_herding(X, 15, gamma).tolist()


def test_herding_linear_kernel_and_subsampled_mean():
    X, _ = _blobs(40, d=3, seed=5)
    Xd = X.astype(np.float64)
    K = Xd @ Xd.T
    mu, picks, acc = K.mean(1), [], np.zeros(40)
    for t in range(8):
        crit = mu - acc / (t + 1)
        crit[picks] = -np.inf
        picks.append(int(np.argmax(crit)))
        acc += K[:, picks[-1]]
    assert kernel_herding(X, 8, kernel="linear")[0].tolist() == picks
    a = kernel_herding(X, 8, mean_samples=20, seed=1)[0]
    assert a.tolist() == kernel_herding(X, 8, mean_samples=20, seed=1)[0].tolist()


# ---------------------------------------------------------------- cluster-balanced


def test_cluster_balanced_equal_shares_and_round_robin():
    X, lab = _blobs(200, centers=4, spread=20.0)
    idx, labels = cluster_balanced(X, 40, n_clusters=4, seed=0)
    assert len({(a, b) for a, b in zip(lab, labels, strict=True)}) == 4  # k-means found the blobs
    assert np.bincount(labels[idx], minlength=4).tolist() == [10, 10, 10, 10]
    assert sorted(np.bincount(labels[idx[:8]], minlength=4).tolist()) == [2, 2, 2, 2]  # prefixes balanced
    # a cluster smaller than its share gives all it has; the rest is spread over the others
    lab = np.r_[np.zeros(10, int), np.ones(60, int), np.full(60, 2)]
    X = (np.array([[0, 0], [50, 0], [0, 50]])[lab] + np.random.default_rng(0).normal(size=(130, 2))).astype(np.float32)
    idx, labels = cluster_balanced(X, 70, n_clusters=3, seed=0)
    assert np.bincount(lab[idx]).tolist() == [10, 30, 30]
    assert np.bincount(labels[idx]).tolist() == _balanced_quota(np.bincount(labels), 70).tolist()


def test_cluster_balanced_nearest_takes_prototypes():
    X, _ = _blobs(120, centers=3, spread=20.0)
    idx, labels = cluster_balanced(X, 3, n_clusters=3, within="nearest")
    for j in idx:
        members = np.flatnonzero(labels == labels[j])
        c = X[members].mean(0)
        assert j == members[np.argmin(((X[members] - c) ** 2).sum(1))]


# ---------------------------------------------------------------- through select()


def test_select_uses_given_embeddings_and_checks_them():
    X, y = _blobs(40)
    ds = df.Dataset.from_arrays(np.zeros((40, 2)), y % 2)  # features carry no geometry
    a = select(ds, "kcenter", 5, embeddings=X, start=0)
    assert a.tolist() == _bf_kcenter(X, 5, 0)[0].tolist()
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(df.DataError, match=r"embeddings contain 1 NaN or inf values \(first at row 3, column 1\)"):
        select(ds, "facility_location", 5, embeddings=bad)
    with pytest.raises(df.DataError, match=r"embeddings must have shape \(40, d\)"):
        select(ds, "herding", 5, embeddings=X[:30])


@pytest.mark.parametrize(
    "call, msg",
    [
        (lambda X: kcenter_greedy(X, 0), "k == 0"),
        (lambda X: kcenter_greedy(X, 41), "k == 41, must be <= the number of rows"),
        (lambda X: kcenter_greedy(X, 2, start=40), "start == 40"),
        (lambda X: facility_location(X, -1), "k == -1"),
        (lambda X: facility_location(X, 3, n_neighbors=0), "n_neighbors == 0"),
        (lambda X: facility_location(X, 3, optimizer="greedy"), "optimizer == 'greedy'"),
        (lambda X: facility_location(X, 3, metric="l1"), "metric == 'l1'"),
        (lambda X: kernel_herding(X, 3, kernel="poly"), "kernel == 'poly'"),
        (lambda X: cluster_balanced(X, 3, n_clusters=41), "n_clusters == 41"),
        (lambda X: kcenter_greedy(X[:, 0], 3), "X must be a 2-D"),
        (lambda X: kcenter_greedy(np.where(X > 1, np.nan, X), 3), r"X contain \d+ NaN or inf"),
    ],
)
def test_bad_input_names_the_parameter(call, msg):
    X, _ = _blobs(40)
    with pytest.raises(df.DatafactorsError, match=msg):
        call(X)


# ---------------------------------------------------------------- CLI


def test_cli_select_with_embeddings_params_and_group_balance(tmp_path, capsys, cli):
    import pandas as pd

    X, y = _blobs(40)
    frame = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(40)],
            "x0": np.zeros(40),
            "label": y % 2,
            "group": np.repeat(["a", "b"], [30, 10]),
        }
    )
    frame.to_csv(tmp_path / "d.csv", index=False)
    np.save(tmp_path / "e.npy", X)
    out = tmp_path / "k.parquet"
    args = [
        "select",
        str(tmp_path / "d.csv"),
        "--strategy",
        "kcenter",
        "--budget",
        "5",
        "--out",
        str(out),
        "--embeddings",
        str(tmp_path / "e.npy"),
        "--param",
        "start=0",
    ]
    assert cli(args) == 0
    assert pd.read_parquet(out)["index"].tolist() == _bf_kcenter(X, 5, 0)[0].tolist()
    emb = pd.DataFrame(X, columns=[f"e{j}" for j in range(5)]).assign(id=frame["id"]).iloc[::-1]
    emb.to_parquet(tmp_path / "e.parquet")  # joined by id, not position
    args[-3] = str(tmp_path / "e.parquet")
    assert cli(args) == 0
    assert pd.read_parquet(out)["index"].tolist() == _bf_kcenter(X, 5, 0)[0].tolist()
    assert (
        cli(
            [
                "select",
                str(tmp_path / "d.csv"),
                "--strategy",
                "facility_location",
                "--budget",
                "0.5",
                "--out",
                str(out),
                "--group-balanced",
                "--param",
                "optimizer=stochastic",
            ]
        )
        == 0
    )
    assert pd.read_parquet(out)["id"].map(
        dict(zip(frame["id"], frame["group"], strict=True))
    ).value_counts().to_dict() == {"a": 10, "b": 10}
    np.save(tmp_path / "bad.npy", X[:30])
    assert cli(args[:-3] + [str(tmp_path / "bad.npy")]) == 2
    assert "must hold a (40, d) array" in capsys.readouterr().err
    assert cli(args[:-1] + ["start"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
