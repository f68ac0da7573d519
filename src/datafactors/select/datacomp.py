"""DataComp's filtering baselines (Gadre et al., 2023): quality score, image-based clustering, both.

- ``quality``: keep the top rows by a quality score (DataComp's CLIP-score baseline keeps
  the top 30% by L/14 score); an optional ``threshold`` makes only rows at or above it eligible.
- ``cluster_filter``: k-means the pool (on L2-normalised embeddings, faiss) and keep the
  clusters that a target set's examples fall into (DataComp: ImageNet training images'
  nearest pool centroids). A target is given as embeddings, or as ids / a boolean mask of
  pool rows.
- ``quality_cluster``: their intersection, DataComp's best baseline.

Budget = number kept, exactly. How each operator cuts or fills to it:

- ``quality`` ranks by the score (ties by the seed) and keeps the first ``budget``. With a
  ``threshold`` the budget may not exceed the rows that pass it (``DataError`` otherwise).
- ``cluster_filter``: cluster membership is a set criterion with no order inside the kept
  pool, so when the kept clusters hold more than ``budget`` rows a uniform random
  ``budget`` of them is kept (from the seed). When they hold fewer, whole clusters are
  added in order of their centroid's distance to the nearest target example (nearest
  first), the last one partly, at random -- a deterministic fill, documented in
  :attr:`ClusterFilterResult.cluster_order`.
- ``quality_cluster``: with a fixed budget the intersection of "top fraction by quality"
  and "in a kept cluster", cut or filled by quality within the kept clusters, is simply the
  ``budget`` best rows by quality within the kept clusters; if the kept clusters hold
  fewer rows, clusters are added in the same order as ``cluster_filter``, best quality first.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._arrays import check_embeddings
from .._errors import ConfigError, DataError
from .._neighbors import kmeans, nearest_centroid, unit_rows
from .._validation import SeedLike
from . import REGISTRY, _align_scores, filter_selector
from ._common import embeddings_of, requires

__all__ = ["ClusterFilterResult", "cluster_filter", "quality_order"]


# ---------------------------------------------------------------- pure functions


def quality_order(values: Any, rng: np.random.Generator, *, higher_is_better: bool = True) -> np.ndarray:
    """Row indices from best to worst quality, ties broken by ``rng``.

    Examples
    --------
    >>> quality_order([0.1, 0.9, 0.5], np.random.default_rng(0)).tolist()
    [1, 2, 0]
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or not np.isfinite(v).all():
        raise DataError(f"quality values must be a finite (n,) array, got shape {v.shape}")
    return np.lexsort((rng.permutation(len(v)), -v if higher_is_better else v))


@dataclass
class ClusterFilterResult:
    """What :func:`cluster_filter` found.

    Attributes
    ----------
    keep : (n,) bool, rows of the pool in a kept cluster.
    labels : (n,) int64 cluster of every pool row.
    hits : (n_clusters,) int64 target examples whose nearest centroid is each cluster.
    cluster_order : (n_clusters,) int64 clusters in fill order: kept clusters first (most
        target hits first), then the others by the distance of their centroid to the
        nearest target example (nearest first).
    centroids : (n_clusters, d) float32.
    """

    keep: np.ndarray
    labels: np.ndarray
    hits: np.ndarray
    cluster_order: np.ndarray
    centroids: np.ndarray


def cluster_filter(
    E: Any,
    target: Any,
    *,
    n_clusters: int | None = None,
    seed: SeedLike = 0,
    niter: int = 20,
    normalize: bool = True,
) -> ClusterFilterResult:
    """DataComp's image-based filter: keep the pool's k-means clusters that target examples fall into.

    Parameters
    ----------
    E : (n, d) pool embeddings.
    target : (m, d) target-set embeddings (same space).
    n_clusters : k-means clusters of the pool, in [1, n]; None gives ``round(sqrt(n))``.
    seed : int or Generator for the k-means.
    niter : k-means iterations.
    normalize : cluster L2-normalised embeddings (cosine geometry, as DataComp's CLIP
        embeddings); False clusters the raw vectors.

    Returns
    -------
    ClusterFilterResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> E = np.r_[rng.normal([5, 0], 0.1, (10, 2)), rng.normal([0, 5], 0.1, (10, 2))]
    >>> r = cluster_filter(E, [[4.0, 0.1]], n_clusters=2)
    >>> r.keep.tolist() == [True] * 10 + [False] * 10
    True
    """
    Ea = check_embeddings(E, name="E")
    T = check_embeddings(target, name="target")
    if T.shape[1] != Ea.shape[1]:
        raise DataError(f"target has {T.shape[1]} dimensions but the pool embeddings have {Ea.shape[1]}")
    C, labels, _ = kmeans(Ea, n_clusters, seed=seed, niter=niter, spherical=normalize)
    k = len(C)
    t_lab, _ = nearest_centroid(T, C, normalize=normalize)
    hits = np.bincount(t_lab, minlength=k).astype(np.int64)
    Tn = unit_rows(T) if normalize else T
    # distance of every centroid to its nearest target example (fill order for the rest)
    _, d2 = nearest_centroid(C, Tn, normalize=False)
    order = np.lexsort((np.arange(k), d2, -hits, hits == 0))
    return ClusterFilterResult(hits[labels] > 0, labels, hits, order, C)


def _fill_rank(res: ClusterFilterResult) -> np.ndarray:
    """(n,) rank of every pool row's cluster: 0 for kept clusters, then 1, 2, ... in fill order."""
    k = len(res.hits)
    rank = np.empty(k, dtype=np.int64)
    rank[res.cluster_order] = np.arange(k)
    n_kept = int((res.hits > 0).sum())
    rank = np.maximum(rank - n_kept + 1, 0)  # every kept cluster ties at 0
    return rank[res.labels]


# ---------------------------------------------------------------- selectors


def _target_embeddings(ds, E: np.ndarray, target: Any) -> np.ndarray:
    if target is None:
        raise DataError("this filter needs target=: target embeddings (m, d), ids of pool rows, or a boolean mask")
    arr = np.asarray(target)
    if arr.ndim == 2:
        T = check_embeddings(arr, name="target")
        if T.shape[1] != E.shape[1]:
            raise DataError(f"target has {T.shape[1]} dimensions but the embeddings have {E.shape[1]}")
        return T
    if arr.ndim != 1 or len(arr) == 0:
        raise DataError(f"target must be (m, d) embeddings or a non-empty list of ids, got shape {arr.shape}")
    if arr.dtype == bool:
        if arr.shape != (ds.n,):
            raise DataError(f"target mask must have shape ({ds.n},), got {arr.shape}")
        if not arr.any():
            raise DataError("target mask selects no rows")
        return E[arr]
    return E[ds.index_of(arr.tolist())]


def _check_threshold(threshold: Any) -> float | None:
    if threshold is None:
        return None
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, numbers.Real) or np.isnan(threshold):
        raise ConfigError(f"threshold == {threshold!r}, must be a number")
    return float(threshold)


@REGISTRY.register("quality")
@filter_selector
@requires("scores")
def quality_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    score: str | None = None,
    threshold: float | None = None,
    higher_is_better: bool = True,
) -> np.ndarray:
    """Keep the ``k`` best rows by the quality score ``score`` (DataComp's CLIP-score filter).

    ``higher_is_better=False`` keeps the lowest values. With ``threshold`` only rows at or
    above it (at or below, when lower is better) are eligible, and ``k`` must not exceed them.
    A filter: with ``threshold`` and no budget (``k=None``) every eligible row is kept, in
    input order; without a threshold a budget is needed.
    """
    v = _align_scores(ds, scores, score)
    thr = _check_threshold(threshold)
    if k is None:
        if thr is None:
            raise ConfigError("quality without a budget needs threshold= (keep the rows that meet it)")
        return np.flatnonzero(v >= thr if higher_is_better else v <= thr)
    order = quality_order(v, rng, higher_is_better=higher_is_better)
    if thr is not None:  # the eligible rows, best first; select() reports a budget above their count
        order = order[(v >= thr if higher_is_better else v <= thr)[order]]
    return order


@REGISTRY.register("cluster_filter")
@requires("target")
def cluster_filter_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    target: Any = None,
    n_clusters: int | None = None,
    niter: int = 20,
    normalize: bool = True,
) -> np.ndarray:
    """Keep rows in the clusters the ``target`` falls into (random ``k`` of them; fill by cluster order)."""
    E = embeddings_of(ds, embeddings)
    T = _target_embeddings(ds, E, target)
    res = cluster_filter(E, T, n_clusters=n_clusters, seed=rng, niter=niter, normalize=normalize)
    return np.lexsort((rng.permutation(ds.n), _fill_rank(res)))[:k]


@REGISTRY.register("quality_cluster")
@requires("scores", "target")
def quality_cluster_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    score: str | None = None,
    target: Any = None,
    higher_is_better: bool = True,
    n_clusters: int | None = None,
    niter: int = 20,
    normalize: bool = True,
) -> np.ndarray:
    """Quality score intersected with the cluster filter: the best ``k`` by quality within the kept clusters."""
    v = _align_scores(ds, scores, score)
    E = embeddings_of(ds, embeddings)
    T = _target_embeddings(ds, E, target)
    res = cluster_filter(E, T, n_clusters=n_clusters, seed=rng, niter=niter, normalize=normalize)
    q = -v if higher_is_better else v
    return np.lexsort((rng.permutation(ds.n), q, _fill_rank(res)))[:k]
