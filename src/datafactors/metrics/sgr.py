"""Supervision Gap Recovered (Hase et al., "The Unreasonable Effectiveness of Easy Training Data").

How much of the benefit of training on *hard* data is already obtained by training on
*easy* data, measured on hard test items::

    SGR = (Easy - Unsup) / (Hard - Unsup)

where Easy, Hard and Unsup are accuracies on the same hard test items of a model trained
on easy data, on hard data, and without supervision (e.g. zero-shot / a prompted base
model). SGR = 1 means easy supervision recovers the whole gap; the paper finds 70-100%.
Uncertainty comes from both the test items and the training seeds, so the bootstrap
resamples both (the paper used 10,000 resamples).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from .._errors import DataError
from .._validation import SeedLike, check_random_state

__all__ = ["SGRResult", "supervision_gap_recovered"]

# Bootstrap resamples are processed in blocks of this many to bound memory (block x items counts).
_BLOCK = 512
# |Hard - Unsup| at or below this is "no gap": the ratio is undefined.
GAP_TOL = 1e-12
CONDITIONS = ("easy", "hard", "unsup")


@dataclass(frozen=True, eq=False)
class SGRResult:
    """Supervision gap recovered with bootstrap intervals.

    Attributes
    ----------
    sgr : float
        ``(easy - unsup) / (hard - unsup)`` from the full data.
    lo, hi : float
        Percentile interval of the bootstrap SGRs at ``level`` (NaN when ``n_boot == 0``).
    easy, hard, unsup : float
        Mean accuracy of each condition over its seeds and the items.
    ci : dict
        ``{"easy" | "hard" | "unsup" | "sgr": (lo, hi)}`` bootstrap percentile intervals.
    n_items : int
    n_seeds : dict
        Seeds per condition.
    n_boot : int
    level : float
    n_undefined : int
        Bootstrap resamples whose Hard equalled Unsup (ratio undefined); they are left out
        of the interval, so a large count means the interval is unreliable.
    boot : ndarray of shape (n_boot,)
        Bootstrap SGRs (NaN where undefined).
    """

    sgr: float
    lo: float
    hi: float
    easy: float
    hard: float
    unsup: float
    ci: dict[str, tuple[float, float]]
    n_items: int
    n_seeds: dict[str, int]
    n_boot: int
    level: float
    n_undefined: int
    boot: np.ndarray = field(repr=False)

    @property
    def gap(self) -> float:
        """The supervision gap ``hard - unsup``."""
        return self.hard - self.unsup


def supervision_gap_recovered(
    easy: ArrayLike,
    hard: ArrayLike,
    unsup: ArrayLike,
    *,
    n_boot: int = 10_000,
    level: float = 0.95,
    seed: SeedLike = 0,
    over: Sequence[str] = ("items", "seeds"),
) -> SGRResult:
    """Supervision gap recovered, ``SGR = (Easy - Unsup) / (Hard - Unsup)``, with bootstrap CIs.

    Each condition's accuracy is the mean of its per-item correctness over seeds and items.
    One bootstrap resample draws the test items with replacement (the *same* draw for all
    three conditions, since they are scored on the same items) and, independently for each
    condition, its seeds with replacement (separately trained models are not paired); SGR
    is recomputed from the resampled means. Intervals are percentiles at ``level``.

    Parameters
    ----------
    easy, hard, unsup : array-like of shape (n_seeds, n_items) or (n_items,)
        Per-item correctness (0/1, or a probability of being right) on the hard test items
        for models trained on easy data, on hard data, and unsupervised. A 1-D array is one
        seed. The item axis must match across conditions; seed counts may differ.
    n_boot : int, default 10000
        Bootstrap resamples; 0 skips them.
    level : float, default 0.95
    seed : int or numpy Generator, default 0
    over : sequence of {"items", "seeds"}, default both
        What the bootstrap resamples.

    Returns
    -------
    SGRResult

    Raises
    ------
    DataError
        When Hard equals Unsup (no supervision gap: the ratio is undefined), on shape
        mismatches, values outside [0, 1], NaN/inf, or empty inputs.

    Examples
    --------
    >>> easy = [[1, 1, 0, 0], [1, 0, 1, 0]]   # 0.5
    >>> hard = [[1, 1, 1, 0], [1, 1, 0, 1]]   # 0.75
    >>> unsup = [[0, 1, 0, 0]]                # 0.25
    >>> supervision_gap_recovered(easy, hard, unsup, n_boot=0).sgr  # (0.5 - 0.25) / (0.75 - 0.25)
    0.5
    """
    mats = {name: _check_condition(x, name) for name, x in zip(CONDITIONS, (easy, hard, unsup), strict=True)}
    n_items = {name: m.shape[1] for name, m in mats.items()}
    if len(set(n_items.values())) != 1:
        raise DataError(
            f"easy, hard and unsup must be scored on the same items; got {n_items['easy']}, {n_items['hard']} "
            f"and {n_items['unsup']} items (the last axis)"
        )
    if isinstance(n_boot, (bool, np.bool_)) or not isinstance(n_boot, numbers.Integral) or n_boot < 0:
        raise DataError(f"n_boot == {n_boot!r}, must be an int >= 0")
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise DataError(f"level == {level!r}, must be in (0, 1)")
    what = set(over)
    if not what or not what <= {"items", "seeds"}:
        raise DataError(f"over == {tuple(over)!r}, must name 'items' and/or 'seeds'")
    rng = check_random_state(seed)

    means = {name: float(m.mean()) for name, m in mats.items()}
    gap = means["hard"] - means["unsup"]
    if abs(gap) <= GAP_TOL:
        raise DataError(
            f"Hard == Unsup ({means['hard']:.6g} == {means['unsup']:.6g}): there is no supervision gap to recover, "
            "so SGR = (Easy - Unsup) / (Hard - Unsup) is undefined"
        )
    sgr = (means["easy"] - means["unsup"]) / gap

    n_it = next(iter(n_items.values()))
    boot_means = {name: np.empty(int(n_boot)) for name in CONDITIONS}
    done = 0
    while done < n_boot:
        b = min(_BLOCK, int(n_boot) - done)
        if "items" in what:
            w = rng.multinomial(n_it, np.full(n_it, 1.0 / n_it), size=b).astype(np.float64)
        else:
            w = np.ones((b, n_it))
        for name in CONDITIONS:
            m = mats[name]
            s = m.shape[0]
            v = rng.multinomial(s, np.full(s, 1.0 / s), size=b) if "seeds" in what and s > 1 else np.ones((b, s))
            # mean over resampled seeds and items = v^T M w / (s * n_items), one per resample.
            per_seed = m @ w.T  # (s, b)
            boot_means[name][done : done + b] = np.einsum("bs,sb->b", v, per_seed) / (s * n_it)
        done += b
    with np.errstate(divide="ignore", invalid="ignore"):
        bgap = boot_means["hard"] - boot_means["unsup"]
        boot = np.where(np.abs(bgap) > GAP_TOL, (boot_means["easy"] - boot_means["unsup"]) / bgap, np.nan)
    n_undefined = int(np.isnan(boot).sum())
    tail = (1.0 - level) / 2.0
    ci: dict[str, tuple[float, float]] = {}
    for name in CONDITIONS:
        ci[name] = _interval(boot_means[name], tail)
    ci["sgr"] = _interval(boot, tail)
    return SGRResult(
        sgr=float(sgr),
        lo=ci["sgr"][0],
        hi=ci["sgr"][1],
        easy=means["easy"],
        hard=means["hard"],
        unsup=means["unsup"],
        ci=ci,
        n_items=int(n_it),
        n_seeds={name: int(m.shape[0]) for name, m in mats.items()},
        n_boot=int(n_boot),
        level=float(level),
        n_undefined=n_undefined,
        boot=boot,
    )


def _interval(values: np.ndarray, tail: float) -> tuple[float, float]:
    ok = values[np.isfinite(values)]
    if ok.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(ok, [tail, 1.0 - tail])
    return float(lo), float(hi)


def _check_condition(values: ArrayLike, name: str) -> np.ndarray:
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a numeric array of per-item correctness, shape (n_seeds, n_items)") from None
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise DataError(f"{name} has shape {x.shape}, must be (n_seeds, n_items) or (n_items,)")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise DataError(f"{name} has shape {x.shape}, needs at least one seed and one item")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{name} contains NaN or inf")
    if x.min() < 0 or x.max() > 1:
        raise DataError(f"{name} has values in [{x.min():.6g}, {x.max():.6g}], correctness must be in [0, 1]")
    return x
