"""Framework-free helpers shared by the built-in learners: fit/predict input checks and the standardizer."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._errors import ConfigError, DataError
from ..dataset import Dataset

__all__ = [
    "Standardizer",
    "check_fit_args",
    "check_predict_input",
    "check_unlabeled",
    "resolve_fit_inputs",
]


def check_fit_args(ds: Dataset, epochs: float, seed: int) -> None:
    if not isinstance(ds, Dataset):
        raise DataError(f"fit expects a datafactors.Dataset, got {type(ds).__name__}")
    ds.require_labels("training a proxy model")
    if not isinstance(epochs, (int, float)) or isinstance(epochs, bool) or not math.isfinite(epochs) or epochs <= 0:
        raise ConfigError(f"epochs == {epochs!r}, must be a positive number")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed == {seed!r}, must be an int >= 0")


def check_predict_input(X: np.ndarray, n_features: int | None) -> np.ndarray:
    if n_features is None:
        raise DataError("the learner is not fitted yet; call fit first")
    Xa = np.asarray(X, dtype=np.float32)
    if Xa.ndim != 2 or Xa.shape[1] != n_features:
        raise DataError(f"X must have shape (n, {n_features}), got {Xa.shape}")
    return Xa


def check_unlabeled(U: Any, n_features: int, name: str = "unlabeled") -> np.ndarray:
    """Unlabeled inputs as a float32 (m, n_features) array; a Dataset gives its ``X``."""
    if isinstance(U, Dataset):
        U = U.X
    try:
        A = np.asarray(U, dtype=np.float32)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a numeric array of shape (m, {n_features})") from None
    if A.ndim != 2 or A.shape[1] != n_features or A.shape[0] == 0:
        raise DataError(f"{name} must have shape (m >= 1, {n_features}), got {A.shape}")
    if not np.isfinite(A).all():
        raise DataError(f"{name} contains NaN or inf")
    return np.ascontiguousarray(A)


def resolve_fit_inputs(ds: Dataset, unlabeled: Any, val: Any) -> np.ndarray:
    """The unlabeled inputs for a diversification fit (default ``ds.X``), after checking ``val``."""
    if val is not None and (not isinstance(val, Dataset) or val.n_features != ds.n_features):
        raise DataError(f"val must be a Dataset with {ds.n_features} features, got {val!r}")
    return ds.X if unlabeled is None else check_unlabeled(unlabeled, ds.n_features)


class Standardizer:
    """Per-feature mean/std learned on the training set (constant features left at scale 1).

    Examples
    --------
    >>> s = Standardizer(np.array([[0.0, 5.0], [2.0, 5.0]]))
    >>> s(np.array([[1.0, 5.0]])).tolist()
    [[0.0, 0.0]]
    """

    def __init__(self, X: np.ndarray) -> None:
        self.mean = X.mean(axis=0, dtype=np.float64).astype(np.float32)
        sd = X.std(axis=0, dtype=np.float64)
        self.scale = np.where(sd > 1e-12, sd, 1.0).astype(np.float32)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean) / self.scale
