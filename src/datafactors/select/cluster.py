"""Cluster-balanced sampling: k-means the embeddings, take an equal share from every cluster.

Shares are water-filled: a cluster smaller than its share gives all of its rows and
the rest is spread over the others, so exactly ``k`` rows come back. The pick order
is round-robin over clusters, so every prefix of the selection is balanced too.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._arrays import check_embeddings
from .._errors import ConfigError
from .._neighbors import kmeans
from .._validation import SeedLike, check_random_state, seed_int
from . import REGISTRY, _balanced_quota, uses_embeddings
from ._blas import check_count, sq_norms

WITHIN = ("random", "nearest")


def cluster_balanced(
    X: object,
    k: int,
    *,
    n_clusters: int | None = None,
    within: str = "random",
    niter: int = 20,
    seed: SeedLike = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``k`` rows spread equally over the k-means clusters of ``X``.

    Parameters
    ----------
    X : array (n_samples, n_features), finite.
    k : rows to pick, in [1, n_samples].
    n_clusters : k-means clusters; None -> ``min(k, round(sqrt(n_samples)))`` (at least 1).
    within : order inside a cluster: "random" (default) or "nearest" (closest to the
        centroid first, the prototypes).
    niter : k-means (faiss) iterations.
    seed : int or Generator, for k-means and the random order.

    Returns
    -------
    indices : ndarray (k,) int64 in pick order (round-robin over clusters).
    labels : ndarray (n_samples,) int64, the cluster of every row.

    Examples
    --------
    >>> X = np.r_[np.zeros((6, 1)), np.full((2, 1), 10.0)]
    >>> idx, labels = cluster_balanced(X, 4, n_clusters=2)
    >>> np.bincount(labels[idx]).tolist()
    [2, 2]
    """
    X = check_embeddings(X, name="X")
    n = len(X)
    k = check_count(k, n, "k")
    if n_clusters is None:
        n_clusters = max(1, min(k, round(float(np.sqrt(n)))))
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, numbers.Integral) or not 1 <= n_clusters <= n:
        raise ConfigError(f"n_clusters == {n_clusters!r}, must be an int in [1, {n}]")
    if within not in WITHIN:
        raise ConfigError(f"within == {within!r}, must be one of: {', '.join(WITHIN)}")
    rng = check_random_state(seed)
    if n_clusters == 1:
        centroids, labels = X.mean(axis=0, keepdims=True), np.zeros(n, dtype=np.int64)
    else:
        centroids, labels, _ = kmeans(X, int(n_clusters), seed=seed_int(rng), niter=niter, sample="faiss")
    counts = np.bincount(labels, minlength=int(n_clusters))
    quota = _balanced_quota(counts, k)
    if within == "random":
        key = rng.permutation(n).astype(np.float64)
    else:
        diff = X - centroids[labels]
        key = sq_norms(diff).astype(np.float64)
    # rank of each row inside its cluster by key (ties: row index)
    order = np.lexsort((np.arange(n), key, labels))
    starts = np.concatenate([[0], np.cumsum(counts)])
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts[labels[order]]
    keep = rank < quota[labels]
    rows = np.flatnonzero(keep)
    picks = rows[np.lexsort((labels[rows], rank[rows]))]
    return picks, labels


@REGISTRY.register("cluster_balanced")
@uses_embeddings
def cluster_balanced_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    n_clusters: int | None = None,
    within: str = "random",
):
    """Equal share per k-means cluster of ``embeddings`` (default ``ds.X``); see :func:`cluster_balanced`."""
    idx, _ = cluster_balanced(embeddings, k, n_clusters=n_clusters, within=within, seed=rng)
    return idx
