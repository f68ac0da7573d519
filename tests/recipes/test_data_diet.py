"""The data-diet recipe: measurements are computed and the verdict follows from them."""

import pytest

import datafactors as df
from datafactors.recipes import REGISTRY


def test_registry_lists_recipes():
    assert "data-diet" in REGISTRY.names()
    r = REGISTRY.get("data-diet")
    assert "Data Diet" in r.paper and "EL2N" in r.claim
    with pytest.raises(df.ConfigError, match="Did you mean 'data-diet'"):
        df.recipes.run("data-dit")


@pytest.mark.slow
def test_data_diet_quick():
    res = df.recipes.run("data-diet", quick=True, seed=0)
    m = res.measured
    assert set(res.details["strategy"]) == {"full", "el2n_hardest_50", "random_50"}
    assert len(res.details) == 3 * m["seeds"]
    # the verdict is derived from the numbers, never fixed in advance
    gap = m["full-data accuracy"] - m["EL2N keep-hardest 50% accuracy"]
    gain = m["EL2N keep-hardest 50% accuracy"] - m["random 50% accuracy"]
    assert res.held == (gap <= 0.02 and gain > 0 and m["EL2N AUROC for 10% flipped labels"] >= 0.8)
    assert m["gap to full data (points)"] == pytest.approx(100 * gap)
    # part (b) of the claim holds on MNIST-1D: flipped labels have high EL2N
    assert m["EL2N AUROC for 10% flipped labels"] >= 0.75
    # MNIST-1D's full-data MLP accuracy is about 0.6 (the paper's MLP baseline is in that range)
    assert 0.5 < m["full-data accuracy"] < 0.75
    assert "claim:" in str(res)
