"""Relative representations: cosine to anchors by hand, invariance to rotations and scale, anchor choice."""

import numpy as np
import pytest

import datafactors as df
from datafactors.featurize.relative import (
    RelativeFeaturizer,
    choose_anchors,
    relative_dataset,
    relative_representation,
)


def test_cosine_to_anchors_by_hand():
    X = np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 0.0]])
    anchors = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, -1.0]])
    R = relative_representation(X, anchors)
    expected = np.array(
        [
            [3 / 5, 4 / 5, -7 / (5 * np.sqrt(2))],
            [1.0, 0.0, -1 / np.sqrt(2)],
            [0.0, 0.0, 0.0],  # a zero vector is similar to nothing
        ]
    )
    np.testing.assert_allclose(R, expected, atol=1e-12)
    # centring subtracts the same vector from both sides first
    c = np.array([1.0, 1.0])
    np.testing.assert_allclose(
        relative_representation(X, anchors, center=c), relative_representation(X - c, anchors - c), atol=1e-12
    )


def test_invariant_to_rotation_reflection_and_scale_of_the_embedding():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 5))
    Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))  # orthogonal: rotation or reflection
    base = relative_representation(X, X[:4])
    np.testing.assert_allclose(relative_representation(3.7 * X @ Q, 3.7 * X[:4] @ Q), base, atol=1e-10)
    # ... but not to a non-orthogonal map
    A = rng.normal(size=(5, 5))
    assert not np.allclose(relative_representation(X @ A, X[:4] @ A), base, atol=1e-3)


def test_choose_anchors_deterministic_distinct_and_stratified():
    a = choose_anchors(100, 10, seed=3)
    np.testing.assert_array_equal(a, choose_anchors(100, 10, seed=3))
    assert len(np.unique(a)) == 10 and not np.array_equal(a, choose_anchors(100, 10, seed=4))
    y = np.r_[np.zeros(90, int), np.ones(5, int), np.full(5, 2)]
    s = choose_anchors(100, 6, seed=0, y=y)
    assert np.bincount(y[s], minlength=3).tolist() == [2, 2, 2]  # even over classes, not 90/5/5
    s = choose_anchors(100, 20, seed=0, y=y)
    assert np.bincount(y[s], minlength=3).tolist() == [10, 5, 5]  # small classes exhausted first
    with pytest.raises(df.DataError, match="n_anchors"):
        choose_anchors(5, 6)


def test_featurizer_by_ids_and_by_seed():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
    ds = df.Dataset.from_arrays(X, [0, 1, 0, 1], ids=["a", "b", "c", "d"], groups=["g", "h", "g", "h"])
    f = RelativeFeaturizer(anchor_ids=["c", "b"]).fit(ds)
    assert f.anchor_ids_.tolist() == ["c", "b"]
    np.testing.assert_allclose(f.transform(X), relative_representation(X, X[[2, 1]]), atol=1e-7)
    out = relative_dataset(ds, f)
    assert out.X.shape == (4, 2) and out.X.dtype == np.float32
    assert out.ids.tolist() == ds.ids.tolist() and out.groups.tolist() == ["g", "h", "g", "h"]
    g = RelativeFeaturizer(n_anchors=2, seed=1).fit(ds)
    np.testing.assert_array_equal(g.transform(X), RelativeFeaturizer(n_anchors=2, seed=1).fit(ds).transform(X))
    assert sorted(ds.y[ds.index_of(g.anchor_ids_)].tolist()) == [0, 1]  # stratified by default


def test_errors():
    with pytest.raises(df.DataError, match="columns"):
        relative_representation(np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(df.DataError, match="NaN"):
        relative_representation(np.full((2, 2), np.nan), np.ones((2, 2)))
    with pytest.raises(df.DataError, match="not fitted"):
        RelativeFeaturizer().transform(np.ones((2, 2)))
    ds = df.Dataset.from_arrays(np.eye(2), [0, 1])
    with pytest.raises(df.DataError, match="not in dataset"):
        RelativeFeaturizer(anchor_ids=[7]).fit(ds)
