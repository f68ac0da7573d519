"""Calibration family: ECE (equal-width and equal-mass bins), MCE, classwise ECE, KS error, reliability bins.

Binning, shared by every function here
--------------------------------------
``binning="width"``
    ``n_bins`` equal-width bins on [0, 1] with edges ``np.linspace(0, 1, n_bins + 1)``;
    by default (``bin_edges="right"``) bins are right-closed, ``(lo, hi]``, and the first
    bin also holds 0, so a confidence of exactly 0.2 with 5 bins falls in the first bin
    ``[0, 0.2]``. ``bin_edges="left"`` gives left-closed bins ``[lo, hi)`` with the last
    bin also holding 1 (``np.histogram``'s and netcal's convention), so 0.2 falls in
    ``[0.2, 0.4)``. The two differ only for scores exactly on an edge. Edges are compared
    as the floats of ``np.linspace``: 0.6 lies below the edge 0.6000000000000001, so it
    is in ``(0.4, 0.6]`` with right-closed bins and, as in ``np.histogram``, in
    ``[0.4, 0.6)`` with left-closed ones.
``binning="mass"``
    Confidences sorted ascending (stable sort) and cut into ``n_bins`` nearly equal groups
    with ``np.array_split``; the first ``n % n_bins`` groups hold one extra example. Tied
    confidences may be split across neighbouring groups. When ``n < n_bins`` the empty
    groups are dropped.

Binary problems. By default (``binary="top_label"``) every problem, two-class included, is
scored on the top label: confidence ``max_c p_ic`` against ``argmax_c p_ic == y_i``.
``binary="positive"`` scores two-class inputs as netcal does: the positive-class
probability ``p_i1`` against ``y_i == 1``. Inputs with more than two classes are scored on
the top label either way.

Empty bins contribute nothing. ECE depends on ``n_bins``: report it with the value and,
as the calibration benchmark does, over several bin counts (:data:`BIN_COUNTS`, 5 ... 500;
see :func:`bin_sweep`). :func:`ks_error` needs no bins at all.

Bad input. Every function validates ``probs`` and ``y`` with
:func:`~datafactors.metrics.check_probs_labels`: rows that do not sum to 1 (within 1e-3),
values outside [0, 1], NaN/inf, and labels outside ``[0, n_classes)`` raise ``DataError``
naming the first offending row or the label range. There is no silent renormalisation;
:func:`~datafactors.metrics.calibration_report` has an explicit ``renormalize=True``
option that rescales rows and warns.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .._errors import DataError
from .accuracy import _compute_accuracy, _compute_brier, _compute_nll, check_probs_labels

__all__ = [
    "BIN_COUNTS",
    "CALIBRATION_METRICS",
    "bin_sweep",
    "calibration_metrics",
    "classwise_ece",
    "ece",
    "evaluate",
    "ks_error",
    "mce",
    "reliability_bins",
]

BINNINGS = ("width", "mass")
BIN_EDGES = ("right", "left")
BINARY = ("top_label", "positive")
# The bin counts of the calibration benchmark study's sweep.
BIN_COUNTS = (5, 10, 15, 20, 25, 50, 100, 200, 500)
# Keys of calibration_metrics(), in report order.
CALIBRATION_METRICS = ("accuracy", "nll", "brier", "ece", "ece_mass", "classwise_ece", "mce", "ks")


class _Bins(NamedTuple):
    """Per non-empty bin: edges, mean confidence, mean outcome (accuracy), size."""

    lower: np.ndarray
    upper: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray


def ece(
    probs: ArrayLike,
    y: ArrayLike,
    n_bins: int = 15,
    binning: str = "width",
    *,
    bin_edges: str = "right",
    binary: str = "top_label",
) -> float:
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
    bin_edges : {"right", "left"}, default "right"
        Equal-width bins ``(lo, hi]`` or netcal's ``[lo, hi)`` (see the module docstring).
    binary : {"top_label", "positive"}, default "top_label"
        How two-class inputs are scored: top label, or netcal's positive class.

    Returns
    -------
    float in [0, 1] (lower is better)

    Examples
    --------
    >>> ece([[0.9, 0.1], [0.6, 0.4]], [0, 1], n_bins=2)  # bin (.5, 1]: conf .75, acc .5
    0.25
    >>> p = [[0.8, 0.2], [0.3, 0.7]]
    >>> ece(p, [1, 1], n_bins=2), round(ece(p, [1, 1], n_bins=2, binary="positive"), 4)  # p1 .2, .7 vs y = 1
    (0.25, 0.55)
    """
    p, yi = check_probs_labels(probs, y)
    nb, mode = _check_bins(n_bins, binning)
    edges, how = _check_conventions(bin_edges, binary)
    score, outcome = _scores(p, yi, how)
    return _ece_from_bins(_bin_stats(score, outcome, nb, mode, edges=edges), p.shape[0])


def mce(
    probs: ArrayLike,
    y: ArrayLike,
    n_bins: int = 15,
    binning: str = "width",
    *,
    bin_edges: str = "right",
    binary: str = "top_label",
) -> float:
    """Maximum calibration error: the largest gap over non-empty bins.

    ``MCE = max_b |acc(B_b) - conf(B_b)|`` over the same top-label bins as :func:`ece`.

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
    y : array-like of shape (n_samples,)
    n_bins : int, default 15
    binning : {"width", "mass"}, default "width"
    bin_edges : {"right", "left"}, default "right"
    binary : {"top_label", "positive"}, default "top_label"
        As in :func:`ece`.

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
    edges, how = _check_conventions(bin_edges, binary)
    score, outcome = _scores(p, yi, how)
    bins = _bin_stats(score, outcome, nb, mode, edges=edges)
    return float(np.max(np.abs(bins.accuracy - bins.confidence)))


def classwise_ece(
    probs: ArrayLike, y: ArrayLike, n_bins: int = 15, binning: str = "width", *, bin_edges: str = "right"
) -> float:
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
    bin_edges : {"right", "left"}, default "right"
        As in :func:`ece`.

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
    edges, _ = _check_conventions(bin_edges, "top_label")
    return _compute_classwise_ece(p, yi, nb, mode, edges=edges)


def ks_error(probs: ArrayLike, y: ArrayLike) -> float:
    """Top-label Kolmogorov-Smirnov calibration error (Gupta et al., ICLR 2021), binning-free.

    Sort the examples by top-label confidence ``conf_i = max_c p_ic`` (ascending) and
    compare the cumulative sums of correctness and confidence::

        KS = max_k | (1/n) sum_{i <= k} 1[argmax_c p_ic == y_i] - (1/n) sum_{i <= k} conf_i |

    i.e. the largest vertical gap between the two integrated curves of the authors'
    reference code. With tied confidences ``k`` runs only over the last index of each tie
    group, so the value does not depend on how ties happen to be ordered (with distinct
    confidences it is exactly the reference formula).

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
    y : array-like of shape (n_samples,)

    Returns
    -------
    float in [0, 1] (lower is better)

    Examples
    --------
    >>> # sorted conf .6 (wrong), .9 (right): cumulative gaps |0 - .3|, |.5 - .75| -> .3
    >>> round(ks_error([[0.9, 0.1], [0.6, 0.4]], [0, 1]), 6)
    0.3
    """
    p, yi = check_probs_labels(probs, y)
    conf, correct = _top_label(p, yi)
    return _compute_ks(conf, correct, np.argsort(conf, kind="stable"))


def calibration_metrics(
    probs: ArrayLike, y: ArrayLike, n_bins: int = 15, *, bin_edges: str = "right", binary: str = "top_label"
) -> dict[str, float]:
    """Every calibration metric at once, validating the input once and sorting once.

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
    y : array-like of shape (n_samples,)
    n_bins : int, default 15
        Bins of the binned metrics.
    bin_edges : {"right", "left"}, default "right"
    binary : {"top_label", "positive"}, default "top_label"
        As in :func:`ece` (``binary`` applies to ``ece``, ``ece_mass``, ``mce`` and ``ks``).

    Returns
    -------
    dict
        Keys :data:`CALIBRATION_METRICS`: ``accuracy``, ``nll``, ``brier``, ``ece``
        (equal-width), ``ece_mass`` (equal-mass), ``classwise_ece`` (equal-width),
        ``mce`` (equal-width) and ``ks``, each equal to its own function's value.

    Examples
    --------
    >>> m = calibration_metrics([[0.9, 0.1], [0.6, 0.4]], [0, 1], n_bins=2)
    >>> m["ece"], round(m["ks"], 6)
    (0.25, 0.3)
    """
    p, yi = check_probs_labels(probs, y)
    nb, _ = _check_bins(n_bins, "width")
    edges, how = _check_conventions(bin_edges, binary)
    return _compute_calibration_metrics(p, yi, nb, edges=edges, binary=how)


def bin_sweep(
    probs: ArrayLike,
    y: ArrayLike,
    bin_counts: tuple[int, ...] | list[int] = BIN_COUNTS,
    binnings: tuple[str, ...] | list[str] = BINNINGS,
    *,
    bin_edges: str = "right",
    binary: str = "top_label",
) -> pd.DataFrame:
    """ECE, MCE and classwise ECE over several bin counts (ECE depends on the bin count).

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
    y : array-like of shape (n_samples,)
    bin_counts : sequence of int, default :data:`BIN_COUNTS` (5, 10, 15, 20, 25, 50, 100, 200, 500)
    binnings : sequence of {"width", "mass"}, default both
    bin_edges : {"right", "left"}, default "right"
    binary : {"top_label", "positive"}, default "top_label"
        As in :func:`ece` (``binary`` applies to ``ece`` and ``mce``).

    Returns
    -------
    pandas.DataFrame
        One row per (binning, n_bins) with columns ``binning``, ``n_bins``, ``ece``,
        ``mce``, ``classwise_ece``; each value equals the function called with those settings.

    Examples
    --------
    >>> bin_sweep([[0.9, 0.1], [0.6, 0.4]], [0, 1], bin_counts=[1, 2], binnings=["width"])["ece"].tolist()
    [0.25, 0.25]
    """
    p, yi = check_probs_labels(probs, y)
    counts = list(bin_counts)
    if not counts:
        raise DataError("bin_counts is empty, must list at least one bin count")
    modes = list(binnings)
    if not modes:
        raise DataError("binnings is empty, must list 'width' and/or 'mass'")
    checked = [_check_bins(nb, mode) for mode in modes for nb in counts]
    edges, how = _check_conventions(bin_edges, binary)
    conf, correct = _scores(p, yi, how)
    order = np.argsort(conf, kind="stable")
    class_orders = [np.argsort(p[:, k], kind="stable") for k in range(p.shape[1])] if "mass" in modes else None
    rows = []
    for nbi, m in checked:
        b = _bin_stats(conf, correct, nbi, m, order=order, edges=edges)
        rows.append(
            {
                "binning": m,
                "n_bins": nbi,
                "ece": _ece_from_bins(b, p.shape[0]),
                "mce": float(np.max(np.abs(b.accuracy - b.confidence))),
                "classwise_ece": _compute_classwise_ece(p, yi, nbi, m, class_orders, edges=edges),
            }
        )
    return pd.DataFrame(rows, columns=["binning", "n_bins", "ece", "mce", "classwise_ece"])


def reliability_bins(
    probs: ArrayLike,
    y: ArrayLike,
    n_bins: int = 15,
    binning: str = "width",
    *,
    bin_edges: str = "right",
    binary: str = "top_label",
) -> pd.DataFrame:
    """Per-bin table behind a reliability diagram (top-label confidence).

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
    y : array-like of shape (n_samples,)
    n_bins : int, default 15
    binning : {"width", "mass"}, default "width"
    bin_edges : {"right", "left"}, default "right"
    binary : {"top_label", "positive"}, default "top_label"
        As in :func:`ece`.

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
    edges, how = _check_conventions(bin_edges, binary)
    score, outcome = _scores(p, yi, how)
    b = _bin_stats(score, outcome, nb, mode, edges=edges)
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


def _check_conventions(bin_edges: object, binary: object) -> tuple[str, str]:
    if bin_edges not in BIN_EDGES:
        raise DataError(f"bin_edges == {bin_edges!r}, must be one of {list(BIN_EDGES)}")
    if binary not in BINARY:
        raise DataError(f"binary == {binary!r}, must be one of {list(BINARY)}")
    return str(bin_edges), str(binary)


def _scores(p: np.ndarray, y: np.ndarray, binary: str = "top_label") -> tuple[np.ndarray, np.ndarray]:
    """(score, outcome) per example: the top label, or for two classes with ``binary="positive"`` class 1."""
    if binary == "positive" and p.shape[1] == 2:
        return p[:, 1], (y == 1).astype(np.float64)
    return _top_label(p, y)


def _top_label(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.argmax(p, axis=1)
    conf = p[np.arange(p.shape[0]), pred]
    return conf, (pred == y).astype(np.float64)


def _compute_ece(p: np.ndarray, y: np.ndarray, n_bins: int, binning: str) -> float:
    conf, correct = _top_label(p, y)
    return _ece_from_bins(_bin_stats(conf, correct, n_bins, binning), p.shape[0])


def _compute_ks(conf: np.ndarray, correct: np.ndarray, order: np.ndarray) -> float:
    s = conf[order]
    gap = np.cumsum(correct[order] - s) / conf.shape[0]
    # Only the end of each run of tied confidences is a valid cut (order-independent).
    ends = np.ones(s.shape[0], dtype=bool)
    ends[:-1] = s[1:] != s[:-1]
    return float(np.max(np.abs(gap[ends])))


def _compute_classwise_ece(
    p: np.ndarray,
    y: np.ndarray,
    n_bins: int,
    binning: str,
    orders: list[np.ndarray] | None = None,
    edges: str = "right",
) -> float:
    n, c = p.shape
    if binning == "mass":
        total = 0.0
        for k in range(c):
            order = None if orders is None else orders[k]
            total += _ece_from_bins(_bin_stats(p[:, k], (y == k).astype(np.float64), n_bins, binning, order), n)
        return total / c
    # Equal width: one bincount over (class, bin) pairs instead of a loop over classes.
    idx = _width_index(p, n_bins, edges) + np.arange(c) * n_bins
    flat = idx.ravel()
    size = c * n_bins
    sum_s = np.bincount(flat, weights=p.ravel(), minlength=size)
    sum_o = np.bincount(idx[np.arange(n), y], minlength=size).astype(np.float64)
    # Per (class, bin): |sum outcome - sum score| / n equals count / n * |acc - conf|.
    return float(np.sum(np.abs(sum_o - sum_s)) / n / c)


def _compute_calibration_metrics(
    p: np.ndarray, y: np.ndarray, n_bins: int, *, edges: str = "right", binary: str = "top_label"
) -> dict[str, float]:
    n = p.shape[0]
    conf, correct = _scores(p, y, binary)
    order = np.argsort(conf, kind="stable")
    width = _bin_stats(conf, correct, n_bins, "width", edges=edges)
    return {
        "accuracy": _compute_accuracy(p, y),
        "nll": _compute_nll(p, y),
        "brier": _compute_brier(p, y),
        "ece": _ece_from_bins(width, n),
        "ece_mass": _ece_from_bins(_bin_stats(conf, correct, n_bins, "mass", order=order), n),
        "classwise_ece": _compute_classwise_ece(p, y, n_bins, "width", edges=edges),
        "mce": float(np.max(np.abs(width.accuracy - width.confidence))),
        "ks": _compute_ks(conf, correct, order),
    }


def _ece_from_bins(b: _Bins, n: int) -> float:
    return float(np.sum(b.count / n * np.abs(b.accuracy - b.confidence)))


def _width_edges(n_bins: int) -> np.ndarray:
    return np.linspace(0.0, 1.0, n_bins + 1)


def _width_index(score: np.ndarray, n_bins: int, edges: str = "right") -> np.ndarray:
    """Equal-width bin of every score (any shape): right-closed ``(lo, hi]`` with 0 in the first
    bin, or (``edges="left"``) left-closed ``[lo, hi)`` with 1 in the last bin.

    The one equal-width binning rule of this module (ECE, MCE, classwise ECE, reliability bins).
    """
    # side="left" gives i with edges[i-1] < s <= edges[i]: right-closed bins; 0 goes to bin 0.
    # side="right" gives edges[i-1] <= s < edges[i]: left-closed (np.digitize, netcal); 1 -> last bin.
    side = "left" if edges == "right" else "right"
    return np.clip(np.searchsorted(_width_edges(n_bins), score, side=side) - 1, 0, n_bins - 1)


def _bin_stats(
    score: np.ndarray,
    outcome: np.ndarray,
    n_bins: int,
    binning: str,
    order: np.ndarray | None = None,
    edges: str = "right",
) -> _Bins:
    """Group ``score`` (n,) into bins and average ``score`` and ``outcome`` (n,) per non-empty bin.

    ``order`` (the stable ascending argsort of ``score``) may be passed to reuse a sort;
    ``edges`` closes equal-width bins on the right (default) or the left.
    """
    if binning == "width":
        idx = _width_index(score, n_bins, edges)
        bounds = _width_edges(n_bins)
        count = np.bincount(idx, minlength=n_bins).astype(np.float64)
        sum_s = np.bincount(idx, weights=score, minlength=n_bins)
        sum_o = np.bincount(idx, weights=outcome, minlength=n_bins)
        keep = count > 0
        return _Bins(
            lower=bounds[:-1][keep],
            upper=bounds[1:][keep],
            confidence=sum_s[keep] / count[keep],
            accuracy=sum_o[keep] / count[keep],
            count=count[keep],
        )
    if order is None:
        order = np.argsort(score, kind="stable")
    n = score.shape[0]
    # The group sizes of np.array_split(order, n_bins): the first n % n_bins hold one extra.
    sizes = np.full(n_bins, n // n_bins)
    sizes[: n % n_bins] += 1
    sizes = sizes[sizes > 0]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    s_sorted, o_sorted = score[order], outcome[order]
    return _Bins(
        lower=s_sorted[starts],
        upper=s_sorted[starts + sizes - 1],
        confidence=np.add.reduceat(s_sorted, starts) / sizes,
        accuracy=np.add.reduceat(o_sorted, starts) / sizes,
        count=sizes.astype(np.float64),
    )
