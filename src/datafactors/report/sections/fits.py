"""The "Scaling fits" section: the fits table, with bootstrap intervals."""

from __future__ import annotations

import pandas as pd

from .._html import esc, fmt_ci, fmt_int, fmt_num, is_missing, missing, note, table
from .._labels import eval_label, order_eval_sets, order_strategies
from .._load import RunData


def _ci_cell(row: pd.Series, key: str, fmt=fmt_num) -> str:
    lo = row.get(f"{key}_lo")
    hi = row.get(f"{key}_hi")
    return fmt_ci(row.get(key), lo, hi, fmt)


def fits_html(run: RunData) -> str:
    if run.fits is None:
        return missing(run.why("fits"))
    fits = run.fits
    if fits.empty:
        return missing("The fits table is empty: no learning curve has been fitted yet.")
    out = [
        note(
            "Power law err(n) = α·n<sup>β</sup> + γ (β &lt; 0) fitted to the measured errors; brackets are "
            "bootstrap intervals. γ is the error floor the curve approaches with unlimited data of this kind."
        )
    ]
    headers = [
        "Strategy",
        "Eval set",
        "Metric",
        "α",
        "β",
        "γ (floor)",
        "Points",
        "n full",
        "Error at 2×",
        "Error at 4×",
        "Target",
        "n needed",
        "Reachable",
        "Status",
    ]
    e_order = {e: i for i, e in enumerate(order_eval_sets(fits["eval_set"]))}
    s_order = {s: i for i, s in enumerate(order_strategies(fits["strategy"]))}
    fits = fits.assign(_e=fits["eval_set"].astype(str).map(e_order), _s=fits["strategy"].astype(str).map(s_order))
    rows, cell_cls = [], {}
    for r, (_, row) in enumerate(fits.sort_values(["_e", "_s"], kind="stable").iterrows()):
        reach = row.get("reachable")
        status = str(row["status"])
        rows.append(
            [
                esc(row["strategy"]),
                esc(eval_label(str(row["eval_set"]))),
                esc(row["metric"]),
                _ci_cell(row, "alpha"),
                _ci_cell(row, "beta"),
                _ci_cell(row, "gamma"),
                fmt_int(row.get("n_points")),
                fmt_int(row.get("n_full")),
                _ci_cell(row, "pred_2x"),
                _ci_cell(row, "pred_4x"),
                fmt_num(row.get("target")),
                _ci_cell(row, "n_needed", fmt_int),
                "—" if is_missing(reach) else ("yes" if bool(reach) else "no"),
                esc(status),
            ]
        )
        if status != "ok":
            cell_cls[(r, len(headers) - 1)] = "err"
    out.append(table(headers, rows, text_cols=(0, 1, 2), cell_classes=cell_cls))
    return "\n".join(out)
