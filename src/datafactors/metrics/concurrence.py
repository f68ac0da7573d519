"""Concurrence: do two benchmarks rank the same models the same way?

Following "Validity of Evaluation Results", concurrence is the rank correlation between
two benchmarks' per-model scores; with several seeds per benchmark, the official code
pairs every seed of one setup with every seed of the other and averages the correlation.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from .._errors import DataError

__all__ = ["concurrence"]

METHODS = ("kendall", "pearson")


def concurrence(scores_a: ArrayLike, scores_b: ArrayLike, method: str = "kendall") -> float:
    """Correlation between two benchmarks' scores of the same models, averaged over seed pairs.

    For 1-D inputs this is ``scipy.stats.kendalltau(scores_a, scores_b)`` (tau-b, which
    corrects for ties) or Pearson's r. For 2-D inputs, with ``S`` seeds for benchmark A and
    ``T`` for B::

        concurrence = (1 / (S * T)) sum_{s, t} tau(scores_a[:, s], scores_b[:, t])

    A 1-D input is treated as a single seed, so 1-D and 2-D inputs can be mixed.

    Parameters
    ----------
    scores_a : array-like of shape (n_models,) or (n_models, n_seeds_a)
    scores_b : array-like of shape (n_models,) or (n_models, n_seeds_b)
        Rows are the same models in the same order; >= 2 models.
    method : {"kendall", "pearson"}, default "kendall"

    Returns
    -------
    float in [-1, 1]
        NaN when some seed column on either side is constant: the correlation is then
        undefined (both benchmarks saturated or floored says nothing about agreement).

    Examples
    --------
    >>> concurrence([0.1, 0.5, 0.9], [0.2, 0.3, 0.8])
    1.0
    """
    if method not in METHODS:
        raise DataError(f"method == {method!r}, must be one of {list(METHODS)}")
    a = _check_scores(scores_a, "scores_a")
    b = _check_scores(scores_b, "scores_b")
    if a.shape[0] != b.shape[0]:
        raise DataError(f"scores_a has {a.shape[0]} models but scores_b has {b.shape[0]}, rows must be the same models")
    corr = stats.kendalltau if method == "kendall" else stats.pearsonr
    values = []
    for s in range(a.shape[1]):
        for t in range(b.shape[1]):
            x, y = a[:, s], b[:, t]
            if np.ptp(x) == 0 or np.ptp(y) == 0:
                # scipy would warn and return NaN for a constant column; the pair carries no ranking.
                values.append(np.nan)
            else:
                values.append(float(corr(x, y).statistic))
    return float(np.mean(values))


def _check_scores(values: ArrayLike, name: str) -> np.ndarray:
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a numeric array of per-model scores, got {values!r}") from None
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise DataError(f"{name} has shape {x.shape}, must be (n_models,) or (n_models, n_seeds)")
    if x.shape[0] < 2:
        raise DataError(f"{name} has {x.shape[0]} models, need >= 2 to correlate rankings")
    if x.shape[1] < 1:
        raise DataError(f"{name} has 0 seed columns, need >= 1")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{name} contains NaN or inf")
    return x
