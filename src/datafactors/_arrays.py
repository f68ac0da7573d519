"""Validation of feature and embedding matrices, shared by scores, select and factors.

Each check raises :class:`~datafactors.DataError` with one message naming the array, what it
got and what was expected; the messages are the same wherever an array is checked.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._errors import DataError

__all__ = ["check_embeddings", "check_finite", "check_matrix"]

_BLOCK_ELEMS = 1 << 22  # elements checked at once: 16 MiB of booleans at most


def check_finite(X: np.ndarray, name: str = "embeddings") -> None:
    """DataError naming ``name`` if the (n, d) array ``X`` holds NaN or inf; checked in row blocks.

    Examples
    --------
    >>> check_finite(np.array([[0.0, 1.0], [2.0, np.nan]]), "E")
    Traceback (most recent call last):
    ...
    datafactors._errors.DataError: E contain 1 NaN or inf values (first at row 1, column 1)
    """
    n = len(X)
    step = max(1, _BLOCK_ELEMS // max(1, int(np.prod(X.shape[1:], dtype=np.int64))))
    first: tuple[int, ...] | None = None
    count = 0
    for s in range(0, n, step):
        bad = ~np.isfinite(X[s : s + step])
        c = int(bad.sum())
        if c and first is None:
            pos = np.argwhere(bad)[0]
            first = (s + int(pos[0]), *(int(p) for p in pos[1:]))
        count += c
    if first is not None:
        where = f"row {first[0]}" + (f", column {first[1]}" if len(first) > 1 else "")
        raise DataError(f"{name} contain {count} NaN or inf values (first at {where})")


def check_matrix(X: Any, *, name: str = "X", min_rows: int = 1, finite: bool = True) -> np.ndarray:
    """``X`` as a C-contiguous float32 (n, d) array with n >= ``min_rows`` and d >= 1.

    No copy is made when ``X`` already is one. Raises DataError naming ``name`` when ``X`` is not
    numeric, not 2-D, too small, or (with ``finite``) holds NaN or inf.

    Examples
    --------
    >>> check_matrix([[1, 2], [3, 4]]).dtype
    dtype('float32')
    >>> check_matrix([1.0, 2.0], name="E")
    Traceback (most recent call last):
    ...
    datafactors._errors.DataError: E must be a 2-D array of shape (n, d) with n >= 1 and d >= 1, got (2,)
    """
    try:
        arr = np.asarray(X)
        if arr.dtype.kind not in "fiub":
            arr = arr.astype(np.float32)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a numeric (n, d) array, got {type(X).__name__}") from None
    if arr.dtype.kind not in "fiub":
        raise DataError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] < min_rows or arr.shape[1] < 1:
        raise DataError(f"{name} must be a 2-D array of shape (n, d) with n >= {min_rows} and d >= 1, got {arr.shape}")
    out = np.ascontiguousarray(arr, dtype=np.float32)
    if finite:
        check_finite(out, name)
    return out


def check_embeddings(X: Any, n: int | None = None, *, name: str = "embeddings", min_rows: int = 1) -> np.ndarray:
    """Embeddings as a finite C-contiguous float32 (n, d) array, with ``n`` rows when ``n`` is given.

    Parameters
    ----------
    X : array-like (n, d)
    n : int, optional
        Rows expected (the dataset's size).
    name : str
        How the messages call the array.
    min_rows : int
        Fewest rows accepted.

    Examples
    --------
    >>> check_embeddings(np.zeros((3, 2)), 4)
    Traceback (most recent call last):
    ...
    datafactors._errors.DataError: embeddings must have shape (4, d), got (3, 2)
    """
    if n is not None:
        shape = np.shape(X)
        if len(shape) != 2 or shape[0] != n:
            raise DataError(f"{name} must have shape ({n}, d), got {shape}")
    arr = check_matrix(X, name=name, min_rows=min_rows, finite=False)
    check_finite(arr, name)
    return arr
