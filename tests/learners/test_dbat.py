"""D-BAT: the agreement penalty by hand, sequential training, combination options, disagreement on OOD data."""

import math

import numpy as np
import pytest

import datafactors as df
from datafactors.learners import make_learner
from datafactors.learners.dbat import agreement_penalty


def test_binary_penalty_is_minus_log_disagreement_probability():
    p = np.array([[0.8, 0.2], [0.3, 0.7], [0.5, 0.5]])
    q = np.array([[0.3, 0.7], [0.9, 0.1], [0.5, 0.5]])
    # -log(p1 q0 + p0 q1): 0.2*0.3 + 0.8*0.7 = 0.62 ; 0.7*0.9 + 0.3*0.1 = 0.66 ; 0.5
    expected = -np.log(np.array([0.62, 0.66, 0.5]) + 1e-7)
    np.testing.assert_allclose(agreement_penalty(p, q), expected, rtol=1e-12)
    # symmetric in the two models for two classes
    np.testing.assert_allclose(agreement_penalty(q, p), expected, rtol=1e-12)


def test_multiclass_penalty_uses_the_earlier_models_class():
    p = np.array([[0.1, 0.6, 0.3]])  # earlier model predicts class 1 with p_c = 0.6
    q = np.array([[0.2, 0.5, 0.3]])  # q_c = 0.5
    assert agreement_penalty(p, q)[0] == pytest.approx(-math.log(0.6 * 0.5 + 0.4 * 0.5 + 1e-7))
    q2 = np.array([[0.05, 0.05, 0.9]])  # disagrees: q_c = 0.05 -> 0.6*0.95 + 0.4*0.05 = 0.59
    assert agreement_penalty(p, q2)[0] == pytest.approx(-math.log(0.59 + 1e-7))
    # agreeing confidently costs more than disagreeing
    assert agreement_penalty(p, np.array([[0.0, 1.0, 0.0]]))[0] > agreement_penalty(p, q2)[0]


def test_penalty_rejects_bad_input():
    with pytest.raises(df.DataError, match="shape"):
        agreement_penalty(np.ones((2, 2)) / 2, np.ones((3, 2)) / 2)
    with pytest.raises(df.DataError, match="probability"):
        agreement_penalty(np.ones((2, 2)), np.ones((2, 2)) / 2)


def _toy(seed=0, n=300):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    train = df.Dataset.from_arrays(np.c_[2 * y - 1, 2 * y - 1] + rng.normal(0, 0.3, (n, 2)), y)
    yt, st = rng.integers(0, 2, n), rng.integers(0, 2, n)
    Xt = np.c_[2 * yt - 1, 2 * st - 1] + rng.normal(0, 0.3, (n, 2))
    return train, Xt, yt


def test_second_model_disagrees_with_the_first_off_distribution():
    train, Xt, yt = _toy()
    lrn = make_learner("dbat", hidden=[16], lr=0.01, combine="best_val").fit(
        train, epochs=40, seed=0, unlabeled=Xt[50:], val=df.Dataset.from_arrays(Xt[:50], yt[:50])
    )
    P = lrn.predict_proba_models(Xt[50:])
    assert P.shape == (2, len(yt) - 50, 2)
    # both fit the training data ...
    tr_acc = (lrn.predict_proba_models(train.X).argmax(2) == train.y).mean(1)
    assert (tr_acc > 0.9).all()
    # ... but disagree on the target inputs far more than two ERM runs would
    disagree = (P[0].argmax(1) != P[1].argmax(1)).mean()
    erm = [
        make_learner("mlp", hidden=[16], lr=0.01).fit(train, epochs=40, seed=s).predict_proba(Xt[50:]) for s in (0, 1)
    ]
    assert disagree > (erm[0].argmax(1) != erm[1].argmax(1)).mean() + 0.2
    assert lrn.selected_ == int(np.argmax(lrn.model_scores_))
    np.testing.assert_array_equal(lrn.predict_proba(Xt), lrn.predict_proba_models(Xt)[lrn.selected_])


def test_alpha_zero_first_model_is_plain_erm_and_combine_options():
    train, Xt, _ = _toy(n=100)
    a = make_learner("dbat", hidden=[8], alpha=0.0, combine="ensemble").fit(train, epochs=2, seed=1)
    P = a.predict_proba_models(Xt)
    np.testing.assert_allclose(a.predict_proba(Xt), P.mean(0))
    assert a.selected_ is None
    last = make_learner("dbat", hidden=[8], n_models=3, combine="last").fit(train, epochs=2, seed=1)
    assert last.selected_ == 2 and len(last.models_) == 3
    one = make_learner("dbat", hidden=[8], n_models=3, combine=1).fit(train, epochs=2, seed=1, record_dynamics=True)
    assert one.selected_ == 1 and one.dynamics.probs.shape == (2, 100, 2)
    # the first model never sees a penalty: it does not depend on alpha
    b = make_learner("dbat", hidden=[8], alpha=5.0).fit(train, epochs=2, seed=1)
    np.testing.assert_array_equal(P[0], b.predict_proba_models(Xt)[0])
    assert not np.array_equal(P[1], b.predict_proba_models(Xt)[1])


@pytest.mark.parametrize(
    "kw, msg",
    [
        ({"n_models": 0}, "n_models"),
        ({"alpha": -1.0}, "alpha"),
        ({"combine": "vote"}, "combine"),
        ({"combine": 2}, "combine"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_params(kw, msg):
    train, _, _ = _toy(n=40)
    with pytest.raises(df.ConfigError, match=msg):
        make_learner("dbat", **kw).fit(train, epochs=1, seed=0)
