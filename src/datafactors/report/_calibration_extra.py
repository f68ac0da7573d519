"""Report sections for calibration before/after temperature scaling and the strategy comparison.

The two table builders here, :func:`calibration_table` (from ``predictions.parquet``) and
:func:`crossings_table` (from the ``fits`` table), are also what the runner stores as the
``calibration`` and ``crossings`` tables, so the report and ``datafactors query`` agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .._errors import DataError
from ._figures import _layout, fig_html
from ._html import esc, fmt_int, fmt_num, missing, note, table
from ._load import RunData
from ._summary import eval_label, order_eval_sets, order_strategies

# Temperature is fitted on this share of the ID test predictions; the rest is evaluated.
HOLDOUT = 0.2
FIT_EVAL_SET = "id_test"
METRIC_LABELS = {
    "accuracy": "Accuracy",
    "nll": "NLL",
    "brier": "Brier",
    "ece": "ECE (15 equal-width bins)",
    "ece_mass": "ECE (15 equal-mass bins)",
    "classwise_ece": "Classwise ECE (15 bins)",
    "mce": "MCE (15 bins)",
    "ks": "KS error (no bins)",
}
CALIBRATION_COLUMNS = [
    "eval_set",
    "metric",
    "binning",
    "n_bins",
    "source",
    "before",
    "after",
    "temperature",
    "n_fit",
    "n_eval",
    "fit_on",
]
CROSSING_COLUMNS = ["eval_set", "a", "b", "n_cross", "err_cross", "better_below", "better_above", "extrapolated"]
_DTYPES = {
    "n_bins": "int64",
    "n_fit": "int64",
    "n_eval": "int64",
    "before": float,
    "after": float,
    "temperature": float,
    "n_cross": float,
    "err_cross": float,
    "extrapolated": bool,
}


def empty_table(columns: list[str]) -> pd.DataFrame:
    """A typed empty table (so DuckDB can create it): text columns are str."""
    return pd.DataFrame({c: pd.Series(dtype=_DTYPES.get(c, str)) for c in columns})


# ---------------------------------------------------------------- tables


def _prob_matrix(sub: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    cols = sorted((c for c in sub.columns if c.startswith("prob_") and c[5:].isdigit()), key=lambda c: int(c[5:]))
    if not cols:
        raise DataError("predictions have no prob_0 ... prob_{C-1} columns")
    labels = pd.to_numeric(sub["label"], errors="coerce").to_numpy(float)
    ok = np.isfinite(labels) & (labels >= 0) & (labels < len(cols))
    return sub[cols].to_numpy(float)[ok], labels[ok].astype(np.int64)


def calibration_table(predictions: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """Every calibration metric before/after temperature scaling, per eval set, plus the bin sweep.

    ``T`` is fitted on a random 20% (``seed``) of the ``id_test`` rows and evaluated on the
    other 80%; every other eval set (e.g. ``ood_test``) is evaluated in full with that same
    ``T`` (a validation-fitted temperature meeting a shifted test set). Without ``id_test``
    rows each eval set is fitted on its own 20%. Rows whose label is not a class index are
    left out.

    Returns
    -------
    pandas.DataFrame with columns ``eval_set, metric, binning, n_bins, source`` ("headline"
    or "sweep"), ``before, after, temperature, n_fit, n_eval, fit_on``.
    """
    from ..metrics import calibration_report

    frames = []
    sets = order_eval_sets(predictions["eval_set"].astype(str))
    t_ref = None
    if FIT_EVAL_SET in sets:
        p, y = _prob_matrix(predictions[predictions["eval_set"].astype(str) == FIT_EVAL_SET])
        ref = calibration_report(p, y, holdout=HOLDOUT, seed=seed)
        t_ref = ref.temperature
        frames.append(ref.to_frame().assign(eval_set=FIT_EVAL_SET, fit_on=FIT_EVAL_SET))
    for es in sets:
        if es == FIT_EVAL_SET:
            continue
        p, y = _prob_matrix(predictions[predictions["eval_set"].astype(str) == es])
        if t_ref is None:
            rep = calibration_report(p, y, holdout=HOLDOUT, seed=seed)
            frames.append(rep.to_frame().assign(eval_set=es, fit_on=es))
        else:
            rep = calibration_report(p, y, temperature=t_ref)
            frames.append(rep.to_frame().assign(eval_set=es, fit_on=FIT_EVAL_SET))
    if not frames:
        return empty_table(CALIBRATION_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    return out[CALIBRATION_COLUMNS]


def _fits_by_eval_set(fits: pd.DataFrame, trials: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    from ..scaling import PowerLawFit

    ok = fits[fits["status"].astype(str) == "ok"]
    n_min_of: dict[str, float] = {}
    if trials is not None and {"strategy", "n_train", "status"} <= set(trials.columns):
        good = trials[trials["status"].astype(str) == "ok"]
        n_min_of = good.groupby("strategy")["n_train"].min().astype(float).to_dict()
    out: dict[str, dict[str, Any]] = {}
    for es, g in ok.groupby(ok["eval_set"].astype(str)):
        curves = {}
        n_full = float(pd.to_numeric(g.get("n_full"), errors="coerce").max()) if "n_full" in g else float("nan")
        for _, r in g.iterrows():
            vals = [float(r[k]) for k in ("alpha", "beta", "gamma")]
            if not all(np.isfinite(vals)):
                continue
            s = str(r["strategy"])
            n_points = pd.to_numeric(r.get("n_points"), errors="coerce")
            curves[s] = PowerLawFit(
                alpha=vals[0],
                beta=vals[1],
                gamma=vals[2],
                ci={},
                n_points=0 if pd.isna(n_points) else int(n_points),
                boot=np.empty((0, 3)),
                n_min=n_min_of.get(s, float("nan")),
                n_max=n_full,
            )
        out[es] = {"fits": curves, "n_full": n_full}
    return out


def _range(curves: dict[str, Any], n_full: float) -> tuple[float, float] | None:
    lows = [f.n_min for f in curves.values() if np.isfinite(f.n_min)]
    if not lows or not np.isfinite(n_full):
        return None
    return float(min(lows)), 4.0 * n_full


def crossings_table(fits: pd.DataFrame, trials: pd.DataFrame | None = None) -> pd.DataFrame:
    """Where the fitted learning curves of two strategies cross, per eval set.

    Uses :func:`datafactors.scaling.compare_curves` on the point fits of the ``fits``
    table over ``[smallest trained n, 4 x full size]`` (the range the learning-curve plot
    shows); ``extrapolated`` marks crossings beyond the full training set.
    """
    from ..scaling import compare_curves

    rows = []
    for es, item in _fits_by_eval_set(fits, trials).items():
        curves = item["fits"]
        rng = _range(curves, item["n_full"])
        if len(curves) < 2 or rng is None:
            continue
        cmp = compare_curves(curves, n_range=rng)
        for _, r in cmp.crossings.iterrows():
            rows.append(
                {
                    "eval_set": es,
                    **{k: r[k] for k in CROSSING_COLUMNS[1:-1]},
                    "extrapolated": bool(r["n_cross"] > item["n_full"]),
                }
            )
    if not rows:
        return empty_table(CROSSING_COLUMNS)
    return pd.DataFrame(rows, columns=CROSSING_COLUMNS)


# ---------------------------------------------------------------- sections


def _sweep_figure(tab: pd.DataFrame) -> go.Figure:
    sweep = tab[(tab["source"] == "sweep") & (tab["metric"] == "ece")]
    fig = go.Figure()
    colors = {"before": "#e45756", "after": "#4c78a8"}
    for es in order_eval_sets(sweep["eval_set"].astype(str)):
        for binning, dash in (("width", "solid"), ("mass", "dot")):
            sub = sweep[(sweep["eval_set"] == es) & (sweep["binning"] == binning)].sort_values("n_bins")
            if sub.empty:
                continue
            for stage in ("before", "after"):
                name = f"{esc(eval_label(es))}, {stage} scaling, equal-{binning}"
                fig.add_trace(
                    go.Scatter(
                        x=sub["n_bins"],
                        y=sub[stage],
                        mode="lines+markers",
                        name=name,
                        line=dict(color=colors[stage], dash=dash, width=2 if es == FIT_EVAL_SET else 1),
                        marker=dict(symbol="circle" if es == FIT_EVAL_SET else "square", size=6),
                        hovertemplate=f"{name}<br>%{{x}} bins: ECE %{{y:.4f}}<extra></extra>",
                    )
                )
    _layout(fig, "ECE against the number of bins, before and after temperature scaling", 440)
    fig.update_xaxes(title="number of bins", type="log", tickvals=sorted(sweep["n_bins"].unique().tolist()))
    fig.update_yaxes(title="ECE", rangemode="tozero")
    fig.update_layout(legend=dict(orientation="h", y=-0.25))
    return fig


def calibration_scaling_html(run: RunData) -> str:
    """Metrics before/after temperature scaling for the full-data model, and the bin sweep plot."""
    if run.predictions is None:
        return missing(f"No temperature scaling: {run.why('predictions')}")
    try:
        tab = calibration_table(run.predictions)
    except DataError as e:
        return missing(f"No temperature scaling: {e}")
    if tab.empty:
        return missing("predictions.parquet holds no rows with a valid label.")
    head = tab[tab["source"] == "headline"]
    sets = order_eval_sets(head["eval_set"].astype(str))
    t = float(head["temperature"].iloc[0])
    fit_on = str(head["fit_on"].iloc[0])
    n_fit = int(head.loc[head["eval_set"] == fit_on, "n_fit"].iloc[0]) if (head["eval_set"] == fit_on).any() else 0
    direction = (
        "over-confident: T > 1 softens it"
        if t > 1.0 + 1e-3
        else "under-confident: T < 1 sharpens it"
        if t < 1.0 - 1e-3
        else "already calibrated: T ≈ 1"
    )
    out = [
        note(
            f"Temperature scaling of the full-data model: T = <b>{fmt_num(t, 3)}</b> ({esc(direction)}), fitted by "
            f"minimising NLL on a random {int(HOLDOUT * 100)}% of the {esc(eval_label(fit_on))} predictions "
            f"({fmt_int(n_fit)} rows). “Before” and “after” are measured on the rows not used for fitting, and on "
            "every other eval set with the same T. Scaling never changes the predicted class, so accuracy is unchanged."
        )
    ]
    headers = ["Metric"]
    for es in sets:
        headers += [f"{eval_label(es)} before", f"{eval_label(es)} after"]
    rows, cls = [], {}
    for r, metric in enumerate(METRIC_LABELS):
        cells = [esc(METRIC_LABELS[metric])]
        for j, es in enumerate(sets):
            m = head[(head["eval_set"] == es) & (head["metric"] == metric)]
            if m.empty:
                cells += ["—", "—"]
                continue
            b, a = float(m["before"].iloc[0]), float(m["after"].iloc[0])
            cells += [fmt_num(b, 4), fmt_num(a, 4)]
            if metric != "accuracy" and a < b - 1e-12:
                cls[(r, 2 + 2 * j)] = "best"
        rows.append(cells)
    out.append(table(headers, rows, cell_classes=cls))
    sweep = tab[(tab["source"] == "sweep") & (tab["metric"] == "ece")]
    if not sweep.empty:
        spread = []
        for es in sets:
            for stage in ("before", "after"):
                v = sweep[(sweep["eval_set"] == es) & (sweep["binning"] == "width")][stage]
                if len(v):
                    spread.append(f"{esc(eval_label(es))} {stage}: {fmt_num(v.min(), 3)}–{fmt_num(v.max(), 3)}")
        out.append(
            note(
                "ECE depends on the bin count (more bins = fewer examples per bin = more noise, which inflates "
                "ECE), and the dependence matters most once the model is well calibrated. Equal-width ECE over "
                f"{len(sweep['n_bins'].unique())} bin counts ranges {'; '.join(spread)}."
            )
        )
        out.append(fig_html(_sweep_figure(tab), "fig-calibration-bin-sweep"))
    return "\n".join(out)


def strategy_comparison_html(run: RunData) -> str:
    """Which strategy's fitted curve is lowest at which training-set size, and where curves cross."""
    if run.fits is None:
        return missing(f"No strategy comparison: {run.why('fits')}")
    from ..scaling import compare_curves

    per_set = _fits_by_eval_set(run.fits, run.trials)
    out = [
        note(
            "Strategies compared by their fitted learning curves err(n) = α·n<sup>β</sup> + γ rather than by single "
            "budgets: which strategy has the lowest fitted error at each training-set size, and the sizes where two "
            "curves cross. Crossings beyond the full training set are extrapolations of the fits. Point fits only; "
            "see the learning-curve bands for their uncertainty."
        )
    ]
    shown = False
    for es in order_eval_sets(list(per_set)):
        curves, n_full = per_set[es]["fits"], per_set[es]["n_full"]
        rng = _range(curves, n_full)
        if len(curves) < 2 or rng is None:
            out.append(missing(f"{eval_label(es)}: needs fitted curves for >= 2 strategies and the trained sizes."))
            continue
        ordered = {s: curves[s] for s in order_strategies(list(curves))}
        cmp = compare_curves(ordered, n_range=rng)
        shown = True
        out.append(f"<h3>{esc(eval_label(es))}</h3>")
        seg_rows = [
            [
                f"{fmt_int(r.n_lo)} – {fmt_int(r.n_hi)}" + (" (extrapolated)" if r.n_lo >= n_full else ""),
                esc(r.best),
                fmt_num(r.err_lo),
                fmt_num(r.err_hi),
                fmt_num(r.margin),
            ]
            for r in cmp.winners.itertuples()
        ]
        out.append(
            table(
                [
                    "Training-set size n",
                    "Lowest fitted error",
                    "Error at start",
                    "Error at end",
                    "Margin over runner-up (mid-segment)",
                ],
                seg_rows,
                text_cols=(0, 1),
            )
        )
        if cmp.crossings.empty:
            out.append(note(f"No two fitted curves cross between n = {fmt_int(rng[0])} and {fmt_int(rng[1])}."))
        else:
            items = []
            for r in cmp.crossings.itertuples():
                where = (
                    "beyond the full training set (extrapolated)" if r.n_cross > n_full else "within the trained range"
                )
                items.append(
                    f"<li><b>{esc(r.a)}</b> and <b>{esc(r.b)}</b> cross at n ≈ {fmt_int(r.n_cross)} "
                    f"(error {fmt_num(r.err_cross)}), {where}: {esc(r.better_below)} is better below, "
                    f"{esc(r.better_above)} above.</li>"
                )
            listing = f"<ul>{''.join(items)}</ul>"
            if len(items) > 4:  # many strategies cross many times; keep the page scannable
                listing = f"<details><summary>{len(items)} crossings of fitted curves</summary>{listing}</details>"
            out.append(listing)
    if not per_set:
        return missing("No learning curve was fitted successfully, so strategies cannot be compared by their fits.")
    if not shown:
        out[0] = ""
    return "\n".join(o for o in out if o)
