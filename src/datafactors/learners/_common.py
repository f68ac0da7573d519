"""Helpers shared by the built-in learners."""

from __future__ import annotations

import math

import numpy as np

from .._errors import ConfigError, DataError
from ..dataset import Dataset


def check_fit_args(ds: Dataset, epochs: float, seed: int) -> None:
    if not isinstance(ds, Dataset):
        raise DataError(f"fit expects a datafactors.Dataset, got {type(ds).__name__}")
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


class Standardizer:
    """Per-feature mean/std learned on the training set (constant features left at scale 1)."""

    def __init__(self, X: np.ndarray) -> None:
        self.mean = X.mean(axis=0, dtype=np.float64).astype(np.float32)
        sd = X.std(axis=0, dtype=np.float64)
        self.scale = np.where(sd > 1e-12, sd, 1.0).astype(np.float32)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean) / self.scale
