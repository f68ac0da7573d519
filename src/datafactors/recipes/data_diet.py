"""Data Diet (Paul et al., 2021): EL2N finds the important examples early in training."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..io import load_builtin
from ..learners import make_learner
from ..metrics import accuracy
from ..scores import compute, train_dynamics
from ..select import select
from . import RecipeResult, recipe

CLAIM = (
    "(a) keeping the hardest 50% by EL2N keeps test accuracy within 2 points of full data and above "
    "random 50%; (b) EL2N ranks planted label noise first (AUROC >= 0.8)"
)


def _auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(positive.astype(int), scores))


@recipe("data-diet", paper="Deep Learning on a Data Diet (Paul et al., 2021)", claim=CLAIM)
def data_diet(*, seed: int = 0, quick: bool = False) -> RecipeResult:
    seeds = [seed + k for k in range(2 if quick else 3)]
    epochs = 20 if quick else 30
    params = {"hidden": [128, 128], "batch_size": 128, "lr": 0.002}
    data = load_builtin("mnist1d", seed=42 + seed)
    train, test = data.train, data.test

    # (a) prune half by EL2N (averaged over proxy runs) and compare with random half and full data.
    dyn = train_dynamics(train, learner="mlp", seeds=[10_000 + s for s in seeds], epochs=epochs, learner_params=params)
    el2n = compute(train, ["el2n"], dynamics=dyn)
    rows = []
    for s in seeds:
        for strategy, idx in (
            ("full", np.arange(train.n)),
            ("el2n_hardest_50", select(train, "hardest", 0.5, scores=el2n, score="el2n", seed=s)),
            ("random_50", select(train, "random", 0.5, seed=s)),
        ):
            lrn = make_learner("mlp", **params).fit(train.subset(np.sort(idx)), epochs=epochs, seed=s)
            rows.append({"strategy": strategy, "seed": s, "accuracy": accuracy(lrn.predict_proba(test.X), test.y)})
    res = pd.DataFrame(rows)
    mean = res.groupby("strategy")["accuracy"].mean()

    # (b) flip 10% of labels; EL2N from proxies trained on the noisy set should rank them first.
    rng = np.random.default_rng(seed)
    noisy_y = train.y.copy()
    flip = rng.choice(train.n, size=train.n // 10, replace=False)
    noisy_y[flip] = (noisy_y[flip] + rng.integers(1, train.n_classes, size=len(flip))) % train.n_classes
    noisy = Dataset.from_arrays(train.X, noisy_y, ids=train.ids, class_names=train.class_names, name="mnist1d-noisy")
    is_noisy = np.zeros(train.n, dtype=bool)
    is_noisy[flip] = True
    ndyn = train_dynamics(noisy, learner="mlp", seeds=[20_000 + s for s in seeds], epochs=epochs, learner_params=params)
    auroc = _auroc(compute(noisy, ["el2n"], dynamics=ndyn)["el2n"].to_numpy(), is_noisy)

    gap_full = float(mean["full"] - mean["el2n_hardest_50"])
    gain_random = float(mean["el2n_hardest_50"] - mean["random_50"])
    measured = {
        "full-data accuracy": float(mean["full"]),
        "EL2N keep-hardest 50% accuracy": float(mean["el2n_hardest_50"]),
        "random 50% accuracy": float(mean["random_50"]),
        "gap to full data (points)": 100 * gap_full,
        "gain over random (points)": 100 * gain_random,
        "EL2N AUROC for 10% flipped labels": auroc,
        "seeds": len(seeds),
    }
    held = gap_full <= 0.02 and gain_random > 0 and auroc >= 0.8
    return RecipeResult("data-diet", "Deep Learning on a Data Diet (Paul et al., 2021)", CLAIM, measured, held, res)
