"""The "Score correlations" section: how much the per-example scores agree with each other.

Spearman (rank) correlation is used because the scores live on unrelated scales and
some hold +inf (forgetting's never-learned examples), which ranks as the largest
value rather than breaking the computation. Each pair uses the rows where both scores
are present.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .._figures import _layout, fig_html, score_columns
from .._html import esc, fmt_int, fmt_num, missing, note, table
from .._load import RunData

MIN_PAIRS = 3
TOP_PAIRS = 10


def spearman_matrix(scores: pd.DataFrame, cols: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pairwise Spearman correlations and the number of rows each one used.

    Returns
    -------
    rho : (k, k) DataFrame; NaN where a pair has fewer than 3 shared rows or a score is constant.
    n : (k, k) DataFrame of shared non-missing rows.
    """
    vals = scores[cols].astype(float)
    # pandas drops +-inf from correlations; move them just past the finite range so they rank at the ends.
    for c in cols:
        v = vals[c].to_numpy(copy=True)
        finite = v[np.isfinite(v)]
        lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
        v[np.isposinf(v)] = np.nextafter(hi, np.inf)
        v[np.isneginf(v)] = np.nextafter(lo, -np.inf)
        vals[c] = v
    rho = vals.corr(method="spearman", min_periods=MIN_PAIRS)
    present = vals.notna().astype(np.int64)
    n = present.T @ present
    return rho, n


def _hardness_sign(col: str) -> int | None:
    """+1 / -1 when the column declares higher = harder / easier; None when unknown or ambiguous."""
    try:
        from ...scores import COLUMNS
    except ImportError:  # the report must not depend on every score module importing
        return None
    c = COLUMNS.get(col)
    if c is None or c.orientation == "ambiguous":
        return None
    return 1 if c.orientation == "harder" else -1


def strongest_pairs(rho: pd.DataFrame, n: pd.DataFrame, top: int = TOP_PAIRS) -> pd.DataFrame:
    """The ``top`` pairs by absolute correlation (each unordered pair once), strongest first."""
    cols = list(rho.columns)
    rows = []
    for i in range(len(cols)):
        for j in range(i + 1, len(cols)):
            r = rho.iat[i, j]
            if np.isfinite(r):
                si, sj = _hardness_sign(cols[i]), _hardness_sign(cols[j])
                aligned = r * si * sj if si is not None and sj is not None else np.nan
                rows.append(dict(a=cols[i], b=cols[j], rho=float(r), n=int(n.iat[i, j]), aligned=aligned))
    out = pd.DataFrame(rows, columns=["a", "b", "rho", "n", "aligned"])
    if out.empty:
        return out
    out = out.assign(_abs=out["rho"].abs()).sort_values(["_abs", "a", "b"], ascending=[False, True, True])
    return out.drop(columns="_abs").head(top).reset_index(drop=True)


def correlation_heatmap(rho: pd.DataFrame, n: pd.DataFrame) -> go.Figure:
    labels = [esc(c) for c in rho.columns]
    z = rho.to_numpy(dtype=float)
    text = [[("" if not np.isfinite(v) else f"{v:.2f}") for v in row] for row in z]
    custom = n.to_numpy(dtype=np.int64)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=labels,
            y=labels,
            zmin=-1.0,
            zmax=1.0,
            zmid=0.0,
            colorscale="RdBu",
            text=text,
            texttemplate="%{text}",
            customdata=custom,
            hovertemplate="%{y} vs %{x}<br>Spearman ρ = %{z:.3f}<br>rows: %{customdata}<extra></extra>",
            colorbar=dict(title=dict(text="ρ")),
            hoverongaps=False,
        )
    )
    size = max(380, 70 + 42 * len(labels))
    _layout(fig, "Spearman ρ between scores", size)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickangle=-35)
    return fig


def correlations_html(run: RunData) -> str:
    """Heatmap of every pair of numeric score columns plus a table of the strongest pairs."""
    if run.scores is None:
        return missing(run.why("scores"))
    cols = score_columns(run.scores)
    if len(cols) < 2:
        return missing(f"scores.parquet has {len(cols)} numeric score column(s); correlations need at least two.")
    rho, n = spearman_matrix(run.scores, cols)
    pairs = strongest_pairs(rho, n)
    rows = [
        [
            esc(r.a),
            esc(r.b),
            fmt_num(r.rho),
            fmt_num(r.aligned) if np.isfinite(r.aligned) else "—",
            fmt_int(r.n),
        ]
        for r in pairs.itertuples(index=False)
    ]
    out = [
        note(
            "Spearman rank correlation of every pair of numeric score columns over the examples where both are "
            "present (+∞ ranks highest). Scores point different ways — for el2n higher is harder, for confidence "
            "higher is easier — so the table also shows ρ <i>hardness-aligned</i>: the correlation after turning "
            "each declared score so that higher means harder; a positive value means the two agree on which "
            "examples are hard. Blank cells: a constant score or too few shared rows."
        ),
    ]
    if rows:
        side = f"<h3>Strongest pairs (top {len(rows)} by |ρ|)</h3>" + table(
            ["Score", "Score", "Spearman ρ", "ρ hardness-aligned", "Rows"], rows, text_cols=(0, 1)
        )
    else:
        side = missing("No pair of scores has a defined correlation (constant scores or too few shared rows).")
    out.append(
        f'<div class="grid2">{fig_html(correlation_heatmap(rho, n), "fig-score-correlations")}<div>{side}</div></div>'
    )
    return "\n".join(out)
