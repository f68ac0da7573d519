"""Quad: the UCB formula, the bandit's choices, reward sharing, the budget, TracIn influence."""

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.select import select
from datafactors.select.quad import quad, tracin_influence_fn, ucb


def test_ucb_formula_by_hand():
    # mean + alpha * sqrt(2 ln(total) / (pulls + 1))
    u = ucb([0.5, 0.0, -0.2], [3, 0, 1], total=4, alpha=1.0)
    np.testing.assert_allclose(u, [0.5 + np.sqrt(2 * np.log(4) / 4), np.sqrt(2 * np.log(4)), -0.2 + np.sqrt(np.log(4))])
    # the paper's alpha = 1e-4 is the default
    np.testing.assert_allclose(ucb([0.0], [0], total=np.e**2), [1e-4 * 2.0])
    # before any pull ln(total) reads 0: the rewards alone decide
    np.testing.assert_array_equal(ucb([0.1, 0.3], [0, 0], total=0), [0.1, 0.3])


def _three_blobs(n_per=30, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[10.0, 0.0], [0.0, 10.0], [-10.0, -10.0]])
    return np.vstack([rng.normal(c, 0.3, (n_per, 2)) for c in centres])


def test_quad_takes_chunks_from_the_helpful_cluster_only():
    E = _three_blobs()
    infl = np.r_[np.full(30, -1.0), np.full(30, 2.0), np.full(30, -1.0)]  # only blob 1 helps
    r = quad(E, 25, lambda rows: infl[rows], n_clusters=3, n_sample=2, chunk=10, seed=0)
    assert len(r.order) == 25 and set(r.order.tolist()) <= set(range(30, 60)) and r.filled == 0
    taken = r.history[r.history["taken"] > 0]
    assert (taken["reward"] > 0).all() and taken["taken"].tolist() == [10, 10, 5]
    # every pull of a harmful cluster has reward mean influence - threshold = -1
    assert (r.history.loc[r.history["taken"] == 0, "reward"] == -1.0).all()
    np.testing.assert_array_equal(
        r.order, quad(E, 25, lambda rows: infl[rows], n_clusters=3, n_sample=2, chunk=10, seed=0).order
    )


def test_quad_threshold_turns_rewards_negative_and_the_fill_ranks_by_reward():
    E = _three_blobs()
    infl = np.r_[np.full(30, 0.5), np.full(30, 0.8), np.full(30, 0.1)]
    # threshold 1.0: no cluster earns a positive reward; the fill takes the best clusters first
    r = quad(
        E, 40, lambda rows: infl[rows], n_clusters=3, n_sample=5, chunk=10, threshold=1.0, share_radius=0.0, seed=0
    )
    assert r.filled == 40 and len(set(r.order.tolist())) == 40
    assert set(r.order[:30].tolist()) == set(range(30, 60))  # mean reward -0.2: best
    assert set(r.order[30:].tolist()) <= set(range(30))  # then -0.5
    np.testing.assert_allclose(sorted(r.mean_reward), [-0.9, -0.5, -0.2])


def test_reward_sharing_and_ucb_bookkeeping_replayed_by_hand():
    # Clusters A at (0, 0), B at (1, 0), C at (10, 0); share_radius 2: a reward of A or B reaches
    # the other with weight 1 - 1/2, C shares with nobody. Replay every pull from the history.
    rng = np.random.default_rng(1)
    E = np.vstack(
        [rng.normal([0, 0], 0.01, (20, 2)), rng.normal([1, 0], 0.01, (20, 2)), rng.normal([10, 0], 0.01, (20, 2))]
    )
    infl = np.r_[np.full(20, -1.0), np.full(20, 0.5), np.full(20, 1.0)]
    alpha = 0.3  # large enough that the exploration term matters
    r = quad(
        E,
        30,
        lambda rows: infl[rows],
        n_clusters=3,
        n_sample=2,
        chunk=4,
        share_radius=2.0,
        alpha=alpha,
        seed=0,
        normalize=False,
    )
    cent = np.array([E[r.labels == c].mean(0) for c in range(3)])
    D = np.linalg.norm(cent[:, None] - cent[None], axis=2)
    W = np.where(D < 2.0, 1 - D / 2.0, 0.0)
    np.fill_diagonal(W, 0.0)
    blob = {int(r.labels[0]): 0, int(r.labels[20]): 1, int(r.labels[40]): 2}
    assert W[r.labels[0], r.labels[20]] == pytest.approx(0.5, abs=0.02) and W[r.labels[0], r.labels[40]] == 0
    s, w, pulls, seen = np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3)
    for t, row in enumerate(r.history.itertuples()):
        mean = np.divide(s, w, out=np.zeros(3), where=w > 0)
        u = mean + alpha * np.sqrt(2 * np.log(max(t, 1)) / (pulls + 1))
        c = row.cluster
        assert row.ucb == pytest.approx(u[c], abs=1e-6)  # float32 centroids vs member means
        open_ = seen < 20
        assert u[c] == pytest.approx(u[open_].max(), abs=1e-6)  # the best open arm was pulled
        reward = infl[20 * blob[c]]
        assert row.reward == reward
        s[c] += reward
        w[c] += 1
        s += W[c] * reward
        w += W[c]
        pulls[c] += 1
        seen[c] += 4 if reward > 0 else 2
    np.testing.assert_allclose(r.mean_reward, np.divide(s, w, out=np.zeros(3), where=w > 0))
    assert r.pulls.tolist() == pulls.tolist()


def test_quad_selector_with_an_influence_column_and_budget():
    E = _three_blobs()
    ids = [f"r{i}" for i in range(90)]
    ds = df.Dataset.from_arrays(E, np.arange(90) % 2, ids=ids)
    infl = pd.DataFrame({"tracin": np.r_[np.full(30, -1.0), np.full(30, 2.0), np.full(30, -1.0)]}, index=ids)
    idx = select(ds, "quad", 20, scores=infl, influence="tracin", n_clusters=3, n_sample=2, chunk=8, seed=0)
    assert len(idx) == 20 and set(idx.tolist()) <= set(range(30, 60))
    arr = select(ds, "quad", 20, scores=infl["tracin"].to_numpy(), n_clusters=3, n_sample=2, chunk=8, seed=0)
    np.testing.assert_array_equal(arr, idx)
    all_rows = select(ds, "quad", 90, scores=infl["tracin"].to_numpy(), n_clusters=3, seed=0)
    assert sorted(all_rows.tolist()) == list(range(90))
    with pytest.raises(df.ConfigError, match="pass influence="):
        select(ds, "quad", 5, scores=infl)
    with pytest.raises(df.DataError, match="scores have no column 'nope'"):
        select(ds, "quad", 5, scores=infl, influence="nope")


def test_tracin_influence_on_a_small_proxy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    y[:10] = 1 - y[:10]  # flipped labels oppose the clean target
    ds = df.Dataset.from_arrays(X, y)
    fn = tracin_influence_fn(ds, target=np.arange(60, 120), proxy_size=120, epochs=5, seed=0)
    v = fn(np.arange(60))
    assert v.shape == (60,) and np.isfinite(v).all()
    assert v[:10].mean() < v[10:60].mean()
    idx = select(
        ds,
        "quad",
        30,
        target=np.r_[np.zeros(60, bool), np.ones(60, bool)],
        proxy_size=120,
        proxy_epochs=3,
        chunk=5,
        seed=1,
    )
    assert len(set(idx.tolist())) == 30


def test_quad_bad_inputs():
    E = _three_blobs(5)

    def zero(rows):
        return np.zeros(len(rows))

    with pytest.raises(df.DataError, match=r"k == 0, must be an int in \[1, 15\]"):
        quad(E, 0, zero)
    with pytest.raises(df.ConfigError, match="alpha == -1"):
        quad(E, 3, zero, alpha=-1.0)
    with pytest.raises(df.ConfigError, match="chunk == 0"):
        quad(E, 3, zero, chunk=0)
    with pytest.raises(df.ConfigError, match="threshold == nan"):
        quad(E, 3, zero, threshold=float("nan"))
    with pytest.raises(df.DataError, match="influence returned"):
        quad(E, 3, lambda rows: np.full(len(rows), np.nan), n_clusters=2)
    bad = E.copy()
    bad[2, 0] = np.inf
    with pytest.raises(df.DataError, match="E contain 1 NaN or inf"):
        quad(bad, 3, zero)
