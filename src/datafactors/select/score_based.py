"""Score-based selection: keep hardest, keep easiest, and Data Diet's offset.

"Hardest" reads the score's declared orientation (``datafactors.scores.COLUMNS``),
so keeping the hardest by ``confidence`` keeps the *lowest* confidence.
Ties are broken by a random permutation drawn from the seed.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._errors import ConfigError, DataError
from ..scores import hardness_sign
from . import REGISTRY, _align_scores


def _hardness(ds, scores, score: str | None, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    values = _align_scores(ds, scores, score)
    sign = hardness_sign(score) if score is not None else 1
    return sign * values, rng.permutation(ds.n)


def _order_hardest_first(hard: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    # lexsort sorts by the last key first; +inf (never learned) ranks hardest.
    return np.lexsort((tiebreak, -hard))


@REGISTRY.register("hardest")
def keep_hardest(ds, k, *, scores=None, embeddings=None, rng, score: str | None = None) -> np.ndarray:
    """The ``k`` hardest examples by ``score`` (Data Diet's keep-top-K by EL2N/GraNd)."""
    return _order_hardest_first(*_hardness(ds, scores, score, rng))[:k]


@REGISTRY.register("easiest")
def keep_easiest(ds, k, *, scores=None, embeddings=None, rng, score: str | None = None) -> np.ndarray:
    """The ``k`` easiest examples by ``score``."""
    hard, tb = _hardness(ds, scores, score, rng)
    return np.lexsort((tb, hard))[:k]


@REGISTRY.register("offset")
def keep_offset(
    ds, k, *, scores=None, embeddings=None, rng, score: str | None = None, offset: float | int = 0.1
) -> np.ndarray:
    """Data Diet's offset: drop the ``offset`` hardest, keep the next ``k``.

    ``offset`` is a count or a fraction of n. When ``offset + k > n`` the window
    slides back to the last ``k`` positions so exactly ``k`` are returned.
    """
    if isinstance(offset, bool) or not isinstance(offset, numbers.Real) or offset < 0:
        raise ConfigError(f"offset == {offset!r}, must be a count >= 0 or a fraction in [0, 1)")
    if isinstance(offset, numbers.Integral):
        off = int(offset)
    else:
        if offset >= 1:
            raise ConfigError(f"offset == {offset!r}, a fraction must be < 1")
        off = int(round(offset * ds.n))
    if off > ds.n:
        raise DataError(f"offset == {off} is larger than the number of examples ({ds.n})")
    order = _order_hardest_first(*_hardness(ds, scores, score, rng))
    start = min(off, ds.n - k)
    return order[start : start + k]
