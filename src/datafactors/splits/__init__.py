"""Split builders, looked up by name in :data:`REGISTRY`.

A split builder is ``fn(ds, seed, **params) -> Split`` holding row indices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import DataError
from .._registry import Registry, import_submodules
from .._splitting import n_test_rows, stratified_indices
from .._validation import SeedLike, check_random_state

REGISTRY: Registry[Any] = Registry("split")


@dataclass
class Split:
    """Row indices of a train set, an in-distribution test set and named OOD sets."""

    train: np.ndarray
    test: np.ndarray
    ood: dict[str, np.ndarray] = field(default_factory=dict)

    def assignments(self, n: int) -> np.ndarray:
        """(n,) object array naming each row's part ("train", "test", "ood:<name>", or "")."""
        out = np.full(n, "", dtype=object)
        out[self.train] = "train"
        out[self.test] = "test"
        for name, idx in self.ood.items():
            out[idx] = f"ood:{name}"
        return out


def split(ds, kind: str, seed: SeedLike = 0, **params: Any) -> Split:
    """Build the named split of ``ds``.

    Examples
    --------
    >>> import numpy as np, datafactors as df
    >>> ds = df.Dataset.from_arrays(np.arange(20.0)[:, None], [0, 1] * 10)
    >>> s = split(ds, "stratified", seed=0, test_size=0.5)
    >>> len(s.train), len(s.test)
    (10, 10)
    """
    fn = REGISTRY.get(kind)
    return fn(ds, seed=seed, **params)


@REGISTRY.register("random")
def random_split(ds, *, seed: SeedLike = 0, test_size: float | int = 0.2) -> Split:
    """Uniform random train/test split."""
    k = n_test_rows(ds.n, test_size)
    perm = check_random_state(seed).permutation(ds.n)
    return Split(train=np.sort(perm[k:]), test=np.sort(perm[:k]))


@REGISTRY.register("stratified")
def stratified_split(ds, *, seed: SeedLike = 0, test_size: float | int = 0.2) -> Split:
    """Train/test split keeping each class's share (scikit-learn's StratifiedShuffleSplit)."""
    n_test_rows(ds.n, test_size)  # a bad test_size is reported before missing classes, as always
    ds.require_labels("the stratified split")
    if ds.class_counts().min() < 2:  # counts every declared class, also an absent one
        raise DataError("stratified split needs at least 2 examples of every class")
    train, test = stratified_indices(ds.y, seed=seed, test_size=test_size)
    return Split(train=train, test=test)


import_submodules(__name__, __path__)  # further split modules register themselves

__all__ = ["REGISTRY", "Split", "split"]
