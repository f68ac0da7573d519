"""AFLite (WinoGrande; Le Bras et al., 2020): adversarial filtering removes a planted shortcut.

A synthetic binary task mimics the setting AFLite was built for. The real signal is
not linearly decodable (the label is the XOR of the signs of two noisy features, as
commonsense is not linear in sentence embeddings), and 60% of the examples carry a
shortcut: one feature equal to +1 / -1 with the label (0 elsewhere). AFLite filters
down to ``m = 40%`` of the data (the shortcut-free share), removing ``k = N / 40``
examples per round.

Measured:

- *removal precision*: the share of removed examples that carry the shortcut;
- *shortcut probe*: 5-fold cross-validated accuracy of a logistic regression that sees
  only the shortcut feature, on all data and on the kept set, against chance (the
  majority-class rate of the same set);
- the same probe on all features, for context.

The claim holds when the precision is >= 0.8 and the shortcut probe on the kept set is
within 0.1 of chance or has lost at least half of its excess over chance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..scores.aflite import aflite_filter
from . import RecipeResult, recipe

PAPER = "WinoGrande (Sakaguchi et al., 2020) / Adversarial Filters of Dataset Biases (Le Bras et al., 2020)"
CLAIM = (
    "AFLite removes mostly shortcut-carrying examples (precision >= 0.8), and a linear probe on the "
    "shortcut feature over the kept set falls toward chance (within 0.1, or >= 50% of its excess lost)"
)
SHORTCUT_SHARE = 0.6


def shortcut_task(n: int, *, seed: int = 0, shortcut_share: float = SHORTCUT_SHARE, n_noise: int = 8):
    """The planted-shortcut task: returns X (n, 3 + n_noise), y (n,), carrier mask (n,).

    Columns: two XOR features (signs of noisy +-1 values), the shortcut (label as +-1 on
    carriers, 0 elsewhere), then Gaussian noise.
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    carrier = rng.random(n) < shortcut_share
    u = rng.choice([-1.0, 1.0], size=n)
    core = np.c_[u, u * (2 * y - 1)] + 0.5 * rng.normal(size=(n, 2))
    shortcut = np.where(carrier, 2.0 * y - 1, 0.0)
    X = np.c_[core, shortcut, rng.normal(size=(n, n_noise))]
    return X, y, carrier


def _probe(X: np.ndarray, y: np.ndarray, seed: int) -> tuple[float, float]:
    """5-fold CV accuracy of logistic regression and the majority-class rate of ``y``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    acc = float(cross_val_score(LogisticRegression(), X, y, cv=cv).mean())
    return acc, float(np.bincount(y).max() / len(y))


@recipe("aflite", paper=PAPER, claim=CLAIM)
def aflite_recipe(*, seed: int = 0, quick: bool = False) -> RecipeResult:
    n = 2000 if quick else 4000
    X, y, carrier = shortcut_task(n, seed=seed)
    res = aflite_filter(X, y, n=64, m=1.0 - SHORTCUT_SHARE, k=n // 40, tau=0.75, seed=seed)
    removed = res.removed_round > 0
    kept = res.kept

    sc_before, chance_before = _probe(X[:, [2]], y, seed)
    sc_after, chance_after = _probe(X[kept][:, [2]], y[kept], seed)
    all_before, _ = _probe(X, y, seed)
    all_after, _ = _probe(X[kept], y[kept], seed)
    precision = float(carrier[removed].mean()) if removed.any() else float("nan")
    excess_before = sc_before - chance_before
    excess_after = sc_after - chance_after
    measured = {
        "examples": n,
        "shortcut share": float(carrier.mean()),
        "rounds": len(res.rounds),
        "removed": int(removed.sum()),
        "removal precision (share of removed carrying the shortcut)": precision,
        "share of shortcut carriers removed": float(removed[carrier].mean()),
        "shortcut-only probe accuracy before": sc_before,
        "shortcut-only probe accuracy after": sc_after,
        "chance before": chance_before,
        "chance after": chance_after,
        "all-feature probe accuracy before": all_before,
        "all-feature probe accuracy after": all_after,
    }
    toward_chance = excess_after <= 0.1 or excess_after <= 0.5 * excess_before
    held = bool(precision >= 0.8 and toward_chance)
    details = pd.DataFrame(
        {
            "carrier": carrier,
            "removed_round": res.removed_round,
            "predictability": res.predictability,
        }
    )
    return RecipeResult("aflite", PAPER, CLAIM, measured, held, details)
