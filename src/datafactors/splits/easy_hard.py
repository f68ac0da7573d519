"""Easy-to-hard: train on the easiest examples by a hardness score, test on the hardest (Hase et al.)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import ConfigError, DataError
from .._validation import SeedLike, check_random_state
from . import REGISTRY, Split
from ._common import carve_test, column_values, share


@REGISTRY.register("easy_hard")
def easy_hard_split(
    ds,
    *,
    seed: SeedLike = 0,
    test_size: float | int = 0.2,
    score: Any = None,
    higher_is_harder: bool | None = None,
    easy_share: float = 0.3,
    hard_share: float = 0.3,
) -> Split:
    """Train (and ID test) on the easiest ``easy_share``; ``ood["hard"]`` is the hardest ``hard_share``.

    Examples are ranked by the score (ties broken in a seeded random order): the
    bottom 30% are easy, the top 30% hard (Hase et al.'s cut points), the middle
    ``ood["medium"]``. The easy pool is split at random into train and the
    in-distribution test set.

    Parameters
    ----------
    score : an (n,) array, a Series indexed by id (its name is looked up in
        ``datafactors.scores.COLUMNS`` for the orientation), or a column of ``ds.extra``.
    higher_is_harder : orientation; default from the declared score column, else True.

    Examples
    --------
    >>> import numpy as np, datafactors as df
    >>> ds = df.Dataset.from_arrays(np.zeros((10, 1)), [0, 1] * 5)
    >>> s = easy_hard_split(ds, score=np.arange(10.0), test_size=1)
    >>> s.train.tolist(), s.test.tolist(), s.ood["hard"].tolist()
    ([1, 2], [0], [7, 8, 9])
    """
    if score is None:
        raise ConfigError("easy_hard split needs score= (an array, a Series by id, or a column name)")
    rng = check_random_state(seed)
    name = score if isinstance(score, str) else getattr(score, "name", None)
    v = column_values(ds, score, "score", allow_groups=False)
    try:
        v = v.astype(np.float64)
    except (TypeError, ValueError):
        raise DataError(f"score {name or ''} must be numeric") from None
    if np.isnan(v).any():
        raise DataError(f"score has {int(np.isnan(v).sum())} missing values (NaN); every example needs a score")
    if higher_is_harder is None:
        from ..scores import COLUMNS

        decl = COLUMNS.get(str(name)) if name is not None else None
        higher_is_harder = decl is None or decl.orientation != "easier"
    e, h = share(easy_share, "easy_share"), share(hard_share, "hard_share")
    if e + h > 1:
        raise ConfigError(f"easy_share + hard_share == {e + h}, must be <= 1")
    hard = v if higher_is_harder else -v
    order = np.lexsort((rng.permutation(ds.n), hard))  # ascending hardness, random tie-break
    n_easy, n_hard = int(round(e * ds.n)), int(round(h * ds.n))
    if n_easy < 2 or n_hard < 1:
        raise DataError(f"{ds.n} examples are too few for easy_share={e} and hard_share={h}")
    easy = order[:n_easy]
    hard_idx = np.sort(order[ds.n - n_hard :])
    medium = np.sort(order[n_easy : ds.n - n_hard])
    train, test = carve_test(easy, test_size, rng, "the easy pool")
    ood = {"hard": hard_idx}
    if medium.size:
        ood["medium"] = medium
    return Split(train=train, test=test, ood=ood)
