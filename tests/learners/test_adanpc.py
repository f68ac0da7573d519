"""AdaNPC: kNN weights by hand on a hand-built memory, k clipping, ties, test-time memory updates."""

import numpy as np
import pytest

import datafactors as df
from datafactors.learners import make_learner
from datafactors.learners.adanpc import _top_k, knn_memory_proba


def test_memory_prediction_equals_hand_computed_softmax_weights():
    # memory: three unit vectors at angles 0, 60 and 180 degrees, labels 0, 1, 1
    mem = np.array([[1.0, 0.0], [0.5, np.sqrt(3) / 2], [-1.0, 0.0]])
    labels = np.array([0, 1, 1])
    z = np.array([[2.0, 0.0]])  # not normalised: the function normalises
    T = 0.1
    sims = np.array([1.0, 0.5, -1.0])
    w = np.exp(sims / T) / np.exp(sims / T).sum()
    p = knn_memory_proba(z, mem, labels, 3, k=100, temperature=T)  # k clipped to 3
    np.testing.assert_allclose(p, [[w[0], w[1] + w[2], 0.0]], rtol=1e-12)
    # k = 2 keeps the two most similar entries only
    w2 = np.exp(sims[:2] / T) / np.exp(sims[:2] / T).sum()
    np.testing.assert_allclose(knn_memory_proba(z, mem, labels, 3, k=2, temperature=T), [[w2[0], w2[1], 0.0]])


def test_memory_probabilities_sum_to_one_and_ties_keep_memory_order():
    rng = np.random.default_rng(0)
    mem, lab = rng.normal(size=(50, 4)), rng.integers(0, 3, 50)
    p = knn_memory_proba(rng.normal(size=(10, 4)), mem, lab, 3, k=7)
    np.testing.assert_allclose(p.sum(1), 1.0)
    # four identical memory entries with different labels and k = 2: the first two (memory order) are used
    dup = np.ones((4, 2))
    np.testing.assert_allclose(knn_memory_proba(np.ones((1, 2)), dup, np.array([2, 0, 1, 1]), 3, k=2), [[0.5, 0, 0.5]])
    S = rng.integers(0, 4, (20, 40)).astype(float)
    for k in (1, 5, 39, 40, 60):
        np.testing.assert_array_equal(_top_k(S, min(k, 40)), np.argsort(-S, axis=1, kind="stable")[:, : min(k, 40)])


def test_memory_input_errors():
    with pytest.raises(df.DataError, match="memory"):
        knn_memory_proba(np.ones((1, 2)), np.ones((3, 3)), np.zeros(3, int), 2)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centers = np.array([[4.0, 0.0], [0.0, 4.0], [-4.0, 0.0]])
    y = rng.integers(0, 3, 300)
    return df.Dataset.from_arrays(centers[y] + rng.normal(0, 0.7, (300, 2)), y), centers


def test_adapt_adds_confident_points_and_predict_does_not(blobs):
    ds, centers = blobs
    lrn = make_learner("adanpc", hidden=[16], k=20, beta=0.9).fit(ds, epochs=5, seed=0)
    assert lrn.memory_size_ == 300 and lrn.n_added_ == 0
    Xq = centers + 0.1  # near each centre: confident
    before = lrn.predict_proba(Xq)
    assert lrn.memory_size_ == 300
    P = lrn.adapt(Xq)
    np.testing.assert_array_equal(P, before)  # returned before the batch joins
    conf = P.max(1) >= 0.9
    assert lrn.memory_size_ == 300 + conf.sum() and lrn.n_added_ == conf.sum() > 0
    np.testing.assert_array_equal(lrn.memory_labels_[300:], P[conf].argmax(1))
    np.testing.assert_allclose(lrn.memory_[300:], lrn.features(Xq[conf]))
    lrn.reset()
    assert lrn.memory_size_ == 300 and lrn.n_added_ == 0
    never = make_learner("adanpc", hidden=[16], beta=1.5).fit(ds, epochs=2, seed=0)
    never.adapt(Xq)
    assert never.memory_size_ == 300
    capped = make_learner("adanpc", hidden=[16], beta=0.0, max_memory=301).fit(ds, epochs=2, seed=0)
    capped.adapt(Xq)
    assert capped.memory_size_ == 301


def test_memory_prediction_matches_knn_on_features(blobs):
    ds, _ = blobs
    lrn = make_learner("adanpc", hidden=[16], k=10, temperature=0.5, lr=0.01).fit(ds, epochs=10, seed=2)
    Xq = ds.X[:7] + 0.05
    expected = knn_memory_proba(lrn.features(Xq), lrn.features(ds.X), ds.y, 3, k=10, temperature=0.5)
    np.testing.assert_allclose(lrn.predict_proba(Xq), expected)
    np.testing.assert_allclose(np.linalg.norm(lrn.features(Xq), axis=1), 1.0)
    head = lrn.predict_proba_head(ds.X)
    assert head.shape == (300, 3) and (head.argmax(1) == ds.y).mean() > 0.9
    assert (lrn.predict_proba(ds.X).argmax(1) == ds.y).mean() > 0.9


def test_adaptation_follows_a_gradual_shift(blobs):
    """Clusters rotate 15 degrees per batch; the memory of confident points follows them, a static one does not."""
    ds, centers = blobs
    # hidden=[]: the features are the inputs, so similarity is the angle and the drift is geometric
    ada, static = (make_learner("adanpc", hidden=[], k=20, beta=0.6).fit(ds, epochs=2, seed=0) for _ in range(2))
    rng = np.random.default_rng(1)
    acc_static, acc_ada = [], []
    for step in range(1, 7):
        rot = np.deg2rad(15 * step)
        R = np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]])
        y = rng.integers(0, 3, 150)
        X = (centers[y] + rng.normal(0, 0.5, (150, 2))) @ R.T
        acc_static.append((static.predict_proba(X).argmax(1) == y).mean())
        acc_ada.append((ada.adapt(X).argmax(1) == y).mean())
    assert static.memory_size_ == 300 and ada.memory_size_ > 600
    assert np.mean(acc_ada) > np.mean(acc_static) + 0.1
    assert acc_ada[2] > acc_static[2] + 0.15  # at 45 degrees


@pytest.mark.parametrize(
    "kw, msg",
    [
        ({"k": 0}, "k =="),
        ({"temperature": 0.0}, "temperature"),
        ({"beta": float("nan")}, "beta"),
        ({"max_memory": 0}, "max_memory"),
    ],
)
def test_bad_params(kw, msg, blobs):
    with pytest.raises(df.ConfigError, match=msg):
        make_learner("adanpc", **kw).fit(blobs[0], epochs=1, seed=0)
    with pytest.raises(df.DataError, match="not fitted"):
        make_learner("adanpc").reset()
