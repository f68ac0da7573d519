"""Compositional split: hold out combinations of attribute values while every single value is seen in training."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._errors import ConfigError
from .._splitting import held_out_combinations
from .._validation import SeedLike, check_random_state
from . import REGISTRY, Split
from ._common import carve_test, column_values, share

__all__ = ["held_out_combinations"]


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
