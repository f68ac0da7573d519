"""Relative representations (Moschella et al., 2023): describe each example by its cosine similarity to anchors.

Given an embedding ``e(x)`` and anchor examples ``a_1..a_k``, the relative representation
is ``r(x) = (cos(e(x), e(a_1)), ..., cos(e(x), e(a_k)))``. It is unchanged by any
rotation, reflection or positive rescaling of the embedding space, so two encoders that
differ only by such a transform (e.g. two training seeds) give comparable features.

>>> import numpy as np
>>> X = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
>>> relative_representation(X, X[:2]).round(4).tolist()
[[1.0, 0.0], [0.0, 1.0], [0.7071, 0.7071]]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import DataError
from .._validation import SeedLike, check_random_state
from ..dataset import Dataset

__all__ = ["RelativeFeaturizer", "choose_anchors", "relative_dataset", "relative_representation"]


def _as_matrix(A: Any, name: str) -> np.ndarray:
    try:
        M = np.asarray(A, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a numeric 2-D array") from None
    if M.ndim != 2 or M.shape[0] == 0 or M.shape[1] == 0:
        raise DataError(f"{name} must have shape (n >= 1, d >= 1), got {M.shape}")
    if not np.isfinite(M).all():
        raise DataError(f"{name} contains NaN or inf")
    return M


def relative_representation(X: Any, anchors: Any, *, center: Any = None) -> np.ndarray:
    """Cosine similarity of every row of ``X`` to every anchor.

    Parameters
    ----------
    X : array-like of shape (n_samples, d), the embeddings to describe.
    anchors : array-like of shape (n_anchors, d), the anchors' embeddings.
    center : array-like of shape (d,) or None. Subtracted from ``X`` and the anchors
        first (e.g. the anchors' mean); None: no centring. A zero vector (after
        centring) has similarity 0 to everything.

    Returns
    -------
    ndarray of shape (n_samples, n_anchors), float64 in [-1, 1].
    """
    A = _as_matrix(X, "X")
    B = _as_matrix(anchors, "anchors")
    if A.shape[1] != B.shape[1]:
        raise DataError(f"X has {A.shape[1]} columns but anchors have {B.shape[1]}; they must match")
    if center is not None:
        c = np.asarray(center, dtype=np.float64)
        if c.shape != (A.shape[1],):
            raise DataError(f"center must have shape ({A.shape[1]},), got {c.shape}")
        A, B = A - c, B - c

    def unit(M: np.ndarray) -> np.ndarray:
        nrm = np.linalg.norm(M, axis=1, keepdims=True)
        return M / np.where(nrm > 0, nrm, 1.0)

    return np.clip(unit(A) @ unit(B).T, -1.0, 1.0)


def choose_anchors(n: int, n_anchors: int, seed: SeedLike = 0, *, y: Any = None) -> np.ndarray:
    """``n_anchors`` distinct row indices out of ``n``, drawn by ``seed`` (sorted).

    With labels ``y``, the draw is stratified: anchors are spread over the classes as
    evenly as their sizes allow (every class gets one before any gets two).
    """
    if isinstance(n_anchors, bool) or not isinstance(n_anchors, (int, np.integer)) or not 1 <= n_anchors <= n:
        raise DataError(f"n_anchors == {n_anchors!r}, must be an int in [1, {n}]")
    rng = check_random_state(seed)
    if y is None:
        return np.sort(rng.choice(n, size=int(n_anchors), replace=False))
    yy = np.asarray(y)
    if yy.shape != (n,):
        raise DataError(f"y must have shape ({n},), got {yy.shape}")
    # a random order inside each class, then round-robin over classes
    perm = rng.permutation(n)
    rank = np.empty(n, dtype=np.int64)
    for c in np.unique(yy):
        rows = perm[yy[perm] == c]
        rank[rows] = np.arange(len(rows))
    order = np.lexsort((rng.random(n), rank))
    return np.sort(order[: int(n_anchors)])


class RelativeFeaturizer:
    """Fit anchors on a dataset, then map any ``X`` to its relative representation.

    Parameters
    ----------
    n_anchors : number of anchors drawn from the fitted data (ignored with ``anchor_ids``).
    anchor_ids : ids of the examples to use as anchors, or None to draw them by ``seed``.
    stratify : draw anchors evenly over the classes.
    center : subtract the anchors' mean embedding before the cosine.
    seed : seeds the draw.

    Attributes
    ----------
    anchors_ : (n_anchors, d) anchor embeddings. anchor_ids_ : their ids.

    Examples
    --------
    >>> from datafactors import Dataset
    >>> ds = Dataset.from_arrays(np.eye(3), [0, 1, 2], ids=["a", "b", "c"])
    >>> RelativeFeaturizer(anchor_ids=["b"]).fit(ds).transform(ds.X).tolist()
    [[0.0], [1.0], [0.0]]
    """

    def __init__(
        self,
        n_anchors: int = 64,
        *,
        anchor_ids: Any = None,
        stratify: bool = True,
        center: bool = False,
        seed: SeedLike = 0,
    ) -> None:
        self.n_anchors = n_anchors
        self.anchor_ids = anchor_ids
        self.stratify = stratify
        self.center = center
        self.seed = seed

    def fit(self, ds: Dataset) -> RelativeFeaturizer:
        if not isinstance(ds, Dataset):
            raise DataError(f"fit expects a datafactors.Dataset, got {type(ds).__name__}")
        if self.anchor_ids is not None:
            ids = list(self.anchor_ids)
            if not ids:
                raise DataError("anchor_ids is empty; give at least one id")
            idx = ds.index_of(ids)
        else:
            idx = choose_anchors(ds.n, self.n_anchors, self.seed, y=ds.y if self.stratify else None)
        self.anchors_ = ds.X[idx].astype(np.float64)
        self.anchor_ids_ = ds.ids[idx]
        self.center_ = self.anchors_.mean(0) if self.center else None
        return self

    def transform(self, X: Any) -> np.ndarray:
        """(n, n_anchors) float32 cosine similarities to the anchors."""
        if not hasattr(self, "anchors_"):
            raise DataError("the featurizer is not fitted yet; call fit first")
        return relative_representation(X, self.anchors_, center=self.center_).astype(np.float32)

    def transform_dataset(self, ds: Dataset) -> Dataset:
        """``ds`` with its features replaced by the relative representation (ids, groups, extra kept)."""
        return relative_dataset(ds, self)


def relative_dataset(ds: Dataset, featurizer: RelativeFeaturizer) -> Dataset:
    """A copy of ``ds`` whose ``X`` is ``featurizer.transform(ds.X)``."""
    return Dataset(
        featurizer.transform(ds.X),
        ds.y.copy(),
        ds.ids.copy(),
        None if ds.groups is None else ds.groups.copy(),
        None if ds.extra is None else ds.extra.copy(),
        list(ds.class_names),
        f"{ds.name}-relative",
    )
