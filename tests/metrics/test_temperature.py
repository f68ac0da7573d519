"""Temperature scaling: closed-form cases, torch as an independent NLL, and the before/after report."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from datafactors import DataError
from datafactors.metrics import (
    BIN_COUNTS,
    CALIBRATION_METRICS,
    CalibrationReport,
    calibration_metrics,
    calibration_report,
    fit_temperature,
    temperature_scale,
)


def calibrated_logits(n, c=4, shift=1.0, seed=0):
    """Gaussian logits with the true class shifted: the Bayes posterior is softmax(shift * z)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    z = rng.normal(size=(n, c))
    z[np.arange(n), y] += shift
    return shift * z, y  # calibrated logits


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_temperature_scale_by_hand():
    # logits ln .8, ln .2 halved: sqrt(.8) / (sqrt(.8) + sqrt(.2)) = 2/3
    np.testing.assert_allclose(temperature_scale([[0.8, 0.2]], 2.0), [[2 / 3, 1 / 3]], atol=1e-12)
    # T = 1/2 squares the odds: .64 / (.64 + .04)
    np.testing.assert_allclose(temperature_scale([[0.8, 0.2]], 0.5), [[0.64 / 0.68, 0.04 / 0.68]], atol=1e-12)
    np.testing.assert_allclose(temperature_scale([[1.0, 2.0, 3.0]], 1.0, logits=True), softmax(np.array([[1, 2, 3.0]])))


def test_temperature_scale_keeps_argmax_and_sums():
    z, _ = calibrated_logits(500, c=5, seed=1)
    p = softmax(z)
    for t in (0.2, 1.0, 7.0):
        q = temperature_scale(p, t)
        np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-12)
        assert (q.argmax(axis=1) == p.argmax(axis=1)).all()
    np.testing.assert_allclose(temperature_scale(p, 1.0), p, atol=1e-10)


@pytest.mark.parametrize("factor", [0.4, 1.0, 3.0])
def test_fit_recovers_the_distortion(factor):
    z, y = calibrated_logits(40_000, seed=2)
    fit = fit_temperature(z * factor, y, logits=True)
    assert fit.temperature == pytest.approx(factor, rel=0.05)
    assert fit.nll_after <= fit.nll_before + 1e-12
    assert not fit.at_bound and fit.n_fit == 40_000


def test_fit_minimises_nll_computed_by_torch():
    # Independent objective: torch's cross-entropy on z / T; our T must beat every grid point.
    z, y = calibrated_logits(3000, seed=3)
    z = z * 2.5 + np.random.default_rng(3).normal(0, 0.5, z.shape)
    fit = fit_temperature(softmax(z), y)
    zt, yt = torch.from_numpy(z), torch.from_numpy(y)

    def torch_nll(t):
        return float(torch.nn.functional.cross_entropy(zt / t, yt))

    grid = np.exp(np.linspace(np.log(0.5), np.log(10), 150))
    best_grid = grid[np.argmin([torch_nll(t) for t in grid])]
    assert fit.temperature == pytest.approx(best_grid, rel=0.02)
    assert torch_nll(fit.temperature) <= min(torch_nll(t) for t in grid) + 1e-9
    assert fit.nll_after == pytest.approx(torch_nll(fit.temperature), abs=1e-9)
    assert fit.nll_before == pytest.approx(torch_nll(1.0), abs=1e-9)


def test_uniform_predictions_give_t_equal_one():
    fit = fit_temperature(np.full((10, 4), 0.25), np.arange(10) % 4)
    assert fit.temperature == 1.0 and fit.nll_before == fit.nll_after == pytest.approx(np.log(4))


def test_separable_confident_model_hits_the_lower_bound():
    # always right with margin: NLL keeps falling as T -> 0, so T ends on the bound and says so
    p = np.array([[0.7, 0.3], [0.2, 0.8]] * 20)
    y = np.array([0, 1] * 20)
    fit = fit_temperature(p, y, bounds=(0.05, 20.0))
    assert fit.at_bound and fit.temperature == pytest.approx(0.05, rel=1e-3)


# --- calibration_report ---------------------------------------------------------------


@pytest.fixture(scope="module")
def overconfident():
    z, y = calibrated_logits(5000, c=4, seed=4)
    return softmax(3.0 * z), y


def test_report_fits_on_holdout_and_evaluates_the_rest(overconfident):
    p, y = overconfident
    rep = calibration_report(p, y, seed=0)
    assert isinstance(rep, CalibrationReport)
    assert rep.fit_idx.size == 1000 and rep.eval_idx.size == 4000
    assert np.intersect1d(rep.fit_idx, rep.eval_idx).size == 0
    assert rep.temperature == pytest.approx(fit_temperature(p[rep.fit_idx], y[rep.fit_idx]).temperature)
    assert rep.temperature == pytest.approx(3.0, rel=0.1)
    ev = rep.eval_idx
    want_before = calibration_metrics(p[ev], y[ev])
    want_after = calibration_metrics(temperature_scale(p[ev], rep.temperature), y[ev])
    assert list(rep.metrics.index) == list(CALIBRATION_METRICS)
    for k in CALIBRATION_METRICS:
        assert rep.before[k] == pytest.approx(want_before[k], abs=1e-9), k
        assert rep.after[k] == pytest.approx(want_after[k], abs=1e-9), k
    # scaling never changes the predicted class; it fixes over-confidence
    assert rep.after["accuracy"] == rep.before["accuracy"]
    for k in ("nll", "ece", "ece_mass", "ks", "brier"):
        assert rep.after[k] < rep.before[k], k


def test_report_is_deterministic_for_a_seed(overconfident):
    p, y = overconfident
    a, b, c = (calibration_report(p, y, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.fit_idx, b.fit_idx)
    assert a.temperature == b.temperature
    assert not np.array_equal(a.fit_idx, c.fit_idx)


def test_report_sweep_covers_every_bin_count(overconfident):
    p, y = overconfident
    rep = calibration_report(p, y)
    sw = rep.sweep
    assert list(sw.columns) == ["binning", "n_bins", "metric", "before", "after"]
    assert len(sw) == 2 * len(BIN_COUNTS) * 3
    assert sorted(sw["n_bins"].unique()) == list(BIN_COUNTS)
    row = sw[(sw.binning == "width") & (sw.n_bins == 15) & (sw.metric == "ece")].iloc[0]
    assert row.before == pytest.approx(rep.before["ece"], abs=1e-12)
    assert row.after == pytest.approx(rep.after["ece"], abs=1e-12)
    frame = rep.to_frame()
    assert {"metric", "binning", "n_bins", "before", "after", "source", "temperature", "n_fit", "n_eval"} <= set(
        frame.columns
    )
    assert len(frame) == len(CALIBRATION_METRICS) + len(sw)
    assert frame.loc[frame.metric == "ks", "n_bins"].iloc[0] == 0
    assert not frame[["before", "after"]].isna().any().any()


def test_given_temperature_evaluates_every_row(overconfident):
    p, y = overconfident
    rep = calibration_report(p, y, temperature=2.0)
    assert rep.fit is None and rep.fit_idx.size == 0 and rep.eval_idx.size == len(y)
    assert rep.after["nll"] == pytest.approx(calibration_metrics(temperature_scale(p, 2.0), y)["nll"], abs=1e-9)


def test_logits_input_equals_probability_input(overconfident):
    p, y = overconfident
    a = calibration_report(p, y)
    b = calibration_report(np.log(p) + 5.0, y, logits=True)
    assert a.temperature == pytest.approx(b.temperature, rel=1e-6)


def test_probs_not_summing_to_one_raise_unless_renormalized():
    p = np.array([[0.6, 0.3], [0.2, 0.8], [0.5, 0.5], [0.9, 0.1]])
    y = [0, 1, 0, 0]
    with pytest.raises(DataError, match="row 0 sums to 0.9"):
        calibration_report(p, y)
    with pytest.warns(UserWarning, match="renormalized 1 of 4 probs rows"):
        rep = calibration_report(p, y, renormalize=True, holdout=0.5)
    fixed = p.copy()
    fixed[0] /= 0.9
    assert rep.temperature == calibration_report(fixed, y, holdout=0.5).temperature
    with pytest.raises(DataError, match="sums to 0"):
        calibration_report([[0.0, 0.0], [0.5, 0.5]], [0, 1], renormalize=True)
    with pytest.raises(DataError, match="non-negative"):
        calibration_report([[-0.5, 1.5], [0.5, 0.5]], [0, 1], renormalize=True)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: calibration_report([[0.5, 0.5], [0.4, 0.6]], [0, 2]), "must be in \\[0, 2\\)"),
        (lambda: calibration_report([[0.5, 0.5]], [0]), "need >= 2"),
        (lambda: calibration_report([[0.5, 0.5]] * 3, [0] * 3, holdout=1.0), "holdout == 1.0"),
        (lambda: calibration_report([[0.5, 0.5]] * 3, [0] * 3, n_bins=0), "n_bins == 0"),
        (lambda: calibration_report([[0.5, 0.5]] * 3, [0] * 3, bin_counts=[5, -1]), "n_bins == -1"),
        (lambda: calibration_report([[0.5, 0.5]] * 3, [0] * 3, temperature=0.0), "temperature == 0.0"),
        (lambda: temperature_scale([[0.5, 0.5]], float("nan")), "temperature == nan"),
        (lambda: temperature_scale([[0.5, 0.6]], 2.0), "sums to 1.1"),
        (lambda: fit_temperature([[0.5, 0.5]], [0], bounds=(2.0, 1.0)), "bounds"),
        (lambda: fit_temperature([[np.inf, 0.0]], [0], logits=True), "logits contains NaN or inf"),
        (lambda: fit_temperature([[1.0, 0.0]], [3], logits=True), "must be in \\[0, 2\\)"),
    ],
)
def test_bad_inputs_raise(call, match):
    with pytest.raises(DataError, match=match):
        call()
