"""No "zero-shot" without exponential data (Udandarao et al., 2024): performance is log-linear in frequency.

Classes of the digits data get Zipfian training counts; every training example gets a
caption ("a photo of the digit three"), and each class's frequency is read back
from the captions with the concept inverted index (datafactors.factors.ConceptIndex),
as the paper counts concepts in pretraining captions. A classifier trained on the
imbalanced set is tested on a balanced set; per-class accuracy is fitted against
ln(frequency).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import RecipeResult, recipe

NAME = "zero-shot-frequency"
PAPER = 'No "Zero-Shot" Without Exponential Data (Udandarao et al., 2024)'
CLAIM = (
    "per-class accuracy rises log-linearly with the class's training frequency under Zipfian counts: "
    "slope of accuracy on ln(frequency) > 0, Pearson r >= 0.6, and ln(frequency) explains accuracy better "
    "than raw frequency does"
)
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEST_PER_CLASS = 50
MAX_COUNT = 120
ZIPF_S = 1.3
NOISE = 4.0


def zipf_counts(n_classes: int, *, top: int = MAX_COUNT, s: float = ZIPF_S, floor: int = 2) -> np.ndarray:
    """Training count of the class at each rank 1..n_classes: ``max(floor, round(top / rank**s))``."""
    ranks = np.arange(1, n_classes + 1)
    return np.maximum(floor, np.round(top / ranks**s)).astype(int)


@recipe(NAME, paper=PAPER, claim=CLAIM)
def zero_shot_frequency(*, seed: int = 0, quick: bool = False) -> RecipeResult:
    from scipy.stats import pearsonr
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ..factors import ConceptIndex
    from ..scaling import fit_frequency

    bunch = load_digits()
    X, y = bunch.data, bunch.target
    rows = []
    seeds = [seed + k for k in range(3 if quick else 6)]
    for s in seeds:
        rng = np.random.default_rng(s)
        Xn = np.clip(X + rng.normal(0.0, NOISE, X.shape), 0, 16)
        rank_of = rng.permutation(10)  # class c gets rank rank_of[c] + 1
        counts = zipf_counts(10)[rank_of]
        train, test, captions = [], [], []
        for c in range(10):
            idx = rng.permutation(np.flatnonzero(y == c))
            test.extend(idx[:TEST_PER_CLASS])
            train.extend(idx[TEST_PER_CLASS : TEST_PER_CLASS + counts[c]])
            captions += [f"a photo of the digit {WORDS[c]}"] * int(counts[c])
        freq = ConceptIndex(captions).frequencies([f"digit {w}" for w in WORDS]).to_numpy()
        tr, te = np.array(train), np.array(test)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(Xn[tr], y[tr])
        pred = model.predict(Xn[te])
        for c in range(10):
            mask = y[te] == c
            rows.append(
                {"seed": s, "class": WORDS[c], "frequency": int(freq[c]), "accuracy": float((pred[mask] == c).mean())}
            )
    res = pd.DataFrame(rows)
    f = res["frequency"].to_numpy(dtype=float)
    acc = res["accuracy"].to_numpy()
    a, b, r = fit_frequency(f, acc)
    r_raw = float(pearsonr(f, acc)[0])
    measured = {
        "slope (accuracy per ln frequency)": a,
        "intercept": b,
        "Pearson r with ln(frequency)": r,
        "Pearson r with raw frequency": r_raw,
        "accuracy of the rarest classes": float(res[res.frequency == res.frequency.min()]["accuracy"].mean()),
        "accuracy of the most frequent class": float(res[res.frequency == res.frequency.max()]["accuracy"].mean()),
        "frequencies (from the caption index)": sorted(set(res["frequency"].tolist())),
        "seeds": len(seeds),
    }
    held = bool(a > 0 and r >= 0.6 and r > r_raw)
    return RecipeResult(NAME, PAPER, CLAIM, measured, held, res)
