"""The inductive-bias recipe: the manifold tasks, the claim and its control (intrinsic dimension held at 2)."""

import numpy as np
import pytest

import datafactors as df
from datafactors.factors import intrinsic_dimension
from datafactors.recipes import REGISTRY
from datafactors.recipes.inductive_bias import _slopes, manifold_task


def test_registered_with_paper_claim_and_control():
    r = REGISTRY.get("inductive-bias")
    assert "Boopathy" in r.paper and "intrinsic dimension" in r.claim
    assert "held at 2" in r.control


def test_manifold_task_lies_in_its_subspace_with_separated_classes():
    X, y, Q, cent = manifold_task(3, 200, np.random.default_rng(0))
    assert X.shape == (200, 32) and set(np.unique(y)) <= {0, 1, 2, 3}
    np.testing.assert_allclose(X @ Q @ Q.T, X, atol=1e-9)  # the data lie in a 3-D subspace
    Z = X @ Q  # the latent points: the class is the nearest centre, by more than the margin
    d = np.sort(np.linalg.norm(Z[:, None] - cent[None], axis=2), axis=1)
    assert (d[:, 1] - d[:, 0] > 0.05).all()
    # a test set of the same task: same basis and centres passed back
    Xt, yt, Q2, c2 = manifold_task(3, 50, np.random.default_rng(1), basis=Q, centres=cent)
    assert Q2 is Q and c2 is cent and np.allclose(Xt @ Q @ Q.T, Xt)


def test_control_task_collapses_the_extra_latent_axes():
    rng = np.random.default_rng(3)
    X, y, Q, cent = manifold_task(6, 800, rng, active=2)
    np.testing.assert_allclose(X @ Q[:, :2] @ Q[:, :2].T, X, atol=1e-9)  # only 2 axes vary
    assert np.all(cent[:, 2:] == 0)
    assert abs(intrinsic_dimension(X, seed=0) - 2) < 0.5
    X6, *_ = manifold_task(6, 800, np.random.default_rng(3))
    assert intrinsic_dimension(X6, seed=0) > 4
    with pytest.raises(ValueError, match="active"):
        manifold_task(3, 10, rng, active=4)


def test_slopes_are_least_squares():
    dims = np.array([2.0, 4.0, 6.0])
    v = np.array([[1.0, 3.0, 5.0], [0.0, 0.0, 6.0]])
    np.testing.assert_allclose(_slopes(dims, v), [1.0, 1.5])


@pytest.mark.slow
def test_inductive_bias_quick_and_control():
    res = df.recipes.run("inductive-bias", quick=True)
    ctl = df.recipes.run("inductive-bias", quick=True, control=True)
    assert res.held and not ctl.held
    assert res.seeds == ctl.seeds == [0, 1]
    d, c = res.details, ctl.details
    assert sorted(set(d["dimension"])) == [2, 4, 6] and len(d) == 6
    assert np.all(np.abs(d["mle_dimension"] - d["dimension"]) < 1.5)  # the MLE sees the generated dimension
    assert np.all(np.abs(c["mle_dimension"] - 2) < 0.5)  # ... and the control's 2
    nats_slope, step, bits_slope = res.effects
    # measured: ~335 nats/dim (0.2 nats at m = 2, ~1300 at m = 6), ~0.86 log10 bits per dimension
    assert nats_slope.estimate > 50 and 0.6 < bits_slope.estimate < 1.2
    c_nats, c_step, c_bits = ctl.effects
    assert abs(c_bits.estimate) < 0.1 and c_nats.lo < 1 and abs(c_nats.estimate) < 10
