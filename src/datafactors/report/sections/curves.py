"""The "Learning curves" section: measured error per budget (aggregates) and the fitted curves (curve_points)."""

from __future__ import annotations

import pandas as pd

from .._figures import (
    band_description,
    fig_html,
    learning_curve_figure,
    strategy_colors,
)
from .._html import esc, missing, note
from .._labels import eval_label, order_eval_sets, order_strategies
from .._load import RunData


def _n_full(run: RunData) -> float | None:
    if run.fits is not None and "n_full" in run.fits.columns:
        v = pd.to_numeric(run.fits["n_full"], errors="coerce").dropna()
        if not v.empty:
            return float(v.max())
    ds = (run.manifest or {}).get("dataset")
    if isinstance(ds, dict) and ds.get("n_train") is not None:
        return float(ds["n_train"])
    return None


def learning_curves_html(run: RunData, agg: pd.DataFrame | None, problem: str) -> str:
    if agg is None:
        return missing(problem)
    acc = agg[agg["metric"] == "accuracy"]
    if acc.empty:
        return missing("No accuracy metric has been recorded, so there are no learning curves.")
    colors = strategy_colors(order_strategies(agg["strategy"]))
    curves = run.curve_points
    n_full = _n_full(run)
    out = [
        note(
            f"Points: mean error over seeds; shaded band: {esc(band_description(acc))}. "
            "Dashed lines: the fitted power law with its bootstrap band, extended to 4× the full training set "
            "(shaded, right of the dotted line: extrapolation)."
        )
    ]
    if curves is None:
        out.append(missing(f"No fitted curves: {run.why('curve_points')}"))
    figs = []
    for es in order_eval_sets(["id_test", "ood_test", *acc["eval_set"]]):
        fig = learning_curve_figure(agg, curves, es, colors, n_full)
        if fig is None:
            figs.append(missing(f"No {eval_label(es)} accuracy has been recorded."))
        else:
            figs.append(fig_html(fig, f"fig-learning-{es}"))
    out.append(f'<div class="grid2">{"".join(figs)}</div>')
    return "\n".join(out)
