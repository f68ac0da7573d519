"""export_rows / export_shards: the kept rows with their original columns, written atomically."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors._errors import ConfigError, DataError
from datafactors.select.export import export_frame, export_rows, export_shards


@pytest.fixture
def csv_ds(tmp_path):
    frame = pd.DataFrame(
        {
            "x1": [0.1, 1.5, 2.25, 3.0, 4.75],
            "n": [1, 2, 3, 4, 5],
            "note": ["a", "b", "c", "d", "e"],
            "label": ["cat", "dog", "cat", "dog", "cat"],
        }
    )
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return df.load(str(path)), frame


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_formats_keep_every_column_and_value(csv_ds, tmp_path, suffix):
    ds, frame = csv_ds
    out = export_rows(ds, np.array([3, 0, 4]), tmp_path / f"kept{suffix}")
    back = {".csv": pd.read_csv, ".parquet": pd.read_parquet}.get(suffix, lambda p: pd.read_json(p, lines=True))(out)
    assert set(back.columns) == {"id", "x1", "n", "note", "label"}
    # input order by default; row numbers are the ids of a file without an id column
    assert back["id"].tolist() == [0, 3, 4]
    assert back["x1"].tolist() == [0.1, 3.0, 4.75]
    assert back["n"].tolist() == [1, 4, 5]
    assert back["note"].tolist() == ["a", "d", "e"]
    assert back["label"].tolist() == ["cat", "dog", "cat"]


def test_order_pick_keeps_the_selectors_order(csv_ds, tmp_path):
    ds, _ = csv_ds
    out = export_rows(ds, np.array([3, 0, 4]), tmp_path / "kept.jsonl", order="pick")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [3, 0, 4]
    assert [r["note"] for r in rows] == ["d", "a", "e"]


def test_with_scores_joins_by_id(csv_ds, tmp_path):
    ds, _ = csv_ds
    scores = pd.DataFrame({"id": ["4", "3", "2", "1", "0"], "el2n": [0.4, 0.3, 0.2, 0.1, 0.0]})
    frame = export_frame(ds, np.array([1, 4]), scores=scores)
    assert frame["id"].tolist() == [1, 4]
    assert frame["el2n"].tolist() == [0.1, 0.4]


def test_with_scores_missing_ids_and_clashes_are_errors(csv_ds):
    ds, _ = csv_ds
    with pytest.raises(DataError, match="lacks 1 of the kept ids"):
        export_frame(ds, np.array([1, 4]), scores=pd.DataFrame({"id": ["1"], "s": [0.0]}))
    with pytest.raises(DataError, match="'note' is also a column"):
        export_frame(ds, np.array([1]), scores=pd.DataFrame({"id": ["1"], "note": [0.0]}))


def test_bad_order_and_extension(csv_ds, tmp_path):
    ds, _ = csv_ds
    with pytest.raises(ConfigError, match="--order 'random'"):
        export_frame(ds, np.array([1]), order="random")
    with pytest.raises(DataError, match=r"unknown extension '\.xlsx'"):
        export_rows(ds, np.array([1]), tmp_path / "kept.xlsx")
    assert not (tmp_path / "kept.xlsx").exists()


def test_failed_write_leaves_the_old_file(csv_ds, tmp_path):
    ds, _ = csv_ds
    out = tmp_path / "kept.parquet"
    out.write_bytes(b"old content")
    # a list of dicts with clashing types cannot be stored as Parquet
    bad = ds.extra.assign(note=[{"a": 1}, "x", 3, None, [1]])
    broken = df.Dataset.from_arrays(ds.X, ds.y, extra=bad, feature_columns=ds.feature_columns)
    with pytest.raises(DataError, match="cannot write --export"):
        export_rows(broken, np.array([0, 1, 2]), out)
    assert out.read_bytes() == b"old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "kept.parquet"]  # no temp file left
    export_rows(ds, np.array([0, 1]), out)
    assert pd.read_parquet(out)["id"].tolist() == [0, 1]


def test_shards_one_output_shard_per_input_shard(csv_ds, tmp_path):
    ds, _ = csv_ds
    out = export_shards(ds, np.array([4, 0, 1]), tmp_path / "kept", [("a/part-0.jsonl", 2), ("part-1.jsonl", 3)])
    a = [json.loads(s) for s in (out / "a" / "part-0.jsonl").read_text().splitlines()]
    b = [json.loads(s) for s in (out / "part-1.jsonl").read_text().splitlines()]
    assert [r["id"] for r in a] == [0, 1]
    assert [r["id"] for r in b] == [4]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    with pytest.raises(DataError, match="shards hold 4 rows but the data has 5"):
        export_shards(ds, np.array([0]), tmp_path / "k2", [("p.jsonl", 4)])


def test_arrays_export_their_features_and_an_unlabeled_pool_has_no_label():
    X = np.array([[0.5, 1.0], [1.5, 2.0], [2.5, 3.0]], dtype=np.float32)
    frame = export_frame(df.Dataset.from_arrays(X), np.array([2, 1]))
    assert frame.to_dict("list") == {"id": [1, 2], "x0": [1.5, 2.5], "x1": [2, 3]}
    labeled = export_frame(df.Dataset.from_arrays(X, ["u", "v", "u"], groups=[7, 8, 9]), np.array([0]))
    assert labeled.to_dict("list") == {"id": [0], "x0": [0.5], "x1": [1], "label": ["u"], "group": [7]}


def test_export_keeps_the_files_own_label_column_name(tmp_path):
    """A label found as ``target`` (no --label given) is written back as ``target``, not ``label``."""
    p = tmp_path / "t.csv"
    pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "target": ["a", "b", "a", "b"]}).to_csv(p, index=False)
    ds = df.load(str(p))
    assert ds.label_column == "target" and ds.subset([1, 2]).label_column == "target"
    out = export_frame(ds, np.array([3, 0]))
    assert out.to_dict("list") == {"id": [0, 3], "x": [0.0, 3.0], "target": ["a", "b"]}
