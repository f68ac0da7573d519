"""The data-diet recipe: its pieces, its quick run and its negative control (EL2N scores shuffled)."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import datafactors as df
from datafactors.recipes import REGISTRY
from datafactors.recipes.data_diet import AUROC_MARGIN, auroc, el2n_runs, flip_labels
from datafactors.scores import compute, train_dynamics


def test_registry_lists_recipes():
    assert "data-diet" in REGISTRY.names()
    r = REGISTRY.get("data-diet")
    assert "Data Diet" in r.paper and "EL2N" in r.claim and r.control == "EL2N scores shuffled across examples"
    with pytest.raises(df.ConfigError, match="Did you mean 'data-diet'"):
        df.recipes.run("data-dit")


def test_auroc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 5, size=300).astype(float)  # many ties
    pos = rng.random(300) < 0.2 + 0.1 * s
    assert auroc(s, pos) == pytest.approx(roc_auc_score(pos, s))
    assert auroc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([False, False, True, True])) == 0.75
    assert np.isnan(auroc(s, np.zeros(300, dtype=bool)))


def test_flip_labels_moves_exactly_the_share_to_other_classes():
    ds = df.Dataset.from_arrays(np.zeros((200, 1)), np.arange(200) % 4)
    noisy, mask = flip_labels(ds, 0.1, seed=3)
    assert mask.sum() == 20
    assert (noisy.y[mask] != ds.y[mask]).all() and (noisy.y[~mask] == ds.y[~mask]).all()
    again, mask2 = flip_labels(ds, 0.1, seed=3)
    assert (again.y == noisy.y).all() and (mask2 == mask).all()


def test_el2n_runs_stop_the_proxy_at_the_early_epoch():
    digits = df.io.load_builtin("digits").train.subset(np.arange(200))
    runs = el2n_runs(digits, [1, 2], epochs=20)  # early epoch = ceil(0.1 * 20) = 2
    assert runs.shape == (2, 200) and (runs >= 0).all() and (runs <= np.sqrt(2)).all()
    # the same numbers as the library's EL2N read at epoch 2 of longer runs (constant learning rate)
    params = {"hidden": [128, 128], "batch_size": 128, "lr": 0.002}
    dyn = train_dynamics(digits, learner="mlp", seeds=[1, 2], epochs=3, learner_params=params)
    ref = compute(digits, [("el2n", {"epoch": 2})], dynamics=dyn)["el2n"].to_numpy()
    np.testing.assert_allclose(runs.mean(axis=0), ref, rtol=1e-6)


def _effects(res):
    return {e.label.split(" (points)")[0].split(" for ")[0]: e for e in res.effects}


@pytest.mark.slow
def test_data_diet_quick_and_its_control():
    res = df.recipes.run("data-diet", quick=True, seed=0)
    ctl = df.recipes.run("data-diet", quick=True, seed=0, control=True)
    assert res.seeds == ctl.seeds == [0, 1] and ctl.is_control
    assert res.sizes["mnist1d train"] == 1500 and res.sizes["digits train"] == 1438
    assert set(res.details["arm"]) == {"full", "el2n_hardest", "random"}
    assert len(res.details) == 2 * 3 * 2 * 2  # data sets x arms x seeds x runs per seed
    e, c = _effects(res), _effects(ctl)
    # What the data say at this size (seed 0): keeping the hardest half by EL2N is far worse
    # than a random half on MNIST-1D (about -20 points; the paper's claim fails there) and
    # no better than random on digits, so the claim does not hold ...
    assert not res.held
    assert e["mnist1d: EL2N-hardest 50% minus random 50%, test accuracy"].hi < -10
    assert -2 < e["digits: EL2N-hardest 50% minus random 50%, test accuracy"].estimate < 2
    # ... while EL2N does rank flipped labels first on both (MNIST-1D about 0.8, digits 0.99)
    for name in ("mnist1d", "digits"):
        roc = e[f"{name}: EL2N AUROC"]
        assert roc.held and roc.margin == AUROC_MARGIN
    assert e["digits: EL2N AUROC"].lo > 0.95
    # Control: shuffled scores make "keep the hardest" a random half — the large MNIST-1D
    # effect of the ranking vanishes and the AUROC falls to chance
    assert not ctl.held
    for name in ("mnist1d", "digits"):
        gain = c[f"{name}: EL2N-hardest 50% minus random 50%, test accuracy"]
        assert not gain.held and gain.lo < 0 < gain.hi and abs(gain.estimate) < 2
        roc = c[f"{name}: EL2N AUROC"]
        assert not roc.held and 0.4 < roc.estimate < 0.6
    # the full-data and random arms are the same runs in both settings
    acc = res.details.groupby(["dataset", "arm"])["accuracy"].mean()
    cacc = ctl.details.groupby(["dataset", "arm"])["accuracy"].mean()
    assert acc["digits", "random"] == cacc["digits", "random"] and acc["mnist1d", "full"] == cacc["mnist1d", "full"]
    assert "claim:" in str(res) and "negative control" in str(ctl)
