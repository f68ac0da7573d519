"""Intrinsic dimension: the maximum-likelihood estimator of Levina and Bickel (k = 5)."""

from __future__ import annotations

import numpy as np

from .._errors import ConfigError, DataError
from .._neighbors import knn
from .._validation import SeedLike, check_random_state
from . import family, row
from ._context import ProfileContext

FAMILY = "intrinsic_dimension"
MAX_QUERIES = 2000


def intrinsic_dimension(
    X: np.ndarray,
    k: int = 5,
    *,
    max_queries: int = MAX_QUERIES,
    aggregate: str = "inverse-mean",
    seed: SeedLike = 0,
) -> float:
    """Maximum-likelihood intrinsic dimension from the k nearest neighbours (Levina & Bickel, 2004).

    With ``T_j(x)`` the distance from x to its j-th nearest neighbour, each point
    gives the log ratios ``log(T_k(x) / T_j(x))``, j = 1..k-1. ``aggregate`` chooses
    how they are combined over points:

    - ``"inverse-mean"`` (default): ``1 / mean of all log ratios`` (MacKay &
      Ghahramani's correction, and what Boopathy et al.'s code feeds to the
      inductive-bias formula);
    - ``"mean"``: Levina & Bickel's per-point estimates averaged over points, each
      with their unbiased normalisation ``(k - 2) / sum_j log ratio``.

    Exact duplicates are collapsed first (a zero distance has no log). Neighbours
    are found exactly among all distinct rows; the average runs over all of them or
    over a uniform sample of ``max_queries`` (an unbiased estimate of the average).

    Parameters
    ----------
    X : (n, d) points; k : neighbours (>= 2).

    Returns
    -------
    float, the estimated dimension.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Z = rng.normal(size=(2000, 3)) @ rng.normal(size=(3, 20))  # a 3-D subspace of R^20
    >>> round(intrinsic_dimension(Z), 1)
    3.0
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ConfigError(f"k == {k!r}, must be an int >= 2")
    if aggregate not in {"inverse-mean", "mean"}:
        raise ConfigError(f"aggregate == {aggregate!r}, must be 'inverse-mean' or 'mean'")
    A = np.asarray(X, dtype=np.float32)
    if A.ndim != 2:
        raise DataError(f"X must be 2-D (n, d), got shape {A.shape}")
    from .duplication import exact_duplicates

    ids = exact_duplicates(A)
    first = np.unique(ids, return_index=True)[1]
    U = A if len(first) == len(A) else A[np.sort(first)]
    n = len(U)
    if n <= k:
        raise DataError(f"intrinsic dimension with k={k} needs more than {k} distinct rows, got {n}")
    q = np.arange(n) if n <= max_queries else np.sort(check_random_state(seed).choice(n, max_queries, replace=False))
    dist, _ = knn(U, k, queries=U[q], metric="l2", self_index=q)
    ok = (dist[:, 0] > 0) & np.isfinite(dist[:, -1])
    if not ok.any():
        raise DataError("no point has k distinct neighbours at a positive distance")
    logs = np.log(dist[ok, k - 1 : k]) - np.log(dist[ok, : k - 1])
    if aggregate == "inverse-mean":
        return float(1.0 / logs.mean())
    per = logs.sum(axis=1)
    return float(np.mean((k - 2) / per[per > 0])) if k > 2 else float(np.mean(1.0 / per[per > 0]))


def cached_intrinsic_dimension(ctx: ProfileContext) -> tuple[float, str]:
    """The profile's intrinsic dimension of ``ctx.X`` (computed once per profile) and a note."""
    if "intrinsic_dimension" not in ctx.cache:
        n = ctx.X.shape[0]
        m = intrinsic_dimension(ctx.X, 5, seed=ctx.rng(FAMILY))
        sample = f"averaged over {MAX_QUERIES} sampled points" if n > MAX_QUERIES else "averaged over all points"
        ctx.cache["intrinsic_dimension"] = (m, f"MLE (Levina-Bickel, k=5, inverse of the mean log ratio), {sample}")
    return ctx.cache["intrinsic_dimension"]


@family(FAMILY, description="maximum-likelihood intrinsic dimension (k = 5)")
def intrinsic(ctx: ProfileContext) -> list[dict]:
    try:
        m, note = cached_intrinsic_dimension(ctx)
    except DataError as e:
        return [row(FAMILY, "intrinsic_dimension", note=f"not computed: {e}")]
    return [row(FAMILY, "intrinsic_dimension", m, note=note)]
