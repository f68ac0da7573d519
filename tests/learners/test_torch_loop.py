"""The shared PyTorch loop (learners/_torch.py): step counting, seeding, threads, checkpoints, settings."""

import numpy as np
import pandas as pd
import pytest
import torch

import datafactors as df
from datafactors.learners import Standardizer, make_learner
from datafactors.learners._torch import (
    EpochRecorder,
    ScheduleSampler,
    StepPlan,
    checkpoint_epochs,
    plan_steps,
    run_epochs,
    seeded,
    torch_threads,
)
from datafactors.learners.mlp import TorchLearner


def _ds(n=10, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return df.Dataset.from_arrays(X, np.arange(n) % 2)


def _seq_ds():
    X = np.array([[1, 2, 0], [2, 1, 1], [3, 3, 0], [1, 3, 2]] * 3, dtype=np.float32)
    out = [" ".join("abc"[int(t) - 1] for t in r if t) for r in X]
    return df.Dataset.from_arrays(X, [len(o.split()) % 2 for o in out], extra=pd.DataFrame({"output": out}))


# ----------------------------------------------------------------------------- step counting


def test_fractional_epochs_hand_computed():
    # n=10, batch 4: an epoch is 3 steps (4, 4, 2); 1.5 epochs -> ceil(4.5) = 5 steps, 1 full epoch
    assert plan_steps(10, 1.5, 4) == StepPlan(batch_size=4, steps_per_epoch=3, total_steps=5, n_full_epochs=1)
    sizes, ks, epochs_done = [], [], []
    rows = []
    plan = run_epochs(
        10,
        epochs=1.5,
        batch_size=4,
        rng=np.random.default_rng(0),
        step=lambda idx, k: (sizes.append(len(idx)), ks.append(k), rows.append(idx.copy())),
        on_epoch=lambda: epochs_done.append(len(ks)),
    )
    assert sizes == [4, 4, 2, 4, 4]
    assert ks == [0, 1, 2, 3, 4]
    assert epochs_done == [3]  # after the one full epoch only, not after the partial one
    assert plan.n_full_epochs == 1 and plan.total_steps == 5
    # whole-epoch shuffles: one permutation of all rows per epoch, drawn in order from the seed's rng
    ref = np.random.default_rng(0)
    first, second = ref.permutation(10), ref.permutation(10)
    np.testing.assert_array_equal(np.concatenate(rows[:3]), first)
    np.testing.assert_array_equal(np.concatenate(rows[3:]), second[:8])


def test_fractional_epochs_through_a_learner_record_one_epoch():
    steps = []

    class Counting(torch.nn.Module):
        def __init__(self, d, c):
            super().__init__()
            self.lin = torch.nn.Linear(d, c)

        def forward(self, x):
            if self.training:
                steps.append(len(x))
            return self.lin(x)

    lrn = TorchLearner(Counting, batch_size=4).fit(_ds(10), epochs=1.5, seed=0, record_dynamics=True)
    assert steps == [4, 4, 2, 4, 4]
    assert lrn.dynamics.probs.shape == (1, 10, 2)
    assert lrn.dynamics.grad_norms.shape == (2, 10)  # at init and after the full epoch


def test_batch_larger_than_n_and_tiny_epochs():
    assert plan_steps(3, 1, 128) == StepPlan(3, 1, 1, 1)
    assert plan_steps(10, 0.01, 4) == StepPlan(4, 3, 1, 0)  # at least one step
    assert plan_steps(30, 0.1, 1).total_steps == 3  # float noise in 0.1 * 30 adds no step


def test_record_dynamics_without_a_full_epoch_names_epochs():
    with pytest.raises(df.ConfigError, match=r"full epoch; epochs == 0\.5"):
        make_learner("mlp", hidden=[4], batch_size=4).fit(_ds(10), epochs=0.5, seed=0, record_dynamics=True)


def test_schedule_keeps_step_count_and_batch_sizes():
    ds = _ds(10)
    sizes, calls = [], []

    def sched(step, total):
        calls.append((step, total))
        w = np.zeros(10)
        w[[1, 2]] = 1.0
        return w

    rows = []
    run_epochs(
        10,
        epochs=1.5,
        batch_size=4,
        rng=np.random.default_rng(0),
        step=lambda idx, k: (sizes.append(len(idx)), rows.append(idx)),
        sampler=ScheduleSampler(sched, ds),
    )
    assert sizes == [4, 4, 2, 4, 4]
    assert calls == [(k, 5) for k in range(5)]
    assert set(np.concatenate(rows).tolist()) <= {1, 2}


# ----------------------------------------------------------------------------- seeding


LEARNERS = [
    ("mlp", {"hidden": [6], "batch_size": 4}),
    ("divdis", {"hidden": [6], "heads": 2, "batch_size": 4}),
    ("dbat", {"hidden": [6], "batch_size": 4}),
    ("adanpc", {"hidden": [6], "batch_size": 4, "k": 3}),
    ("prefix", {"hidden": [6], "batch_size": 4}),
    ("seq", {"d_model": 8, "n_heads": 2, "n_layers": 1, "dropout": 0.2, "batch_size": 4}),
]


def _params(lrn):
    models = getattr(lrn, "models_", None) or [lrn.model_]
    return [p.detach().clone() for m in models for p in m.parameters()]


@pytest.mark.parametrize("name, kw", LEARNERS, ids=[n for n, _ in LEARNERS])
def test_same_seed_same_params_and_global_rng_untouched(name, kw):
    ds = _seq_ds() if name == "seq" else _ds(12)
    torch.manual_seed(1234)
    np.random.seed(99)
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    a = make_learner(name, **kw).fit(ds, epochs=2, seed=3, record_dynamics=True)
    b = make_learner(name, **kw).fit(ds, epochs=2, seed=3, record_dynamics=True)
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1]) and after[2:] == np_state[2:]
    pa, pb = _params(a), _params(b)
    assert len(pa) == len(pb) > 0
    assert all(torch.equal(u, v) for u, v in zip(pa, pb, strict=True))
    np.testing.assert_array_equal(a.dynamics.probs, b.dynamics.probs)
    c = make_learner(name, **kw).fit(ds, epochs=2, seed=4)
    assert not all(torch.equal(u, v) for u, v in zip(pa, _params(c), strict=True))


def test_seeded_does_not_touch_torch_global_generator():
    torch.manual_seed(0)
    state = torch.get_rng_state()
    w1 = seeded(5, lambda: torch.nn.Linear(3, 2)).weight.detach()
    w2 = seeded(5, lambda: torch.nn.Linear(3, 2)).weight.detach()
    assert torch.equal(w1, w2)
    assert torch.equal(torch.get_rng_state(), state)


# ----------------------------------------------------------------------------- checkpoints


def test_checkpoint_epochs_as_documented():
    assert checkpoint_epochs(10, 3) == {4, 7, 10}  # ceil(10/3), ceil(20/3), ceil(30/3)
    assert checkpoint_epochs(10, 1) == {10}
    assert checkpoint_epochs(10, 5) == {2, 4, 6, 8, 10}
    assert checkpoint_epochs(3, 10) == {1, 2, 3}
    assert checkpoint_epochs(10, 0) == set()
    assert checkpoint_epochs(0, 3) == set()


def test_learner_keeps_the_checkpoints_of_those_epochs():
    lrn = make_learner("mlp", hidden=[4], batch_size=4, max_checkpoints=3, lr=0.01)
    lrn.fit(_ds(10), epochs=10.5, seed=0, record_dynamics=True)  # 10 full epochs, then half of one
    ck = lrn.dynamics.checkpoints
    assert [e for e, _, _ in ck] == [4, 7, 10]
    assert all(lr == 0.01 for _, lr, _ in ck)
    # the last checkpoint is epoch 10's parameters, not the final (mid-epoch-11) ones
    final = lrn.model_.state_dict()
    assert not all(torch.equal(ck[-1][2][k], final[k]) for k in final)
    assert (
        make_learner("mlp", hidden=[4], max_checkpoints=0)
        .fit(_ds(10), epochs=2, seed=0, record_dynamics=True)
        .dynamics.checkpoints
        is None
    )


# ----------------------------------------------------------------------------- threads


def test_threads_pinned_during_fit_and_restored_after_an_error():
    seen = []

    class Failing(torch.nn.Module):
        def __init__(self, d, c):
            super().__init__()
            self.lin = torch.nn.Linear(d, c)

        def forward(self, x):
            seen.append(torch.get_num_threads())
            if self.training and len(seen) > 2:
                raise RuntimeError("boom")
            return self.lin(x)

    prev = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            TorchLearner(Failing, batch_size=4, n_threads=1).fit(_ds(10), epochs=2, seed=0)
        assert seen and set(seen) == {1}
        assert torch.get_num_threads() == 2
        with pytest.raises(ValueError), torch_threads(1):
            assert torch.get_num_threads() == 1
            raise ValueError
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(prev)


# ----------------------------------------------------------------------------- recorder and settings


def test_recorder_restores_the_model_mode_and_allows_an_empty_record():
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    ds = _ds(6)
    X, y = torch.from_numpy(ds.X.astype(np.float32)), torch.from_numpy(ds.y)
    rec = EpochRecorder(X, y, True)
    rec.start(model)
    model.train()
    rec.epoch(model)
    assert model.training
    d = rec.dynamics(ds, 0)
    # a softmax over 2 classes of a linear model: rows sum to 1, loss = -log p_y
    np.testing.assert_allclose(d.probs[0].sum(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(d.losses[0], -np.log(d.probs[0][np.arange(6), ds.y]), rtol=1e-5)
    empty = EpochRecorder(X, y, True)
    empty.start(model)
    e = empty.dynamics(ds, 0, allow_empty=True)
    assert e.probs.shape == (0, 6, 2) and e.grad_norms.shape == (1, 6)
    assert EpochRecorder(X, y, False).dynamics(ds, 0) is None


@pytest.mark.parametrize("name, kw", LEARNERS, ids=[n for n, _ in LEARNERS])
@pytest.mark.parametrize(
    "param, value, msg",
    [
        ("batch_size", 0, "batch_size == 0, must be an int >= 1"),
        ("lr", -1.0, r"lr == -1\.0, must be > 0"),
        ("weight_decay", -0.5, r"weight_decay == -0\.5, must be >= 0"),
        ("n_threads", True, "n_threads == True, must be an int >= 1"),
    ],
)
def test_shared_settings_validated_by_name(name, kw, param, value, msg):
    ds = _seq_ds() if name == "seq" else _ds(8)
    with pytest.raises(df.ConfigError, match=msg):
        make_learner(name, **{**kw, param: value}).fit(ds, epochs=1, seed=0)


def test_public_names():
    from datafactors import learners
    from datafactors.learners import _grad

    assert learners.per_sample_grad_norms is _grad.per_sample_grad_norms
    assert learners.LinearFactors is _grad.LinearFactors
    s = Standardizer(np.array([[0.0, 5.0], [2.0, 5.0]]))
    np.testing.assert_array_equal(s(np.array([[1.0, 5.0], [3.0, 5.0]])), [[0.0, 0.0], [2.0, 0.0]])
    with pytest.raises(AttributeError):
        learners.no_such_name  # noqa: B018
