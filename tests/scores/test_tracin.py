"""TracIn against a naive per-example autograd loop, and self-influence on planted noise."""

import numpy as np
import pytest
import torch

import datafactors as df
from datafactors.scores import compute
from datafactors.scores.tracin import (
    checkpoints_from_dynamics,
    reference_split,
    tracin_influence,
    tracin_self_influence,
)


def _grads(model, X, y):
    """(n, P) per-example gradients, one backward each (eval mode)."""
    model.eval()
    rows = []
    for i in range(len(y)):
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(X[i : i + 1]), y[i : i + 1], reduction="sum").backward()
        rows.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]).double())
    model.zero_grad()
    return torch.stack(rows).numpy()


def _naive(ckpts, X, y, Xv, yv):
    out = np.zeros(len(y))
    for lr, m in ckpts:
        out += lr * _grads(m, X, y) @ _grads(m, Xv, yv).sum(0)
    return out


def _ckpts(factory, k=3, dtype=torch.float64):
    out = []
    for s in range(k):
        torch.manual_seed(s)
        out.append((0.1 * (s + 1), factory().to(dtype)))
    return out


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(17, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (17,), generator=g)
    return X[:12], y[:12], X[12:], y[12:]


def _mlp():
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))


def _conv_like():
    # LayerNorm holds parameters, so this model takes the forward-mode (JVP) path.
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.LayerNorm(8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


@pytest.mark.parametrize("factory", [_mlp, _conv_like])
def test_influence_matches_naive_loop(data, factory):
    X, y, Xv, yv = data
    ck = _ckpts(factory)
    got = tracin_influence(ck, X, y, Xv, yv, batch_size=5)
    np.testing.assert_allclose(got, _naive(ck, X, y, Xv, yv), rtol=1e-5, atol=1e-10)


def test_self_influence_matches_naive_loop(data):
    X, y, _, _ = data
    ck = _ckpts(_mlp)
    expected = sum(lr * (_grads(m, X, y) ** 2).sum(1) for lr, m in ck)
    np.testing.assert_allclose(tracin_self_influence(ck, X, y), expected, rtol=1e-5)


def test_float32_model_close_to_naive(data):
    X, y, Xv, yv = data
    ck = _ckpts(_mlp, dtype=torch.float32)
    got = tracin_influence(ck, X.float(), y, Xv.float(), yv)
    ref = _naive(ck, X.float(), y, Xv.float(), yv)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5 * np.abs(ref).max())


def test_model_left_as_found(data):
    X, y, Xv, yv = data
    m = _mlp().double().train()
    before = [p.detach().clone() for p in m.parameters()]
    tracin_influence([(1.0, m)], X, y, Xv, yv)
    assert m.training and all(p.grad is None for p in m.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, m.parameters(), strict=True))


def test_bad_input(data):
    X, y, Xv, yv = data
    with pytest.raises(df.DataError, match="at least one"):
        tracin_influence([], X, y, Xv, yv)
    with pytest.raises(df.DataError, match="lr"):
        tracin_self_influence([(-1.0, _mlp())], X, y)
    with pytest.raises(df.DataError, match="matching"):
        tracin_influence([(1.0, _mlp().double())], X, y[:3], Xv, yv)


def test_reference_split_is_stratified():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    idx = reference_split(y, 0.2, seed=1)
    assert np.bincount(y[idx]).tolist() == [10, 6, 4]
    np.testing.assert_array_equal(idx, reference_split(y, 0.2, seed=1))
    assert reference_split(np.array([0, 1]), 0.2, seed=0).size == 1


def test_scorers_use_recorded_checkpoints():
    """The registered scores equal the pure functions on the learner's own checkpoints."""
    ds = df.load("digits").subset(np.arange(120))
    dyn = df.scores.train_dynamics(ds, seeds=[0], epochs=4, learner_params={"hidden": [16], "max_checkpoints": 2})
    d = dyn[0]
    assert [e for e, _, _ in d.checkpoints] == [2, 4]
    ck = checkpoints_from_dynamics(d)
    Xm = d.model_inputs(ds.X)
    out = compute(ds, ["tracin_self", "tracin"], dynamics=dyn, seed=3)
    np.testing.assert_allclose(out["tracin_self"], tracin_self_influence(ck, Xm, ds.y), rtol=1e-4)
    ref = reference_split(ds.y, 0.2, 3)
    np.testing.assert_allclose(out["tracin"], tracin_influence(ck, Xm, ds.y, Xm[ref], ds.y[ref]), rtol=1e-6)


def test_dynamics_with_checkpoints_pickle():
    import pickle

    ds = df.load("digits").subset(np.arange(60))
    d = df.scores.train_dynamics(ds, seeds=[0], epochs=2, learner_params={"hidden": [8]})[0]
    d2 = pickle.loads(pickle.dumps(d))
    m1 = checkpoints_from_dynamics(d)[-1][1]
    m2 = checkpoints_from_dynamics(d2)[-1][1]
    x = torch.from_numpy(d.model_inputs(ds.X))
    assert torch.equal(m1(x), m2(x))
    # a lambda factory is dropped on pickling rather than breaking it
    lrn = df.learners.mlp.TorchLearner(lambda a, c: torch.nn.Linear(a, c))
    dl = lrn.fit(ds, epochs=1, seed=0, record_dynamics=True).dynamics
    assert pickle.loads(pickle.dumps(dl)).module_factory is None
    with pytest.raises(df.DataError, match="module_factory"):
        pickle.loads(pickle.dumps(dl)).checkpoint_models()


def test_self_influence_flags_planted_noise():
    from sklearn.metrics import roc_auc_score

    train = df.load("digits")
    rng = np.random.default_rng(0)
    y = train.y.copy()
    flip = rng.choice(train.n, size=train.n // 10, replace=False)
    y[flip] = (y[flip] + rng.integers(1, 10, size=len(flip))) % 10
    noisy = df.Dataset.from_arrays(train.X, y, ids=train.ids)
    s = compute(noisy, ["tracin_self"], seeds=2, epochs=10)
    is_noisy = np.zeros(train.n, bool)
    is_noisy[flip] = True
    assert roc_auc_score(is_noisy, s["tracin_self"]) > 0.8
