"""Equitable adaptive sampling (Cai et al.): allocate by per-group learning-curve gain, lower worst-group error.

A binary task with three groups whose learning curves differ, as populations whose
outcomes depend on different numbers of factors (Cai et al. simulate polygenic risk
scores). Every group has its own block of Gaussian features (and a one-hot group code);
the label is the sign of the sum of the group's features, with 5% of labels flipped:

- ``easy`` (70% of the pool): 2 features -- learned from a few dozen examples;
- ``medium`` (15%): 10 features;
- ``hard`` (15%): 30 features -- its error keeps falling over the whole budget.

A budget of ``BUDGET`` examples is allocated three ways: in proportion to the pool (the
natural mix), equally, and adaptively (``equitable`` selector: rounds of ``BATCH``, a
logistic model trained each round, per-group curves ``a n^-b + c`` fitted to errors on a
held-out validation part of the pool, each batch to the largest predicted fall of the
worst-group error). A logistic model trained on each allocation is scored on a separate
test set with equally many rows per group; the objective is the worst-group error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..learners import make_learner
from ..select import select
from . import RecipeResult, recipe

PAPER = "Adaptive Sampling Strategies to Construct Equitable Training Datasets (Cai et al., 2022)"
CLAIM = (
    "at the same budget, allocating examples across groups by learning-curve gain gives a lower worst-group "
    "error than both equal and proportional allocation"
)
GROUPS = ("easy", "medium", "hard")
DIMS = (2, 10, 30)
SHARES = (0.7, 0.15, 0.15)
FLIP = 0.05
N_POOL, N_TEST = 16_000, 6_000
BUDGET, BATCH, INITIAL = 900, 60, 30
VAL_FRACTION = 0.3
EPOCHS = 100  # lbfgs iterations of the logistic learner


def group_task(n: int, rng: np.random.Generator, shares=SHARES) -> Dataset:
    """``n`` rows of the three-group task, groups drawn with probabilities ``shares``."""
    g = rng.choice(len(GROUPS), size=n, p=np.asarray(shares, dtype=float) / np.sum(shares))
    X = np.zeros((n, sum(DIMS) + len(GROUPS)), dtype=np.float32)
    y = np.zeros(n, dtype=np.int64)
    off = 0
    for k, d in enumerate(DIMS):
        rows = np.flatnonzero(g == k)
        z = rng.standard_normal((len(rows), d))
        y[rows] = z.sum(axis=1) > 0
        X[rows, off : off + d] = z
        off += d
    flip = rng.random(n) < FLIP
    y[flip] = 1 - y[flip]
    X[:, off:] = np.eye(len(GROUPS))[g]
    return Dataset.from_arrays(X, y, groups=np.array(GROUPS)[g], name="three-groups")


def group_errors(model, ds: Dataset) -> dict[str, float]:
    wrong = model.predict_proba(ds.X).argmax(1) != ds.y
    return {name: float(wrong[ds.groups == name].mean()) for name in GROUPS}


@recipe("equitable-sampling", paper=PAPER, claim=CLAIM)
def equitable_sampling(*, seed: int = 0, quick: bool = False) -> RecipeResult:
    seeds = [seed + k for k in range(4 if quick else 10)]
    rng = np.random.default_rng(seed)
    pool = group_task(N_POOL, rng)
    test = group_task(N_TEST, rng, shares=(1, 1, 1))
    rows = []
    for s in seeds:
        for allocation in ("proportional", "equal", "adaptive"):
            opts = {}
            if allocation == "adaptive":
                opts = {"batch": BATCH, "initial": INITIAL, "val_fraction": VAL_FRACTION, "epochs": EPOCHS}
            idx = select(pool, "equitable", BUDGET, allocation=allocation, seed=s, **opts)
            model = make_learner("logistic").fit(pool.subset(np.sort(idx)), epochs=EPOCHS, seed=s)
            errs = group_errors(model, test)
            counts = pd.Series(pool.groups[idx]).value_counts()
            rows.append(
                {
                    "allocation": allocation,
                    "seed": s,
                    **{f"n_{g}": int(counts.get(g, 0)) for g in GROUPS},
                    **{f"error_{g}": errs[g] for g in GROUPS},
                    "worst_group_error": max(errs.values()),
                    "mean_error": float(np.mean(list(errs.values()))),
                }
            )
    details = pd.DataFrame(rows)
    mean = details.groupby("allocation").mean(numeric_only=True)
    worst = mean["worst_group_error"]
    margin = float(min(worst["equal"], worst["proportional"]) - worst["adaptive"])
    wide = details.pivot(index="seed", columns="allocation", values="worst_group_error")
    measured = {
        "budget": BUDGET,
        **{f"worst-group error, {a}": float(worst[a]) for a in ("adaptive", "equal", "proportional")},
        **{f"adaptive examples of group {g} (mean)": float(mean.loc["adaptive", f"n_{g}"]) for g in GROUPS},
        "adaptive minus best baseline, worst-group error (points)": -100 * margin,
        "seeds where adaptive beats equal": int((wide["adaptive"] < wide["equal"]).sum()),
        "mean error over groups, adaptive": float(mean.loc["adaptive", "mean_error"]),
        "mean error over groups, equal": float(mean.loc["equal", "mean_error"]),
        "seeds": len(seeds),
    }
    held = margin > 0
    return RecipeResult("equitable-sampling", PAPER, CLAIM, measured, held, details)
