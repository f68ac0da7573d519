"""Targeted augmentation (TIDA; Gao et al., 2023): randomising only the spurious features helps OOD.

The TIDA abstract: "Artificial neural networks typically struggle in generalizing to
out-of-context examples. One reason for this limitation is caused by having datasets that
incorporate only partial information regarding the potential correlational structure of
the world." TIDA fills that gap by editing only the targeted skill of an image (a woman
changed to a man, the context kept identical), and "a TIDA-enhanced dataset ... induces
better performance". The method is that of Gao et al., *Out-of-Domain Robustness via
Targeted Augmentations* (ICML 2023): "targeted augmentations, which selectively randomize
spurious domain-dependent features while preserving robust ones", against "generic
augmentations, which fail to randomize domain-dependent features".

What is checked (``CLAIM_PART``) and why that part. Image captioning with a text-to-image
editor cannot be run at this scale; what can is the mechanism both papers rely on: on data
where a spurious cue is correlated with the label, adding rows whose spurious features are
resampled independently of the label (and whose label-relevant features are kept) raises
worst-group and out-of-distribution accuracy, over training on the data as they are and
over adding the same number of rows made by a generic augmentation that perturbs every
feature.

The small experiment. Data: the spurious-correlation task
(:func:`datafactors.tasks.spurious.make_spurious`) on MNIST-1D -- the label is "digit >= 5",
8 appended columns carry a binary cue aligned with the label on ``RHO = 90%`` of each
class's training rows (a far easier read than the 1-D signal, as a background is for a
bird). Each seed draws its own training set (``N_TRAIN`` rows, a fresh MNIST-1D draw);
every seed is scored on the same ``N_TEST`` held-out rows: the OOD copy in which the cue
agrees with the label for 50% of each class (four groups ``(y, s)`` of ~250 rows; the cue
carries no information), and the in-distribution test copy (reported, not judged). Three
arms per seed train the same MLP (128-128, Adam, batch 128) for the same number of gradient
steps (``EPOCHS`` epochs over the augmented arms' rows; "none" gets the epochs that give the
same step count over its fewer rows, so no arm wins by optimising longer):

- ``none``: the training rows;
- ``generic``: the rows plus ``COPIES`` copies of each perturbed in every column by Gaussian
  noise of half the column's standard deviation (``augment(..., "generic")``, the library
  default strength);
- ``targeted``: the rows plus ``COPIES`` copies of each whose spurious columns are replaced,
  as one block, by those of a donor row drawn independently of the label
  (``augment(..., "targeted")``; the columns are read from the task, not named here). The
  cue then agrees with the label on (0.9 + 3 x 0.5) / 4 = 60% of the arm's rows.

Effects, each decided by a 90% bootstrap interval and margins fixed before the recipe's
runs (in points of accuracy on the OOD rows):

- targeted minus none and targeted minus generic, **worst-group accuracy**: > 5 points
  (a gain a practitioner would act on; the interval resamples seeds and, within each of the
  four groups, its items -- :func:`worst_group_gain`);
- targeted minus none and targeted minus generic, **mean OOD accuracy**: > 2 points (below
  the smallest gain Gao et al. report, 3.2%; a paired bootstrap over seeds x OOD items).

Negative control (``control=True``): the spurious correlation is not planted -- ``rho = 0.5``
in training, so the cue carries no label information and there is no shortcut for the
targeted copies to break (they only re-pair cue values that were already independent of
the label). Everything else is the same, down to the OOD rows (the task draws them
identically for every ``rho``). Targeted augmentation must then not beat no augmentation
by the margins. Observed in the runs (not a design input): there, both kinds of added rows
buy 1-2.5 points of OOD accuracy over "none" (more, varied rows regularise an MLP that
otherwise sees 4000 rows 39 times), which is why the claim is also judged against the
generic arm.

Choices made after seeing data, disclosed: the base (MNIST-1D, not scikit-learn's digits:
in an exploratory run on digits an MLP without augmentation already had ~0.86 OOD
worst-group accuracy -- the digit is as easy to read as the cue, so there is little
shortcut to break), ``COPIES = 3`` (copies 1 and 3 were both tried in the exploration, on
one data draw and seeds 0-1, with similar conclusions; 3 is the count the augmentation's
own documentation measures), and the margins, which were written after that exploration
(it showed gains of 35-45 worst-group points) at values set by what the claim needs to
mean, not near the explored numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..augment import augment
from ..dataset import Dataset
from ..learners import make_learner
from ..metrics import worst_group_accuracy
from ..tasks.spurious import make_spurious
from . import Effect, RecipeResult, bootstrap, one_blas_thread, paired_bootstrap, recipe, seeds_for
from ._evidence import N_BOOT

NAME = "targeted-augmentation"
PAPER = (
    "Targeted Image Data Augmentation Increases Basic Skills Captioning Robustness (TIDA, Barriere et al., 2023); "
    "Out-of-Domain Robustness via Targeted Augmentations (Gao et al., ICML 2023)"
)
CLAIM = (
    "an augmentation that randomises only the spurious (domain-dependent) features while keeping the "
    "label-relevant ones improves worst-group and out-of-distribution accuracy over no augmentation and over a "
    "generic augmentation that perturbs every feature"
)
CLAIM_PART = (
    "spurious MNIST-1D (label digit >= 5, an 8-column cue aligned with it on 90% of training rows), MLP at equal "
    "gradient steps: train + 3 targeted copies beats train alone and train + 3 generic (Gaussian-noise) copies by "
    "> 5 points of worst-group and > 2 points of mean accuracy on OOD rows where the cue is at chance"
)
CONTROL = "spurious correlation not planted (rho = 0.5 in training: the cue carries no label information)"
BASE = "mnist1d"
RHO, RHO_CONTROL, RHO_OOD = 0.9, 0.5, 0.5
N_TRAIN, N_TEST = 4000, 1000
COPIES = 3
EPOCHS = 10  # over the augmented arms' N_TRAIN * (1 + COPIES) rows; "none" gets the same step count
PARAMS = {"hidden": [128, 128], "batch_size": 128, "lr": 1e-3}
GENERIC = {"kind": "noise", "scale": 0.5}  # the library's default generic augmentation
DATA_SEED = 42
MARGIN_WORST = 5.0  # points of OOD worst-group accuracy
MARGIN_ACC = 2.0  # points of OOD accuracy
ARMS = ("none", "generic", "targeted")


def matched_epochs(n_rows: int, n_ref: int, epochs: float, batch_size: int) -> float:
    """Epochs over ``n_rows`` rows that take as many minibatch steps as ``epochs`` over ``n_ref`` rows.

    Examples
    --------
    >>> matched_epochs(4000, 16000, 10, 128)  # 10 x 125 steps = 39.0625 x 32 steps
    39.0625
    """
    return float(epochs) * math.ceil(n_ref / min(batch_size, n_ref)) / math.ceil(n_rows / min(batch_size, n_rows))


def group_members(groups: np.ndarray) -> tuple[list[str], list[np.ndarray]]:
    """The sorted distinct groups and, for each, the positions of its items."""
    g = np.asarray(groups).astype(str)
    names = sorted(set(g.tolist()))
    return names, [np.flatnonzero(g == name) for name in names]


def worst_group(correct: np.ndarray, members: list[np.ndarray]) -> np.ndarray:
    """Per seed, the lowest group accuracy: ``correct`` (n_seeds, n_items) 0/1 -> (n_seeds,)."""
    c = np.atleast_2d(np.asarray(correct, dtype=float))
    return np.stack([c[:, m].mean(axis=1) for m in members], axis=1).min(axis=1)


def worst_group_gain(
    a: np.ndarray, b: np.ndarray, members: list[np.ndarray], *, seed: int, n_boot: int = N_BOOT
) -> tuple[float, float, float]:
    """Mean over seeds of worst-group(a) - worst-group(b), with a bootstrap over seeds and items within groups.

    ``a``, ``b``: (n_seeds, n_items) per-item correctness of two arms on the same items.
    Each draw resamples the seeds and, inside every group separately (so every group keeps
    its size), the group's items -- once for both arms and all seeds, so items stay paired.
    """
    A, B = np.atleast_2d(np.asarray(a, dtype=float)), np.atleast_2d(np.asarray(b, dtype=float))

    def stat(si: np.ndarray, *gi: np.ndarray) -> float:
        picked = [m[i] for m, i in zip(members, gi, strict=True)]
        return float(np.mean(worst_group(A[si], picked) - worst_group(B[si], picked)))

    return bootstrap(stat, [A.shape[0], *(len(m) for m in members)], seed=seed, n_boot=n_boot)


def make_arms(train: Dataset, seed: int, *, copies: int = COPIES) -> dict[str, Dataset]:
    """The three training sets of one seed: the rows, + generic copies, + targeted copies."""
    return {
        "none": train,
        "generic": augment(
            train, "generic", seed=np.random.default_rng((seed, 1)), append=True, copies=copies, **GENERIC
        ),
        "targeted": augment(train, "targeted", seed=np.random.default_rng((seed, 2)), append=True, copies=copies),
    }


def targeted_experiment(
    seeds: list[int],
    *,
    control: bool,
    n_train: int = N_TRAIN,
    n_test: int = N_TEST,
    copies: int = COPIES,
    epochs: float = EPOCHS,
    data_seed: int = DATA_SEED,
) -> tuple[pd.DataFrame, dict[str, dict[str, np.ndarray]], np.ndarray]:
    """Per seed: draw a training set, build the three arms, train the MLP on each, score OOD and ID.

    Returns the per-(seed, arm) frame, ``{"ood" | "test": {arm: (n_seeds, n_test) 0/1}}``
    and the OOD groups. Seed ``s`` trains on ``make_spurious(seed=data_seed + s).train``;
    every seed is scored on the test / OOD rows of the first seed's draw.
    """
    rho = RHO_CONTROL if control else RHO
    rows: list[dict] = []
    correct: dict[str, dict[str, list[np.ndarray]]] = {"ood": {a: [] for a in ARMS}, "test": {a: [] for a in ARMS}}
    evals: dict[str, Dataset] = {}
    for s in seeds:
        data = make_spurious(BASE, rho=rho, n_train=n_train, n_test=n_test, seed=data_seed + s, rho_ood=RHO_OOD)
        if not evals:
            evals = {"ood": data.ood, "test": data.test}
        arms = make_arms(data.train, s, copies=copies)
        n_aug = arms["targeted"].n
        for arm, ds in arms.items():
            ep = matched_epochs(ds.n, n_aug, epochs, PARAMS["batch_size"])
            lrn = make_learner("mlp", **PARAMS).fit(ds, epochs=ep, seed=s)
            row = {
                "seed": s,
                "arm": arm,
                "n_train": ds.n,
                "epochs": ep,
                "cue_agrees_with_label": float(ds.extra["aligned"].mean()),
            }
            for part, ev in evals.items():
                probs = lrn.predict_proba(ev.X)
                ok = (probs.argmax(axis=1) == ev.y).astype(float)
                correct[part][arm].append(ok)
                row[f"{part}_accuracy"] = float(ok.mean())
                row[f"{part}_worst_group"] = worst_group_accuracy(probs, ev.y, ev.groups)
                if part == "ood":
                    for g in sorted(set(ev.groups.tolist())):
                        row[f"ood_acc[{g}]"] = float(ok[ev.groups == g].mean())
            rows.append(row)
    stacked = {part: {a: np.vstack(v) for a, v in c.items()} for part, c in correct.items()}
    return pd.DataFrame(rows), stacked, np.asarray(evals["ood"].groups)


def _run(*, seed: int, quick: bool, control: bool) -> RecipeResult:
    seeds = seeds_for(seed, quick)
    details, correct, groups = targeted_experiment(seeds, control=control, data_seed=DATA_SEED + seed)
    ood = {a: 100 * c for a, c in correct["ood"].items()}
    _, members = group_members(groups)
    n_items = ood["none"].shape[1]
    wg_how = f"bootstrap over {len(seeds)} seeds x OOD items within each of {len(members)} groups ({n_items} items)"
    acc_how = f"paired bootstrap over {len(seeds)} seeds x {n_items} OOD items"
    effects = []
    for k, other in enumerate(("none", "generic")):
        effects.append(
            Effect(
                f"targeted minus {other}, OOD worst-group accuracy (points)",
                *worst_group_gain(ood["targeted"], ood[other], members, seed=seed + k),
                margin=MARGIN_WORST,
                method=wg_how,
            )
        )
    for k, other in enumerate(("none", "generic")):
        effects.append(
            Effect(
                f"targeted minus {other}, OOD accuracy (points)",
                *paired_bootstrap(ood["targeted"], ood[other], seed=seed + 2 + k),
                margin=MARGIN_ACC,
                method=acc_how,
            )
        )
    by = details.groupby("arm")[
        ["ood_worst_group", "ood_accuracy", "test_accuracy", "test_worst_group", "cue_agrees_with_label"]
    ].mean()
    measured: dict = {"training rho (cue = label share)": RHO_CONTROL if control else RHO}
    for arm in ARMS:
        measured[f"{arm}: OOD worst-group / OOD / ID accuracy"] = (
            f"{by.loc[arm, 'ood_worst_group']:.3f} / {by.loc[arm, 'ood_accuracy']:.3f} / {by.loc[arm, 'test_accuracy']:.3f}"
        )
    for arm in ARMS:
        measured[f"{arm}: ID worst-group accuracy"] = float(by.loc[arm, "test_worst_group"])
    for arm in ARMS:
        measured[f"{arm}: cue agrees with label (training rows)"] = float(by.loc[arm, "cue_agrees_with_label"])
    measured["copies added per row (generic, targeted)"] = COPIES
    measured["gradient steps per arm"] = int(
        math.ceil(EPOCHS * math.ceil(N_TRAIN * (1 + COPIES) / PARAMS["batch_size"]))
    )
    return RecipeResult(
        NAME,
        PAPER,
        CLAIM,
        measured,
        details=details,
        effects=effects,
        claim_part=CLAIM_PART,
        seeds=seeds,
        sizes={"train": N_TRAIN, "added rows": N_TRAIN * COPIES, "ood items": n_items, "epochs (augmented)": EPOCHS},
    )


@recipe(NAME, paper=PAPER, claim=CLAIM, control=CONTROL)
def targeted_augmentation(*, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    return one_blas_thread(_run)(seed=seed, quick=quick, control=control)
