"""Group metrics: per-group accuracy and worst-group accuracy (spurious-correlation benchmarks).

Groups are any per-example labels (a domain, a (label, spurious attribute) pair, a data
source); a model that leans on a spurious feature shows a high average but a low
worst-group accuracy (Sagawa et al., 2020).
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .._errors import DataError
from .accuracy import check_probs_labels

__all__ = ["group_accuracy", "worst_group_accuracy"]


def group_accuracy(probs: ArrayLike, y: ArrayLike, groups: ArrayLike) -> pd.DataFrame:
    """Accuracy of each group: ``acc_g = mean_{i : g_i = g} 1[argmax_c p_ic == y_i]``.

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
    y : array-like of shape (n_samples,)
    groups : array-like of shape (n_samples,)
        Any hashable, non-missing group label per example.

    Returns
    -------
    pandas.DataFrame
        Indexed by group (sorted), columns ``n`` (examples) and ``accuracy``.

    Examples
    --------
    >>> group_accuracy([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]], [0, 0, 0], ["a", "b", "b"])["accuracy"].tolist()
    [1.0, 0.5]
    """
    p, yi = check_probs_labels(probs, y)
    g = _check_groups(groups, p.shape[0])
    correct = (np.argmax(p, axis=1) == yi).astype(np.float64)
    frame = pd.DataFrame({"group": g, "correct": correct})
    out = frame.groupby("group", sort=True)["correct"].agg(n="size", accuracy="mean")
    out["n"] = out["n"].astype(np.int64)
    return out


def worst_group_accuracy(probs: ArrayLike, y: ArrayLike, groups: ArrayLike, *, min_count: int = 1) -> float:
    """Lowest per-group accuracy, ``min_g acc_g``, over groups with at least ``min_count`` examples.

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
    y : array-like of shape (n_samples,)
    groups : array-like of shape (n_samples,)
    min_count : int, default 1
        Smaller groups are ignored (their accuracy is too noisy to call "worst").

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> worst_group_accuracy([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]], [0, 0, 0], ["a", "b", "b"])
    0.5
    """
    if isinstance(min_count, (bool, np.bool_)) or not isinstance(min_count, numbers.Integral) or min_count < 1:
        raise DataError(f"min_count == {min_count!r}, must be an int >= 1")
    table = group_accuracy(probs, y, groups)
    big = table[table["n"] >= min_count]
    if big.empty:
        raise DataError(f"no group has >= {min_count} examples (largest has {int(table['n'].max())}); lower min_count")
    return float(big["accuracy"].min())


def _check_groups(groups: ArrayLike, n: int) -> np.ndarray:
    g = np.asarray(groups)
    if g.ndim != 1:
        raise DataError(f"groups has shape {g.shape}, must be 1-D (n_samples,)")
    if g.shape[0] != n:
        raise DataError(f"groups has {g.shape[0]} entries but probs has {n} rows, must match")
    if pd.isna(pd.Series(g)).any():
        bad = int(np.flatnonzero(pd.isna(pd.Series(g)).to_numpy())[0])
        raise DataError(f"groups has a missing value (first at position {bad}); every example needs a group")
    return g
