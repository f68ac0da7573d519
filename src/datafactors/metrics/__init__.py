"""Evaluation metrics as pure functions: arrays in, numbers out.

Families: accuracy (:func:`accuracy`, :func:`nll`, :func:`brier`), calibration
(:func:`ece`, :func:`mce`, :func:`classwise_ece`, :func:`reliability_bins`), robustness
(:func:`effective_robustness`) and concurrence (:func:`concurrence`).
:func:`evaluate` returns the standard set the experiment runner records.

>>> import datafactors as df
>>> df.metrics.evaluate([[0.9, 0.1], [0.2, 0.8]], [0, 1])["accuracy"]
1.0
"""

from __future__ import annotations

from .accuracy import accuracy, brier, check_probs_labels, nll
from .calibration import classwise_ece, ece, evaluate, mce, reliability_bins
from .concurrence import concurrence
from .robustness import effective_robustness, fit_robustness_line

__all__ = [
    "accuracy",
    "brier",
    "check_probs_labels",
    "classwise_ece",
    "concurrence",
    "ece",
    "effective_robustness",
    "evaluate",
    "fit_robustness_line",
    "mce",
    "nll",
    "reliability_bins",
]
