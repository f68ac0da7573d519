"""Group holdout: whole groups (tasks, domains, sources) are held out as the OOD set."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._errors import DataError
from .._validation import SeedLike, check_random_state
from . import REGISTRY, Split
from ._common import carve_test, column_values, share


@REGISTRY.register("group")
def group_split(
    ds,
    *,
    seed: SeedLike = 0,
    test_size: float | int = 0.2,
    ood_size: float = 0.2,
    groups: Any = None,
    holdout: Sequence[Any] | None = None,
) -> Split:
    """Leave groups out: every example of a held-out group goes to ``ood["groups"]``.

    Parameters
    ----------
    groups : None (``ds.groups``), a column of ``ds.extra``, or an (n,) array.
    holdout : the groups to hold out; by default random groups (in a seeded order)
        are added until they hold at least ``ood_size`` of the examples (always
        at least one group, never all).
    test_size : share of the remaining examples kept as the in-distribution test set.

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
    train, test = carve_test(np.flatnonzero(~mask), test_size, rng, "group holdout")
    return Split(train=train, test=test, ood={"groups": np.flatnonzero(mask)})
