"""Crafted shifts for model selection: validation under strong augmentations predicts OOD ranking.

A zoo of classifiers (linear, k-NN, trees, forest, naive Bayes, SVM, MLP; each also
trained with brightness/contrast jitter, which is none of the crafted families) is
ranked three ways on held-out training rows: plain (ID) validation accuracy, and
accuracy under the crafted-shift families (datafactors.splits.crafted), per fold and
over all families. Each ranking is compared with the true ranking on the digits OOD
test set (shifted, noisy images) by Kendall tau.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from . import RecipeResult, recipe

NAME = "crafted-shifts"
PAPER = "Crafted distribution shifts as validation sets for OOD model selection"
CLAIM = (
    "ranking models by accuracy on crafted-shift validation sets (noise, blur, shift/affine, invert, quantize, "
    "dropout) agrees better with their OOD test ranking than ranking by ID validation accuracy does "
    "(Kendall tau, crafted > ID)"
)


def _zoo(quick: bool) -> dict[str, Callable[[], object]]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    zoo: dict[str, Callable[[], object]] = {
        "logistic C=0.01": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=300)),
        "logistic C=1": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=300)),
        "1-NN": lambda: KNeighborsClassifier(1),
        "15-NN": lambda: KNeighborsClassifier(15),
        "decision tree": lambda: DecisionTreeClassifier(random_state=0),
        "naive Bayes": lambda: GaussianNB(),
        "RBF SVM": lambda: SVC(),
    }
    if not quick:
        zoo["random forest"] = lambda: RandomForestClassifier(50, random_state=0)
        zoo["MLP"] = lambda: MLPClassifier((64,), max_iter=150, random_state=0)
    return zoo


def _jitter(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness / contrast jitter on the 0-16 pixel scale (none of the crafted families)."""
    return np.clip(X * rng.uniform(0.6, 1.4, (len(X), 1)) + rng.uniform(-2, 2, (len(X), 1)), 0, 16)


@recipe(NAME, paper=PAPER, claim=CLAIM)
def crafted_shifts(*, seed: int = 0, quick: bool = False) -> RecipeResult:
    from scipy.stats import kendalltau
    from sklearn.exceptions import ConvergenceWarning

    from ..io import load_builtin
    from ..splits import split
    from ..splits.crafted import FAMILIES, augment, fold_families

    folds = fold_families(2)
    rows = []
    seeds = [seed] if quick else [seed, seed + 1]
    for s in seeds:
        data = load_builtin("digits", seed=s)
        train, ood = data.train, data.ood
        sp = split(train, "crafted", seed=s, val_size=0.3, test_size=0)
        tr = train.subset(sp.train)
        val = train.subset(np.concatenate(list(sp.ood.values())))
        rng = np.random.default_rng(s)

        X_aug = np.vstack([tr.X, _jitter(tr.X, rng), _jitter(tr.X, rng)])
        y_aug = np.tile(tr.y, 3)
        shifted = {f: augment(val.X, f, seed=rng) for f in FAMILIES}
        for name, make in _zoo(quick).items():
            for aug in (False, True):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    model = make().fit(X_aug if aug else tr.X, y_aug if aug else tr.y)
                r = {
                    "seed": s,
                    "model": name + (" + jitter" if aug else ""),
                    "id_val": float((model.predict(val.X) == val.y).mean()),
                    "ood_test": float((model.predict(ood.X) == ood.y).mean()),
                }
                for f, Xs in shifted.items():
                    r[f"crafted:{f}"] = float((model.predict(Xs) == val.y).mean())
                rows.append(r)
    res = pd.DataFrame(rows)
    res["crafted_all"] = res[[f"crafted:{f}" for f in FAMILIES]].mean(axis=1)
    for k, fams in enumerate(folds):
        res[f"crafted_fold{k}"] = res[[f"crafted:{f}" for f in fams]].mean(axis=1)

    def tau(col: str) -> float:
        return float(np.mean([kendalltau(g[col], g["ood_test"])[0] for _, g in res.groupby("seed")]))

    t_id, t_all = tau("id_val"), tau("crafted_all")
    measured = {
        "Kendall tau, ID validation vs OOD": t_id,
        "Kendall tau, crafted validation (all families) vs OOD": t_all,
        **{
            f"Kendall tau, crafted fold {k} ({', '.join(f)}) vs OOD": tau(f"crafted_fold{k}")
            for k, f in enumerate(folds)
        },
        "models": int(res.groupby("seed").size().iloc[0]),
        "seeds": len(seeds),
    }
    return RecipeResult(NAME, PAPER, CLAIM, measured, bool(t_all > t_id), res)
