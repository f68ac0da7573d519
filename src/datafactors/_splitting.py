"""Splitting helpers shared by the data loaders, the task generators and the ``splits`` family.

They live below all of them, so that loading or generating data never imports ``splits``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._errors import ConfigError, DataError
from ._validation import SeedLike, check_random_state

__all__ = ["held_out_combinations", "stratified_indices", "n_test_rows"]


def n_test_rows(n: int, test_size: float | int) -> int:
    """The number of test rows ``test_size`` (a fraction in (0, 1) or a count) gives out of ``n``."""
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)):
        raise ConfigError(f"test_size == {test_size!r}, must be a fraction in (0, 1) or a count")
    k = int(test_size) if isinstance(test_size, int) else int(round(test_size * n))
    if isinstance(test_size, float) and not 0 < test_size < 1:
        raise ConfigError(f"test_size == {test_size}, a fraction must be in (0, 1)")
    if not 1 <= k <= n - 1:
        raise DataError(f"test_size gives {k} test examples of {n}; need between 1 and {n - 1}")
    return k


def stratified_indices(
    y: np.ndarray, *, seed: SeedLike = 0, test_size: float | int = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, test) row indices keeping each class's share (scikit-learn's StratifiedShuffleSplit)."""
    from sklearn.model_selection import StratifiedShuffleSplit

    y = np.asarray(y)
    k = n_test_rows(len(y), test_size)
    if np.unique(y, return_counts=True)[1].min() < 2:
        raise DataError("stratified split needs at least 2 examples of every class")
    rng = check_random_state(seed)
    sss = StratifiedShuffleSplit(n_splits=1, test_size=k, random_state=int(rng.integers(2**31 - 1)))
    tr, te = next(sss.split(np.zeros(len(y)), y))
    return np.sort(tr), np.sort(te)


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
