"""The two calibration sections: reliability diagrams, and metrics before/after temperature scaling.

Reads the ``calibration_bins`` and ``calibration`` tables (written by
:mod:`datafactors.analysis.calibration`); nothing is re-binned or re-fitted here.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .._figures import _layout, fig_html, reliability_figure
from .._html import esc, fmt_int, fmt_num, missing, note, table
from .._labels import eval_label, order_eval_sets
from .._load import RunData

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


def calibration_html(run: RunData) -> str:
    """Reliability diagrams of the full-data model, one per eval set, from ``calibration_bins``."""
    bins = run.calibration_bins
    if bins is None:
        return missing(f"No reliability diagram: {run.why('calibration_bins')}")
    if bins.empty:
        if run.predictions is None:
            return missing(f"No reliability diagram: {run.why('predictions')}")
        return missing("No reliability diagram: no prediction has a label that is a class index.")
    out = [
        note(
            "Predictions of the model trained on the full training set (seed 0). Bars: accuracy of the examples whose "
            "top-class confidence falls in each of 15 equal-width bins; diamonds: their mean confidence; a calibrated "
            "model's bars meet the diagonal. ECE is the count-weighted mean gap."
        )
    ]
    figs = []
    for es in order_eval_sets(bins["eval_set"].astype(str)):
        sub = bins[bins["eval_set"].astype(str) == es].sort_values("bin_lower")
        figs.append(fig_html(reliability_figure(sub, es), f"fig-reliability-{es}"))
        n_invalid = int(sub["n_invalid"].iloc[0]) if "n_invalid" in sub.columns else 0
        if n_invalid:
            figs.append(missing(f"{eval_label(es)}: {n_invalid} row(s) with an invalid label were left out."))
    out.append(f'<div class="grid2">{"".join(figs)}</div>')
    return "\n".join(out)


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
    tab = run.calibration
    if tab is None:
        return missing(f"No temperature scaling: {run.why('calibration')}")
    if tab.empty:
        if run.predictions is None:
            return missing(f"No temperature scaling: {run.why('predictions')}")
        return missing("The calibration table is empty: predictions.parquet holds no rows with a valid label.")
    head = tab[tab["source"] == "headline"]
    sets = order_eval_sets(head["eval_set"].astype(str))
    t = float(head["temperature"].iloc[0])
    fit_on = str(head["fit_on"].iloc[0])
    n_fit = int(head.loc[head["eval_set"] == fit_on, "n_fit"].iloc[0]) if (head["eval_set"] == fit_on).any() else 0
    n_eval = int(head.loc[head["eval_set"] == fit_on, "n_eval"].iloc[0]) if (head["eval_set"] == fit_on).any() else 0
    holdout = n_fit / (n_fit + n_eval) if n_fit + n_eval else 0.0
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
            f"minimising NLL on a random {round(holdout * 100)}% of the {esc(eval_label(fit_on))} predictions "
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
