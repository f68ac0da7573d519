"""Calibration family: ECE (equal-width and equal-mass bins), MCE, classwise ECE, reliability bins.

Binning, shared by every function here
--------------------------------------
``binning="width"``
    ``n_bins`` equal-width bins on [0, 1] with edges ``np.linspace(0, 1, n_bins + 1)``;
    bins are right-closed, ``(lo, hi]``, and the first bin also holds 0, so a confidence
    of exactly 0.2 with 5 bins falls in the first bin ``[0, 0.2]``.
``binning="mass"``
    Confidences sorted ascending (stable sort) and cut into ``n_bins`` nearly equal groups
    with ``np.array_split``; the first ``n % n_bins`` groups hold one extra example. Tied
    confidences may be split across neighbouring groups. When ``n < n_bins`` the empty
    groups are dropped.

Empty bins contribute nothing. ECE depends on ``n_bins``: report it with the value and,
as the calibration benchmark does, over several bin counts (5 ... 500).
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .._errors import DataError
from .accuracy import _compute_accuracy, _compute_brier, _compute_nll, check_probs_labels

__all__ = ["classwise_ece", "ece", "evaluate", "mce", "reliability_bins"]

BINNINGS = ("width", "mass")


class _Bins(NamedTuple):
    """Per non-empty bin: edges, mean confidence, mean outcome (accuracy), size."""

    lower: np.ndarray
    upper: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray


def ece(probs: ArrayLike, y: ArrayLike, n_bins: int = 15, binning: str = "width") -> float:
    """Expected calibration error of the top-label confidence.

    With confidence ``conf_i = max_c p_ic`` and correctness ``1[argmax_c p_ic == y_i]``,
    grouped into bins ``B_b`` (see the module docstring for the two binnings)::

        ECE = sum_b |B_b| / n * |acc(B_b) - conf(B_b)|

    where ``acc`` and ``conf`` are the mean correctness and mean confidence in the bin.

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
    y : array-like of shape (n_samples,)
    n_bins : int, default 15
    binning : {"width", "mass"}, default "width"
        Equal-width bins on [0, 1] or equal-mass (quantile) bins.

    Returns
    -------
    float in [0, 1] (lower is better)

    Examples
    --------
    >>> ece([[0.9, 0.1], [0.6, 0.4]], [0, 1], n_bins=2)  # bin (.5, 1]: conf .75, acc .5
    0.25
    """
    p, yi = check_probs_labels(probs, y)
    nb, mode = _check_bins(n_bins, binning)
    return _compute_ece(p, yi, nb, mode)


def mce(probs: ArrayLike, y: ArrayLike, n_bins: int = 15, binning: str = "width") -> float:
    """Maximum calibration error: the largest gap over non-empty bins.

    ``MCE = max_b |acc(B_b) - conf(B_b)|`` over the same top-label bins as :func:`ece`.

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
    y : array-like of shape (n_samples,)
    n_bins : int, default 15
    binning : {"width", "mass"}, default "width"

    Returns
    -------
    float in [0, 1] (lower is better)

    Examples
    --------
    >>> round(mce([[0.9, 0.1], [0.2, 0.8]], [0, 0], n_bins=2), 4)  # one bin: conf .85, acc .5
    0.35
    """
    p, yi = check_probs_labels(probs, y)
    nb, mode = _check_bins(n_bins, binning)
    conf, correct = _top_label(p, yi)
    bins = _bin_stats(conf, correct, nb, mode)
    return float(np.max(np.abs(bins.accuracy - bins.confidence)))


def classwise_ece(probs: ArrayLike, y: ArrayLike, n_bins: int = 15, binning: str = "width") -> float:
    """Classwise ECE: the mean over classes of the ECE of ``p_c`` against ``1[y == c]``.

    For each class ``c`` the scores ``p_ic`` (all examples) are binned and compared with
    the frequency of class ``c`` in each bin::

        cwECE = (1/C) sum_c sum_b |B_cb| / n * |mean_{i in B_cb} 1[y_i == c] - mean_{i in B_cb} p_ic|

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
    y : array-like of shape (n_samples,)
    n_bins : int, default 15
    binning : {"width", "mass"}, default "width"

    Returns
    -------
    float in [0, 1] (lower is better)

    Examples
    --------
    >>> round(classwise_ece([[0.75, 0.25], [0.75, 0.25]], [0, 0], n_bins=1), 4)
    0.25
    """
    p, yi = check_probs_labels(probs, y)
    nb, mode = _check_bins(n_bins, binning)
    total = 0.0
    for c in range(p.shape[1]):
        total += _ece_from_bins(_bin_stats(p[:, c], (yi == c).astype(np.float64), nb, mode), p.shape[0])
    return total / p.shape[1]


def reliability_bins(probs: ArrayLike, y: ArrayLike, n_bins: int = 15, binning: str = "width") -> pd.DataFrame:
    """Per-bin table behind a reliability diagram (top-label confidence).

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
    y : array-like of shape (n_samples,)
    n_bins : int, default 15
    binning : {"width", "mass"}, default "width"

    Returns
    -------
    pandas.DataFrame
        One row per non-empty bin, in increasing confidence, with columns
        ``bin_lower``, ``bin_upper`` (the bin's edges; for ``"mass"`` the smallest and
        largest confidence in the group), ``confidence`` (mean confidence),
        ``accuracy`` (mean correctness) and ``count`` (examples in the bin).
        ``sum(count / n * |accuracy - confidence|)`` equals :func:`ece`.

    Examples
    --------
    >>> reliability_bins([[0.9, 0.1], [0.3, 0.7]], [0, 0], n_bins=2)["count"].tolist()
    [2]
    """
    p, yi = check_probs_labels(probs, y)
    nb, mode = _check_bins(n_bins, binning)
    conf, correct = _top_label(p, yi)
    b = _bin_stats(conf, correct, nb, mode)
    return pd.DataFrame(
        {
            "bin_lower": b.lower,
            "bin_upper": b.upper,
            "confidence": b.confidence,
            "accuracy": b.accuracy,
            "count": b.count.astype(np.int64),
        }
    )


def evaluate(probs: ArrayLike, y: ArrayLike, n_bins: int = 15) -> dict[str, float]:
    """The standard metric set for one evaluation: accuracy, NLL, Brier and equal-width ECE.

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
    y : array-like of shape (n_samples,)
    n_bins : int, default 15
        Bins for the ECE (equal-width).

    Returns
    -------
    dict
        ``{"accuracy", "nll", "brier", "ece"}`` -> float, as in :func:`accuracy`,
        :func:`nll`, :func:`brier`, :func:`ece`.

    Examples
    --------
    >>> sorted(evaluate([[0.9, 0.1], [0.2, 0.8]], [0, 1]))
    ['accuracy', 'brier', 'ece', 'nll']
    """
    p, yi = check_probs_labels(probs, y)
    nb, mode = _check_bins(n_bins, "width")
    return {
        "accuracy": _compute_accuracy(p, yi),
        "nll": _compute_nll(p, yi),
        "brier": _compute_brier(p, yi),
        "ece": _compute_ece(p, yi, nb, mode),
    }


def _check_bins(n_bins: object, binning: object) -> tuple[int, str]:
    if isinstance(n_bins, (bool, np.bool_)) or not isinstance(n_bins, numbers.Integral):
        raise DataError(f"n_bins must be an int, got {n_bins!r}")
    if int(n_bins) < 1:
        raise DataError(f"n_bins == {n_bins}, must be >= 1")
    if binning not in BINNINGS:
        raise DataError(f"binning == {binning!r}, must be one of {list(BINNINGS)}")
    return int(n_bins), str(binning)


def _top_label(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.argmax(p, axis=1)
    conf = p[np.arange(p.shape[0]), pred]
    return conf, (pred == y).astype(np.float64)


def _compute_ece(p: np.ndarray, y: np.ndarray, n_bins: int, binning: str) -> float:
    conf, correct = _top_label(p, y)
    return _ece_from_bins(_bin_stats(conf, correct, n_bins, binning), p.shape[0])


def _ece_from_bins(b: _Bins, n: int) -> float:
    return float(np.sum(b.count / n * np.abs(b.accuracy - b.confidence)))


def _bin_stats(score: np.ndarray, outcome: np.ndarray, n_bins: int, binning: str) -> _Bins:
    """Group ``score`` (n,) into bins and average ``score`` and ``outcome`` (n,) per non-empty bin."""
    if binning == "width":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        # side="left" gives i with edges[i-1] < s <= edges[i]: right-closed bins; 0 goes to bin 0.
        idx = np.clip(np.searchsorted(edges, score, side="left") - 1, 0, n_bins - 1)
        count = np.bincount(idx, minlength=n_bins).astype(np.float64)
        sum_s = np.bincount(idx, weights=score, minlength=n_bins)
        sum_o = np.bincount(idx, weights=outcome, minlength=n_bins)
        keep = count > 0
        return _Bins(
            lower=edges[:-1][keep],
            upper=edges[1:][keep],
            confidence=sum_s[keep] / count[keep],
            accuracy=sum_o[keep] / count[keep],
            count=count[keep],
        )
    order = np.argsort(score, kind="stable")
    groups = [g for g in np.array_split(order, n_bins) if g.size > 0]
    return _Bins(
        lower=np.array([score[g].min() for g in groups]),
        upper=np.array([score[g].max() for g in groups]),
        confidence=np.array([score[g].mean() for g in groups]),
        accuracy=np.array([outcome[g].mean() for g in groups]),
        count=np.array([g.size for g in groups], dtype=np.float64),
    )
