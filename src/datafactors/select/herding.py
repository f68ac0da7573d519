"""Kernel herding (Chen, Welling & Smola, 2010) as a coreset selector.

Step ``T + 1`` picks ``argmax_x  mu(x) - 1/(T+1) sum_{t<=T} k(x, x_t)`` where
``mu(x) = mean_i k(x, x_i)`` is the data's mean embedding, over rows not yet picked
(a coreset takes each row at most once). The picks' empirical kernel mean then tracks
the data's: the first pick is the most typical row, later ones fill what is missing.

Kernels: ``"rbf"`` ``k(a, b) = exp(-gamma |a - b|^2)`` (``gamma=None`` means
``1 / (d * v)`` with ``v`` the mean per-feature variance, like scikit-learn's "scale") and ``"linear"`` ``k(a, b) = a.b``.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._arrays import check_embeddings
from .._errors import ConfigError
from .._validation import SeedLike, check_random_state
from . import REGISTRY, uses_embeddings
from ._blas import check_count, column_mean, one_blas_thread, row_blocks, sq_dists, sq_norms

KERNELS = ("rbf", "linear")
MEAN_SAMPLES = 20_000


def kernel_herding(
    X: object,
    k: int,
    *,
    kernel: str = "rbf",
    gamma: float | None = None,
    mean_samples: int | None = MEAN_SAMPLES,
    seed: SeedLike = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Kernel herding: ``k`` rows whose kernel mean tracks the data's.

    Parameters
    ----------
    X : array (n_samples, n_features), finite.
    k : rows to pick, in [1, n_samples].
    kernel : "rbf" (default) or "linear".
    gamma : RBF width; None -> ``1 / (n_features * mean per-feature variance)``.
    mean_samples : above this many rows, ``mu`` is estimated from this many rows drawn
        with ``seed`` (exact otherwise, and always for the linear kernel). None = exact.
    seed : int or Generator.

    Returns
    -------
    indices : ndarray (k,) int64 in pick order.
    gains : ndarray (k,) float64, the herding criterion of each pick when it was taken.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [2.0], [9.0], [10.0]])
    >>> kernel_herding(X, 2, gamma=0.5)[0].tolist()  # the middle of the big clump, then the small one
    [1, 3]
    """
    X = check_embeddings(X, name="X")
    n, d = X.shape
    k = check_count(k, n, "k")
    if kernel not in KERNELS:
        raise ConfigError(f"kernel == {kernel!r}, must be one of: {', '.join(KERNELS)}")
    if gamma is not None and (isinstance(gamma, bool) or not isinstance(gamma, numbers.Real) or not gamma > 0):
        raise ConfigError(f"gamma == {gamma!r}, must be a number > 0 (or None)")
    if mean_samples is not None and (
        isinstance(mean_samples, bool) or not isinstance(mean_samples, int) or mean_samples < 1
    ):
        raise ConfigError(f"mean_samples == {mean_samples!r}, must be an int >= 1 (or None)")
    rng = check_random_state(seed)
    # The rbf kernel is shift-invariant; centring keeps its float32 distances accurate.
    Xc = X if kernel == "linear" else X - column_mean(X).astype(np.float32)
    sq = sq_norms(Xc)
    if kernel == "rbf" and gamma is None:
        var = float(sq.sum(dtype=np.float64)) / (n * d)  # mean per-feature variance
        gamma = 1.0 / (d * var) if var > 0 else 1.0
    ref = np.arange(n)
    if kernel == "rbf" and mean_samples is not None and n > mean_samples:
        ref = np.sort(rng.choice(n, size=mean_samples, replace=False))
    with one_blas_thread():
        mu = _mean_embedding(Xc, sq, ref, kernel, gamma)
        return _herd(Xc, sq, mu, k, kernel, gamma)


def _kernel_block(A, a_sq, B, b_sq, kernel, gamma, out=None):
    if kernel == "linear":
        return np.matmul(A, B.T, out=out)
    out = sq_dists(A, B, a_sq, b_sq, out=out)
    out *= -gamma
    return np.exp(out, out=out)


def _mean_embedding(X, sq, ref, kernel, gamma) -> np.ndarray:
    if kernel == "linear":
        return X @ column_mean(X[ref]).astype(np.float32)
    R, r_sq = X[ref], sq[ref]
    mu = np.empty(len(X), dtype=np.float64)
    for sl in row_blocks(len(X), len(R)):
        mu[sl] = _kernel_block(X[sl], sq[sl], R, r_sq, kernel, gamma).sum(axis=1, dtype=np.float64) / len(R)
    return mu


def _herd(X, sq, mu, k, kernel, gamma) -> tuple[np.ndarray, np.ndarray]:
    n = len(X)
    acc = np.zeros(n, dtype=np.float64)  # sum_t k(x, x_t)
    picks, gains = np.empty(k, dtype=np.int64), np.empty(k, dtype=np.float64)
    taken = np.zeros(n, dtype=bool)
    for t in range(k):
        crit = mu - acc / (t + 1)
        crit[taken] = -np.inf
        j = int(np.argmax(crit))
        picks[t], gains[t] = j, crit[j]
        taken[j] = True
        acc += _kernel_block(X, sq, X[j : j + 1], sq[j : j + 1], kernel, gamma)[:, 0]
    return picks, gains


@REGISTRY.register("herding")
@uses_embeddings
def herding_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    kernel: str = "rbf",
    gamma: float | None = None,
):
    """Kernel herding over ``embeddings`` (default ``ds.X``); see :func:`kernel_herding`."""
    idx, _ = kernel_herding(embeddings, k, kernel=kernel, gamma=gamma, seed=rng)
    return idx
