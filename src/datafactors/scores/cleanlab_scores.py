"""Label-issue and outlier scores through cleanlab (confident learning); nothing here re-implements it.

cleanlab needs *out-of-sample* predicted probabilities: each example's probabilities
must come from a model that did not train on it. :func:`out_of_sample_probs` gets them
by K-fold cross-validation of a cheap model (standardize + multinomial logistic
regression), seeded. Then:

- ``label_quality``: ``cleanlab.rank.get_label_quality_scores`` (self-confidence, the
  out-of-sample probability of the given label); in [0, 1], higher = the label looks right.
- ``label_issue``: ``cleanlab.filter.find_label_issues`` (prune by noise rate), 1.0 for an
  example flagged as probably mislabeled, else 0.0.
- ``ood_score``: ``cleanlab.outlier.OutOfDistribution`` on the features or embeddings
  (average distance to the k nearest neighbours, mapped into (0, 1]); lower = more
  out-of-distribution, so higher = more typical.

Degenerate input: when some class has fewer than two examples, no cross-validation
can give every example an out-of-sample prediction; the label scores are then the
neutral values ``label_quality = 1.0`` and ``label_issue = 0.0`` (no evidence of an
issue) for every example, and a ``UserWarning`` says so.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from .._optional import require
from .base import ScoreColumn, Scorer, register

__all__ = ["label_issue_mask", "label_quality", "ood_scores", "out_of_sample_probs"]


# ---------------------------------------------------------------- pure functions


def _check_xy(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    Xa = np.asarray(X, dtype=np.float64)
    ya = np.asarray(y)
    if Xa.ndim != 2 or ya.ndim != 1 or len(Xa) != len(ya):
        raise DataError(f"X must be (n, d) and y (n,) with the same n, got {Xa.shape} and {ya.shape}")
    if ya.dtype.kind not in "iu":
        raise DataError(f"y must hold integer class indices, got dtype {ya.dtype}")
    if not np.isfinite(Xa).all():
        raise DataError("X contains NaN or inf")
    return Xa, ya.astype(np.int64)


def out_of_sample_probs(X: Any, y: Any, *, n_folds: int = 5, seed: int = 0, C: float = 1.0) -> np.ndarray | None:
    """Cross-validated predicted probabilities of standardized logistic regression.

    Parameters
    ----------
    X : (n, d) features; y : (n,) int labels.
    n_folds : folds of a stratified, shuffled K-fold split, lowered to the smallest
        class count when a class is rarer.
    seed : shuffles the folds.
    C : inverse L2 strength of the logistic regression.

    Returns
    -------
    (n, C) float64 over ``0 .. y.max()`` (a class absent from ``y`` gets probability 0),
    or ``None`` when a class present in ``y`` has fewer than 2 examples.

    Examples
    --------
    >>> X = np.r_[np.zeros((5, 1)), np.ones((5, 1))] + np.arange(10)[:, None] * 0.01
    >>> out_of_sample_probs(X, np.array([0] * 5 + [1] * 5)).shape
    (10, 2)
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    Xa, ya = _check_xy(X, y)
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 2:
        raise ConfigError(f"n_folds == {n_folds!r}, must be an int >= 2")
    present, yi = np.unique(ya, return_inverse=True)
    counts = np.bincount(yi)
    if len(present) < 2 or counts.min() < 2:
        return None
    cv = StratifiedKFold(n_splits=int(min(n_folds, counts.min())), shuffle=True, random_state=seed)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))
    p = cross_val_predict(model, Xa, yi, cv=cv, method="predict_proba")
    out = np.zeros((len(ya), int(ya.max()) + 1), dtype=np.float64)
    out[:, present] = p
    return out


def _present(y: np.ndarray, pred_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probabilities restricted to the classes that occur (cleanlab wants each class present)."""
    p = np.asarray(pred_probs, dtype=np.float64)
    if p.ndim != 2 or len(p) != len(y) or y.max() >= p.shape[1]:
        raise DataError(f"pred_probs must have shape (n, C) with n == {len(y)} and C > max label, got {p.shape}")
    present, yi = np.unique(y, return_inverse=True)
    q = p[:, present]
    q = q / np.clip(q.sum(axis=1, keepdims=True), 1e-12, None)
    return yi, q


def label_quality(y: Any, pred_probs: np.ndarray) -> np.ndarray:
    """cleanlab's label quality (self-confidence) of each given label; higher = more likely correct.

    Examples
    --------
    >>> label_quality(np.array([0, 1]), np.array([[0.9, 0.1], [0.7, 0.3]])).round(2).tolist()
    [0.9, 0.3]
    """
    require("cleanlab.rank", "cleanlab", "label-quality scores (cleanlab)")
    from cleanlab.rank import get_label_quality_scores

    ya = np.asarray(y).astype(np.int64)
    yi, q = _present(ya, pred_probs)
    return np.asarray(get_label_quality_scores(yi, q, method="self_confidence"), dtype=np.float64)


def label_issue_mask(y: Any, pred_probs: np.ndarray) -> np.ndarray:
    """cleanlab's ``find_label_issues`` (prune by noise rate): True = probably mislabeled."""
    require("cleanlab.filter", "cleanlab", "label-quality scores (cleanlab)")
    from cleanlab.filter import find_label_issues

    ya = np.asarray(y).astype(np.int64)
    yi, q = _present(ya, pred_probs)
    if q.shape[1] < 2:
        return np.zeros(len(ya), dtype=bool)
    return np.asarray(find_label_issues(yi, q, n_jobs=1), dtype=bool)


def ood_scores(E: Any, k: int = 10) -> np.ndarray:
    """cleanlab's ``OutOfDistribution`` feature score: in (0, 1], lower = more out-of-distribution.

    ``k`` is clipped to ``n - 1``; cleanlab picks the cosine metric for more than 3
    dimensions and Euclidean otherwise.

    Examples
    --------
    >>> ood_scores(np.array([[0.0], [0.1], [0.2], [5.0]]), k=1).argmin()
    np.int64(3)
    """
    require("cleanlab.outlier", "cleanlab", "label-quality scores (cleanlab)")
    from cleanlab.outlier import OutOfDistribution

    Ea = np.asarray(E, dtype=np.float64)
    if Ea.ndim != 2 or len(Ea) < 2:
        raise DataError(f"features must have shape (n, d) with n >= 2, got {Ea.shape}")
    if not np.isfinite(Ea).all():
        raise DataError("features contain NaN or inf")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"k == {k!r}, must be an int >= 1")
    ood = OutOfDistribution(params={"k": min(k, len(Ea) - 1)})
    return np.asarray(ood.fit_score(features=Ea, verbose=False), dtype=np.float64)


# ---------------------------------------------------------------- registered scorers


def _check_int(name: str, v: object, lo: int) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ConfigError(f"{name} == {v!r}, must be an int >= {lo}")


class _CleanlabLabelScorer(Scorer):
    """Shared wiring: cross-validated probabilities on ``embeddings`` (default ``ds.X``)."""

    def __init__(self, n_folds: int = 5, C: float = 1.0) -> None:
        self.n_folds, self.C = n_folds, C

    def check(self) -> None:
        _check_int("n_folds", self.n_folds, 2)
        C = self.C
        if isinstance(C, bool) or not isinstance(C, (int, float, np.integer, np.floating)) or not 0 < C < np.inf:
            raise ConfigError(f"C == {C!r}, must be a finite number > 0")

    def _probs(self, ds, embeddings, seed) -> np.ndarray | None:
        X = ds.X if embeddings is None else embeddings
        if len(X) != ds.n:
            raise DataError(f"embeddings have {len(X)} rows but the dataset has {ds.n}")
        p = out_of_sample_probs(X, ds.y, n_folds=self.n_folds, seed=seed, C=self.C)
        if p is None:
            warnings.warn(
                f"score {self.name!r}: a class has fewer than 2 examples, so there are no out-of-sample "
                "predictions; every example gets the neutral value",
                UserWarning,
                stacklevel=3,
            )
        return p

    def _values(self, ds, values: np.ndarray) -> pd.DataFrame:
        return self._frame(ds, {self.name: values})


@register
class LabelQualityScorer(_CleanlabLabelScorer):
    """cleanlab label quality from cross-validated logistic-regression probabilities (1.0 when degenerate)."""

    name = "label_quality"
    columns = (
        ScoreColumn("label_quality", "easier", 0.0, 1.0, "cleanlab label quality (self-confidence, cross-validated)"),
    )

    def score(self, ds, *, dynamics=None, embeddings=None, seed=0) -> pd.DataFrame:
        p = self._probs(ds, embeddings, seed)
        return self._values(ds, np.ones(ds.n) if p is None else label_quality(ds.y, p))


@register
class LabelIssueScorer(_CleanlabLabelScorer):
    """cleanlab's find_label_issues as 1.0 / 0.0 from cross-validated probabilities (0.0 when degenerate)."""

    name = "label_issue"
    columns = (
        ScoreColumn("label_issue", "harder", 0.0, 1.0, "1 if cleanlab's find_label_issues flags the label, else 0"),
    )

    def score(self, ds, *, dynamics=None, embeddings=None, seed=0) -> pd.DataFrame:
        p = self._probs(ds, embeddings, seed)
        return self._values(ds, np.zeros(ds.n) if p is None else label_issue_mask(ds.y, p).astype(np.float64))


@register
class OODScorer(Scorer):
    """cleanlab ``OutOfDistribution`` score of ``embeddings`` (default ``ds.X``); low = outlier."""

    name = "ood_score"
    columns = (
        ScoreColumn("ood_score", "easier", 0.0, 1.0, "cleanlab OutOfDistribution feature score (low = outlier)"),
    )

    def __init__(self, k: int = 10) -> None:
        self.k = k

    def check(self) -> None:
        _check_int("k", self.k, 1)

    def score(self, ds, *, dynamics=None, embeddings=None, seed=0) -> pd.DataFrame:
        E = ds.X if embeddings is None else embeddings
        if len(E) != ds.n:
            raise DataError(f"embeddings have {len(E)} rows but the dataset has {ds.n}")
        return self._frame(ds, {"ood_score": ood_scores(E, self.k)})
