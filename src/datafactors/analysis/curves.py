"""Learning-curve fits ``err(n) = alpha n^beta + gamma`` per strategy and eval set, with their bootstrap.

Tables written by :func:`datafactors.analysis.derive`:

``fits``
    One row per (strategy, eval set): the point fit, bootstrap intervals of every parameter,
    predictions at 2x / 4x the full training set, the data needed for the eval set's target,
    plus the fit's own summary (:meth:`datafactors.scaling.PowerLawFit.to_dict`: n_min,
    n_max, n_boot, level, rss, ci_method).
``fit_draws``
    The bootstrap parameter draws behind those intervals (``strategy, eval_set, draw,
    alpha, beta, gamma``), so later stages (curve crossings) carry intervals too.
``curve_points``
    Each fitted curve and its bootstrap band on a grid up to 4x the full training set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._errors import DataError
from ..scaling import PowerLawFit, fit_power_law
from ._tables import empty_table, typed

FIT_COLUMNS = [
    "strategy", "eval_set", "metric", "alpha", "beta", "gamma", "alpha_lo", "alpha_hi", "beta_lo", "beta_hi",
    "gamma_lo", "gamma_hi", "n_points", "n_full", "pred_2x", "pred_2x_lo", "pred_2x_hi", "pred_4x",
    "pred_4x_lo", "pred_4x_hi", "target", "n_needed", "n_needed_lo", "n_needed_hi", "reachable", "status",
    "n_min", "n_max", "n_boot", "level", "rss", "ci_method",
]  # fmt: skip
_TEXT = ("strategy", "eval_set", "metric", "status", "ci_method")
FIT_DTYPES: dict[str, object] = {c: (str if c in _TEXT else float) for c in FIT_COLUMNS} | {"reachable": "boolean"}
CURVE_COLUMNS = ["strategy", "eval_set", "n", "pred", "lo", "hi"]
CURVE_DTYPES: dict[str, object] = {"n": float, "pred": float, "lo": float, "hi": float}
DRAW_COLUMNS = ["strategy", "eval_set", "draw", "alpha", "beta", "gamma"]
DRAW_DTYPES: dict[str, object] = {"draw": "int64", "alpha": float, "beta": float, "gamma": float}
# Curves are drawn (and compared) up to this multiple of the full training set.
EXTRAPOLATE = 4


@dataclass
class CurveFits:
    """What :func:`fit_curves` derives: the three tables, the per-eval-set targets and the fit objects."""

    fits: pd.DataFrame
    curve_points: pd.DataFrame
    draws: pd.DataFrame
    targets: dict[str, float]
    objects: dict[tuple[str, str], PowerLawFit] = field(default_factory=dict)


def error_points(store: Any) -> pd.DataFrame:
    """``strategy, eval_set, n_train, seed, err`` (1 - accuracy) of every successful trial."""
    return (
        store.connect()
        .execute(
            "SELECT t.strategy, m.eval_set, t.n_train, t.seed, 1 - m.value AS err FROM trials t "
            "JOIN metrics m USING (trial_id) WHERE t.status = 'ok' AND m.metric = 'accuracy'"
        )
        .df()
    )


def default_targets(points: pd.DataFrame, target_error: float | None) -> dict[str, float]:
    """Per eval set: ``target_error`` when given, else 10% (relative) below its best full-data mean error."""
    targets: dict[str, float] = {}
    for eval_set, g in points.groupby("eval_set"):
        full = g[g.n_train == g.n_train.max()]
        targets[str(eval_set)] = (
            float(target_error)
            if target_error is not None
            else float(0.9 * full.groupby("strategy")["err"].mean().min())
        )
    return targets


def fit_curves(
    store: Any, *, n_full: float, n_boot: int = 200, target_error: float | None = None, seed: int = 0
) -> CurveFits:
    """Fit ``err(n) = alpha n^beta + gamma`` per strategy and eval set from the stored trials.

    Parameters
    ----------
    store : RunStore
        Its ``trials`` and ``metrics`` tables are read (successful trials, ``accuracy``).
    n_full : float
        Size of the full training set (predictions at 2x / 4x of it; curves drawn to 4x).
    n_boot : int, default 200
        Bootstrap refits per curve.
    target_error : float, optional
        Target of the data-needed estimate for every eval set; by default each eval set's
        target is 10% (relative) below its best full-data mean error.
    seed : int, default 0
        Seed of every bootstrap.

    Returns
    -------
    CurveFits
    """
    df = error_points(store)
    targets = default_targets(df, target_error)
    fit_rows, curve_rows, draw_rows = [], [], []
    objects: dict[tuple[str, str], PowerLawFit] = {}
    grid = np.unique(np.geomspace(df.n_train.min(), EXTRAPOLATE * n_full, 60).round()) if len(df) else None
    for (strategy, eval_set), g in df.groupby(["strategy", "eval_set"], sort=True):
        strategy, eval_set = str(strategy), str(eval_set)
        row: dict[str, Any] = dict.fromkeys(FIT_COLUMNS, None)
        target = targets[eval_set]
        row.update(strategy=strategy, eval_set=eval_set, metric="error", n_points=len(g), n_full=n_full, target=target)
        try:
            f = fit_power_law(g.n_train.to_numpy(float), g.err.to_numpy(float), n_boot=n_boot, seed=seed)
        except DataError as e:
            row["status"] = str(e)
            fit_rows.append(row)
            continue
        objects[(strategy, eval_set)] = f
        summary = f.to_dict()
        row.update({k: summary[k] for k in ("n_min", "n_max", "n_boot", "level", "rss", "ci_method")})
        row.update(alpha=f.alpha, beta=f.beta, gamma=f.gamma, status="ok")
        for p in ("alpha", "beta", "gamma"):
            row[f"{p}_lo"], row[f"{p}_hi"] = (float(v) for v in f.ci[p])
        for mult in (2, 4):
            n = np.array([mult * n_full], dtype=float)
            lo, hi = f.predict_interval(n)
            row[f"pred_{mult}x"], row[f"pred_{mult}x_lo"], row[f"pred_{mult}x_hi"] = (
                float(f.predict(n)[0]),
                float(lo[0]),
                float(hi[0]),
            )
        need = f.data_needed(target)
        row.update(
            n_needed=float(need.n),
            n_needed_lo=float(need.lo),
            n_needed_hi=float(need.hi),
            reachable=bool(need.reachable),
        )
        fit_rows.append(row)
        lo, hi = f.predict_interval(grid)
        curve_rows.append(
            pd.DataFrame(
                {"strategy": strategy, "eval_set": eval_set, "n": grid, "pred": f.predict(grid), "lo": lo, "hi": hi}
            )
        )
        if f.boot.shape[0]:
            draw_rows.append(
                pd.DataFrame(
                    {
                        "strategy": strategy,
                        "eval_set": eval_set,
                        "draw": np.arange(f.boot.shape[0]),
                        "alpha": f.boot[:, 0],
                        "beta": f.boot[:, 1],
                        "gamma": f.boot[:, 2],
                    }
                )
            )
    fits = typed(pd.DataFrame(fit_rows, columns=FIT_COLUMNS), FIT_COLUMNS, FIT_DTYPES)
    curves = (
        typed(pd.concat(curve_rows, ignore_index=True), CURVE_COLUMNS, CURVE_DTYPES)
        if curve_rows
        else empty_table(CURVE_COLUMNS, CURVE_DTYPES)
    )
    draws = (
        typed(pd.concat(draw_rows, ignore_index=True), DRAW_COLUMNS, DRAW_DTYPES)
        if draw_rows
        else empty_table(DRAW_COLUMNS, DRAW_DTYPES)
    )
    return CurveFits(fits, curves, draws, targets, objects)


def fit_objects(
    fits: pd.DataFrame, draws: pd.DataFrame | None = None, trials: pd.DataFrame | None = None
) -> dict[str, dict[str, PowerLawFit]]:
    """Rebuild ``{eval_set: {strategy: PowerLawFit}}`` from a stored ``fits`` table (ok rows only).

    Bootstrap draws come from ``draws`` (the ``fit_draws`` table) when given; the observed
    range from the row's ``n_min``/``n_max``, else from ``trials`` (smallest successful
    ``n_train`` per strategy) and ``n_full``.
    """
    ok = fits[fits["status"].astype(str) == "ok"]
    n_min_of: dict[str, float] = {}
    if trials is not None and {"strategy", "n_train", "status"} <= set(trials.columns):
        good = trials[trials["status"].astype(str) == "ok"]
        n_min_of = good.groupby(good["strategy"].astype(str))["n_train"].min().astype(float).to_dict()
    boots: dict[tuple[str, str], np.ndarray] = {}
    if draws is not None and not draws.empty:
        for (s, es), g in draws.sort_values("draw").groupby(["strategy", "eval_set"]):
            boots[(str(s), str(es))] = g[["alpha", "beta", "gamma"]].to_numpy(float)
    out: dict[str, dict[str, PowerLawFit]] = {}
    for _, r in ok.iterrows():
        vals = [float(pd.to_numeric(r.get(k), errors="coerce")) for k in ("alpha", "beta", "gamma")]
        if not all(np.isfinite(vals)):
            continue
        s, es = str(r["strategy"]), str(r["eval_set"])
        n_points = pd.to_numeric(r.get("n_points"), errors="coerce")
        n_min = pd.to_numeric(r.get("n_min"), errors="coerce")
        n_max = pd.to_numeric(r.get("n_max"), errors="coerce")
        out.setdefault(es, {})[s] = PowerLawFit(
            alpha=vals[0],
            beta=vals[1],
            gamma=vals[2],
            ci={},
            n_points=0 if pd.isna(n_points) else int(n_points),
            boot=boots.get((s, es), np.empty((0, 3))),
            n_min=float(n_min) if pd.notna(n_min) else n_min_of.get(s, float("nan")),
            n_max=float(n_max) if pd.notna(n_max) else float(pd.to_numeric(r.get("n_full"), errors="coerce")),
        )
    return out
