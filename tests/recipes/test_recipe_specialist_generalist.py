"""specialist-generalist recipe: the three arms' budgets, the claim and its unrelated-general-data control."""

import numpy as np
import pytest

from datafactors.recipes import REGISTRY
from datafactors.recipes import specialist_generalist as sg


def test_registered_with_paper_claim_and_control():
    r = REGISTRY.get("specialist-generalist")
    assert r.paper and "general data" in r.claim and "shuffled" in r.control


@pytest.mark.slow
def test_specialist_generalist_claim_and_unrelated_general_control():
    # the quick run: the full-size data and training, two seeds (about 40 s of CPU with the control)
    res = sg.run_specialist_generalist(seed=0, quick=True)
    ctl = sg.run_specialist_generalist(seed=0, quick=True, control=True)
    assert res.seeds == ctl.seeds == [0, 1]
    d = res.details.set_index(["seed", "arm"])
    n = res.sizes["n_specialist"]
    assert n == 1000 and res.sizes["n_general"] == 4000
    for s in res.seeds:
        # equal epochs: five times the samples; equal samples: the general rows replace specialist passes
        assert d.loc[(s, "alone"), "n_train"] == n and d.loc[(s, "mix_equal_epochs"), "n_train"] == 5 * n
        seen = d.loc[s, "samples_seen"]
        assert seen["mix_equal_epochs"] == 5 * seen["alone"] and seen["mix_equal_samples"] == seen["alone"]
    assert res.held, str(res)
    eq_epochs, eq_samples = res.effects
    # about 7-8 points at both budgets: the general rows teach the shared skill, not just more steps
    assert 0.04 < eq_epochs.estimate < 0.12 and 0.03 < eq_samples.estimate < 0.11
    assert d.loc[(0, "alone"), "specialist_accuracy"] > 0.12  # above chance (0.1) even alone
    # the same specialist data and seeds: the "alone" arm is identical in the control
    np.testing.assert_allclose(
        res.details[res.details.arm == "alone"].specialist_accuracy,
        ctl.details[ctl.details.arm == "alone"].specialist_accuracy,
    )
    # general data that share no skill with the task do not help, at either budget
    assert not ctl.held, str(ctl)
    assert all(e.estimate < 0 for e in ctl.effects)
