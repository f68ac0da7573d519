"""margin, entropy, least confidence and the registered EL2N-L1 against hand-computed values."""

import numpy as np
import pytest

import datafactors as df
from datafactors.dynamics import TrainingDynamics
from datafactors.scores import COLUMNS, REGISTRY, compute, hardness_sign
from datafactors.scores.dynamics_scores import early_epoch, el2n, entropy, least_confidence, margin

P = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [1 / 3, 1 / 3, 1 / 3], [0.0, 0.0, 1.0]])
Y = np.array([0, 0, 1, 2])


def test_margin_hand_values():
    # gold minus best other: 0.7-0.2, 0.1-0.6, 1/3-1/3, 1-0
    np.testing.assert_allclose(margin(P, Y), [0.5, -0.5, 0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(margin(np.array([[0.0, 1.0]]), np.array([0])), [-1.0])


def test_entropy_hand_values():
    h0 = -(0.7 * np.log(0.7) + 0.2 * np.log(0.2) + 0.1 * np.log(0.1))
    h1 = -(0.1 * np.log(0.1) + 0.6 * np.log(0.6) + 0.3 * np.log(0.3))
    np.testing.assert_allclose(entropy(P), [h0, h1, np.log(3), 0.0])


def test_least_confidence_hand_values():
    np.testing.assert_allclose(least_confidence(P), [0.3, 0.4, 2 / 3, 0.0])


def test_bad_shapes():
    with pytest.raises(df.DataError, match="probs"):
        margin(P, Y[:2])
    with pytest.raises(df.DataError, match="2 classes"):
        margin(np.ones((2, 1)), np.array([0, 0]))
    with pytest.raises(df.DataError, match="probs"):
        entropy(np.ones(3))


def _dyn(seed, ids, y, probs):
    n_epochs = probs.shape[0]
    return TrainingDynamics(
        ids=ids, y=y, probs=probs.astype(np.float32),
        losses=(-np.log(np.clip(probs[:, np.arange(len(y)), y], 1e-12, None))).astype(np.float32),
        seen_correct=np.ones((n_epochs, len(y)), bool), seed=seed,
    )  # fmt: skip


def test_registered_scorers_use_last_epoch_and_average_seeds():
    ids = np.array(["a", "b", "c", "d"], dtype=object)
    ds = df.Dataset.from_arrays(np.zeros((4, 1)), Y, ids=ids)
    rng = np.random.default_rng(0)
    runs = []
    for s in (0, 1):
        early = rng.dirichlet(np.ones(3), size=(2, 4))
        last = P if s == 0 else P[::-1].copy()
        runs.append(_dyn(s, ds.ids, ds.y, np.concatenate([early, last[None]])))
    out = compute(ds, ["margin", "entropy", "least_confidence", "el2n_l1"], dynamics=runs)
    assert list(out.columns) == ["margin", "entropy", "least_confidence", "el2n_l1"]
    for name, fn in (("margin", lambda p: margin(p, Y)), ("entropy", entropy), ("least_confidence", least_confidence)):
        np.testing.assert_allclose(out[name], (fn(P) + fn(P[::-1])) / 2, rtol=1e-6, atol=1e-7)
    e = early_epoch(3) - 1
    l1 = (el2n(runs[0].probs[e], Y, norm="l1") + el2n(runs[1].probs[e], Y, norm="l1")) / 2
    np.testing.assert_allclose(out["el2n_l1"], l1, rtol=1e-6)


def test_orientations_and_ranges():
    assert {"margin", "entropy", "least_confidence", "el2n_l1"} <= set(REGISTRY.names())
    assert hardness_sign("margin") == -1
    assert hardness_sign("entropy") == 1 and hardness_sign("least_confidence") == 1
    assert (COLUMNS["margin"].low, COLUMNS["margin"].high) == (-1.0, 1.0)
    assert COLUMNS["el2n_l1"].high == 2.0 and COLUMNS["least_confidence"].high == 1.0
    p = np.random.default_rng(1).dirichlet(np.ones(5), size=200)
    y = np.random.default_rng(2).integers(0, 5, 200)
    assert np.all(entropy(p) <= np.log(5) + 1e-12) and np.all(least_confidence(p) <= 1 - 1 / 5 + 1e-12)
    assert np.all(np.abs(margin(p, y)) <= 1)
