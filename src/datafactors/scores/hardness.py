"""Model-based hardness (Hase et al., 2024) and easy / medium / hard buckets.

Hardness of an example = 1 - the mean probability that an ensemble of models assigns
to its gold label, where the models never trained on it: a K-fold split plays the
role of the paper's separate hardness split, so each example is scored by the models
fitted on the other folds. The default ensemble is three cheap, different learners
(standardized logistic regression, k-nearest neighbours, a random forest), so the
score reflects the data more than one model's quirks.

:func:`buckets` cuts any score into easy (bottom 30% of hardness), medium (middle 40%)
and hard (top 30%), as the paper does with continuous hardness measures.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from .base import COLUMNS, ScoreColumn, Scorer, register

__all__ = ["DEFAULT_MODELS", "buckets", "ensemble_gold_probs", "model_hardness"]

DEFAULT_MODELS = ("logistic", "knn", "forest")


# ---------------------------------------------------------------- pure functions


def _make_model(name: Any, n_train: int, seed: int) -> Any:
    from sklearn.base import clone

    if not isinstance(name, str):
        if not (hasattr(name, "fit") and hasattr(name, "predict_proba")):
            raise ConfigError(f"model {name!r} must be a name in {DEFAULT_MODELS} or an estimator with predict_proba")
        return clone(name)
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    if name == "knn":
        return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=max(1, min(10, n_train))))
    if name == "forest":
        return RandomForestClassifier(n_estimators=50, min_samples_leaf=2, random_state=seed, n_jobs=1)
    raise ConfigError(f"unknown hardness model {name!r}; known: {', '.join(DEFAULT_MODELS)} or an estimator")


def _folds(y: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import KFold, StratifiedKFold

    n = len(y)
    k = min(n_folds, n)
    if np.bincount(y).max() >= k:
        with warnings.catch_warnings():
            # a class rarer than k only means some folds lack it; those folds still score it
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(n), y))
    return list(KFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(n)))


def ensemble_gold_probs(
    X: Any,
    y: Any,
    *,
    models: Sequence[Any] = DEFAULT_MODELS,
    n_folds: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Out-of-fold probability of each example's gold label under each model of an ensemble.

    Parameters
    ----------
    X : (n, d) features; y : (n,) int labels.
    models : names from :data:`DEFAULT_MODELS` or scikit-learn classifiers (cloned per fold).
    n_folds : folds (at most n); stratified when the largest class has at least that many rows.
    seed : shuffles the folds and seeds the random forest.

    Returns
    -------
    (n_models, n) float64 in [0, 1]. A fold whose training part holds one class predicts
    it with certainty; a class missing from a training part gets probability 0.

    Examples
    --------
    >>> X = np.r_[np.zeros((6, 1)), np.ones((6, 1))]
    >>> ensemble_gold_probs(X, np.array([0] * 6 + [1] * 6), models=["logistic"], n_folds=3).shape
    (1, 12)
    """
    Xa = np.asarray(X, dtype=np.float64)
    ya = np.asarray(y)
    if Xa.ndim != 2 or ya.ndim != 1 or len(Xa) != len(ya) or len(ya) < 2:
        raise DataError(f"X must be (n, d) and y (n,) with the same n >= 2, got {Xa.shape} and {ya.shape}")
    if ya.dtype.kind not in "iu" or ya.min() < 0:
        raise DataError(f"y must hold class indices >= 0, got dtype {ya.dtype}")
    if not np.isfinite(Xa).all():
        raise DataError("X contains NaN or inf")
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 2:
        raise ConfigError(f"n_folds == {n_folds!r}, must be an int >= 2")
    if not models:
        raise ConfigError("models is empty; the ensemble needs at least one model")
    ya = ya.astype(np.int64)
    out = np.zeros((len(models), len(ya)), dtype=np.float64)
    for tr, te in _folds(ya, n_folds, seed):
        classes = np.unique(ya[tr])
        for m, spec in enumerate(models):
            if len(classes) == 1:
                out[m, te] = (ya[te] == classes[0]).astype(np.float64)
                continue
            est = _make_model(spec, len(tr), seed).fit(Xa[tr], ya[tr])
            proba = est.predict_proba(Xa[te])
            col = {int(c): j for j, c in enumerate(est.classes_)}
            out[m, te] = [proba[i, col[c]] if c in col else 0.0 for i, c in enumerate(ya[te].tolist())]
    return np.clip(out, 0.0, 1.0)


def model_hardness(
    X: Any,
    y: Any,
    *,
    models: Sequence[Any] = DEFAULT_MODELS,
    n_folds: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Model-based hardness: 1 - mean out-of-fold gold-label probability over the ensemble.

    See :func:`ensemble_gold_probs` for the parameters.

    Returns
    -------
    (n,) float64 in [0, 1]; higher = harder.

    Examples
    --------
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> X = np.array([[0.0], [0.1], [0.2], [1.0], [1.1], [1.2]])
    >>> y = np.array([0, 0, 1, 1, 1, 1])  # row 2 sits among class 0: 1-NN gets it wrong
    >>> model_hardness(X, y, models=[KNeighborsClassifier(1)], n_folds=3).tolist()
    [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    """
    return 1.0 - ensemble_gold_probs(X, y, models=models, n_folds=n_folds, seed=seed).mean(axis=0)


def buckets(
    score: Any,
    orientation: str = "harder",
    *,
    fractions: tuple[float, float, float] = (0.3, 0.4, 0.3),
) -> np.ndarray:
    """Cut a score into 'easy' / 'medium' / 'hard' by its hardness rank.

    Parameters
    ----------
    score : (n,) values; +inf is allowed (e.g. never-learned forgetting), NaN is not.
    orientation : "harder" (higher = harder; also "ambiguous"), "easier" (higher =
        easier), or the name of a declared score column, whose orientation is used.
    fractions : (easy, medium, hard) shares, summing to 1; the default is the paper's
        bottom 30% / middle 40% / top 30%. The easy and hard counts are rounded half up
        (``floor(f * n + 0.5)``); medium takes the rest.

    Returns
    -------
    (n,) array of str. Ties are broken by position: among equal scores, earlier rows
    count as easier, so the result is deterministic.

    Examples
    --------
    >>> buckets([5, 1, 9, 3, 7, 2, 8, 4, 6, 0]).tolist()
    ['medium', 'easy', 'hard', 'medium', 'hard', 'easy', 'hard', 'medium', 'medium', 'easy']
    """
    s = np.asarray(score, dtype=np.float64)
    if s.ndim != 1:
        raise DataError(f"score must be 1-D, got shape {s.shape}")
    if np.isnan(s).any():
        raise DataError(f"score contains {int(np.isnan(s).sum())} NaN value(s); cannot rank them")
    if orientation in COLUMNS:
        orientation = COLUMNS[orientation].orientation
    if orientation not in ("harder", "easier", "ambiguous"):
        raise ConfigError(f"orientation == {orientation!r}, must be 'harder', 'easier' or a declared score column")
    f = tuple(float(x) for x in fractions)
    if len(f) != 3 or min(f) < 0 or not math.isclose(sum(f), 1.0, abs_tol=1e-9):
        raise ConfigError(f"fractions == {fractions!r}, must be three shares >= 0 summing to 1")
    n = len(s)
    hardness = -s if orientation == "easier" else s
    order = np.argsort(hardness, kind="stable")
    n_easy = min(n, math.floor(f[0] * n + 0.5))
    n_hard = min(n - n_easy, math.floor(f[2] * n + 0.5))
    out = np.full(n, "medium", dtype=object)
    out[order[:n_easy]] = "easy"
    if n_hard:
        out[order[n - n_hard :]] = "hard"
    return out.astype(str)


# ---------------------------------------------------------------- registered scorer


@register
class ModelHardnessScorer(Scorer):
    """Model-based hardness on ``embeddings`` (default ``ds.X``) with a K-fold ensemble."""

    name = "model_hardness"
    columns = (
        ScoreColumn(
            "model_hardness",
            "harder",
            0.0,
            1.0,
            "1 - mean out-of-fold gold-label probability of a logistic / kNN / forest ensemble (Hase et al.)",
        ),
    )

    def __init__(self, models: Sequence[Any] = DEFAULT_MODELS, n_folds: int = 5) -> None:
        self.models, self.n_folds = models, n_folds

    def score(self, ds, *, dynamics=None, embeddings=None, seed=0) -> pd.DataFrame:
        X = ds.X if embeddings is None else embeddings
        if len(X) != ds.n:
            raise DataError(f"embeddings have {len(X)} rows but the dataset has {ds.n}")
        h = model_hardness(X, ds.y, models=self.models, n_folds=self.n_folds, seed=seed)
        return self._frame(ds, {"model_hardness": h})
