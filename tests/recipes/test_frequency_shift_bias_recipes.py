"""zero-shot-frequency, crafted-shifts and inductive-bias recipes: verdicts follow from the measurements."""

import time

import numpy as np
import pytest

import datafactors as df
from datafactors.recipes import REGISTRY
from datafactors.recipes.inductive_bias import manifold_task
from datafactors.recipes.zero_shot_frequency import zipf_counts

NAMES = ("zero-shot-frequency", "crafted-shifts", "inductive-bias")


def test_registered_with_paper_and_claim():
    for name in NAMES:
        r = REGISTRY.get(name)
        assert r.paper and r.claim and r.name == name


def test_zipf_counts_and_manifold_task():
    assert zipf_counts(4, top=100, s=1.0).tolist() == [100, 50, 33, 25]
    assert zipf_counts(10).min() >= 2
    X, y, Q, cent = manifold_task(3, 200, np.random.default_rng(0))
    assert X.shape == (200, 32) and set(np.unique(y)) <= {0, 1, 2, 3}
    np.testing.assert_allclose(X @ Q @ Q.T, X, atol=1e-9)  # the data lie in a 3-D subspace


@pytest.mark.slow
def test_zero_shot_frequency_quick():
    t = time.perf_counter()
    res = df.recipes.run("zero-shot-frequency", quick=True)
    assert time.perf_counter() - t < 20
    m, d = res.measured, res.details
    assert set(d.columns) == {"seed", "class", "frequency", "accuracy"} and len(d) == 10 * m["seeds"]
    # the frequencies come from the caption index and equal the Zipf counts
    assert m["frequencies (from the caption index)"] == sorted(set(zipf_counts(10).tolist()))
    a, _, r = df.scaling.fit_frequency(d["frequency"].to_numpy(float), d["accuracy"].to_numpy())
    assert m["slope (accuracy per ln frequency)"] == pytest.approx(a)
    assert res.held == (a > 0 and r >= 0.6 and r > m["Pearson r with raw frequency"])
    assert a > 0  # rare classes are recognised worse


@pytest.mark.slow
def test_crafted_shifts_quick():
    t = time.perf_counter()
    res = df.recipes.run("crafted-shifts", quick=True)
    assert time.perf_counter() - t < 20
    m, d = res.measured, res.details
    assert len(d) == m["models"] * m["seeds"] and {"id_val", "ood_test", "crafted_all"} <= set(d.columns)
    t_id = m["Kendall tau, ID validation vs OOD"]
    t_cr = m["Kendall tau, crafted validation (all families) vs OOD"]
    assert -1 <= t_id <= 1 and -1 <= t_cr <= 1
    assert res.held == (t_cr > t_id)


@pytest.mark.slow
def test_inductive_bias_quick():
    t = time.perf_counter()
    res = df.recipes.run("inductive-bias", quick=True)
    assert time.perf_counter() - t < 20
    d = res.details
    assert d["dimension"].tolist() == [2, 4, 6]
    assert np.all(np.abs(d["mle_dimension"] - d["dimension"]) < 1.5)  # the MLE sees the generated dimension
    increasing = bool(np.all(np.diff(d["log10_bits"]) > 0))
    assert res.held == (increasing and res.measured["Spearman(dimension, exact nats)"] >= 0.8)
    assert increasing
