"""Retrieval: the training rows nearest to a target set (demonstration / in-domain data retrieval).

Mueller et al. (*Meta-training with Demonstration Retrieval*, 2023) retrieve, for every example,
the semantically nearest labelled examples of a demonstration bank; the same search over a
training pool with a target set (a test or OOD set, a few examples of a new domain) as the
queries picks the training data nearest to where a model will be used.

Every target row is a query. Its nearest training rows are found by
:func:`datafactors._neighbors.knn` with ``method="auto"``: exact blockwise BLAS search up to
20,000 training rows (never an m x n matrix), a faiss flat index up to 200,000 and HNSW
(approximate) above; the ranking is refined in float64, ties to the lowest row.

- ``metric="cosine"`` (default): rows and targets are L2-normalised and ranked by cosine
  similarity; the reported distance is ``1 - cos``. ``metric="euclidean"``: Euclidean distance.
- ``per_target=p``: each target's ``p`` nearest rows; a row retrieved by several targets counts
  once, so fewer than ``m * p`` rows may come back.
- a budget ``k``: round-robin over the targets by rank -- the nearest row of every target
  (targets in order), then every target's second nearest, ... -- skipping rows already taken,
  until ``k`` distinct rows are taken. Every target gets its nearest row before any gets a
  second (up to collisions: a target whose nearest row another target already took does
  not get a replacement in that round).
- both: the first ``k`` rows of the ``per_target`` retrieval, in the same order.

Rows come back in retrieval order: by rank, then by target.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._arrays import check_embeddings
from .._errors import ConfigError, DataError
from .._neighbors import knn, unit_rows
from ..dataset import Dataset
from . import REGISTRY, filter_selector, uses_embeddings
from ._common import embeddings_of, requires

__all__ = ["RETRIEVE_METRICS", "Retrieval", "nearest_rows", "retrieve"]

RETRIEVE_METRICS = ("cosine", "euclidean")


@dataclass
class Retrieval:
    """What :func:`retrieve` found, one entry per retrieved row, in retrieval order.

    Attributes
    ----------
    index : (r,) int64 rows of ``X``, unique.
    target : (r,) int64 the target row (query) that retrieved each row first.
    rank : (r,) int64 the row's rank among that target's neighbours (0 = nearest).
    distance : (r,) float64 its distance to that target (``1 - cos`` for cosine, else Euclidean).
    """

    index: np.ndarray
    target: np.ndarray
    rank: np.ndarray
    distance: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    def head(self, k: int) -> Retrieval:
        """The first ``k`` retrieved rows."""
        return Retrieval(self.index[:k], self.target[:k], self.rank[:k], self.distance[:k])


def _check_metric(metric: Any) -> str:
    if metric not in RETRIEVE_METRICS:
        raise ConfigError(f"metric == {metric!r}, must be one of: {', '.join(map(repr, RETRIEVE_METRICS))}")
    return str(metric)


def _check_count(value: Any, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigError(f"{name} == {value!r}, must be an int >= 1")
    return int(value)


def _pool(X: Any, target: Any, exclude: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(base rows, targets, original row of each base row) with the excluded rows left out."""
    B = check_embeddings(X, name="X")
    T = check_embeddings(target, name="target")
    if T.shape[1] != B.shape[1]:
        raise DataError(f"target has {T.shape[1]} dimensions but the training embeddings have {B.shape[1]}")
    rows = np.arange(len(B))
    if exclude is not None:
        mask = np.asarray(exclude)
        if mask.dtype != bool or mask.shape != (len(B),):
            raise DataError(f"exclude must be a boolean mask of shape ({len(B)},), got {mask.dtype} {mask.shape}")
        rows = np.flatnonzero(~mask)
        B = B[rows]
    return B, T, rows


def _search(B: np.ndarray, T: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    if metric == "cosine":
        sim, idx = knn(
            unit_rows(B, reuse_unit=True), k, queries=unit_rows(T, reuse_unit=True), metric="ip", method="auto"
        )
        return 1.0 - sim, idx
    return knn(B, k, queries=T, metric="l2", method="auto")


def nearest_rows(
    X: Any, target: Any, k: int, *, metric: str = "cosine", exclude: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows of ``X`` to every target row.

    Parameters
    ----------
    X : (n, d) training embeddings.
    target : (m, d) target embeddings, same space.
    k : neighbours per target, in [1, rows of X not excluded].
    metric : "cosine" (default) or "euclidean".
    exclude : optional (n,) boolean mask of rows never returned.

    Returns
    -------
    distance : (m, k) float64, nearest first (``1 - cos`` for cosine, else Euclidean).
    index : (m, k) int64 rows of ``X``; ties go to the lowest row.

    Examples
    --------
    >>> d, i = nearest_rows([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [[2.0, 0.1]], 2)
    >>> i.tolist()
    [[1, 2]]
    """
    metric = _check_metric(metric)
    B, T, rows = _pool(X, target, exclude)
    k = _check_count(k, "k")
    if k > len(B):
        raise DataError(f"k == {k}, must be <= the {len(B)} rows that can be retrieved")
    dist, idx = _search(B, T, k, metric)
    return dist, rows[idx]


def _rank_major(dist: np.ndarray, idx: np.ndarray) -> Retrieval:
    """Flatten (m, p) neighbour lists by rank, then target, keeping each row's first occurrence."""
    m, p = idx.shape
    flat = idx.T.ravel()  # rank 0 of every target, then rank 1, ...
    _, first = np.unique(flat, return_index=True)
    keep = np.sort(first)
    return Retrieval(
        flat[keep].astype(np.int64),
        np.tile(np.arange(m, dtype=np.int64), p)[keep],
        np.repeat(np.arange(p, dtype=np.int64), m)[keep],
        dist.T.ravel()[keep].astype(np.float64),
    )


def retrieve(
    X: Any,
    target: Any,
    k: int | None = None,
    *,
    per_target: int | None = None,
    metric: str = "cosine",
    exclude: Any = None,
) -> Retrieval:
    """The rows of ``X`` nearest to ``target``: ``per_target`` per target, and/or ``k`` in all.

    Parameters
    ----------
    X : (n, d) training embeddings.
    target : (m, d) target embeddings, same space.
    k : distinct rows to retrieve in all, round-robin over the targets by rank (see the
        module notes); with ``per_target`` too, the first ``k`` of that retrieval.
    per_target : nearest rows per target (a row shared by several targets counts once).
    metric : "cosine" (default) or "euclidean".
    exclude : optional (n,) boolean mask of rows never retrieved (e.g. the targets themselves).

    Returns
    -------
    Retrieval, in retrieval order (rank, then target).

    Raises
    ------
    ConfigError
        An unknown metric, neither ``k`` nor ``per_target``, or either not an int >= 1.
    DataError
        Bad arrays, dimensions that differ, ``k`` or ``per_target`` above the rows that can
        be retrieved, or ``k`` above the distinct rows ``per_target`` retrieves.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]])
    >>> retrieve(X, [[0.2], [10.4]], 3, metric="euclidean").index.tolist()
    [0, 3, 1]
    >>> retrieve(X, [[0.2], [0.6]], per_target=2, metric="euclidean").index.tolist()
    [0, 1]
    """
    metric = _check_metric(metric)
    if k is None and per_target is None:
        raise ConfigError("retrieve needs k (rows in all) or per_target= (rows per target)")
    B, T, rows = _pool(X, target, exclude)
    n = len(B)
    if k is not None:
        k = _check_count(k, "k")
        if k > n:
            raise DataError(f"k == {k}, must be <= the {n} rows that can be retrieved")
    if per_target is not None:
        p = _check_count(per_target, "per_target")
        if p > n:
            raise DataError(f"per_target == {p}, must be <= the {n} rows that can be retrieved")
        res = _rank_major(*_search(B, T, p, metric))
        if k is not None:
            if k > len(res):
                raise DataError(
                    f"k == {k}, but per_target == {p} over {len(T)} targets retrieves only {len(res)} distinct rows"
                )
            res = res.head(k)
    else:
        assert k is not None
        # Ranks below p come first in the round-robin, so once the p nearest of every target
        # hold k distinct rows, their first k are the answer; at most k per target are needed.
        p = min(n, k, math.ceil(k / len(T)))
        while True:
            res = _rank_major(*_search(B, T, p, metric))
            if len(res) >= k or p >= min(n, k):
                break
            p = min(n, k, 2 * p)
        res = res.head(k)
    res.index = rows[res.index]
    return res


# ---------------------------------------------------------------- selector


def _bad_target(what: str) -> DataError:
    return DataError(
        f"{what}; target= takes a Dataset, (m, d) embeddings, ids of rows of the dataset or an (n,) boolean "
        "mask (texts: load them as a Dataset with text=, or pass --target FILE with --text COL)"
    )


def _target_vectors(ds: Dataset, E: np.ndarray, target: Any, custom: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """(target embeddings, mask of ds rows that are the target or None) from ``target=``."""
    if target is None:
        raise _bad_target("retrieve needs target= (--target FILE on the command line), the set to retrieve rows for")
    if isinstance(target, Dataset):
        T = check_embeddings(target.X, name=f"target {target.name!r}")
        if T.shape[1] != E.shape[1]:
            hint = " (with embeddings=, pass the target as embeddings of the same space)" if custom else ""
            raise DataError(
                f"target {target.name!r} has {T.shape[1]} features but the training embeddings have {E.shape[1]}{hint}"
            )
        return T, None
    if isinstance(target, str):
        raise _bad_target(f"target == {target!r} is a string ('test' / 'ood' are resolved by a run config)")
    if not isinstance(target, (Sequence, np.ndarray, pd.Series, pd.Index)) or len(target) == 0:
        raise _bad_target(f"target must be non-empty, got {type(target).__name__}")
    arr = np.asarray(target)
    if arr.ndim == 2:
        T = check_embeddings(arr, name="target")
        if T.shape[1] != E.shape[1]:
            raise DataError(f"target has {T.shape[1]} dimensions but the training embeddings have {E.shape[1]}")
        return T, None
    if arr.ndim != 1:
        raise _bad_target(f"target has shape {arr.shape}")
    if arr.dtype == bool:
        if arr.shape != (ds.n,):
            raise DataError(f"target mask must have shape ({ds.n},), got {arr.shape}")
        mask = arr.copy()
    else:
        lookup = pd.Index(np.asarray(ds.ids).astype(str))
        pos = lookup.get_indexer(pd.Index([str(v) for v in arr.tolist()]))
        if (pos < 0).any():
            missing = arr.tolist()[int(np.flatnonzero(pos < 0)[0])]
            raise _bad_target(
                f"target id {missing!r} is not a row of dataset {ds.name!r} (with class_balanced / group_balanced "
                "each cell is searched on its own: give the target as a Dataset or embeddings)"
            )
        mask = np.zeros(ds.n, dtype=bool)
        mask[pos] = True
        return E[pos], mask  # the targets in the order given
    if not mask.any():
        raise DataError("target mask selects no rows")
    return E[mask], mask


@REGISTRY.register("retrieve")
@filter_selector
@uses_embeddings
@requires("target")
def retrieve_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    target: Any = None,
    per_target: int | None = None,
    metric: str = "cosine",
) -> np.ndarray:
    """The training rows nearest to ``target``, in retrieval order (see :func:`retrieve`).

    ``target`` is a Dataset (its features, in the space of ``embeddings`` / ``ds.X``), (m, d)
    embeddings, ids of rows of ``ds`` or an (n,) boolean mask; rows of ``ds`` given as the
    target are the queries and are never retrieved themselves. A budget takes the ``k`` rows
    round-robin over the targets by rank; ``per_target=p`` the ``p`` nearest of every target,
    de-duplicated (no budget needed: :func:`~datafactors.select.select` then returns them in
    input order, as for every filter; with a budget, the first ``budget`` in retrieval order).
    """
    metric = _check_metric(metric)
    if k is None and per_target is None:
        raise ConfigError("retrieve needs a budget (rows in all) or per_target= (rows per target)")
    E = embeddings_of(ds, embeddings)
    T, mask = _target_vectors(ds, E, target, custom=embeddings is not None and embeddings is not ds.X)
    avail = ds.n if mask is None else ds.n - int(mask.sum())
    if k is not None and k > avail:
        why = "" if mask is None else f"; {ds.n - avail} of the {ds.n} rows are the target"
        raise DataError(f"budget == {k}, must be <= the {avail} rows that can be retrieved{why}")
    if per_target is None:
        return retrieve(E, T, k, metric=metric, exclude=mask).index
    idx = retrieve(E, T, per_target=per_target, metric=metric, exclude=mask).index
    if k is not None and k > len(idx):
        raise DataError(
            f"budget == {k}, but per_target == {per_target} over {len(T)} targets retrieves only "
            f"{len(idx)} distinct rows"
        )
    return idx  # select() keeps the first k


def _check_params(per_target: Any = None, metric: str = "cosine", **_: Any) -> None:
    _check_metric(metric)
    if per_target is not None:
        _check_count(per_target, "per_target")


retrieve_select.check_params = _check_params
