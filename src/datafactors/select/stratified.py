"""Stratified-by-score selection: coverage-centric coreset selection (CCS, Zheng et al. 2023).

CCS drops the hardest ``hard_prune`` of the data (likely mislabelled), splits the
remaining score range into ``n_strata`` equal-width strata, then hands out the budget
starting from the smallest stratum: each gets ``min(its size, floor(budget left /
strata left))`` rows drawn at random (the paper's Algorithm 1). Every difficulty level
stays covered even at high pruning rates, where keeping only the hardest collapses.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._errors import ConfigError, DataError
from .._validation import SeedLike, check_random_state
from ..scores import hardness_sign
from . import REGISTRY, _align_scores


def coverage_centric(
    hardness: object,
    k: int,
    *,
    n_strata: int = 50,
    hard_prune: float | int = 0.0,
    seed: SeedLike = 0,
) -> np.ndarray:
    """CCS on an array of difficulty scores (higher = harder; +inf is hardest).

    Parameters
    ----------
    hardness : array (n_samples,), no NaN.
    k : rows to keep, in [1, n_samples].
    n_strata : equal-width strata of the score range (the paper uses 50).
    hard_prune : hardest rows dropped first, a fraction in [0, 1) or a count; capped so
        that at least ``k`` rows remain.
    seed : int or Generator; ties in the pruning order and the draws inside strata.

    Returns
    -------
    ndarray (k,) int64 of unique row indices, stratum by stratum (smallest first).

    Examples
    --------
    >>> h = np.r_[np.zeros(8), np.ones(2)]  # a crowded easy stratum, a small hard one
    >>> idx = coverage_centric(h, 4, n_strata=2)
    >>> sorted(h[idx].tolist())
    [0.0, 0.0, 1.0, 1.0]
    """
    h = np.asarray(hardness, dtype=np.float64)
    if h.ndim != 1:
        raise DataError(f"hardness must be a 1-D array, got shape {h.shape}")
    n = len(h)
    if n == 0:
        raise DataError("hardness is empty")
    if np.isnan(h).any():
        raise DataError(f"hardness contains {int(np.isnan(h).sum())} NaN values")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= n:
        raise DataError(f"k == {k!r}, must be an int in [1, {n}]")
    if isinstance(n_strata, bool) or not isinstance(n_strata, numbers.Integral) or n_strata < 1:
        raise ConfigError(f"n_strata == {n_strata!r}, must be an int >= 1")
    rng = check_random_state(seed)
    tiebreak = rng.permutation(n)
    hardest_first = np.lexsort((tiebreak, -h))
    pool = np.sort(hardest_first[min(_prune_count(hard_prune, n), n - k) :])
    strata = _strata(h[pool], int(n_strata))
    return _allocate(pool, strata, int(k), rng)


def _prune_count(hard_prune: object, n: int) -> int:
    if isinstance(hard_prune, bool) or not isinstance(hard_prune, numbers.Real) or hard_prune < 0:
        raise ConfigError(f"hard_prune == {hard_prune!r}, must be a count >= 0 or a fraction in [0, 1)")
    if isinstance(hard_prune, numbers.Integral):
        return int(hard_prune)
    if hard_prune >= 1:
        raise ConfigError(f"hard_prune == {hard_prune!r}, a fraction must be < 1")
    return int(round(float(hard_prune) * n))


def _strata(v: np.ndarray, n_strata: int) -> np.ndarray:
    """Equal-width stratum (0 .. n_strata-1) of each value; +-inf go to the end strata."""
    finite = np.isfinite(v)
    out = np.where(v > 0, n_strata - 1, 0).astype(np.int64)  # for the infinities
    if finite.any():
        lo, hi = float(v[finite].min()), float(v[finite].max())
        if hi > lo:
            b = np.floor((v[finite] - lo) / (hi - lo) * n_strata)
            out[finite] = np.clip(b, 0, n_strata - 1).astype(np.int64)
        else:
            out[finite] = 0
    return out


def _allocate(pool: np.ndarray, strata: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    labels, sizes = np.unique(strata, return_counts=True)
    picks: list[np.ndarray] = []
    left = k
    for r, s in enumerate(np.lexsort((labels, sizes))):  # smallest stratum first
        share = min(int(sizes[s]), left // (len(labels) - r))
        members = pool[strata == labels[s]]
        picks.append(rng.permutation(members)[:share])
        left -= share
    out = np.concatenate(picks)
    if left > 0:  # rounding left budget over: fill at random from what is still unpicked
        rest = np.setdiff1d(pool, out)
        out = np.concatenate([out, rng.permutation(rest)[:left]])
    return out.astype(np.int64)


@REGISTRY.register("ccs")
def ccs_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    score: str | None = None,
    n_strata: int = 50,
    hard_prune: float | int = 0.0,
):
    """Coverage-centric selection by ``score`` (its declared orientation decides "hard")."""
    values = _align_scores(ds, scores, score)
    sign = hardness_sign(score) if score is not None else 1
    return coverage_centric(sign * values, k, n_strata=n_strata, hard_prune=hard_prune, seed=rng)
