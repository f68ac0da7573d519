"""Class exemplars: facility-location medoids / centroid-nearest rows per class, budget split, errors."""

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.select import REGISTRY, check_strategy, select
from datafactors.select.exemplars import class_exemplars

# five asymmetric offsets: the member nearest their mean is row 1 (by squared and plain distance alike)
OFFSETS = np.array([[0.0, 0.1], [0.05, 0.02], [0.2, -0.1], [-0.3, 0.05], [0.05, 0.3]])
CENTRES = np.array([[0.0, 0.0], [-10.0, 0.0], [10.0, 0.0]])  # symmetric: the class mean is cluster 0's mean


def _three_clusters(shift, seed):
    """15 rows of one class, three tight clusters of five, rows shuffled; returns (X, cluster, medoid rows)."""
    X = np.concatenate([c + OFFSETS for c in CENTRES]) + shift
    cluster = np.repeat(np.arange(3), len(OFFSETS))
    perm = np.random.default_rng(seed).permutation(len(X))
    X, cluster = X[perm], cluster[perm]
    medoids = set()
    for c in range(3):
        rows = np.flatnonzero(cluster == c)
        D = np.sqrt(((X[rows, None] - X[None, rows]) ** 2).sum(-1))
        assert np.argmin((D**2).sum(1)) == np.argmin(D.sum(1))  # the fixture's medoid is unambiguous
        medoids.add(int(rows[np.argmin(D.sum(1))]))
    return X, cluster, medoids


def _two_classes():
    Xa, ca, ma = _three_clusters([0.0, 0.0], 0)
    Xb, cb, mb = _three_clusters([0.0, 50.0], 1)
    X = np.r_[Xa, Xb]
    y = np.r_[np.zeros(15, int), np.ones(15, int)]
    return X, y, np.r_[ca, cb + 3], ma | {m + 15 for m in mb}


def test_three_tight_clusters_per_class_give_each_clusters_medoid():
    X, y, cluster, medoids = _two_classes()
    idx = class_exemplars(X, y, per_class=3)
    assert set(idx.tolist()) == medoids
    assert sorted(cluster[idx].tolist()) == [0, 1, 2, 3, 4, 5]  # one per cluster
    assert y[idx].tolist() == [0, 1, 0, 1, 0, 1]  # round-robin over the classes by rank
    ds = df.Dataset.from_arrays(X, y)
    assert select(ds, "exemplars", 6).tolist() == idx.tolist()  # budget 6 split 3 + 3
    assert sorted(select(ds, "exemplars", per_class=3).tolist()) == sorted(idx.tolist())


def test_centroid_method_stays_in_the_central_cluster():
    X, y, cluster, medoids = _two_classes()
    idx = class_exemplars(X, y, per_class=3, method="centroid")
    # the class mean is cluster 0's mean: its three nearest rows all lie in cluster 0 (and 3)
    assert sorted(cluster[idx].tolist()) == [0, 0, 0, 3, 3, 3]
    first = class_exemplars(X, y, per_class=1, method="centroid")
    assert set(first.tolist()) <= medoids  # its first pick is still that cluster's medoid


def test_hand_computed_facility_and_centroid_order():
    # class 0 = 0, 1, 2, 6, 7, 9: summed squared distances 171, 127, 95, 87, 115, 207, so the first
    # pick is 6 (row 3); sim = 81 - D^2, and the next gains are 72, 75, 72, -, 6, 9 -> 1 (row 1),
    # then 1, -, 1, -, 6, 9 -> 9 (row 5). The class mean 25/6 is nearest 6, then 2, then 7.
    X = np.array([0, 1, 2, 6, 7, 9, 20, 21, 25.0])[:, None]
    y = np.array([0] * 6 + [1] * 3)
    fac = class_exemplars(X, y, per_class=3)
    assert fac[y[fac] == 0].tolist() == [3, 1, 5]
    # class 1 = 20, 21, 25: sums 26, 17, 41 -> 21 (row 7); sim = 25 - D^2, gains 1 (20) and 16 (25) -> row 8
    assert fac[y[fac] == 1].tolist() == [7, 8, 6]
    cen = class_exemplars(X, y, per_class=3, method="centroid")
    assert cen[y[cen] == 0].tolist() == [3, 2, 4]
    assert cen[y[cen] == 1].tolist() == [7, 6, 8]


def test_cosine_and_euclidean_centroids_differ():
    # unit rows average along (1, 1): the cosine-nearest is (3, 3); the plain mean (1.2, 1.4) is nearest (0, 1)
    X = np.array([[1.0, 0], [2, 0], [0, 1], [0, 3], [3, 3]])
    y = np.zeros(5, int)
    assert class_exemplars(X, y, 1, method="centroid", metric="euclidean").tolist() == [2]
    assert class_exemplars(X, y, 1, method="centroid", metric="cosine").tolist() == [4]
    assert len(class_exemplars(X, y, 2, metric="cosine")) == 2


def test_total_budget_is_split_like_class_balanced():
    rng = np.random.default_rng(0)
    y = np.array([0] * 2 + [1] * 5 + [2] * 5)
    ds = df.Dataset.from_arrays(rng.normal(size=(12, 3)), y)
    idx = select(ds, "exemplars", 7, seed=0)
    assert np.bincount(y[idx]).tolist() == [2, 3, 2]  # 2 each, the small class full, one more to class 1
    assert sorted(y[idx[:3]].tolist()) == [0, 1, 2]  # every class's first exemplar comes first
    bal = select(ds, "exemplars", 7, seed=0, class_balanced=True)
    assert np.bincount(y[bal]).tolist() == [2, 3, 2] and set(bal.tolist()) == set(idx.tolist())
    assert len(select(ds, "exemplars", 0.5)) == 6
    assert np.array_equal(idx, select(ds, "exemplars", 7, seed=0))


def test_per_class_with_and_without_a_budget():
    X, y, _, _ = _two_classes()
    ds = df.Dataset.from_arrays(X, y)
    ranked = class_exemplars(X, y, per_class=2)
    assert select(ds, "exemplars", per_class=2).tolist() == sorted(ranked.tolist())  # no budget: input order
    assert select(ds, "exemplars", 4, per_class=2).tolist() == ranked.tolist()  # a budget: rank order
    assert select(ds, "exemplars", 3, per_class=2).tolist() == ranked[:3].tolist()
    with pytest.raises(df.DataError, match="budget == 5, but per_class == 2 over 2 classes gives only 4"):
        select(ds, "exemplars", 5, per_class=2)


def test_deterministic_and_registered():
    X, y, _, _ = _two_classes()
    ds = df.Dataset.from_arrays(X, y)
    assert "exemplars" in REGISTRY.names()
    for method in ("facility", "centroid"):
        a = select(ds, "exemplars", 5, seed=3, method=method)
        assert np.array_equal(a, select(ds, "exemplars", 5, seed=3, method=method))
        assert a.dtype == np.int64 and len(np.unique(a)) == 5
    tiny = df.Dataset.from_arrays(np.zeros((2, 1)), [0, 1])
    assert select(tiny, "exemplars", 1).tolist() == [0]
    assert sorted(select(tiny, "exemplars", per_class=1).tolist()) == [0, 1]


def test_embeddings_are_used_instead_of_features():
    X, y, _, medoids = _two_classes()
    ds = df.Dataset.from_arrays(np.zeros((30, 1)), y)
    assert set(select(ds, "exemplars", per_class=3, embeddings=X).tolist()) == medoids


def test_errors_name_the_problem():
    ds = df.Dataset.from_arrays(np.arange(5.0)[:, None], ["cat", "cat", "dog", "dog", "dog"])
    with pytest.raises(df.DataError, match=r"per_class == 3, but class 0 \('cat'\) has only 2 rows"):
        select(ds, "exemplars", per_class=3)
    with pytest.raises(df.ConfigError, match="method == 'kmeans', must be one of: 'facility', 'centroid'"):
        select(ds, "exemplars", 2, method="kmeans")
    with pytest.raises(df.ConfigError, match="metric == 'corr'"):
        select(ds, "exemplars", 2, metric="corr")
    with pytest.raises(df.ConfigError, match="per_class == 0, must be an int >= 1"):
        select(ds, "exemplars", per_class=0)
    with pytest.raises(df.ConfigError, match="needs a budget .* or per_class="):
        select(ds, "exemplars")
    with pytest.raises(df.DataError, match="budget == 6, must be <= the number"):
        select(ds, "exemplars", 6)
    with pytest.raises(df.DataError, match="exemplars selector needs labels"):
        select(df.Dataset.from_arrays(np.zeros((4, 1))), "exemplars", 2)
    with pytest.raises(df.DataError, match="needs class labels"):
        class_exemplars(np.zeros((3, 1)), None, 1)
    with pytest.raises(df.ConfigError, match="exactly one of k"):
        class_exemplars(np.zeros((3, 1)), [0, 0, 1], 2, per_class=1)
    with pytest.raises(df.ConfigError, match="method == 'x'"):
        check_strategy("exemplars", 2, 5, {"method": "x"})
    assert check_strategy("exemplars", None, 5, {"per_class": 1}) is None


def test_cli_per_class_without_budget(tmp_path):
    from datafactors.cli import main

    X = np.array([0, 1, 2, 6, 7, 9, 20, 21, 25.0])
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(9)], "x0": X, "label": [0] * 6 + [1] * 3})
    frame.to_csv(tmp_path / "d.csv", index=False)
    out = tmp_path / "ex.parquet"
    argv = ["select", str(tmp_path / "d.csv"), "--strategy", "exemplars", "--param", "per_class=1", "--out", str(out)]
    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code
    assert rc == 0
    assert pd.read_parquet(out)["id"].tolist() == ["r3", "r7"]
