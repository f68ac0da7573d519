"""The "Score distributions" section: histograms and a table of every score column.

Boolean columns (the quality rules' ``<rule>_fail`` and ``<scorer>_fail`` verdicts) get a
table of how many rows are True instead of a two-bar histogram each.
"""

from __future__ import annotations

import pandas as pd

from .._figures import (
    fig_html,
    score_columns,
    score_histograms,
    score_stats,
)
from .._html import esc, fmt_int, fmt_num, missing, note, table
from .._load import RunData

# One figure holds at most this many histograms (3 a row): plotly refuses the figure's fixed
# vertical spacing once it has more than 7 rows, and the quality rules alone write 24 statistics.
PER_FIGURE = 18


def _histograms(scores: pd.DataFrame, cols: list[str]) -> list[str]:
    out = []
    for i in range(0, len(cols), PER_FIGURE):
        div = "fig-score-histograms" if i == 0 else f"fig-score-histograms-{i // PER_FIGURE + 1}"
        out.append(fig_html(score_histograms(scores, cols[i : i + PER_FIGURE]), div))
    return out


def _flags_table(scores: pd.DataFrame, flags: list[str]) -> str:
    n = len(scores)
    rows = []
    for c in flags:
        v = scores[c]
        true = int(v.sum())  # a nullable boolean column skips its missing values
        rows.append([esc(c), fmt_int(true), fmt_num(true / n if n else float("nan")), fmt_int(int(v.isna().sum()))])
    return "<h3>Boolean columns</h3>" + table(["Column", "True", "Share True", "Missing"], rows)


def scores_html(run: RunData) -> str:
    if run.scores is None:
        return missing(run.why("scores"))
    cols = score_columns(run.scores)
    if not cols:
        return missing("scores.parquet has no numeric score column besides id and label.")
    flags = [c for c in cols if pd.api.types.is_bool_dtype(run.scores[c])]
    numeric = [c for c in cols if c not in flags]
    parts = [
        note(
            f"{len(run.scores):,} examples. Histograms show finite values; +∞ (for forgetting: examples the "
            "model never learned) is counted in each subplot title and in the table."
            + (" Boolean columns (e.g. a quality rule's verdict) are counted in their own table." if flags else "")
        )
    ]
    if numeric:
        stats = score_stats(run.scores, numeric)
        rows = []
        for _, r in stats.iterrows():
            inf = fmt_int(r["n_posinf"]) + (" (never learned)" if r["score"] == "forgetting" and r["n_posinf"] else "")
            rows.append(
                [
                    esc(r["score"]),
                    fmt_int(r["n_finite"]),
                    inf,
                    fmt_int(r["n_nan"]),
                    fmt_num(r["min"]),
                    fmt_num(r["median"]),
                    fmt_num(r["max"]),
                ]
            )
        parts.extend(_histograms(run.scores, numeric))
        parts.append(table(["Score", "Finite", "+∞", "Missing", "Min", "Median", "Max"], rows))
    if flags:
        parts.append(_flags_table(run.scores, flags))
    return "\n".join(parts)
