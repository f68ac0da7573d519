"""DivDis: the mutual-information and KL terms by hand, head selection, unlabeled data, diversification on a toy."""

import math

import numpy as np
import pytest
import torch

import datafactors as df
from datafactors.learners import make_learner
from datafactors.learners.divdis import divdis_losses, pairwise_mutual_information

A = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], float)  # head a: first two rows class 0
B = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], float)  # head b: independent of a over the four rows


def test_mi_zero_for_independent_heads_and_log2_for_identical():
    mi = pairwise_mutual_information(np.stack([A, B, A], axis=1))
    assert mi[0, 1] == pytest.approx(0.0, abs=1e-9)
    assert mi[0, 2] == pytest.approx(math.log(2), abs=1e-6)  # identical balanced binary heads: I = H = log 2
    np.testing.assert_allclose(mi, mi.T, atol=1e-12)


def test_mi_of_soft_heads_by_hand():
    # two heads on two rows: joint P = mean_i p_i q_i^T, I = sum P log(P / (m_p m_q^T))
    p = np.array([[0.9, 0.1], [0.2, 0.8]])
    q = np.array([[0.7, 0.3], [0.4, 0.6]])
    P = (np.outer(p[0], q[0]) + np.outer(p[1], q[1])) / 2
    M = np.outer(p.mean(0), q.mean(0))
    expected = float((P * np.log(P / M)).sum())
    assert expected > 0
    assert pairwise_mutual_information(np.stack([p, q], 1))[0, 1] == pytest.approx(expected, rel=1e-6)


def test_divdis_losses_average_pairs_and_kl_to_prior():
    probs = torch.tensor(np.stack([A, B, A], axis=1))
    prior = torch.tensor([0.5, 0.5], dtype=torch.float64)
    mi, reg = divdis_losses(probs, prior)
    # pairs (0,1)=0, (0,2)=log2, (1,2)=0 -> mean log2 / 3; every head's marginal is uniform -> KL 0
    assert float(mi) == pytest.approx(math.log(2) / 3, abs=1e-6)
    assert float(reg) == pytest.approx(0.0, abs=1e-9)
    skew = torch.tensor([[[0.9, 0.1]], [[0.7, 0.3]]], dtype=torch.float64)  # B=2, H=1: marginal (0.8, 0.2)
    _, reg = divdis_losses(skew, prior)
    assert float(reg) == pytest.approx(0.8 * math.log(1.6) + 0.2 * math.log(0.4), abs=1e-9)


def test_pairwise_mi_rejects_non_probabilities():
    with pytest.raises(df.DataError, match="probability"):
        pairwise_mutual_information(np.ones((3, 2, 2)))
    with pytest.raises(df.DataError, match="shape"):
        pairwise_mutual_information(np.ones((3, 2)))


def _toy(seed=0, n=400):
    """Two features that both give the label in training; decorrelated in the target distribution."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    train = df.Dataset.from_arrays(np.c_[2 * y - 1, 2 * y - 1] + rng.normal(0, 0.3, (n, 2)), y)
    yt, st = rng.integers(0, 2, n), rng.integers(0, 2, n)
    target_X = np.c_[2 * yt - 1, 2 * st - 1] + rng.normal(0, 0.3, (n, 2))  # feature 0 is the real one
    return train, target_X, yt


def test_heads_diversify_and_validation_picks_the_core_head():
    train, Xt, yt = _toy()
    val = df.Dataset.from_arrays(Xt[:40], yt[:40])
    lrn = make_learner("divdis", hidden=[16], heads=2, lr=0.01).fit(
        train, epochs=40, seed=0, unlabeled=Xt[40:], val=val
    )
    P = lrn.predict_proba_heads(Xt[40:])
    assert P.shape == (2, len(yt) - 40, 2)
    acc = (P.argmax(2) == yt[None, 40:]).mean(1)
    # one head reads feature 0 (the label), the other feature 1 (chance on the target)
    assert acc.max() > 0.9 and acc.min() < 0.7
    assert lrn.selected_head_ == int(np.argmax(lrn.head_scores_)) == int(np.argmax(acc))
    np.testing.assert_array_equal(lrn.predict_proba(Xt[40:]), P[lrn.selected_head_])
    # without the MI term both heads stay alike (no diversification)
    plain = make_learner("divdis", hidden=[16], heads=2, lr=0.01, mi_weight=0.0).fit(
        train, epochs=40, seed=0, unlabeled=Xt[40:], val=val
    )
    mi_div = pairwise_mutual_information(P.transpose(1, 0, 2))[0, 1]
    mi_plain = pairwise_mutual_information(plain.predict_proba_heads(Xt[40:]).transpose(1, 0, 2))[0, 1]
    assert mi_div < mi_plain


def test_unlabeled_via_constructor_equals_fit_keyword_and_defaults_to_ds_X():
    train, Xt, _ = _toy(n=120)
    a = make_learner("divdis", hidden=[8], unlabeled=Xt).fit(train, epochs=2, seed=3).predict_proba_heads(Xt)
    b = make_learner("divdis", hidden=[8]).fit(train, epochs=2, seed=3, unlabeled=Xt).predict_proba_heads(Xt)
    np.testing.assert_array_equal(a, b)
    c = make_learner("divdis", hidden=[8]).fit(train, epochs=2, seed=3).predict_proba_heads(Xt)
    d = make_learner("divdis", hidden=[8]).fit(train, epochs=2, seed=3, unlabeled=train.X).predict_proba_heads(Xt)
    np.testing.assert_array_equal(c, d)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("select, expect", [("first", 0), (2, 2), ("mean", None)])
def test_select_options(select, expect):
    train, Xt, _ = _toy(n=120)
    lrn = make_learner("divdis", hidden=[8], heads=3, select=select).fit(train, epochs=2, seed=0)
    assert lrn.selected_head_ == expect
    P = lrn.predict_proba_heads(Xt)
    np.testing.assert_allclose(lrn.predict_proba(Xt), P.mean(0) if expect is None else P[expect])
    assert lrn.head_scores_.shape == (3,)


@pytest.mark.parametrize(
    "kw, msg",
    [
        ({"heads": 0}, "heads"),
        ({"mi_weight": -1.0}, "mi_weight"),
        ({"select": "best"}, "select"),
        ({"select": 4}, "select"),
        ({"prior": "flat"}, "prior"),
        ({"hidden": []}, "hidden"),
    ],
)
def test_bad_params(kw, msg):
    train, _, _ = _toy(n=40)
    with pytest.raises(df.ConfigError, match=msg):
        make_learner("divdis", **kw).fit(train, epochs=1, seed=0)


def test_bad_unlabeled_and_val():
    train, _, _ = _toy(n=40)
    with pytest.raises(df.DataError, match="unlabeled"):
        make_learner("divdis").fit(train, epochs=1, seed=0, unlabeled=np.ones((5, 3)))
    with pytest.raises(df.DataError, match="NaN"):
        make_learner("divdis").fit(train, epochs=1, seed=0, unlabeled=np.full((5, 2), np.nan))
    with pytest.raises(df.DataError, match="val"):
        make_learner("divdis").fit(train, epochs=1, seed=0, val=np.ones((5, 2)))
