"""EL2N, forgetting, cartography and the registered scorers against hand-computed values."""

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.dynamics import TrainingDynamics
from datafactors.scores import COLUMNS, REGISTRY, compute, hardness_sign
from datafactors.scores.dynamics_scores import cartography, early_epoch, el2n, forgetting_counts


def test_el2n_hand_values():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [1.0, 0.0, 0.0]])
    y = np.array([0, 0, 0])
    # row 0: (-0.3, 0.2, 0.1) -> sqrt(0.09+0.04+0.01) = sqrt(0.14)
    # row 1: (-0.9, 0.1, 0.8) -> sqrt(0.81+0.01+0.64) = sqrt(1.46)
    np.testing.assert_allclose(el2n(probs, y), [np.sqrt(0.14), np.sqrt(1.46), 0.0])
    np.testing.assert_allclose(el2n(probs, y, norm="l1"), [0.6, 1.8, 0.0])


def test_el2n_bad_norm():
    with pytest.raises(df.ConfigError, match="norm"):
        el2n(np.ones((1, 2)) / 2, np.array([0]), norm="l3")


def test_forgetting_counts_hand_case():
    # presentations x examples
    sc = np.array(
        [
            [1, 1, 0, 0],
            [0, 1, 0, 1],
            [1, 0, 0, 1],
            [0, 1, 0, 1],
        ],
        dtype=bool,
    )
    # ex0: 1->0, 1->0 = 2 ; ex1: 1->0 once = 1 ; ex2 never learned = inf ; ex3 learned, never forgotten = 0
    np.testing.assert_array_equal(forgetting_counts(sc), [2.0, 1.0, np.inf, 0.0])


def test_cartography_hand_case():
    gp = np.array([[0.2, 0.9], [0.6, 0.9], [1.0, 0.9]])
    corr = np.array([[0, 1], [1, 1], [1, 1]], bool)
    conf, var, corr_frac = cartography(gp, corr)
    np.testing.assert_allclose(conf, [0.6, 0.9])
    np.testing.assert_allclose(var, [np.sqrt(((0.2 - 0.6) ** 2 + 0 + 0.4**2) / 3), 0.0], atol=1e-12)
    np.testing.assert_allclose(corr_frac, [2 / 3, 1.0])


def test_forgetting_counts_between_presentations_only():
    # epochs x examples; a sampling schedule leaves rows out of some epochs (their seen_correct is False)
    sc = np.array(
        [
            [1, 1, 1, 0, 0, 0],
            [0, 0, 0, 0, 0, 0],
            [1, 0, 0, 0, 1, 0],
            [0, 0, 1, 0, 0, 0],
            [1, 0, 0, 0, 0, 0],
        ],
        dtype=bool,
    )
    pm = np.array(
        [
            [1, 1, 1, 0, 0, 1],
            [0, 0, 0, 0, 0, 1],
            [1, 0, 1, 0, 1, 1],
            [0, 1, 1, 0, 0, 1],
            [1, 0, 1, 0, 0, 1],
        ],
        dtype=bool,
    )
    # ex0: presented at 0, 2, 4, right each time: 0 (2 if the gaps counted as wrong)
    # ex1: right at 0, wrong at 3: 1 ; ex2: 1 (e0), 0 (e2), 1 (e3), 0 (e4): 2
    # ex3: never presented, so never learned: inf ; ex4: presented once, right: 0 (1 before)
    # ex5: presented every epoch, never right: inf
    np.testing.assert_array_equal(forgetting_counts(sc, pm), [0.0, 1.0, 2.0, np.inf, 0.0, np.inf])
    # the mask of an epoch-wise shuffle (all presented) counts as before
    np.testing.assert_array_equal(forgetting_counts(sc, np.ones_like(sc)), forgetting_counts(sc))
    with pytest.raises(df.DataError, match="presented must have shape"):
        forgetting_counts(sc, pm[:, :3])


def test_cartography_over_presented_epochs_hand_case():
    gp = np.array([[0.2, 0.1], [0.6, 0.4], [1.0, 0.4]])
    corr = np.array([[0, 0], [1, 0], [1, 1]], bool)
    pm = np.array([[1, 0], [0, 0], [1, 0]], bool)
    conf, var, corr_frac = cartography(gp, corr, pm)
    # ex0 over epochs 0 and 2: mean 0.6, std 0.4, right once of twice;
    # ex1 never presented: measured over every epoch, as a held-out example
    np.testing.assert_allclose(conf, [0.6, 0.3])
    np.testing.assert_allclose(var, [0.4, np.sqrt(0.02)], atol=1e-12)
    np.testing.assert_allclose(corr_frac, [0.5, 1 / 3])


def test_scorers_read_the_presented_mask():
    ids = np.array(["a", "b", "c", "d", "e"], dtype=object)
    y = np.array([0, 1, 2, 0, 1])
    ds = df.Dataset.from_arrays(np.zeros((5, 2)), y, ids=ids)
    d = _fake_dynamics(0, ds.ids, ds.y, n_epochs=6)
    d.presented = np.random.default_rng(5).random((6, 5)) > 0.4
    out = compute(ds, ["forgetting", "cartography"], dynamics=[d])
    np.testing.assert_array_equal(out["forgetting"], forgetting_counts(d.seen_correct, d.presented))
    conf, var, corr = cartography(d.gold_probs(), d.correct(), d.presented)
    np.testing.assert_allclose(out["confidence"], conf)
    np.testing.assert_allclose(out["variability"], var)
    np.testing.assert_allclose(out["correctness"], corr)
    d.presented = None
    plain = compute(ds, ["forgetting", "cartography"], dynamics=[d])
    np.testing.assert_array_equal(plain["forgetting"], forgetting_counts(d.seen_correct))
    conf, var, corr = cartography(d.gold_probs(), d.correct())
    np.testing.assert_array_equal(plain["confidence"], conf)
    np.testing.assert_array_equal(plain["variability"], var)


def test_early_epoch():
    assert early_epoch(200) == 20
    assert early_epoch(30) == 3
    assert early_epoch(3) == 1


def _fake_dynamics(seed, ids, y, n_epochs=4, C=3):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n_epochs, len(y), C))
    p = np.exp(logits) / np.exp(logits).sum(2, keepdims=True)
    losses = -np.log(p[:, np.arange(len(y)), y])
    return TrainingDynamics(
        ids=ids,
        y=y,
        probs=p.astype(np.float32),
        losses=losses.astype(np.float32),
        seen_correct=rng.random((n_epochs, len(y))) > 0.5,
        grad_norms=rng.random((n_epochs + 1, len(y))).astype(np.float32),
        seed=seed,
    )


def test_registered_scorers_average_over_seeds():
    ids = np.array(["a", "b", "c", "d", "e"], dtype=object)
    y = np.array([0, 1, 2, 0, 1])
    ds = df.Dataset.from_arrays(np.zeros((5, 2)), y, ids=ids)
    dyn = [_fake_dynamics(s, ds.ids, ds.y) for s in (0, 1)]
    out = compute(ds, ["el2n", "grand", "forgetting", "cartography", "loss"], dynamics=dyn)
    assert list(out.index) == list(ids)
    assert list(out.columns) == ["el2n", "grand", "forgetting", "confidence", "variability", "correctness", "loss"]
    e = early_epoch(4)  # epoch 1
    np.testing.assert_allclose(
        out["el2n"], (el2n(dyn[0].probs[e - 1], y) + el2n(dyn[1].probs[e - 1], y)) / 2, rtol=1e-6
    )
    np.testing.assert_allclose(out["grand"], (dyn[0].grad_norms[e] + dyn[1].grad_norms[e]) / 2, rtol=1e-6)
    f = (forgetting_counts(dyn[0].seen_correct) + forgetting_counts(dyn[1].seen_correct)) / 2
    np.testing.assert_array_equal(out["forgetting"], f)
    np.testing.assert_allclose(out["loss"], (dyn[0].losses[-1] + dyn[1].losses[-1]) / 2, rtol=1e-6)


def test_every_column_declares_orientation_and_range():
    for col in ["el2n", "grand", "forgetting", "confidence", "variability", "correctness", "loss"]:
        c = COLUMNS[col]
        assert c.orientation in {"harder", "easier", "ambiguous"}
        assert c.low <= c.high
    assert hardness_sign("el2n") == 1 and hardness_sign("confidence") == -1


def test_unknown_score_name_suggests():
    ds = df.Dataset.from_arrays(np.zeros((4, 1)), [0, 1, 0, 1])
    with pytest.raises(df.ConfigError, match="Did you mean 'el2n'"):
        compute(ds, ["el2m"], dynamics=[])


def test_scores_need_dynamics_from_same_dataset():
    ds = df.Dataset.from_arrays(np.zeros((4, 1)), [0, 1, 0, 1])
    other = _fake_dynamics(0, np.array(["x", "y", "z", "w"], dtype=object), ds.y, C=2)
    with pytest.raises(df.DataError, match="different dataset"):
        compute(ds, ["el2n"], dynamics=[other])


@pytest.mark.parametrize("name", REGISTRY.names())
def test_contract_every_registered_score(name):
    """Shape, ids, determinism per seed, smallest legal input (2 examples, 2 classes)."""

    text = pd.DataFrame({"text": ["The cat sat on the mat by the door.", "A dog ran to the park and back."]})
    ds = df.Dataset.from_arrays(
        np.array([[0.0, 1.0], [1.0, 0.0]]), [0, 1], ids=["p", "q"], extra=text, text_column="text"
    )
    a = compute(ds, [name], seeds=2, epochs=2)
    b = compute(ds, [name], seeds=2, epochs=2)
    assert list(a.index) == ["p", "q"]
    assert a.index.name == "id"
    pd.testing.assert_frame_equal(a, b)
    for col in a.columns:
        c = COLUMNS[col]
        vals = a[col].to_numpy()
        assert np.all((vals >= c.low - 1e-6) & (vals <= c.high + 1e-6)), (col, vals)


def test_compute_with_training_ranks_planted_noise():
    """End to end on digits: EL2N from real proxies puts flipped labels near the top."""
    train = df.load("digits")
    rng = np.random.default_rng(0)
    y = train.y.copy()
    flip = rng.choice(train.n, size=train.n // 10, replace=False)
    y[flip] = (y[flip] + 1 + rng.integers(0, 9, size=len(flip))) % 10
    noisy = df.Dataset.from_arrays(train.X, y, ids=train.ids)
    s = compute(noisy, ["el2n"], seeds=2, epochs=10)
    from sklearn.metrics import roc_auc_score

    is_noisy = np.zeros(train.n, bool)
    is_noisy[flip] = True
    assert roc_auc_score(is_noisy, s["el2n"]) > 0.85
