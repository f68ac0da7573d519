"""Helpers shared by the split modules: reading a per-example column and carving an ID test set."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from .._validation import check_random_state


def column_values(ds, spec: Any, what: str, *, allow_groups: bool = True) -> np.ndarray:
    """(n,) values named by ``spec``: a column of ``ds.extra``, "group" for ``ds.groups``, or an array.

    None means ``ds.groups`` when ``allow_groups``.
    """
    if spec is None:
        if allow_groups and ds.groups is not None:
            return np.asarray(ds.groups)
        raise DataError(f"{what}: dataset {ds.name!r} has no groups; name a column with the {what} of each example")
    if isinstance(spec, str):
        if spec == "group" and ds.groups is not None:
            return np.asarray(ds.groups)
        cols = [] if ds.extra is None else [str(c) for c in ds.extra.columns]
        if spec not in cols:
            shown = ", ".join(repr(c) for c in cols) or "none"
            raise DataError(f"{what} column {spec!r} not found in {ds.name}; its non-feature columns are: {shown}")
        s = ds.extra[spec]
        miss = s.isna().to_numpy()
        if miss.any():
            r = int(np.argmax(miss))
            raise DataError(
                f"{what} column {spec!r} in {ds.name} has {int(miss.sum())} missing values (first at row {r}); "
                "every example needs one"
            )
        return s.to_numpy()
    if isinstance(spec, pd.Series) and not isinstance(spec.index, pd.RangeIndex):
        keyed = spec.copy()
        keyed.index = keyed.index.astype(str)
        vals = keyed.reindex(pd.Index(ds.ids.astype(str)))
        if vals.isna().any():
            missing_id = ds.ids[int(np.argmax(vals.isna().to_numpy()))]
            raise DataError(f"{what}: no value for id {missing_id!r} of {ds.name}")
        return vals.to_numpy()
    arr = np.asarray(spec)
    if arr.shape != (ds.n,):
        raise DataError(f"{what} must have shape ({ds.n},), got {arr.shape}")
    return arr


def share(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < float(value) < 1.0:
        raise ConfigError(f"{name} == {value!r}, must be a fraction in (0, 1)")
    return float(value)


def carve_test(
    pool: np.ndarray, test_size: float | int, rng: np.random.Generator, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Split row indices ``pool`` into (train, ID test) at random."""
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)):
        raise ConfigError(f"test_size == {test_size!r}, must be a fraction in (0, 1) or a count")
    n = len(pool)
    k = int(test_size) if isinstance(test_size, int) else int(round(float(test_size) * n))
    if isinstance(test_size, float) and not 0 <= test_size < 1:
        raise ConfigError(f"test_size == {test_size}, a fraction must be in [0, 1)")
    if n - k < 1 or k < 0:
        raise DataError(f"{what} leaves {n} examples for training; test_size={test_size} would leave {n - k}")
    perm = check_random_state(rng).permutation(pool)
    return np.sort(perm[k:]), np.sort(perm[:k])
