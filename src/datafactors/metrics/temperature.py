"""Temperature scaling (Guo et al., 2017) and every calibration metric before and after it.

Temperature scaling divides a model's logits by one scalar ``T > 0`` fitted by minimising
the negative log-likelihood on held-out data: ``T > 1`` softens over-confident
predictions, ``T < 1`` sharpens under-confident ones; the predicted class (hence the
accuracy) never changes. The calibration benchmark study fits ``T`` on a held-out 20%
and reports every metric before and after scaling, over several bin counts;
:func:`calibration_report` does exactly that.

Probabilities in, probabilities out. Stored predictions are probabilities, so logits are
recovered as ``z = ln(max(p, 1e-12))`` (softmax is invariant to adding a constant per row,
so this loses nothing except probabilities below 1e-12, which are floored). Pass
``logits=True`` to give raw logits instead.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize

from .._errors import DataError
from .._validation import SeedLike, check_random_state
from .accuracy import ROW_SUM_TOL, _check_labels, _check_probs, check_probs_labels
from .calibration import BIN_COUNTS, BINNINGS, CALIBRATION_METRICS, _check_bins, _compute_calibration_metrics, bin_sweep

__all__ = ["CalibrationReport", "TemperatureFit", "calibration_report", "fit_temperature", "temperature_scale"]

# Search range of T; the optimiser works on ln T inside it.
DEFAULT_BOUNDS = (0.01, 100.0)
# Probabilities are floored here before taking logs (the same floor as nll()).
PROB_FLOOR = 1e-12


@dataclass(frozen=True)
class TemperatureFit:
    """A fitted temperature.

    Attributes
    ----------
    temperature : float
        ``T`` minimising the mean NLL of ``softmax(z / T)`` on the fit rows.
    nll_before, nll_after : float
        Mean NLL on the fit rows at ``T = 1`` and at ``T``.
    n_fit : int
        Rows the temperature was fitted on.
    at_bound : bool
        True when ``T`` ended within 0.1% of a search bound (e.g. a model that is right on
        every fit row with growing confidence wants ``T -> 0``); the value is then the bound.
    """

    temperature: float
    nll_before: float
    nll_after: float
    n_fit: int
    at_bound: bool


@dataclass(frozen=True, eq=False)
class CalibrationReport:
    """Calibration metrics before and after temperature scaling, on rows not used to fit ``T``.

    Attributes
    ----------
    temperature : float
    fit : TemperatureFit or None
        None when the temperature was given rather than fitted.
    metrics : pandas.DataFrame
        Index :data:`~datafactors.metrics.CALIBRATION_METRICS` (accuracy, nll, brier, ece,
        ece_mass, classwise_ece, mce, ks), columns ``before`` and ``after``.
    sweep : pandas.DataFrame
        Columns ``binning``, ``n_bins``, ``metric`` (ece, mce, classwise_ece), ``before``, ``after``:
        the bin-count sweep on the evaluation rows.
    n_bins : int
        Bins used for ``metrics``.
    fit_idx, eval_idx : ndarray of int
        Rows used to fit ``T`` (empty when it was given) and rows evaluated.
    """

    temperature: float
    fit: TemperatureFit | None
    metrics: pd.DataFrame
    sweep: pd.DataFrame
    n_bins: int
    fit_idx: np.ndarray
    eval_idx: np.ndarray

    @property
    def before(self) -> dict[str, float]:
        """Metrics of the unscaled predictions on the evaluation rows."""
        return {k: float(v) for k, v in self.metrics["before"].items()}

    @property
    def after(self) -> dict[str, float]:
        """Metrics after dividing the logits by ``temperature``, on the same rows."""
        return {k: float(v) for k, v in self.metrics["after"].items()}

    def to_frame(self) -> pd.DataFrame:
        """Long table: ``metric, binning, n_bins, before, after, temperature, n_fit, n_eval``.

        The headline metrics carry ``binning = "width"`` and ``n_bins = self.n_bins`` (for
        ece_mass: ``"mass"``; for accuracy, nll, brier and ks, which have no bins: ``"none"``
        and 0); the sweep rows follow.
        """
        bins_of = {
            "ece": ("width", self.n_bins),
            "ece_mass": ("mass", self.n_bins),
            "classwise_ece": ("width", self.n_bins),
            "mce": ("width", self.n_bins),
        }
        rows = []
        for metric, r in self.metrics.iterrows():
            binning, nb = bins_of.get(str(metric), ("none", 0))
            rows.append(
                {
                    "metric": metric,
                    "binning": binning,
                    "n_bins": nb,
                    "before": r["before"],
                    "after": r["after"],
                    "source": "headline",
                }
            )
        head = pd.DataFrame(rows)
        sweep = self.sweep.assign(source="sweep")
        out = pd.concat([head, sweep[head.columns]], ignore_index=True)
        out["temperature"] = self.temperature
        out["n_fit"] = int(self.fit_idx.size)
        out["n_eval"] = int(self.eval_idx.size)
        return out


def fit_temperature(
    probs: ArrayLike,
    y: ArrayLike,
    *,
    logits: bool = False,
    bounds: tuple[float, float] = DEFAULT_BOUNDS,
) -> TemperatureFit:
    """Fit the temperature ``T`` that minimises the NLL of ``softmax(z / T)`` on these rows.

    ``NLL(T) = (1/n) sum_i [ln sum_c exp(z_ic / T) - z_{i,y_i} / T]`` is minimised over
    ``ln T`` in ``[ln bounds[0], ln bounds[1]]`` with scipy's bounded scalar optimiser
    (``minimize_scalar(method="bounded")``, tolerance 1e-6 on ``ln T``). NLL is convex in
    ``1 / T``, so it has a single minimum in ``ln T`` and the bounded search finds it.
    When every row's logits are equal (uniform predictions) ``T`` changes nothing and
    ``T = 1`` is returned.

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
        Predicted probabilities (rows sum to 1), or logits when ``logits=True``.
    y : array-like of shape (n_samples,)
    logits : bool, default False
    bounds : (float, float), default (0.01, 100)
        Search range of ``T``, ``0 < lo < hi``.

    Returns
    -------
    TemperatureFit

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 2000)
    >>> z = rng.normal(size=(2000, 3)); z[np.arange(2000), y] += 1.0  # z: calibrated logits
    >>> round(fit_temperature(z / 3.0, y, logits=True).temperature, 1)  # logits shrunk 3x -> T ~ 1/3
    0.3
    """
    lo, hi = _check_bounds(bounds)
    z, yi = _logits_labels(probs, y, logits)
    return _fit_temperature(z, yi, lo, hi)


def temperature_scale(probs: ArrayLike, temperature: float, *, logits: bool = False) -> np.ndarray:
    """Probabilities ``softmax(z / T)`` for logits ``z`` (recovered from ``probs`` unless ``logits=True``).

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
        Probabilities (rows sum to 1), or logits when ``logits=True``.
    temperature : float
        ``T > 0``.
    logits : bool, default False

    Returns
    -------
    ndarray of shape (n_samples, n_classes), float64; rows sum to 1 and keep their argmax.

    Examples
    --------
    >>> temperature_scale([[0.8, 0.2]], 2.0).round(4).tolist()  # sqrt(.8) : sqrt(.2) = 2 : 1
    [[0.6667, 0.3333]]
    """
    t = _check_temperature(temperature)
    z = _as_logits(probs, logits)
    return _softmax(z / t)


def calibration_report(
    probs: ArrayLike,
    y: ArrayLike,
    *,
    holdout: float = 0.2,
    temperature: float | None = None,
    n_bins: int = 15,
    bin_counts: Sequence[int] = BIN_COUNTS,
    binnings: Sequence[str] = BINNINGS,
    seed: SeedLike = 0,
    logits: bool = False,
    renormalize: bool = False,
    bounds: tuple[float, float] = DEFAULT_BOUNDS,
) -> CalibrationReport:
    """Every calibration metric before and after temperature scaling, plus the bin-count sweep.

    A random ``holdout`` fraction of the rows (at least one; drawn with ``seed``) is used
    to fit ``T`` (:func:`fit_temperature`); all metrics are computed on the *other* rows,
    before and after dividing their logits by ``T``, so the "after" numbers are not
    fitted to the rows they score. When ``temperature`` is given (e.g. ``T`` fitted on
    an ID validation set, applied to an OOD set) nothing is fitted and every row is evaluated.

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
        Probabilities, or logits with ``logits=True``.
    y : array-like of shape (n_samples,)
    holdout : float, default 0.2
        Fraction of rows used to fit ``T``, in (0, 1). Needs ``n_samples >= 2``.
    temperature : float, optional
        Use this ``T`` instead of fitting one.
    n_bins : int, default 15
        Bins of the headline binned metrics.
    bin_counts : sequence of int, default (5, 10, 15, 20, 25, 50, 100, 200, 500)
    binnings : sequence of {"width", "mass"}, default both
        The sweep's bin counts and binnings.
    seed : int or numpy Generator, default 0
    logits : bool, default False
    renormalize : bool, default False
        Probabilities whose rows do not sum to 1 raise ``DataError`` by default; with
        ``renormalize=True`` each such row is divided by its sum and a ``UserWarning`` says
        how many rows were rescaled (negative entries or all-zero rows still raise).
    bounds : (float, float), default (0.01, 100)
        Search range of ``T``.

    Returns
    -------
    CalibrationReport

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 3000)
    >>> z = rng.normal(size=(3000, 3)); z[np.arange(3000), y] += 1.0  # z: calibrated logits
    >>> rep = calibration_report(z * 3, y, logits=True)  # over-confident by 3x
    >>> round(rep.temperature), rep.after["ece"] < rep.before["ece"], rep.after["accuracy"] == rep.before["accuracy"]
    (3, True, True)
    """
    nb, _ = _check_bins(n_bins, "width")
    for mode in binnings:
        for k in bin_counts:
            _check_bins(k, mode)
    lo, hi = _check_bounds(bounds)
    if not logits and renormalize:
        probs = _renormalize(probs)
    z, yi = _logits_labels(probs, y, logits)
    n = z.shape[0]
    if temperature is None:
        if isinstance(holdout, (bool, np.bool_)) or not isinstance(holdout, numbers.Real) or not 0 < holdout < 1:
            raise DataError(f"holdout == {holdout!r}, must be a fraction in (0, 1)")
        if n < 2:
            raise DataError(f"probs has {n} row(s), need >= 2 to fit the temperature on some and evaluate on the rest")
        rng = check_random_state(seed)
        n_fit = min(n - 1, max(1, int(round(float(holdout) * n))))
        perm = rng.permutation(n)
        fit_idx, eval_idx = np.sort(perm[:n_fit]), np.sort(perm[n_fit:])
        fit = _fit_temperature(z[fit_idx], yi[fit_idx], lo, hi)
        t = fit.temperature
    else:
        t = _check_temperature(temperature)
        fit, fit_idx, eval_idx = None, np.array([], dtype=np.int64), np.arange(n)
    before_p = _softmax(z[eval_idx])
    after_p = _softmax(z[eval_idx] / t)
    ye = yi[eval_idx]
    before = _compute_calibration_metrics(before_p, ye, nb)
    after = _compute_calibration_metrics(after_p, ye, nb)
    metrics = pd.DataFrame(
        {"before": [before[m] for m in CALIBRATION_METRICS], "after": [after[m] for m in CALIBRATION_METRICS]},
        index=pd.Index(CALIBRATION_METRICS, name="metric"),
    )
    sb = bin_sweep(before_p, ye, bin_counts=bin_counts, binnings=binnings)
    sa = bin_sweep(after_p, ye, bin_counts=bin_counts, binnings=binnings)
    keys = ["binning", "n_bins"]
    long_b = sb.melt(id_vars=keys, var_name="metric", value_name="before")
    long_a = sa.melt(id_vars=keys, var_name="metric", value_name="after")
    sweep = long_b.merge(long_a, on=[*keys, "metric"], how="left")[["binning", "n_bins", "metric", "before", "after"]]
    return CalibrationReport(t, fit, metrics, sweep, nb, fit_idx, eval_idx)


# ---------------------------------------------------------------- helpers


def _check_bounds(bounds: object) -> tuple[float, float]:
    try:
        lo, hi = (float(b) for b in bounds)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise DataError(f"bounds == {bounds!r}, must be a pair (lo, hi) with 0 < lo < hi") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo < hi):
        raise DataError(f"bounds == {bounds!r}, must be a pair (lo, hi) with 0 < lo < hi")
    return lo, hi


def _check_temperature(t: object) -> float:
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Real) or not np.isfinite(t) or t <= 0:
        raise DataError(f"temperature == {t!r}, must be a finite number > 0")
    return float(t)


def _as_logits(probs: ArrayLike, logits: bool) -> np.ndarray:
    if logits:
        try:
            z = np.asarray(probs, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"logits must be a numeric array of shape (n_samples, n_classes): {exc}") from None
        if z.ndim != 2 or z.shape[0] < 1 or z.shape[1] < 1:
            raise DataError(f"logits has shape {z.shape}, must be 2-D (n_samples >= 1, n_classes >= 1)")
        if not np.all(np.isfinite(z)):
            raise DataError("logits contains NaN or inf")
    else:
        z = np.log(np.maximum(_check_probs(probs), PROB_FLOOR))
    # Subtracting the row max keeps exp() in range at any T and changes no softmax.
    return z - z.max(axis=1, keepdims=True)


def _logits_labels(probs: ArrayLike, y: ArrayLike, logits: bool) -> tuple[np.ndarray, np.ndarray]:
    if logits:
        z = _as_logits(probs, True)
        return z, _check_labels(y, z.shape[0], z.shape[1])
    p, yi = check_probs_labels(probs, y)
    z = np.log(np.maximum(p, PROB_FLOOR))
    return z - z.max(axis=1, keepdims=True), yi


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _nll_at(z: np.ndarray, zy: np.ndarray, t: float) -> float:
    # z has row max 0, so exp(z / t) <= 1 and the row sum is >= 1: no overflow, no log(0).
    return float(np.mean(np.log(np.exp(z / t).sum(axis=1)) - zy / t))


def _fit_temperature(z: np.ndarray, y: np.ndarray, lo: float, hi: float) -> TemperatureFit:
    zy = z[np.arange(z.shape[0]), y]
    nll1 = _nll_at(z, zy, 1.0)
    if np.ptp(z, axis=1).max() == 0:
        return TemperatureFit(1.0, nll1, nll1, int(z.shape[0]), False)
    res = optimize.minimize_scalar(
        lambda u: _nll_at(z, zy, float(np.exp(u))),
        bounds=(np.log(lo), np.log(hi)),
        method="bounded",
        options={"xatol": 1e-6},
    )
    t = float(np.exp(res.x))
    at_bound = bool(t <= lo * 1.001 or t >= hi / 1.001)
    return TemperatureFit(t, nll1, _nll_at(z, zy, t), int(z.shape[0]), at_bound)


def _renormalize(probs: ArrayLike) -> np.ndarray:
    try:
        p = np.array(probs, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"probs must be a numeric array of shape (n_samples, n_classes): {exc}") from None
    if p.ndim != 2:
        raise DataError(f"probs has shape {p.shape}, must be 2-D (n_samples, n_classes)")
    if not np.all(np.isfinite(p)) or (p.size and p.min() < 0):
        raise DataError("renormalize=True needs finite, non-negative probs; got NaN, inf or a negative value")
    sums = p.sum(axis=1)
    if np.any(sums <= 0):
        raise DataError(f"probs row {int(np.argmax(sums <= 0))} sums to 0, cannot renormalize it")
    off = np.abs(sums - 1.0) > ROW_SUM_TOL
    if off.any():
        warnings.warn(
            f"renormalized {int(off.sum())} of {p.shape[0]} probs rows that did not sum to 1 "
            f"(sums in [{sums[off].min():.6g}, {sums[off].max():.6g}])",
            UserWarning,
            stacklevel=3,
        )
        p[off] /= sums[off, None]
    return p
