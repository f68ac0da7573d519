"""Evaluation metrics as pure functions: arrays in, numbers out.

Families: accuracy (:func:`accuracy`, :func:`nll`, :func:`brier`), calibration
(:func:`ece`, :func:`mce`, :func:`classwise_ece`, :func:`ks_error`, :func:`reliability_bins`,
:func:`bin_sweep`, :func:`calibration_metrics`), temperature scaling
(:func:`fit_temperature`, :func:`temperature_scale`, :func:`calibration_report`), groups
(:func:`group_accuracy`, :func:`worst_group_accuracy`), robustness
(:func:`effective_robustness`, :func:`ood_gap`), supervision gap recovered
(:func:`supervision_gap_recovered`) and concurrence (:func:`concurrence`,
:func:`saturation_simulation`). :func:`evaluate` returns the standard set the experiment
runner records.

Bad input: probabilities whose rows do not sum to 1 (within 1e-3), values outside
[0, 1], NaN/inf and labels outside ``[0, n_classes)`` raise ``DataError``; nothing is
renormalised silently (``calibration_report(..., renormalize=True)`` rescales and warns).

>>> import datafactors as df
>>> df.metrics.evaluate([[0.9, 0.1], [0.2, 0.8]], [0, 1])["accuracy"]
1.0
"""

from __future__ import annotations

from .accuracy import accuracy, brier, check_probs_labels, nll
from .calibration import (
    BIN_COUNTS,
    CALIBRATION_METRICS,
    bin_sweep,
    calibration_metrics,
    classwise_ece,
    ece,
    evaluate,
    ks_error,
    mce,
    reliability_bins,
)
from .concurrence import concurrence, saturation_simulation
from .groups import group_accuracy, worst_group_accuracy
from .robustness import effective_robustness, fit_robustness_line, ood_gap
from .sgr import SGRResult, supervision_gap_recovered
from .temperature import CalibrationReport, TemperatureFit, calibration_report, fit_temperature, temperature_scale

__all__ = [
    "BIN_COUNTS",
    "CALIBRATION_METRICS",
    "CalibrationReport",
    "SGRResult",
    "TemperatureFit",
    "accuracy",
    "bin_sweep",
    "brier",
    "calibration_metrics",
    "calibration_report",
    "check_probs_labels",
    "classwise_ece",
    "concurrence",
    "ece",
    "effective_robustness",
    "evaluate",
    "fit_robustness_line",
    "fit_temperature",
    "group_accuracy",
    "ks_error",
    "mce",
    "nll",
    "ood_gap",
    "reliability_bins",
    "saturation_simulation",
    "supervision_gap_recovered",
    "temperature_scale",
    "worst_group_accuracy",
]
