"""Crafted shifts as validation sets (Efthymiadis et al., 2024): select models that generalize OOD.

The abstract: "The standard practice of validation on the training distribution does not
accurately reflect the model's generalization ability, while validation on the test
distribution is a malpractice to avoid. In this work, we construct an independent
validation set by transforming source domain images with a comprehensive list of
augmentations, covering a broad spectrum of potential distribution shifts in target
domains." and "The proposed validation achieves a relative accuracy improvement over the
standard validation equal to 15.4% or 1.6% when used for method selection or learning
rate tuning, respectively." In the paper's terms: choosing among methods by their
accuracy on crafted-shift validation sets picks methods that are more accurate on an
unseen target domain than choosing by in-distribution validation accuracy.

The small experiment (scikit-learn's 8x8 digits). Each seed splits the images into
train / ID validation / crafted validation / test rows (900 / 300 / 300 / 297,
disjoint). A pool of 24 candidate methods (k-NN for four k, RBF SVMs for three gamma,
decision tree, random forest, extra trees, naive Bayes, nearest centroid; each also
trained with brightness/contrast jitter, which is none of the crafted families) is
trained once per seed. The shift families of :mod:`datafactors.augment.crafted` (noise,
blur, shift/affine, invert, quantize, dropout) are held out *one family at a time*: the
target domain is the test rows under the held-out family, the crafted validation score
is the mean accuracy on the crafted-validation rows under the other five families, so
the test shift is never one of the validation families. The ID-selected model is the
most accurate on the plain ID validation rows. A pick among candidates tied at the top
score is uniform (its expected correctness is used), so neither arm gains from the
order of the pool. ``invert`` is a validation family but not a target: on digits every
candidate is at chance under it (at most ~12%, chance 10%; reported in ``measured``),
so as a target it would only compare coin flips.

What it can check: that selection by crafted-shift validation picks candidates with
higher accuracy under an unseen shift family than selection by ID validation, on average
over the five held-out target families (each family's gain is reported). It cannot check
real target domains (PACS, DomainNet ...), deep networks, learning-rate tuning, or the
paper's edge-map training methods.

Margin, fixed before the runs: the crafted-selected model must be at least 1 point of
OOD accuracy better (the lower end of the 90% interval above 1 point; the paper's 15.4%
relative gain would be about 12 points here); the interval is a paired bootstrap over
seeds (6 at full size: a pick is a discrete event, so seeds vary much) and (held-out
family, test image) items.

Negative control: the "crafted" validation rows are left un-augmented — i.i.d. data
relabelled as crafted (same rows, same pool, same test images; only the validation
score changes). Validation then carries no information about any shift, only about
in-distribution accuracy, so its pick can be no better OOD than the ID pick; the
advantage must vanish.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from . import RecipeResult, recipe
from ._evidence import Effect, paired_bootstrap, seeds_for

NAME = "crafted-shifts"
PAPER = (
    "Crafting Distribution Shifts for Validation and Training in Single Source Domain Generalization "
    "(Efthymiadis et al., 2024)"
)
CLAIM = (
    "selecting a model by its accuracy on crafted-shift validation sets picks a model that is more accurate on an "
    "unseen shift than selecting by ID validation accuracy (gain > 1 point of OOD accuracy)"
)
CLAIM_PART = (
    "digits, 24 scikit-learn candidates; leave-one-shift-family-out: selected on the other five crafted "
    "families, tested on the held-out one (noise, blur, shift, quantize, dropout)"
)
CONTROL = "crafted validation rows left un-augmented (i.i.d. data relabelled as crafted): no shift information"
MARGIN = 1.0  # points of OOD accuracy
SPLIT = (900, 300, 300)  # train, ID validation, crafted validation rows; the rest (297) is test
# held-out target families; invert is validation-only: on digits every candidate is at chance under it
TARGETS = ("noise", "blur", "shift", "quantize", "dropout")


def zoo() -> dict[str, Callable[[], object]]:
    """The candidate methods (constructors); each is also trained with :func:`jitter`."""
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier, NearestCentroid
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    return {
        "1-NN": lambda: KNeighborsClassifier(1),
        "5-NN": lambda: KNeighborsClassifier(5),
        "15-NN": lambda: KNeighborsClassifier(15),
        "40-NN": lambda: KNeighborsClassifier(40),
        "RBF SVM gamma=1e-4": lambda: SVC(gamma=1e-4),
        "RBF SVM gamma=4e-4": lambda: SVC(gamma=4e-4),
        "RBF SVM gamma=1.6e-3": lambda: SVC(gamma=1.6e-3),
        "random forest": lambda: RandomForestClassifier(30, random_state=0),
        "extra trees": lambda: ExtraTreesClassifier(30, random_state=0),
        "decision tree": lambda: DecisionTreeClassifier(random_state=0),
        "naive Bayes": lambda: GaussianNB(),
        "nearest centroid": lambda: NearestCentroid(),
    }


def jitter(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness / contrast jitter on the 0-16 pixel scale (none of the crafted families)."""
    return np.clip(X * rng.uniform(0.6, 1.4, (len(X), 1)) + rng.uniform(-2, 2, (len(X), 1)), 0, 16)


def score_pool(seed: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Train the pool on one seed's split; accuracy on ID / per-family validation, test correctness.

    Returns a frame (one row per candidate: ``id_val``; ``iid_val``, the crafted-validation
    rows un-augmented; ``val:<family>``; ``test:<family>``) and, per family, the
    (n_candidates, n_test) 0/1 correctness on the test rows under it. The claim and its
    control read the same pool (cached per seed), so they differ only in the validation
    score.
    """
    frame, correct = _score_pool(int(seed))
    return frame.copy(), {f: v.copy() for f, v in correct.items()}


@functools.lru_cache(maxsize=8)
def _score_pool(seed: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    from sklearn.datasets import load_digits

    from ..augment.crafted import FAMILIES, apply_family

    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng([seed, 0])
    perm = rng.permutation(len(y))
    a, b, c = np.cumsum(SPLIT)
    tr, vid, vcr, te = perm[:a], perm[a:b], perm[b:c], perm[c:]
    X_jit = np.vstack([X[tr], jitter(X[tr], rng), jitter(X[tr], rng)])
    y_jit = np.tile(y[tr], 3)
    val = [apply_family(X[vcr], f, seed=rng) for f in FAMILIES]
    test = [apply_family(X[te], f, seed=rng) for f in FAMILIES]
    queries = np.vstack([X[vid], X[vcr], *val, *test])  # one predict call per model
    truth = np.concatenate([y[vid], np.tile(y[vcr], 1 + len(FAMILIES)), np.tile(y[te], len(FAMILIES))])
    cuts = np.cumsum([len(vid)] + [len(vcr)] * (1 + len(FAMILIES)) + [len(te)] * len(FAMILIES))[:-1]
    rows, correct = [], {f: [] for f in FAMILIES}
    for name, make in zoo().items():
        for aug in (False, True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # nearest centroid: constant pixels within a class
                model = make().fit(X_jit if aug else X[tr], y_jit if aug else y[tr])
            ok = np.split(model.predict(queries) == truth, cuts)
            r = {
                "seed": seed,
                "model": name + (" + jitter" if aug else ""),
                "id_val": float(ok[0].mean()),
                "iid_val": float(ok[1].mean()),
            }
            for k, f in enumerate(FAMILIES):
                r[f"val:{f}"] = float(ok[2 + k].mean())
            for k, f in enumerate(FAMILIES):
                r[f"test:{f}"] = float(ok[2 + len(FAMILIES) + k].mean())
                correct[f].append(ok[2 + len(FAMILIES) + k])
            rows.append(r)
    return pd.DataFrame(rows), {f: np.array(v, dtype=float) for f, v in correct.items()}


def _best(score: np.ndarray) -> np.ndarray:
    """Indices of the candidates tied at the top score (a pick is uniform among them)."""
    return np.flatnonzero(score >= score.max() - 1e-12)


@recipe(NAME, paper=PAPER, claim=CLAIM, control=CONTROL)
def crafted_shifts(*, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    from scipy.stats import kendalltau

    from ..augment.crafted import FAMILIES

    seeds = seeds_for(seed, quick, full=6)
    frames, crafted_rows, id_rows, picks = [], [], [], []
    taus: dict[str, list[float]] = {"crafted": [], "id": []}
    for s in seeds:
        pool, correct = score_pool(s)
        frames.append(pool)
        id_pick = _best(pool["id_val"].to_numpy())
        pool["picked_by_id"] = np.isin(np.arange(len(pool)), id_pick)
        c_seed, i_seed = [], []
        for f in TARGETS:
            # the control: the same rows un-augmented, i.e. i.i.d. data called "crafted"
            crafted_score = (
                pool["iid_val"] if control else pool[[f"val:{g}" for g in FAMILIES if g != f]].mean(axis=1)
            ).to_numpy()
            cr_pick = _best(crafted_score)
            pool[f"picked_by_crafted:{f}"] = np.isin(np.arange(len(pool)), cr_pick)
            # the expected correctness of a pick uniform among the tied best
            c_seed.append(correct[f][cr_pick].mean(axis=0))
            i_seed.append(correct[f][id_pick].mean(axis=0))
            picks.append(
                {
                    "seed": s,
                    "held_out": f,
                    "crafted_pick": " / ".join(pool["model"].iloc[cr_pick]),
                    "id_pick": " / ".join(pool["model"].iloc[id_pick]),
                    "gain": 100 * float(c_seed[-1].mean() - i_seed[-1].mean()),
                }
            )
            taus["crafted"].append(float(kendalltau(crafted_score, pool[f"test:{f}"])[0]))
            taus["id"].append(float(kendalltau(pool["id_val"], pool[f"test:{f}"])[0]))
        crafted_rows.append(np.concatenate(c_seed))
        id_rows.append(np.concatenate(i_seed))
    A, B = 100 * np.array(crafted_rows), 100 * np.array(id_rows)
    n_test = A.shape[1] // len(TARGETS)
    est, lo, hi = paired_bootstrap(A, B, seed=seed)
    effect = Effect(
        "OOD accuracy on the held-out shift family, crafted-validation pick minus ID-validation pick (points)",
        est,
        lo,
        hi,
        margin=MARGIN,
        above=True,
        method=f"paired bootstrap over {len(seeds)} seeds x {len(TARGETS)} held-out families x {n_test} test images",
    )
    pk = pd.DataFrame(picks)
    measured = {
        "OOD accuracy, crafted-validation pick": float(A.mean()),
        "OOD accuracy, ID-validation pick": float(B.mean()),
        "relative improvement over ID validation": float(A.mean() / B.mean() - 1),
        **{
            f"gain, held-out {f} (points)": float(g)
            for f, g in pk.groupby("held_out", sort=False)["gain"].mean().items()
        },
        "Kendall tau (validation vs held-out-family test), crafted": float(np.nanmean(taus["crafted"])),
        "Kendall tau (validation vs held-out-family test), ID": float(np.nanmean(taus["id"])),
        "crafted picks": ", ".join(sorted(set(pk["crafted_pick"]))),
        "ID picks": ", ".join(sorted(set(pk["id_pick"]))),
        "candidates": len(frames[0]),
        "best candidate test accuracy under invert (validation-only family)": float(
            pd.concat(frames)["test:invert"].max()
        ),
    }
    return RecipeResult(
        NAME,
        PAPER,
        CLAIM,
        measured,
        details=pd.concat(frames, ignore_index=True),
        effects=[effect],
        claim_part=CLAIM_PART,
        seeds=seeds,
        sizes={
            "seeds": len(seeds),
            "candidates": len(frames[0]),
            "held_out_families": len(TARGETS),
            "test_images": n_test,
        },
    )
