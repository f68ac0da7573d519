"""Dataset validation, subset and id joins."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import datafactors as df


def test_from_arrays_maps_labels_and_keeps_names():
    ds = df.Dataset.from_arrays([[1.0], [2.0], [3.0]], ["cat", "dog", "cat"], ids=["a", "b", "c"])
    assert ds.y.tolist() == [0, 1, 0]
    assert ds.class_names == ["cat", "dog"]
    assert ds.X.dtype == np.float32 and ds.n_classes == 2


@pytest.mark.parametrize(
    "X, y, kw, msg",
    [
        (np.zeros((0, 2)), [], {}, "empty"),
        ([[1.0], [np.nan]], [0, 1], {}, "NaN first at row 1"),
        ([[1.0], [np.inf]], [0, 1], {}, "inf first at row 1"),
        ([["a"], ["b"]], [0, 1], {}, "numeric"),
        ([[1.0], [2.0]], [0, 0], {}, "1 class"),
        ([[1.0], [2.0]], [0, 1, 1], {}, "labels must have shape"),
        ([[1.0], [2.0]], [0.5, 1], {}, "non-integer"),
        ([[1.0], [2.0]], [0, 1], {"ids": ["a", "a"]}, "duplicated: a"),
        ([[1.0], [2.0]], [0, 1], {"groups": [1]}, "groups"),
        (np.zeros((2, 2, 2)), [0, 1], {}, "2-D"),
    ],
)
def test_bad_input(X, y, kw, msg):
    with pytest.raises(df.DataError, match=msg):
        df.Dataset.from_arrays(X, y, **kw)


def test_subset_keeps_ids_groups_extra():
    ds = df.Dataset.from_arrays(
        np.arange(8.0)[:, None],
        [0, 1] * 4,
        ids=list("abcdefgh"),
        groups=list(range(8)),
        extra=pd.DataFrame({"text": list("ABCDEFGH")}),
    )
    sub = ds.subset([5, 1])
    assert sub.ids.tolist() == ["f", "b"]
    assert sub.groups.tolist() == [5, 1]
    assert sub.extra["text"].tolist() == ["F", "B"]
    assert sub.class_names == ds.class_names
    assert ds.subset(np.array([True] + [False] * 7)).ids.tolist() == ["a"]
    with pytest.raises(df.DataError, match="indices"):
        ds.subset([8])


@settings(max_examples=50, deadline=None)
@given(n=st.integers(2, 50), data=st.data())
def test_property_subset_then_index_of_roundtrips(n, data):
    ids = [f"id{i}" for i in data.draw(st.permutations(list(range(n))))]
    y = [i % 2 for i in range(n)]
    ds = df.Dataset.from_arrays(np.arange(n, dtype=float)[:, None], y, ids=ids)
    idx = data.draw(st.lists(st.integers(0, n - 1), unique=True, min_size=1))
    sub = ds.subset(idx)
    assert ds.index_of(sub.ids).tolist() == idx
    np.testing.assert_array_equal(sub.X[:, 0], ds.X[idx, 0])
    sub2 = sub.subset(np.arange(len(idx))[::-1])
    assert ds.index_of(sub2.ids).tolist() == idx[::-1]


def test_load_builtins_split():
    train, test, ood = df.load("mnist1d", split=True)
    assert (train.n, test.n, ood.n) == (4000, 1000, 1000)
    assert train.n_features == 40 and train.n_classes == 10
    assert not set(train.ids) & set(test.ids)
    # generation is deterministic and does not disturb global random state
    np.random.seed(123)
    before = np.random.random()
    np.random.seed(123)
    again = df.load("mnist1d")
    assert np.random.random() == before
    np.testing.assert_array_equal(again.X, train.X)


def test_load_unknown_name():
    with pytest.raises(df.DataError, match="unknown dataset 'mnist2d'"):
        df.load("mnist2d")


def test_loader_records_the_columns_it_used_and_left_out(tmp_path):
    from datafactors.experiment.commands import columns_note

    p = tmp_path / "t.csv"
    pd.DataFrame(
        {
            "id": [0, 1, 2, 3],
            "url": ["http://a/0", "http://a/1", "http://a/2", "http://a/3"],  # id-like text
            "x0": [0.0, 1.0, 2.0, 3.0],
            "text": ["good", "bad", "fine", "poor"],
            "x1": [1.0, 0.0, 1.0, 0.0],
            "label": [0, 1, 0, 1],
        }
    ).to_csv(p, index=False)
    ds = df.load(p)
    assert ds.feature_columns == ("x0", "x1")
    assert ds.left_out_columns == ("url", "text")
    sub = ds.subset([1, 2])
    assert (sub.feature_columns, sub.left_out_columns) == (("x0", "x1"), ("url", "text"))
    assert columns_note(ds) == "features: 2 columns (x0, x1); left out: url, text"
    wide = df.Dataset.from_arrays(
        np.zeros((2, 40)), [0, 1], feature_columns=[f"x{j}" for j in range(40)], left_out_columns=["text", "url"]
    )
    assert columns_note(wide) == "features: 40 columns (x0..x39); left out: text, url"
    # nothing left out, or arrays without columns: no note
    assert columns_note(df.Dataset.from_arrays(np.zeros((2, 1)), [0, 1])) is None
    assert columns_note(df.load(tmp_path.joinpath("t.csv"), features=["x0"])) is not None


def test_cli_prints_one_dim_note_on_the_columns_left_out(tmp_path):
    from tests.integration.dfcli_helpers import run_cli

    p = tmp_path / "t.csv"
    rows = [f"{i},http://a/{i},{i % 3}.5,word{i},{i % 2}" for i in range(12)]
    p.write_text("id,url,x0,text,label\n" + "\n".join(rows) + "\n")
    proc = run_cli("select", p, "--strategy", "random", "--budget", "4", "--out", tmp_path / "k.parquet")
    assert proc.returncode == 0, proc.stderr
    notes = [line for line in proc.stderr.splitlines() if line.startswith("features:")]
    assert notes == ["features: 1 column (x0); left out: url, text"]


def test_unlabeled_pool_has_no_classes():
    ds = df.Dataset.from_arrays([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], ids=["a", "b", "c"], name="pool")
    assert ds.y is None and not ds.has_labels and ds.n_classes == 0 and ds.class_names == []
    assert ds.class_counts().tolist() == []
    assert list(ds.to_pandas().columns) == ["id", "x0", "x1"]
    sub = ds.subset([2, 0])
    assert sub.y is None and sub.ids.tolist() == ["c", "a"] and sub.X[:, 0].tolist() == [4.0, 0.0]
    assert "n_classes=0" in repr(ds)
    labeled = df.Dataset.from_arrays(ds.X, [1, 0, 1])
    assert labeled.has_labels and labeled.require_labels("training") is None


def test_require_labels_names_the_operator_and_the_options():
    ds = df.Dataset.from_arrays(np.zeros((3, 1)), name="pool.parquet")
    with pytest.raises(df.DataError) as e:
        ds.require_labels("score 'el2n'")
    assert str(e.value) == (
        "score 'el2n' needs labels, and pool.parquet has none: name the label column "
        "(--label COL on the command line, label= in Python, label: in a run config)"
    )
    with pytest.raises(df.DataError, match="class_names given but"):
        df.Dataset.from_arrays(np.zeros((3, 1)), class_names=["a", "b"])


def test_text_column_and_embedding_survive_subset():
    extra = pd.DataFrame({"body": ["first", None, "third"], "n": [1, 2, 3]})
    meta = {"encoder": "toy", "n_encoded": 3}
    ds = df.Dataset.from_arrays(np.eye(3), [0, 1, 0], extra=extra, text_column="body", embedding=meta, name="t")
    assert ds.texts() == ["first", "", "third"]
    meta["n_encoded"] = 99  # the dataset holds its own copy
    sub = ds.subset([2, 1])
    assert sub.text_column == "body" and sub.texts() == ["third", ""]
    assert sub.embedding == {"encoder": "toy", "n_encoded": 3}
    plain = df.Dataset.from_arrays(np.eye(3), [0, 1, 0], extra=extra, name="t")
    with pytest.raises(df.DataError) as e:
        plain.texts("minhash_dedup")
    assert str(e.value) == (
        "minhash_dedup reads raw text, and t has no text column: pass --text COL (text= in Python, text: in a run config)"
    )
    with pytest.raises(df.DataError, match="text_column 'title' in t is not a column of extra"):
        df.Dataset.from_arrays(np.eye(3), extra=extra, text_column="title", name="t")


def test_example_shape_is_validated_kept_by_subset_and_defaults_to_none():
    import dataclasses

    X = np.arange(4 * 12, dtype=float).reshape(4, 12)
    assert df.Dataset.from_arrays(X, [0, 1, 0, 1]).example_shape is None
    ds = df.Dataset.from_arrays(X, [0, 1, 0, 1], example_shape=[3, 4], name="px")
    assert ds.example_shape == (3, 4) and isinstance(ds.example_shape, tuple)
    assert ds.subset([2, 0]).example_shape == (3, 4)
    np.testing.assert_array_equal(ds.X[1].reshape(ds.example_shape), X[1].reshape(3, 4))
    for shape in [(12,), (2, 2, 3), (2, 6, 1), (np.int64(3), np.int64(4))]:
        assert df.Dataset.from_arrays(X, example_shape=shape).example_shape == tuple(int(v) for v in shape)
    assert dataclasses.replace(ds, example_shape=(12,)).example_shape == (12,)
    with pytest.raises(df.DataError, match=r"example_shape \(5,\) holds 5 values, but px has 12 features"):
        dataclasses.replace(ds, example_shape=(5,))


@pytest.mark.parametrize(
    "shape, msg",
    [
        ((3, 5), r"example_shape \(3, 5\) holds 15 values, but px has 12 features"),
        ((1, 1, 3, 4), r"has 4 dimensions; expected \(length,\), \(height, width\) or \(height, width, channels\)"),
        ((), r"has 0 dimensions"),
        ((0, 12), r"\(0, 12\) must hold positive sizes"),
        ((-3, -4), r"must hold positive sizes"),
        ((1, 3, 4), r"has 4 channels; expected 1 \(grey\) or 3 \(RGB\)"),
        ((3.0, 4), r"must hold ints, got \(3\.0, 4\)"),
        ((True, 12), r"must hold ints"),
        ("34", r"must be a sequence of 1 to 3 ints"),
        (12, r"must be a sequence of 1 to 3 ints such as \(28, 28\), got 12"),
    ],
)
def test_bad_example_shape_names_the_shape(shape, msg):
    X = np.zeros((2, 12))
    with pytest.raises(df.DataError, match=msg):
        df.Dataset.from_arrays(X, [0, 1], example_shape=shape, name="px")
