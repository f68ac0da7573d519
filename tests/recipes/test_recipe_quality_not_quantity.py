"""quality-not-quantity: a shortcut source dilutes the robust source's effective robustness; a same-quality one does not."""

import numpy as np
import pytest

import datafactors as df
from datafactors.recipes import REGISTRY
from datafactors.recipes.quality_not_quantity import CODE_SCALE, with_code


def test_registered_with_its_control():
    r = REGISTRY.get("quality-not-quantity")
    assert r.paper.startswith("Quality Not Quantity") and "dilutes" in r.claim
    assert "no shortcut" in r.control


@pytest.mark.parametrize("p_right", [0.9, 0.0])
def test_with_code_plants_a_code_that_names_the_class_p_of_the_time(p_right):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 20_000)
    X = rng.normal(size=(20_000, 3)).astype(np.float32)
    Z = with_code(X, y, p_right, rng)
    assert Z.shape == (20_000, 13) and Z.dtype == np.float32
    np.testing.assert_array_equal(Z[:, :3], X)
    # the true class's code feature is CODE_SCALE when the code names it (p + (1 - p) / 10), else noise
    at_true = Z[np.arange(len(y)), 3 + y].mean()
    assert at_true == pytest.approx(CODE_SCALE * (p_right + (1 - p_right) / 10), abs=0.05)


@pytest.mark.slow
def test_shortcut_source_dilutes_robustness_and_a_same_quality_source_does_not():
    res = df.recipes.run("quality-not-quantity", quick=True, seed=0)
    ctl = df.recipes.run("quality-not-quantity", quick=True, seed=0, control=True)
    assert res.held and not ctl.held
    assert res.seeds == ctl.seeds == [0, 1]
    robust, dilution = res.effects
    # the robust source sits ~20 points of OOD accuracy above the shortcut-only line ...
    assert 0.15 < robust.estimate < 0.3 and 0.15 < robust.lo
    # ... and twice as many shortcut-source rows take 4-11 points of it away
    assert 0.04 < dilution.estimate < 0.11
    d = res.details
    assert (d["kind"] == "baseline").sum() == 6 and len(d) == 6 + 2 * 2
    assert d.loc[d.kind == "baseline", "er"].abs().max() < 0.05  # baselines lie on their own line
    # the mix reads the shortcut: much higher ID accuracy, OOD accuracy hardly better
    mix, rob = d[d.kind == "mix"], d[d.kind == "robust"]
    assert mix["id_acc"].mean() > rob["id_acc"].mean() + 0.2
    assert abs(mix["ood_acc"].mean() - rob["ood_acc"].mean()) < 0.04
    # control: the same rows without the shortcut raise ER (more data of the robust kind), no dilution
    c_robust, c_dilution = ctl.effects
    assert c_robust.estimate == pytest.approx(robust.estimate)  # the robust arm is unchanged
    assert c_dilution.hi < 0
    assert "same-quality" in c_dilution.label
