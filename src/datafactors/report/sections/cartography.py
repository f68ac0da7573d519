"""The "Data map" section: dataset cartography of the training examples."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...analysis.examples import CARTOGRAPHY_FRACTION
from .._figures import (
    CARTOGRAPHY_COLUMNS,
    cartography_figure,
    fig_html,
    score_columns,
)
from .._html import esc, fmt_int, missing, note
from .._load import RunData
from .examples import SEED, embedded

# The map draws at most this many points, so a large run's page stays fast: every example
# the Examples section embeds (the ones its views list first), then a seeded random sample.
MAX_POINTS = 5000


def drawn_rows(run: RunData, finite: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``finite`` the map draws (all of them up to :data:`MAX_POINTS`), in their order."""
    if len(finite) <= MAX_POINTS:
        return finite
    chosen = np.zeros(len(finite), dtype=bool)
    emb = embedded(run)
    if emb is not None:
        # Listed examples first: Embedded.ids puts every view's top rows ahead of the sample.
        priority = set(emb.ids[:MAX_POINTS])
        hits = np.fromiter((i in priority for i in finite["id"].astype(str).tolist()), dtype=bool, count=len(finite))
        chosen[np.flatnonzero(hits)[:MAX_POINTS]] = True
    rest = np.flatnonzero(~chosen)
    n_more = MAX_POINTS - int(chosen.sum())
    if n_more > 0 and rest.size:
        rng = np.random.default_rng(SEED)
        chosen[rng.choice(rest, size=min(n_more, rest.size), replace=False)] = True
    return finite[chosen]


def cartography_html(run: RunData) -> str:
    if run.scores is None:
        return missing(run.why("scores"))
    lacking = [c for c in CARTOGRAPHY_COLUMNS if c not in run.scores.columns]
    if lacking:
        return missing(f"scores.parquet lacks the cartography column(s) {', '.join(lacking)}, so there is no data map.")
    scores = run.scores
    keep = np.isfinite(scores[["variability", "confidence"]].astype(float).to_numpy()).all(axis=1)
    finite = scores[keep]
    drawn = drawn_rows(run, finite)
    fig, _ = cartography_figure(drawn, score_columns(scores))
    # plotly's per-point ids come back in click events: a click opens that example in the Examples panel.
    fig.update_traces(ids=drawn["id"].astype(str).tolist())
    text = (
        "Each point is a training example (Swayamdipta et al., 2020): high confidence and low variability = "
        "easy to learn; low confidence and low variability = hard to learn (often mislabeled); high variability = "
        "ambiguous. Hover for the example's id, label and every score. The example views cut the regions by "
        f"rank: ambiguous = the {CARTOGRAPHY_FRACTION:.0%} with the highest variability; of the rest, hard to learn "
        f"= those in the {CARTOGRAPHY_FRACTION:.0%} with the lowest confidence, easy = those in the "
        f"{CARTOGRAPHY_FRACTION:.0%} with the highest."
    )
    if run.examples is not None:
        text += " Click a point to open the example in the Examples section's side panel."
    dropped = int((~keep).sum())
    if dropped:
        text += f" {dropped} example(s) without a finite variability or confidence are not drawn."
    body = esc(text)
    if len(drawn) < len(finite):
        body += (
            f" The map draws {fmt_int(len(drawn))} of {fmt_int(len(finite))} examples (at most {fmt_int(MAX_POINTS)}): "
            "every example the Examples section embeds, then a random sample."
        )
    return note(body) + "\n" + fig_html(fig, "fig-cartography")
