"""Group holdout: whole groups (tasks, domains, sources) are held out as the OOD set.

``near_duplicates="together"`` (here and in the cluster split) keeps every MinHash
near-duplicate cluster of the text (:func:`datafactors.select.minhash.near_duplicate_clusters`
with its defaults) on one side: a training-side row whose cluster has a held-out (OOD)
member moves to that OOD set, and the in-distribution test set is carved from whole
clusters, so no cluster straddles train and test.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._errors import ConfigError, DataError
from .._validation import SeedLike, check_random_state
from . import REGISTRY, Split
from ._common import carve_test, column_values, share


def near_duplicate_labels(ds) -> np.ndarray:
    """(n,) MinHash near-duplicate cluster of every row (singletons get their own label)."""
    from ..select.minhash import check_minhash_params, components, minhash_signatures, verified_pairs

    p = check_minhash_params()
    sig = minhash_signatures(ds.texts("near_duplicates='together'"), seed=p["seed"])
    return components(ds.n, verified_pairs(sig, p))


def split_keeping_near_duplicates(
    ds, held: np.ndarray, test_size: float | int, rng: np.random.Generator, what: str, option: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, test, ood) with ``held`` (n,) bool marking the OOD rows, clusters kept whole.

    ``option`` None carves the test set at random rows (the plain split); "together" moves
    rows that share a cluster with an OOD row into the OOD set and draws whole clusters
    (in a seeded order) into the test set until it holds ``test_size`` of the rest.
    """
    if option is None:
        train, test = carve_test(np.flatnonzero(~held), test_size, rng, what)
        return train, test, np.flatnonzero(held)
    if option != "together":
        raise ConfigError(f"near_duplicates == {option!r}, must be None or 'together'")
    lab = near_duplicate_labels(ds)
    held = held | np.isin(lab, np.unique(lab[held]))
    pool = np.flatnonzero(~held)
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)):
        raise ConfigError(f"test_size == {test_size!r}, must be a fraction in (0, 1) or a count")
    k = int(test_size) if isinstance(test_size, int) else int(round(float(test_size) * len(pool)))
    units, sizes = np.unique(lab[pool], return_counts=True)
    chosen, total = [], 0
    for u in rng.permutation(len(units)):
        if total >= k:
            break
        chosen.append(units[u])
        total += int(sizes[u])
    in_test = np.isin(lab[pool], chosen)
    if in_test.all():
        raise DataError(f"{what}: the near-duplicate clusters leave no example for training")
    return pool[~in_test], pool[in_test], np.flatnonzero(held)


@REGISTRY.register("group")
def group_split(
    ds,
    *,
    seed: SeedLike = 0,
    test_size: float | int = 0.2,
    ood_size: float = 0.2,
    groups: Any = None,
    holdout: Sequence[Any] | None = None,
    near_duplicates: str | None = None,
) -> Split:
    """Leave groups out: every example of a held-out group goes to ``ood["groups"]``.

    Parameters
    ----------
    groups : None (``ds.groups``), a column of ``ds.extra``, or an (n,) array.
    holdout : the groups to hold out; by default random groups (in a seeded order)
        are added until they hold at least ``ood_size`` of the examples (always
        at least one group, never all).
    test_size : share of the remaining examples kept as the in-distribution test set.
    near_duplicates : None, or "together" to keep MinHash near-duplicate clusters of the
        text on one side (see the module notes; needs a text column).

    Examples
    --------
    >>> import numpy as np, datafactors as df
    >>> ds = df.Dataset.from_arrays(np.zeros((6, 1)), [0, 1] * 3, groups=["a", "a", "b", "b", "c", "c"])
    >>> s = group_split(ds, holdout=["c"], test_size=0.25)
    >>> s.ood["groups"].tolist(), len(s.train) + len(s.test)
    ([4, 5], 4)
    """
    rng = check_random_state(seed)
    g = column_values(ds, groups, "groups").astype(str)
    names, counts = np.unique(g, return_counts=True)
    if len(names) < 2:
        raise DataError(f"group holdout needs at least 2 groups; {ds.name} has one ({names[0]!r})")
    if holdout is not None:
        held = [str(h) for h in holdout]
        unknown = [h for h in held if h not in set(names)]
        if unknown:
            raise DataError(f"holdout groups {unknown} are not in {ds.name}; groups are: {', '.join(names[:20])}")
        if len(set(held)) >= len(names):
            raise DataError("holdout names every group; at least one must stay in training")
    else:
        target = share(ood_size, "ood_size") * ds.n
        held, total = [], 0
        for i in rng.permutation(len(names)):
            if len(held) == len(names) - 1 or (held and total >= target):
                break
            held.append(str(names[i]))
            total += int(counts[i])
    mask = np.isin(g, held)
    train, test, ood = split_keeping_near_duplicates(ds, mask, test_size, rng, "group holdout", near_duplicates)
    return Split(train=train, test=test, ood={"groups": ood})
