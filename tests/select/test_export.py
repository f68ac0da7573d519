"""Exporting a selection: ids, indices, Hugging Face datasets, torch Subset, Parquet and DuckDB filters."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

import datafactors as df
from datafactors import DataError
from datafactors.select.export import (
    duckdb_filter,
    parquet_filter,
    select_hf,
    selection_frame,
    to_ids,
    to_indices,
    to_torch_subset,
)


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"id": [f"ex-{i}" for i in range(40)], "a": rng.normal(size=40), "b": rng.normal(size=40), "label": [0, 1] * 20}
    )


@pytest.fixture
def ds(frame) -> df.Dataset:
    return df.load(frame)


def _keep(ds) -> np.ndarray:
    return df.select.select(ds, "random", 7, seed=3)


def test_ids_indices_and_frame(ds):
    keep = _keep(ds)
    ids = to_ids(ds, keep)
    assert ids.tolist() == [f"ex-{i}" for i in keep]
    assert to_indices(keep) == sorted(keep.tolist()) and all(type(i) is int for i in to_indices(keep))
    assert to_indices(keep, sort=False) == keep.tolist()
    sel = selection_frame(ds, keep)
    assert sel.columns.tolist() == ["id", "index", "rank"] and sel["rank"].tolist() == list(range(7))
    assert sel["id"].tolist() == ids.tolist()


def test_bad_selections_are_named(ds):
    with pytest.raises(DataError, match="40 rows"):
        to_ids(ds, [0, 40])
    with pytest.raises(DataError, match="negative"):
        to_indices([-1, 2])
    with pytest.raises(DataError, match="duplicated"):
        to_indices([1, 1])
    with pytest.raises(DataError, match="boolean mask"):
        to_indices(np.ones(3, dtype=bool))
    with pytest.raises(DataError, match="integer row indices"):
        to_indices([0.5])
    with pytest.raises(DataError, match="datafactors.Dataset"):
        to_ids(np.zeros((3, 2)), [0])
    with pytest.raises(DataError, match="'expression' or 'dnf'"):
        parquet_filter(["a"], form="sql")


def test_hugging_face_select_by_index_and_by_id(frame, tmp_path):
    datasets = pytest.importorskip("datasets", reason="Hugging Face datasets is not installed")
    datasets.Dataset.from_pandas(frame, preserve_index=False).save_to_disk(str(tmp_path / "hf"))
    hf = datasets.load_from_disk(str(tmp_path / "hf"))
    ds = df.load(hf)
    keep = _keep(ds)
    small = select_hf(hf, keep)
    assert sorted(small["id"]) == sorted(to_ids(ds, keep).tolist())
    shuffled = hf.shuffle(seed=1)  # row order differs: export by id
    by_id = select_hf(shuffled, ids=to_ids(ds, keep), id_column="id")
    assert sorted(by_id["id"]) == sorted(to_ids(ds, keep).tolist())
    with pytest.raises(DataError, match="exactly one"):
        select_hf(hf)
    with pytest.raises(DataError, match="no column 'key'"):
        select_hf(hf, ids=["ex-1"], id_column="key")
    with pytest.raises(DataError, match="'nope' is not in column"):
        select_hf(hf, ids=["nope"], id_column="id")


def test_torch_subset_keeps_pick_order(ds):
    torch = pytest.importorskip("torch")
    tds = torch.utils.data.TensorDataset(torch.from_numpy(ds.X), torch.from_numpy(ds.y))
    keep = _keep(ds)
    sub = to_torch_subset(tds, keep)
    assert isinstance(sub, torch.utils.data.Subset) and len(sub) == 7
    x0, y0 = sub[0]
    assert np.allclose(x0.numpy(), ds.X[keep[0]]) and int(y0) == ds.y[keep[0]]
    with pytest.raises(DataError, match="40 rows"):
        to_torch_subset(tds, [99])


def test_parquet_filter_expression_and_dnf(frame, ds, tmp_path):
    path = tmp_path / "data.parquet"
    frame.to_parquet(path)
    ids = to_ids(ds, _keep(ds))
    want = sorted(ids.tolist())
    assert sorted(pq.read_table(path, filters=parquet_filter(ids)).column("id").to_pylist()) == want
    assert sorted(pads.dataset(path).to_table(filter=parquet_filter(ids)).column("id").to_pylist()) == want
    assert sorted(pd.read_parquet(path, filters=parquet_filter(ids, form="dnf"))["id"]) == want


def test_integer_ids_keep_their_type(tmp_path):
    table = pa.table({"key": pa.array(range(10), pa.int64()), "x": np.arange(10.0), "label": [0, 1] * 5})
    pq.write_table(table, tmp_path / "d.parquet")
    ds = df.load(table.to_pandas(), id_col="key")
    ids = to_ids(ds, np.array([8, 2]))
    got = pq.read_table(tmp_path / "d.parquet", filters=parquet_filter(ids, column="key")).column("key").to_pylist()
    assert sorted(got) == [2, 8]
    assert duckdb_filter(ids, column="key") == '"key" IN (8, 2)'


def test_duckdb_filter_runs_and_escapes(frame, ds, tmp_path):
    path = tmp_path / "data.parquet"
    frame.assign(id=frame["id"].where(frame.index != 3, "o'brien")).to_parquet(path)
    ids = [*to_ids(ds, _keep(ds)).tolist(), "o'brien"]
    rows = duckdb.sql(f"SELECT id FROM read_parquet('{path}') WHERE {duckdb_filter(ids)}").fetchall()
    assert sorted(r[0] for r in rows) == sorted(set(ids) - {"ex-3"})
    assert duckdb_filter([]) == "FALSE"
