"""Effective robustness: models on the baseline line score 0, shifts are recovered exactly."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit

from datafactors import DataError
from datafactors.metrics import effective_robustness, fit_robustness_line, ood_gap

S, C = 0.8, -0.5
BASE_ID = np.array([0.5, 0.6, 0.7, 0.8, 0.9])
BASE_OOD = expit(S * logit(BASE_ID) + C)


def test_fit_recovers_line():
    s, c = fit_robustness_line(BASE_ID, BASE_OOD)
    assert s == pytest.approx(S, abs=1e-10)
    assert c == pytest.approx(C, abs=1e-10)


def test_model_on_baseline_line_has_zero_er():
    id_acc = 0.65
    ood_acc = float(expit(S * logit(id_acc) + C))
    er = effective_robustness(id_acc, ood_acc, BASE_ID, BASE_OOD)
    assert isinstance(er, float)
    assert er == pytest.approx(0.0, abs=1e-12)


def test_hand_case_identity_line():
    # Baselines with ID == OOD give s = 1, c = 0: the expected OOD accuracy equals ID accuracy,
    # so a model at (0.6 ID, 0.7 OOD) is 0.1 above the line and (0.6, 0.5) is 0.1 below.
    base = [0.3, 0.5, 0.9]
    assert effective_robustness(0.6, 0.7, base, base) == pytest.approx(0.1, abs=1e-12)
    assert effective_robustness(0.6, 0.5, base, base) == pytest.approx(-0.1, abs=1e-12)


def test_array_inputs_return_array():
    ids = np.array([0.55, 0.75, 0.85])
    shift = np.array([0.0, 0.05, -0.02])
    ood = expit(S * logit(ids) + C) + shift
    er = effective_robustness(ids, ood, BASE_ID, BASE_OOD)
    assert isinstance(er, np.ndarray) and er.shape == (3,)
    np.testing.assert_allclose(er, shift, atol=1e-12)


def test_least_squares_with_noisy_baselines():
    rng = np.random.default_rng(0)
    ids = rng.uniform(0.3, 0.95, 30)
    ood = expit(S * logit(ids) + C + rng.normal(0, 0.05, 30))
    s, c = fit_robustness_line(ids, ood)
    s_ref, c_ref = np.polyfit(logit(ids), logit(ood), 1)
    assert (s, c) == pytest.approx((s_ref, c_ref), abs=1e-10)


def test_perfect_accuracy_is_clipped_not_infinite():
    er = effective_robustness(1.0, 1.0, [0.5, 1.0], [0.4, 1.0])
    assert np.isfinite(er)
    # 1.0 clips to 1 - 1e-6 inside the logits, so the line predicts 1 - 1e-6; the observed
    # OOD accuracy (unclipped) is 1.0, leaving ER = 1e-6
    assert er == pytest.approx(1e-6, abs=1e-12)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0.5, 0.5, [0.6], [0.5]), "need >= 2 baseline models"),
        ((0.5, 0.5, [0.6, 0.6, 0.6], [0.5, 0.4, 0.3]), "distinct ID accuracy"),
        ((0.5, 0.5, [0.6, 0.7], [0.5]), "baseline_id has 2 models but baseline_ood has 1"),
        ((0.5, 0.5, [0.6, 1.2], [0.5, 0.6]), "baseline_id has values in"),
        ((0.5, 0.5, [0.6, np.nan], [0.5, 0.6]), "baseline_id contains NaN"),
        ((0.5, 0.5, [[0.6, 0.7]], [[0.5, 0.6]]), "must be 1-D"),
        ((0.5, 0.5, [], []), "baseline_id is empty"),
        ((-0.1, 0.5, [0.6, 0.7], [0.5, 0.6]), "id_acc has values in"),
        (([0.5, 0.6], 0.5, [0.6, 0.7], [0.5, 0.6]), "id_acc has shape \\(2,\\) but ood_acc has shape \\(\\)"),
        (("x", 0.5, [0.6, 0.7], [0.5, 0.6]), "id_acc must be numeric"),
    ],
)
def test_bad_inputs_raise(args, match):
    with pytest.raises(DataError, match=match):
        effective_robustness(*args)


def test_ood_gap_by_hand():
    assert ood_gap(0.9, 0.6) == pytest.approx(0.3)
    gap = ood_gap([0.9, 0.5], [0.95, 0.5])
    assert isinstance(gap, np.ndarray)
    np.testing.assert_allclose(gap, [-0.05, 0.0], atol=1e-12)
    with pytest.raises(DataError, match="id_acc has shape \\(2,\\) but ood_acc has shape \\(3,\\)"):
        ood_gap([0.9, 0.5], [0.1, 0.2, 0.3])
    with pytest.raises(DataError, match="ood_acc has values in"):
        ood_gap(0.9, 1.5)
