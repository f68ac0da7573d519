"""Learning curves that check themselves: refit on the small budgets, predict the largest, compare.

"How much more data do I need" is answered by extrapolating a fitted curve; the ``backtest``
table says how far to trust that on this very run. For each (strategy, eval set) the curve
``err(n) = alpha n^beta + gamma`` is refitted on the trials whose training size is at most
half of the largest (``n_fit_max``), the error at the largest size (``n_pred``) is
predicted with a 90% interval (``level``), and compared with the mean error measured there.
``covered`` is whether the interval holds the measured value.

The interval spans four kinds of uncertainty, each a separate switch.

*Noise* -- a bootstrap that resamples the budgets, and the seeds within each budget, and
refits: how much the extrapolation rests on which seeds and budgets were run, *given* that
the fitted law is the right shape beyond ``n_fit_max``.

*Floor* (``floor_free=True``) -- the floor ``gamma`` is what a few small budgets pin down
least: a curve that is still steep at ``n_fit_max`` fits a floor and a flatter tail about
as well as no floor and a steeper one, and the two extrapolate apart. The same bootstrap is
run on the fit without a floor (``gamma = 0``, :func:`~datafactors.scaling.fit_power_law`
with ``floor=False``; its point prediction is ``pred_no_floor``) and the interval is the
union of the two percentile intervals: which law holds past the data is not known, so
neither is averaged away.

*Shape* (``shape_check=True``) -- the curve changing shape past the fitted budgets. Under
the run engine's fixed-epochs protocol small subsets also get fewer gradient steps, so the
measured curve falls faster than a power law fitted on the small budgets says (MNIST-1D
random: 0.573 [0.540, 0.614] predicted from the bootstrap alone, 0.494 measured). The shape
check is the same backtest one level down, on data the fit has already seen: refit on the
sizes at or below half of ``n_fit_max`` (and at least the three smallest, the fewest a curve
takes; their largest is ``inner_max``), predict the error at ``n_fit_max`` and take the log
residual ``r = |log(measured(n_fit_max) / predicted)|``. To first order a wrong shape is a
wrong exponent, which moves ``log err`` in proportion to ``log n``, so the residual is
scaled by how much farther the real backtest reaches::

    shape_error = r * log(n_pred / n_fit_max) / log(n_fit_max / inner_max)

(1 when the budgets are geometric in the backtest's own ratio). It is read as a bias of
unknown sign on the log scale: the interval so far is widened to ``[lo * exp(-shape_error),
hi * exp(shape_error)]``; ``pred`` stays the point prediction. A power law gives ``r`` near
0 and the interval back. ``r`` carries the seed noise of the mean at ``n_fit_max`` as well,
which the bootstrap already counts, so on a true power law the widening is a little
conservative; and it is one residual, not a distribution, so a curve whose shape changes
only past ``n_fit_max`` still escapes (the test "a curve that bends after the fitted
budgets").

*Pool* (``anchor``) -- a score-based selection changes population as its budget grows, and
at 100% it *is* the pool: every strategy then trains on the same rows (EL2N-easiest on
digits: 0.114 predicted from its own curve, 0.018 measured, the pool's error). Where a
strategy's largest size is the whole pool (``n_pool``), its interval is joined with the
interval of the strategy that samples the pool's own population at every budget (uniform
random subsets, ``anchor``) at the same point: the selection's own curve holds while its
bias matters, the anchor's once it no longer does, and the budgets below half cannot tell
where between them the pool point lands. The row's ``anchor`` names the strategy joined
(empty when none). Augmented strategies add rows at 100% too and are not anchored.

Measured coverage of the 90% intervals (the benches; ``--from`` re-evaluates kept points,
``--no-shape-check``, ``--no-floor-free`` and ``--no-anchor`` switch each part off). The
floor and pool parts were designed after reading the misses of the run engine's curves of
``bench/bench_backtest_engine.py --blocks 5`` (109 backtests: 0.62 with noise and shape,
0.89 with all four), so they were then measured on curves not seen while designing
(``--blocks 5 --first-block 5``: other splits and generator seeds, 112 backtests): noise
alone 0.38, with shape 0.66, with shape and floor 0.72, with shape and pool 0.88, all four
0.88 (per strategy: random 0.86, k-center 1.00, forgetting-hardest 0.91, EL2N-hardest 0.83,
EL2N-easiest 0.83; ID test 0.95, OOD test 0.76); median width 18% -> 50% of the prediction.
On logistic-regression curves of random subsets (``bench/bench_backtest.py --blocks 4``,
48 backtests, no pool point) 0.81 -> 0.88 with shape -> 0.92 with the floor, width 62% ->
125%. OOD errors near chance, which barely fall with n, are the ones still under-covered.

A backtest needs at least three distinct sizes at or below ``n_fit_max``; with fewer, or
when the refit is flat (the error does not fall with n), the row says so in ``status``
(``"too short"`` / ``"flat"``) and carries no prediction -- a curve that cannot be checked
is not counted as covered. The shape check needs a fourth size (``n_fit_max`` above the
three smallest) and a positive error at ``n_fit_max`` and in its prediction; without them
``shape_error`` is NaN, the interval is the noise and floor interval alone, and
:func:`backtest_summary` says how many curves went unchecked.

Columns: strategy, eval_set, n_fit_max, n_pred, n_points, pred, pred_no_floor, lo, hi,
shape_error, anchor, measured, covered, level, status.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._errors import DataError
from ..scaling import fit_power_law
from ._run_info import pool_size, run_config
from ._tables import typed
from .curves import error_points

__all__ = ["BACKTEST_COLUMNS", "BACKTEST_LEVEL", "backtest_summary", "backtest_table"]

BACKTEST_COLUMNS = [
    "strategy", "eval_set", "n_fit_max", "n_pred", "n_points", "pred", "pred_no_floor", "lo", "hi", "shape_error",
    "anchor", "measured", "covered", "level", "status",
]  # fmt: skip
BACKTEST_DTYPES: dict[str, object] = {
    "strategy": str, "eval_set": str, "n_fit_max": float, "n_pred": float, "n_points": "int64", "pred": float,
    "pred_no_floor": float, "lo": float, "hi": float, "shape_error": float, "anchor": str, "measured": float,
    "covered": "boolean", "level": float, "status": str,
}  # fmt: skip
# The interval of the prediction (the issue asks for 90%: wide enough to be honest, narrow enough to use).
BACKTEST_LEVEL = 0.9
MIN_SIZES = 3
# Sizes within this of a cut-off count as at or below it (budgets are stored as floats).
_TOL = 1e-9


def _one(
    g: pd.DataFrame, *, n_boot: int, seed: int, level: float, shape_check: bool, floor_free: bool
) -> dict[str, Any]:
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
    at = np.array([n_pred])
    lo, hi = _interval(n, e, n_pred, n_boot=n_boot, seed=seed, level=level, floor=True)
    pred_no_floor = float("nan")
    if floor_free:
        pred_no_floor = float(fit_power_law(n, e, n_boot=0, floor=False).predict(at)[0])
        lo0, hi0 = _interval(n, e, n_pred, n_boot=n_boot, seed=seed, level=level, floor=False)
        if np.isfinite(lo0) and np.isfinite(hi0):
            lo, hi = min(lo, lo0), max(hi, hi0)
    shape = _shape_error(n, e, n_pred) if shape_check else float("nan")
    if np.isfinite(shape):
        lo, hi = lo * float(np.exp(-shape)), hi * float(np.exp(shape))
    row.update(pred=float(f.predict(at)[0]), pred_no_floor=pred_no_floor, lo=lo, hi=hi, shape_error=shape,
               status="ok")  # fmt: skip
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
    n: np.ndarray, e: np.ndarray, n_pred: float, *, n_boot: int, seed: int, level: float, floor: bool
) -> tuple[float, float]:
    """Percentile interval of the prediction at ``n_pred`` over a bootstrap of budgets and seeds.

    Each draw resamples the distinct budgets with replacement (at least three distinct) and,
    within every drawn budget, its seeds; the curve is refitted and extrapolated. Resampling
    seeds alone (the fit's own bootstrap) ignores how much the curve's shape rests on which
    budgets were run, and measured 0.60 coverage of a nominal 90% (bench/bench_backtest.py).
    ``floor`` is :func:`~datafactors.scaling.fit_power_law`'s (False: gamma fixed at 0).
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
            preds.append(float(fit_power_law(nn, ee, n_boot=0, floor=floor).predict(np.array([n_pred]))[0]))
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
    floor_free: bool = True,
    anchor: str | None = "auto",
    n_pool: float | None = None,
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
    floor_free : the interval also spans the curve fitted without a floor (gamma = 0;
        module docstring); False gives the fit with a floor alone and a NaN ``pred_no_floor``.
    anchor : the strategy that samples the pool's own population (uniform random subsets).
        Where another strategy's largest size is the whole pool (``n_pool``) its interval
        also spans the anchor's there (module docstring; column ``anchor``). ``"auto"``: for
        a run, its config's plain ``random`` strategy (no score, balancing or augmentation);
        for a frame, the strategy named ``random`` if there is one. None: no anchoring.
    n_pool : the size of the whole pool; default for a run: its training set's size (the
        manifest's), for a frame: none (no anchoring).

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
    >>> bool(row["pred_no_floor"] < row["pred"])  # without the floor the same points extrapolate lower
    True
    """
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0.0 < float(level) < 1.0:
        raise DataError(f"level == {level!r}, must be a number in (0, 1)")
    for name, flag in (("shape_check", shape_check), ("floor_free", floor_free)):
        if not isinstance(flag, (bool, np.bool_)):
            raise DataError(f"{name} == {flag!r}, must be True or False")
    if anchor is not None and not isinstance(anchor, str):
        raise DataError(f"anchor == {anchor!r}, must be a strategy name, 'auto' or None")
    if n_pool is not None and (isinstance(n_pool, bool) or not isinstance(n_pool, (int, float)) or not n_pool > 0):
        raise DataError(f"n_pool == {n_pool!r}, must be a number > 0 or None")
    if isinstance(points_or_store, pd.DataFrame):
        points, unanchored = points_or_store, set()
        if anchor == "auto":
            anchor = "random" if (points["strategy"] == "random").any() else None
    else:
        points = error_points(points_or_store)
        run_anchor, run_pool, unanchored = _run_pool(points_or_store, points)
        anchor = run_anchor if anchor == "auto" else anchor
        n_pool = run_pool if n_pool is None else n_pool
    if anchor is not None and not (points["strategy"] == anchor).any():
        raise DataError(f"anchor == {anchor!r} is not a strategy of these points: {sorted(set(points['strategy']))}")
    rows = []
    for (strategy, eval_set), g in points.groupby(["strategy", "eval_set"], sort=True):
        row = dict.fromkeys(BACKTEST_COLUMNS)
        row.update(strategy=str(strategy), eval_set=str(eval_set), anchor="")
        row.update(_one(g, n_boot=n_boot, seed=seed, level=float(level), shape_check=bool(shape_check),
                        floor_free=bool(floor_free)))  # fmt: skip
        rows.append(row)
    if anchor is not None and n_pool is not None:
        _join_anchor(rows, anchor, float(n_pool), unanchored)
    for row in rows:
        if row.get("status") == "ok":
            row["covered"] = bool(row["lo"] <= row["measured"] <= row["hi"])
    frame = pd.DataFrame(rows, columns=BACKTEST_COLUMNS)
    return typed(frame, BACKTEST_COLUMNS, BACKTEST_DTYPES)


def _join_anchor(rows: list[dict[str, Any]], anchor: str, n_pool: float, unanchored: set[str]) -> None:
    """Widen every whole-pool selection's interval to span the anchor's at the same point (in place)."""
    ref = {r["eval_set"]: r for r in rows if r["strategy"] == anchor and r.get("status") == "ok"}
    for r in rows:
        a = ref.get(r["eval_set"])
        if r["strategy"] == anchor or r["strategy"] in unanchored or r.get("status") != "ok" or a is None:
            continue
        if r["n_pred"] < n_pool - 0.5 or abs(a["n_pred"] - r["n_pred"]) > 0.5:
            continue  # not the whole pool (sizes are row counts), or the anchor was not measured there
        r["lo"], r["hi"], r["anchor"] = min(r["lo"], a["lo"]), max(r["hi"], a["hi"]), anchor


def _run_pool(store: Any, points: pd.DataFrame) -> tuple[str | None, float | None, set[str]]:
    """A run's anchor (its plain random strategy), pool size, and the strategies that never train on the pool alone.

    Augmented strategies add rows to the selection, so at 100% they do not train on the
    pool's rows alone and are not anchored. The pool size is the manifest's training-set
    size, else the largest successful trial's.
    """
    strategies = [s for s in run_config(store).get("strategies") or [] if isinstance(s, dict)]
    plain = [s.get("name") for s in strategies
             if s.get("selector") == "random" and not s.get("score") and not s.get("augment")
             and not s.get("params") and not s.get("class_balanced") and not s.get("group_balanced")]  # fmt: skip
    present = set(points["strategy"].astype(str))
    anchor = next((str(a) for a in plain if str(a) in present), None)
    unanchored = {str(s.get("name")) for s in strategies if s.get("augment")}
    pool = pool_size(store, float(points["n_train"].max()) if len(points) else float("nan"))
    return anchor, (pool if np.isfinite(pool) else None), unanchored


def backtest_summary(table: pd.DataFrame | None, eval_set: str | None = None) -> str | None:
    """One sentence for the report and the closing table: how many backtests covered the measured error.

    It names the first miss, how many curves were too short or too flat to check, how many
    intervals had no shape check (their width is seed, budget and floor uncertainty only), and
    the largest size where every strategy measured the same error (the whole pool: there a
    selection is no longer a selection) with the curve that anchors them there, if any.
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
                     "same rows, the whole pool), a jump a selection's own budgets cannot show")  # fmt: skip
            anchors = sorted({a for a in g["anchor"].dropna().astype(str) if a}) if "anchor" in g else []
            tail += (f": the selections' intervals there also span the {anchors[0]} curve's." if anchors else
                     ", and no plain random strategy anchors them: their intervals there are their own curves' "
                     "alone.")  # fmt: skip
    shape = ok["shape_error"] if "shape_error" in ok else pd.Series(np.nan, index=ok.index)
    unshaped = int(shape.isna().sum())
    if unshaped:
        tail += (f" {unshaped} of the {len(ok)} intervals had no shape check (it needs 4 budgets at or below "
                 "half the largest and a non-zero error), so they count seed, budget and floor uncertainty only.")  # fmt: skip
    return (
        f"Backtest: refitted on n <= {n_fit:,.0f}, the {level:.0%} interval at n = {n_pred:,.0f} held the measured "
        f"error for {covered} of {len(ok)} curves{extra}.{tail}"
    )
