"""Difficulty profile from any per-example score: its distribution and easy / medium / hard shares.

How hard an example is means how hard it is to predict its label, so the family needs labels:
on an unlabeled pool :func:`datafactors.factors.profile` skips it and writes one ``difficulty``
row whose note says so, whatever scores were passed (a label-free score such as a quality-rule
statistic or a kNN density is no difficulty of a task that has no labels).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._errors import DataError
from . import family, row
from ._context import ProfileContext

FAMILY = "difficulty"
EASY_CUT = 0.3
HARD_CUT = 0.7


class DifficultyProfile(NamedTuple):
    """Shares of easy / medium / hard examples and the cut points (in the score's own units)."""

    easy: float
    medium: float
    hard: float
    cut_easy: float
    cut_hard: float
    quantiles: dict[str, float]
    mean: float
    n_used: int
    n_missing: int


def difficulty_profile(
    values: np.ndarray,
    *,
    higher_is_harder: bool = True,
    low: float | None = None,
    high: float | None = None,
) -> DifficultyProfile:
    """Cut a score's range at 30% and 70% into easy / medium / hard and report the shares.

    Cut points are fixed on the *range* ``[low, high]`` of the score (its declared
    range when both bounds are finite, else the observed finite min and max), not on
    its quantiles: quantile cuts would always give 30/40/30. With the score oriented
    so that higher = harder, easy = below ``low + 0.3 (high - low)``, hard = above
    ``low + 0.7 (high - low)``, medium = in between (inclusive). ``+inf`` (e.g. a
    forgetting score for never-learned examples) counts as hardest; NaN is left out.

    Parameters
    ----------
    values : (n,) scores.
    higher_is_harder : orientation of the score (see ``datafactors.scores.COLUMNS``).
    low, high : declared range of the score, if bounded.

    Returns
    -------
    DifficultyProfile(easy, medium, hard, cut_easy, cut_hard, quantiles {p10, p50, p90} of the finite values,
    mean of finite values, n_used, n_missing)

    Examples
    --------
    >>> p = difficulty_profile(np.array([0.0, 0.1, 0.5, 0.9, 1.0]), low=0.0, high=1.0)
    >>> p.easy, p.medium, p.hard
    (0.4, 0.2, 0.4)
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise DataError(f"values must be 1-D (n,), got shape {v.shape}")
    nan = np.isnan(v)
    used = v[~nan]
    if used.size == 0:
        raise DataError("every score value is missing (NaN)")
    sign = 1.0 if higher_is_harder else -1.0
    h = sign * used  # oriented: higher = harder
    fin = h[np.isfinite(h)]
    if low is not None and high is not None and math.isfinite(low) and math.isfinite(high):
        lo, hi = sorted((sign * low, sign * high))
    elif fin.size:
        lo, hi = float(fin.min()), float(fin.max())
    else:
        lo = hi = 0.0
    c1, c2 = lo + EASY_CUT * (hi - lo), lo + HARD_CUT * (hi - lo)
    easy = float((h < c1).mean())
    hard = float((h > c2).mean())
    medium = float(((h >= c1) & (h <= c2)).mean())
    orig = sign * np.array([c1, c2])
    qs = {
        f"p{p}": float(np.quantile(used[np.isfinite(used)], p / 100)) if np.isfinite(used).any() else math.nan
        for p in (10, 50, 90)
    }
    mean = float(used[np.isfinite(used)].mean()) if np.isfinite(used).any() else math.nan
    return DifficultyProfile(
        easy, medium, hard, float(orig[0]), float(orig[1]), qs, mean, int(used.size), int(nan.sum())
    )


@family(FAMILY, description="distribution and easy / medium / hard shares of each given score", needs_labels=True)
def difficulty(ctx: ProfileContext) -> list[dict]:
    if not ctx.ds.has_labels:  # profile() skips the family first; this guards a direct call
        from . import needs_labels_note

        return [row(FAMILY, "difficulty", note=needs_labels_note(ctx.ds))]
    if ctx.scores is None:
        return [row(FAMILY, "difficulty", note="not computed: no scores given")]
    from ..scores import COLUMNS

    rows = []
    for col in ctx.scores.columns:
        decl = COLUMNS.get(str(col))
        harder = decl is None or decl.orientation != "easier"
        where = (
            f"declared orientation: higher = {'harder' if harder else 'easier'}"
            if decl is not None
            else "no declared orientation: higher read as harder"
        )
        try:
            p = difficulty_profile(
                ctx.scores[col].to_numpy(),
                higher_is_harder=harder,
                low=None if decl is None else decl.low,
                high=None if decl is None else decl.high,
            )
        except DataError as e:
            rows.append(row(FAMILY, "difficulty_share", key=f"{col}:easy", note=f"not computed: {e}"))
            continue
        cut = f"cuts at 30%/70% of the range: {p.cut_easy:.4g} / {p.cut_hard:.4g}; {where}"
        miss = f"; {p.n_missing} examples without a score" if p.n_missing else ""
        for part, share in (("easy", p.easy), ("medium", p.medium), ("hard", p.hard)):
            rows.append(row(FAMILY, "difficulty_share", share, key=f"{col}:{part}", note=cut + miss))
        for q, v in p.quantiles.items():
            rows.append(row(FAMILY, "score_quantile", v, key=f"{col}:{q}"))
        rows.append(row(FAMILY, "score_mean", p.mean, key=str(col), note="mean of the finite values"))
    return rows
