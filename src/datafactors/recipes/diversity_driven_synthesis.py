"""Diversity-Driven Synthesis (Du et al., 2024) and its baseline, Distribution Matching (Zhao & Bilen).

The abstract's sentences this recipe checks: "This paradigm generates synthetic datasets
that are representative enough to replace the original dataset in training a neural
network." and "We argue that enhancing diversity can improve the parallelizable yet
isolated synthesizing approach. Specifically, we introduce a novel method that employs
dynamic and directed weight adjustment techniques to modulate the synthesis process,
thereby maximizing the representativeness and diversity of each synthetic instance."
In the papers' terms: (DM) ``ipc`` synthetic examples per class learned by matching
random-network mean embeddings train a better model than the same number of real
examples chosen at random or by a core-set method (k-center); (DWA) synthesizing each
batch under its own directed weight perturbation makes the batches more diverse than
isolated synthesis without it, and the more diverse set trains a better model.

What is checked at this scale (``CLAIM_PART``). Data: scikit-learn's 8x8 digits, the
built-in stratified 80/20 split drawn afresh for every seed (1438 train / 359 test
rows). Synthesis: :mod:`datafactors.augment.synthesis` with its documented defaults
(200 steps, lr 0.5, ``init="real"``, random ReLU MLPs of width 128, ρ = 0.2), one torch
thread; ``dm`` in DM's joint mode, and at ipc 10 also ``dm`` with ``mode="isolated"``
(the "parallelizable yet isolated" synthesis DWA improves) and ``dwa`` (isolated, with
the directed weight adjustment). The three syntheses of one seed and ipc share the
synthesis seed, so they start from the same real rows and see the same random networks
and real batches: their differences are the mechanism alone. Baselines: ``ipc`` real rows
per class chosen at random and by k-center greedy in pixel space, both class-balanced
(the papers' core-set baselines pick ``ipc`` images per class). At ipc 1 k-center's
only pick per class is its random start, so k-center is reported there but not tested.
Proxy: multinomial logistic regression (scikit-learn, C = 1, lbfgs) trained on the
``10 * ipc`` rows, scored on the test rows, every row scaled by the *real* training data's
per-pixel mean and std -- the dataset's fixed preprocessing, as the papers normalise
images by the real data's statistics. Logistic regression rather than an MLP because its
fit is convex and seed-free: with 10 to 100 training rows an MLP's initialisation noise
is as large as the differences between the training sets, and the claim is about the
training set, not the learner (the papers train ConvNets; a small model is what this
scale affords). Diversity: the mean pairwise Euclidean distance between the rows of a
class (pixel units, 0-16 scale), per (seed, class). The matching loss of each set under
20 fixed random networks (the same for every arm of a seed) is reported.

Effects, margins fixed before the final runs (the docs' measured table in
docs/augment.md -- random 0.634 / dm 0.891 at ipc 1, 0.898 / 0.942 at ipc 10, isolated
0.897 / dwa 0.895, spreads 2.2 / 6.5 -- was known when they were set; the margins are the
gains a practitioner would act on, not fitted to those numbers):

- DM minus random real rows, test accuracy, ipc 1: lower end > **5 points**;
- DM minus random real rows, ipc 10: lower end > **1 point**;
- DM minus k-center real rows, ipc 10: lower end > **1 point**
  (these three: paired bootstrap over seeds x test items of 0/1 correctness; the test
  rows differ by seed, so "item i" is the i-th test row of each seed's split);
- DWA over isolated DM, within-class spread ratio, ipc 10: lower end > **1.5**
  (bootstrap over seeds x classes of the ratio of mean spreads; "more diverse" must be
  a clear multiple, not a rounding difference);
- DWA minus isolated DM, test accuracy, ipc 10: lower end > **0.5 points** (the paper's
  "improve the ... isolated synthesizing approach"; paired bootstrap as above).

The registered claim is decided by all five; if DWA's accuracy gain is absent the
verdict is "not held", which is a finding at this scale, not a defect.

Choices made after seeing data (disclosed): (1) the first quick run (seeds 0, 1) used the
project's ``logistic`` learner, which standardises on its own training rows -- on 10 rows
(one per class) or on 100 near-collapsed isolated rows that re-scaling is degenerate and
not what the papers do; it was replaced by the real-data scaling above. Under it the
quick numbers were: DM - random 18.0 points (ipc 1), 2.65 (ipc 10), DM - k-center 0.70,
DWA - isolated 2.09 [0.28, 4.18], spread ratio 3.11 (the synthesis is unchanged). (2) The
full size runs 5 seeds rather than the 4 first written: in the quick control two
independent 1-per-class random samples differed by 10 points, so a bootstrap over few
seeds understates how much one random sample differs from another.

Measured at full size (5 seeds): DM beats random real rows by 29.7 points at ipc 1 and
4.0 at ipc 10, and class-balanced k-center by 3.5 at ipc 10 (all held); DWA spreads the
isolated batches 3.2-fold (2.0 -> 6.5 pixels; the real rows: 36) and lowers their
matching loss (14.1 -> 13.0), but trains no better proxy (-0.1 [-1.1, 0.8] points;
isolated syntheses of either kind stay ~6 points below joint DM, whose classes never
collapse): the claim is not held at this scale.

Negative control (``control=True``): the synthesis does no matching (``steps=0``), so
every "synthetic" row is the real row it would have started from -- a class-balanced
random sample, and DWA and isolated DM are the same rows. Nothing is learned from the
data, so DM cannot beat an independent random sample or k-center, and the spread ratio
and the DWA gain are exactly 1 and 0: every effect must be "not held".
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..augment import augment
from ..augment.synthesis import matching_loss
from ..dataset import Dataset
from ..io import load_builtin
from ..select import select
from . import Effect, RecipeResult, bootstrap, one_blas_thread, paired_bootstrap, recipe, seeds_for

NAME = "diversity-driven-synthesis"
PAPER = (
    "Diversity-Driven Synthesis: Enhancing Dataset Distillation through Directed Weight Adjustment "
    "(Du et al., NeurIPS 2024), with Dataset Condensation with Distribution Matching (Zhao & Bilen, WACV 2023)"
)
CLAIM = (
    "a small synthetic set learned by distribution matching trains a better model than the same number of real "
    "examples chosen at random or by k-center; directed weight adjustment makes isolated synthesis more diverse "
    "and trains a better model than isolated synthesis without it"
)
CLAIM_PART = (
    "digits (1438 train / 359 test, split per seed), logistic-regression proxy on 10 x ipc rows, 200 synthesis "
    "steps, rho = 0.2: DM - random > 5 points at ipc 1 and > 1 point at ipc 10, DM - class-balanced k-center "
    "> 1 point at ipc 10; at ipc 10 DWA / isolated DM within-class spread > 1.5 and DWA - isolated DM > 0.5 points"
)
CONTROL = "no matching (steps=0): the synthetic rows are their real initial rows, a class-balanced random sample"
IPCS = (1, 10)
FULL_SEEDS = 5  # a random 1-per-class sample varies much from seed to seed; see the notes on the design
IPC_DIVERSITY = 10  # ipc of the DWA / isolated comparison (at ipc 1 a class has no spread)
STEPS = 200
RHO = 0.2
TEST_SIZE = 0.2
C = 1.0  # logistic regression's inverse L2 strength (scikit-learn's default)
MAX_ITER = 1000  # lbfgs iterations cap: the fits on <= 100 rows converge well before it
N_NETS = 20  # random networks of the matching-loss yardstick
MARGIN_DM_RANDOM = {1: 5.0, 10: 1.0}  # points of test accuracy, DM - random, per ipc
MARGIN_DM_KCENTER = 1.0  # points, DM - k-center at ipc 10
MARGIN_SPREAD = 1.5  # ratio of within-class spreads, DWA / isolated DM
MARGIN_DWA = 0.5  # points, DWA - isolated DM


def within_class_spread(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean pairwise Euclidean distance between the rows of each class, in ``np.unique(y)`` order.

    Parameters
    ----------
    X : (n, d) rows; y : (n,) class labels.

    Returns
    -------
    (n_classes,) float64; NaN for a class with a single row (no pair).

    Examples
    --------
    >>> within_class_spread(np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]]), np.array([0, 0, 1])).tolist()
    [5.0, nan]
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    out = []
    for c in np.unique(y):
        Z = X[y == c]
        m = len(Z)
        if m < 2:
            out.append(np.nan)
            continue
        sq = (Z**2).sum(1)
        d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * Z @ Z.T, 0.0)
        iu = np.triu_indices(m, 1)
        out.append(float(np.sqrt(d2[iu]).mean()))
    return np.array(out)


def spread_ratio(a: np.ndarray, b: np.ndarray, *, seed: int) -> tuple[float, float, float]:
    """Ratio of mean spreads ``mean(a) / mean(b)`` over (seeds, classes), bootstrap over both axes.

    ``a``, ``b`` : (n_seeds, n_classes) per-(seed, class) spreads of two syntheses; each
    draw resamples seeds and classes (the same draw for both arms, so they stay paired).
    """
    a, b = np.atleast_2d(a), np.atleast_2d(b)

    def stat(i: np.ndarray, j: np.ndarray) -> float:
        den = b[np.ix_(i, j)].mean()
        return float(a[np.ix_(i, j)].mean() / den) if den > 0 else float("nan")

    return bootstrap(stat, list(a.shape), seed=seed)


def real_scaler(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, scale) of the real training rows per column; a constant column gets scale 1.

    Examples
    --------
    >>> m, sd = real_scaler(np.array([[0.0, 5.0], [2.0, 5.0]]))
    >>> m.tolist(), sd.tolist()
    ([1.0, 5.0], [1.0, 1.0])
    """
    X = np.asarray(X, dtype=np.float64)
    sd = X.std(axis=0)
    return X.mean(axis=0), np.where(sd > 1e-12, sd, 1.0)


def proxy_predict(
    X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, scaler: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """Test predictions of the proxy: logistic regression on rows scaled by the *real* data's statistics.

    The scaling is the dataset's fixed preprocessing (as the papers normalise images by the
    real data's mean and std), not re-fitted on the 10 to 100 training rows.
    """
    from sklearn.linear_model import LogisticRegression

    mean, scale = scaler
    model = LogisticRegression(C=C, max_iter=MAX_ITER)
    model.fit((np.asarray(X_train, dtype=np.float64) - mean) / scale, y_train)
    return model.predict((np.asarray(X_test, dtype=np.float64) - mean) / scale)


@functools.lru_cache(maxsize=8)
def _digits(seed: int, test_size: float) -> tuple[Dataset, Dataset]:
    data = load_builtin("digits", seed=seed, test_size=test_size)
    return data.train, data.test


def _training_sets(train: Dataset, ipc: int, s: int, steps: int) -> dict[str, Dataset]:
    """The arms of one (seed, ipc): real rows (random, k-center) and syntheses (dm, and at IPC_DIVERSITY isolated, dwa)."""
    rand = select(train, "random", 10 * ipc, class_balanced=True, seed=np.random.default_rng((s, 1, ipc)))
    kcen = select(train, "kcenter", 10 * ipc, class_balanced=True, seed=np.random.default_rng((s, 2, ipc)))
    sets = {"random": train.subset(rand), "kcenter": train.subset(kcen)}
    synth = {"ipc": ipc, "steps": steps, "rho": RHO, "n_threads": 1}
    # one synthesis seed for every synthesizer of this (seed, ipc): same initial rows, networks, batches
    syn_seed = (s, 3, ipc)
    sets["dm"] = augment(train, "dm", seed=np.random.default_rng(syn_seed), **synth)
    if ipc == IPC_DIVERSITY:
        sets["dm isolated"] = augment(train, "dm", mode="isolated", seed=np.random.default_rng(syn_seed), **synth)
        sets["dwa"] = augment(train, "dwa", seed=np.random.default_rng(syn_seed), **synth)
    return sets


def synthesis_experiment(
    seeds: list[int],
    *,
    control: bool,
    ipcs: tuple[int, ...] = IPCS,
    steps: int = STEPS,
    test_size: float = TEST_SIZE,
) -> tuple[pd.DataFrame, dict[tuple[str, int], np.ndarray], dict[str, np.ndarray]]:
    """Per seed and ipc: build every training set, train the proxy on it, score the test rows.

    Returns the per-(seed, ipc, arm) frame, ``{(arm, ipc): (n_seeds, n_test) 0/1 correctness}``
    and ``{arm: (n_seeds, n_classes) within-class spread}`` at ``IPC_DIVERSITY`` (when in
    ``ipcs``). With ``control`` the synthesizers run 0 steps.
    """
    rows: list[dict] = []
    correct: dict[tuple[str, int], list[np.ndarray]] = {}
    spreads: dict[str, list[np.ndarray]] = {}
    for s in seeds:
        train, test = _digits(s, test_size)
        scaler = real_scaler(train.X)
        for ipc in ipcs:
            sets = _training_sets(train, ipc, s, 0 if control else steps)
            for arm, ds in sets.items():
                ok = (proxy_predict(ds.X, ds.y, test.X, scaler) == test.y).astype(float)
                correct.setdefault((arm, ipc), []).append(ok)
                spread = within_class_spread(ds.X, ds.y)
                if ipc == IPC_DIVERSITY:
                    spreads.setdefault(arm, []).append(spread)
                # the same networks for every arm of a seed: the losses compare the sets
                loss = matching_loss(
                    train.X, train.y, ds.X, ds.y, n_nets=N_NETS, seed=np.random.default_rng((s, 4)), n_threads=1
                )
                rows.append(
                    {
                        "seed": s,
                        "ipc": ipc,
                        "arm": arm,
                        "n_train": ds.n,
                        "accuracy": float(ok.mean()),
                        "spread": float(np.nanmean(spread)) if ipc > 1 else float("nan"),
                        "matching_loss": loss,
                    }
                )
    return (
        pd.DataFrame(rows),
        {k: np.vstack(v) for k, v in correct.items()},
        {k: np.vstack(v) for k, v in spreads.items()},
    )


def _run(*, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    seeds = seeds_for(seed, quick, full=FULL_SEEDS)
    details, correct, spreads = synthesis_experiment(seeds, control=control)
    n_test = correct[("dm", IPCS[0])].shape[1]
    method = f"paired bootstrap over {len(seeds)} seeds x {n_test} test items"

    def acc_effect(label: str, a: tuple[str, int], b: tuple[str, int], margin: float, k: int) -> Effect:
        est = paired_bootstrap(100 * correct[a], 100 * correct[b], seed=seed + k)
        return Effect(label, *est, margin=margin, method=method)

    effects = [
        acc_effect(
            f"DM minus random real rows, ipc {ipc}, test accuracy (points)",
            ("dm", ipc),
            ("random", ipc),
            MARGIN_DM_RANDOM[ipc],
            k,
        )
        for k, ipc in enumerate(IPCS)
    ]
    effects.append(
        acc_effect(
            f"DM minus k-center real rows, ipc {IPC_DIVERSITY}, test accuracy (points)",
            ("dm", IPC_DIVERSITY),
            ("kcenter", IPC_DIVERSITY),
            MARGIN_DM_KCENTER,
            10,
        )
    )
    effects.append(
        Effect(
            f"DWA / isolated DM, within-class mean pairwise distance, ipc {IPC_DIVERSITY} (ratio)",
            *spread_ratio(spreads["dwa"], spreads["dm isolated"], seed=seed + 11),
            margin=MARGIN_SPREAD,
            method=f"bootstrap over {len(seeds)} seeds x {spreads['dwa'].shape[1]} classes",
        )
    )
    effects.append(
        acc_effect(
            f"DWA minus isolated DM, ipc {IPC_DIVERSITY}, test accuracy (points)",
            ("dwa", IPC_DIVERSITY),
            ("dm isolated", IPC_DIVERSITY),
            MARGIN_DWA,
            12,
        )
    )
    mean = details.groupby(["ipc", "arm"])[["accuracy", "spread", "matching_loss"]].mean()
    measured: dict[str, float | int] = {}
    for ipc in IPCS:
        for arm in ("random", "kcenter", "dm", "dm isolated", "dwa"):
            if (ipc, arm) in mean.index:
                measured[f"{arm} accuracy, ipc {ipc}"] = float(mean.loc[(ipc, arm), "accuracy"])
    for arm in ("random", "kcenter", "dm", "dm isolated", "dwa"):
        measured[f"{arm} within-class spread, ipc {IPC_DIVERSITY} (pixels)"] = float(
            mean.loc[(IPC_DIVERSITY, arm), "spread"]
        )
    for arm in ("random", "dm", "dm isolated", "dwa"):
        measured[f"{arm} matching loss, ipc {IPC_DIVERSITY}"] = float(mean.loc[(IPC_DIVERSITY, arm), "matching_loss"])
    measured["synthesis steps"] = 0 if control else STEPS
    return RecipeResult(
        NAME,
        PAPER,
        CLAIM,
        measured,
        details=details,
        effects=effects,
        claim_part=CLAIM_PART,
        seeds=seeds,
        sizes={
            "train rows": _digits(seeds[0], TEST_SIZE)[0].n,
            "test items": n_test,
            "ipc": max(IPCS),
            "steps": 0 if control else STEPS,
        },
    )


# many small lbfgs fits and one-thread torch syntheses: BLAS threads cost more than they save
run_synthesis = one_blas_thread(_run)


@recipe(NAME, paper=PAPER, claim=CLAIM, control=CONTROL)
def diversity_driven_synthesis(*, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    return run_synthesis(seed=seed, quick=quick, control=control)
