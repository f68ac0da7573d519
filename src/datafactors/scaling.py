"""Learning-curve and concept-frequency fits, extrapolation and data-needed estimates.

Learning curves follow "Deep Learning Scaling is Predictable, Empirically"::

    err(n) = alpha * n**beta + gamma,    alpha > 0,  -5 <= beta < 0,  gamma >= 0

with a small-data region, a power-law region (beta usually -0.07 to -0.35) and an
irreducible floor ``gamma``. :func:`fit_power_law` fits it with bootstrap intervals;
the returned :class:`PowerLawFit` predicts, inverts (how much data for a target error)
and splits the n axis into those regions. :func:`fit_frequency` fits
``perf = a * log(freq) + b`` (the "No Zero-Shot without exponential data" trend).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize

from ._errors import DataError
from ._validation import SeedLike, check_random_state

__all__ = ["DataNeeded", "FrequencyFit", "PowerLawFit", "fit_frequency", "fit_power_law"]

BETA_MIN = -5.0
# beta must stay strictly negative; bounds in least_squares are inclusive.
BETA_MAX = -1e-6
# Profile grid over beta used to find starting points (dense near 0 where real curves live).
_BETA_GRID = -np.geomspace(1e-3, -BETA_MIN, 48)
_N_STARTS = 3
PARAMS = ("alpha", "beta", "gamma")


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
        Least-squares estimates (alpha >= 0, reaching 0 only for flat data; -5 <= beta < 0; gamma >= 0).
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
        (``inf`` for a bootstrap fit whose floor is at or above the target).

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
            ns = _inverse(t, self.boot[:, 0], self.boot[:, 1], self.boot[:, 2])
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
        if self.gamma > 0 and self.alpha > 0:
            floor_start = float((self.gamma * f / ((1 - f) * self.alpha)) ** (1 / self.beta))
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
    n: ArrayLike, err: ArrayLike, *, n_boot: int = 200, seed: SeedLike = 0, level: float = 0.95
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
    rng = check_random_state(seed)

    n_max = float(sizes[-1])
    x = nn / n_max
    a, beta, gamma, cost = _fit(x, e)
    alpha = a * n_max ** (-beta)

    groups = [np.flatnonzero(nn == s) for s in sizes]
    method = "within-n" if any(g.size > 1 for g in groups) else "residual"
    if n_boot == 0:
        method = "none"
    boot = np.empty((int(n_boot), 3))
    fitted = a * x**beta + gamma
    resid = e - fitted
    for k in range(int(n_boot)):
        if method == "within-n":
            idx = np.concatenate([rng.choice(g, size=g.size, replace=True) for g in groups])
            xb, eb = x[idx], e[idx]
        else:
            xb, eb = x, fitted + rng.choice(resid, size=resid.size, replace=True)
        ab, bb, gb, _ = _fit(xb, eb)
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


def _inverse(target: float, alpha: np.ndarray, beta: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """``((target - gamma) / alpha) ** (1 / beta)`` with ``inf`` where the floor is at or above target."""
    out = np.full(alpha.shape, np.inf)
    ok = target > gamma
    with np.errstate(divide="ignore", over="ignore"):
        out[ok] = ((target - gamma[ok]) / alpha[ok]) ** (1.0 / beta[ok])
    return out


def _profile(x: np.ndarray, e: np.ndarray, beta: float) -> tuple[float, float, float]:
    """Best (a, gamma) >= 0 for a fixed beta by non-negative least squares; returns (a, gamma, rss)."""
    col = x**beta
    scale = float(np.max(col))
    design = np.column_stack([col / scale, np.ones_like(col)])
    coef, rnorm = optimize.nnls(design, e)
    return float(coef[0] / scale), float(coef[1]), float(rnorm**2)


def _fit(x: np.ndarray, e: np.ndarray) -> tuple[float, float, float, float]:
    """Fit ``e = a * x**beta + gamma`` on x in (0, 1]; returns (a, beta, gamma, cost = rss / 2)."""
    rss = np.array([_profile(x, e, b)[2] for b in _BETA_GRID])
    # Interior and edge local minima of the profile, best first, as starting points.
    is_min = np.ones(rss.size, dtype=bool)
    is_min[1:] &= rss[1:] <= rss[:-1]
    is_min[:-1] &= rss[:-1] <= rss[1:]
    cands = np.flatnonzero(is_min)
    starts = cands[np.argsort(rss[cands], kind="stable")][:_N_STARTS]
    logx = np.log(x)

    def resid(theta: np.ndarray) -> np.ndarray:
        return theta[0] * x ** theta[1] + theta[2] - e

    def jac(theta: np.ndarray) -> np.ndarray:
        xb = x ** theta[1]
        return np.column_stack([xb, theta[0] * xb * logx, np.ones_like(x)])

    best: tuple[float, float, float, float] | None = None
    lower, upper = [0.0, BETA_MIN, 0.0], [np.inf, BETA_MAX, np.inf]
    for i in starts:
        b0 = float(_BETA_GRID[i])
        a0, g0, _ = _profile(x, e, b0)
        theta0 = np.clip([a0, b0, g0], lower, [1e300, BETA_MAX, 1e300])
        res = optimize.least_squares(
            resid, theta0, jac=jac, bounds=(lower, upper), method="trf", ftol=1e-12, xtol=1e-12, gtol=1e-12
        )
        cand = (float(res.x[0]), float(res.x[1]), float(res.x[2]), float(res.cost))
        # The grid point itself is a valid fit too; keep it if the local solver wandered off.
        grid = (a0, b0, g0, rss[i] / 2)
        for c in (cand, grid):
            if best is None or c[3] < best[3]:
                best = c
    assert best is not None
    return best
