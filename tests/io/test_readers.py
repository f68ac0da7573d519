"""Readers: round trips per format, column rules, and one DataError per kind of bad input."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datafactors import DataError, Dataset
from datafactors.io.readers import from_table, read_path, write_table

TABLE_FORMATS = ["csv", "tsv", "parquet", "jsonl"]


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a1", "a2", "a3", "a4", "a5"],
            "label": ["cat", "dog", "cat", "dog", "cat"],
            "x1": [0.5, 1.5, -2.0, 3.25, 0.0],
            "x2": [1, 2, 3, 4, 5],
            "text": ["the cat", "a dog", "cat again", "dog two", "last cat"],
        }
    )


def assert_matches(ds: Dataset, frame: pd.DataFrame, name: str) -> None:
    np.testing.assert_allclose(ds.X, frame[["x1", "x2"]].to_numpy(np.float32))
    assert ds.X.dtype == np.float32
    assert [ds.class_names[i] for i in ds.y] == frame["label"].tolist()
    assert ds.ids.tolist() == frame["id"].tolist()
    assert ds.extra is not None and list(ds.extra.columns) == ["text"]
    assert ds.extra["text"].tolist() == frame["text"].tolist()
    assert ds.name == name


def raises(match: str, fn, *args, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    for part in match.split("|"):
        assert part in msg, f"{part!r} not in {msg!r}"
    return msg


# ----------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", TABLE_FORMATS)
def test_round_trip_each_format(tmp_path, frame, fmt):
    path = write_table(frame, tmp_path / f"data.{fmt}")
    assert path == tmp_path / f"data.{fmt}"
    assert_matches(read_path(path), frame, f"data.{fmt}")


def test_round_trip_npz(tmp_path, frame):
    p = tmp_path / "data.npz"
    np.savez(
        p,
        X=frame[["x1", "x2"]].to_numpy(),
        y=frame["label"].to_numpy(dtype=str),
        ids=frame["id"].to_numpy(dtype=str),
        text=frame["text"].to_numpy(dtype=str),
    )
    assert_matches(read_path(p), frame, "data.npz")


def test_npz_alternative_keys_groups_and_images(tmp_path):
    p = tmp_path / "imgs.npz"
    np.savez(
        p, features=np.arange(24, dtype=np.uint8).reshape(6, 2, 2), labels=[0, 1, 2, 0, 1, 2], groups=[1, 1, 2, 2, 3, 3]
    )
    ds = read_path(p)
    assert ds.X.shape == (6, 4) and ds.n_classes == 3
    assert ds.groups.tolist() == [1, 1, 2, 2, 3, 3]
    assert ds.ids.tolist() == list(range(6))


def test_gzip_csv_and_jsonl(tmp_path, frame):
    write_table(frame, tmp_path / "plain.csv")
    with open(tmp_path / "plain.csv", "rb") as src, gzip.open(tmp_path / "data.csv.gz", "wb") as dst:
        dst.write(src.read())
    assert_matches(read_path(tmp_path / "data.csv.gz"), frame, "data.csv.gz")
    write_table(frame, tmp_path / "plain.jsonl")
    with open(tmp_path / "plain.jsonl", "rb") as src, gzip.open(tmp_path / "data.jsonl.gz", "wb") as dst:
        dst.write(src.read())
    assert_matches(read_path(tmp_path / "data.jsonl.gz"), frame, "data.jsonl.gz")


def test_parquet_folder_of_shards_with_hive_partitions(tmp_path, frame):
    folder = tmp_path / "shards"
    (folder / "group=1").mkdir(parents=True)
    (folder / "group=2").mkdir()
    write_table(frame.iloc[:3], folder / "group=1" / "part-0.parquet")
    write_table(frame.iloc[3:], folder / "group=2" / "part-0.parquet")
    (folder / "_SUCCESS").write_text("")
    ds = read_path(folder)
    assert_matches(ds, frame, "shards")
    assert ds.groups.tolist() == ["1", "1", "1", "2", "2"]


def test_ndjson_extension(tmp_path, frame):
    p = tmp_path / "data.ndjson"
    p.write_text(frame.to_json(orient="records", lines=True))
    assert_matches(read_path(p), frame, "data.ndjson")


# ----------------------------------------------------------------- column rules


@pytest.mark.parametrize("label_name", ["y", "target", "Label"])
def test_label_defaults(tmp_path, label_name):
    p = write_table(pd.DataFrame({"f": [1.0, 2.0, 3.0], label_name: [0, 1, 0]}), tmp_path / "d.parquet")
    ds = read_path(p)
    assert ds.y.tolist() == [0, 1, 0] and ds.X.shape == (3, 1)
    assert ds.extra is None


def test_label_option_and_default_ids(tmp_path, frame):
    p = write_table(frame.drop(columns=["id"]).rename(columns={"label": "species"}), tmp_path / "d.csv")
    ds = read_path(p, label="species")
    assert ds.class_names == ["cat", "dog"]
    assert ds.ids.tolist() == [0, 1, 2, 3, 4]


def test_id_and_group_options(tmp_path, frame):
    f = frame.rename(columns={"id": "uid"}).assign(site=["s1", "s1", "s2", "s2", "s3"])
    p = write_table(f, tmp_path / "d.parquet")
    ds = read_path(p, id_col="uid", group_col="site")
    assert ds.ids.tolist() == frame["id"].tolist()
    assert ds.groups.tolist() == ["s1", "s1", "s2", "s2", "s3"]
    assert list(ds.extra.columns) == ["text"]


def test_default_group_column_and_integer_ids(tmp_path):
    f = pd.DataFrame({"id": [10, 20, 30, 40], "group": [0, 0, 1, 1], "x": [1.0, 2, 3, 4], "label": [1, 0, 1, 0]})
    ds = read_path(write_table(f, tmp_path / "g.jsonl"))
    assert ds.ids.dtype == np.int64 and ds.ids.tolist() == [10, 20, 30, 40]
    assert ds.groups.tolist() == [0, 0, 1, 1]
    assert ds.X.shape == (4, 1)


def test_explicit_features_send_other_numeric_columns_to_extra(tmp_path, frame):
    ds = read_path(write_table(frame, tmp_path / "d.parquet"), features=["x2"])
    assert ds.X[:, 0].tolist() == [1, 2, 3, 4, 5]
    assert list(ds.extra.columns) == ["x1", "text"]


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_list_column_is_expanded(tmp_path, frame, fmt):
    emb = [[float(i), float(i) * 2, -1.0] for i in range(5)]
    p = write_table(frame.assign(embedding=emb), tmp_path / f"e.{fmt}")
    ds = read_path(p)
    assert ds.X.shape == (5, 5)
    np.testing.assert_allclose(ds.X[:, 2:], np.array(emb, dtype=np.float32))
    assert list(ds.extra.columns) == ["text"]


def test_list_of_strings_column_goes_to_extra(tmp_path, frame):
    ds = read_path(write_table(frame.assign(tags=[["a", "b"]] * 5), tmp_path / "t.parquet"))
    assert ds.X.shape == (5, 2)
    assert list(ds.extra.columns) == ["text", "tags"]


def test_pyarrow_table_with_fixed_size_list():
    emb = pa.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], pa.list_(pa.float32(), 2))
    table = pa.table({"emb": emb, "label": ["a", "b", "a"], "note": ["x", "y", "z"]})
    ds = from_table(table, name="arrow")
    assert ds.name == "arrow" and ds.X.tolist() == [[1, 2], [3, 4], [5, 6]]
    assert ds.class_names == ["a", "b"] and ds.extra["note"].tolist() == ["x", "y", "z"]


def test_pandas_input_with_named_index_and_bool_feature(frame):
    f = frame.set_index("id").assign(flag=[True, False, True, False, True])
    ds = from_table(f)
    assert ds.ids.tolist() == frame["id"].tolist()
    assert ds.X.shape == (5, 3) and ds.X[:, 2].tolist() == [1, 0, 1, 0, 1]
    assert ds.name == "table"


def test_duck_typed_polars_like_and_hugging_face_like(frame):
    class FakePolars:
        def __init__(self, f):
            self._f = f

        def to_pandas(self):
            return self._f

    # polars is not installed here, so the reader must fall back to duck typing.
    FakePolars.__module__ = "polars.dataframe.frame"
    assert from_table(FakePolars(frame)).n == 5

    class ClassLabel:
        names = ["neg", "pos"]

    class FakeHF:
        column_names = ["x", "label"]
        features = {"x": object(), "label": ClassLabel()}

        def to_pandas(self):
            return pd.DataFrame({"x": [0.0, 1.0, 2.0], "label": [1, 1, 0]})

    ds = from_table(FakeHF(), name="hf")
    assert ds.class_names == ["neg", "pos"] and ds.y.tolist() == [1, 1, 0]


def test_write_table_is_atomic_and_overwrites(tmp_path, frame):
    p = tmp_path / "out.parquet"
    write_table(frame, p)
    write_table(frame.iloc[:2], p)
    assert len(pd.read_parquet(p)) == 2
    assert sorted(os.listdir(tmp_path)) == ["out.parquet"]


# ----------------------------------------------------------------- bad input


def test_missing_file_and_missing_folder(tmp_path):
    raises("file not found|nope.csv", read_path, tmp_path / "nope.csv")
    write_table(pd.DataFrame({"a": [1]}), tmp_path / "train.csv")
    raises("did you mean 'train.csv'", read_path, tmp_path / "trian.csv")
    raises("file not found|does not exist", read_path, tmp_path / "no_dir" / "x.csv")


def test_unknown_extension(tmp_path):
    p = tmp_path / "data.xlsx"
    p.write_bytes(b"PK")
    raises("data.xlsx|'.xlsx'|.parquet|.npz", read_path, p)
    p = tmp_path / "data.parquet.gz"
    p.write_bytes(b"x")
    raises("'.parquet.gz'", read_path, p)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl", "npz"])
def test_empty_file(tmp_path, fmt):
    p = tmp_path / f"empty.{fmt}"
    p.write_bytes(b"")
    raises(f"file is empty|empty.{fmt}", read_path, p)


def test_zero_rows(tmp_path):
    p = tmp_path / "header.csv"
    p.write_text("id,label,x\n")
    raises("header.csv has no rows|'label'", read_path, p)
    q = write_table(
        pd.DataFrame({"label": pd.Series([], dtype="int64"), "x": pd.Series([], dtype="float64")}),
        tmp_path / "z.parquet",
    )
    raises("z.parquet has no rows", read_path, q)
    r = tmp_path / "blank.jsonl"
    r.write_text("\n\n  \n")
    raises("file is empty|blank.jsonl|no JSON lines", read_path, r)


def test_corrupt_parquet(tmp_path):
    p = tmp_path / "junk.parquet"
    p.write_bytes(np.random.default_rng(0).bytes(300))
    raises("junk.parquet|not a valid Parquet file", read_path, p)


def test_corrupt_shard_in_folder_is_named(tmp_path, frame):
    folder = tmp_path / "parts"
    folder.mkdir()
    write_table(frame, folder / "part-0.parquet")
    (folder / "part-1.parquet").write_bytes(b"not parquet at all")
    raises("part-1.parquet|not a valid Parquet file", read_path, folder)


def test_folder_without_parquet(tmp_path):
    folder = tmp_path / "stuff"
    folder.mkdir()
    (folder / "notes.txt").write_text("hi")
    raises("no .parquet, .jsonl|notes.txt", read_path, folder)


def test_shards_with_incompatible_schemas(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    pq.write_table(pa.table({"x": [1.0], "label": [0]}), folder / "a.parquet")
    pq.write_table(pa.table({"x": [[1.0]], "label": [1]}), folder / "b.parquet")
    raises("cannot combine|mixed|schema", read_path, folder)


def test_truncated_and_pickled_npz(tmp_path):
    good = tmp_path / "good.npz"
    np.savez(good, X=np.ones((50, 3)), y=np.arange(50) % 2)
    bad = tmp_path / "trunc.npz"
    bad.write_bytes(good.read_bytes()[:200])
    raises("trunc.npz|not a valid .npz", read_path, bad)
    pick = tmp_path / "pick.npz"
    np.savez(pick, X=np.ones((2, 1)), y=np.array(["a", 1], dtype=object))
    raises("'y'|pick.npz|dtype=object", read_path, pick)


def test_npz_missing_and_misshaped_arrays(tmp_path):
    p = tmp_path / "nolab.npz"
    np.savez(p, X=np.ones((4, 2)), other=np.zeros(4))
    pool = read_path(p)  # no label array: an unlabeled pool
    assert pool.y is None and pool.n == 4 and pool.n_features == 2
    raises("nolab.npz|'lbl'", read_path, p, label="lbl")
    q = tmp_path / "onehot.npz"
    np.savez(q, X=np.ones((4, 2)), y=np.eye(2)[[0, 1, 0, 1]])
    raises("'y'|onehot.npz|one-hot", read_path, q)
    r = tmp_path / "short.npz"
    np.savez(r, X=np.ones((4, 2)), y=[0, 1, 0])
    raises("'y'|short.npz|(4,)", read_path, r)
    s = tmp_path / "nan.npz"
    np.savez(s, X=np.ones((3, 1)), y=[0.0, np.nan, 1.0])
    raises("'y'|nan.npz|missing|row 1", read_path, s)
    t = tmp_path / "nanx.npz"
    np.savez(t, X=np.array([[1.0], [np.nan], [2.0]]), y=[0, 1, 0])
    raises("features in nanx.npz|NaN|row 1", read_path, t)


def test_npz_explicit_arrays(tmp_path):
    p = tmp_path / "named.npz"
    np.savez(p, a=np.ones((3, 2)), b=np.zeros(3), cls=["x", "y", "x"], key=[7, 8, 9], note=["p", "q", "r"])
    ds = read_path(p, label="cls", id_col="key", features=["a", "b"])
    assert ds.X.shape == (3, 3) and ds.ids.tolist() == [7, 8, 9] and ds.class_names == ["x", "y"]
    assert ds.extra["note"].tolist() == ["p", "q", "r"]
    raises("feature array 'c' not found in named.npz", read_path, p, label="cls", features=["a", "c"])


def test_invalid_json_line_names_line_number(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"label": 0, "x": 1}\n{"label": 1, "x": 2}\n{"label": 1, "x": }\n')
    raises("line 3|bad.jsonl|invalid JSON", read_path, p)
    q = tmp_path / "arr.jsonl"
    q.write_text('{"label": 0, "x": 1}\n[1, 2]\n')
    raises("line 2|arr.jsonl|expected an object", read_path, q)


def test_csv_parse_error_and_non_utf8(tmp_path):
    p = tmp_path / "ragged.csv"
    p.write_text("label,x\n0,1\n1,2,3\n")
    raises("ragged.csv|line 3", read_path, p)
    q = tmp_path / "latin.csv"
    q.write_bytes("label,x,city\n0,1,Z\xfcrich\n1,2,Bern\n".encode("latin-1"))
    raises("latin.csv|UTF-8", read_path, q)


def test_label_column_missing(tmp_path, frame):
    p = write_table(frame.drop(columns=["label"]), tmp_path / "nolabel.csv")
    pool = read_path(p)  # no label column: an unlabeled pool of the same rows
    assert pool.y is None and pool.n == len(frame) and pool.n_classes == 0
    raises(
        "label column 'lable' not found in d.csv|did you mean 'label'",
        read_path,
        write_table(frame, tmp_path / "d.csv"),
        label="lable",
    )


def test_option_column_missing(tmp_path, frame):
    p = write_table(frame, tmp_path / "d.parquet")
    raises("id column 'uid' not found|d.parquet|did you mean 'id'", read_path, p, id_col="uid")
    raises("group column 'site' not found|d.parquet", read_path, p, group_col="site")
    raises("feature column 'x3' not found|d.parquet", read_path, p, features=["x1", "x3"])
    raises("label and id_col both name column 'id'", read_path, p, label="id", id_col="id")
    raises("features=[...] includes column 'label'", read_path, p, features=["x1", "label"])


def test_nan_in_labels(tmp_path, frame):
    f = frame.astype({"label": object})
    f.loc[2, "label"] = None
    p = write_table(f, tmp_path / "nanlab.csv")
    raises("label column 'label'|nanlab.csv|missing|row 2, id 'a3'", read_path, p)


def test_nan_and_inf_in_features(tmp_path, frame):
    f = frame.copy()
    f.loc[3, "x1"] = np.nan
    raises("column 'x1'|nanfeat.parquet|NaN|row 3", read_path, write_table(f, tmp_path / "nanfeat.parquet"))
    g = frame.astype({"x2": float})
    g.loc[1, "x2"] = np.inf
    raises("column 'x2'|inffeat.parquet|inf|row 1", read_path, write_table(g, tmp_path / "inffeat.parquet"))


def test_duplicate_ids(tmp_path, frame):
    f = frame.copy()
    f.loc[4, "id"] = "a2"
    raises("id column 'id'|dups.csv|duplicated|'a2'|rows 1, 4", read_path, write_table(f, tmp_path / "dups.csv"))


def test_one_class_only(tmp_path, frame):
    p = write_table(frame.assign(label="cat"), tmp_path / "one.jsonl")
    raises("one.jsonl|only one class|'cat'", read_path, p)


def test_non_numeric_feature_columns(tmp_path, frame):
    p = write_table(frame.assign(color=["red", "blue", "red", "red", "blue"]), tmp_path / "data.csv")
    raises("column 'color' in data.csv is not numeric (e.g. 'red'", read_path, p, features=["x1", "color"])
    only_text = write_table(frame[["label", "text"]], tmp_path / "text.csv")
    raises(
        "no numeric feature columns in text.csv: 'text' (e.g. 'the cat' at row 0) is not numeric", read_path, only_text
    )
    # one typo among numbers: the column is not silently moved to extra
    f = frame.astype({"x1": object})
    f.loc[2, "x1"] = "oops"
    raises("column 'x1' in typo.csv is not numeric|'oops'|row 2", read_path, write_table(f, tmp_path / "typo.csv"))


def test_bad_list_columns(tmp_path, frame):
    p = write_table(frame.assign(emb=[[1.0, 2.0]] * 4 + [[1.0]]), tmp_path / "ragged.parquet")
    raises("column 'emb'|ragged.parquet|different lengths|row 4", read_path, p)
    q = write_table(frame.assign(emb=[[1.0, 2.0]] * 4 + [None]), tmp_path / "holes.jsonl")
    raises("column 'emb'|holes.jsonl|missing|row 4", read_path, q)


def test_non_integer_and_mixed_labels(tmp_path, frame):
    p = write_table(frame.assign(label=[0.5, 1.0, 2.0, 0.5, 1.0]), tmp_path / "reg.csv")
    raises("label column 'label'|reg.csv|non-integer|regression", read_path, p)
    q = tmp_path / "mixed.jsonl"
    q.write_text('{"x": 1, "label": "cat"}\n{"x": 2, "label": 3}\n')
    raises("label column 'label'|mixed.jsonl|mixes strings", read_path, q)


def test_from_table_bad_inputs(frame):
    raises("cannot read mine|int|expected a pandas.DataFrame", from_table, 42, name="mine")
    raises("pandas.Series", from_table, frame["x1"])
    raises("use read_path", from_table, "data.csv")
    dup = pd.concat([frame, frame[["x1"]]], axis=1)
    raises("not unique|duplicated: 'x1'", from_table, dup)

    class FakeDict:
        column_names = {"train": ["x"], "test": ["x"]}

    raises("several splits|'train'", from_table, FakeDict())

    class Broken:
        def to_pandas(self):
            raise RuntimeError("backend exploded")

    raises("cannot convert table|backend exploded", from_table, Broken())


def test_hugging_face_unlabeled_rows():
    class ClassLabel:
        names = ["neg", "pos"]

    class FakeHF:
        column_names = ["x", "label"]
        features = {"label": ClassLabel()}

        def to_pandas(self):
            return pd.DataFrame({"x": [0.0, 1.0, 2.0], "label": [1, -1, 0]})

    raises("holds -1 at row 1|unlabeled", from_table, FakeHF(), name="hf")


def test_write_table_errors(tmp_path, frame):
    raises("folder|does not exist", write_table, frame, tmp_path / "missing" / "x.parquet")
    raises("unknown extension '.xlsx'|.parquet", write_table, frame, tmp_path / "x.xlsx")
    raises("pandas.DataFrame", write_table, {"a": [1]}, tmp_path / "x.csv")
    if os.geteuid() != 0:  # root can write anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        try:
            raises("not writable|ro", write_table, frame, ro / "x.csv")
        finally:
            ro.chmod(0o755)


def test_errors_are_single_data_errors_without_library_chain(tmp_path):
    p = tmp_path / "junk.parquet"
    p.write_bytes(b"\x00" * 64)
    with pytest.raises(DataError) as info:
        read_path(p)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_path_is_str_or_pathlike(tmp_path, frame):
    write_table(frame, tmp_path / "d.csv")
    assert read_path(str(tmp_path / "d.csv")).n == 5
    raises("path must be a str", read_path, 12)
    assert isinstance(Path(tmp_path / "d.csv"), Path)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_unlabeled_pool_from_every_table_format(tmp_path, suffix):
    table = pd.DataFrame({"id": ["a", "b", "c"], "f1": [0.5, 1.5, 2.5], "f2": [1, 2, 3], "text": ["x", "y", "z"]})
    p = write_table(table, tmp_path / f"pool{suffix}")
    pool = read_path(p)
    assert pool.y is None and pool.n_classes == 0
    assert pool.ids.tolist() == ["a", "b", "c"] and pool.X[:, 0].tolist() == [0.5, 1.5, 2.5]
    assert pool.feature_columns == ("f1", "f2") and pool.left_out_columns == ("text",)
    raises(f"label column 'lbl' not found in pool{suffix}|'f1'|'text'", read_path, p, label="lbl")


def test_label_none_still_auto_detects_target(tmp_path):
    table = pd.DataFrame({"f": [0.0, 1.0, 2.0, 3.0], "Target": ["no", "yes", "no", "yes"]})
    ds = read_path(write_table(table, tmp_path / "t.csv"), label=None)
    assert ds.has_labels and ds.class_names == ["no", "yes"] and ds.y.tolist() == [0, 1, 0, 1]
    assert ds.feature_columns == ("f",)


def test_unlabeled_pool_keeps_the_utf8_error(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_bytes(b"f1,f2\n1,2\n3,\xff\xfe\n")
    raises("bad.csv|UTF-8", read_path, p)


def test_folder_of_jsonl_shards_reads_in_path_order(tmp_path):
    folder = tmp_path / "corpus"
    (folder / "b").mkdir(parents=True)
    (folder / "a.jsonl").write_text('{"x": 1.0, "label": "p"}\n\n{"x": 2.0, "label": "q"}\n')
    (folder / "b" / "c.jsonl").write_text('{"x": 3.0, "label": "p"}\n')
    (folder / "b" / "empty.jsonl").write_text("")  # an export writes empty shards; they read back
    (folder / "README.md").write_text("not data")
    from datafactors.io.readers import shard_files, shard_rows

    assert [q.relative_to(folder).as_posix() for q in shard_files(folder)] == ["a.jsonl", "b/c.jsonl", "b/empty.jsonl"]
    assert [shard_rows(q) for q in shard_files(folder)] == [2, 1, 0]
    ds = read_path(folder)
    assert ds.n == 3 and ds.X[:, 0].tolist() == [1.0, 2.0, 3.0] and ds.class_names == ["p", "q"]


def test_folder_mixing_shard_formats_is_refused(tmp_path, frame):
    folder = tmp_path / "mixed"
    folder.mkdir()
    write_table(frame, folder / "a.parquet")
    (folder / "b.jsonl").write_text('{"x": 1}\n')
    raises("mixes shard formats|parquet (a.parquet)|jsonl (b.jsonl)", read_path, folder)


def test_invalid_utf8_names_the_line(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_bytes(b"x,label\n1,a\n2,b\xff\xfe\n3,c\n")
    raises("bad.csv|not UTF-8|invalid byte 0xff on line 3|byte 4 of the line", read_path, p)
    q = tmp_path / "bad.jsonl"
    q.write_bytes(b'{"x": 1}\n{"x": 2, "t": "\xc3("}\n')
    raises("bad.jsonl|invalid byte 0xc3 on line 2", read_path, q)
