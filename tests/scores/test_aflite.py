"""AFLite: batched ensemble against scikit-learn, planted shortcuts removed first, bad input."""

import numpy as np
import pandas as pd
import pytest
import torch

import datafactors as df
from datafactors.scores import COLUMNS, compute
from datafactors.scores.aflite import _fit_ensemble, aflite, aflite_filter, aflite_filtered_indices


def _shortcut_toy(n=400, seed=0, d_noise=5):
    """Feature 5 equals the label (as +-1) on the first half, 0 on the second half."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    carrier = np.arange(n) < n // 2
    X = np.c_[rng.normal(size=(n, d_noise)), np.where(carrier, 2.0 * y - 1, 0.0)]
    return X, y, carrier


def _splits(N, n, m, seed):
    rng = np.random.default_rng(seed)
    idx = np.argpartition(rng.random((N, n)), m - 1, axis=0)[:m]
    train = np.zeros((N, n), dtype=np.float32)
    np.put_along_axis(train, idx, 1.0, axis=0)
    return train


@pytest.mark.parametrize("n_classes", [2, 3])
def test_batched_fit_matches_sklearn(n_classes):
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    N, d, n, m = 600, 8, 4, 200
    y = rng.integers(0, n_classes, N)
    X = rng.normal(size=(N, d)) + 1.5 * np.eye(n_classes, d)[y]
    Xs = (X - X.mean(0)) / X.std(0)
    train = _splits(N, n, m, 1)
    Xb = torch.from_numpy(np.hstack([Xs, np.ones((N, 1))]).astype(np.float32))
    prev = torch.get_num_threads()
    torch.set_num_threads(1)  # aflite() fixes the threads itself; this calls the private fit directly
    try:
        Z = _fit_ensemble(torch, Xb, torch.from_numpy(y), torch.from_numpy(train), n_classes, m, 1.0, 200, 1e-6)
    finally:
        torch.set_num_threads(prev)
    for j in range(n):
        tr = train[:, j] > 0
        with threadpool_limits(limits=1, user_api="blas"):  # multi-threaded BLAS is slow on small VMs
            ref = LogisticRegression(C=1.0, tol=1e-8, max_iter=1000).fit(Xs[tr], y[tr])
        if n_classes == 2:
            np.testing.assert_allclose(Z[:, j, 0].numpy(), ref.decision_function(Xs), atol=2e-3)
        else:
            # softmax logits are defined up to a constant per example
            z = Z[:, j, :].numpy()
            r = ref.decision_function(Xs)
            np.testing.assert_allclose(z - z.mean(1, keepdims=True), r - r.mean(1, keepdims=True), atol=2e-3)


def test_shortcut_rows_removed_first():
    X, y, carrier = _shortcut_toy()
    res = aflite_filter(X, y, n=32, m=200, k=50, tau=0.75, seed=0)
    first = res.removed_round == 1
    assert first.sum() == 50
    assert carrier[first].all()  # the perfectly predictable half goes first
    removed = res.removed_round > 0
    assert carrier[removed].mean() >= 0.8
    assert carrier[res.kept].mean() <= 0.25
    # removed examples keep the predictability they had when removed (>= tau)
    assert (res.predictability[removed] >= 0.75).all()
    # every round but the last removed exactly k; the loop ran while more than m remained
    rounds = res.rounds
    assert (rounds["n_removed"].iloc[:-1] == 50).all()
    assert (rounds["n_before"] > 200).all()
    assert rounds["n_qualifying"].iloc[-1] < 50 or len(X) - removed.sum() <= 200


def test_outputs_shape_range_and_types():
    X, y, _ = _shortcut_toy(200)
    kept, p = aflite(X, y, n=16, m=0.5, k=20, seed=3)
    assert kept.dtype == np.int64 and np.all(np.diff(kept) > 0)
    assert p.shape == (200,) and p.dtype == np.float64
    assert np.isfinite(p).all() and p.min() >= 0 and p.max() <= 1
    assert len(kept) >= 100


def test_deterministic_per_seed_and_generator():
    X, y, _ = _shortcut_toy(200)
    a = aflite(X, y, n=16, m=60, k=20, seed=7)
    b = aflite(X, y, n=16, m=60, k=20, seed=7)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    c = aflite(X, y, n=16, m=60, k=20, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(a[1], c[1])
    d = aflite(X, y, n=16, m=60, k=20, seed=8)
    assert not np.array_equal(a[1], d[1])


def test_m_count_equals_fraction():
    X, y, _ = _shortcut_toy(200)
    a = aflite_filter(X, y, n=8, m=50, k=20, seed=0)
    b = aflite_filter(X, y, n=8, m=0.25, k=20, seed=0)
    assert a.m == b.m == 50
    np.testing.assert_array_equal(a.predictability, b.predictability)


def test_stops_when_fewer_than_k_qualify():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = rng.integers(0, 2, 300)  # nothing is predictable
    res = aflite_filter(X, y, n=16, m=50, k=100, tau=0.75, seed=0)
    assert len(res.rounds) == 1
    assert res.rounds["n_qualifying"].iloc[0] < 100
    assert len(res.kept) == 300 - res.rounds["n_removed"].iloc[0]


def test_string_labels_and_multiclass():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    X = rng.normal(size=(300, 4)) + 3 * np.eye(3, 4)[y]
    kept, p = aflite(X, np.array(["a", "b", "c"])[y], n=8, m=100, k=30, seed=0)
    assert p.mean() > 0.8  # well-separated classes are predictable
    assert len(kept) < 300


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"n": 0}, df.ConfigError, "n == 0"),
        ({"n": True}, df.ConfigError, "n == True"),
        ({"k": 0}, df.ConfigError, "k == 0"),
        ({"tau": 1.5}, df.ConfigError, "tau == 1.5"),
        ({"m": 0}, df.ConfigError, "m == 0"),
        ({"m": 1.0}, df.ConfigError, "m == 1.0"),
        ({"m": 40}, df.ConfigError, "m == 40"),
        ({"m": "half"}, df.ConfigError, "m == 'half'"),
        ({"C": 0.0}, df.ConfigError, "C == 0.0"),
        ({"max_iter": 0}, df.ConfigError, "max_iter == 0"),
        ({"n_threads": 0}, df.ConfigError, "n_threads == 0"),
        ({"seed": -1}, df.DataError, "seed"),
    ],
)
def test_bad_parameters(kwargs, err, match):
    X, y, _ = _shortcut_toy(40)
    with pytest.raises(err, match=match):
        aflite(X, y, **kwargs)


def test_bad_data():
    X, y, _ = _shortcut_toy(40)
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(df.DataError, match="X contains NaN"):
        aflite(bad, y)
    with pytest.raises(df.DataError, match="X must be 2-D"):
        aflite(X[:, 0], y)
    with pytest.raises(df.DataError, match=r"y must have shape \(40,\)"):
        aflite(X, y[:-1])
    with pytest.raises(df.DataError, match="1 class"):
        aflite(X, np.zeros(40))
    with pytest.raises(df.DataError, match="at least 2 examples"):
        aflite(X[:1], y[:1])


def test_scorer_and_selector_helper():
    X, y, carrier = _shortcut_toy(200)
    ds = df.Dataset.from_arrays(X, y, ids=[f"e{i}" for i in range(200)])
    out = compute(ds, ["aflite"], seed=0)
    assert list(out.columns) == ["aflite_predictability"]
    assert list(out.index) == list(ds.ids) and out.index.name == "id"
    assert COLUMNS["aflite_predictability"].orientation == "easier"
    # the shortcut half is more predictable (easier) than the rest
    assert out["aflite_predictability"][carrier].mean() > out["aflite_predictability"][~carrier].mean() + 0.2
    idx = aflite_filtered_indices(ds, n=16, m=50, k=25, seed=0)
    assert carrier[idx].mean() < 0.3
    # embeddings replace ds.X: all-noise embeddings give no shortcut to remove
    noise = np.random.default_rng(0).normal(size=(200, 3))
    idx2 = aflite_filtered_indices(ds, embeddings=noise, n=16, m=50, k=25, seed=0)
    assert carrier[idx2].mean() > 0.35
    with pytest.raises(df.DataError, match="embeddings"):
        aflite_filtered_indices(ds, embeddings=noise[:10])


def test_smallest_input_is_degenerate_but_valid():
    ds = df.Dataset.from_arrays(np.array([[0.0, 1.0], [1.0, 0.0]]), [0, 1], ids=["p", "q"])
    out = compute(ds, ["aflite"])
    # each model trains on one example and misclassifies the other: predictability 0
    pd.testing.assert_series_equal(
        out["aflite_predictability"], pd.Series([0.0, 0.0], index=pd.Index(["p", "q"], name="id")), check_names=False
    )
