"""Strategies compared by their fitted learning curves: where two curves cross, and who is lowest where.

``crossings``: one row per crossing of two strategies' fitted curves per eval set, over
``[smallest trained n, 4 x full size]`` (the range the learning-curve plot shows), with the
percentile interval of the crossing point over paired bootstrap curves (``n_cross_lo``,
``n_cross_hi``; NaN without bootstrap draws) and ``extrapolated`` for crossings beyond the
full training set. ``curve_segments``: the strategy with the lowest fitted error on each
stretch of that range (:attr:`datafactors.scaling.CurveComparison.winners`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..scaling import CurveComparison, PowerLawFit, compare_curves
from ._tables import empty_table, typed
from .curves import EXTRAPOLATE, fit_objects

BASELINE = "random"

CROSSING_COLUMNS = [
    "eval_set", "a", "b", "n_cross", "err_cross", "better_below", "better_above", "n_cross_lo", "n_cross_hi",
    "boot_fraction", "extrapolated",
]  # fmt: skip
SEGMENT_COLUMNS = ["eval_set", "n_lo", "n_hi", "best", "err_lo", "err_hi", "margin", "n_full", "extrapolated"]
_FLOATS = ("n_cross", "err_cross", "n_cross_lo", "n_cross_hi", "boot_fraction", "n_lo", "n_hi", "err_lo", "err_hi")
DTYPES: dict[str, object] = {c: float for c in (*_FLOATS, "margin", "n_full")} | {"extrapolated": bool}


@dataclass
class Comparison:
    """One eval set's comparison (None when it has < 2 fitted curves or no trained range)."""

    eval_set: str
    n_full: float
    n_fitted: int
    result: CurveComparison | None


def _range(curves: dict[str, PowerLawFit], n_full: float) -> tuple[float, float] | None:
    lows = [f.n_min for f in curves.values() if np.isfinite(f.n_min)]
    if not lows or not np.isfinite(n_full):
        return None
    return float(min(lows)), EXTRAPOLATE * n_full


def compare_strategies(
    fits: pd.DataFrame, trials: pd.DataFrame | None = None, draws: pd.DataFrame | None = None
) -> list[Comparison]:
    """:func:`datafactors.scaling.compare_curves` per eval set on the stored fits (and their draws)."""
    out = []
    for es, curves in fit_objects(fits, draws, trials).items():
        sub = fits[fits["eval_set"].astype(str) == es]
        n_full = float(pd.to_numeric(sub.get("n_full"), errors="coerce").max()) if "n_full" in sub else float("nan")
        rng = _range(curves, n_full)
        # The baseline first, then alphabetically: the order the report lists strategies in.
        ordered = {k: curves[k] for k in sorted(curves, key=lambda k: (k != BASELINE, k))}
        cmp = compare_curves(ordered, n_range=rng) if len(curves) >= 2 and rng else None
        out.append(Comparison(es, n_full, len(curves), cmp))
    return out


def crossings_table(
    fits: pd.DataFrame, trials: pd.DataFrame | None = None, draws: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The ``crossings`` table (see the module docstring); typed and empty when nothing can be compared."""
    return crossings_frame(compare_strategies(fits, trials, draws))


def segments_table(
    fits: pd.DataFrame, trials: pd.DataFrame | None = None, draws: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The ``curve_segments`` table: lowest fitted curve per stretch of n, per eval set."""
    return segments_frame(compare_strategies(fits, trials, draws))


def crossings_frame(comparisons: list[Comparison]) -> pd.DataFrame:
    rows = []
    for c in comparisons:
        if c.result is None:
            continue
        for _, r in c.result.crossings.iterrows():
            rows.append(
                {"eval_set": c.eval_set, **{k: r[k] for k in CROSSING_COLUMNS[1:-1]},
                 "extrapolated": bool(r["n_cross"] > c.n_full)}
            )  # fmt: skip
    return typed(pd.DataFrame(rows), CROSSING_COLUMNS, DTYPES) if rows else empty_table(CROSSING_COLUMNS, DTYPES)


def segments_frame(comparisons: list[Comparison]) -> pd.DataFrame:
    rows = []
    for c in comparisons:
        if c.result is None:
            # Keep the eval set visible (one row without a winner) so the report can say why.
            rows.append({"eval_set": c.eval_set, "n_full": c.n_full, "extrapolated": False})
            continue
        for _, r in c.result.winners.iterrows():
            rows.append(
                {"eval_set": c.eval_set, **r.to_dict(), "n_full": c.n_full, "extrapolated": r["n_lo"] >= c.n_full}
            )
    return typed(pd.DataFrame(rows), SEGMENT_COLUMNS, DTYPES) if rows else empty_table(SEGMENT_COLUMNS, DTYPES)
