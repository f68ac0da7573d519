"""unforgettable recipe: the synthetic tasks, forgetting generalization, the claim and its control."""

import math

import numpy as np
import pytest

from datafactors.recipes import REGISTRY
from datafactors.recipes import unforgettable as uf
from datafactors.recipes.unforgettable import AMBIENT, TASK_DIMS, _normalised_drop, make_tasks, sample_task

TEST_SIZE = {"pretrain_epochs": 30}  # the quick run, shorter pre-training (about 32 s of CPU with the control)


def test_registered_with_paper_claim_and_control():
    r = REGISTRY.get("unforgettable")
    assert r.paper and "varies" in r.claim and "identical" in r.control


def test_normalised_drop():
    assert _normalised_drop(0.9, 0.5, 0.1) == pytest.approx(0.5)
    assert _normalised_drop(0.9, 0.1, 0.1) == pytest.approx(1.0)
    assert _normalised_drop(0.9, 0.9, 0.1) == 0.0
    assert math.isnan(_normalised_drop(0.1, 0.1, 0.1))


def test_tasks_differ_only_in_intrinsic_dimension():
    tasks = make_tasks(TASK_DIMS, 0)
    rng = np.random.default_rng(0)
    for k, d in enumerate(TASK_DIMS):
        U, V = tasks[k]
        assert U.shape == (AMBIENT, d) and V.shape == (3, d)
        np.testing.assert_allclose(U.T @ U, np.eye(d), atol=1e-10)
        X, y = sample_task(tasks, k, 400, rng)
        assert X.shape == (400, AMBIENT + len(TASK_DIMS)) and X.dtype == np.float32
        # inputs span exactly d dimensions, at the same scale for every task
        assert np.linalg.matrix_rank(X[:, :AMBIENT].astype(np.float64), tol=1e-3) == min(d, 400)
        assert np.mean(np.sum(X[:, :AMBIENT] ** 2, 1)) == pytest.approx(AMBIENT, rel=0.15)
        # the task indicator and the task's own three classes
        assert (X[:, AMBIENT + k] == 3.0).all() and X[:, AMBIENT:].sum(1).max() == 3.0
        assert set(np.unique(y)) <= {3 * k, 3 * k + 1, 3 * k + 2} and len(np.unique(y)) == 3
    assert make_tasks(TASK_DIMS, 0)[1][0].tobytes() == tasks[1][0].tobytes()  # seeded


@pytest.mark.slow
def test_unforgettable_claim_and_identical_tasks_control():
    res = uf.run_unforgettable(seed=0, quick=True, **TEST_SIZE)
    ctl = uf.run_unforgettable(seed=0, quick=True, control=True, **TEST_SIZE)
    assert res.seeds == ctl.seeds == [0, 1]
    d = res.details
    assert len(d) == 4 * 2 and (d.test_accuracy_before > 0.85).all()
    spread, forget_set, probe = res.effects
    # forgetting generalizes fully on some tasks and halfway on others; every forget set goes to chance
    assert spread.held and 0.6 < spread.estimate < 1.0, str(res)
    assert forget_set.held and abs(forget_set.estimate) < 0.1
    # the probe loses about 4 points on average (most on the high-dimensional tasks): its interval sits on
    # the -0.05 margin here, and below it at full size, so its verdict is not pinned
    assert -0.06 < probe.estimate < -0.02
    pb = d.groupby("intrinsic_dim")[["probe_before", "probe_after"]].mean()
    assert pb.loc[2, "probe_after"] > 0.98 and (pb.probe_after > 0.8).all()
    # forgetting generalizes most on the least variable task and least on the most variable one
    fg = d.groupby("intrinsic_dim").forgetting_generalization.mean()
    assert fg.loc[2] > 0.9 and fg.loc[64] < 0.75
    assert not ctl.held, str(ctl)
    c_spread = ctl.effects[0]
    assert not c_spread.held and c_spread.estimate < 0.25
    assert set(ctl.details.intrinsic_dim) == {16}
