"""Nearest-neighbour geometry of the embedding space: density (typicality) and uniqueness.

:func:`knn_distances` finds every point's k nearest neighbours other than itself —
exactly, in float32 BLAS blocks of rows (torch matmul + topk), up to ``exact_threshold`` points (never an
n x n matrix: one block of rows at a time), and with faiss above that (an exact
``IndexFlatL2`` up to ``hnsw_threshold`` points, an approximate ``IndexHNSWFlat``
beyond). The two registered scores read it:

- ``knn_density``: mean cosine similarity to the k nearest neighbours (by cosine).
  High = the example sits in a dense, typical region; higher = easier.
- ``knn_uniqueness``: Euclidean distance to the k-th nearest neighbour. High = few
  examples like it; higher = harder (rarer).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from . import REGISTRY, ScoreColumn, declare

__all__ = ["knn_density", "knn_distances", "knn_uniqueness"]

_BLOCK_FLOATS = 2**23  # one block of squared distances stays under 32 MiB


# ---------------------------------------------------------------- pure functions


def _check_embeddings(E: Any) -> np.ndarray:
    try:
        Ea = np.asarray(E, dtype=np.float32)
    except (TypeError, ValueError):
        raise DataError("embeddings must be a numeric (n, d) array") from None
    if Ea.ndim != 2 or Ea.shape[0] < 2 or Ea.shape[1] < 1:
        raise DataError(f"embeddings must have shape (n, d) with n >= 2 and d >= 1, got {Ea.shape}")
    if not np.isfinite(Ea).all():
        raise DataError("embeddings contain NaN or inf")
    return np.ascontiguousarray(Ea)


def _check_k(k: Any, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ConfigError(f"k == {k!r}, must be an int >= 1")
    return int(min(k, n - 1))


def _exact_knn(E: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    import torch

    n = E.shape[0]
    Et = torch.from_numpy(E)
    # ||x_i||^2 is constant along a row, so ranking needs only ||x_j||^2 - 2 x_i.x_j.
    sq = (Et * Et).sum(dim=1)
    rows = max(1, min(n, _BLOCK_FLOATS // n))
    idx = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        block = torch.addmm(sq[None, :], Et[start:stop], Et.T, alpha=-2.0)
        block[torch.arange(stop - start), torch.arange(start, stop)] = torch.inf  # never one's own neighbour
        idx[start:stop] = torch.topk(block, k, dim=1, largest=False, sorted=False).indices.numpy()
    return _refine(E, idx)


def _refine(E: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact float64 distances to the chosen neighbours, sorted ascending (ties by index)."""
    n, k = idx.shape
    dist = np.empty((n, k), dtype=np.float64)
    step = max(1, _BLOCK_FLOATS // max(1, k * E.shape[1]))
    for start in range(0, n, step):
        stop = min(n, start + step)
        diff = E[idx[start:stop]].astype(np.float64) - E[start:stop, None, :].astype(np.float64)
        dist[start:stop] = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    order = np.lexsort((idx, dist), axis=1)
    return np.take_along_axis(dist, order, axis=1), np.take_along_axis(idx, order, axis=1)


def _faiss_knn(E: np.ndarray, k: int, *, hnsw: bool, n_threads: int | None) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    n, d = E.shape
    prev = faiss.omp_get_max_threads()
    if n_threads is not None:
        faiss.omp_set_num_threads(n_threads)
    try:
        if hnsw:
            index = faiss.IndexHNSWFlat(d, 32)
            index.hnsw.efConstruction = 80
            index.hnsw.efSearch = max(64, 2 * (k + 1))
        else:
            index = faiss.IndexFlatL2(d)
        index.add(E)
        _, found = index.search(E, k + 1)
    finally:
        faiss.omp_set_num_threads(prev)
    # Drop each point itself (or, among exact duplicates where it was not returned, the last hit).
    is_self = found == np.arange(n)[:, None]
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
    keep = np.ones_like(found, dtype=bool)
    keep[np.arange(n), drop] = False
    idx = found[keep].reshape(n, k)
    missing = idx < 0  # HNSW may return fewer than k: fall back to the exact search for those rows
    if missing.any():
        rows = np.flatnonzero(missing.any(axis=1))
        for r in rows:
            d2 = ((E - E[r]) ** 2).sum(axis=1)
            d2[r] = np.inf
            idx[r] = np.argsort(d2, kind="stable")[:k]
    return _refine(E, idx.astype(np.int64))


def knn_distances(
    E: Any,
    k: int = 10,
    *,
    exact_threshold: int = 20_000,
    hnsw_threshold: int = 200_000,
    method: str = "auto",
    n_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances and indices of each row's ``k`` nearest other rows.

    Parameters
    ----------
    E : (n, d) embeddings (cast to float32), n >= 2.
    k : neighbours per row, clipped to ``n - 1``.
    exact_threshold : up to this many rows the exact blockwise search runs (float32
        BLAS one block of rows at a time, distances refined in float64).
    hnsw_threshold : above ``exact_threshold`` and up to this many rows faiss's exact
        ``IndexFlatL2`` runs; above it the approximate ``IndexHNSWFlat`` (M=32).
    method : "auto" (by the thresholds), "exact", "faiss-flat" or "faiss-hnsw".
    n_threads : faiss OpenMP threads (default: faiss's own). HNSW graph building is
        bit-reproducible only with ``n_threads=1``.

    Returns
    -------
    distances : (n, k) float64, ascending per row.
    indices : (n, k) int64, never the row itself (an exact duplicate may appear at distance 0).

    Examples
    --------
    >>> d, i = knn_distances(np.array([[0.0], [1.0], [3.0]]), k=1)
    >>> d.ravel().tolist(), i.ravel().tolist()
    ([1.0, 1.0, 2.0], [1, 0, 1])
    """
    Ea = _check_embeddings(E)
    Ea = Ea - Ea.mean(axis=0, dtype=np.float64).astype(np.float32)  # centring shrinks norms: less cancellation
    n = Ea.shape[0]
    k = _check_k(k, n)
    if method == "auto":
        method = "exact" if n <= exact_threshold else ("faiss-flat" if n <= hnsw_threshold else "faiss-hnsw")
    if method == "exact":
        return _exact_knn(Ea, k)
    if method in ("faiss-flat", "faiss-hnsw"):
        return _faiss_knn(Ea, k, hnsw=method == "faiss-hnsw", n_threads=n_threads)
    raise ConfigError(f"method == {method!r}, must be 'auto', 'exact', 'faiss-flat' or 'faiss-hnsw'")


def _unit_rows(E: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(E.astype(np.float64), axis=1, keepdims=True)
    # A zero vector has no direction; it stays at the origin (cosine 0 to everything).
    return (E / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def knn_density(E: Any, k: int = 10, **search: Any) -> np.ndarray:
    """Mean cosine similarity of each row to its ``k`` most similar other rows.

    Computed as ``1 - d^2 / 2`` from Euclidean neighbours of the L2-normalized rows.

    Returns
    -------
    (n,) float64 in [-1, 1]; higher = more typical (easier).

    Examples
    --------
    >>> knn_density(np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), k=1).tolist()
    [1.0, 1.0, 0.0]
    """
    U = _unit_rows(_check_embeddings(E))
    _, idx = knn_distances(U, k, **search)
    U64 = U.astype(np.float64)
    cos = np.einsum("ikd,id->ik", U64[idx], U64)
    return np.clip(cos.mean(axis=1), -1.0, 1.0)


def knn_uniqueness(E: Any, k: int = 10, **search: Any) -> np.ndarray:
    """Euclidean distance from each row to its ``k``-th nearest other row.

    Returns
    -------
    (n,) float64 >= 0; higher = rarer (harder).

    Examples
    --------
    >>> knn_uniqueness(np.array([[0.0], [1.0], [3.0]]), k=1).tolist()
    [1.0, 1.0, 2.0]
    """
    dist, _ = knn_distances(E, k, **search)
    return dist[:, -1].copy()


# ---------------------------------------------------------------- registered scorers

declare(
    ScoreColumn("knn_density", "easier", -1.0, 1.0, "mean cosine similarity to the k nearest neighbours (k=10)"),
    ScoreColumn("knn_uniqueness", "harder", 0.0, np.inf, "Euclidean distance to the k-th nearest neighbour (k=10)"),
)


class _KNNScorer:
    needs_dynamics = False
    name = ""

    def __init__(self, k: int = 10, **search: Any) -> None:
        self.k, self.search = k, search

    def _fn(self, E: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def score(self, ds, *, dynamics=None, embeddings=None, seed=0) -> pd.DataFrame:
        E = ds.X if embeddings is None else embeddings
        if len(E) != ds.n:
            raise DataError(f"embeddings have {len(E)} rows but the dataset has {ds.n}")
        return pd.DataFrame({self.name: self._fn(E)}, index=pd.Index(ds.ids, name="id"))


@REGISTRY.register("knn_density")
class KNNDensityScorer(_KNNScorer):
    """Typicality: mean cosine similarity to the ``k`` nearest neighbours in ``embeddings`` (default ``ds.X``)."""

    name = "knn_density"

    def _fn(self, E):
        return knn_density(E, self.k, **self.search)


@REGISTRY.register("knn_uniqueness")
class KNNUniquenessScorer(_KNNScorer):
    """Uniqueness: Euclidean distance to the ``k``-th nearest neighbour in ``embeddings`` (default ``ds.X``)."""

    name = "knn_uniqueness"

    def _fn(self, E):
        return knn_uniqueness(E, self.k, **self.search)
