"""AFLite as a selector: keep its filtered (harder, less biased) set.

:func:`datafactors.scores.aflite.aflite_filter` removes, round by round, the examples a
linear model predicts too easily. Budget = number kept, exactly:

- when AFLite keeps more than ``budget`` rows, the kept rows are ranked by predictability,
  least predictable first (AFLite's own criterion), ties by the seed, and cut;
- when it keeps fewer, the removed rows fill the budget in reverse order of removal --
  the last round's removals first (the least predictable of what was removed), within a
  round by increasing predictability -- so a larger budget undoes the latest filtering first.

The pick order is that ranking: kept rows first, then the fill.
"""

from __future__ import annotations

import numpy as np

from . import REGISTRY
from ._common import embeddings_of


def aflite_order(removed_round: np.ndarray, predictability: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Every row in pick order: kept (round 0) first, then by latest removal round; by predictability within.

    Examples
    --------
    >>> aflite_order(np.array([1, 0, 2, 0]), np.array([0.9, 0.3, 0.8, 0.1]), np.random.default_rng(0)).tolist()
    [3, 1, 2, 0]
    """
    rr = np.asarray(removed_round)
    # kept rows carry round 0: map them above every real round so they sort first
    key = np.where(rr == 0, np.iinfo(np.int64).max, rr)
    return np.lexsort((rng.permutation(len(rr)), predictability, -key))


@REGISTRY.register("aflite")
def aflite_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    n: int = 64,
    m: int | float = 0.25,
    cutoff: int = 500,
    tau: float = 0.75,
    C: float = 1.0,
) -> np.ndarray:
    """AFLite's filtered set (on ``embeddings``, default ``ds.X``), cut or filled to ``k``.

    ``n`` (ensemble size), ``m`` (train size per model), ``cutoff`` (AFLite's k: most removed
    per round) and ``tau`` (predictability threshold) are AFLite's parameters.
    """
    from ..scores.aflite import aflite_filter

    ds.require_labels("the aflite selector")
    X = embeddings_of(ds, embeddings)
    res = aflite_filter(X, ds.y, n, m, cutoff, tau, rng, C=C)
    return aflite_order(res.removed_round, res.predictability, rng)[:k]
