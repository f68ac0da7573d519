"""Per-example gradient norms and dot products against a naive loop of loss.backward()."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from datafactors import DataError
from datafactors.learners import LinearFactors, grad_dot, per_sample_grad_norms, per_sample_linear_grads


def _mlp(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(40, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


class _ConvNet(nn.Module):
    """A model that is not Linear-only, so it takes the torch.func path."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 4, kernel_size=5)
        self.norm = nn.LayerNorm(4 * 36)
        self.head = nn.Sequential(nn.Tanh(), nn.Linear(4 * 36, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm(self.conv(x.unsqueeze(1)).flatten(1)))


def _data(n: int = 50, d: int = 40, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randint(0, 10, (n,), generator=g)


def _loop_grads(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Flattened per-example gradients over trainable parameters, one backward per example."""
    params = [p for p in model.parameters() if p.requires_grad]
    rows = []
    was_training = model.training
    model.eval()
    for i in range(len(X)):
        model.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(X[i : i + 1]), y[i : i + 1], reduction="sum")
        loss.backward()
        rows.append(torch.cat([p.grad.reshape(-1) for p in params]).double().numpy())
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return np.stack(rows)


def _close(got: np.ndarray, want: np.ndarray) -> None:
    # float32 gradients: absolute 1e-5, or relative 1e-5 for larger values.
    assert np.all(np.abs(got - want) <= np.maximum(1e-5, 1e-5 * np.abs(want))), np.max(np.abs(got - want))


def test_mlp_norms_match_loop():
    model, (X, y) = _mlp(), _data()
    want = np.linalg.norm(_loop_grads(model, X, y), axis=1)
    got = per_sample_grad_norms(model, X, y)
    assert got.shape == (50,) and got.dtype == np.float64
    assert np.max(np.abs(got - want)) <= 1e-5


def test_conv_model_takes_fallback_and_matches_loop():
    torch.manual_seed(0)
    model = _ConvNet()
    X, y = _data()
    want = np.linalg.norm(_loop_grads(model, X, y), axis=1)
    _close(per_sample_grad_norms(model, X, y), want)
    _close(per_sample_grad_norms(model, X, y, batch_size=7), want)


def test_custom_module_wrapping_linears_matches_loop():
    class Wrapped(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = _mlp()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x * 2.0)

    model, (X, y) = Wrapped(), _data()
    _close(per_sample_grad_norms(model, X, y), np.linalg.norm(_loop_grads(model, X, y), axis=1))


def test_frozen_parameters_are_left_out():
    model, (X, y) = _mlp(), _data(n=20)
    model[0].weight.requires_grad_(False)
    model[4].bias.requires_grad_(False)
    want = np.linalg.norm(_loop_grads(model, X, y), axis=1)
    _close(per_sample_grad_norms(model, X, y), want)
    f = per_sample_linear_grads(model, X, y)
    assert [(layer.weight, layer.bias) for layer in f] == [(False, True), (True, True), (True, False)]
    _close(np.sqrt(np.diag(grad_dot(f, f))), want)


def test_grad_dot_matches_explicit_dot_products():
    model = _mlp()
    Xa, ya = _data(n=30, seed=2)
    Xb, yb = _data(n=17, seed=3)
    Ga, Gb = _loop_grads(model, Xa, ya), _loop_grads(model, Xb, yb)
    fa = per_sample_linear_grads(model, Xa, ya, batch_size=8)
    fb = per_sample_linear_grads(model, Xb, yb)
    assert [layer.a.shape for layer in fa] == [(30, 40), (30, 64), (30, 64)]
    assert [layer.delta.shape for layer in fa] == [(30, 64), (30, 64), (30, 10)]
    want = Ga @ Gb.T
    got = grad_dot(fa, fb, block_size=7)
    assert got.shape == (30, 17)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    np.testing.assert_allclose(np.sqrt(np.diag(grad_dot(fa, fa))), per_sample_grad_norms(model, Xa, ya), rtol=1e-6)


@pytest.mark.parametrize("make", [_mlp, _ConvNet])
def test_model_state_is_untouched(make):
    torch.manual_seed(0)
    model = make()
    model.train()
    next(model.parameters()).requires_grad_(False)
    for p in model.parameters():
        p.grad = torch.full_like(p, 0.5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [m.training for m in model.modules()]
    X, y = _data()
    per_sample_grad_norms(model, X, y, batch_size=16)
    if isinstance(model, nn.Sequential):
        per_sample_linear_grads(model, X, y)
    assert [m.training for m in model.modules()] == flags and model.training
    assert not next(model.parameters()).requires_grad
    assert all(p.requires_grad for p in list(model.parameters())[1:])
    assert all(torch.equal(p.grad, torch.full_like(p, 0.5)) for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(not m._forward_hooks and not m._backward_hooks for m in model.modules())


def test_dropout_runs_in_eval_mode():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(40, 32), nn.Dropout(0.5), nn.GELU(), nn.Linear(32, 10)).train()
    X, y = _data(n=20)
    want = np.linalg.norm(_loop_grads(model, X, y), axis=1)
    _close(per_sample_grad_norms(model, X, y), want)
    assert model.training


def test_batch_size_does_not_change_result():
    model, (X, y) = _mlp(), _data()
    full = per_sample_grad_norms(model, X, y)
    for bs in (1, 7, 16, 49):
        np.testing.assert_allclose(per_sample_grad_norms(model, X, y, batch_size=bs), full, rtol=1e-6)


def test_float64_model_and_no_grad_context():
    model, (X, y) = _mlp().double(), _data()
    want = np.linalg.norm(_loop_grads(model, X.double(), y), axis=1)
    with torch.no_grad():
        got = per_sample_grad_norms(model, X, y)  # float32 X is cast to the model's dtype
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_shared_linear_falls_back():
    torch.manual_seed(0)
    shared = nn.Linear(16, 16)
    model = nn.Sequential(nn.Linear(40, 16), nn.Tanh(), shared, nn.Tanh(), shared, nn.Linear(16, 10))
    X, y = _data(n=12)
    _close(per_sample_grad_norms(model, X, y), np.linalg.norm(_loop_grads(model, X, y), axis=1))
    assert all(isinstance(p, nn.Parameter) for p in model.parameters())
    with pytest.raises(DataError, match="more than once"):
        per_sample_linear_grads(model, X, y)


def test_linear_grads_rejects_other_modules():
    with pytest.raises(DataError, match="Conv1d"):
        per_sample_linear_grads(_ConvNet(), *_data(n=4))


def test_grad_dot_hand_computed():
    a = np.array([[1.0, 2.0], [0.0, 1.0]])
    d = np.array([[1.0], [3.0]])
    f = [LinearFactors(a, d, "", True, True)]
    # <g_0, g_1> = (a0.a1)(d0.d1) + d0.d1 = 2*3 + 3
    np.testing.assert_array_equal(grad_dot(f, f), [[5 * 1 + 1, 9.0], [9.0, 1 * 9 + 9]])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"batch_size": 0}, "batch_size == 0"), ({"y": torch.zeros(3)}, "integer class indices")],
)
def test_bad_input_names_the_parameter(kwargs, match):
    X, y = _data(n=4)
    args = {"y": y, **kwargs}
    with pytest.raises(DataError, match=match):
        per_sample_grad_norms(_mlp(), X, args.pop("y"), **args)


def test_mismatched_rows_and_no_trainable_parameters():
    X, y = _data(n=4)
    with pytest.raises(DataError, match="rows"):
        per_sample_grad_norms(_mlp(), X, y[:3])
    model = _mlp().requires_grad_(False)
    with pytest.raises(DataError, match="no trainable"):
        per_sample_grad_norms(model, X, y)


def test_empty_input():
    assert per_sample_grad_norms(_mlp(), torch.zeros(0, 40), torch.zeros(0, dtype=torch.long)).shape == (0,)
