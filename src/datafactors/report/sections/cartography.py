"""The "Data map" section: dataset cartography of the training examples."""

from __future__ import annotations

from .._figures import (
    CARTOGRAPHY_COLUMNS,
    cartography_figure,
    fig_html,
    score_columns,
)
from .._html import esc, missing, note
from .._load import RunData


def cartography_html(run: RunData) -> str:
    if run.scores is None:
        return missing(run.why("scores"))
    lacking = [c for c in CARTOGRAPHY_COLUMNS if c not in run.scores.columns]
    if lacking:
        return missing(f"scores.parquet lacks the cartography column(s) {', '.join(lacking)}, so there is no data map.")
    fig, dropped = cartography_figure(run.scores, score_columns(run.scores))
    text = (
        "Each point is a training example (Swayamdipta et al., 2020): high confidence and low variability = "
        "easy to learn; low confidence and low variability = hard to learn (often mislabeled); high variability = "
        "ambiguous. Hover for the example's id, label and every score."
    )
    if dropped:
        text += f" {dropped} example(s) without a finite variability or confidence are not drawn."
    return note(esc(text)) + "\n" + fig_html(fig, "fig-cartography")
