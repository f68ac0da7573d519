"""A user's own PyTorch module through the Learner protocol — the documented example, run as a test.

Any ``torch.nn.Module`` that maps a batch of feature rows ``(n, d)`` to logits ``(n, C)``
plugs in through :class:`datafactors.learners.mlp.TorchLearner`: pass a factory
``(n_features, n_classes) -> module``. TorchLearner seeds the module's initialisation
(without touching torch's global generator), standardizes the features, trains with
Adam, and records the same per-epoch dynamics as the built-in ``mlp``, so every score,
selector and recipe that takes a Learner takes it::

    import torch
    from datafactors.learners.mlp import TorchLearner

    class Conv1dNet(torch.nn.Module):
        def __init__(self, n_features, n_classes, channels=8):
            super().__init__()
            self.conv = torch.nn.Conv1d(1, channels, kernel_size=5, padding=2)
            self.head = torch.nn.Linear(channels * n_features, n_classes)

        def forward(self, x):                       # x: (n, n_features)
            h = torch.relu(self.conv(x[:, None, :]))  # (n, channels, n_features)
            return self.head(h.flatten(1))           # logits (n, n_classes)

    learner = TorchLearner(lambda d, c: Conv1dNet(d, c), lr=3e-3, batch_size=64)
    learner.fit(train, epochs=10, seed=0, record_dynamics=True)
    probs = learner.predict_proba(test.X)            # (n_test, n_classes)
    scores = df.scores.compute(train, ["el2n", "forgetting"], dynamics=[learner.dynamics])

A factory that is a module-level function or ``functools.partial`` (not a lambda) keeps
recorded dynamics picklable for process-pool engines.
"""

import functools

import numpy as np
import pytest
import torch

import datafactors as df
from datafactors.learners import Learner
from datafactors.learners.mlp import TorchLearner
from datafactors.scores.dynamics_scores import el2n


class Conv1dNet(torch.nn.Module):
    def __init__(self, n_features: int, n_classes: int, channels: int = 8) -> None:
        super().__init__()
        self.conv = torch.nn.Conv1d(1, channels, kernel_size=5, padding=2)
        self.head = torch.nn.Linear(channels * n_features, n_classes)

    def forward(self, x):
        h = torch.relu(self.conv(x[:, None, :]))
        return self.head(h.flatten(1))


@pytest.fixture(scope="module")
def digits():
    return df.load("digits")


def test_documented_user_module_fits_records_and_is_deterministic(digits):
    small = digits.subset(np.arange(300))
    make = functools.partial(Conv1dNet, channels=4)
    a = TorchLearner(make, lr=3e-3, batch_size=64).fit(small, epochs=6, seed=0, record_dynamics=True)
    assert isinstance(a, Learner)
    p = a.predict_proba(digits.X[300:600])
    assert p.shape == (300, 10)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-9)
    assert (p.argmax(1) == digits.y[300:600]).mean() > 0.7  # chance is 0.1
    b = TorchLearner(make, lr=3e-3, batch_size=64).fit(small, epochs=6, seed=0, record_dynamics=True)
    np.testing.assert_array_equal(p, b.predict_proba(digits.X[300:600]))
    d = a.dynamics
    # a conv net is not Linear-only: the per-example gradient norms take the torch.func path
    assert d.probs.shape == (6, 300, 10) and d.grad_norms.shape == (7, 300)
    assert np.isfinite(d.grad_norms).all() and (d.grad_norms > 0).all()
    np.testing.assert_allclose(d.losses, -np.log(d.gold_probs()), rtol=1e-4, atol=1e-5)
    # the recorded dynamics feed the scores like the built-in mlp's
    assert el2n(d.probs[-1], d.y).shape == (300,)
    table = df.scores.compute(small, ["el2n", "forgetting"], dynamics=[d])
    assert len(table) == 300 and table.index.tolist() == small.ids.tolist()
    assert d.checkpoints and isinstance(d.checkpoint_models()[-1][2], Conv1dNet)


def test_user_module_that_is_not_a_module_is_rejected(digits):
    with pytest.raises(df.ConfigError, match="torch.nn.Module"):
        TorchLearner(lambda d, c: "not a module").fit(digits.subset(np.arange(20)), epochs=1, seed=0)
