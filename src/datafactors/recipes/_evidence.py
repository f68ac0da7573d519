"""Recipe evidence: an effect with its interval and margin, and the intervals recipes build.

A recipe's verdict is decided by :class:`Effect` objects: "A beats B by more than m" holds
when the lower end of the interval of A - B is above m (``above=True``), "A stays below m"
when the upper end is below it (``above=False``). An effect whose interval is not finite
never holds. The interval builders here are the only ones recipes use:

- :func:`bootstrap` — percentile bootstrap of any statistic over one or more independent
  resampling axes (seeds, test items, models ...), the statistic called with one index
  array per axis;
- :func:`paired_bootstrap` — the common case: per-seed, per-item scores of two arms
  (e.g. 0/1 correctness), the mean difference resampled over seeds and items jointly
  (items are paired across arms and seeds);
- :func:`t_interval` — a paired t-interval over seeds of per-seed differences.

Every builder takes ``seed``; nothing reads global random state.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

LEVEL = 0.9
N_BOOT = 1000


@dataclass(frozen=True)
class Effect:
    """One measured effect, its interval, and the margin the claim needs it to clear.

    Parameters
    ----------
    label : what is measured, in the claim's terms ("EL2N-hardest 50% minus random 50%
        test accuracy (points)").
    estimate, lo, hi : the point estimate and the interval's ends.
    margin : the threshold of the claim.
    above : True when the claim is "effect > margin" (decided by ``lo``), False when it
        is "effect < margin" (decided by ``hi``).
    level : the interval's nominal coverage.
    method : how the interval was built ("bootstrap over 3 seeds x 4000 test items").
    """

    label: str
    estimate: float
    lo: float
    hi: float
    margin: float = 0.0
    above: bool = True
    level: float = LEVEL
    method: str = ""

    @property
    def held(self) -> bool:
        ends = (self.estimate, self.lo, self.hi)
        if not all(math.isfinite(float(v)) for v in ends):
            return False
        return bool(self.lo > self.margin) if self.above else bool(self.hi < self.margin)

    @property
    def requirement(self) -> str:
        end = "lower end" if self.above else "upper end"
        return f"{end} {'>' if self.above else '<'} {self.margin:g}"

    def interval_text(self) -> str:
        return f"{_fmt(self.estimate)} [{_fmt(self.lo)}, {_fmt(self.hi)}]"

    def __str__(self) -> str:
        verdict = "held" if self.held else "not held"
        return (
            f"{self.label}: {self.interval_text()} ({self.level:.0%} interval; needs {self.requirement}) -> {verdict}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "estimate": _json_float(self.estimate),
            "lo": _json_float(self.lo),
            "hi": _json_float(self.hi),
            "margin": float(self.margin),
            "above": bool(self.above),
            "level": float(self.level),
            "method": self.method,
            "held": self.held,
        }


def _fmt(v: float) -> str:
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:,.0f}"


def _json_float(v: float) -> float | str:
    v = float(v)
    if math.isfinite(v):
        return v
    return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")


def _check_level(level: float) -> float:
    if not 0 < float(level) < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    return float(level)


def bootstrap(
    statistic: Callable[..., float],
    sizes: Sequence[int],
    *,
    seed: int,
    n_boot: int = N_BOOT,
    level: float = LEVEL,
) -> tuple[float, float, float]:
    """Percentile bootstrap: ``(estimate, lo, hi)`` of ``statistic`` over independent axes.

    ``statistic(*idx)`` gets one integer index array per axis (``sizes[k]`` units each);
    the estimate is the statistic on the identity indices, each draw resamples every
    axis with replacement. Draws whose statistic is not finite are dropped; if fewer than
    half remain the interval is ``nan``.

    Examples
    --------
    >>> x = np.arange(10.0)
    >>> est, lo, hi = bootstrap(lambda i: x[i].mean(), [10], seed=0)
    >>> est, lo < est < hi
    (4.5, True)
    """
    level = _check_level(level)
    sizes = [int(s) for s in sizes]
    if not sizes or min(sizes) < 1:
        raise ValueError(f"bootstrap needs at least one unit on every axis, got sizes {sizes}")
    rng = np.random.default_rng(seed)
    estimate = float(statistic(*[np.arange(s) for s in sizes]))
    draws = np.empty(n_boot)
    for b in range(n_boot):
        draws[b] = statistic(*[rng.integers(0, s, size=s) for s in sizes])
    draws = draws[np.isfinite(draws)]
    if len(draws) < n_boot / 2:
        return estimate, math.nan, math.nan
    a = (1 - level) / 2
    lo, hi = np.quantile(draws, [a, 1 - a])
    return estimate, float(lo), float(hi)


def paired_bootstrap(
    a: np.ndarray,
    b: np.ndarray,
    *,
    seed: int,
    n_boot: int = N_BOOT,
    level: float = LEVEL,
) -> tuple[float, float, float]:
    """Mean of ``a - b`` with a bootstrap over seeds (rows) and items (columns) jointly.

    ``a`` and ``b`` are ``(n_seeds, n_items)`` per-item scores of two arms on the same
    items (a 1-D array is one seed). Each draw resamples the seeds and, once for all
    of them, the items, so item difficulty is paired across arms and seeds.

    Examples
    --------
    >>> a = np.array([[1, 1, 0, 1], [1, 0, 1, 1]]); b = np.array([[0, 1, 0, 1], [0, 0, 1, 0]])
    >>> paired_bootstrap(a, b, seed=0)[0]
    0.375
    """
    level = _check_level(level)
    d = np.atleast_2d(np.asarray(a, dtype=float)) - np.atleast_2d(np.asarray(b, dtype=float))
    if d.size == 0:
        raise ValueError("paired_bootstrap needs at least one seed and one item")
    if not np.isfinite(d).all():
        raise ValueError("paired_bootstrap got non-finite scores")
    n_s, n_i = d.shape
    rng = np.random.default_rng(seed)
    out = np.empty(n_boot)
    chunk = max(1, min(n_boot, 2_000_000 // max(1, n_i)))
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        ws = rng.multinomial(n_s, np.full(n_s, 1 / n_s), size=m).astype(float)  # (m, S) seed counts
        wi = rng.multinomial(n_i, np.full(n_i, 1 / n_i), size=m).astype(float)  # (m, I) item counts
        out[start : start + m] = np.einsum("ms,si,mi->m", ws, d, wi) / (n_s * n_i)
    a_ = (1 - level) / 2
    lo, hi = np.quantile(out, [a_, 1 - a_])
    return float(d.mean()), float(lo), float(hi)


def t_interval(diffs: Sequence[float], *, level: float = LEVEL) -> tuple[float, float, float]:
    """Mean and Student-t interval of per-seed paired differences (``nan`` ends with one seed).

    Examples
    --------
    >>> est, lo, hi = t_interval([1.0, 2.0, 3.0], level=0.9)
    >>> est, round(lo, 3), round(hi, 3)
    (2.0, 0.314, 3.686)
    """
    level = _check_level(level)
    x = np.asarray(diffs, dtype=float)
    if x.size == 0 or not np.isfinite(x).all():
        raise ValueError("t_interval needs at least one finite difference")
    est = float(x.mean())
    if x.size < 2:
        return est, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return est, est - half, est + half


def seeds_for(seed: int, quick: bool, *, full: int = 3) -> list[int]:
    """The seeds a recipe runs: ``full`` (at least 3) at full size, 2 with ``quick``."""
    if full < 3:
        raise ValueError("a recipe's full-size verdict needs at least 3 seeds")
    return [int(seed) + k for k in range(2 if quick else full)]


__all__ = ["LEVEL", "N_BOOT", "Effect", "bootstrap", "paired_bootstrap", "seeds_for", "t_interval"]
