"""TorchLearner.fit(schedule=...): per-step sampling weights, domain phases, and the default path untouched."""

import math

import numpy as np
import pytest
import torch

import datafactors as df
from datafactors.learners import make_learner
from datafactors.learners.mlp import TorchLearner
from datafactors.select.mixture import upsampling_schedule


class _Recorder(torch.nn.Module):
    """Linear classifier that records column 0 of every training batch (the row index here)."""

    def __init__(self, d, c, log):
        super().__init__()
        self.lin = torch.nn.Linear(d, c)
        self.log = log

    def forward(self, x):
        if self.training:
            self.log.append(x[:, 0].detach().numpy().round().astype(int).copy())
        return self.lin(x)


def _index_ds(n=40, groups=None):
    X = np.c_[np.arange(n, dtype=float), np.random.default_rng(0).normal(size=(n, 2))]
    return df.Dataset.from_arrays(X, np.arange(n) % 2, groups=groups)


def _recording_learner(log, batch_size=8):
    # standardize=False keeps column 0 equal to the row index inside the model
    return TorchLearner(lambda d, c: _Recorder(d, c, log), batch_size=batch_size, standardize=False, lr=1e-3)


def test_schedule_is_called_every_step_with_the_step_count():
    ds = _index_ds(40)
    calls = []

    def sched(step, total):
        calls.append((step, total))
        return np.ones(40)

    _recording_learner([]).fit(ds, epochs=2.5, seed=0, schedule=sched)
    total = math.ceil(2.5 * math.ceil(40 / 8))
    assert calls == [(t, total) for t in range(total)]


def test_rows_with_zero_weight_are_never_drawn_and_the_weights_are_followed():
    ds = _index_ds(40)
    log = []
    w = np.zeros(40)
    w[[3, 7, 11]] = [1.0, 1.0, 2.0]
    _recording_learner(log).fit(ds, epochs=20, seed=1, schedule=lambda s, t: w)
    drawn = np.concatenate(log)
    assert set(drawn.tolist()) == {3, 7, 11}
    assert len(drawn) == 20 * 40  # same number of steps and batch sizes as without a schedule
    share = np.mean(drawn == 11)
    assert 0.45 < share < 0.55  # weight 2 of 4


def test_upsampling_switches_the_mix_at_the_switch_step():
    groups = np.array(["web"] * 30 + ["math"] * 10)
    ds = _index_ds(40, groups=groups)
    log = []
    sched = upsampling_schedule("math", 0.5, target_weights={"math": 1.0}, domains=groups)
    _recording_learner(log, batch_size=10).fit(ds, epochs=10, seed=2, schedule=sched)
    total = 10 * 4
    assert len(log) == total
    switch = sched.switch_steps(total)[1]
    assert switch == 20
    late = np.concatenate(log[switch:])
    early = np.concatenate(log[:switch])
    assert (late >= 30).all()  # only math rows after the switch
    assert 0.15 < np.mean(early >= 30) < 0.35  # natural share 0.25 before it


def test_schedule_bound_to_the_training_groups_and_deterministic():
    groups = np.array(["web"] * 30 + ["math"] * 10)
    ds = _index_ds(40, groups=groups)
    sched = upsampling_schedule("math", 0.2)  # domains read from ds.groups at fit
    a = make_learner("mlp", hidden=[8]).fit(ds, epochs=3, seed=4, schedule=sched).predict_proba(ds.X)
    b = make_learner("mlp", hidden=[8]).fit(ds, epochs=3, seed=4, schedule=sched).predict_proba(ds.X)
    np.testing.assert_array_equal(a, b)
    c = make_learner("mlp", hidden=[8]).fit(ds, epochs=3, seed=4).predict_proba(ds.X)
    assert not np.array_equal(a, c)


def test_default_path_unchanged_by_schedule_none():
    ds = _index_ds(40)
    a = make_learner("mlp", hidden=[8]).fit(ds, epochs=3, seed=5, record_dynamics=True)
    b = make_learner("mlp", hidden=[8]).fit(ds, epochs=3, seed=5, record_dynamics=True, schedule=None)
    np.testing.assert_array_equal(a.predict_proba(ds.X), b.predict_proba(ds.X))
    np.testing.assert_array_equal(a.dynamics.probs, b.dynamics.probs)


def test_recording_dynamics_with_a_schedule():
    ds = _index_ds(40)
    lrn = make_learner("mlp", hidden=[8]).fit(
        ds, epochs=3, seed=0, record_dynamics=True, schedule=lambda s, t: np.ones(40)
    )
    assert lrn.dynamics.probs.shape == (3, 40, 2)


@pytest.mark.parametrize(
    "sched, msg",
    [
        (lambda s, t: np.ones(39), r"weights of shape \(39,\) at step 0, expected \(40,\)"),
        (lambda s, t: -np.ones(40), "must be finite, >= 0 and not all zero"),
        (lambda s, t: np.zeros(40), "must be finite, >= 0 and not all zero"),
        (lambda s, t: np.full(40, np.nan), "must be finite"),
        ("uniform", "schedule must be callable"),
    ],
)
def test_bad_schedules(sched, msg):
    with pytest.raises(df.ConfigError, match=msg):
        make_learner("mlp", hidden=[4]).fit(_index_ds(40), epochs=1, seed=0, schedule=sched)


# ----------------------------------------------------------------------------- dynamics under a schedule (issue 15)


def test_dynamics_record_which_rows_each_epoch_presented():
    ds = _index_ds(40)
    log = []
    lrn = _recording_learner(log).fit(ds, epochs=4, seed=3, record_dynamics=True, schedule=lambda s, t: np.ones(40))
    steps_per_epoch = 5
    want = np.zeros((4, 40), bool)
    for k, rows in enumerate(log[: 4 * steps_per_epoch]):
        want[k // steps_per_epoch, rows] = True
    assert not want.all()  # drawn with replacement, so some rows miss an epoch
    np.testing.assert_array_equal(lrn.dynamics.presented, want)
    assert not lrn.dynamics.seen_correct[~want].any()
    # epoch-wise shuffling presents every row every epoch and records no mask
    assert _recording_learner([]).fit(ds, epochs=2, seed=3, record_dynamics=True).dynamics.presented is None


def _blobs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, 2)) + np.where(y[:, None] == 1, 6.0, -6.0)
    return df.Dataset.from_arrays(X, y)


def _random_half(n, steps_per_epoch):
    def sched(step, total):
        # a fresh random half of the rows each epoch
        w = np.zeros(n)
        w[np.random.default_rng(step // steps_per_epoch).permutation(n)[: n // 2]] = 1.0
        return w

    return sched


@pytest.mark.parametrize("kind", ["uniform", "half"])
def test_no_forgetting_on_a_separable_set_trained_with_a_sampling_schedule(kind):
    # Rows not drawn in an epoch used to count as wrong: ~9 forgetting events per example here.
    from datafactors.scores import compute

    ds = _blobs()
    sched = (lambda s, t: np.ones(ds.n)) if kind == "uniform" else _random_half(ds.n, math.ceil(ds.n / 32))
    lrn = make_learner("mlp", hidden=[16], lr=1e-2, batch_size=32).fit(
        ds, epochs=30, seed=0, record_dynamics=True, schedule=sched
    )
    assert (lrn.predict_proba(ds.X).argmax(1) == ds.y).all()
    out = compute(ds, ["forgetting", "cartography"], dynamics=[lrn.dynamics])
    assert np.isfinite(out["forgetting"]).all()
    assert out["forgetting"].mean() <= 0.05
    assert out["correctness"].min() >= 0.9
    assert 0.3 < lrn.dynamics.presented.mean() < 0.8  # each epoch drew a subset
