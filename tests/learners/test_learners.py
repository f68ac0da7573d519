"""Learner protocol: determinism, dynamics shapes, exact identities, user modules."""

import numpy as np
import pytest
import torch

import datafactors as df
from datafactors.learners import REGISTRY, Learner, make_learner
from datafactors.learners.mlp import TorchLearner


@pytest.fixture(scope="module")
def digits():
    return df.load("digits")


@pytest.mark.parametrize("name", REGISTRY.names())
def test_contract_every_learner(name, digits):
    small = digits.subset(np.arange(200))
    a = make_learner(name).fit(small, epochs=3, seed=1, record_dynamics=True)
    assert isinstance(a, Learner)
    p = a.predict_proba(digits.X[:50])
    assert p.shape == (50, 10)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-6)
    b = make_learner(name).fit(small, epochs=3, seed=1, record_dynamics=True)
    np.testing.assert_array_equal(p, b.predict_proba(digits.X[:50]))
    d = a.dynamics
    assert d.probs.shape == (3, 200, 10) and d.losses.shape == (3, 200)
    assert d.seen_correct.shape == (3, 200) and d.grad_norms.shape == (4, 200)
    np.testing.assert_array_equal(d.ids, small.ids)
    # losses are the CE of the recorded probabilities
    np.testing.assert_allclose(d.losses, -np.log(d.gold_probs()), rtol=1e-4, atol=1e-5)


def test_mlp_seeds_differ_and_do_not_touch_global_rng(digits):
    torch.manual_seed(7)
    before = torch.rand(1)
    torch.manual_seed(7)
    a = make_learner("mlp").fit(digits, epochs=2, seed=0).predict_proba(digits.X[:20])
    assert torch.rand(1) == before
    b = make_learner("mlp").fit(digits, epochs=2, seed=1).predict_proba(digits.X[:20])
    assert not np.array_equal(a, b)


def test_mlp_grad_norms_match_autograd_at_init(digits):
    """Row 0 of grad_norms is the exact per-example gradient norm of the initial model."""
    small = digits.subset(np.arange(12))
    lrn = make_learner("mlp", hidden=[16]).fit(small, epochs=1, seed=3, record_dynamics=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        from datafactors.learners.mlp import mlp_module

        model = mlp_module(64, 10, (16,))
    X = torch.from_numpy(lrn._scale(small.X))
    y = torch.from_numpy(small.y)
    expected = []
    for i in range(small.n):
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(X[i : i + 1]), y[i : i + 1], reduction="sum").backward()
        expected.append(torch.sqrt(sum((p.grad**2).sum() for p in model.parameters())).item())
    np.testing.assert_allclose(lrn.dynamics.grad_norms[0], expected, rtol=1e-5)


def test_logistic_grad_norm_identity(digits):
    """For softmax regression the per-example gradient norm is ||p - e_y|| * sqrt(||x||^2 + 1)."""
    small = digits.subset(np.arange(100))
    lrn = make_learner("logistic").fit(small, epochs=3, seed=0, record_dynamics=True)
    Xs = lrn._scaler(small.X).astype(np.float64)
    p = lrn.predict_proba(small.X)
    W = np.zeros((10, 64))
    b = np.zeros(10)
    W[lrn.model_.classes_] = lrn.model_.coef_
    b[lrn.model_.classes_] = lrn.model_.intercept_
    # explicit gradient of CE wrt (W, b): (p - e_y) x^T and (p - e_y)
    r = p - np.eye(10)[small.y]
    explicit = np.sqrt((r**2).sum(1) * (Xs**2).sum(1) + (r**2).sum(1))
    np.testing.assert_allclose(lrn.dynamics.grad_norms[-1], explicit, rtol=1e-5)


def test_fractional_epochs_for_fixed_samples_seen(digits):
    small = digits.subset(np.arange(256))
    # 0.5 epoch of 256 with batch 128 = 1 step; differs from 1 epoch (2 steps)
    a = make_learner("mlp", batch_size=128).fit(small, epochs=0.5, seed=0).predict_proba(small.X)
    b = make_learner("mlp", batch_size=128).fit(small, epochs=1, seed=0).predict_proba(small.X)
    assert not np.allclose(a, b)


def test_user_module_through_torch_learner(digits):
    lrn = TorchLearner(
        lambda d, c: torch.nn.Sequential(torch.nn.Linear(d, 32), torch.nn.Tanh(), torch.nn.Linear(32, c)), lr=0.01
    )
    lrn.fit(digits, epochs=5, seed=0, record_dynamics=True)
    acc = (lrn.predict_proba(digits.X).argmax(1) == digits.y).mean()
    assert acc > 0.9
    assert lrn.dynamics.grad_norms.shape == (6, digits.n)


def test_subset_missing_classes_still_gives_all_columns(digits):
    two = digits.subset(np.flatnonzero(digits.y < 2))
    for name in REGISTRY.names():
        p = make_learner(name).fit(two, epochs=2, seed=0).predict_proba(digits.X[:5])
        assert p.shape == (5, 10)
        assert np.all(p[:, 2:] < 0.5)


@pytest.mark.parametrize(
    "kw, msg",
    [
        ({"hidden": []}, "hidden"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr": -1.0}, "lr"),
        ({"hiddn": [3]}, "unknown parameter"),
    ],
)
def test_bad_params(kw, msg, digits):
    with pytest.raises(df.ConfigError, match=msg):
        make_learner("mlp", **kw).fit(digits, epochs=1, seed=0)


def test_bad_fit_args(digits):
    with pytest.raises(df.ConfigError, match="epochs"):
        make_learner("mlp").fit(digits, epochs=0, seed=0)
    with pytest.raises(df.DataError, match="Dataset"):
        make_learner("mlp").fit(digits.X, epochs=1, seed=0)
    with pytest.raises(df.DataError, match="not fitted"):
        make_learner("mlp").predict_proba(digits.X)
    lrn = make_learner("logistic").fit(digits, epochs=2, seed=0)
    with pytest.raises(df.DataError, match="shape"):
        lrn.predict_proba(digits.X[:, :3])
