"""Easy-to-hard generalization (Hase et al., 2024): how much of the supervision gap easy data recovers.

Protocol, at small scale on scikit-learn's digits (train and test pooled, 1,797 images):

1. Model-based hardness of every example: 1 - mean out-of-fold gold-label probability
   of a logistic / kNN / random-forest ensemble (5-fold, so each example is scored by
   models that never saw it: the paper's separate hardness split).
2. Buckets: easy = bottom 30% of hardness, medium = middle 40%, hard = top 30%.
3. Half of the hard bucket (random, seeded) is held out as the **hard test** set; the
   other half is the hard training pool, of size m.
4. Per seed, three linear probes (standardized logistic regression — the paper's linear
   probing, on pixel features) are trained on m examples each:
   **Easy** = m drawn from the easy bucket; **Hard** = the hard training pool;
   **Unsupervised** = m examples drawn from easy + hard training pools with their labels
   randomly permuted, so the model sees the features and the label frequencies but no
   pairing of input and label — the supervision removed, which plays the role of the
   paper's zero-shot baseline (it lands near chance).
5. Supervision Gap Recovered on the hard test set,
   ``SGR = (Easy - Unsup) / (Hard - Unsup)``, with a percentile bootstrap over test items
   and seeds (paired across the three conditions; 10,000 resamples, 1,000 when quick).

The paper finds SGR typically 70-100%. It fine-tunes or probes *pretrained* language
models, whose zero-shot baseline already knows much of the task; these probes start
from raw pixels, so a lower SGR here is a finding about that difference, not a bug.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import DataError
from ..dataset import Dataset
from ..io import load_builtin
from ..learners import make_learner
from ..scores.hardness import buckets, model_hardness
from . import RecipeResult, recipe

PAPER = "The Unreasonable Effectiveness of Easy Training Data for Hard Tasks (Hase et al., 2024)"
CLAIM = (
    "training on easy data recovers most of the supervision gap on hard test data: "
    "SGR = (Easy - Unsupervised) / (Hard - Unsupervised) is typically 70-100% (held: SGR >= 0.70)"
)
SGR_THRESHOLD = 0.70


def _supervision_gap_recovered(
    easy_correct: np.ndarray,
    hard_correct: np.ndarray,
    unsup_correct: np.ndarray,
    *,
    n_boot: int = 10_000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, float]:
    """SGR with a paired percentile bootstrap over test items and seeds.

    Parameters
    ----------
    easy_correct, hard_correct, unsup_correct : (n_seeds, n_items) or (n_items,) 0/1
        correctness of the model trained on easy data, on hard data and without
        supervision, on the same hard test items; row s of each is seed s.
    n_boot : bootstrap resamples. Each draws seeds and items with replacement, the same
        draw for all three conditions.
    seed : seeds the bootstrap.
    level : confidence level of the percentile interval.

    Returns
    -------
    dict with ``sgr`` (point estimate), ``lo``, ``hi`` (interval over the resamples whose
    gap Hard - Unsup is positive), ``easy``, ``hard``, ``unsup`` (mean accuracies),
    ``n_boot`` and ``undefined_frac`` (share of resamples with no positive gap). ``sgr``
    is NaN when Hard <= Unsup: there is no gap to recover.

    Examples
    --------
    >>> e, h, u = np.array([[1, 1, 0, 0]]), np.array([[1, 1, 1, 0]]), np.array([[0, 1, 0, 0]])
    >>> _supervision_gap_recovered(e, h, u, n_boot=10)["sgr"]
    0.5
    """
    arrs = [np.atleast_2d(np.asarray(a, dtype=np.float64)) for a in (easy_correct, hard_correct, unsup_correct)]
    if len({a.shape for a in arrs}) != 1 or arrs[0].size == 0:
        raise DataError(
            f"easy, hard and unsupervised correctness must share one non-empty (n_seeds, n_items) shape, "
            f"got {[a.shape for a in arrs]}"
        )
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 1:
        raise DataError(f"n_boot == {n_boot!r}, must be an int >= 1")
    E, H, U = arrs
    n_s, n_i = E.shape

    def ratio(e: np.ndarray, h: np.ndarray, u: np.ndarray) -> np.ndarray:
        gap = h - u
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(gap > 0, (e - u) / gap, np.nan)

    e0, h0, u0 = E.mean(), H.mean(), U.mean()
    rng = np.random.default_rng(seed)
    w_s = rng.multinomial(n_s, np.full(n_s, 1.0 / n_s), size=n_boot).astype(np.float64)
    w_i = rng.multinomial(n_i, np.full(n_i, 1.0 / n_i), size=n_boot).astype(np.float64)
    accs = [np.einsum("bs,si,bi->b", w_s, A, w_i) / (n_s * n_i) for A in (E, H, U)]
    boot = ratio(*accs)
    ok = np.isfinite(boot)
    alpha = (1.0 - level) / 2
    lo, hi = np.quantile(boot[ok], [alpha, 1 - alpha]) if ok.any() else (np.nan, np.nan)
    return {
        "sgr": float(ratio(np.array(e0), np.array(h0), np.array(u0))),
        "lo": float(lo),
        "hi": float(hi),
        "easy": float(e0),
        "hard": float(h0),
        "unsup": float(u0),
        "n_boot": n_boot,
        "undefined_frac": float(1.0 - ok.mean()),
    }


def _probe_correct(train: Dataset, test: Dataset, seed: int) -> np.ndarray:
    lrn = make_learner("logistic").fit(train, epochs=200, seed=seed)
    return lrn.predict_proba(test.X).argmax(axis=1) == test.y


@recipe("easy-to-hard", paper=PAPER, claim=CLAIM)
def easy_to_hard(*, seed: int = 0, quick: bool = False) -> RecipeResult:
    n_seeds = 3 if quick else 5
    n_boot = 1_000 if quick else 10_000
    data = load_builtin("digits")
    pool = Dataset.from_arrays(
        np.r_[data.train.X, data.test.X],
        np.r_[data.train.y, data.test.y],
        class_names=data.train.class_names,
        name="digits",
    )
    rng = np.random.default_rng(seed)

    hardness = model_hardness(pool.X, pool.y, n_folds=5, seed=seed)
    bucket = buckets(hardness, "harder")
    easy = np.flatnonzero(bucket == "easy")
    hard = rng.permutation(np.flatnonzero(bucket == "hard"))
    hard_test, hard_train = np.sort(hard[: len(hard) // 2]), np.sort(hard[len(hard) // 2 :])
    m = len(hard_train)
    test = pool.subset(hard_test)

    correct: dict[str, list[np.ndarray]] = {"easy": [], "hard": [], "unsupervised": []}
    rows = []
    for k in range(n_seeds):
        s = seed * 1000 + k
        r = np.random.default_rng(s)
        sets = {
            "easy": pool.subset(np.sort(r.choice(easy, size=m, replace=False))),
            "hard": pool.subset(hard_train),
        }
        idx = np.sort(r.choice(np.r_[easy, hard_train], size=m, replace=False))
        shuffled = r.permutation(pool.y[idx])
        sets["unsupervised"] = Dataset.from_arrays(
            pool.X[idx], shuffled, ids=pool.ids[idx], class_names=pool.class_names, name="digits-shuffled-labels"
        )
        for cond, train in sets.items():
            c = _probe_correct(train, test, s)
            correct[cond].append(c)
            rows.append({"condition": cond, "seed": s, "n_train": train.n, "hard_test_accuracy": float(c.mean())})

    sgr = _supervision_gap_recovered(
        np.array(correct["easy"]),
        np.array(correct["hard"]),
        np.array(correct["unsupervised"]),
        n_boot=n_boot,
        seed=seed,
    )
    measured = {
        "SGR": sgr["sgr"],
        "SGR 95% CI low": sgr["lo"],
        "SGR 95% CI high": sgr["hi"],
        "easy-trained accuracy on hard test": sgr["easy"],
        "hard-trained accuracy on hard test": sgr["hard"],
        "unsupervised (shuffled labels) accuracy on hard test": sgr["unsup"],
        "train size per condition": m,
        "hard test items": len(hard_test),
        "mean hardness easy / hard bucket": f"{hardness[easy].mean():.3f} / {hardness[hard].mean():.3f}",
        "seeds": n_seeds,
        "bootstrap resamples": n_boot,
    }
    held = bool(np.isfinite(sgr["sgr"]) and sgr["sgr"] >= SGR_THRESHOLD)
    return RecipeResult("easy-to-hard", PAPER, CLAIM, measured, held, pd.DataFrame(rows))
