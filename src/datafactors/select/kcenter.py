"""k-center greedy (Sener & Savarese's core-set; Gonzalez's 2-approximation).

Each pick is the row farthest from every earlier pick. One float32 gemv per pick
updates the vector of squared distances to the nearest pick:
``|x - c|^2 = |x|^2 + |c|^2 - 2 x.c`` with the norms precomputed, over a centred,
transposed copy of the embeddings (that layout streams memory about twice as fast
in OpenBLAS's sgemv), so a pick costs one pass over the data.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._arrays import check_embeddings
from .._errors import DataError
from .._validation import SeedLike, check_random_state
from . import REGISTRY, uses_embeddings
from ._blas import check_count, column_mean, one_blas_thread, row_blocks, sq_norms


def kcenter_greedy(X: object, k: int, *, start: int | None = None, seed: SeedLike = 0) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-center: ``k`` rows, each the farthest from all earlier picks.

    Parameters
    ----------
    X : array (n_samples, n_features), finite; used as float32.
    k : number of rows to pick, in [1, n_samples].
    start : the first pick; None draws it uniformly from ``seed``.
    seed : int or Generator (only used when ``start`` is None).

    Returns
    -------
    indices : ndarray (k,) int64, unique, in pick order.
    gains : ndarray (k,) float64; ``gains[t]`` is the Euclidean distance from pick ``t``
        to its nearest earlier pick (the covering radius just before it was added), so
        it is non-increasing; ``gains[0]`` is ``inf``. Ties go to the lowest row index.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [10.0], [4.0]])
    >>> idx, gains = kcenter_greedy(X, 3, start=0)
    >>> idx.tolist(), gains.tolist()
    ([0, 2, 3], [inf, 10.0, 4.0])
    """
    X = check_embeddings(X, name="X")
    n = len(X)
    k = check_count(k, n, "k")
    if start is None:
        start = int(check_random_state(seed).integers(n))
    elif isinstance(start, (bool, np.bool_)) or not isinstance(start, numbers.Integral) or not 0 <= start < n:
        raise DataError(f"start == {start!r}, must be a row index in [0, {n})")
    return _kcenter(X, k, int(start))


def _kcenter(X: np.ndarray, k: int, start: int) -> tuple[np.ndarray, np.ndarray]:
    n, d = X.shape
    # Centring keeps |x|^2 + |c|^2 - 2 x.c from cancelling when the data sit far from 0.
    mean = column_mean(X).astype(np.float32)
    XT = np.empty((d, n), dtype=np.float32)  # built block by block: one extra copy of X, no more
    for sl in row_blocks(n, d):
        XT[:, sl] = (X[sl] - mean).T
    sq = sq_norms(XT.T)
    # Rows whose float32 distance is within `tol` of the farthest are re-measured exactly
    # (float64, direct differences), so near-ties resolve as in exact arithmetic.
    tol = np.float32(8.0 * (4.0 + np.sqrt(d)) * np.finfo(np.float32).eps * float(sq.max()))
    mind = np.full(n, np.inf, dtype=np.float32)
    buf = np.empty(n, dtype=np.float32)
    picks = np.empty(k, dtype=np.int64)
    gains = np.empty(k, dtype=np.float64)
    j = start
    gains[0] = np.inf
    with one_blas_thread():
        for t in range(k):
            picks[t] = j
            if t == k - 1:
                break
            np.dot(XT[:, j], XT, out=buf)
            buf *= -2.0
            buf += sq
            buf += sq[j]
            np.minimum(mind, buf, out=mind)
            mind[j] = -np.inf  # picked rows never win again, even among exact duplicates
            j = int(np.argmax(mind))
            best = float(mind[j])
            near = np.flatnonzero(mind >= best - tol)
            if len(near) > 1:
                j, best = _exact_farthest(X, near, picks[: t + 1])
            elif best <= tol:  # a distance this small is float32 cancellation noise: measure it exactly
                _, best = _exact_farthest(X, near, picks[: t + 1])
            gains[t + 1] = float(np.sqrt(max(best, 0.0)))
    return picks, gains


def _exact_farthest(X: np.ndarray, cand: np.ndarray, picked: np.ndarray) -> tuple[int, float]:
    """Among ``cand`` (ascending), the row farthest from ``picked`` in float64; ties -> lowest index."""
    P = X[picked].astype(np.float64)
    d2 = np.array([((X[c].astype(np.float64) - P) ** 2).sum(axis=1).min() for c in cand])
    i = int(np.argmax(d2))
    return int(cand[i]), float(d2[i])


@REGISTRY.register("kcenter")
@uses_embeddings
def kcenter_select(ds, k, *, scores=None, embeddings=None, rng: np.random.Generator, start: int | None = None):
    """k-center greedy over ``embeddings`` (default ``ds.X``); ``start`` fixes the first pick."""
    idx, _ = kcenter_greedy(embeddings, k, start=start, seed=rng)
    return idx
