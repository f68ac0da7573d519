"""Unforgettable generalization (Zhang, Choshen & Andreas, 2024): forgetting by random labels, task by task.

The abstract's claim: "Across tasks, however, LMs exhibit extreme variability in whether
LM predictions change on examples outside the training set." In the paper's terms: a
model fine-tuned on a task's training set with randomised labels produces near-random
predictions on those training examples ("Such LMs learn to generate near-random
predictions for individual examples in the 'training' set used for forgetting"), but
whether the forgetting *generalizes* to new examples of the task varies widely from task
to task; forgetting generalizes more where the model's representations of the training
data vary less; and "even generalizable forgetting is shallow: linear probes trained on
LMs' representations can still perform tasks reliably after forgetting".

What this small experiment checks (``claim_part``): with one MLP trained on four tasks
that differ only in the intrinsic dimension of their inputs (the variability of the
training examples), random-label forgetting (a) takes every task's forget set to near
chance, (b) generalizes to new examples to very different degrees across tasks (spread
of forgetting generalization FG between the most and the least forgotten task), and (c)
leaves a linear probe on the penultimate features able to do the tasks. It does not test
the LM tasks of the paper or the spill-over onto other tasks (reported, not judged).

Protocol (synthetic, built here):

1. Four tasks, each a 3-way classification with its own three classes of one 12-way
   softmax. Task k draws ``z ~ N(0, I_{d_k})`` with ``d_k`` in {2, 8, 32, 64}, shows the
   network ``x = sqrt(64 / d_k) U_k z`` (``U_k`` a random 64 x d_k orthonormal basis, so
   every task's inputs have the same scale) next to a one-hot task indicator, and labels
   it ``argmax(V_k z)`` for a random 3 x d_k matrix ``V_k`` — every task is a linear rule.
2. An MLP (128, 128) is trained on ``n_pretrain`` rows of every task (2,000 rows and 60
   epochs at full size; 1,500 and 40 with ``quick``).
3. For each task in turn, a copy of that model is fine-tuned (Adam, lr 1e-3, 300 full-batch
   steps) on its *forget set* — 100 of the task's training rows — with each label replaced
   by one of the task's classes drawn uniformly at random: the paper's random-label
   forgetting.
4. Scored on 500 new test rows per task (predictions restricted to the task's classes,
   chance 1/3): ``FG = (acc_before - acc_after) / (acc_before - 1/3)`` (1 = back to
   chance, 0 = untouched; above 1 when the model is pushed below chance, away from the true
   labels); on the forget set, its accuracy against the true labels; and a
   logistic-regression probe on the frozen penultimate features, trained on the task's
   training rows with true labels, before and after.

Effects (bootstrap over seeds x items):

- **variability**: max over tasks of FG minus min over tasks of FG, margin 0.25 (a quarter
  of the whole range between "untouched" and "back to chance": less would not be the
  paper's "extreme variability");
- **forget set near random**: forget-set accuracy against the true labels minus chance,
  mean over tasks, below 0.15;
- **shallow**: probe accuracy after minus before forgetting, mean over tasks, above -0.05
  (the probe keeps all but five points).

Negative control — **tasks identical in structure**: all four tasks get the same intrinsic
dimension (16; each still has its own random ``U_k`` and ``V_k``). What made FG differ
across tasks is gone, so the spread should fall to the seed-and-item noise. (Forgetting
with the true labels was rejected: it removes forgetting altogether, not the variability
the claim is about.)
"""

from __future__ import annotations

import copy
import functools

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..learners.mlp import TorchLearner, mlp_module
from . import Effect, RecipeResult, bootstrap, one_blas_thread, recipe, seeds_for

NAME = "unforgettable"
PAPER = "Unforgettable Generalization in Language Models (Zhang, Choshen & Andreas, 2024)"
CLAIM = (
    "fine-tuning on random labels makes a model's predictions on the forget set near random, but whether the "
    "forgetting generalizes to new examples of the task varies widely across tasks, and even generalized "
    "forgetting is shallow (a linear probe on the representations still does the task)"
)
CLAIM_PART = (
    "four synthetic tasks differing only in input variability (intrinsic dimension 2-64): forgetting "
    "generalization FG spread (max - min over tasks) > 0.25; forget-set accuracy - chance < 0.15; "
    "linear-probe accuracy after - before forgetting > -0.05"
)
CONTROL = "tasks identical in structure (every task intrinsic dimension 16)"
AMBIENT, N_CLASSES = 64, 3
TASK_DIMS: tuple[int, ...] = (2, 8, 32, 64)
CONTROL_DIM = 16
INDICATOR = 3.0
HIDDEN = (128, 128)
N_FORGET, N_TEST, FORGET_STEPS, LR = 100, 500, 300, 1e-3
MIN_SPREAD, MAX_FORGET_ABOVE_CHANCE, MIN_PROBE_CHANGE = 0.25, 0.15, -0.05
SIZES = {"full": {"n_pretrain": 2000, "pretrain_epochs": 60}, "quick": {"n_pretrain": 1500, "pretrain_epochs": 40}}
CHANCE = 1.0 / N_CLASSES


def _normalised_drop(before: float, after: float, chance: float) -> float:
    """Share of the gap to chance that was lost: 1 = at chance, 0 = unchanged (NaN if already at chance)."""
    gap = before - chance
    return float((before - after) / gap) if gap > 1e-9 else float("nan")


def make_tasks(dims: tuple[int, ...], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per task ``(U, V)``: a (AMBIENT, d) orthonormal input basis and a (N_CLASSES, d) linear rule."""
    rng = np.random.default_rng([seed, 0])
    out = []
    for d in dims:
        U = np.linalg.qr(rng.normal(size=(AMBIENT, AMBIENT)))[0][:, :d]
        out.append((U, rng.normal(size=(N_CLASSES, d))))
    return out


def sample_task(
    tasks: list[tuple[np.ndarray, np.ndarray]], k: int, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows of task ``k``: inputs (n, AMBIENT + n_tasks) float32 and global labels in [3k, 3k + 3)."""
    U, V = tasks[k]
    d = U.shape[1]
    z = rng.normal(size=(n, d))
    ind = np.zeros((n, len(tasks)))
    ind[:, k] = INDICATOR
    X = np.c_[(z @ U.T) * np.sqrt(AMBIENT / d), ind].astype(np.float32)
    return X, (z @ V.T).argmax(1) + N_CLASSES * k


def _features(model, X: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return model[:-1](torch.from_numpy(X)).numpy()


def _task_correct(lrn, X: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """0/1 correctness with the prediction restricted to task k's classes."""
    P = lrn.predict_proba(X)[:, N_CLASSES * k : N_CLASSES * (k + 1)]
    return (P.argmax(1) + N_CLASSES * k == y).astype(float)


def _probe_correct(model, Xtr, ytr, Xte, yte, seed: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=2000, random_state=seed).fit(_features(model, Xtr), ytr)
    return (clf.predict(_features(model, Xte)) == yte).astype(float)


def _run_unforgettable(
    *,
    seed: int = 0,
    quick: bool = False,
    control: bool = False,
    n_pretrain: int | None = None,
    pretrain_epochs: float | None = None,
) -> RecipeResult:
    """The recipe, with its pre-training size overridable (tests run it smaller)."""
    size = dict(SIZES["quick" if quick else "full"])
    if n_pretrain is not None:
        size["n_pretrain"] = n_pretrain
    if pretrain_epochs is not None:
        size["pretrain_epochs"] = pretrain_epochs
    n_pre = int(size["n_pretrain"])
    dims = (CONTROL_DIM,) * len(TASK_DIMS) if control else TASK_DIMS
    K = len(dims)
    names = [str(c) for c in range(N_CLASSES * K)]
    seeds = seeds_for(seed, quick)
    shape = (len(seeds), K)
    before, after = np.zeros((*shape, N_TEST)), np.zeros((*shape, N_TEST))
    forget_true = np.zeros((*shape, N_FORGET))
    probe_before, probe_after = np.zeros((*shape, N_TEST)), np.zeros((*shape, N_TEST))
    rows = []
    for r, s in enumerate(seeds):
        tasks = make_tasks(dims, s)
        rng = np.random.default_rng([s, 1])
        train = [sample_task(tasks, k, n_pre, rng) for k in range(K)]
        test = [sample_task(tasks, k, N_TEST, rng) for k in range(K)]
        ds = Dataset.from_arrays(
            np.concatenate([X for X, _ in train]),
            np.concatenate([y for _, y in train]),
            class_names=names,
            name="tasks",
        )
        base = TorchLearner(functools.partial(mlp_module, hidden=HIDDEN), standardize=False, lr=LR).fit(
            ds, epochs=size["pretrain_epochs"], seed=s
        )
        for k in range(K):
            (Xtr, ytr), (Xte, yte) = train[k], test[k]
            Xf, yf = Xtr[:N_FORGET], ytr[:N_FORGET]
            random_labels = rng.integers(0, N_CLASSES, size=N_FORGET) + N_CLASSES * k
            fset = Dataset.from_arrays(Xf, random_labels, class_names=names, name=f"forget-T{k}", min_classes=1)
            # the factory hands TorchLearner a copy of the trained model; N_FORGET < batch size: one step an epoch
            ft = TorchLearner(lambda d, c, m=base.model_: copy.deepcopy(m), standardize=False, lr=LR).fit(
                fset, epochs=FORGET_STEPS, seed=s
            )
            before[r, k], after[r, k] = _task_correct(base, Xte, yte, k), _task_correct(ft, Xte, yte, k)
            forget_true[r, k] = _task_correct(ft, Xf, yf, k)
            probe_before[r, k] = _probe_correct(base.model_, Xtr, ytr, Xte, yte, s)
            probe_after[r, k] = _probe_correct(ft.model_, Xtr, ytr, Xte, yte, s)
            others = [j for j in range(K) if j != k]
            rows.append(
                {
                    "seed": s,
                    "task": k,
                    "intrinsic_dim": dims[k],
                    "test_accuracy_before": before[r, k].mean(),
                    "test_accuracy_after": after[r, k].mean(),
                    "forgetting_generalization": _normalised_drop(before[r, k].mean(), after[r, k].mean(), CHANCE),
                    "forget_set_true_label_accuracy": forget_true[r, k].mean(),
                    "other_tasks_accuracy_after": float(
                        np.mean([_task_correct(ft, *test[j], j).mean() for j in others])
                    ),
                    "other_tasks_accuracy_before": float(
                        np.mean([_task_correct(base, *test[j], j).mean() for j in others])
                    ),
                    "probe_before": probe_before[r, k].mean(),
                    "probe_after": probe_after[r, k].mean(),
                }
            )
    details = pd.DataFrame(rows)

    def fg_by_task(si: np.ndarray, ii: np.ndarray) -> np.ndarray:
        b = before[si][:, :, ii].mean(axis=(0, 2))
        a = after[si][:, :, ii].mean(axis=(0, 2))
        return (b - a) / (b - CHANCE)

    def spread(si: np.ndarray, ii: np.ndarray) -> float:
        fg = fg_by_task(si, ii)
        return float(fg.max() - fg.min())

    n_s = len(seeds)
    sp = bootstrap(spread, [n_s, N_TEST], seed=seed)
    fs = bootstrap(lambda si, ii: float(forget_true[si][:, :, ii].mean() - CHANCE), [n_s, N_FORGET], seed=seed)
    pr = bootstrap(lambda si, ii: float((probe_after - probe_before)[si][:, :, ii].mean()), [n_s, N_TEST], seed=seed)
    effects = [
        Effect(
            "forgetting generalization FG, most minus least forgotten task (margin 0.25)",
            *sp,
            margin=MIN_SPREAD,
            method=f"bootstrap over {n_s} seeds x {N_TEST} test items per task",
        ),
        Effect(
            "forget-set accuracy on true labels minus chance (1/3), mean over tasks (below 0.15)",
            *fs,
            margin=MAX_FORGET_ABOVE_CHANCE,
            above=False,
            method=f"bootstrap over {n_s} seeds x {N_FORGET} forget rows per task",
        ),
        Effect(
            "linear-probe accuracy after minus before forgetting, mean over tasks (above -0.05)",
            *pr,
            margin=MIN_PROBE_CHANGE,
            method=f"bootstrap over {n_s} seeds x {N_TEST} test items per task",
        ),
    ]
    by = details.groupby("task")
    fg_task = fg_by_task(np.arange(n_s), np.arange(N_TEST))
    measured = {
        "intrinsic dimension by task": list(dims),
        "FG by task (pooled over seeds)": {k: round(float(v), 3) for k, v in enumerate(fg_task)},
        "test accuracy before -> after by task": {
            int(k): f"{g.test_accuracy_before.mean():.3f} -> {g.test_accuracy_after.mean():.3f}" for k, g in by
        },
        "forget-set accuracy (true labels) by task": {
            int(k): round(float(v), 3) for k, v in by.forget_set_true_label_accuracy.mean().items()
        },
        "probe accuracy before -> after by task": {
            int(k): f"{g.probe_before.mean():.3f} -> {g.probe_after.mean():.3f}" for k, g in by
        },
        "other tasks' accuracy before -> after (mean; spill-over, not judged)": (
            f"{details.other_tasks_accuracy_before.mean():.3f} -> {details.other_tasks_accuracy_after.mean():.3f}"
        ),
    }
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
            "n_tasks": K,
            "n_pretrain_per_task": n_pre,
            "pretrain_epochs": int(size["pretrain_epochs"]),
            "n_forget": N_FORGET,
            "forget_steps": FORGET_STEPS,
            "n_test_per_task": N_TEST,
        },
    )


# The recipe (keyword arguments as :func:`_run_unforgettable`: sizes overridable, tests run it smaller).
run_unforgettable = one_blas_thread(_run_unforgettable)


@recipe(NAME, paper=PAPER, claim=CLAIM, control=CONTROL)
def unforgettable(*, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    return run_unforgettable(seed=seed, quick=quick, control=control)
