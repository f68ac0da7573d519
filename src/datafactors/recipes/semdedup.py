"""SemDeDup (Abbas et al., 2023): removing semantic duplicates keeps accuracy on less data.

The abstract: "Removing semantic duplicates preserves performance and speeds up learning."
In the paper's terms: on a web-scale pool (LAION) SemDeDup -- embeddings, k-means, and
within each cluster the removal of every example whose cosine similarity to an earlier
member exceeds ``1 - eps`` -- removes a large share of the data (50%) at minimal loss of
accuracy, so training costs a fraction of the compute, and does better than removing the
same amount at random.

The small experiment. Per seed, a web-like pool: ``N_BASE`` distinct MNIST-1D training
signals plus ``N_COPIES`` semantic duplicates -- a signal plus noise of a per-copy level
drawn from ``NOISE`` (per-feature std units; cosine to the source about 0.94 to 0.999 in the
standardised signal space, so some copies are near-identical and some only similar) --
whose sources are drawn with Zipf-like popularity, as popular web images repeat.
SemDeDup runs with a threshold fixed in advance, ``EPS = 0.05`` (a duplicate is a row with
cosine > 0.95 to an earlier member of its k-means cluster; ``round(sqrt(n))`` clusters,
the authors' "hard" order), on the standardised signals; the number it removes is
whatever that threshold yields, not the number planted. Its precision (removed rows whose
content survives in a kept copy) and recall (of the rows the pool does not need) are
reported. Three MLPs per seed are trained for the same number of epochs (``EPOCHS``) -- on
the whole pool, on SemDeDup's subset, and on a random subset of the same size -- and scored
on the same ``N_TEST`` test signals; the subsets cost ``n_kept / n_pool`` of the gradient
steps (the paper's "halving training time" at equal epochs).

What it checks (``claim_part``) and the margins, each decided by a 90% paired bootstrap
over seeds x test items of per-item correctness (or a t-interval over seeds):

- SemDeDup beats a random removal of the same count by more than 1 point of accuracy
  (the removal is informed; random pruning is the paper's baseline);
- the whole pool beats SemDeDup by less than 2 points ("minimal performance loss": 2
  points is a loss a practitioner would still trade for the compute saved);
- SemDeDup removes more than 20% of the pool (less data to train on; under a fifth the
  compute saving would not be the paper's "speeds up learning").

The out-of-distribution and language-model parts of the abstract are not checked.

Negative control (``control=True``): the duplicates are not planted -- the pool is the
same number of *distinct* MNIST-1D signals. SemDeDup with the same threshold then finds
(next to) nothing to remove, so there is no smaller set that keeps the accuracy and no
informed removal to beat random with: the claim's effects must vanish. Precision and
recall are undefined there (no planted duplicates; nothing or only distinct rows
removed) and are reported as NaN / 0.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..io import load_builtin
from ..learners import make_learner
from ..select import select
from . import Effect, RecipeResult, paired_bootstrap, recipe, seeds_for, t_interval

NAME = "semdedup"
PAPER = "SemDeDup: Data-efficient learning at web-scale through semantic deduplication (Abbas et al., 2023)"
CLAIM = (
    "removing semantic duplicates (SemDeDup, cosine threshold 1 - eps within k-means clusters) removes a large "
    "share of the data, keeps test accuracy within 2 points of the whole pool, and beats removing the same count "
    "at random by more than 1 point"
)
CLAIM_PART = (
    "on an MNIST-1D pool with planted Zipf-popular semantic duplicates, eps = 0.05: removed share > 20%, "
    "whole pool - SemDeDup < 2 points, SemDeDup - random removal of the same count > 1 point (same epochs)"
)
CONTROL = "duplicates not planted (a pool of distinct examples)"
N_BASE = 1500
N_COPIES = 2500
ZIPF_S = 1.1
NOISE = (0.05, 0.35)  # copy = source + sigma * per-feature std * N(0, 1), sigma ~ U(NOISE) per copy
EPS = 0.05
N_TRAIN, N_TEST = 6000, 6000  # MNIST-1D rows generated: the pools are drawn from the train part
EPOCHS = 40  # every arm, quick or not: at 20 the subsets were still under-trained (test accuracy rising)
PARAMS = {"hidden": [128, 128], "batch_size": 128, "lr": 0.002}
MARGIN_RANDOM = 1.0  # points: SemDeDup - random removal of the same count
MARGIN_FULL = 2.0  # points: whole pool - SemDeDup
MARGIN_REMOVED = 0.2  # share of the pool removed
STRATEGIES = ("whole pool", "semdedup", "random")


def planted_pool(
    X: np.ndarray, y: np.ndarray, rng: np.random.Generator, *, n_copies: int = N_COPIES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X_pool, y_pool, source): the rows of ``X`` plus ``n_copies`` semantic duplicates, shuffled.

    Each copy is a Zipf-popular row plus Gaussian noise of a level drawn per copy from
    ``NOISE`` (in units of the per-feature std). ``source[i]`` is the row of ``X`` that pool
    row i copies (itself for an original).
    """
    n = len(X)
    p = 1.0 / np.arange(1, n + 1) ** ZIPF_S
    popular = rng.permutation(n)  # which rows are popular is random
    src = popular[rng.choice(n, size=n_copies, p=p / p.sum())]
    sigma = rng.uniform(*NOISE, size=(n_copies, 1))
    copies = X[src] + sigma * X.std(axis=0) * rng.standard_normal((n_copies, X.shape[1]))
    Xp = np.vstack([X, copies]).astype(np.float32)
    order = rng.permutation(len(Xp))  # copies interleaved with the originals
    source = np.r_[np.arange(n), src][order]
    return Xp[order], np.r_[y, y[src]][order], source


def removal_quality(source: np.ndarray, kept: np.ndarray) -> tuple[float, float]:
    """(precision, recall) of a removal against the planted duplicates.

    A removed row is right when another row of its source is kept (its content survives);
    recall is over the rows the pool does not need (``n - distinct sources``). Precision is
    NaN when nothing is removed, recall NaN when nothing is redundant.
    """
    survivors = np.bincount(source[kept], minlength=int(source.max()) + 1)
    removed = ~kept
    right = int((removed & (survivors[source] >= 1)).sum())
    redundant = len(source) - len(np.unique(source))
    precision = right / removed.sum() if removed.any() else float("nan")
    recall = right / redundant if redundant else float("nan")
    return float(precision), float(recall)


@functools.lru_cache(maxsize=2)
def _mnist1d(n_train: int, n_test: int, seed: int) -> tuple[Dataset, Dataset]:
    # generating MNIST-1D costs seconds; the claim and its control share one draw
    data = load_builtin("mnist1d", n_train=n_train, n_test=n_test, n_ood=10, seed=seed)
    return data.train, data.test


def semdedup_experiment(
    seeds: list[int],
    *,
    control: bool,
    epochs: int,
    n_base: int = N_BASE,
    n_copies: int = N_COPIES,
    n_train: int = N_TRAIN,
    n_test: int = N_TEST,
    data_seed: int = 42,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Per seed: build the pool, run SemDeDup at ``EPS``, train on whole / SemDeDup / random.

    Returns the per-(seed, strategy) frame and ``{strategy: (n_seeds, n_test) 0/1 correctness}``.
    With ``control`` the pool is ``n_base + n_copies`` distinct training rows.
    """
    train, test = _mnist1d(n_train, n_test, data_seed)
    rows, correct = [], {s: [] for s in STRATEGIES}
    for s in seeds:
        rng = np.random.default_rng((s, 0))
        if control:
            idx = rng.choice(train.n, size=n_base + n_copies, replace=False)
            Xp, yp, source = train.X[idx], train.y[idx], np.arange(n_base + n_copies)
        else:
            base = rng.choice(train.n, size=n_base, replace=False)
            Xp, yp, source = planted_pool(train.X[base], train.y[base], rng, n_copies=n_copies)
        pool = Dataset.from_arrays(Xp, yp, class_names=train.class_names, name="mnist1d-pool")
        E = (Xp - Xp.mean(axis=0)) / Xp.std(axis=0)
        keep = select(pool, "semdedup", None, embeddings=E, eps=EPS, seed=np.random.default_rng((s, 2)))
        kept = np.zeros(pool.n, dtype=bool)
        kept[keep] = True
        precision, recall = removal_quality(source, kept)
        rand = np.sort(select(pool, "random", len(keep), seed=np.random.default_rng((s, 1))))
        for strategy, sub in zip(STRATEGIES, (np.arange(pool.n), keep, rand), strict=True):
            lrn = make_learner("mlp", **PARAMS).fit(pool.subset(sub), epochs=epochs, seed=s)
            ok = lrn.predict_proba(test.X).argmax(axis=1) == test.y
            correct[strategy].append(ok.astype(float))
            rows.append(
                {
                    "seed": s,
                    "strategy": strategy,
                    "n_train": len(sub),
                    "distinct_sources": len(np.unique(source[sub])),
                    "accuracy": float(ok.mean()),
                    "removed": pool.n - len(keep),
                    "planted": 0 if control else n_copies,
                    "precision": precision,
                    "recall": recall,
                }
            )
    return pd.DataFrame(rows), {k: np.vstack(v) for k, v in correct.items()}


@recipe(NAME, paper=PAPER, claim=CLAIM, control=CONTROL)
def semdedup_recipe(*, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    seeds = seeds_for(seed, quick, full=4)
    epochs = EPOCHS
    details, correct = semdedup_experiment(
        seeds,
        control=control,
        epochs=epochs,
        n_base=N_BASE,
        n_copies=N_COPIES,
        n_train=N_TRAIN,
        n_test=N_TEST,
        data_seed=42 + seed,
    )
    n_pool = N_BASE + N_COPIES
    per_seed = details[details["strategy"] == "semdedup"].set_index("seed")
    share = per_seed["removed"].to_numpy() / n_pool
    method = f"paired bootstrap over {len(seeds)} seeds x {N_TEST} test items"
    vs_random = Effect(
        "SemDeDup minus random removal of the same count, test accuracy (points)",
        *paired_bootstrap(100 * correct["semdedup"], 100 * correct["random"], seed=seed),
        margin=MARGIN_RANDOM,
        method=method,
    )
    vs_full = Effect(
        "whole pool minus SemDeDup, test accuracy (points)",
        *paired_bootstrap(100 * correct["whole pool"], 100 * correct["semdedup"], seed=seed + 1),
        margin=MARGIN_FULL,
        above=False,
        method=method,
    )
    removed = Effect(
        "share of the pool SemDeDup removes",
        *t_interval(share),
        margin=MARGIN_REMOVED,
        method=f"t over {len(seeds)} seeds",
    )
    acc = details.groupby("strategy")["accuracy"].mean()
    distinct = details.groupby("strategy")["distinct_sources"].mean()
    measured = {
        "pool size": n_pool,
        "planted duplicates": 0 if control else N_COPIES,
        "eps (cosine threshold 1 - eps)": EPS,
        "removed by SemDeDup (mean over seeds)": float(per_seed["removed"].mean()),
        "precision of the removal (mean over seeds)": float(per_seed["precision"].mean()),
        "recall of the planted duplicates (mean over seeds)": float(per_seed["recall"].mean()),
        "distinct examples kept by SemDeDup (mean)": float(distinct["semdedup"]),
        "distinct examples in the random subset (mean)": float(distinct["random"]),
        **{f"{s} accuracy": float(acc[s]) for s in STRATEGIES},
        "compute of SemDeDup vs whole pool (steps)": float(1 - share.mean()),
        "epochs": epochs,
    }
    return RecipeResult(
        NAME,
        PAPER,
        CLAIM,
        measured,
        details=details,
        effects=[removed, vs_full, vs_random],
        claim_part=CLAIM_PART,
        seeds=seeds,
        sizes={"pool": n_pool, "test items": N_TEST, "epochs": epochs},
    )
