"""scaling-predictable: a power law with a negative exponent predicts the largest budget; random labels have none."""

import pytest

import datafactors as df
from datafactors.recipes import REGISTRY
from datafactors.recipes.scaling_predictable import SIZES, _relative_error


def test_registered_with_its_control():
    r = REGISTRY.get("scaling-predictable")
    assert "Hestness" in r.paper and "power law" in r.claim
    assert "random" in r.control


def test_relative_error_over_the_prediction_interval():
    # measured 0.5, prediction 0.52 in [0.45, 0.6]: 4% at the estimate, 0 to 20% over the interval
    assert _relative_error(0.52, 0.45, 0.6, 0.5) == pytest.approx((0.04, 0.0, 0.2))
    # an interval that misses the measured error: its near end is the lower bound
    assert _relative_error(0.6, 0.55, 0.7, 0.5) == pytest.approx((0.2, 0.1, 0.4))


@pytest.mark.slow
def test_learning_curve_predicts_and_random_labels_have_no_power_law():
    res = df.recipes.run("scaling-predictable", quick=True, seed=0)
    ctl = df.recipes.run("scaling-predictable", quick=True, seed=0, control=True)
    assert not res.held and not ctl.held
    assert res.seeds == [0, 1] and len(res.details) == len(SIZES) * 2
    beta, rel = res.effects
    assert beta.held and -0.3 < beta.estimate < -0.1  # inside the paper's range of exponents
    # the point prediction is accurate (1.5% off), but the curve bends under fixed epochs: the
    # same backtest one level down (n <= 1000 predicting 2000) misses by ~7%, and the honest
    # interval that adds this shape error reaches ~15% relative error, past the 10% margin
    assert rel.estimate < 0.05 and 0.1 < rel.hi < 0.25 and not rel.held
    assert 0.03 < res.measured["backtest shape error (log scale)"] < 0.15
    err = res.details.groupby("n_train")["err"].mean()
    assert err.is_monotonic_decreasing and err.iloc[0] - err.iloc[-1] > 0.25
    # control: error at chance at every size; a flat curve is "predicted" by a flat fit, but
    # the exponent's interval reaches 0 (flat refits): no predictable improvement
    c_err = ctl.details.groupby("n_train")["err"].mean()
    assert c_err.between(0.85, 0.95).all()
    c_beta, c_rel = ctl.effects
    assert c_beta.hi == 0.0 and not c_beta.held
    assert c_rel.held
