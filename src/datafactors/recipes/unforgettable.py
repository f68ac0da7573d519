"""Unforgettable generalization (Zhang et al., 2024): forgetting a task by fine-tuning on random labels.

Protocol, at small scale on scikit-learn's digits (1,797 images; per seed 1,200 train /
597 test, features standardized on the train rows):

1. Three "tasks" are disjoint groups of classes of one 10-way classifier:
   T0 = digits {0, 1, 2}, T1 = {3, 4, 5}, T2 = {6, 7, 8, 9}.
2. A ReLU MLP (128, 128) is trained on every train row (60 epochs).
3. For each task T in turn, a copy of that model is fine-tuned (``ft_epochs`` epochs,
   Adam, lr 1e-3) on the *forget set* — every train row of T — with each label replaced
   by a class of T drawn uniformly at random: the paper's random-label forgetting.
4. Measured on the fine-tuned copy:
   - the forget set's accuracy against its true labels (forgetting of the examples seen);
   - **forgetting generalization** on new examples of T (the test rows of T):
     ``FG = (acc_before - acc_after) / (acc_before - chance_T)``, 1 = back to chance,
     0 = untouched; ``chance_T = 1 / |T|``;
   - the same normalised drop on the *other* tasks' test rows (chance 1/10 there), the
     spill-over to tasks never seen while forgetting;
   - **depth**: a logistic-regression probe on the frozen penultimate features, trained
     on T's train rows with true labels and scored on T's test rows, before and after.
"""

from __future__ import annotations

import copy
import functools
import time

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..learners import Standardizer
from ..learners.mlp import TorchLearner, mlp_module
from . import RecipeResult, recipe

PAPER = "Unforgettable Generalization in Language Models (Zhang, Choshen & Andreas, 2024)"
CLAIM = (
    "fine-tuning on random labels for one task makes the model forget it on new examples of that task too "
    "(forgetting generalization FG >= 0.5), spills over less onto the other tasks (their normalised drop < FG), "
    "and is shallow: a linear probe on the fine-tuned features still does the task (>= 90% of its accuracy before)"
)
TASKS: tuple[tuple[int, ...], ...] = ((0, 1, 2), (3, 4, 5), (6, 7, 8, 9))
N_TRAIN = 1200
HIDDEN = (128, 128)
MIN_FG, MIN_PROBE_RETAINED = 0.5, 0.9
NAMES = [str(c) for c in range(10)]


def _normalised_drop(before: float, after: float, chance: float) -> float:
    """Share of the gap to chance that was lost: 1 = at chance, 0 = unchanged (NaN if already at chance)."""
    gap = before - chance
    return float((before - after) / gap) if gap > 1e-9 else float("nan")


def _probe_accuracy(model, Xtr, ytr, Xte, yte, seed: int) -> float:
    import torch
    from sklearn.linear_model import LogisticRegression

    with torch.no_grad():
        ftr = model[:-1](torch.from_numpy(Xtr)).numpy()
        fte = model[:-1](torch.from_numpy(Xte)).numpy()
    clf = LogisticRegression(max_iter=2000, random_state=seed).fit(ftr, ytr)
    return float(clf.score(fte, yte))


@recipe("unforgettable", paper=PAPER, claim=CLAIM)
def unforgettable(*, seed: int = 0, quick: bool = False) -> RecipeResult:
    from sklearn.datasets import load_digits

    n_seeds = 2 if quick else 5
    ft_epochs = 30
    t0 = time.perf_counter()
    bunch = load_digits()
    X, y = bunch.data.astype(np.float32), bunch.target.astype(np.int64)
    rows = []
    for r in range(n_seeds):
        s = seed * 1000 + r
        rng = np.random.default_rng(s)
        perm = rng.permutation(len(y))
        tr, te = perm[:N_TRAIN], perm[N_TRAIN:]
        scaler = Standardizer(X[tr])
        Xtr, Xte, ytr, yte = scaler(X[tr]), scaler(X[te]), y[tr], y[te]
        train = Dataset.from_arrays(Xtr, ytr, ids=tr, class_names=NAMES, name="digits")
        factory = functools.partial(mlp_module, hidden=HIDDEN)
        base = TorchLearner(factory, standardize=False).fit(train, epochs=60, seed=s)

        def task_accuracy(lrn, Xte=Xte, yte=yte) -> list[float]:
            pred = lrn.predict_proba(Xte).argmax(1)
            return [float((pred[np.isin(yte, T)] == yte[np.isin(yte, T)]).mean()) for T in TASKS]

        before = task_accuracy(base)
        for a, T in enumerate(TASKS):
            forget = np.flatnonzero(np.isin(ytr, T))
            random_labels = rng.choice(np.array(T), size=len(forget))
            fset = Dataset.from_arrays(
                Xtr[forget], random_labels, ids=tr[forget], class_names=NAMES, name=f"digits-forget-T{a}", min_classes=1
            )
            # the factory hands TorchLearner a copy of the trained model: fine-tuning through the Learner protocol
            ft = TorchLearner(lambda d, c, m=base.model_: copy.deepcopy(m), standardize=False).fit(
                fset, epochs=ft_epochs, seed=s
            )
            after = task_accuracy(ft)
            forget_true = float((ft.predict_proba(Xtr[forget]).argmax(1) == ytr[forget]).mean())
            mt, me = np.isin(ytr, T), np.isin(yte, T)
            others = [b for b in range(len(TASKS)) if b != a]
            other_mask = ~me
            acc_other_before = float((base.predict_proba(Xte[other_mask]).argmax(1) == yte[other_mask]).mean())
            acc_other_after = float((ft.predict_proba(Xte[other_mask]).argmax(1) == yte[other_mask]).mean())
            probe_b = _probe_accuracy(base.model_, Xtr[mt], ytr[mt], Xte[me], yte[me], s)
            probe_a = _probe_accuracy(ft.model_, Xtr[mt], ytr[mt], Xte[me], yte[me], s)
            rows.append(
                {
                    "seed": s,
                    "forgotten_task": a,
                    "classes": ",".join(map(str, T)),
                    "forget_set_true_label_accuracy": forget_true,
                    "chance": 1 / len(T),
                    "task_test_accuracy_before": before[a],
                    "task_test_accuracy_after": after[a],
                    "forgetting_generalization": _normalised_drop(before[a], after[a], 1 / len(T)),
                    "other_tasks_accuracy_before": acc_other_before,
                    "other_tasks_accuracy_after": acc_other_after,
                    "other_tasks_normalised_drop": _normalised_drop(acc_other_before, acc_other_after, 0.1),
                    **{f"T{b}_after": after[b] for b in others},
                    "probe_before": probe_b,
                    "probe_after": probe_a,
                    "probe_retained": probe_a / probe_b,
                }
            )
    details = pd.DataFrame(rows)
    by_task = details.groupby("forgotten_task")
    fg = float(details.forgetting_generalization.mean())
    spill = float(details.other_tasks_normalised_drop.mean())
    probe_kept = float(details.probe_retained.min())
    measured = {
        "forget-set accuracy (true labels) after": float(details.forget_set_true_label_accuracy.mean()),
        "forgetting generalization FG (new examples of the task)": fg,
        "FG by task": {int(k): round(float(v), 3) for k, v in by_task.forgetting_generalization.mean().items()},
        "spill-over onto other tasks (normalised drop)": spill,
        "spill-over by forgotten task": {
            int(k): round(float(v), 3) for k, v in by_task.other_tasks_normalised_drop.mean().items()
        },
        "task accuracy before -> after (mean)": (
            f"{details.task_test_accuracy_before.mean():.3f} -> {details.task_test_accuracy_after.mean():.3f}"
        ),
        "other tasks accuracy before -> after (mean)": (
            f"{details.other_tasks_accuracy_before.mean():.3f} -> {details.other_tasks_accuracy_after.mean():.3f}"
        ),
        "probe accuracy before -> after (mean)": f"{details.probe_before.mean():.3f} -> {details.probe_after.mean():.3f}",
        "probe accuracy retained (worst case)": probe_kept,
        "seeds": n_seeds,
        "fine-tuning epochs": ft_epochs,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    held = fg >= MIN_FG and spill < fg and probe_kept >= MIN_PROBE_RETAINED
    return RecipeResult("unforgettable", PAPER, CLAIM, measured, bool(held), details)
