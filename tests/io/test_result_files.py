"""Reading score and embedding files, and checking output paths: one DataError per bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datafactors import DataError, Dataset
from datafactors.io import check_out_path, read_embeddings, read_scores


@pytest.fixture
def ds() -> Dataset:
    return Dataset.from_arrays(np.zeros((3, 2)), [0, 1, 0], ids=["a", "b", "c"])


def test_read_scores_round_trips_with_string_ids(tmp_path):
    p = tmp_path / "s.parquet"
    pd.DataFrame({"id": [3, 1, 2], "el2n": [0.5, 0.25, 1.0]}).to_parquet(p)
    sc = read_scores(p)
    assert sc["id"].tolist() == ["3", "1", "2"]
    assert sc["el2n"].tolist() == [0.5, 0.25, 1.0]


@pytest.mark.parametrize(
    ("write", "match"),
    [
        (None, "scores file not found"),
        (lambda p: p.write_bytes(b"not parquet"), "cannot read scores file"),
        (lambda p: pd.DataFrame({"el2n": [1.0]}).to_parquet(p), "has no 'id' column; columns are: 'el2n'"),
    ],
    ids=["missing", "corrupt", "no-id"],
)
def test_read_scores_errors(tmp_path, write, match):
    p = tmp_path / "s.parquet"
    if write is not None:
        write(p)
    with pytest.raises(DataError, match=match) as e:
        read_scores(p)
    assert "s.parquet" in str(e.value)


def test_read_embeddings_npy_and_parquet_aligned_by_id(tmp_path, ds):
    v = np.arange(6, dtype=np.float64).reshape(3, 2)
    np.save(tmp_path / "e.npy", v)
    assert np.array_equal(read_embeddings(tmp_path / "e.npy", ds), v.astype(np.float32))
    # rows stored in another order come back in the data's order
    pd.DataFrame({"id": ["c", "a", "b"], "d0": [4.0, 0.0, 2.0], "d1": [5.0, 1.0, 3.0]}).to_parquet(
        tmp_path / "e.parquet"
    )
    out = read_embeddings(tmp_path / "e.parquet", ds)
    assert out.dtype == np.float32
    assert out.tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]


@pytest.mark.parametrize(
    ("name", "write", "match"),
    [
        ("e.npy", None, "embeddings file not found"),
        ("e.npy", lambda p: p.write_bytes(b"garbage"), "cannot read embeddings file"),
        ("e.parquet", lambda p: p.write_bytes(b"garbage"), "cannot read embeddings file"),
        ("e.parquet", lambda p: pd.DataFrame({"id": ["a", "b", "x"], "d": [1.0] * 3}).to_parquet(p), "lacks 1 ids"),
        ("e.parquet", lambda p: pd.DataFrame({"id": ["a", "b", "c"], "t": ["u"] * 3}).to_parquet(p), "no numeric"),
        ("e.npy", lambda p: np.save(p, np.zeros((2, 4))), r"\(3, d\) array .* got \(2, 4\)"),
        ("e.csv", lambda p: p.write_text("a\n1\n"), "must be .npy or .parquet, got '.csv'"),
    ],
    ids=["missing", "corrupt-npy", "corrupt-parquet", "misaligned-ids", "no-numeric", "wrong-shape", "suffix"],
)
def test_read_embeddings_errors(tmp_path, ds, name, write, match):
    p = tmp_path / name
    if write is not None:
        write(p)
    with pytest.raises(DataError, match=match):
        read_embeddings(p, ds)


def test_check_out_path(tmp_path):
    assert check_out_path(tmp_path / "k.parquet", ".parquet") == tmp_path / "k.parquet"
    with pytest.raises(DataError, match=r"--out .*k\.csv must end in \.parquet"):
        check_out_path(tmp_path / "k.csv", ".parquet")
    with pytest.raises(DataError, match="folder .*nodir does not exist"):
        check_out_path(tmp_path / "nodir" / "k.parquet", ".parquet")
    (tmp_path / "d.parquet").mkdir()
    with pytest.raises(DataError, match="is a folder"):
        check_out_path(tmp_path / "d.parquet", ".parquet")
    (tmp_path / "f").write_text("")
    with pytest.raises(DataError, match="is a file, not a folder"):
        check_out_path(tmp_path / "f" / "k.parquet", ".parquet", flag="--save")
