"""Learning-curve and concept-frequency fits, extrapolation and data-needed estimates.

Learning curves follow "Deep Learning Scaling is Predictable, Empirically"::

    err(n) = alpha * n**beta + gamma,    alpha > 0,  -5 <= beta < 0,  gamma >= 0

with a small-data region, a power-law region (beta usually -0.07 to -0.35) and an
irreducible floor ``gamma``. :func:`fit_power_law` fits it with bootstrap intervals;
the returned :class:`PowerLawFit` predicts, inverts (how much data for a target error)
and splits the n axis into those regions. :func:`fit_group_curves` fits each group its
own curve (its own exponent); :func:`compare_curves` says which of several fitted curves
is lowest at which n and where they cross. :func:`fit_frequency` fits
``perf = a * log(freq) + b`` (the "No Zero-Shot without exponential data" trend).

Flat curves. When the error does not fall with n (a constant curve, or one that rises),
the constrained least-squares optimum has no reducible part; the exponent is then
meaningless, so the fit is reported as the documented *flat fit*
``alpha = 0, beta = 0, gamma = mean(err)`` (``PowerLawFit.flat`` is True), never NaN:
``predict`` returns gamma everywhere, every n is in the floor region, and a target is
either met at every size or unreachable. The same rule applies to each bootstrap refit.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize

from ._errors import DataError
from ._validation import SeedLike, check_random_state

__all__ = [
    "CurveComparison",
    "DataNeeded",
    "FrequencyFit",
    "PowerLawFit",
    "compare_curves",
    "fit_frequency",
    "fit_group_curves",
    "fit_power_law",
    "fits_table",
]

BETA_MIN = -5.0
# beta must stay strictly negative; bounds in least_squares are inclusive.
BETA_MAX = -1e-6
# Profile grid over beta used to find starting points (dense near 0 where real curves live).
_BETA_GRID = -np.geomspace(1e-3, -BETA_MIN, 48)
_N_STARTS = 3
PARAMS = ("alpha", "beta", "gamma")
# A fit is flat when its reducible error at the smallest observed n is below this fraction of
# max(1, max |err|): float noise, not a learning curve.
FLAT_TOL = 1e-9


@dataclass(frozen=True)
class DataNeeded:
    """How many examples a fitted learning curve needs to reach a target error.

    Attributes
    ----------
    n : float
        Point estimate ``((target - gamma) / alpha) ** (1 / beta)``; ``inf`` when unreachable.
    lo, hi : float
        Interval from the bootstrap fits (order statistics at the fit's level; a bootstrap
        fit whose floor is at or above the target counts as ``inf``).
    reachable : bool
        False when ``target <= gamma`` or the target is below the lower end of gamma's interval.
    reason : str
        Why unreachable, or where ``n`` lies relative to the observed sizes.
    """

    n: float
    lo: float
    hi: float
    reachable: bool
    reason: str


class FrequencyFit(NamedTuple):
    """``perf = slope * ln(freq) + intercept`` and the Pearson r of ``perf`` with ``ln(freq)``."""

    slope: float
    intercept: float
    r: float


@dataclass(frozen=True, eq=False)
class PowerLawFit:
    """A fitted learning curve ``err(n) = alpha * n**beta + gamma`` with bootstrap intervals.

    Attributes
    ----------
    alpha, beta, gamma : float
        Least-squares estimates (alpha >= 0; -5 <= beta < 0; gamma >= 0). A flat fit (error
        not falling with n) is ``alpha = 0, beta = 0, gamma = mean(err)``; see :attr:`flat`.
    ci : dict
        ``{"alpha" | "beta" | "gamma": (lo, hi)}``, percentile intervals at ``level``
        from the bootstrap refits (NaN when ``n_boot == 0``).
    n_points : int
        Number of (n, err) points fitted.
    boot : ndarray of shape (n_boot, 3)
        Bootstrap parameters, columns (alpha, beta, gamma).
    level : float
        Interval coverage, e.g. 0.95.
    n_min, n_max : float
        Smallest and largest observed n.
    rss : float
        Residual sum of squares of the fit.
    ci_method : str
        ``"within-n"`` (points resampled within each n, over seeds) or ``"residual"``
        (residuals resampled, used when no n has more than one point), ``"none"``.
    """

    alpha: float
    beta: float
    gamma: float
    ci: dict[str, tuple[float, float]]
    n_points: int
    boot: np.ndarray
    level: float = 0.95
    n_min: float = float("nan")
    n_max: float = float("nan")
    rss: float = float("nan")
    ci_method: str = "within-n"

    @property
    def flat(self) -> bool:
        """True for the documented flat fit (``alpha == 0``): the error does not fall with n."""
        return self.alpha == 0.0

    def predict(self, n: ArrayLike) -> np.ndarray:
        """Fitted error at size(s) ``n``.

        Parameters
        ----------
        n : float or array-like of any shape, values > 0

        Returns
        -------
        ndarray of the shape of ``n``: ``alpha * n**beta + gamma``.
        """
        nn = _check_sizes(n, "n")
        return self.alpha * nn**self.beta + self.gamma

    def predict_interval(self, n: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise percentile interval of the bootstrap curves at ``n``.

        Parameters
        ----------
        n : float or array-like of any shape, values > 0

        Returns
        -------
        (lo, hi) : ndarrays of the shape of ``n``, at the fit's ``level``.
        """
        if self.boot.shape[0] == 0:
            raise DataError("this fit has no bootstrap refits (n_boot == 0), refit with n_boot >= 1")
        nn = _check_sizes(n, "n")
        flat = nn.reshape(-1)
        a, b, g = self.boot[:, 0:1], self.boot[:, 1:2], self.boot[:, 2:3]
        curves = a * flat[None, :] ** b + g
        q = _quantiles(self.level)
        lo, hi = np.nanquantile(curves, q, axis=0)
        return lo.reshape(nn.shape), hi.reshape(nn.shape)

    def data_needed(self, target: float) -> DataNeeded:
        """Examples needed for the fitted error to reach ``target`` (the inverse of :meth:`predict`).

        ``n = ((target - gamma) / alpha) ** (1 / beta)``. Unreachable (``n = inf``) when
        ``target <= gamma`` or ``target`` is below the lower end of gamma's interval.
        ``lo``/``hi`` are order statistics of the same inverse over the bootstrap fits
        (``inf`` for a bootstrap fit whose floor is at or above the target). For a flat fit
        a target above gamma is met at every size, reported as the smallest observed n.

        Parameters
        ----------
        target : float
            Target error, in the units of ``err``.

        Returns
        -------
        DataNeeded
        """
        if isinstance(target, (bool, np.bool_)) or not isinstance(target, numbers.Real) or not np.isfinite(target):
            raise DataError(f"target == {target!r}, must be a finite number")
        t = float(target)
        lo, hi = float("nan"), float("nan")
        if self.boot.shape[0] > 0:
            ns = _inverse(t, self.boot[:, 0], self.boot[:, 1], self.boot[:, 2], flat_n=self.n_min)
            qlo, qhi = _quantiles(self.level)
            lo = float(np.quantile(ns, qlo, method="lower"))
            hi = float(np.quantile(ns, qhi, method="higher"))
        g_lo = self.ci["gamma"][0]
        if t <= self.gamma:
            return DataNeeded(float("inf"), lo, hi, False, f"target {t:.6g} <= fitted floor gamma = {self.gamma:.6g}")
        if np.isfinite(g_lo) and t < g_lo:
            return DataNeeded(
                float("inf"),
                lo,
                hi,
                False,
                f"target {t:.6g} is below the lower end of gamma's {self.level:.0%} interval ({g_lo:.6g})",
            )
        if self.flat:
            return DataNeeded(
                self.n_min,
                lo,
                hi,
                True,
                f"flat curve: the error is {self.gamma:.6g} at every n, already at or below the target",
            )
        n = float(_inverse(t, np.array([self.alpha]), np.array([self.beta]), np.array([self.gamma]))[0])
        if n > self.n_max:
            reason = f"extrapolated {n / self.n_max:.3g}x beyond the largest observed n ({self.n_max:.6g})"
        elif n < self.n_min:
            reason = f"below the smallest observed n ({self.n_min:.6g})"
        else:
            reason = "within the observed range of n"
        return DataNeeded(n, lo, hi, True, reason)

    def local_slope(self, n: ArrayLike) -> np.ndarray:
        """Local log-log slope ``d ln err / d ln n = beta * r / (r + gamma)``, with ``r = alpha * n**beta``."""
        nn = _check_sizes(n, "n")
        r = self.alpha * nn**self.beta
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(r + self.gamma > 0, self.beta * r / (r + self.gamma), 0.0)

    def regions(
        self, *, best_guess: float | None = None, floor_fraction: float = 0.1
    ) -> dict[str, tuple[float, float]]:
        """Split the n axis into small-data, power-law and floor regions.

        Rule. The fitted curve's local log-log slope is ``beta * r / (r + gamma)`` with
        ``r = alpha * n**beta`` the reducible error: close to ``beta`` while the
        reducible part dominates, going to 0 as the curve flattens onto ``gamma``.

        - The **floor** region starts where the slope has shrunk to ``floor_fraction``
          of ``beta`` (default 10%), i.e. ``r = gamma * f / (1 - f)``:
          ``n_floor = (gamma * f / ((1 - f) * alpha)) ** (1 / beta)``; ``inf`` if gamma == 0.
        - The **small-data** region ends where the fitted curve drops to ``best_guess``
          (the error of guessing, e.g. ``1 - 1/n_classes``), or, when that is not given,
          at the smallest observed n, below which the fit has no support.
        - The **power-law** region lies between them. Boundaries are clipped so that
          small-data end <= floor start.
        - A flat fit (alpha == 0) is floor everywhere: ``floor = (0, inf)``, the others empty.

        Parameters
        ----------
        best_guess : float, optional
            Error of a trivial predictor, in the units of ``err``.
        floor_fraction : float, default 0.1
            In (0, 1).

        Returns
        -------
        dict
            ``{"small_data": (0, a), "power_law": (a, b), "floor": (b, inf)}`` in units of n.
        """
        f = float(floor_fraction)
        if not 0 < f < 1:
            raise DataError(f"floor_fraction == {floor_fraction!r}, must be in (0, 1)")
        if self.flat:
            return {"small_data": (0.0, 0.0), "power_law": (0.0, 0.0), "floor": (0.0, float("inf"))}
        if self.gamma > 0 and self.alpha > 0:
            with np.errstate(divide="ignore", over="ignore"):
                # A floor far below the reducible error underflows the base to 0 -> floor at inf.
                floor_start = float(np.float64(self.gamma * f / ((1 - f) * self.alpha)) ** (1 / self.beta))
        else:
            floor_start = float("inf")
        if best_guess is None:
            small_end = self.n_min
        else:
            if not np.isfinite(best_guess):
                raise DataError(f"best_guess == {best_guess!r}, must be finite")
            small_end = float(
                _inverse(float(best_guess), np.array([self.alpha]), np.array([self.beta]), np.array([self.gamma]))[0]
            )
        small_end = min(small_end, floor_start)
        return {
            "small_data": (0.0, small_end),
            "power_law": (small_end, floor_start),
            "floor": (floor_start, float("inf")),
        }

    def to_dict(self) -> dict[str, float | int | str]:
        """Flat, JSON-friendly summary (one row of the run's ``fits`` table).

        Keys: alpha, beta, gamma, ``<param>_lo`` / ``<param>_hi``, n_points, n_boot,
        level, n_min, n_max, rss, ci_method, small_data_end, floor_start.
        """
        out: dict[str, float | int | str] = {"alpha": self.alpha, "beta": self.beta, "gamma": self.gamma}
        for name in PARAMS:
            out[f"{name}_lo"], out[f"{name}_hi"] = self.ci[name]
        reg = self.regions()
        out.update(
            n_points=self.n_points,
            n_boot=int(self.boot.shape[0]),
            level=self.level,
            n_min=self.n_min,
            n_max=self.n_max,
            rss=self.rss,
            ci_method=self.ci_method,
            small_data_end=reg["small_data"][1],
            floor_start=reg["floor"][0],
        )
        return out


def fit_power_law(
    n: ArrayLike, err: ArrayLike, *, n_boot: int = 200, seed: SeedLike = 0, level: float = 0.95, floor: bool = True
) -> PowerLawFit:
    """Fit the learning curve ``err(n) = alpha * n**beta + gamma`` with bootstrap intervals.

    The fit minimises ``sum_i (alpha * n_i**beta + gamma - err_i)**2`` over all points
    (repeated n, e.g. several seeds per size, are all used) subject to alpha >= 0,
    -5 <= beta < 0, gamma >= 0. For numerical stability it works with ``x = n / max(n)``
    (so ``a = alpha * max(n)**beta`` is the reducible error at the largest size): for each
    beta on a grid, (a, gamma) solve a non-negative linear least squares; the three best
    grid minima start a bounded ``scipy.optimize.least_squares``; the lowest cost wins.

    Intervals: ``n_boot`` times, resample the points with replacement within each distinct n
    (over seeds) and refit; percentile intervals at ``level``. When no n has more than one
    point that would reproduce the data, so residuals of the fit are resampled instead.

    A curve whose error does not fall with n (constant or rising) gives the documented
    flat fit ``alpha = 0, beta = 0, gamma = mean(err)`` (clipped at 0); see the module
    docstring. Fewer than 3 distinct sizes raise ``DataError``.

    Parameters
    ----------
    n : array-like of shape (n_points,)
        Training-set sizes, > 0; at least 3 distinct values.
    err : array-like of shape (n_points,)
        Error (or any loss that falls with n) at each size.
    n_boot : int, default 200
        Bootstrap refits; 0 skips them (intervals are then NaN).
    seed : int or numpy Generator, default 0
    level : float, default 0.95
        Interval coverage, in (0, 1).
    floor : bool, default True
        False fixes ``gamma = 0``: a pure power law ``err = alpha * n**beta`` (no
        irreducible floor), fitted by the same least squares. The floor is what a few small
        budgets pin down least; :mod:`datafactors.analysis.backtest` spans both fits.

    Returns
    -------
    PowerLawFit

    Examples
    --------
    >>> import numpy as np
    >>> n = 2.0 ** np.arange(6, 14)
    >>> fit = fit_power_law(n, 2.0 * n**-0.5 + 0.05, n_boot=0)
    >>> round(fit.alpha, 3), round(fit.beta, 3), round(fit.gamma, 3)
    (2.0, -0.5, 0.05)
    >>> pure = fit_power_law(n, 2.0 * n**-0.5 + 0.05, n_boot=0, floor=False)
    >>> pure.gamma, bool(pure.beta > -0.5)  # without a floor the same points need a flatter exponent
    (0.0, True)
    """
    nn = _check_sizes(n, "n")
    if nn.ndim != 1:
        raise DataError(f"n has shape {nn.shape}, must be 1-D (n_points,)")
    try:
        e = np.asarray(err, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"err must be a numeric array, got {err!r}") from None
    if e.ndim != 1:
        raise DataError(f"err has shape {e.shape}, must be 1-D (n_points,)")
    if e.shape != nn.shape:
        raise DataError(f"n has {nn.size} points but err has {e.size}, must match")
    if not np.all(np.isfinite(e)):
        raise DataError(f"err contains NaN or inf at positions {np.flatnonzero(~np.isfinite(e)).tolist()}")
    sizes = np.unique(nn)
    if sizes.size < 3:
        raise DataError(f"n has {sizes.size} distinct values {sizes.tolist()}, need >= 3 to fit alpha, beta, gamma")
    if isinstance(n_boot, (bool, np.bool_)) or not isinstance(n_boot, numbers.Integral) or n_boot < 0:
        raise DataError(f"n_boot == {n_boot!r}, must be an int >= 0")
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise DataError(f"level == {level!r}, must be in (0, 1)")
    if not isinstance(floor, (bool, np.bool_)):
        raise DataError(f"floor == {floor!r}, must be True or False")
    rng = check_random_state(seed)

    n_max = float(sizes[-1])
    x = nn / n_max
    a, beta, gamma, cost = _fit(x, e, floor=bool(floor))
    alpha = a * n_max ** (-beta)

    groups = [np.flatnonzero(nn == s) for s in sizes]
    method = "within-n" if any(g.size > 1 for g in groups) else "residual"
    if n_boot == 0:
        method = "none"
    boot = np.empty((int(n_boot), 3))
    fitted = a * x**beta + gamma if a > 0 else np.full_like(x, gamma)
    resid = e - fitted
    for k in range(int(n_boot)):
        if method == "within-n":
            idx = np.concatenate([rng.choice(g, size=g.size, replace=True) for g in groups])
            xb, eb = x[idx], e[idx]
        else:
            xb, eb = x, fitted + rng.choice(resid, size=resid.size, replace=True)
        ab, bb, gb, _ = _fit(xb, eb, polish=False, floor=bool(floor))
        boot[k] = (ab * n_max ** (-bb), bb, gb)

    if n_boot > 0:
        q = _quantiles(level)
        lims = np.nanquantile(boot, q, axis=0)
        ci = {name: (float(lims[0, j]), float(lims[1, j])) for j, name in enumerate(PARAMS)}
    else:
        ci = {name: (float("nan"), float("nan")) for name in PARAMS}
    return PowerLawFit(
        alpha=float(alpha),
        beta=float(beta),
        gamma=float(gamma),
        ci=ci,
        n_points=int(nn.size),
        boot=boot,
        level=float(level),
        n_min=float(sizes[0]),
        n_max=n_max,
        rss=float(2 * cost),
        ci_method=method,
    )


def fit_group_curves(
    n: ArrayLike,
    err: ArrayLike,
    groups: ArrayLike,
    *,
    n_boot: int = 200,
    seed: SeedLike = 0,
    level: float = 0.95,
) -> dict[Hashable, PowerLawFit]:
    """Fit each group its own learning curve ``err_g(n) = alpha_g * n**beta_g + gamma_g``.

    As in the instruction-tuning dynamics study, each group (task, domain, skill) gets its
    own exponent rather than sharing one. ``n`` is whatever drives that group's curve
    (total training size, or the group's own example count).

    Parameters
    ----------
    n, err, groups : array-like of shape (n_points,)
        One row per (size, seed, group) measurement. Each group needs >= 3 distinct n.
    n_boot, seed, level
        As in :func:`fit_power_law`; every group uses the same ``seed`` (an int seed, or
        one int drawn from a Generator), so a group's fit does not depend on the others.

    Returns
    -------
    dict
        group -> :class:`PowerLawFit`, groups in sorted order. :func:`fits_table` turns it
        into a table.

    Raises
    ------
    DataError
        Naming the group that cannot be fitted (e.g. fewer than 3 distinct sizes).

    Examples
    --------
    >>> import numpy as np
    >>> n = np.tile(2.0 ** np.arange(6, 12), 2)
    >>> g = np.repeat(["easy", "hard"], 6)
    >>> err = np.where(g == "easy", 2 * n**-0.5, 2 * n**-0.2)
    >>> fits = fit_group_curves(n, err, g, n_boot=0)
    >>> {k: round(f.beta, 3) for k, f in fits.items()}
    {'easy': -0.5, 'hard': -0.2}
    """
    nn = np.asarray(n)
    ee = np.asarray(err)
    gg = np.asarray(groups)
    if gg.ndim != 1:
        raise DataError(f"groups has shape {gg.shape}, must be 1-D (n_points,)")
    if nn.shape != gg.shape or ee.shape != gg.shape:
        raise DataError(f"n, err and groups must have the same length; got {nn.shape}, {ee.shape} and {gg.shape}")
    if pd.isna(pd.Series(gg)).any():
        raise DataError("groups has a missing value; every point needs a group")
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(0, 2**31 - 1))
    out: dict[Hashable, PowerLawFit] = {}
    for key in sorted(pd.unique(pd.Series(gg)).tolist(), key=lambda k: (str(type(k)), k)):
        mask = gg == key
        try:
            out[key] = fit_power_law(nn[mask], ee[mask], n_boot=n_boot, seed=seed, level=level)
        except DataError as exc:
            raise DataError(f"group {key!r}: {exc}") from None
    return out


def fits_table(fits: Mapping[Hashable, PowerLawFit], key: str = "group") -> pd.DataFrame:
    """One row per fit: ``key`` then the columns of :meth:`PowerLawFit.to_dict` and ``flat``.

    Examples
    --------
    >>> import numpy as np
    >>> n = 2.0 ** np.arange(6, 12)
    >>> fits_table({"a": fit_power_law(n, n**-0.5, n_boot=0)})[["group", "beta"]].round(3).values.tolist()
    [['a', -0.5]]
    """
    rows = [{key: k, **f.to_dict(), "flat": f.flat} for k, f in fits.items()]
    return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False)
class CurveComparison:
    """Several fitted learning curves compared over a range of n (lower error is better).

    Attributes
    ----------
    crossings : pandas.DataFrame
        One row per point where two curves cross inside ``n_range``: ``a``, ``b``,
        ``n_cross``, ``err_cross``, ``better_below`` and ``better_above`` (the lower curve of
        the two just below / above the crossing), ``n_cross_lo``, ``n_cross_hi`` (percentile
        interval of the nearest crossing over paired bootstrap curves, NaN without
        bootstraps) and ``boot_fraction`` (share of bootstrap pairs that cross in the range).
    winners : pandas.DataFrame
        Segments ``n_lo``, ``n_hi``, ``best`` (the lowest curve on that segment),
        ``err_lo``, ``err_hi`` (its error at the ends), ``margin`` (at the segment's
        geometric middle, how far below the runner-up it is).
    n_range : (float, float)
    names : list of str
    """

    crossings: pd.DataFrame
    winners: pd.DataFrame
    n_range: tuple[float, float]
    names: list[str] = field(default_factory=list)
    _fits: dict[str, PowerLawFit] = field(default_factory=dict, repr=False)

    def best_at(self, n: ArrayLike) -> np.ndarray:
        """Name of the lowest fitted curve at each ``n`` (ties go to the first name)."""
        nn = _check_sizes(n, "n")
        preds = np.stack([self._fits[k].predict(nn) for k in self.names])
        return np.asarray(self.names, dtype=object)[np.argmin(preds, axis=0)]


_CROSS_COLUMNS = [
    "a",
    "b",
    "n_cross",
    "err_cross",
    "better_below",
    "better_above",
    "n_cross_lo",
    "n_cross_hi",
    "boot_fraction",
]


def compare_curves(
    fits: Mapping[str, PowerLawFit],
    *,
    n_range: tuple[float, float] | None = None,
    n_grid: int = 512,
    level: float = 0.95,
) -> CurveComparison:
    """Compare fitted learning curves: which is lowest at which n, and where they cross.

    Every pair's difference ``d(n) = err_a(n) - err_b(n)`` is evaluated on ``n_grid``
    log-spaced sizes in ``n_range``; each sign change is refined with ``brentq`` on
    ``ln n`` to the crossing point (two curves of this form cross at most twice). Curves
    that are identical on the grid do not cross. Uncertainty: bootstrap row ``k`` of one
    fit is paired with row ``k`` of the other (the fits are independent), and the crossing
    nearest the point estimate is located on the grid; its percentile interval and the
    share of pairs that cross at all are reported.

    Parameters
    ----------
    fits : mapping name -> PowerLawFit
        At least 2 curves of the same quantity (e.g. error of each selection strategy).
    n_range : (float, float), optional
        Defaults to the observed range: the smallest ``n_min`` to the largest ``n_max``.
        Crossings beyond the observed sizes are extrapolations; say so when reporting them.
    n_grid : int, default 512
    level : float, default 0.95

    Returns
    -------
    CurveComparison

    Examples
    --------
    >>> import numpy as np
    >>> n = 2.0 ** np.arange(6, 15)
    >>> fast = fit_power_law(n, 4 * n**-0.5 + 0.02, n_boot=0)   # steep, low floor
    >>> slow = fit_power_law(n, 0.5 * n**-0.2 + 0.05, n_boot=0)  # better with little data
    >>> cmp = compare_curves({"fast": fast, "slow": slow})
    >>> row = cmp.crossings.iloc[0]
    >>> row.better_below, row.better_above, round(float(fast.predict(row.n_cross) - slow.predict(row.n_cross)), 9)
    ('slow', 'fast', 0.0)
    """
    names = [str(k) for k in fits]
    fmap = {str(k): v for k, v in fits.items()}
    if len(fmap) < 2:
        raise DataError(f"compare_curves needs >= 2 fitted curves, got {len(fmap)}: {names}")
    for k, f in fmap.items():
        if not isinstance(f, PowerLawFit):
            raise DataError(f"fits[{k!r}] is a {type(f).__name__}, must be a PowerLawFit")
    if isinstance(n_grid, (bool, np.bool_)) or not isinstance(n_grid, numbers.Integral) or n_grid < 8:
        raise DataError(f"n_grid == {n_grid!r}, must be an int >= 8")
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise DataError(f"level == {level!r}, must be in (0, 1)")
    if n_range is None:
        lo = min(f.n_min for f in fmap.values())
        hi = max(f.n_max for f in fmap.values())
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise DataError("the fits do not record their observed n range (n_min/n_max); pass n_range=(lo, hi)")
    else:
        try:
            lo, hi = (float(v) for v in n_range)
        except (TypeError, ValueError):
            raise DataError(f"n_range == {n_range!r}, must be a pair (lo, hi) with 0 < lo < hi") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo < hi):
        raise DataError(f"n_range == ({lo!r}, {hi!r}), must satisfy 0 < lo < hi")
    u = np.linspace(np.log(lo), np.log(hi), int(n_grid))
    grid = np.exp(u)
    preds = {k: f.predict(grid) for k, f in fmap.items()}
    scale = max(1.0, max(float(np.max(np.abs(p))) for p in preds.values()))
    tail = (1.0 - float(level)) / 2.0

    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            fa, fb = fmap[a], fmap[b]
            for r in _roots(fa, fb, u, preds[a] - preds[b], scale):
                n_c = float(np.exp(r))
                eps = 1e-6 * (u[-1] - u[0])
                below = a if float(fa.predict(np.exp(r - eps)) - fb.predict(np.exp(r - eps))) < 0 else b
                above = a if float(fa.predict(np.exp(r + eps)) - fb.predict(np.exp(r + eps))) < 0 else b
                c_lo, c_hi, frac = _boot_crossing(fa, fb, grid, r, tail)
                rows.append(
                    {
                        "a": a,
                        "b": b,
                        "n_cross": n_c,
                        "err_cross": float(fa.predict(n_c)),
                        "better_below": below,
                        "better_above": above,
                        "n_cross_lo": c_lo,
                        "n_cross_hi": c_hi,
                        "boot_fraction": frac,
                    }
                )
    crossings = pd.DataFrame(rows, columns=_CROSS_COLUMNS).sort_values("n_cross", kind="stable", ignore_index=True)

    stack = np.stack([preds[k] for k in names])
    best = np.argmin(stack, axis=0)
    segs = []
    start = 0
    for k in range(1, grid.size + 1):
        if k == grid.size or best[k] != best[start]:
            segs.append((start, k - 1, int(best[start])))
            start = k
    winners_rows = []
    bounds = [lo]
    for j in range(len(segs) - 1):
        (_, e0, w0), (s1, _, w1) = segs[j], segs[j + 1]
        fa, fb = fmap[names[w0]], fmap[names[w1]]
        d0 = float(fa.predict(grid[e0]) - fb.predict(grid[e0]))
        d1 = float(fa.predict(grid[s1]) - fb.predict(grid[s1]))
        if d0 * d1 < 0:
            bounds.append(
                float(
                    np.exp(
                        optimize.brentq(
                            lambda v, fa=fa, fb=fb: float(fa.predict(np.exp(v)) - fb.predict(np.exp(v))),
                            u[e0],
                            u[s1],
                            xtol=1e-12,
                        )
                    )
                )
            )
        else:
            bounds.append(float(np.sqrt(grid[e0] * grid[s1])))
    bounds.append(hi)
    for j, (_, _, w) in enumerate(segs):
        n0, n1 = bounds[j], bounds[j + 1]
        mid = float(np.sqrt(n0 * n1))
        at_mid = np.array([float(fmap[k].predict(mid)) for k in names])
        others = np.delete(at_mid, w)
        winners_rows.append(
            {
                "n_lo": n0,
                "n_hi": n1,
                "best": names[w],
                "err_lo": float(fmap[names[w]].predict(n0)),
                "err_hi": float(fmap[names[w]].predict(n1)),
                "margin": float(np.min(others) - at_mid[w]),
            }
        )
    winners = pd.DataFrame(winners_rows, columns=["n_lo", "n_hi", "best", "err_lo", "err_hi", "margin"])
    return CurveComparison(crossings, winners, (float(lo), float(hi)), names, fmap)


def _roots(fa: PowerLawFit, fb: PowerLawFit, u: np.ndarray, d: np.ndarray, scale: float) -> list[float]:
    """ln n where err_a - err_b changes sign on the grid, refined by brentq."""
    tol = 1e-12 * scale
    if np.all(np.abs(d) <= tol):
        return []  # identical curves tie everywhere; they do not cross

    def diff(v: float) -> float:
        return float(fa.predict(np.exp(v)) - fb.predict(np.exp(v)))

    sign = np.where(np.abs(d) <= tol, 0, np.sign(d))
    roots = []
    k = 0
    while k < u.size - 1:
        if sign[k] != 0 and sign[k + 1] != 0 and sign[k] != sign[k + 1]:
            roots.append(float(optimize.brentq(diff, u[k], u[k + 1], xtol=1e-12)))
        elif sign[k + 1] == 0 and sign[k] != 0:
            # Touching zero on a grid point: a crossing only if the sign flips after the zero run.
            j = k + 1
            while j < u.size and sign[j] == 0:
                j += 1
            if j < u.size and sign[j] != sign[k]:
                roots.append(float(0.5 * (u[k + 1] + u[j - 1])))
            k = j - 1
        k += 1
    return roots


def _boot_crossing(fa: PowerLawFit, fb: PowerLawFit, grid: np.ndarray, root: float, tail: float):
    m = min(fa.boot.shape[0], fb.boot.shape[0])
    if m == 0:
        return float("nan"), float("nan"), float("nan")
    lg = np.log(grid)

    def curves(boot: np.ndarray) -> np.ndarray:
        a, b, g = boot[:m, 0:1], boot[:m, 1:2], boot[:m, 2:3]
        return a * grid[None, :] ** b + g

    d = curves(fa.boot) - curves(fb.boot)
    s = np.sign(d)
    flips = (s[:, :-1] * s[:, 1:]) < 0
    found = []
    for k in range(m):
        idx = np.flatnonzero(flips[k])
        if idx.size == 0:
            continue
        # Linear interpolation of d in ln n within the flipping grid cell.
        d0, d1 = d[k, idx], d[k, idx + 1]
        cross = lg[idx] + (lg[idx + 1] - lg[idx]) * d0 / (d0 - d1)
        found.append(cross[np.argmin(np.abs(cross - root))])
    frac = len(found) / m
    if not found:
        return float("nan"), float("nan"), frac
    q = np.exp(np.quantile(np.array(found), [tail, 1.0 - tail]))
    return float(q[0]), float(q[1]), frac


def fit_frequency(freq: ArrayLike, perf: ArrayLike) -> FrequencyFit:
    """Fit ``perf = a * ln(freq) + b`` by least squares (performance vs concept frequency).

    Parameters
    ----------
    freq : array-like of shape (n_concepts,)
        Pretraining frequency of each concept, > 0 (add 1 to zero counts before calling).
    perf : array-like of shape (n_concepts,)
        Performance on each concept.

    Returns
    -------
    FrequencyFit
        ``(slope a, intercept b, r)`` with ``r`` the Pearson correlation of ``perf`` with
        ``ln(freq)`` (NaN when ``perf`` is constant). Unpacks as a tuple.

    Examples
    --------
    >>> a, b, r = fit_frequency([1, 10, 100], [0.1, 0.2, 0.3])
    >>> round(float(a * np.log(10)), 6), round(b, 6), round(r, 6)
    (0.1, 0.1, 1.0)
    """
    f = _check_sizes(freq, "freq")
    try:
        p = np.asarray(perf, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"perf must be a numeric array, got {perf!r}") from None
    if f.ndim != 1 or p.ndim != 1:
        raise DataError(f"freq and perf must be 1-D (n_concepts,), got shapes {f.shape} and {p.shape}")
    if f.shape != p.shape:
        raise DataError(f"freq has {f.size} values but perf has {p.size}, must match")
    if not np.all(np.isfinite(p)):
        raise DataError("perf contains NaN or inf")
    lf = np.log(f)
    if np.ptp(lf) == 0:
        raise DataError(f"freq has a single distinct value {f[0]!r}, need >= 2 distinct frequencies")
    slope, intercept = np.polyfit(lf, p, deg=1)
    r = float("nan") if np.ptp(p) == 0 else float(np.corrcoef(lf, p)[0, 1])
    return FrequencyFit(float(slope), float(intercept), r)


def _check_sizes(values: ArrayLike, name: str) -> np.ndarray:
    try:
        v = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be numeric, got {values!r}") from None
    if v.size == 0:
        raise DataError(f"{name} is empty")
    if not np.all(np.isfinite(v)):
        raise DataError(f"{name} contains NaN or inf")
    if v.min() <= 0:
        raise DataError(f"{name} has minimum {v.min():.6g}, every value must be > 0")
    return v


def _quantiles(level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2.0
    return tail, 1.0 - tail


def _inverse(target: float, alpha: np.ndarray, beta: np.ndarray, gamma: np.ndarray, flat_n: float = 0.0) -> np.ndarray:
    """``((target - gamma) / alpha) ** (1 / beta)`` with ``inf`` where the floor is at or above target.

    A flat curve (alpha == 0) below the target meets it at any n: ``flat_n`` is returned there.
    """
    out = np.full(alpha.shape, np.inf)
    ok = target > gamma
    flat = ok & (alpha == 0)
    out[flat] = flat_n
    ok &= alpha > 0
    with np.errstate(divide="ignore", over="ignore"):
        out[ok] = ((target - gamma[ok]) / alpha[ok]) ** (1.0 / beta[ok])
    return out


def _profile_many(
    x: np.ndarray, e: np.ndarray, betas: np.ndarray, floor: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best (a, gamma) >= 0 for each fixed beta: a two-variable NNLS solved in closed form.

    For design columns ``c = x**beta`` and 1 the problem is convex, so its optimum is the
    best feasible candidate among: the unconstrained solution, ``a = 0`` (gamma = mean e),
    ``gamma = 0`` (a = <c, e> / <c, c>) and ``a = gamma = 0``; without a ``floor`` only the
    last two. Returns (a, gamma, rss), each (k,).
    """
    col = x[None, :] ** betas[:, None]
    # Scale each column to max 1: x**beta reaches ~1e12 for steep betas at small x.
    scale = col.max(axis=1, keepdims=True)
    c = col / scale
    m = x.size
    c_mean = c.mean(axis=1)
    e_mean = float(e.mean())
    cc = np.einsum("ij,ij->i", c, c)
    ce = c @ e
    var_c = cc / m - c_mean**2
    with np.errstate(divide="ignore", invalid="ignore"):
        a_free = np.where(var_c > 0, (ce / m - c_mean * e_mean) / var_c, 0.0)
    g_free = e_mean - a_free * c_mean
    cands = [(np.maximum(ce / cc, 0.0), np.zeros_like(c_mean))]
    if floor:
        cands += [(a_free, g_free), (np.zeros_like(c_mean), np.full_like(c_mean, max(e_mean, 0.0)))]
    best_a = np.zeros_like(c_mean)
    best_g = np.zeros_like(c_mean)
    best_rss = np.full_like(c_mean, float(np.dot(e, e)))  # a = gamma = 0
    for a, g in cands:
        ok = (a >= 0) & (g >= 0)
        rss = np.sum((a[:, None] * c + g[:, None] - e[None, :]) ** 2, axis=1)
        better = ok & (rss < best_rss)
        best_a = np.where(better, a, best_a)
        best_g = np.where(better, g, best_g)
        best_rss = np.where(better, rss, best_rss)
    return best_a / scale[:, 0], best_g, best_rss


def _profile(x: np.ndarray, e: np.ndarray, beta: float, floor: bool = True) -> tuple[float, float, float]:
    """Best (a, gamma) >= 0 for a fixed beta (gamma = 0 without a ``floor``); returns (a, gamma, rss)."""
    a, g, rss = _profile_many(x, e, np.array([beta]), floor)
    return float(a[0]), float(g[0]), float(rss[0])


def _fit(x: np.ndarray, e: np.ndarray, polish: bool = True, floor: bool = True) -> tuple[float, float, float, float]:
    """Fit ``e = a * x**beta + gamma`` on x in (0, 1] (gamma = 0 without a ``floor``); returns (a, beta, gamma, cost = rss / 2).

    Variable projection: for fixed beta, (a, gamma) have a closed form (:func:`_profile_many`),
    so the fit is a 1-D minimisation of the profile RSS over beta. The profile is evaluated on
    a grid; around its best local minima a bounded Brent search refines beta; with ``polish``
    a bounded ``least_squares`` on all three parameters then removes Brent's ~1e-8 tolerance.
    """
    _, _, rss = _profile_many(x, e, _BETA_GRID, floor)
    # Interior and edge local minima of the profile, best first, as starting points.
    is_min = np.ones(rss.size, dtype=bool)
    is_min[1:] &= rss[1:] <= rss[:-1]
    is_min[:-1] &= rss[:-1] <= rss[1:]
    cands = np.flatnonzero(is_min)
    starts = cands[np.argsort(rss[cands], kind="stable")][:_N_STARTS]

    def prof(b: float) -> float:
        return _profile(x, e, b, floor)[2]

    best: tuple[float, float, float, float] | None = None
    for i in starts:
        # _BETA_GRID runs from near 0 down to BETA_MIN: the bracket is the two neighbours.
        hi = BETA_MAX if i == 0 else float(_BETA_GRID[i - 1])
        lo = BETA_MIN if i == _BETA_GRID.size - 1 else float(_BETA_GRID[i + 1])
        res = optimize.minimize_scalar(prof, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
        for b in (float(res.x), float(_BETA_GRID[i])):
            a0, g0, r0 = _profile(x, e, b, floor)
            if best is None or r0 / 2 < best[3]:
                best = (a0, b, g0, r0 / 2)
    assert best is not None
    if polish and best[0] > 0:
        logx = np.log(x)

        k = 3 if floor else 2  # without a floor gamma stays at 0

        def resid(theta: np.ndarray) -> np.ndarray:
            return theta[0] * x ** theta[1] + (theta[2] if floor else 0.0) - e

        def jac(theta: np.ndarray) -> np.ndarray:
            xb = x ** theta[1]
            return np.column_stack([xb, theta[0] * xb * logx, np.ones_like(x)][:k])

        lower, upper = [0.0, BETA_MIN, 0.0][:k], [np.inf, BETA_MAX, np.inf][:k]
        theta0 = np.clip(best[:k], lower, [1e300, BETA_MAX, 1e300][:k])
        res = optimize.least_squares(
            resid, theta0, jac=jac, bounds=(lower, upper), method="trf", ftol=1e-15, xtol=1e-15, gtol=1e-15
        )
        if res.cost < best[3]:
            best = (float(res.x[0]), float(res.x[1]), float(res.x[2]) if floor else 0.0, float(res.cost))
    assert best is not None
    a, b, _, _ = best
    if a * float(x.min()) ** b <= FLAT_TOL * max(1.0, float(np.max(np.abs(e)))):
        # No reducible error over the observed n: the documented flat fit (beta is meaningless).
        g = max(0.0, float(np.mean(e)))
        return 0.0, 0.0, g, float(np.sum((e - g) ** 2) / 2)
    return best
