"""Equitable adaptive sampling (Cai et al., 2022): learning-curve allocation lowers the worst-group error.

The abstract: "We find that our adaptive sampling strategy outperforms several common data
collection heuristics, including equal and proportional sampling, demonstrating the value
of strategic dataset design for building equitable models." In the paper's terms: with a
fixed data-collection budget spread over subgroups, collecting sequentially and giving each
next batch to the group whose estimated learning curve promises the largest gain in the
objective (a function of the group-specific errors) beats collecting equally or in
proportion to the population.

The small experiment. A binary task with three groups whose learning curves differ, as
populations whose outcomes depend on different numbers of factors (Cai et al. simulate
polygenic risk scores). Every group has its own block of Gaussian features (and a one-hot
group code); the label is the sign of the sum of the group's features, with 5% of labels
flipped: ``easy`` (70% of the pool) 2 features, ``medium`` (15%) 10, ``hard`` (15%) 30, so
the hard group's error keeps falling over the whole budget while the easy group's is flat
after a few dozen examples. Per seed a fresh pool; ``BUDGET`` labels are collected three
ways: equally, in proportion to the pool, and adaptively. A logistic model trained on each
method's labels is scored on one test set with ``N_TEST_PER_GROUP`` rows per group; the
objective is the worst-group error.

Equal label budget: the adaptive method has to measure the groups' errors, which takes
labelled data. Here **every method gets the same labels -- exactly ``BUDGET``, all used for
training**: the adaptive method measures each group's error by ``CV_FOLDS``-fold
cross-validation on the labels it has collected so far (:func:`cv_group_errors`), so it
spends no label outside the budget. Its allocation is
:func:`datafactors.select.equitable.equitable_allocate` (curves ``a n^-b + c`` fitted per
group, rounds of ``BATCH`` after ``INITIAL`` per group, each batch to the largest predicted
fall of the worst-group error). A diagnostic arm (reported, not in the verdict) is the
``equitable`` selector's own adaptive mode, which scores every round on a held-out 30% of
every group of the pool -- 4,800 labels outside the budget, the accounting of the earlier
version of this recipe.

What it checks (``claim_part``): at the same label budget, the worst-group test error of
the better of equal and proportional sampling minus that of adaptive sampling exceeds 1
point (a 90% bootstrap over seeds x test items of each group). One point of worst-group
error is the smallest gain worth a sequential collection campaign; beating the better of
the two heuristics is the abstract's "outperforms ... equal and proportional sampling".
Costs per sample (equal here) and other objectives are not checked.

Negative control (``control=True``): the groups do not differ in difficulty -- every group
has ``CONTROL_DIM`` features, so their learning curves are the same (the pool shares stay
70/15/15). Equal allocation is then already the best worst-group allocation; learning
curves have no gap to close that equal sampling leaves, so the effect must vanish
(adaptive may still beat proportional there, which fails the minority groups by
representation alone; that difference is reported).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..learners import make_learner
from ..select import select
from ..select.equitable import equal_allocation, equitable_allocate, proportional_allocation
from . import Effect, RecipeResult, bootstrap, recipe, seeds_for

NAME = "equitable-sampling"
PAPER = "Adaptive Sampling Strategies to Construct Equitable Training Datasets (Cai et al., 2022)"
CLAIM = (
    "at the same label budget, allocating examples across groups by learning-curve gain gives a lower "
    "worst-group error than both equal and proportional allocation"
)
CLAIM_PART = (
    "three groups of different difficulty (2 / 10 / 30 features, pool 70/15/15%), 900 labels for every method "
    "(adaptive measures group errors by 5-fold CV on its own labels): worst-group error of the better of equal "
    "and proportional minus adaptive > 1 point"
)
CONTROL = "groups of equal difficulty (the same learning curve)"
GROUPS = ("easy", "medium", "hard")
DIMS = (2, 10, 30)
CONTROL_DIM = 10
SHARES = (0.7, 0.15, 0.15)
FLIP = 0.05
N_POOL, N_TEST_PER_GROUP = 16_000, 2_000
BUDGET, BATCH, INITIAL = 900, 60, 30
CV_FOLDS = 5  # the adaptive method measures group errors by cross-validation on its own labels
EPOCHS = 100  # lbfgs iterations of the logistic learner
MARGIN = 1.0  # points of worst-group error
FREE_VAL_FRACTION = 0.3  # the diagnostic arm's hold-out: 30% of every group, labels not counted
FREE = "adaptive, free hold-out"
ALLOCATIONS = ("proportional", "equal", "adaptive", FREE)


def group_task(n: int, rng: np.random.Generator, shares=SHARES, dims=DIMS) -> Dataset:
    """``n`` rows of the three-group task, groups drawn with probabilities ``shares``.

    Group k's label is the sign of the sum of its own ``dims[k]`` features (zero for the
    other groups' rows), ``FLIP`` of the labels flipped; the last three columns are the
    one-hot group code.
    """
    g = rng.choice(len(GROUPS), size=n, p=np.asarray(shares, dtype=float) / np.sum(shares))
    X = np.zeros((n, sum(dims) + len(GROUPS)), dtype=np.float32)
    y = np.zeros(n, dtype=np.int64)
    off = 0
    for k, d in enumerate(dims):
        rows = np.flatnonzero(g == k)
        z = rng.standard_normal((len(rows), d))
        y[rows] = z.sum(axis=1) > 0
        X[rows, off : off + d] = z
        off += d
    flip = rng.random(n) < FLIP
    y[flip] = 1 - y[flip]
    X[:, off:] = np.eye(len(GROUPS))[g]
    return Dataset.from_arrays(X, y, groups=np.array(GROUPS)[g], name="three-groups")


def _group_codes(groups: np.ndarray) -> np.ndarray:
    return np.select([groups == name for name in GROUPS], np.arange(len(GROUPS)), -1)


def _fit(ds: Dataset, rows: np.ndarray, seed: int):
    return make_learner("logistic").fit(ds.subset(np.sort(rows)), epochs=EPOCHS, seed=seed)


def cv_group_errors(ds: Dataset, rows: np.ndarray, codes: np.ndarray, seed: int, folds: int = CV_FOLDS) -> np.ndarray:
    """(n_groups,) error of every group by ``folds``-fold cross-validation on the labelled ``rows``.

    Folds are drawn within each group (every fold holds about a ``1 / folds`` share of
    every group); each row is predicted once, by the model fitted on the other folds.
    """
    rng = np.random.default_rng((seed, 2))
    fold = np.empty(len(rows), dtype=np.int64)
    for k in range(len(GROUPS)):
        at = np.flatnonzero(codes == k)
        fold[at] = rng.permutation(len(at)) % folds
    wrong = np.zeros(len(rows), dtype=bool)
    for f in range(folds):
        test = fold == f
        if test.any() and (~test).any():
            model = _fit(ds, rows[~test], seed)
            wrong[test] = model.predict_proba(ds.X[rows[test]]).argmax(axis=1) != ds.y[rows[test]]
    return np.array([wrong[codes == k].mean() if (codes == k).any() else 1.0 for k in range(len(GROUPS))])


def collection_order(pool: Dataset, seed: int) -> list[np.ndarray]:
    """Per group, its rows in the random order they are collected (from ``seed``).

    Every method takes the first ``n_g`` rows of group g's order, so two allocations differ
    only in their counts (a paired design: no arm wins by drawing luckier rows).
    """
    rng = np.random.default_rng((seed, 1))
    g = _group_codes(pool.groups)
    return [np.flatnonzero(g == k)[rng.permutation(int((g == k).sum()))] for k in range(len(GROUPS))]


def take_rows(order: list[np.ndarray], counts) -> np.ndarray:
    return np.concatenate([o[: int(n)] for o, n in zip(order, counts, strict=True)])


def adaptive_rows(pool: Dataset, budget: int, seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    """The ``budget`` rows adaptive sampling labels, and the allocation's round-by-round history.

    :func:`equitable_allocate` (worst-group objective, rounds of ``BATCH`` after
    ``INITIAL`` per group) with each round's group errors measured by
    :func:`cv_group_errors` on the rows labelled so far -- no label outside the budget.
    Rows are collected in :func:`collection_order`.
    """
    order = collection_order(pool, seed)
    g = _group_codes(pool.groups)

    def evaluate(counts: np.ndarray) -> np.ndarray:
        take = take_rows(order, counts)
        return cv_group_errors(pool, take, g[take], seed)

    res = equitable_allocate(evaluate, [len(o) for o in order], budget, batch=BATCH, initial=INITIAL)
    return take_rows(order, res.counts), res.history


def equitable_experiment(
    seeds: list[int], *, control: bool, test_seed: int, n_pool: int = N_POOL, budget: int = BUDGET
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Per seed a pool, the allocations of ``budget`` labels (``ALLOCATIONS``), per-item test errors.

    Returns the per-(seed, allocation) frame and ``{allocation: (n_seeds, n_test) 0/1 errors}``
    on one test set (``N_TEST_PER_GROUP`` rows per group, ordered by group). ``labels``
    counts every label a method used, hold-out included.
    """
    dims = (CONTROL_DIM,) * len(GROUPS) if control else DIMS
    test = group_task(len(GROUPS) * N_TEST_PER_GROUP, np.random.default_rng(test_seed), shares=(1, 1, 1), dims=dims)
    test = test.subset(np.argsort(_group_codes(test.groups), kind="stable"))
    rows, wrong = [], {a: [] for a in ALLOCATIONS}
    for s in seeds:
        pool = group_task(n_pool, np.random.default_rng((s, 0)), dims=dims)
        order = collection_order(pool, s)
        for allocation in ALLOCATIONS:
            extra = 0  # labels spent outside the budget
            if allocation == "adaptive":
                idx, _ = adaptive_rows(pool, budget, s)
            elif allocation == FREE:
                idx = select(
                    pool,
                    "equitable",
                    budget,
                    allocation="adaptive",
                    batch=BATCH,
                    initial=INITIAL,
                    val_fraction=FREE_VAL_FRACTION,
                    epochs=EPOCHS,
                    seed=s,
                )
                extra = int(sum(round(FREE_VAL_FRACTION * (pool.groups == name).sum()) for name in GROUPS))
            else:
                split = equal_allocation if allocation == "equal" else proportional_allocation
                idx = take_rows(order, split([len(o) for o in order], budget))
            err = _fit(pool, idx, s).predict_proba(test.X).argmax(axis=1) != test.y
            wrong[allocation].append(err.astype(float))
            counts = pd.Series(pool.groups[idx]).value_counts()
            by_group = {name: float(err[test.groups == name].mean()) for name in GROUPS}
            rows.append(
                {
                    "allocation": allocation,
                    "seed": s,
                    "labels": len(idx) + extra,
                    **{f"n_{name}": int(counts.get(name, 0)) for name in GROUPS},
                    **{f"error_{name}": by_group[name] for name in GROUPS},
                    "worst_group_error": max(by_group.values()),
                    "mean_error": float(np.mean(list(by_group.values()))),
                }
            )
    return pd.DataFrame(rows), {a: np.vstack(v) for a, v in wrong.items()}


def worst_group_gap(wrong: dict[str, np.ndarray], per_group: int, arm: str = "adaptive"):
    """Statistic for :func:`bootstrap` over (seeds, items of group 1, 2, 3): the mean over seeds of
    the worst-group error (points) of the better of equal and proportional minus ``arm``'s.

    ``wrong[a]`` is ``(n_seeds, n_groups * per_group)`` 0/1 errors, the test items ordered by group.
    """
    G = len(GROUPS)

    def stat(s, *items):
        def worst(a):
            W = wrong[a][s]
            return np.max([W[:, k * per_group + items[k]].mean(axis=1) for k in range(G)], axis=0).mean()

        return 100 * (min(worst("equal"), worst("proportional")) - worst(arm))

    return stat


@recipe(NAME, paper=PAPER, claim=CLAIM, control=CONTROL)
def equitable_sampling(*, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    seeds = seeds_for(seed, quick, full=10)
    details, wrong = equitable_experiment(seeds, control=control, test_seed=10_000 + seed)
    axes = [len(seeds)] + [N_TEST_PER_GROUP] * len(GROUPS)
    effect = Effect(
        "worst-group test error, better of equal / proportional minus adaptive (points)",
        *bootstrap(worst_group_gap(wrong, N_TEST_PER_GROUP), axes, seed=seed),
        margin=MARGIN,
        method=f"bootstrap over {len(seeds)} seeds x {N_TEST_PER_GROUP} test items per group",
    )
    free = bootstrap(worst_group_gap(wrong, N_TEST_PER_GROUP, FREE), axes, seed=seed)
    mean = details.groupby("allocation").mean(numeric_only=True)
    worst = mean["worst_group_error"]
    measured = {
        "label budget (every method)": BUDGET,
        **{f"worst-group error, {a}": float(worst[a]) for a in ALLOCATIONS},
        "equal minus adaptive, worst-group error (points)": float(100 * (worst["equal"] - worst["adaptive"])),
        "proportional minus adaptive, worst-group error (points)": float(
            100 * (worst["proportional"] - worst["adaptive"])
        ),
        **{f"adaptive labels of group {g} (mean)": float(mean.loc["adaptive", f"n_{g}"]) for g in GROUPS},
        "mean error over groups, adaptive": float(mean.loc["adaptive", "mean_error"]),
        "mean error over groups, equal": float(mean.loc["equal", "mean_error"]),
        # diagnostic, not part of the verdict: the selector's adaptive mode with a free hold-out
        "labels of the free hold-out arm (budget + hold-out)": float(mean.loc[FREE, "labels"]),
        **{f"free hold-out arm labels of group {g} (mean)": float(mean.loc[FREE, f"n_{g}"]) for g in GROUPS},
        "free hold-out arm: better baseline minus it, worst-group error (points)": free[0],
        "free hold-out arm: 90% interval, low": free[1],
        "free hold-out arm: 90% interval, high": free[2],
    }
    return RecipeResult(
        NAME,
        PAPER,
        CLAIM,
        measured,
        details=details,
        effects=[effect],
        claim_part=CLAIM_PART,
        seeds=seeds,
        sizes={"pool": N_POOL, "budget": BUDGET, "test items per group": N_TEST_PER_GROUP},
    )
