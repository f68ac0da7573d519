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

from .._arrays import check_embeddings
from .._errors import ConfigError, DataError
from .._neighbors import knn, unit_rows
from .base import ScoreColumn, Scorer, register

__all__ = ["knn_density", "knn_distances", "knn_uniqueness"]

_BLOCK_FLOATS = 2**23  # one block of squared distances stays under 32 MiB


# ---------------------------------------------------------------- pure functions


def _check_embeddings(E: Any) -> np.ndarray:
    return check_embeddings(E, min_rows=2)


def _check_k(k: Any, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ConfigError(f"k == {k!r}, must be an int >= 1")
    return int(min(k, n - 1))


def _exact_knn(E: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    return knn(E, k, exclude_self=True, method="exact")


def _faiss_knn(E: np.ndarray, k: int, *, hnsw: bool, n_threads: int | None) -> tuple[np.ndarray, np.ndarray]:
    return knn(E, k, exclude_self=True, method="faiss-hnsw" if hnsw else "faiss-flat", n_threads=n_threads)


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
    U = unit_rows(_check_embeddings(E))  # a zero row stays at the origin: cosine 0 to everything
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


class _KNNScorer(Scorer):
    """Parameters: ``k`` and the search settings of :func:`knn_distances`."""

    needs_labels = False

    def __init__(
        self,
        k: int = 10,
        exact_threshold: int = 20_000,
        hnsw_threshold: int = 200_000,
        method: str = "auto",
        n_threads: int | None = None,
    ) -> None:
        self.k = k
        self.search = {
            "exact_threshold": exact_threshold,
            "hnsw_threshold": hnsw_threshold,
            "method": method,
            "n_threads": n_threads,
        }

    def check(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int | np.integer) or self.k < 1:
            raise ConfigError(f"k == {self.k!r}, must be an int >= 1")

    def _fn(self, E: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def score(self, ds, *, dynamics=None, embeddings=None, seed=0) -> pd.DataFrame:
        E = ds.X if embeddings is None else embeddings
        if len(E) != ds.n:
            raise DataError(f"embeddings have {len(E)} rows but the dataset has {ds.n}")
        return self._frame(ds, {self.name: self._fn(E)})


@register
class KNNDensityScorer(_KNNScorer):
    """Typicality: mean cosine similarity to the ``k`` nearest neighbours in ``embeddings`` (default ``ds.X``)."""

    name = "knn_density"
    columns = (ScoreColumn("knn_density", "easier", -1.0, 1.0, "mean cosine similarity to the k nearest neighbours"),)

    def _fn(self, E):
        return knn_density(E, self.k, **self.search)


@register
class KNNUniquenessScorer(_KNNScorer):
    """Uniqueness: Euclidean distance to the ``k``-th nearest neighbour in ``embeddings`` (default ``ds.X``)."""

    name = "knn_uniqueness"
    columns = (
        ScoreColumn("knn_uniqueness", "harder", 0.0, np.inf, "Euclidean distance to the k-th nearest neighbour"),
    )

    def _fn(self, E):
        return knn_uniqueness(E, self.k, **self.search)
