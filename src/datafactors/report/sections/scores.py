"""The "Score distributions" section: histograms and a table of every score column."""

from __future__ import annotations

from .._figures import (
    fig_html,
    score_columns,
    score_histograms,
    score_stats,
)
from .._html import esc, fmt_int, fmt_num, missing, note, table
from .._load import RunData


def scores_html(run: RunData) -> str:
    if run.scores is None:
        return missing(run.why("scores"))
    cols = score_columns(run.scores)
    if not cols:
        return missing("scores.parquet has no numeric score column besides id and label.")
    stats = score_stats(run.scores, cols)
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
    return "\n".join(
        [
            note(
                f"{len(run.scores):,} examples. Histograms show finite values; +∞ (for forgetting: examples the "
                "model never learned) is counted in each subplot title and in the table."
            ),
            fig_html(score_histograms(run.scores, cols), "fig-score-histograms"),
            table(["Score", "Finite", "+∞", "Missing", "Min", "Median", "Max"], rows),
        ]
    )
