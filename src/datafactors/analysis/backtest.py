"""Learning curves that check themselves: refit on the small budgets, predict the largest, compare.

"How much more data do I need" is answered by extrapolating a fitted curve; the ``backtest``
table says how far to trust that on this very run. For each (strategy, eval set) the curve
``err(n) = alpha n^beta + gamma`` is refitted on the trials whose training size is at most
half of the largest (``n_fit_max``), the error at the largest size (``n_pred``) is
predicted with a 90% interval (``level``), and compared with the mean error measured there.
``covered`` is whether the interval holds the measured value.

The interval has two parts.

*Noise* -- a bootstrap that resamples the budgets, and the seeds within each budget, and
refits: how much the extrapolation rests on which seeds and budgets were run, *given* that
the power law is the right shape beyond ``n_fit_max``.

*Shape* (``shape_check=True``) -- what the bootstrap cannot see: the curve changing shape
past the fitted budgets. Two causes are common in the run engine: under its fixed-epochs
protocol small subsets also get fewer gradient steps, so the measured curve falls faster
than a power law fitted on the small budgets says (MNIST-1D random: 0.573 [0.540, 0.614]
predicted from the bootstrap alone, 0.494 measured); and a score-based selection changes
population as the budget grows (EL2N-easiest on digits: 0.114 predicted, 0.018 measured).
The shape check is the same backtest one level down, on data the fit has already seen:
refit on the sizes at or below half of ``n_fit_max`` (and at least the three smallest, the
fewest a curve takes; their largest is ``inner_max``), predict the error at ``n_fit_max``
and take the log residual ``r = |log(measured(n_fit_max) / predicted)|``. To first order a
wrong shape is a wrong exponent, which moves ``log err`` in proportion to ``log n``, so the
residual is scaled by how much farther the real backtest reaches::

    shape_error = r * log(n_pred / n_fit_max) / log(n_fit_max / inner_max)

(1 when the budgets are geometric in the backtest's own ratio). It is read as a bias of
unknown sign on the log scale, and the interval is the union of the noise intervals
around the two biased predictions: ``[lo_boot * exp(-shape_error), hi_boot *
exp(shape_error)]``; ``pred`` stays the point prediction. A power law gives ``r`` near 0
and the noise interval back. ``r`` carries the seed noise of the mean at ``n_fit_max`` as
well, which the bootstrap already counts, so on a true power law the widening is a little
conservative; and it is one residual, not a distribution, so a curve whose shape changes
only past ``n_fit_max`` still escapes (the test "a curve that bends after the fitted
budgets").

Measured, with the rule fixed before it was measured and not tuned on the benches
(``--from`` re-evaluates kept points, ``--no-shape-check`` gives the noise interval alone):
on logistic-regression curves (``bench/bench_backtest.py --blocks 4``, 48 backtests)
coverage goes from 0.81 to 0.88, the median interval from 62% to 115% of the prediction;
on the run engine's own curves (``bench/bench_backtest_engine.py --blocks 5``, 109
backtests) from 0.38 to 0.63, short of the 0.8 the issue asks for. What still escapes
there is mostly structural: at the largest budget every strategy trains on the whole pool,
so a selection's curve is checked against a point outside its own regime (the summary says
so when every strategy measured the same error there); and under fixed epochs the curve
keeps steepening, so one inner residual underestimates the next step. Checking selections
at their own last budget instead (dropping the shared point) was tried on the same points
and measured worse (0.37 over 76: three fitted sizes leave no shape check), so it is not
done.

A backtest needs at least three distinct sizes at or below ``n_fit_max``; with fewer, or
when the refit is flat (the error does not fall with n), the row says so in ``status``
(``"too short"`` / ``"flat"``) and carries no prediction -- a curve that cannot be checked
is not counted as covered. The shape check needs a fourth size (``n_fit_max`` above the
three smallest) and a positive error at ``n_fit_max`` and in its prediction; without them
``shape_error`` is NaN, the interval is the noise interval alone, and
:func:`backtest_summary` says how many curves went unchecked.

Columns: strategy, eval_set, n_fit_max, n_pred, n_points, pred, lo, hi, shape_error,
measured, covered, level, status.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._errors import DataError
from ..scaling import fit_power_law
from ._tables import typed
from .curves import error_points

__all__ = ["BACKTEST_COLUMNS", "BACKTEST_LEVEL", "backtest_summary", "backtest_table"]

BACKTEST_COLUMNS = [
    "strategy", "eval_set", "n_fit_max", "n_pred", "n_points", "pred", "lo", "hi", "shape_error", "measured",
    "covered", "level", "status",
]  # fmt: skip
BACKTEST_DTYPES: dict[str, object] = {
    "strategy": str, "eval_set": str, "n_fit_max": float, "n_pred": float, "n_points": "int64", "pred": float,
    "lo": float, "hi": float, "shape_error": float, "measured": float, "covered": "boolean", "level": float,
    "status": str,
}  # fmt: skip
# The interval of the prediction (the issue asks for 90%: wide enough to be honest, narrow enough to use).
BACKTEST_LEVEL = 0.9
MIN_SIZES = 3
# Sizes within this of a cut-off count as at or below it (budgets are stored as floats).
_TOL = 1e-9


def _one(g: pd.DataFrame, *, n_boot: int, seed: int, level: float, shape_check: bool) -> dict[str, Any]:
    n_pred = float(g["n_train"].max())
    half = n_pred / 2.0
    fit_part = g[g["n_train"] <= half + _TOL]
    row: dict[str, Any] = {"n_fit_max": float(fit_part["n_train"].max()) if len(fit_part) else np.nan,
                           "n_pred": n_pred, "n_points": int(len(fit_part)), "level": level}  # fmt: skip
    row["measured"] = float(g.loc[g["n_train"] == n_pred, "err"].mean())
    if fit_part["n_train"].nunique() < MIN_SIZES:
        row["status"] = f"too short: {fit_part['n_train'].nunique()} sizes at or below half the largest, need 3"
        return row
    n, e = fit_part["n_train"].to_numpy(float), fit_part["err"].to_numpy(float)
    try:
        f = fit_power_law(n, e, n_boot=0)
    except DataError as err:
        row["status"] = f"no fit: {err}"
        return row
    if f.alpha == 0.0 and f.beta == 0.0:
        row["status"] = "flat: the error does not fall with n on the small budgets"
        return row
    lo, hi = _interval(n, e, n_pred, n_boot=n_boot, seed=seed, level=level)
    shape = _shape_error(n, e, n_pred) if shape_check else float("nan")
    if np.isfinite(shape):
        lo, hi = lo * float(np.exp(-shape)), hi * float(np.exp(shape))
    row.update(pred=float(f.predict(np.array([n_pred]))[0]), lo=lo, hi=hi, shape_error=shape, status="ok")
    row["covered"] = bool(row["lo"] <= row["measured"] <= row["hi"])
    return row


def _shape_error(n: np.ndarray, e: np.ndarray, n_pred: float) -> float:
    """The backtest one level down, as a log-scale bias at ``n_pred``; NaN where it cannot be made.

    ``n, e`` are the fitted points (sizes at or below ``n_fit_max = max(n)``). Refit on the
    sizes at or below ``max(n_fit_max / 2, third smallest size)``, predict ``n_fit_max``,
    and scale ``|log(measured / predicted)|`` by the ratio of the two extrapolations' reach
    in log n (module docstring). A flat inner refit counts: it predicts the mean, and a
    curve that only starts falling late is exactly a shape the outer fit cannot be trusted on.
    """
    sizes = np.unique(n)
    if len(sizes) < MIN_SIZES + 1:
        return float("nan")
    n_fit_max = float(sizes[-1])
    cut = max(n_fit_max / 2.0, float(sizes[MIN_SIZES - 1]))
    inner = n <= cut + _TOL
    inner_max = float(n[inner].max())
    try:
        f = fit_power_law(n[inner], e[inner], n_boot=0)
    except DataError:
        return float("nan")
    predicted = float(f.predict(np.array([n_fit_max]))[0])
    measured = float(e[n == n_fit_max].mean())
    if not (predicted > 0.0 and measured > 0.0):
        return float("nan")  # a log residual needs both; an error of 0 is below the test set's resolution
    reach = np.log(n_pred / n_fit_max) / np.log(n_fit_max / inner_max)
    return float(abs(np.log(measured / predicted)) * reach)


def _interval(
    n: np.ndarray, e: np.ndarray, n_pred: float, *, n_boot: int, seed: int, level: float
) -> tuple[float, float]:
    """Percentile interval of the prediction at ``n_pred`` over a bootstrap of budgets and seeds.

    Each draw resamples the distinct budgets with replacement (at least three distinct) and,
    within every drawn budget, its seeds; the curve is refitted and extrapolated. Resampling
    seeds alone (the fit's own bootstrap) ignores how much the curve's shape rests on which
    budgets were run, and measured 0.60 coverage of a nominal 90% (bench/bench_backtest.py).
    """
    rng = np.random.default_rng(seed)
    sizes = np.unique(n)
    groups = [e[n == s] for s in sizes]
    preds: list[float] = []
    for _ in range(8 * max(1, n_boot)):
        if len(preds) >= n_boot:
            break
        pick = rng.integers(len(sizes), size=len(sizes))
        if len(np.unique(pick)) < MIN_SIZES:
            continue
        nn = np.concatenate([np.full(len(groups[i]), sizes[i]) for i in pick])
        ee = np.concatenate([rng.choice(groups[i], size=len(groups[i]), replace=True) for i in pick])
        try:
            preds.append(float(fit_power_law(nn, ee, n_boot=0).predict(np.array([n_pred]))[0]))
        except DataError:
            continue
    if not preds:
        return float("nan"), float("nan")
    q = (1.0 - level) / 2.0
    lo, hi = np.quantile(np.asarray(preds), [q, 1.0 - q])
    return float(lo), float(hi)


def backtest_table(
    points_or_store: Any,
    *,
    n_boot: int = 200,
    seed: int = 0,
    level: float = BACKTEST_LEVEL,
    shape_check: bool = True,
) -> pd.DataFrame:
    """One backtest per (strategy, eval set): predict the largest budget from the budgets up to half of it.

    Parameters
    ----------
    points_or_store : a RunStore (its successful trials' accuracy) or a frame with columns
        ``strategy, eval_set, n_train, seed, err`` (:func:`datafactors.analysis.curves.error_points`).
    n_boot : bootstrap refits of each backtest curve.
    seed : seed of every bootstrap.
    level : the interval's level (default 0.9).
    shape_check : widen the bootstrap interval by the curve's shape error (module docstring);
        False gives the bootstrap interval alone and a NaN ``shape_error``.

    Returns
    -------
    DataFrame with :data:`BACKTEST_COLUMNS`, sorted by eval set and strategy.

    Examples
    --------
    >>> n = np.repeat([100, 200, 400, 800, 1600], 3).astype(float)
    >>> err = 0.5 * n ** -0.5 + 0.02 + np.tile([-0.001, 0.0, 0.001], 5)
    >>> pts = pd.DataFrame({"strategy": "random", "eval_set": "id_test", "n_train": n, "seed": 0, "err": err})
    >>> row = backtest_table(pts, n_boot=50).iloc[0]
    >>> float(row["n_fit_max"]), float(row["n_pred"]), bool(row["covered"]), row["status"]
    (800.0, 1600.0, True, 'ok')
    >>> round(float(row["shape_error"]), 6)  # an exact power law: the refit on n <= 400 predicts n = 800
    0.0
    """
    points = points_or_store if isinstance(points_or_store, pd.DataFrame) else error_points(points_or_store)
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0.0 < float(level) < 1.0:
        raise DataError(f"level == {level!r}, must be a number in (0, 1)")
    if not isinstance(shape_check, (bool, np.bool_)):
        raise DataError(f"shape_check == {shape_check!r}, must be True or False")
    rows = []
    for (strategy, eval_set), g in points.groupby(["strategy", "eval_set"], sort=True):
        row = dict.fromkeys(BACKTEST_COLUMNS)
        row.update(strategy=str(strategy), eval_set=str(eval_set))
        row.update(_one(g, n_boot=n_boot, seed=seed, level=float(level), shape_check=bool(shape_check)))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=BACKTEST_COLUMNS)
    return typed(frame, BACKTEST_COLUMNS, BACKTEST_DTYPES)


def backtest_summary(table: pd.DataFrame | None, eval_set: str | None = None) -> str | None:
    """One sentence for the report and the closing table: how many backtests covered the measured error.

    It names the first miss, how many curves were too short or too flat to check, how many
    intervals had no shape check (their width is seed and budget noise only), and the largest
    size where every strategy measured the same error (the whole pool: there a selection is
    no longer a selection, so its curve is checked against a point outside its own regime).
    """
    if table is None or table.empty:
        return None
    t = table if eval_set is None else table[table["eval_set"] == eval_set]
    ok = t[t["status"] == "ok"]
    if ok.empty:
        reason = str(t["status"].iloc[0]) if len(t) else "no curves"
        return f"Backtest: the curves cannot be checked on this run ({reason})."
    covered = int(ok["covered"].astype(bool).sum())
    level = float(ok["level"].iloc[0])
    n_fit, n_pred = float(ok["n_fit_max"].max()), float(ok["n_pred"].max())
    missed = ok[~ok["covered"].astype(bool)]
    tail = ""
    if len(missed):
        m = missed.iloc[0]
        tail = (f" Missed: {m['strategy']} on {m['eval_set']} predicted {m['pred']:.3f} "
                f"[{m['lo']:.3f}, {m['hi']:.3f}], measured {m['measured']:.3f}.")  # fmt: skip
    skipped = len(t) - len(ok)
    extra = f" ({skipped} curve(s) too short or too flat to check)" if skipped else ""
    for n_at, g in t.groupby("n_pred"):
        if g["strategy"].nunique() > 1 and g["measured"].nunique() == 1 and g["eval_set"].nunique() == 1:
            tail += (f" At n = {n_at:,.0f} all {g['strategy'].nunique()} strategies measured the same error (the "
                     "same rows, the whole pool): a selection's backtest there checks its curve against the "
                     "pool's error, a jump its own budgets cannot show.")  # fmt: skip
    shape = ok["shape_error"] if "shape_error" in ok else pd.Series(np.nan, index=ok.index)
    unshaped = int(shape.isna().sum())
    if unshaped:
        tail += (f" {unshaped} of the {len(ok)} intervals had no shape check (it needs 4 budgets at or below "
                 "half the largest and a non-zero error), so they count seed and budget noise only.")  # fmt: skip
    return (
        f"Backtest: refitted on n <= {n_fit:,.0f}, the {level:.0%} interval at n = {n_pred:,.0f} held the measured "
        f"error for {covered} of {len(ok)} curves{extra}.{tail}"
    )
