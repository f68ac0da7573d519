"""Class exemplars: the ``k`` most representative examples of each class, a labelled guideline set.

Labeling instructions show annotators a few representative examples of every category; Chang
et al. (*Thinking Like an Annotator: Generation of Dataset Labeling Instructions*, 2024) recover
such a set from an annotated dataset. This module picks one from a labelled
:class:`~datafactors.Dataset`, class by class:

- ``method="facility"`` (default): facility-location medoids within the class, by
  :func:`datafactors.select.facility.facility_location` (lazy greedy, exact picks, ties to the
  lowest row). With ``metric="euclidean"`` a row covers a row ``i`` by ``max(D^2) - D^2``, so each
  pick is the member with the smallest summed squared distance to the rows it newly covers:
  inside a well-separated cluster, the member nearest the cluster's mean (its medoid under
  squared distance). Facility location is the default because it covers multi-modal classes:
  a class made of three clusters gets one exemplar per cluster before a second one in any.
  ``metric="cosine"`` uses facility location's ``cos^2`` similarity.
- ``method="centroid"``: the ``k`` members nearest the class mean (the mean of the unit rows
  for ``metric="cosine"``), nearest first. One pass over the class, no pairwise matrix: the
  cheap option, and the classic prototype; but with ``k > 1`` on a multi-modal class it returns
  near-copies from between the modes rather than one exemplar per mode.

Budget: a total ``k`` split over the classes as equally as their sizes allow (the water-filling
of ``class_balanced``), or ``per_class=k`` exemplars of every class. The picks come back class-
round-robin by rank: every class's first exemplar (classes in label order), then every class's
second, ... so any prefix of the output is as class-balanced as it can be.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._arrays import check_embeddings
from .._errors import ConfigError, DataError
from .._neighbors import unit_rows
from .._validation import SeedLike, check_random_state
from . import REGISTRY, _balanced_quota, filter_selector, uses_embeddings
from ._common import embeddings_of
from .facility import facility_location

__all__ = ["EXEMPLAR_METHODS", "EXEMPLAR_METRICS", "class_exemplars"]

EXEMPLAR_METHODS = ("facility", "centroid")
EXEMPLAR_METRICS = ("euclidean", "cosine")


def _check_options(method: Any, metric: Any) -> None:
    if method not in EXEMPLAR_METHODS:
        raise ConfigError(f"method == {method!r}, must be one of: {', '.join(map(repr, EXEMPLAR_METHODS))}")
    if metric not in EXEMPLAR_METRICS:
        raise ConfigError(f"metric == {metric!r}, must be one of: {', '.join(map(repr, EXEMPLAR_METRICS))}")


def _check_per_class(per_class: Any) -> int:
    if isinstance(per_class, (bool, np.bool_)) or not isinstance(per_class, numbers.Integral) or per_class < 1:
        raise ConfigError(f"per_class == {per_class!r}, must be an int >= 1")
    return int(per_class)


def _class_name(c: int, class_names: Any) -> str:
    if class_names is not None and 0 <= c < len(class_names) and str(class_names[c]) != str(c):
        return f"{c} ({class_names[c]!r})"
    return str(c)


def _labels(y: Any, n: int) -> np.ndarray:
    if y is None:
        raise DataError("exemplars needs class labels, and got none (an unlabeled pool); pass labels y")
    arr = np.asarray(y)
    if arr.shape != (n,):
        raise DataError(f"labels y must have shape ({n},) to match X, got {arr.shape}")
    if arr.dtype.kind not in "iu" or (n and arr.min() < 0):
        raise DataError(f"labels y must be non-negative integer class codes, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _quota(counts: np.ndarray, k: int | None, per_class: int | None, class_names: Any) -> np.ndarray:
    """Exemplars per class code: ``per_class`` for every class present, or ``k`` split by water-filling."""
    if (k is None) == (per_class is None):
        raise ConfigError("give exactly one of k (a total, split over the classes) and per_class=")
    present = counts > 0
    if per_class is not None:
        per_class = _check_per_class(per_class)
        short = np.flatnonzero(present & (counts < per_class))
        if len(short):
            c = int(short[0])
            raise DataError(
                f"per_class == {per_class}, but class {_class_name(c, class_names)} has only {int(counts[c])} rows"
            )
        return np.where(present, per_class, 0)
    total = int(counts.sum())
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral) or not 1 <= k <= total:
        raise DataError(f"k == {k!r}, must be an int in [1, {total}] (the number of rows)")
    return _balanced_quota(counts, int(k))


def _rank_facility(Xc: np.ndarray, q: int, metric: str, rng: np.random.Generator) -> np.ndarray:
    idx, _ = facility_location(Xc, q, metric=metric, seed=rng)
    return idx


def _rank_centroid(Xc: np.ndarray, q: int, metric: str) -> np.ndarray:
    # float64 on the class's rows: the distances to the mean decide the order, so they must not tie by rounding
    if metric == "cosine":
        U = unit_rows(Xc).astype(np.float64)
        c = U.mean(axis=0)
        norm = np.linalg.norm(c)
        key = -(U @ (c / norm)) if norm > 0 else np.zeros(len(U))
    else:
        X64 = Xc.astype(np.float64)
        diff = X64 - X64.mean(axis=0)
        key = np.einsum("ij,ij->i", diff, diff)
    return np.lexsort((np.arange(len(Xc)), key))[:q]


def _round_robin(parts: list[np.ndarray]) -> np.ndarray:
    """Concatenate per-class pick lists rank-major: rank 0 of every class, then rank 1, ..."""
    if not parts:
        return np.empty(0, dtype=np.int64)
    flat = np.concatenate(parts)
    rank = np.concatenate([np.arange(len(p)) for p in parts])
    part = np.concatenate([np.full(len(p), j) for j, p in enumerate(parts)])
    return flat[np.lexsort((part, rank))].astype(np.int64)


def class_exemplars(
    X: Any,
    y: Any,
    k: int | None = None,
    *,
    per_class: int | None = None,
    method: str = "facility",
    metric: str = "euclidean",
    seed: SeedLike = 0,
    class_names: Any = None,
) -> np.ndarray:
    """The most representative rows of each class (see the module notes for the methods).

    Parameters
    ----------
    X : (n_samples, n_features) finite embeddings.
    y : (n_samples,) non-negative integer class codes.
    k : total exemplars, split over the classes as equally as their sizes allow; or
    per_class : exemplars of every class (exactly one of ``k`` and ``per_class``).
    method : "facility" (facility-location medoids, default) or "centroid" (nearest the class mean).
    metric : "euclidean" (default) or "cosine".
    seed : int or Generator; the picks are deterministic for a seed (facility location only
        draws from it above 20,000 rows of a class, for its kNN partition).
    class_names : optional names used in error messages.

    Returns
    -------
    ndarray (k,) or (per_class * n_classes,) of unique int64 row indices, class-round-robin by
    rank: each class's best exemplar (classes in code order), then each class's second, ...
    Group them by ``y[idx]`` to read each class's exemplars best first.

    Raises
    ------
    ConfigError
        An unknown method or metric, ``per_class`` not an int >= 1, or both / neither of
        ``k`` and ``per_class``.
    DataError
        No labels, bad ``X`` / ``y``, ``k`` outside [1, n], or a class with fewer rows than
        ``per_class``.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [15.0]])
    >>> class_exemplars(X, [0, 0, 0, 1, 1, 1], per_class=1).tolist()
    [1, 4]
    >>> class_exemplars(X, [0, 0, 0, 1, 1, 1], 3, method="centroid").tolist()
    [1, 4, 0]
    """
    _check_options(method, metric)
    Xa = check_embeddings(X, name="X")
    codes = _labels(y, len(Xa))
    rng = check_random_state(seed)
    counts = np.bincount(codes)
    quota = _quota(counts, k, per_class, class_names)
    parts = []
    for c in np.flatnonzero(quota):
        rows = np.flatnonzero(codes == c)
        q = int(quota[c])
        if method == "facility":
            local = _rank_facility(Xa[rows], q, metric, rng)
        else:
            local = _rank_centroid(Xa[rows], q, metric)
        parts.append(rows[local])
    return _round_robin(parts)


@REGISTRY.register("exemplars")
@filter_selector
@uses_embeddings
def exemplars_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    per_class: int | None = None,
    method: str = "facility",
    metric: str = "euclidean",
) -> np.ndarray:
    """The most representative ``k`` rows, split over the classes, or ``per_class`` of every class.

    See :func:`class_exemplars`. With ``per_class`` no budget is needed (every exemplar is
    kept; without a budget :func:`~datafactors.select.select` returns them in input order, as
    it does for every filter); with a budget as well, the first ``budget`` exemplars in
    class-round-robin order are kept, and a budget above ``per_class`` times the classes is a
    DataError.
    """
    ds.require_labels("the exemplars selector")
    if k is None and per_class is None:
        raise ConfigError("exemplars needs a budget (split over the classes) or per_class= (exemplars of every class)")
    E = embeddings_of(ds, embeddings)
    names = getattr(ds, "class_names", None) or None
    if per_class is None:
        return class_exemplars(E, ds.y, k, method=method, metric=metric, seed=rng, class_names=names)
    idx = class_exemplars(E, ds.y, per_class=per_class, method=method, metric=metric, seed=rng, class_names=names)
    if k is not None and k > len(idx):
        n_classes = int((np.bincount(np.asarray(ds.y, dtype=np.int64)) > 0).sum())
        raise DataError(
            f"budget == {k}, but per_class == {per_class} over {n_classes} classes gives only {len(idx)} exemplars"
        )
    return idx


def _check_params(per_class: Any = None, method: str = "facility", metric: str = "euclidean", **_: Any) -> None:
    _check_options(method, metric)
    if per_class is not None:
        _check_per_class(per_class)


exemplars_select.check_params = _check_params
