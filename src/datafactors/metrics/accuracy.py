"""Accuracy family: accuracy, negative log-likelihood and Brier score of predicted probabilities.

Every public function takes ``probs`` of shape ``(n_samples, n_classes)`` (rows are
probability vectors) and integer labels ``y`` of shape ``(n_samples,)``, validates them
once with :func:`check_probs_labels`, then calls a private ``_compute_*`` that trusts its
input (the calibration module and :func:`datafactors.metrics.evaluate` reuse those).
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike

from .._errors import DataError

__all__ = ["accuracy", "brier", "check_probs_labels", "nll"]

# Rows of probs must sum to 1 within this tolerance (float32 softmax outputs drift ~1e-6).
ROW_SUM_TOL = 1e-3


def check_probs_labels(probs: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate predicted probabilities and labels; return them as float64 / int64 arrays.

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
        Finite values in [0, 1]; every row sums to 1 within 1e-3.
    y : array-like of shape (n_samples,)
        Integer class labels in ``[0, n_classes)``. Floats are accepted when integral.

    Returns
    -------
    probs : ndarray of shape (n_samples, n_classes), float64
    y : ndarray of shape (n_samples,), int64

    Raises
    ------
    DataError
        Naming the problem and the value received.
    """
    p = _check_probs(probs)
    n, c = p.shape
    return p, _check_labels(y, n, c)


def _check_probs(probs: ArrayLike) -> np.ndarray:
    """The probs half of :func:`check_probs_labels`."""
    try:
        p = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"probs must be a numeric array of shape (n_samples, n_classes): {exc}") from None
    if p.ndim != 2:
        raise DataError(f"probs has shape {p.shape}, must be 2-D (n_samples, n_classes)")
    n, c = p.shape
    if n < 1:
        raise DataError(f"probs has {n} rows, must have at least 1 example")
    if c < 1:
        raise DataError(f"probs has {c} columns, must have at least 1 class")
    if not np.all(np.isfinite(p)):
        bad = int(np.argmax(~np.isfinite(p).all(axis=1)))
        raise DataError(f"probs contains NaN or inf (first in row {bad}: {p[bad].tolist()})")
    if p.min() < -ROW_SUM_TOL or p.max() > 1 + ROW_SUM_TOL:
        raise DataError(f"probs has values in [{p.min():.6g}, {p.max():.6g}], must be in [0, 1]")
    sums = p.sum(axis=1)
    off = np.abs(sums - 1.0) > ROW_SUM_TOL
    if off.any():
        bad = int(np.argmax(off))
        raise DataError(
            f"probs row {bad} sums to {sums[bad]:.6g}, every row must sum to 1 (within {ROW_SUM_TOL}); "
            "pass softmax outputs, not logits"
        )
    return p


def _check_labels(y: ArrayLike, n: int, c: int) -> np.ndarray:
    """Integer labels in ``[0, c)``, one per row of an ``(n, c)`` probs matrix."""
    yy = np.asarray(y)
    if yy.ndim != 1:
        raise DataError(f"y has shape {yy.shape}, must be 1-D (n_samples,)")
    if yy.shape[0] != n:
        raise DataError(f"y has {yy.shape[0]} labels but probs has {n} rows, must match")
    if yy.dtype.kind == "b" or yy.dtype.kind not in "iuf":
        raise DataError(f"y has dtype {yy.dtype}, must hold integer class labels")
    if yy.dtype.kind == "f":
        if not np.all(np.isfinite(yy)) or not np.all(yy == np.round(yy)):
            raise DataError("y holds non-integer values, must hold integer class labels")
    yi = yy.astype(np.int64)
    lo, hi = int(yi.min()), int(yi.max())
    if lo < 0 or hi >= c:
        raise DataError(f"y has labels in [{lo}, {hi}], must be in [0, {c}) for probs with {c} columns")
    return yi


def accuracy(probs: ArrayLike, y: ArrayLike) -> float:
    """Fraction of examples whose most probable class is the true class.

    ``accuracy = (1/n) sum_i 1[argmax_c p_ic == y_i]`` (ties go to the lowest class index).

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
    y : array-like of shape (n_samples,)

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> accuracy([[0.9, 0.1], [0.4, 0.6]], [0, 0])
    0.5
    """
    p, yi = check_probs_labels(probs, y)
    return _compute_accuracy(p, yi)


def nll(probs: ArrayLike, y: ArrayLike, eps: float = 1e-12) -> float:
    """Mean negative log-probability of the true class (cross-entropy, natural log).

    ``nll = -(1/n) sum_i log(max(p_{i, y_i}, eps))``; ``eps`` keeps a zero probability finite.

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
    y : array-like of shape (n_samples,)
    eps : float, default 1e-12
        Floor on the true-class probability, > 0.

    Returns
    -------
    float >= 0 (lower is better)

    Examples
    --------
    >>> round(nll([[0.5, 0.5], [0.25, 0.75]], [0, 1]), 4)  # -(ln .5 + ln .75)/2
    0.4904
    """
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not (0 < float(eps) < 1):
        raise DataError(f"eps == {eps!r}, must be a float in (0, 1)")
    p, yi = check_probs_labels(probs, y)
    return _compute_nll(p, yi, float(eps))


def brier(probs: ArrayLike, y: ArrayLike) -> float:
    """Multi-class Brier score: mean over examples of the squared distance to the one-hot label.

    ``brier = (1/n) sum_i sum_c (p_ic - 1[y_i == c])**2``, in [0, 2].

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
    y : array-like of shape (n_samples,)

    Returns
    -------
    float in [0, 2] (lower is better)

    Examples
    --------
    >>> round(brier([[0.75, 0.25]], [0]), 4)  # 0.25**2 + 0.25**2
    0.125
    """
    p, yi = check_probs_labels(probs, y)
    return _compute_brier(p, yi)


def _compute_accuracy(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(p, axis=1) == y))


def _compute_nll(p: np.ndarray, y: np.ndarray, eps: float = 1e-12) -> float:
    true_p = p[np.arange(p.shape[0]), y]
    return float(-np.mean(np.log(np.clip(true_p, eps, None))))


def _compute_brier(p: np.ndarray, y: np.ndarray) -> float:
    # sum_c (p_c - 1[c == y])**2 = sum_c p_c**2 - 2 p_y + 1, without building the one-hot matrix.
    sq = np.einsum("ij,ij->i", p, p)
    return float(np.mean(sq - 2.0 * p[np.arange(p.shape[0]), y] + 1.0))
