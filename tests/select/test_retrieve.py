"""Retrieval of the training rows nearest a target set: hand-computed cases, de-duplication, budgets, errors, CLI."""

import importlib.util

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.select import check_strategy, select
from datafactors.select.retrieve import nearest_rows, retrieve

LINE = np.array([0.0, 1, 2, 10, 11])[:, None]  # rows 0..4 on a line


def test_euclidean_and_cosine_rank_differently():
    # target (5, 0.2): Euclidean 3.44 to (3, 3), 4.005 to (1, 0), 5.004 to (10, 0), 5.04 to (0, 1);
    # cosine 0.9992 to (1, 0) and (10, 0) alike (a tie: lowest row first), 0.735 to (3, 3), 0.04 to (0, 1)
    X = np.array([[1.0, 0], [10, 0], [0, 1], [3, 3]])
    T = np.array([[5.0, 0.2]])
    d, i = nearest_rows(X, T, 4, metric="euclidean")
    assert i.tolist() == [[3, 0, 1, 2]]
    np.testing.assert_allclose(d[0], [np.sqrt(4 + 2.8**2), np.sqrt(16.04), np.sqrt(25.04), np.sqrt(25 + 0.64)])
    d, i = nearest_rows(X, T, 4)  # cosine by default
    assert i.tolist() == [[0, 1, 3, 2]]
    cos = np.array([5, 5, 0.2, 15.6]) / (np.hypot(5, 0.2) * np.array([1, 1, 1, np.sqrt(18)]))
    np.testing.assert_allclose(d[0], 1 - cos[[0, 1, 3, 2]], atol=1e-6)
    ds = df.Dataset.from_arrays(X, [0, 1, 0, 1])
    assert select(ds, "retrieve", 2, target=T).tolist() == [0, 1]
    assert select(ds, "retrieve", 2, target=T, metric="euclidean").tolist() == [3, 0]


def test_budget_round_robin_gives_every_target_its_nearest_first():
    r = retrieve(LINE, [[0.2], [10.4]], 3, metric="euclidean")
    assert r.index.tolist() == [0, 3, 1]  # target 0's nearest, target 1's nearest, target 0's second
    assert r.target.tolist() == [0, 1, 0] and r.rank.tolist() == [0, 0, 1]
    np.testing.assert_allclose(r.distance, [0.2, 0.4, 0.8], atol=1e-6)  # float32 inputs
    assert retrieve(LINE, [[0.2], [10.4]], 2, metric="euclidean").index.tolist() == [0, 3]


def test_rows_shared_by_targets_count_once():
    # targets 0.2 and 0.6 both want rows 0 and 1: per_target=2 retrieves 2 distinct rows, not 4
    r = retrieve(LINE, [[0.2], [0.6]], per_target=2, metric="euclidean")
    assert r.index.tolist() == [0, 1] and r.target.tolist() == [0, 1]
    # a budget of 3 searches deeper until 3 distinct rows: 0 (t0), 1 (t1), then t0's and t1's
    # rank-1 rows are taken already, and rank 2 of t0 is row 2
    r = retrieve(LINE, [[0.2], [0.6]], 3, metric="euclidean")
    assert r.index.tolist() == [0, 1, 2]
    assert r.target.tolist() == [0, 1, 0] and r.rank.tolist() == [0, 0, 2]
    np.testing.assert_allclose(r.distance, [0.2, 0.4, 1.8], atol=1e-6)
    assert retrieve(LINE, [[0.2], [0.6], [0.3]], 5, metric="euclidean").index.tolist() == [0, 1, 2, 3, 4]


def test_per_target_versus_budget():
    T = [[0.2], [10.4]]
    assert retrieve(LINE, T, per_target=2, metric="euclidean").index.tolist() == [0, 3, 1, 4]
    assert retrieve(LINE, T, 3, per_target=2, metric="euclidean").index.tolist() == [0, 3, 1]
    with pytest.raises(df.DataError, match="k == 5, but per_target == 2 over 2 targets retrieves only 4 distinct"):
        retrieve(LINE, T, 5, per_target=2, metric="euclidean")
    ds = df.Dataset.from_arrays(LINE, [0, 1, 0, 1, 0])
    assert select(ds, "retrieve", target=np.array(T), per_target=2, metric="euclidean").tolist() == [0, 1, 3, 4]
    assert select(ds, "retrieve", 3, target=np.array(T), per_target=2, metric="euclidean").tolist() == [0, 3, 1]
    with pytest.raises(df.DataError, match="budget == 5, but per_target == 2 over 2 targets retrieves only 4"):
        select(ds, "retrieve", 5, target=np.array(T), per_target=2, metric="euclidean")


def test_every_target_form_gives_the_same_rows():
    ids = [f"r{i}" for i in range(5)]
    ds = df.Dataset.from_arrays(LINE, [0, 1, 0, 1, 0], ids=ids)
    kw = {"metric": "euclidean"}
    # rows r0 and r3 as the target: they are the queries, never retrieved; the nearest others are 1 and 4
    assert select(ds, "retrieve", 2, target=["r0", "r3"], **kw).tolist() == [1, 4]
    assert select(ds, "retrieve", 2, target=["r3", "r0"], **kw).tolist() == [4, 1]  # targets in the order given
    mask = np.array([True, False, False, True, False])
    assert select(ds, "retrieve", 3, target=mask, **kw).tolist() == [1, 4, 2]
    tgt = df.Dataset.from_arrays(np.array([[0.0], [10.0]]), None, ids=["t0", "t1"])
    assert select(ds, "retrieve", 3, target=tgt, **kw).tolist() == [0, 3, 1]
    assert select(ds, "retrieve", 3, target=np.array([[0.0], [10.0]]), **kw).tolist() == [0, 3, 1]
    assert select(ds, "retrieve", 3, target=[[0.0], [10.0]], **kw).tolist() == [0, 3, 1]
    emb = np.c_[LINE, np.zeros(5)]  # embeddings= replace the features; the target lives in their space
    assert select(ds, "retrieve", 2, target=[[10.0, 0.0]], embeddings=emb, **kw).tolist() == [3, 4]


def test_contract_exact_unique_deterministic_and_class_balanced():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    y = np.arange(40) % 4
    ds = df.Dataset.from_arrays(X, y)
    T = rng.normal(size=(3, 4))
    for budget in (1, 7, 40, 0.5):
        a = select(ds, "retrieve", budget, target=T, seed=0)
        k = budget if isinstance(budget, int) else 20
        assert a.dtype == np.int64 and len(a) == k == len(np.unique(a))
        assert np.array_equal(a, select(ds, "retrieve", budget, target=T, seed=7))  # no randomness at all
    assert select(ds, "retrieve", 40, target=T).tolist() != list(range(40))  # retrieval order, not input order
    bal = select(ds, "retrieve", 8, target=T, class_balanced=True)
    assert np.bincount(y[bal]).tolist() == [2, 2, 2, 2]
    # within each class, the class's rows nearest the target set
    for c in range(4):
        rows = np.flatnonzero(y == c)
        assert set(bal[y[bal] == c].tolist()) == set(rows[retrieve(X[rows], T, 2).index].tolist())
    tiny = df.Dataset.from_arrays(np.array([[0.0, 1.0], [1.0, 0.0]]), [0, 1])
    assert select(tiny, "retrieve", 1, target=[[1.0, 0.1]]).tolist() == [1]
    assert select(tiny, "retrieve", 1, target=[0]).tolist() == [1]  # ids: the other row


@pytest.mark.skipif(importlib.util.find_spec("faiss") is None, reason="faiss is not installed")
def test_exact_search_agrees_with_faiss_flat_index():
    import faiss

    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 16)).astype(np.float32)
    T = rng.normal(size=(50, 16)).astype(np.float32)
    k = 10
    for metric in ("cosine", "euclidean"):
        d, i = nearest_rows(X, T, k, metric=metric)
        if metric == "cosine":
            U, Q = X / np.linalg.norm(X, axis=1, keepdims=True), T / np.linalg.norm(T, axis=1, keepdims=True)
            index = faiss.IndexFlatIP(16)
            index.add(U)
            sim, fi = index.search(Q, k)
            fd = 1.0 - sim
        else:
            index = faiss.IndexFlatL2(16)
            index.add(X)
            d2, fi = index.search(T, k)
            fd = np.sqrt(np.maximum(d2, 0))
        np.testing.assert_allclose(d, fd, atol=1e-4)
        assert (i == fi).mean() > 0.99  # float32 near-ties may swap neighbours; the rest is identical
        r = retrieve(X, T, per_target=k, metric=metric)
        assert set(r.index.tolist()) == set(i.ravel().tolist())


def test_errors_name_the_problem():
    ds = df.Dataset.from_arrays(LINE, [0, 1, 0, 1, 0], ids=[f"r{i}" for i in range(5)], name="line")
    with pytest.raises(df.DataError, match="retrieve needs target="):
        select(ds, "retrieve", 2)
    with pytest.raises(df.DataError, match="'test' / 'ood' are resolved by a run config"):
        select(ds, "retrieve", 2, target="test")
    with pytest.raises(df.DataError, match="target id 'nope' is not a row of dataset 'line'"):
        select(ds, "retrieve", 2, target=["nope"])
    with pytest.raises(df.DataError, match="texts: load them as a Dataset"):
        select(ds, "retrieve", 2, target=["a sentence to match"])
    with pytest.raises(df.DataError, match="target has 2 dimensions but the training embeddings have 1"):
        select(ds, "retrieve", 2, target=[[1.0, 2.0]])
    wide = df.Dataset.from_arrays(np.zeros((2, 3)), None, name="wide")
    with pytest.raises(df.DataError, match="target 'wide' has 3 features but the training embeddings have 1"):
        select(ds, "retrieve", 2, target=wide)
    with pytest.raises(df.DataError, match="target must be non-empty"):
        select(ds, "retrieve", 2, target=[])
    with pytest.raises(df.DataError, match="target mask selects no rows"):
        select(ds, "retrieve", 2, target=np.zeros(5, bool))
    with pytest.raises(df.DataError, match=r"target mask must have shape \(5,\)"):
        select(ds, "retrieve", 2, target=np.ones(3, bool))
    with pytest.raises(df.DataError, match="target contain 1 NaN"):
        select(ds, "retrieve", 2, target=[[np.nan]])
    with pytest.raises(df.ConfigError, match="metric == 'dot', must be one of: 'cosine', 'euclidean'"):
        select(ds, "retrieve", 2, target=[[0.0]], metric="dot")
    with pytest.raises(df.ConfigError, match="per_target == 0, must be an int >= 1"):
        select(ds, "retrieve", target=[[0.0]], per_target=0)
    with pytest.raises(df.ConfigError, match="needs a budget .* or per_target="):
        select(ds, "retrieve", target=[[0.0]])
    with pytest.raises(df.DataError, match="budget == 4, must be <= the 3 rows that can be retrieved; 2 of the 5"):
        select(ds, "retrieve", 4, target=["r0", "r1"])  # two of five rows are the target
    with pytest.raises(df.DataError, match="per_target == 6, must be <= the 5 rows"):
        select(ds, "retrieve", target=[[0.0]], per_target=6)
    with pytest.raises(df.ConfigError, match="retrieve needs k"):
        retrieve(LINE, [[0.0]])
    with pytest.raises(df.ConfigError, match="metric == 'l1'"):
        check_strategy("retrieve", 2, 5, {"metric": "l1"})
    assert check_strategy("retrieve", None, 5, {"per_target": 2, "target": [[0.0]]}) is None


def _write(tmp_path):
    # rows at angles 0, 90, 180, 270, 45 and 135 degrees (various lengths); targets near 0 and near 90 degrees.
    # Cosine ranks for t0 = (2, 0.1): rows 0, 4, 1, ...; for t1 = (-0.1, 3): rows 1, 5, 4, ...
    X = np.array([[1.0, 0], [0, 1], [-1, 0], [0, -1], [2, 2], [-3, 3]])
    train = pd.DataFrame({"id": [f"r{i}" for i in range(6)], "x0": X[:, 0], "x1": X[:, 1], "label": [0, 1] * 3})
    train.to_csv(tmp_path / "train.csv", index=False)
    pd.DataFrame({"id": ["t0", "t1"], "x0": [2.0, -0.1], "x1": [0.1, 3.0]}).to_csv(tmp_path / "t.csv", index=False)
    return tmp_path / "train.csv", tmp_path / "t.csv"


def test_cli_select_retrieve_with_a_target_file(tmp_path, capsys, cli):
    train, target = _write(tmp_path)
    out = tmp_path / "sel.parquet"
    argv = ["select", str(train), "--strategy", "retrieve", "--target", str(target), "--budget", "4", "--out", str(out)]
    assert cli(argv) == 0
    sel = pd.read_parquet(out)
    assert sel["index"].tolist() == [0, 1, 4, 5] and sel["id"].tolist() == ["r0", "r1", "r4", "r5"]
    assert "kept 4 of 6 examples with 'retrieve'" in capsys.readouterr().out
    argv = ["select", str(train), "--strategy", "retrieve", "--target", str(target), "--param", "per_target=1"]
    assert cli([*argv, "--out", str(out)]) == 0
    assert pd.read_parquet(out)["index"].tolist() == [0, 1]
    # a target file whose columns do not match the training features: exit 2, one clear line
    pd.DataFrame({"id": ["t0"], "a": [1.0], "b": [2.0], "c": [3.0]}).to_csv(tmp_path / "bad.csv", index=False)
    capsys.readouterr()
    argv = ["select", str(train), "--strategy", "retrieve", "--target", str(tmp_path / "bad.csv"), "--budget", "2"]
    assert cli([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "has 3 features but the training embeddings have 2" in err and "Traceback" not in err
    argv[5] = str(tmp_path / "missing.csv")
    assert cli([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "missing.csv" in err and "Traceback" not in err


def test_cli_target_as_ids_or_embeddings(tmp_path, capsys, cli):
    train, _ = _write(tmp_path)
    out = tmp_path / "sel.parquet"
    base = ["select", str(train), "--strategy", "retrieve", "--budget", "2", "--out", str(out)]
    # the same targets as t.csv, as an (m, d) .npy array: the same four rows as from the table
    np.save(tmp_path / "t.npy", np.array([[2.0, 0.1], [-0.1, 3.0]]))
    assert cli([*base[:-4], "--budget", "4", "--target", str(tmp_path / "t.npy"), "--out", str(out)]) == 0
    assert pd.read_parquet(out)["index"].tolist() == [0, 1, 4, 5]
    # ids of rows of the data (a .txt list, or a table with only an id column): r0 (1, 0) and r1 (0, 1)
    # are the queries and never their own neighbours; both have (2, 2) nearest (cosine 0.707), so the
    # round-robin takes row 4 for r0 and r1's next, (-3, 3) (cosine 0.707 to r1), for r1
    (tmp_path / "ids.txt").write_text("r0\nr1\n", encoding="utf-8")
    pd.DataFrame({"id": ["r0", "r1"]}).to_csv(tmp_path / "ids.csv", index=False)
    for f in ("ids.txt", "ids.csv"):
        assert cli([*base, "--target", str(tmp_path / f)]) == 0
        assert sorted(pd.read_parquet(out)["id"].tolist()) == ["r4", "r5"]
    capsys.readouterr()
    # bad target files: one line, exit 2, nothing written
    out.unlink()
    (tmp_path / "none.txt").write_text("\n\n", encoding="utf-8")
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    np.save(tmp_path / "flat.npy", np.zeros(3))
    (tmp_path / "latin.txt").write_bytes("r0\n\xe9\n".encode("latin-1"))
    cases = [("none.txt", "holds no ids"), ("bad.npy", "not a readable .npy"), ("flat.npy", "(m, d) array"),
             ("latin.txt", "not UTF-8"), ("missing.npy", "no such file")]  # fmt: skip
    for f, message in cases:
        assert cli([*base, "--target", str(tmp_path / f)]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (f, err)
        assert not out.exists()
