"""Plotly figures for the report (they draw what the stored tables hold; no numbers are derived here).

Figures carry no JavaScript of their own: :func:`fig_html` embeds one with
``include_plotlyjs=False`` and the page inlines plotly.js once. Every string taken
from the data is HTML-escaped before it goes into a trace name, title or hover text,
because plotly renders those as (a subset of) HTML.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from ._html import esc, fmt_budget, fmt_int, fmt_num
from ._labels import BASELINE, eval_label, order_strategies

TEMPLATE = "plotly_white"
BASELINE_COLOR = "#555555"
FONT = dict(family="-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Arial, sans-serif", size=13)
SCATTERGL_ABOVE = 5000
CARTOGRAPHY_COLUMNS = ("variability", "confidence", "correctness")


def fig_html(fig: go.Figure, div_id: str) -> str:
    """The figure as a <div> plus its Plotly.newPlot call; no plotly.js, no external URL."""
    height = fig.layout.height or 450
    body = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        div_id=div_id,
        default_height=f"{height}px",
        default_width="100%",
        config={"displaylogo": False, "responsive": True},
    )
    return f'<div class="figure">{body}</div>'


def strategy_colors(strategies: list[str]) -> dict[str, str]:
    """A fixed color per strategy; the random baseline is always dark gray."""
    palette = qualitative.Plotly + qualitative.D3
    others = [s for s in order_strategies(strategies) if s != BASELINE]
    colors = {s: palette[i % len(palette)] for i, s in enumerate(others)}
    if BASELINE in strategies:
        colors[BASELINE] = BASELINE_COLOR
    return colors


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _layout(fig: go.Figure, title: str, height: int) -> None:
    fig.update_layout(
        title=dict(text=title, x=0.01, xanchor="left"),
        template=TEMPLATE,
        height=height,
        font=FONT,
        margin=dict(l=60, r=20, t=60, b=55),
    )


def _band(fig: go.Figure, x, lo, hi, color: str, group: str) -> None:
    fig.add_trace(
        go.Scatter(x=x, y=hi, mode="lines", line=dict(width=0), legendgroup=group, showlegend=False, hoverinfo="skip")
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=lo,
            mode="lines",
            line=dict(width=0),
            fill="tonexty",
            fillcolor=color,
            legendgroup=group,
            showlegend=False,
            hoverinfo="skip",
        )
    )


def band_description(acc: pd.DataFrame) -> str:
    """Say which interval the shaded band around measured points shows."""
    n = acc["n"]
    if (n >= 2).all():
        k = f"{int(n.min())}" if n.min() == n.max() else f"{int(n.min())}–{int(n.max())}"
        return f"mean ± 1.96·SEM over seeds ({k} seeds per point)"
    if (n <= 1).all():
        return "min–max over seeds; every point has a single seed, so the band collapses onto the line"
    return "mean ± 1.96·SEM over seeds where a point has ≥ 2 seeds, min–max (the value itself) where it has one"


def learning_curve_figure(
    agg: pd.DataFrame,
    curves: pd.DataFrame | None,
    eval_set: str,
    colors: dict[str, str],
    n_full: float | None,
) -> go.Figure | None:
    """Error (1 - accuracy) against n_train on a log axis, with fitted curves dashed."""
    acc = agg[(agg["metric"] == "accuracy") & (agg["eval_set"] == eval_set)]
    if acc.empty:
        return None
    fig = go.Figure()
    y_top = 0.0
    for s in order_strategies(acc["strategy"]):
        color = colors.get(s, BASELINE_COLOR)
        d = acc[acc["strategy"] == s].sort_values("n_train")
        x = d["n_train"].to_numpy(float)
        err = 1.0 - d["mean"].to_numpy(float)
        half = 1.96 * d["sem"].fillna(0.0).to_numpy(float)
        several = d["n"].to_numpy() >= 2
        lo = np.where(several, err - half, 1.0 - d["max"].to_numpy(float))
        hi = np.where(several, err + half, 1.0 - d["min"].to_numpy(float))
        y_top = max(y_top, float(np.nanmax(hi)))
        _band(fig, x, lo, hi, _rgba(color, 0.18), s)
        hover = [
            f"<b>{esc(s)}</b><br>budget {fmt_budget(b)}, n = {fmt_int(n)}<br>error {e:.3f} [{a:.3f}, {c:.3f}]<br>{k} seed(s)"
            for b, n, e, a, c, k in zip(d["budget"], x, err, lo, hi, d["n"], strict=True)
        ]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=err,
                mode="lines+markers",
                name=esc(s),
                legendgroup=s,
                line=dict(color=color, width=2),
                marker=dict(size=7, color=color),
                text=hover,
                hovertemplate="%{text}<extra></extra>",
            )
        )
        if curves is None:
            continue
        c = curves[(curves["strategy"].astype(str) == s) & (curves["eval_set"].astype(str) == eval_set)]
        c = c.sort_values("n")
        if c.empty:
            continue
        cx = c["n"].to_numpy(float)
        if {"lo", "hi"} <= set(c.columns) and c[["lo", "hi"]].notna().any().all():
            _band(fig, cx, c["lo"].to_numpy(float), c["hi"].to_numpy(float), _rgba(color, 0.08), s)
        fig.add_trace(
            go.Scatter(
                x=cx,
                y=c["pred"].to_numpy(float),
                mode="lines",
                name=f"{esc(s)} (fit)",
                legendgroup=s,
                showlegend=False,
                line=dict(color=color, width=1.5, dash="dash"),
                hovertemplate=f"{esc(s)} fit<br>n = %{{x:,.0f}}<br>error %{{y:.3f}}<extra></extra>",
            )
        )
        y_top = max(y_top, float(np.nanmax(c["pred"].to_numpy(float))))
    if curves is not None:
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                name="fitted curve (dashed)",
                line=dict(color="#888888", dash="dash"),
                hoverinfo="skip",
            )
        )
    if n_full and math.isfinite(n_full) and n_full > 0:
        # A line trace (not a shape) so the legend names it; its y span follows the data, not zero.
        y_lo = min(
            (float(np.nanmin(t.y)) for t in fig.data if t.y is not None and len(t.y) and t.y[0] is not None),
            default=0.0,
        )
        fig.add_trace(
            go.Scatter(
                x=[n_full, n_full],
                y=[y_lo, y_top],
                mode="lines",
                name="full training set",
                line=dict(color="#999999", width=1, dash="dot"),
                hovertemplate=f"full training set: n = {fmt_int(n_full)}<extra></extra>",
            )
        )
        x_max = max(
            [n_full] + [float(np.nanmax(t.x)) for t in fig.data if t.x is not None and len(t.x) and t.x[0] is not None]
        )
        if x_max > n_full * 1.01:
            fig.add_vrect(
                x0=n_full,
                x1=x_max,
                fillcolor="#8c959f",
                opacity=0.08,
                line_width=0,
                layer="below",
            )
            # Annotations on a log axis take log10(x); add_vrect's own label would land off-screen.
            fig.add_annotation(
                x=math.log10(n_full),
                xref="x",
                y=1.0,
                yref="paper",
                text=" extrapolation →",
                showarrow=False,
                xanchor="left",
                yanchor="top",
                font=dict(size=11, color="#57606a"),
            )
    _layout(fig, f"{esc(eval_label(eval_set))}: error vs training-set size", 500)
    fig.update_xaxes(type="log", title="training examples (n_train, log scale)")
    fig.update_yaxes(title="error (1 − accuracy)")
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0), margin=dict(b=40))
    return fig


# ---------------------------------------------------------------- scores


def score_columns(scores: pd.DataFrame) -> list[str]:
    """Every numeric (or boolean) column except id and label."""
    return [
        c
        for c in scores.columns
        if c not in ("id", "label")
        and (pd.api.types.is_numeric_dtype(scores[c]) or pd.api.types.is_bool_dtype(scores[c]))
    ]


def score_stats(scores: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    rows = []
    for c in cols:
        v = scores[c].astype(float).to_numpy()
        finite = v[np.isfinite(v)]
        rows.append(
            dict(
                score=c,
                n_finite=finite.size,
                n_posinf=int(np.isposinf(v).sum()),
                n_neginf=int(np.isneginf(v).sum()),
                n_nan=int(np.isnan(v).sum()),
                min=finite.min() if finite.size else np.nan,
                median=float(np.median(finite)) if finite.size else np.nan,
                max=finite.max() if finite.size else np.nan,
            )
        )
    return pd.DataFrame(rows)


def _inf_phrase(col: str, n: int) -> str:
    return f"{n} never learned" if col == "forgetting" else f"{n} = +∞"


def score_histograms(scores: pd.DataFrame, cols: list[str]) -> go.Figure:
    """One small histogram per score column; +inf values are counted in the subplot title."""
    ncols = min(3, len(cols))
    nrows = math.ceil(len(cols) / ncols)
    titles = []
    for c in cols:
        n_inf = int(np.isposinf(scores[c].astype(float).to_numpy()).sum())
        titles.append(esc(c) + (f" ({_inf_phrase(c, n_inf)})" if n_inf else ""))
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=titles, horizontal_spacing=0.08, vertical_spacing=0.16)
    for i, c in enumerate(cols):
        v = scores[c].astype(float).to_numpy()
        finite = v[np.isfinite(v)]
        # Binned here, not in the browser: the page carries 30 counts, not every value (a 100k-row
        # run's histograms would otherwise embed megabytes of raw numbers).
        counts, edges = np.histogram(finite, bins=30) if len(finite) else (np.zeros(0, int), np.zeros(1))
        fig.add_trace(
            go.Bar(
                x=(edges[:-1] + edges[1:]) / 2,
                y=counts,
                width=np.diff(edges),
                customdata=np.stack([edges[:-1], edges[1:]], axis=1) if len(counts) else None,
                name=esc(c),
                showlegend=False,
                marker=dict(color=qualitative.Plotly[i % 10], line=dict(width=0)),
                hovertemplate=f"{esc(c)}: %{{customdata[0]:.4g}} to %{{customdata[1]:.4g}}<br>count %{{y}}"
                "<extra></extra>",
            ),
            row=i // ncols + 1,
            col=i % ncols + 1,
        )
    _layout(fig, "Per-example score distributions (finite values)", 80 + 250 * nrows)
    fig.update_layout(bargap=0)
    fig.update_annotations(font_size=12)
    return fig


def metrics_small_multiples(sub: pd.DataFrame, metrics: list[str], eval_set: str) -> go.Figure:
    """One subplot per metric: mean over seeds (± std as error bars) against the budget, a line per strategy."""
    ncols = min(3, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=[esc(m) for m in metrics],
                        horizontal_spacing=0.08, vertical_spacing=0.18)  # fmt: skip
    strategies = order_strategies(sub["strategy"].unique())
    colors = strategy_colors(strategies)
    for i, m in enumerate(metrics):
        for s in strategies:
            d = sub[(sub["metric"] == m) & (sub["strategy"] == s)].sort_values("budget")
            if d.empty:
                continue
            std = d["std"].astype(float).fillna(0.0).to_numpy()
            fig.add_trace(
                go.Scatter(
                    x=d["budget"].astype(float), y=d["mean"].astype(float), mode="lines+markers", name=esc(s),
                    legendgroup=esc(s), showlegend=i == 0, line=dict(color=colors[s]),
                    error_y=dict(type="data", array=std, visible=bool((std > 0).any())),
                    hovertemplate=f"{esc(s)}<br>budget %{{x}}<br>{esc(m)} %{{y:.4g}}<extra></extra>",
                ),
                row=i // ncols + 1, col=i % ncols + 1,
            )  # fmt: skip
    _layout(fig, f"{esc(eval_label(eval_set))}: metrics by budget (mean ± std over seeds)", 110 + 240 * nrows)
    fig.update_annotations(font_size=12)
    return fig


def _hover_value(v: object) -> str:
    if isinstance(v, float | np.floating) and np.isposinf(v):
        return "+∞"
    return fmt_num(v, 4) if isinstance(v, float | np.floating) else esc(v)


def cartography_figure(scores: pd.DataFrame, cols: list[str]) -> tuple[go.Figure, int]:
    """Variability vs confidence colored by correctness; hover lists id, label and every score.

    Returns the figure and the number of rows left out for a missing coordinate.
    """
    xy = scores[["variability", "confidence"]].astype(float)
    keep = np.isfinite(xy.to_numpy()).all(axis=1)
    d = scores[keep]
    # Preformatted strings: +inf and ids of any type show as written, and each is escaped.
    fields = ["id"] + (["label"] if "label" in d.columns else []) + cols
    custom = np.array([[_hover_value(v) for v in row] for row in d[fields].itertuples(index=False)], dtype=object)
    if custom.size == 0:
        custom = np.empty((0, len(fields)), dtype=object)
    hover = "<br>".join(f"{esc(f)}: %{{customdata[{i}]}}" for i, f in enumerate(fields)) + "<extra></extra>"
    trace_cls = go.Scattergl if len(d) > SCATTERGL_ABOVE else go.Scatter
    fig = go.Figure(
        trace_cls(
            x=d["variability"].astype(float).to_numpy(),
            y=d["confidence"].astype(float).to_numpy(),
            mode="markers",
            marker=dict(
                size=6,
                opacity=0.75,
                color=d["correctness"].astype(float).to_numpy(),
                colorscale="Viridis",
                cmin=0.0,
                cmax=1.0,
                colorbar=dict(title=dict(text="correctness")),
            ),
            customdata=custom,
            hovertemplate=hover,
            name="examples",
        )
    )
    _layout(fig, "Data map: variability vs confidence (color = correctness)", 560)
    fig.update_xaxes(title="variability (std of true-class probability across epochs)")
    fig.update_yaxes(title="confidence (mean true-class probability)")
    return fig, int((~keep).sum())


# ---------------------------------------------------------------- calibration


def reliability_figure(bins: pd.DataFrame, eval_set: str) -> go.Figure:
    """Bars of per-bin accuracy and diamonds of mean confidence, from one eval set's ``calibration_bins`` rows.

    ``bins`` holds the non-empty bins (columns ``bin_lower, bin_upper, confidence, accuracy,
    count``) and, repeated on every row, ``n_bins``, ``n`` and ``ece``.
    """
    lower, upper = bins["bin_lower"].to_numpy(float), bins["bin_upper"].to_numpy(float)
    centers = (lower + upper) / 2
    width = 1.0 / int(bins["n_bins"].iloc[0])
    accuracy, confidence = bins["accuracy"].to_numpy(float), bins["confidence"].to_numpy(float)
    counts = bins["count"].to_numpy(int)
    hover = [
        f"confidence ({lo:.3f}, {hi:.3f}]<br>accuracy {a:.3f}<br>mean confidence {c:.3f}<br>{k} examples"
        for lo, hi, a, c, k in zip(lower, upper, accuracy, confidence, counts, strict=True)
    ]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=centers,
            y=accuracy,
            width=width * 0.95,
            name="accuracy in bin",
            marker=dict(color="#4c78a8"),
            text=hover,
            hovertemplate="%{text}<extra></extra>",
            textposition="none",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=centers,
            y=confidence,
            mode="markers",
            name="mean confidence in bin",
            marker=dict(color="#e45756", size=7, symbol="diamond"),
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name="perfect calibration",
            line=dict(color="#333333", dash="dash", width=1),
            hoverinfo="skip",
        )
    )
    n_bins, n, ece = int(bins["n_bins"].iloc[0]), int(bins["n"].iloc[0]), float(bins["ece"].iloc[0])
    title = f"{esc(eval_label(eval_set))}: ECE = {ece:.3f} ({n_bins} equal-width bins, n = {n:,})"
    _layout(fig, title, 420)
    fig.update_xaxes(title="confidence (top-class probability)", range=[0, 1])
    fig.update_yaxes(title="accuracy", range=[0, 1.02])
    fig.update_layout(legend=dict(orientation="h", y=-0.22), bargap=0)
    return fig
