"""SemDeDup (Abbas et al., 2023): removing semantic duplicates costs little and beats a random subset.

A web-like pool: ``N_BASE`` distinct MNIST-1D training signals, plus ``N_COPIES`` near-duplicates
(the signal plus small noise, cosine ~0.99 to its source) whose sources are drawn with
Zipf-like popularity, so a few examples are repeated many times -- as popular web images are.
SemDeDup (embeddings = the signals, ``eps`` searched to keep ``N_BASE`` rows) is compared
with a random subset of the same size and with the whole pool, each model trained for the
same number of epochs (so the subsets also cost less compute, as in the paper).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..io import load_builtin
from ..learners import make_learner
from ..metrics import accuracy
from ..select import select
from ..select.dedup import semdedup_eps_for_keep, semdedup_max_similarity
from . import RecipeResult, recipe

PAPER = "SemDeDup: Data-efficient learning at web-scale through semantic deduplication (Abbas et al., 2023)"
CLAIM = (
    "on a pool with planted near-duplicates, SemDeDup (eps searched to keep as many rows as there are distinct "
    "examples) finds them (precision and recall >= 0.9 on the planted copies), beats a random subset of the same "
    "size on test accuracy, and stays within 2 points of training on the whole pool at a fraction of the compute"
)
N_BASE = 1500
N_COPIES = 2500
ZIPF_S = 1.1
NOISE = 0.05  # copy = source + NOISE * per-feature std * N(0, 1)
PARAMS = {"hidden": [128, 128], "batch_size": 128, "lr": 0.002}


def planted_pool(X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X_pool, y_pool, source) with ``N_COPIES`` near-duplicates of Zipf-popular rows appended.

    ``source[i]`` is the base row that pool row i copies (itself for a base row).
    """
    n = len(X)
    p = 1.0 / np.arange(1, n + 1) ** ZIPF_S
    popular = rng.permutation(n)  # which base rows are popular is random
    src = popular[rng.choice(n, size=N_COPIES, p=p / p.sum())]
    copies = X[src] + NOISE * X.std(axis=0) * rng.standard_normal((N_COPIES, X.shape[1]))
    Xp = np.vstack([X, copies]).astype(np.float32)
    order = rng.permutation(len(Xp))  # copies interleaved with the originals
    source = np.r_[np.arange(n), src][order]
    return Xp[order], np.r_[y, y[src]][order], source


@recipe("semdedup", paper=PAPER, claim=CLAIM)
def semdedup_recipe(*, seed: int = 0, quick: bool = False) -> RecipeResult:
    seeds = [seed + k for k in range(2 if quick else 3)]
    epochs = 15 if quick else 20
    data = load_builtin("mnist1d", seed=42 + seed)
    rng = np.random.default_rng(seed)
    base = rng.choice(data.train.n, size=N_BASE, replace=False)
    Xp, yp, source = planted_pool(data.train.X[base], data.train.y[base], rng)
    pool = Dataset.from_arrays(Xp, yp, class_names=data.train.class_names, name="mnist1d-dup-pool")
    test = data.test

    # Planted-copy detection: a row is a duplicate unless it is the first kept member of its source.
    E = (Xp - Xp.mean(axis=0)) / Xp.std(axis=0)
    res = semdedup_max_similarity(E, seed=seed)
    eps = semdedup_eps_for_keep(res, N_BASE)
    keep = select(pool, "semdedup", N_BASE, embeddings=E, seed=seed)
    kept = np.zeros(pool.n, dtype=bool)
    kept[keep] = True
    n_sources_kept = len(np.unique(source[keep]))
    removed = ~kept
    # a removal is right when another row of the same source survives
    survivors = np.bincount(source[kept], minlength=N_BASE)
    right = removed & (survivors[source] >= 1)
    precision = float(right.sum() / max(1, removed.sum()))
    redundant = pool.n - len(np.unique(source))  # rows that are not needed
    recall = float(right.sum() / redundant)

    rows = []
    for s in seeds:
        rand = select(pool, "random", N_BASE, seed=s)
        for strategy, idx in (("full pool", np.arange(pool.n)), ("semdedup", keep), ("random", rand)):
            lrn = make_learner("mlp", **PARAMS).fit(pool.subset(np.sort(idx)), epochs=epochs, seed=s)
            rows.append(
                {
                    "strategy": strategy,
                    "seed": s,
                    "n_train": len(idx),
                    "distinct_sources": len(np.unique(source[idx])),
                    "accuracy": accuracy(lrn.predict_proba(test.X), test.y),
                }
            )
    details = pd.DataFrame(rows)
    mean = details.groupby("strategy")["accuracy"].mean()
    distinct = details.groupby("strategy")["distinct_sources"].mean()
    gain = float(mean["semdedup"] - mean["random"])
    gap = float(mean["full pool"] - mean["semdedup"])
    measured = {
        "pool size": pool.n,
        "distinct examples in the pool": int(len(np.unique(source))),
        "kept (budget)": N_BASE,
        "searched eps": eps,
        "precision on planted copies": precision,
        "recall on planted copies": recall,
        "distinct examples kept by semdedup": n_sources_kept,
        "distinct examples in the random subset (mean)": float(distinct["random"]),
        "full-pool accuracy": float(mean["full pool"]),
        "semdedup accuracy": float(mean["semdedup"]),
        "random-subset accuracy": float(mean["random"]),
        "gain over random (points)": 100 * gain,
        "gap to full pool (points)": 100 * gap,
        "compute of semdedup vs full pool": N_BASE / pool.n,
        "seeds": len(seeds),
    }
    held = precision >= 0.9 and recall >= 0.9 and gain > 0 and gap <= 0.02
    return RecipeResult("semdedup", PAPER, CLAIM, measured, held, details)
