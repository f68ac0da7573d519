"""datacomp-filters: the quality-score filter beats a random subset of the same size; shuffled scores do not."""

import numpy as np
import pytest

import datafactors as df
from datafactors.recipes import REGISTRY
from datafactors.recipes.datacomp_filters import FULL_SEEDS, noisy_pool, sine_waves


def test_registered_with_its_control():
    r = REGISTRY.get("datacomp-filters")
    assert r.paper.startswith("DataComp") and "random subset" in r.claim
    assert "shuffled" in r.control


def test_sine_waves_are_standardised_to_the_target_scale():
    w = sine_waves(5, 40, 2.0, np.random.default_rng(0))
    assert w.shape == (5, 40) and w.dtype == np.float32
    np.testing.assert_allclose(w.std(axis=1), 2.0, rtol=1e-5)
    np.testing.assert_allclose(w.mean(axis=1), 0.0, atol=1e-5)


@pytest.mark.slow
def test_quality_filter_beats_random_and_shuffled_scores_do_not():
    d = noisy_pool(0)
    kind, q = d["kind"], d["quality"]
    # the planted pool: 30% of the digits mislabeled, 45% off-target; the score sees the mislabeled rows
    assert np.mean(kind[:3000] == "mislabeled") == pytest.approx(0.3, abs=0.03)
    assert np.mean(kind == "junk") == pytest.approx(2500 / 5500)
    assert np.median(q[kind == "mislabeled"]) < 0.7 * np.median(q[kind == "clean"])
    # full size: the gain is ~3 points and 2 seeds cannot pin it above 1 point (quick is not held)
    res = df.recipes.run("datacomp-filters", seed=0)
    ctl = df.recipes.run("datacomp-filters", seed=0, control=True)
    assert res.held and not ctl.held
    assert res.seeds == list(range(FULL_SEEDS))
    (gain,) = res.effects
    assert 2.0 < gain.estimate < 5.0
    shares = res.details.groupby("arm")[["clean", "mislabeled", "junk"]].mean()
    assert shares.loc["quality", "mislabeled"] < shares.loc["random", "mislabeled"] / 2
    assert shares.loc["quality", "clean"] > shares.loc["random", "clean"] + 0.08
    # control: the shuffled-score filter keeps a random-looking subset and gains nothing
    (c_gain,) = ctl.effects
    assert c_gain.lo < 0 < c_gain.hi
    c_shares = ctl.details.groupby("arm")[["clean", "mislabeled", "junk"]].mean()
    assert abs(c_shares.loc["quality", "mislabeled"] - c_shares.loc["random", "mislabeled"]) < 0.02
