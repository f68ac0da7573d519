"""Facility location, with the objective kept apart from the optimizer (as in apricot).

Objective: ``f(S) = sum_i max_{j in S} sim(j, i)``, monotone submodular for ``sim >= 0``.
Its similarities are apricot's (``FacilityLocationSelection``), so selections compare:

- dense (n <= 20,000 and no ``n_neighbors``): ``metric="euclidean"`` gives
  ``sim = max(D^2) - D^2`` over squared Euclidean distances D^2, the max taken over
  all pairs; ``metric="cosine"`` gives ``sim = cos^2``.
- sparse (``n_neighbors`` given, or n > 20,000): row ``j`` of the graph holds ``j``
  itself and its ``n_neighbors`` nearest rows; ``metric="euclidean"`` gives
  ``sim = max(D) - D`` over the stored (not squared) distances, ``metric="cosine"``
  ``sim = cos^2``; every other pair has similarity 0. As in apricot, candidate ``j``
  covers the rows of its own neighbour list. (apricot's sparse cosine ranks
  neighbours by ``cos^2`` over a dense matrix; here by ``cos``, from a block-wise
  search that never forms it.) Above 20,000 rows the neighbour search is approximate
  at k-means cell borders (see :func:`datafactors.select._blas.knn_graph`).

Optimizers, chosen by name (:data:`OPTIMIZERS`): ``"naive"`` greedy (every gain every
step), ``"lazy"`` greedy (Minoux: a heap of stale upper bounds; same picks as naive),
``"stochastic"`` greedy (Mirzasoleiman et al.: best of ``(n/k) ln(1/epsilon)`` random
candidates per step). Each returns the pick order and the marginal gain of each pick.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

import numpy as np

from .._arrays import check_embeddings
from .._errors import ConfigError, DataError
from .._validation import SeedLike, check_random_state, seed_int
from . import REGISTRY, uses_embeddings
from ._blas import DENSE_MAX_ROWS, check_count, dense_sq_dists, knn_graph, one_blas_thread, row_blocks

METRICS = ("euclidean", "cosine")
DEFAULT_SPARSE_NEIGHBORS = 16


class DenseFacility:
    """Facility location over a dense (n, n) float32 similarity matrix (row ``j``: what ``j`` covers)."""

    def __init__(self, S: np.ndarray) -> None:
        self.S = S
        self.n = len(S)
        self.cur = np.zeros(self.n, dtype=np.float32)

    @classmethod
    def from_embeddings(cls, X: np.ndarray, metric: str = "euclidean") -> DenseFacility:
        if metric == "euclidean":
            S = dense_sq_dists(X)
            np.subtract(S.max(), S, out=S)
        else:
            Xn = _unit_rows(X)
            S = np.empty((len(X), len(X)), dtype=np.float32)
            with one_blas_thread():
                for sl in row_blocks(len(X), len(X)):
                    np.matmul(Xn[sl], Xn.T, out=S[sl])
            np.square(S, out=S)
        return cls(S)

    def upper_bounds(self) -> np.ndarray:
        # With nothing selected the gain of j is its row sum; inflated so it stays an
        # upper bound of gains() whatever the summation order.
        return self.S.sum(axis=1, dtype=np.float64) * (1 + 1e-9) + 1e-9

    def gains(self, cand: np.ndarray) -> np.ndarray:
        out = np.empty(len(cand), dtype=np.float64)
        for sl in row_blocks(len(cand), self.n):
            block = self.S[cand[sl]]
            block -= self.cur
            np.maximum(block, 0.0, out=block)
            # per-row float64 sums of a contiguous block: a row's value never depends on the batch
            out[sl] = block.astype(np.float64).sum(axis=1)
        return out

    def add(self, j: int) -> None:
        np.maximum(self.cur, self.S[j], out=self.cur)

    @property
    def value(self) -> float:
        return float(self.cur.sum(dtype=np.float64))


class SparseFacility:
    """Facility location over a sparse similarity graph in CSR form (row ``j``: what ``j`` covers)."""

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, n: int) -> None:
        self.indptr, self.indices, self.data, self.n = indptr, indices, data, n
        self.cur = np.zeros(n, dtype=np.float32)

    @classmethod
    def from_embeddings(
        cls, X: np.ndarray, metric: str = "euclidean", n_neighbors: int = DEFAULT_SPARSE_NEIGHBORS, seed: int = 0
    ) -> SparseFacility:
        n = len(X)
        if metric == "euclidean":
            Ind, D = knn_graph(X, n_neighbors, seed=seed)
            np.subtract(D.max(), D, out=D)
        else:
            Ind, D = knn_graph(_unit_rows(X), n_neighbors, seed=seed)
            # unit rows: |a - b|^2 = 2 - 2 cos
            np.square(D, out=D)
            np.subtract(1.0, D / 2.0, out=D)
            np.square(D, out=D)
        m = Ind.shape[1]
        indptr = np.arange(0, n * m + 1, m, dtype=np.int64)
        return cls(indptr, Ind.astype(np.int32).ravel(), D.ravel(), n)

    def upper_bounds(self) -> np.ndarray:
        return np.add.reduceat(self.data.astype(np.float64), self.indptr[:-1]) * (1 + 1e-9) + 1e-9

    def gains(self, cand: np.ndarray) -> np.ndarray:
        starts = self.indptr[cand]
        lens = self.indptr[cand + 1] - starts
        offsets = np.cumsum(lens) - lens
        pos = np.repeat(starts - offsets, lens) + np.arange(int(lens.sum()))
        vals = self.data[pos] - self.cur[self.indices[pos]]
        np.maximum(vals, 0.0, out=vals)
        return np.add.reduceat(vals.astype(np.float64), offsets)

    def add(self, j: int) -> None:
        s, e = self.indptr[j], self.indptr[j + 1]
        cols = self.indices[s:e]
        self.cur[cols] = np.maximum(self.cur[cols], self.data[s:e])

    @property
    def value(self) -> float:
        return float(self.cur.sum(dtype=np.float64))


Objective = DenseFacility | SparseFacility


def naive_greedy(obj: Objective, k: int, **_: object) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate every remaining gain at every step; ties go to the lowest index."""
    picks, gains = np.empty(k, dtype=np.int64), np.empty(k, dtype=np.float64)
    taken = np.zeros(obj.n, dtype=bool)
    every = np.arange(obj.n)
    for t in range(k):
        g = obj.gains(every)
        g[taken] = -np.inf
        j = int(np.argmax(g))
        picks[t], gains[t] = j, g[j]
        taken[j] = True
        obj.add(j)
    return picks, gains


def lazy_greedy(obj: Objective, k: int, *, batch: int = 16, **_: object) -> tuple[np.ndarray, np.ndarray]:
    """Minoux's lazy greedy: pop stale upper bounds, re-evaluate, pick once the top is fresh.

    Submodularity makes an old gain an upper bound of the current one, so a freshly
    evaluated top of the heap is the exact argmax; heap order ``(-gain, index)`` breaks
    ties by the lowest index, so the picks equal :func:`naive_greedy`'s. ``batch``
    stale entries are re-evaluated per round (fewer Python round trips, a little more work).
    """
    picks, gains = np.empty(k, dtype=np.int64), np.empty(k, dtype=np.float64)
    heap = [(-float(b), i) for i, b in enumerate(obj.upper_bounds())]
    heapq.heapify(heap)
    stamp = np.full(obj.n, -1, dtype=np.int64)  # step at which the heap value was computed
    t = 0
    while t < k:
        neg, i = heap[0]
        if stamp[i] == t:
            heapq.heappop(heap)
            picks[t], gains[t] = i, -neg
            obj.add(i)
            t += 1
            continue
        popped = [heapq.heappop(heap)[1] for _ in range(min(batch, len(heap)))]
        cand = np.array(popped, dtype=np.int64)
        for c, g in zip(popped, obj.gains(cand).tolist(), strict=True):
            heapq.heappush(heap, (-g, c))
        stamp[cand] = t
    return picks, gains


def stochastic_greedy(
    obj: Objective, k: int, *, epsilon: float = 0.01, rng: np.random.Generator, **_: object
) -> tuple[np.ndarray, np.ndarray]:
    """Mirzasoleiman et al.'s stochastic greedy: each step, the best of ``(n/k) ln(1/epsilon)`` random candidates."""
    n = obj.n
    size = max(1, math.ceil(n / k * math.log(1.0 / epsilon)))
    pool = np.arange(n)  # unselected rows live in pool[:m]
    where = np.arange(n)
    picks, gains = np.empty(k, dtype=np.int64), np.empty(k, dtype=np.float64)
    for t in range(k):
        m = n - t
        pos = rng.choice(m, size=min(size, m), replace=False) if size < m else np.arange(m)
        cand = np.sort(pool[pos])
        g = obj.gains(cand)
        b = int(np.argmax(g))
        j = int(cand[b])
        picks[t], gains[t] = j, g[b]
        obj.add(j)
        pj, last = where[j], pool[m - 1]  # swap j out of the live prefix
        pool[pj], where[last] = last, pj
        pool[m - 1], where[j] = j, m - 1
    return picks, gains


OPTIMIZERS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "naive": naive_greedy,
    "lazy": lazy_greedy,
    "stochastic": stochastic_greedy,
}


def _unit_rows(X: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.einsum("ij,ij->i", X, X, dtype=np.float64)).astype(np.float32)
    norms[norms == 0] = 1.0  # a zero row stays zero: similarity 0 to everything
    return X / norms[:, None]


def facility_location(
    X: object,
    k: int,
    *,
    metric: str = "euclidean",
    optimizer: str = "lazy",
    n_neighbors: int | None = None,
    epsilon: float = 0.01,
    batch: int = 16,
    seed: SeedLike = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy facility-location selection of ``k`` rows of ``X``.

    Parameters
    ----------
    X : array (n_samples, n_features), finite.
    k : rows to select, in [1, n_samples].
    metric : "euclidean" or "cosine" (similarities as in apricot; see the module docstring).
    optimizer : "lazy" (default), "naive" or "stochastic".
    n_neighbors : build a sparse kNN similarity graph with this many neighbours per row.
        None means dense up to 20,000 rows and 16 neighbours above.
    epsilon : stochastic greedy's ``epsilon`` (sample ``(n/k) ln(1/epsilon)`` per step).
    batch : stale heap entries re-evaluated together by lazy greedy (the picks do not
        depend on it; 16 measured fastest at 10k dense and 200k sparse).
    seed : int or Generator, for stochastic greedy and the kNN partition at large n.

    Returns
    -------
    indices : ndarray (k,) int64 in pick order.
    gains : ndarray (k,) float64, the marginal gain of each pick; they sum to ``f(S)``.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [3.0], [8.0], [9.0], [11.0]])
    >>> idx, gains = facility_location(X, 2)
    >>> idx.tolist()
    [2, 4]
    """
    X = check_embeddings(X, name="X")
    n = len(X)
    k = check_count(k, n, "k")
    if metric not in METRICS:
        raise ConfigError(f"metric == {metric!r}, must be one of: {', '.join(METRICS)}")
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"optimizer == {optimizer!r}, must be one of: {', '.join(OPTIMIZERS)}")
    if not (isinstance(epsilon, float | int) and 0 < epsilon < 1):
        raise ConfigError(f"epsilon == {epsilon!r}, must be in (0, 1)")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ConfigError(f"batch == {batch!r}, must be an int >= 1")
    rng = check_random_state(seed)
    obj = build_objective(X, metric=metric, n_neighbors=n_neighbors, seed=rng)
    return OPTIMIZERS[optimizer](obj, k, epsilon=float(epsilon), batch=batch, rng=rng)


def build_objective(
    X: np.ndarray, *, metric: str = "euclidean", n_neighbors: int | None = None, seed: SeedLike = 0
) -> Objective:
    """The facility-location objective of ``X``: dense up to 20,000 rows unless ``n_neighbors`` is given."""
    if n_neighbors is None:
        if len(X) <= DENSE_MAX_ROWS:
            return DenseFacility.from_embeddings(X, metric)
        n_neighbors = DEFAULT_SPARSE_NEIGHBORS
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, int) or n_neighbors < 1:
        raise DataError(f"n_neighbors == {n_neighbors!r}, must be an int >= 1 (or None)")
    return SparseFacility.from_embeddings(X, metric, n_neighbors, seed=seed_int(seed))


@REGISTRY.register("facility_location")
@uses_embeddings
def facility_location_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    metric: str = "euclidean",
    optimizer: str = "lazy",
    n_neighbors: int | None = None,
    epsilon: float = 0.01,
):
    """Facility location over ``embeddings`` (default ``ds.X``); see :func:`facility_location`."""
    idx, _ = facility_location(
        embeddings, k, metric=metric, optimizer=optimizer, n_neighbors=n_neighbors, epsilon=epsilon, seed=rng
    )
    return idx
