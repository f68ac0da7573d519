"""Robustness family: effective robustness against a baseline ID -> OOD accuracy line.

Following "Quality Not Quantity", baseline models' OOD accuracy is a linear function of
their ID accuracy on the logit scale; a model's *effective robustness* is how far its
OOD accuracy lies above that line.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, logit

from .._errors import DataError

__all__ = ["effective_robustness", "fit_robustness_line", "ood_gap"]

# Accuracies of exactly 0 or 1 have infinite logits; clip as the reference code does.
ACC_CLIP = 1e-6


def fit_robustness_line(baseline_id: ArrayLike, baseline_ood: ArrayLike) -> tuple[float, float]:
    """Least-squares line ``logit(acc_OOD) = s * logit(acc_ID) + c`` through baseline models.

    Parameters
    ----------
    baseline_id, baseline_ood : array-like of shape (n_models,)
        ID and OOD accuracies in [0, 1] of the baseline models; clipped to
        ``[1e-6, 1 - 1e-6]`` before the logit. Needs >= 2 models with distinct ID accuracy.

    Returns
    -------
    (s, c) : tuple of float
        Slope and intercept on the logit scale.

    Examples
    --------
    >>> s, c = fit_robustness_line([0.5, 0.8], [0.5, 0.8])
    >>> round(s, 6), round(c, 6)
    (1.0, 0.0)
    """
    bid = _check_acc(baseline_id, "baseline_id")
    bood = _check_acc(baseline_ood, "baseline_ood")
    if bid.ndim != 1 or bood.ndim != 1:
        raise DataError(
            f"baseline_id and baseline_ood must be 1-D (n_models,), got shapes {bid.shape} and {bood.shape}"
        )
    if bid.shape != bood.shape:
        raise DataError(f"baseline_id has {bid.size} models but baseline_ood has {bood.size}, must match")
    lx = logit(np.clip(bid, ACC_CLIP, 1 - ACC_CLIP))
    ly = logit(np.clip(bood, ACC_CLIP, 1 - ACC_CLIP))
    if np.unique(lx).size < 2:
        raise DataError(
            f"baseline_id == {bid.tolist()}: need >= 2 baseline models with distinct ID accuracy to fit the line"
        )
    s, c = np.polyfit(lx, ly, deg=1)
    return float(s), float(c)


def effective_robustness(
    id_acc: ArrayLike, ood_acc: ArrayLike, baseline_id: ArrayLike, baseline_ood: ArrayLike
) -> float | np.ndarray:
    """Effective robustness: OOD accuracy above what the baseline line predicts from ID accuracy.

    With ``(s, c)`` from :func:`fit_robustness_line` on the baseline models::

        ER = acc_OOD - inv_logit(s * logit(acc_ID) + c)

    where accuracies are clipped to ``[1e-6, 1 - 1e-6]`` inside the logit.

    Parameters
    ----------
    id_acc, ood_acc : float or array-like of shape (n_models,)
        The evaluated model(s): ID and OOD accuracy in [0, 1], same shape.
    baseline_id, baseline_ood : array-like of shape (n_baseline,)
        Baseline models' ID and OOD accuracies (>= 2 with distinct ID accuracy).

    Returns
    -------
    float or ndarray of shape (n_models,)
        A float for scalar inputs; positive means more robust than the baseline trend.

    Examples
    --------
    >>> round(effective_robustness(0.7, 0.7, [0.5, 0.8], [0.5, 0.8]), 6)
    0.0
    """
    ida = _check_acc(id_acc, "id_acc")
    oda = _check_acc(ood_acc, "ood_acc")
    if ida.shape != oda.shape:
        raise DataError(f"id_acc has shape {ida.shape} but ood_acc has shape {oda.shape}, must match")
    s, c = fit_robustness_line(baseline_id, baseline_ood)
    expected = expit(s * logit(np.clip(ida, ACC_CLIP, 1 - ACC_CLIP)) + c)
    er = oda - expected
    if er.ndim == 0:
        return float(er)
    return er


def ood_gap(id_acc: ArrayLike, ood_acc: ArrayLike) -> float | np.ndarray:
    """Accuracy lost under distribution shift: ``gap = acc_ID - acc_OOD``.

    Positive means the model is worse out of distribution. Unlike
    :func:`effective_robustness` it does not account for the fact that better ID models
    also tend to be better OOD; compare gaps only between models of similar ID accuracy.

    Parameters
    ----------
    id_acc, ood_acc : float or array-like of shape (n_models,)
        Accuracies in [0, 1], same shape.

    Returns
    -------
    float or ndarray of shape (n_models,)

    Examples
    --------
    >>> round(ood_gap(0.9, 0.6), 6)
    0.3
    """
    ida = _check_acc(id_acc, "id_acc")
    oda = _check_acc(ood_acc, "ood_acc")
    if ida.shape != oda.shape:
        raise DataError(f"id_acc has shape {ida.shape} but ood_acc has shape {oda.shape}, must match")
    gap = ida - oda
    return float(gap) if gap.ndim == 0 else gap


def _check_acc(values: ArrayLike, name: str) -> np.ndarray:
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be numeric accuracies in [0, 1], got {values!r}") from None
    if a.size == 0:
        raise DataError(f"{name} is empty, must hold at least one accuracy")
    if not np.all(np.isfinite(a)):
        raise DataError(f"{name} contains NaN or inf: {a.tolist()}")
    if a.min() < 0 or a.max() > 1:
        raise DataError(f"{name} has values in [{a.min():.6g}, {a.max():.6g}], accuracies must be in [0, 1]")
    return a
