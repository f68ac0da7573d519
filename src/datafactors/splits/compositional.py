"""Compositional split: hold out combinations of attribute values while every single value is seen in training."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from .._validation import SeedLike, check_random_state
from . import REGISTRY, Split
from ._common import carve_test, column_values, share


def held_out_combinations(
    frame: pd.DataFrame, ood_size: float = 0.2, *, seed: SeedLike = 0, where: str = "the data"
) -> list[tuple]:
    """Attribute-value combinations to hold out so that every single value stays in training.

    Combinations are visited in a seeded random order; one is held out when every
    value it contains still occurs in some other combination left in training.
    Holding out stops once the held-out combinations cover ``ood_size`` of the rows.

    Parameters
    ----------
    frame : one column per attribute, one row per example.

    Returns
    -------
    list of tuples (one value per attribute, in column order).

    Raises
    ------
    DataError
        When an attribute has a single value, or no combination can be held out
        (e.g. the attributes determine one another), saying which.

    Examples
    --------
    >>> f = pd.DataFrame({"shape": ["ball", "ball", "cube", "cube"], "color": ["red", "blue", "red", "blue"]})
    >>> len(held_out_combinations(f, 0.25))
    1
    """
    cols = [str(c) for c in frame.columns]
    if len(cols) < 2:
        raise ConfigError(f"a compositional split needs at least 2 attribute columns, got {cols}")
    for c in cols:
        vals = frame[c].unique()
        if len(vals) < 2:
            raise DataError(
                f"attribute {c!r} in {where} has a single value ({vals[0]!r}): a compositional split is impossible "
                "with it, since no combination can be held out while that value's combinations stay seen; "
                "drop it from the attributes"
            )
    combos = frame.astype(str).value_counts(sort=False)
    keys = list(combos.index)
    combos_per_value = {c: pd.Series([k[i] for k in keys]).value_counts().to_dict() for i, c in enumerate(cols)}
    rng = check_random_state(seed)
    target = ood_size * len(frame)
    held: list[tuple] = []
    total = 0
    for j in rng.permutation(len(keys)):
        if held and total >= target:
            break
        key = keys[j]
        if all(combos_per_value[c][key[i]] > 1 for i, c in enumerate(cols)):
            held.append(tuple(key))
            total += int(combos[key])
            for i, c in enumerate(cols):
                combos_per_value[c][key[i]] -= 1
    if not held:
        raise DataError(
            f"compositional split impossible in {where}: every one of the {len(keys)} combinations of "
            f"{', '.join(map(repr, cols))} is the only one holding some value, so none can be held out while "
            "every single value stays in training (are the attributes determined by one another?)"
        )
    return held


@REGISTRY.register("compositional")
def compositional_split(
    ds,
    *,
    seed: SeedLike = 0,
    test_size: float | int = 0.2,
    ood_size: float = 0.2,
    attributes: Sequence[str] | str | None = None,
) -> Split:
    """Hold out attribute-value combinations as ``ood["combinations"]`` (e.g. modality x anatomy x task).

    Every value of every attribute still occurs in training; only its combination
    with the others is new at test time. The rest is split at random into train and
    an in-distribution test set.

    Parameters
    ----------
    attributes : >= 2 columns of ``ds.extra`` (or "a,b"); "group" names ``ds.groups``.

    Examples
    --------
    >>> import numpy as np, pandas as pd, datafactors as df
    >>> extra = pd.DataFrame({"shape": ["ball", "cube"] * 8, "color": ["red"] * 4 + ["blue"] * 4 + ["red", "blue"] * 4})
    >>> ds = df.Dataset.from_arrays(np.zeros((16, 1)), [0, 1] * 8, extra=extra)
    >>> s = compositional_split(ds, attributes=["shape", "color"], ood_size=0.2, test_size=0.2)
    >>> train = extra.iloc[s.train]
    >>> sorted(set(train["shape"])), sorted(set(train["color"]))  # every single value is seen
    (['ball', 'cube'], ['blue', 'red'])
    >>> held = set(map(tuple, extra.iloc[s.ood["combinations"]].values))
    >>> held & set(map(tuple, train.values))  # but no held-out combination is
    set()
    """
    if attributes is None:
        raise ConfigError("compositional split needs attributes=[...] naming at least 2 columns")
    attrs = [a.strip() for a in attributes.split(",")] if isinstance(attributes, str) else [str(a) for a in attributes]
    attrs = [a for a in attrs if a]
    if len(set(attrs)) < 2:
        raise ConfigError(f"a compositional split needs at least 2 distinct attribute columns, got {attrs}")
    frame = pd.DataFrame({a: column_values(ds, a, "attribute", allow_groups=False) for a in attrs})
    rng = check_random_state(seed)
    held = held_out_combinations(frame, share(ood_size, "ood_size"), seed=rng, where=ds.name)
    keys = pd.MultiIndex.from_frame(frame.astype(str))
    mask = keys.isin(pd.MultiIndex.from_tuples(held, names=attrs))
    train, test = carve_test(np.flatnonzero(~mask), test_size, rng, "compositional holdout")
    return Split(train=train, test=test, ood={"combinations": np.flatnonzero(mask)})
