"""The "Strategy comparison by fitted curves" section: who is lowest where, and where curves cross.

Reads the ``curve_segments`` and ``crossings`` tables (written by
:mod:`datafactors.analysis.crossings`, with a bootstrap interval for every crossing).
"""

from __future__ import annotations

import pandas as pd

from .._html import esc, fmt_int, fmt_num, is_missing, missing, note, table
from .._labels import eval_label, order_eval_sets
from .._load import RunData


def _interval(r: pd.Series) -> str:
    lo, hi = r.get("n_cross_lo"), r.get("n_cross_hi")
    if is_missing(lo) or is_missing(hi):
        return ""
    return f" (bootstrap interval {fmt_int(lo)} – {fmt_int(hi)})"


def strategy_comparison_html(run: RunData) -> str:
    """Which strategy's fitted curve is lowest at which training-set size, and where curves cross."""
    if run.fits is None:
        return missing(f"No strategy comparison: {run.why('fits')}")
    segs = run.curve_segments
    if segs is None:
        return missing(f"No strategy comparison: {run.why('curve_segments')}")
    if segs.empty:
        return missing("No learning curve was fitted successfully, so strategies cannot be compared by their fits.")
    cross = run.crossings if run.crossings is not None else pd.DataFrame(columns=["eval_set"])
    out = [
        note(
            "Strategies compared by their fitted learning curves err(n) = α·n<sup>β</sup> + γ rather than by single "
            "budgets: which strategy has the lowest fitted error at each training-set size, and the sizes where two "
            "curves cross, with the interval of each crossing over paired bootstrap curves. Crossings beyond the "
            "full training set are extrapolations of the fits."
        )
    ]
    shown = False
    for es in order_eval_sets(segs["eval_set"].astype(str)):
        sub = segs[(segs["eval_set"].astype(str) == es) & segs["best"].notna()]
        if sub.empty:
            out.append(missing(f"{eval_label(es)}: needs fitted curves for >= 2 strategies and the trained sizes."))
            continue
        shown = True
        n_full = float(sub["n_full"].iloc[0])
        out.append(f"<h3>{esc(eval_label(es))}</h3>")
        seg_rows = [
            [
                f"{fmt_int(r.n_lo)} – {fmt_int(r.n_hi)}" + (" (extrapolated)" if r.n_lo >= n_full else ""),
                esc(r.best),
                fmt_num(r.err_lo),
                fmt_num(r.err_hi),
                fmt_num(r.margin),
            ]
            for r in sub.sort_values("n_lo").itertuples()
        ]
        headers = ["Training-set size n", "Lowest fitted error", "Error at start", "Error at end"]
        out.append(table([*headers, "Margin over runner-up (mid-segment)"], seg_rows, text_cols=(0, 1)))
        cx = cross[cross["eval_set"].astype(str) == es]
        if cx.empty:
            lo, hi = float(sub["n_lo"].min()), float(sub["n_hi"].max())
            out.append(note(f"No two fitted curves cross between n = {fmt_int(lo)} and {fmt_int(hi)}."))
            continue
        items = []
        for _, r in cx.sort_values("n_cross").iterrows():
            where = (
                "beyond the full training set (extrapolated)" if r["n_cross"] > n_full else "within the trained range"
            )
            items.append(
                f"<li><b>{esc(r['a'])}</b> and <b>{esc(r['b'])}</b> cross at n ≈ {fmt_int(r['n_cross'])}"
                f"{_interval(r)} (error {fmt_num(r['err_cross'])}), {where}: {esc(r['better_below'])} is better "
                f"below, {esc(r['better_above'])} above.</li>"
            )
        listing = f"<ul>{''.join(items)}</ul>"
        if len(items) > 4:  # many strategies cross many times; keep the page scannable
            listing = f"<details><summary>{len(items)} crossings of fitted curves</summary>{listing}</details>"
        out.append(listing)
    if not shown:
        out[0] = ""
    return "\n".join(o for o in out if o)
