"""The crafted-shift split: validation rows held out for crafted-shift families, two folds across families.

The families themselves (``noise``, ``blur``, ``shift``, ``invert``, ``quantize``,
``dropout``) live in :mod:`datafactors.augment.crafted`. Families are dealt into folds
(default two: ``noise, shift, quantize`` and ``blur, invert, dropout``) so that one fold can
choose methods or hyperparameters and the other check the choice.

The registered ``crafted`` split holds out validation rows, one disjoint half per fold
(``ood["crafted-fold0"]``, ``ood["crafted-fold1"]``); :func:`crafted_validation_sets`
turns those rows into augmented Datasets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._errors import DataError
from .._validation import SeedLike, check_random_state
from ..augment.crafted import FAMILIES, apply_family, check_families, fold_families, infer_shape
from ..dataset import Dataset
from . import REGISTRY, Split
from ._common import carve_test, share

__all__ = ["FAMILIES", "apply_family", "crafted_split", "crafted_validation_sets", "fold_families", "infer_shape"]


def crafted_validation_sets(
    ds: Dataset,
    *,
    families: Sequence[str] = FAMILIES,
    shape: Sequence[int] | None = None,
    severity: float = 1.0,
    seed: SeedLike = 0,
) -> dict[str, Dataset]:
    """One augmented copy of ``ds`` per family, ids suffixed ``#<family>``.

    Examples
    --------
    >>> import datafactors as df
    >>> ds = df.Dataset.from_arrays(np.eye(4), [0, 1, 0, 1])
    >>> sets = crafted_validation_sets(ds, families=["invert"])
    >>> list(sets), sets["invert"].ids.tolist()
    (['invert'], ['0#invert', '1#invert', '2#invert', '3#invert'])
    """
    rng = check_random_state(seed)
    out = {}
    for fam in check_families(families):
        Xa = apply_family(ds.X, fam, shape=shape, severity=severity, seed=rng)
        ids = np.array([f"{i}#{fam}" for i in ds.ids], dtype=object)
        out[fam] = Dataset(
            Xa, ds.y, ids, ds.groups, ds.extra, list(ds.class_names), f"{ds.name}#{fam}", text_column=ds.text_column
        )
    return out


@REGISTRY.register("crafted")
def crafted_split(
    ds,
    *,
    seed: SeedLike = 0,
    test_size: float | int = 0.2,
    val_size: float = 0.2,
    folds: int = 2,
) -> Split:
    """Train / ID test / crafted-shift validation rows, one disjoint part per fold.

    ``ood["crafted-fold<k>"]`` are the rows to augment with fold k's families
    (:func:`fold_families`, :func:`crafted_validation_sets`); the rest is split at
    random into train and the in-distribution test set.

    Examples
    --------
    >>> import numpy as np, datafactors as df
    >>> ds = df.Dataset.from_arrays(np.zeros((20, 4)), [0, 1] * 10)
    >>> s = crafted_split(ds, val_size=0.2, test_size=0.25)
    >>> {k: len(v) for k, v in s.ood.items()}, len(s.train), len(s.test)
    ({'crafted-fold0': 2, 'crafted-fold1': 2}, 12, 4)
    """
    fold_families(folds)  # validates folds
    rng = check_random_state(seed)
    k = int(round(share(val_size, "val_size") * ds.n))
    if k < folds:
        raise DataError(f"val_size={val_size} gives {k} validation rows of {ds.n}; need at least {folds}")
    perm = rng.permutation(ds.n)
    val, rest = perm[:k], perm[k:]
    train, test = carve_test(rest, test_size, rng, "crafted split")
    parts = np.array_split(val, folds)
    return Split(train=train, test=test, ood={f"crafted-fold{i}": np.sort(p) for i, p in enumerate(parts)})
