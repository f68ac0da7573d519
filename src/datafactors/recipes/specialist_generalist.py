"""Specialist or generalist (Shi et al., 2023): general data added to a small specialist training set.

The abstract's claim: "Our experiments assess four target tasks with distinct coverage
levels, revealing that integrating generalist instruction tuning consistently enhances
model performance when the task coverage is broad. The effect is particularly pronounced
when the amount of task-specific training data is limited." In the paper's terms: a
specialist model trained on its task's data *plus* broad-coverage general data does
better on the specialist task than one trained on the task's data alone, when the general
data cover the skills the task needs (and the task data are few).

What this small experiment checks (``claim_part``): with a small specialist set and
general data of the same skill (the same ten MNIST-1D classes, under the generator's
default parameters, while the specialist task is the shifted generator), specialist +
general beats specialist alone on the specialist test set, both at **equal epochs** (each
arm makes the same number of passes over its own training set, as when one fine-tunes on
the mixed set for the usual number of epochs; the mix then sees more samples) and at
**equal samples seen** (the mix's general examples replace passes over the specialist
examples: the fair-compute comparison). The paper's caveat (general data with
hallucinated facts hurting knowledge tasks) and its "limited data" dependence are not
checked.

Protocol (MNIST-1D, generated offline):

- **Specialist task**: ``n_spec`` labeled signals from the shifted generator that the
  ``mnist1d`` built-in uses for its OOD set (correlated noise 0.25 -> 0.5, i.i.d. noise
  0.02 -> 0.1, translations up to 72 instead of 48), tested on 1,000 fresh such signals.
- **General data**: ``4 * n_spec`` standard MNIST-1D signals (the default generator).
- Three MLPs (128, 128) per seed: **alone** (specialist set, ``epochs`` epochs);
  **mix, equal epochs** (specialist + general, ``epochs`` epochs: five times the samples);
  **mix, equal samples** (specialist + general, ``epochs / 5`` epochs).

The specialist task is hard for an MLP at this size: accuracy alone is about 0.17 (chance
0.10), with the general data about 0.25 — small numbers, but well resolved by 3,000
paired test predictions.

Effects (per-item 0/1 correctness on the specialist test set, paired across arms,
bootstrap over seeds x items): mix minus alone at equal epochs, and at equal samples
seen, each with margin 0.02 (two points of accuracy: a gain worth assembling a general
data set for).

Negative control — **unrelated general data**: the general rows' labels are shuffled
among them, so the general data keep their inputs, size and class frequencies but share
no skill with the specialist task (labels independent of the signals). What the paper
says helps — general data covering the task's skills — is gone; any gain left would come
from mere extra inputs or steps. (Making the general data identical to the specialist
task was rejected: that is more task data, not a generalist mix, and would help for
another reason.)
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..io.builtins import MNIST1D_OOD_SHIFT, mnist1d_arrays
from ..learners import make_learner
from . import Effect, RecipeResult, one_blas_thread, paired_bootstrap, recipe, seeds_for

NAME = "specialist-generalist"
PAPER = "Specialist or Generalist? Instruction Tuning for Specific NLP Tasks (Shi et al., 2023)"
CLAIM = (
    "adding broad-coverage general data to a small task-specific training set improves the specialist model on its task"
)
CLAIM_PART = (
    "MNIST-1D, specialist = shifted generator (1,000 rows), general = default generator (4x as "
    "many): specialist + general beats specialist alone on the specialist test by > 2 points, at equal epochs "
    "and at equal samples seen"
)
CONTROL = "unrelated general data (general labels shuffled: no shared skill)"
SPECIALIST = MNIST1D_OOD_SHIFT
N_SPEC_TEST, GENERAL_RATIO = 1000, 4
MIN_GAIN = 0.02
NAMES = [str(c) for c in range(10)]
# quick keeps the sizes (the small specialist set is part of the claim) and runs two seeds instead of three
SIZES = {"full": {"n_spec": 1000, "epochs": 60}, "quick": {"n_spec": 1000, "epochs": 60}}


@functools.lru_cache(maxsize=64)
def _mnist1d(num_samples: int, train_split: float, seed: int, specialist: bool) -> dict:
    # a recipe's run and its control draw the same data: generate each set once
    return mnist1d_arrays(num_samples, train_split, seed, **(SPECIALIST if specialist else {}))


def _run_specialist_generalist(
    *,
    seed: int = 0,
    quick: bool = False,
    control: bool = False,
    n_spec: int | None = None,
    epochs: float | None = None,
) -> RecipeResult:
    """The recipe, with its sizes overridable (tests run it smaller)."""
    size = dict(SIZES["quick" if quick else "full"])
    if n_spec is not None:
        size["n_spec"] = n_spec
    if epochs is not None:
        size["epochs"] = epochs
    n_s, ep = int(size["n_spec"]), float(size["epochs"])
    n_g = GENERAL_RATIO * n_s
    seeds = seeds_for(seed, quick)
    arms = ("alone", "mix_equal_epochs", "mix_equal_samples")
    correct = {a: np.zeros((len(seeds), N_SPEC_TEST)) for a in arms}
    rows = []
    for r, s in enumerate(seeds):
        spec = _mnist1d(n_s + N_SPEC_TEST, n_s / (n_s + N_SPEC_TEST), s, True)
        gen = _mnist1d(n_g, 1.0, 50_000 + s, False)
        y_gen = gen["y"]
        if control:
            y_gen = np.random.default_rng([s, 7]).permutation(y_gen)
        alone = Dataset.from_arrays(spec["x"], spec["y"], class_names=NAMES, name="mnist1d-specialist")
        mix = Dataset.from_arrays(
            np.r_[spec["x"], gen["x"]], np.r_[spec["y"], y_gen], class_names=NAMES, name="mnist1d-specialist+general"
        )
        plan = {
            "alone": (alone, ep),
            "mix_equal_epochs": (mix, ep),
            "mix_equal_samples": (mix, ep * alone.n / mix.n),
        }
        for arm, (ds, e) in plan.items():
            model = make_learner("mlp", hidden=[128, 128]).fit(ds, epochs=e, seed=s)
            correct[arm][r] = model.predict_proba(spec["x_test"]).argmax(1) == spec["y_test"]
            rows.append(
                {
                    "seed": s,
                    "arm": arm,
                    "n_train": ds.n,
                    "epochs": e,
                    "samples_seen": int(round(e * ds.n)),
                    "specialist_accuracy": float(correct[arm][r].mean()),
                }
            )
    details = pd.DataFrame(rows)
    how = f"paired bootstrap over {len(seeds)} seeds x {N_SPEC_TEST} specialist test items"
    eq_ep = paired_bootstrap(correct["mix_equal_epochs"], correct["alone"], seed=seed)
    eq_sm = paired_bootstrap(correct["mix_equal_samples"], correct["alone"], seed=seed)
    effects = [
        Effect(
            "specialist + general minus specialist alone, equal epochs (margin: 2 points)",
            *eq_ep,
            margin=MIN_GAIN,
            method=how,
        ),
        Effect(
            "specialist + general minus specialist alone, equal samples seen (margin: 2 points)",
            *eq_sm,
            margin=MIN_GAIN,
            method=how,
        ),
    ]
    by = details.groupby("arm").agg(acc=("specialist_accuracy", "mean"), seen=("samples_seen", "mean"))
    measured = {
        f"specialist accuracy, {arm} ({int(by.loc[arm].seen):,} samples seen)": float(by.loc[arm].acc) for arm in arms
    }
    measured["general labels"] = "shuffled (control)" if control else "true"
    return RecipeResult(
        NAME,
        PAPER,
        CLAIM,
        measured,
        details=details,
        effects=effects,
        claim_part=CLAIM_PART,
        seeds=seeds,
        sizes={"n_specialist": n_s, "n_general": n_g, "n_specialist_test": N_SPEC_TEST, "epochs": int(ep)},
    )


# The recipe (keyword arguments as :func:`_run_specialist_generalist`: sizes overridable, tests run it smaller).
run_specialist_generalist = one_blas_thread(_run_specialist_generalist)


@recipe(NAME, paper=PAPER, claim=CLAIM, control=CONTROL)
def specialist_generalist(*, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    return run_specialist_generalist(seed=seed, quick=quick, control=control)
