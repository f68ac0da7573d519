"""df.load on real polars frames and Hugging Face ``datasets.Dataset`` objects loaded from disk."""

from __future__ import annotations

import numpy as np
import pytest

import datafactors as df
from datafactors import DataError

pl = pytest.importorskip("polars", reason="polars is not installed (pip install polars)")

N = 24


def _arrays():
    rng = np.random.default_rng(0)
    return rng.normal(size=(N, 3)).astype(np.float32), np.arange(N) % 3


def test_polars_frame_columns_lists_and_extra():
    X, y = _arrays()
    frame = pl.DataFrame(
        {
            "id": [f"r{i}" for i in range(N)],
            "a": X[:, 0],
            "emb": [row.tolist() for row in X[:, 1:]],
            "text": [f"doc {i}" for i in range(N)],
            "target": y,
        }
    )
    ds = df.load(frame, label="target")
    assert ds.X.shape == (N, 3) and np.allclose(ds.X, X)
    assert ds.y.tolist() == y.tolist() and ds.ids[:2].tolist() == ["r0", "r1"]
    assert ds.extra is not None and ds.extra["text"].iloc[5] == "doc 5"


def test_polars_lazy_frame_and_string_labels():
    X, y = _arrays()
    names = np.array(["cat", "dog", "eel"])[y]
    lazy = pl.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "label": names}).lazy()
    ds = df.load(lazy)
    assert ds.X.shape == (N, 2) and ds.class_names == ["cat", "dog", "eel"]
    assert [ds.class_names[k] for k in ds.y] == names.tolist()


def test_polars_categorical_label_and_group():
    X, y = _arrays()
    frame = pl.DataFrame(
        {"x": X[:, 0], "label": [str(v) for v in y], "group": ["web", "news"] * (N // 2)},
        schema_overrides={"label": pl.Categorical},
    )
    ds = df.load(frame)
    assert ds.class_names == ["0", "1", "2"] and set(ds.groups.tolist()) == {"web", "news"}


def test_polars_errors_name_the_column():
    frame = pl.DataFrame({"x": [1.0, float("nan"), 2.0, 3.0], "label": [0, 1, 0, 1]})
    with pytest.raises(DataError, match="'x'"):
        df.load(frame)
    pool = df.load(pl.DataFrame({"x": [1.0, 2.0]}))  # no label column: an unlabeled pool
    assert pool.y is None and pool.n_classes == 0 and pool.n == 2
    with pytest.raises(DataError, match="'category'"):
        df.load(pl.DataFrame({"x": [1.0, 2.0]}), label="category")


@pytest.fixture
def hf_on_disk(tmp_path):
    datasets = pytest.importorskip("datasets", reason="Hugging Face datasets is not installed (pip install datasets)")
    datasets.disable_progress_bars()
    X, y = _arrays()
    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "pixels": datasets.Sequence(datasets.Value("float32")),
            "caption": datasets.Value("string"),
            "label": datasets.ClassLabel(names=["cat", "dog", "eel"]),
        }
    )
    hf = datasets.Dataset.from_dict(
        {
            "id": [f"img-{i}" for i in range(N)],
            "pixels": [row.tolist() for row in X],
            "caption": [f"a photo {i}" for i in range(N)],
            "label": y.tolist(),
        },
        features=features,
    )
    path = tmp_path / "hf"
    hf.save_to_disk(str(path))
    return datasets, path


def test_hugging_face_load_from_disk(hf_on_disk):
    datasets, path = hf_on_disk
    X, y = _arrays()
    hf = datasets.load_from_disk(str(path))
    ds = df.load(hf)
    assert ds.X.shape == (N, 3) and np.allclose(ds.X, X)
    assert ds.class_names == ["cat", "dog", "eel"] and ds.y.tolist() == y.tolist()
    assert ds.ids[0] == "img-0" and ds.extra["caption"].iloc[3] == "a photo 3"
    # a selection made on ds indexes the same rows of hf
    keep = df.select.select(ds, "random", 5, seed=0)
    assert hf.select(keep.tolist())["id"] == ds.ids[keep].tolist()


def test_hugging_face_dataset_dict_and_unlabeled_rows(hf_on_disk):
    datasets, path = hf_on_disk
    hf = datasets.load_from_disk(str(path))
    with pytest.raises(DataError, match="several splits"):
        df.load(datasets.DatasetDict({"train": hf, "test": hf}))
    # Hugging Face marks an unlabeled row with -1 in a ClassLabel column
    unlabeled = hf.map(lambda row, i: {"label": -1 if i == 2 else row["label"]}, with_indices=True)
    assert unlabeled.features["label"].names == ["cat", "dog", "eel"]
    with pytest.raises(DataError, match="-1 marks an unlabeled example"):
        df.load(unlabeled)
