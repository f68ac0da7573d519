"""Duplication: exact duplicates, near duplicates at a cosine threshold, repetition histogram."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from .._neighbors import knn, unit_rows
from .._validation import SeedLike, check_random_state
from . import family, row
from ._context import ProfileContext

FAMILY = "duplication"
EXACT_MAX = 20_000
MAX_QUERIES = 5_000
# float32 cosine of two identical unit vectors can read 0.99999994.
COS_TOL = 1e-6


def exact_duplicates(X: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
    """Content id of every row: rows with identical features (and text) share an id.

    Parameters
    ----------
    X : (n, d) features; ``-0.0`` and ``0.0`` count as equal.
    texts : optional (n,) strings that must match too.

    Returns
    -------
    (n,) int64 ids numbered in order of first appearance.

    Examples
    --------
    >>> exact_duplicates(np.array([[1.0], [2.0], [1.0]]))
    array([0, 1, 0])
    """
    A = np.asarray(X, dtype=np.float32)
    if A.ndim != 2:
        raise DataError(f"X must be 2-D (n, d), got shape {A.shape}")
    if texts is not None and len(texts) != len(A):
        raise DataError(f"texts has {len(texts)} values but X has {len(A)} rows")
    keys = []
    for s in range(0, len(A), 8192):
        block = np.ascontiguousarray(A[s : s + 8192] + np.float32(0.0))  # chunks: no full copy of X
        for i, r in enumerate(block, start=s):
            h = hashlib.blake2b(r.tobytes(), digest_size=16)
            if texts is not None:
                h.update(b"\x00" + str(texts[i]).encode("utf-8"))
            keys.append(h.digest())
    codes, _ = pd.factorize(pd.Series(keys, dtype=object))
    return codes.astype(np.int64)


def repetition_histogram(content_ids: np.ndarray) -> pd.Series:
    """How many distinct examples occur 1, 2, 3-4, 5-8, ... times.

    Parameters
    ----------
    content_ids : (n,) ids from :func:`exact_duplicates`.

    Returns
    -------
    Series indexed by bin label ("1", "2", "3-4", "5-8", ...) up to the largest
    multiplicity, values = number of distinct examples in that bin.

    Examples
    --------
    >>> repetition_histogram(np.array([0, 0, 1, 2, 2, 2])).to_dict()
    {'1': 1, '2': 1, '3-4': 1}
    """
    ids = np.asarray(content_ids)
    if ids.size == 0:
        raise DataError("content_ids is empty")
    mult = np.unique(ids, return_counts=True)[1]
    top = int(mult.max())
    labels, counts = [], []
    lo = 1
    while lo <= top:
        hi = 1 if lo == 1 else 2 * (lo - 1)
        labels.append(str(lo) if lo == hi else f"{lo}-{hi}")
        counts.append(int(((mult >= lo) & (mult <= hi)).sum()))
        lo = hi + 1
    return pd.Series(counts, index=labels, name="distinct_examples")


class NearDuplicates(NamedTuple):
    """Share of examples with another example at cosine >= threshold."""

    rate: float
    stderr: float
    n_queries: int
    exact: bool
    nearest_cosine: np.ndarray
    query_index: np.ndarray


def near_duplicate_rate(
    X: np.ndarray,
    threshold: float = 0.95,
    *,
    exact_max: int = EXACT_MAX,
    max_queries: int = MAX_QUERIES,
    seed: SeedLike = 0,
) -> NearDuplicates:
    """Share of rows that have at least one *other* row with cosine similarity >= ``threshold``.

    Exact duplicates count (cosine 1). Up to ``exact_max`` rows every row is
    checked against all others; above that a uniform sample of ``max_queries``
    rows is checked exactly against all rows, and the rate comes with its
    binomial standard error. Either way the search is blockwise (memory
    O(block^2 + n d)), never an n x n matrix. All-zero rows have no cosine and
    are left out.

    Parameters
    ----------
    X : (n, d) vectors.
    threshold : cosine in (0, 1].

    Returns
    -------
    NearDuplicates(rate, stderr, n_queries, exact, nearest_cosine (n_queries,), query_index (n_queries,))

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.99, 0.05], [0.0, 1.0]])
    >>> round(near_duplicate_rate(X, 0.95).rate, 4)
    0.6667
    """
    if not 0.0 < float(threshold) <= 1.0:
        raise ConfigError(f"threshold == {threshold}, must be in (0, 1]")
    U = unit_rows(X, reuse_unit=True)
    zero = ~U.any(axis=1)
    keep = np.flatnonzero(~zero)
    if len(keep) < 2:
        raise DataError(f"near duplicates need at least 2 non-zero rows, got {len(keep)}")
    if len(keep) < len(U):
        U = U[keep]
    n = len(U)
    exact = n <= exact_max
    q = np.arange(n) if exact else np.sort(check_random_state(seed).choice(n, size=min(max_queries, n), replace=False))
    best, _ = knn(U, 1, queries=U[q], metric="ip", self_index=q)
    cos = best[:, 0]
    hit = cos >= float(threshold) - COS_TOL
    rate = float(hit.mean())
    se = 0.0 if exact else math.sqrt(rate * (1 - rate) / len(q) * (1 - len(q) / n))
    return NearDuplicates(rate, se, len(q), exact, cos, keep[q])


@family(FAMILY, description="exact-duplicate rate, near-duplicate rate at a cosine threshold, repetition histogram")
def duplication(ctx: ProfileContext) -> list[dict]:
    ids = exact_duplicates(ctx.ds.X, ctx.texts)
    n_unique = int(ids.max()) + 1
    what = "features" + (f" and text {ctx.text_col!r}" if ctx.texts is not None else "")
    rows = [
        row(
            FAMILY,
            "exact_duplicate_rate",
            1 - n_unique / ctx.ds.n,
            note=f"share of rows repeating an earlier row ({what})",
        ),
        row(FAMILY, "distinct_examples", n_unique),
    ]
    hist = repetition_histogram(ids)
    rows += [
        row(FAMILY, "repetition_histogram", v, key=k, note="distinct examples occurring this many times")
        for k, v in hist.items()
    ]
    t = ctx.near_duplicate_threshold
    try:
        U, zero = ctx.unit()
        nd = near_duplicate_rate(U if not zero.any() else U[~zero], t, seed=ctx.rng(FAMILY))
    except DataError as e:
        rows.append(row(FAMILY, "near_duplicate_rate", key=f"{t:g}", note=f"not computed: {e}"))
        return rows
    how = (
        f"all {nd.n_queries} rows checked exactly"
        if nd.exact
        else f"{nd.n_queries} sampled rows checked exactly against all rows; standard error {nd.stderr:.4f}"
    )
    rows.append(
        row(
            FAMILY,
            "near_duplicate_rate",
            nd.rate,
            key=f"{t:g}",
            note=f"share of rows with another row at cosine >= {t:g}; {how}",
        )
    )
    return rows
