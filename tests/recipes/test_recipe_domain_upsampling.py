"""domain-upsampling: the target domain upsampled at the end lifts its benchmark; another domain upsampled does not."""

import numpy as np
import pytest

import datafactors as df
from datafactors.recipes import REGISTRY
from datafactors.recipes.domain_upsampling import (
    N_GENERAL,
    N_OTHER,
    N_TARGET,
    UP_SHARE,
    final_mix,
    to_other,
    to_target,
)


def test_registered_with_its_control():
    r = REGISTRY.get("domain-upsampling")
    assert "spark joy" in r.paper and "10-20%" in r.claim
    assert "irrelevant" in r.control


def test_domains_reorder_every_row_the_same_fixed_way():
    X = np.arange(2 * 40, dtype=float).reshape(2, 40)
    t, o = to_target(X), to_other(X)
    # one fixed order of the 40 samples per domain, the same for every row and every call
    order_t, order_o = t[0].astype(int), o[0].astype(int)
    np.testing.assert_array_equal(t[1], X[1, order_t])
    np.testing.assert_array_equal(to_target(X), t)
    assert sorted(order_t) == list(range(40)) and sorted(order_o) == list(range(40))
    assert (order_t != order_o).mean() > 0.8 and (order_t != np.arange(40)).mean() > 0.8


def test_final_mix_upsamples_one_domain_and_keeps_the_others_ratio():
    mix = final_mix("target")
    assert sum(mix.values()) == pytest.approx(1.0)
    assert mix["target"] == UP_SHARE
    assert mix["general"] / mix["other"] == pytest.approx(N_GENERAL / N_OTHER)
    ctl = final_mix("other")
    assert ctl["other"] == UP_SHARE and ctl["general"] / ctl["target"] == pytest.approx(N_GENERAL / N_TARGET)


@pytest.mark.slow
def test_upsampling_the_target_domain_lifts_its_benchmark_and_another_domain_does_not():
    res = df.recipes.run("domain-upsampling", quick=True, seed=0)
    ctl = df.recipes.run("domain-upsampling", quick=True, seed=0, control=True)
    assert res.held and not ctl.held
    assert res.seeds == [0, 1]
    (gain,) = res.effects
    assert 2.0 < gain.estimate < 6.0
    d = res.details
    assert set(d["arm"]) == {"natural", "upsampled"} and set(d["upsampled"]) == {"target"}
    nat = d[d.arm == "natural"]
    # the target benchmark is harder than the general one: its domain is 10% of the mix
    assert (nat["target_accuracy"] < nat["general_accuracy"] - 0.08).all()
    # control: the natural arm is the same run; upsampling the other domain lowers target accuracy
    (c_gain,) = ctl.effects
    assert c_gain.estimate < 0
    np.testing.assert_allclose(ctl.details.loc[ctl.details.arm == "natural", "target_accuracy"], nat["target_accuracy"])
