"""Length split: train on shorter examples, test on longer ones (length generalization)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import ConfigError, DataError
from .._validation import SeedLike, check_random_state
from . import REGISTRY, Split
from ._common import carve_test, column_values, share


def example_lengths(ds, length: Any = None, *, unit: str = "tokens") -> np.ndarray:
    """(n,) lengths: a numeric column, a text column (whitespace tokens or characters), or,
    with ``length=None``, the dataset's text column (``ds.text_column``) if it has one, else the
    number of features up to the last non-zero one (padded sequences)."""
    if unit not in {"tokens", "chars"}:
        raise ConfigError(f"unit == {unit!r}, must be 'tokens' or 'chars'")
    if length is None and getattr(ds, "text_column", None) is not None:
        length = ds.text_column
    if length is None:
        nz = ds.X != 0
        return np.where(nz.any(axis=1), ds.n_features - np.argmax(nz[:, ::-1], axis=1), 0).astype(np.float64)
    v = column_values(ds, length, "length", allow_groups=False)
    if v.dtype.kind in "iuf":
        return v.astype(np.float64)
    if all(isinstance(s, str) for s in v):
        return np.array([len(s.split()) if unit == "tokens" else len(s) for s in v], dtype=np.float64)
    raise DataError(f"length column {length!r} holds neither numbers nor text")


@REGISTRY.register("length")
def length_split(
    ds,
    *,
    seed: SeedLike = 0,
    test_size: float | int = 0.2,
    ood_size: float = 0.2,
    length: Any = None,
    unit: str = "tokens",
    threshold: float | None = None,
) -> Split:
    """``ood["long"]`` holds every example longer than a cut; train and ID test are the shorter ones.

    The cut is ``threshold`` (OOD = length > threshold) or the distinct length whose
    "at least this long" share is closest to ``ood_size``; every OOD example is
    strictly longer than every training example.

    Examples
    --------
    >>> import numpy as np, pandas as pd, datafactors as df
    >>> extra = pd.DataFrame({"text": ["a", "a b", "a b c", "a b c d", "a b c d e"] * 2})
    >>> ds = df.Dataset.from_arrays(np.zeros((10, 1)), [0, 1] * 5, extra=extra)
    >>> s = length_split(ds, length="text", ood_size=0.2, test_size=1)
    >>> sorted(extra.iloc[s.ood["long"]]["text"].str.split().str.len().unique().tolist())
    [5]
    """
    rng = check_random_state(seed)
    lens = example_lengths(ds, length, unit=unit)
    distinct = np.unique(lens)
    if len(distinct) < 2:
        raise DataError(f"every example of {ds.name} has the same length ({distinct[0]:g}); a length split needs two")
    if threshold is not None:
        mask = lens > float(threshold)
        if mask.all() or not mask.any():
            raise DataError(f"threshold {threshold} puts {'every' if mask.all() else 'no'} example in the OOD set")
    else:
        target = share(ood_size, "ood_size")
        at_least = np.array([(lens >= d).mean() for d in distinct[1:]])
        cut = distinct[1:][int(np.argmin(np.abs(at_least - target)))]
        mask = lens >= cut
    train, test = carve_test(np.flatnonzero(~mask), test_size, rng, "length split")
    return Split(train=train, test=test, ood={"long": np.flatnonzero(mask)})
