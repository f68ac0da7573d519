"""Specialist or generalist (Shi et al., 2023): general data helps a small specialist task, up to a mix ratio.

Protocol (MNIST-1D, generated offline):

- **Specialist task**: 1,000 labeled signals from the shifted generator that the
  ``mnist1d`` built-in uses for its OOD set (correlated noise 0.25 -> 0.5, i.i.d. noise
  0.02 -> 0.1, translations up to 72 instead of 48), tested on 1,000 fresh such signals.
- **General data**: standard MNIST-1D signals (the default generator), ``r`` times as
  many as the specialist set, for r in {0, 1, 2, 4, 8, 16}, and general data alone
  (16,000 signals).
- Every mix trains the same MLP (128, 128) for the same compute — 100,000 samples seen,
  i.e. 100 epochs of the specialist set alone — so adding general data replaces passes
  over the specialist examples (the trade-off a fixed fine-tuning budget imposes).

Measured: specialist test accuracy per ratio, averaged over seeds; the gain of the best
mix over the specialist set alone; the gain of the last doubling (r = 8 -> 16), about 0
or negative once general data has stopped helping; and general data alone, which says
whether the specialist examples still matter.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..io.builtins import MNIST1D_OOD_SHIFT, mnist1d_arrays
from ..learners import make_learner
from ..metrics import accuracy
from . import RecipeResult, recipe

PAPER = "Specialist or Generalist? Instruction Tuning for Specific NLP Tasks (Shi et al., 2023)"
CLAIM = (
    "adding general data to a small specialist training set helps the specialist task (best mix >= 0.03 above the "
    "specialist data alone) only up to a mix ratio: beyond it more general data stops helping (r = 8 -> 16 adds "
    "< 0.01) and general data alone is worse than the best mix (by >= 0.01)"
)
N_SPEC, N_SPEC_TEST = 1000, 1000
SPECIALIST = MNIST1D_OOD_SHIFT
SAMPLES_SEEN = 100 * N_SPEC
MIN_GAIN, MAX_LATE_GAIN, MIN_GENERAL_GAP = 0.03, 0.01, 0.01
NAMES = [str(c) for c in range(10)]


@recipe("specialist-generalist", paper=PAPER, claim=CLAIM)
def specialist_generalist(*, seed: int = 0, quick: bool = False) -> RecipeResult:
    n_seeds = 2 if quick else 5
    ratios = [0, 2, 8, 16] if quick else [0, 1, 2, 4, 8, 16]
    t0 = time.perf_counter()
    rows = []
    for k in range(n_seeds):
        s = seed * 1000 + k
        spec = mnist1d_arrays(N_SPEC + N_SPEC_TEST, N_SPEC / (N_SPEC + N_SPEC_TEST), s, **SPECIALIST)
        gen = mnist1d_arrays(N_SPEC * max(ratios), 1.0, 50_000 + s)
        mixes: list[tuple[str, float, np.ndarray, np.ndarray]] = []
        for r in ratios:
            ng = int(r * N_SPEC)
            mixes.append(("mix", float(r), np.r_[spec["x"], gen["x"][:ng]], np.r_[spec["y"], gen["y"][:ng]]))
        mixes.append(("general only", float("inf"), gen["x"], gen["y"]))
        for kind, r, X, y in mixes:
            ds = Dataset.from_arrays(X, y, class_names=NAMES, name=f"mnist1d-mix-{r:g}")
            model = make_learner("mlp", hidden=[128, 128]).fit(ds, epochs=SAMPLES_SEEN / len(y), seed=s)
            rows.append(
                {
                    "seed": s,
                    "kind": kind,
                    "general_per_specialist": r,
                    "n_train": len(y),
                    "specialist_accuracy": accuracy(model.predict_proba(spec["x_test"]), spec["y_test"]),
                }
            )
    details = pd.DataFrame(rows)
    curve = details[details.kind == "mix"].groupby("general_per_specialist")["specialist_accuracy"].mean()
    general_only = float(details[details.kind == "general only"]["specialist_accuracy"].mean())
    best_r = float(curve.idxmax())
    gain = float(curve.max() - curve.loc[0.0])
    late = float(curve.loc[16.0] - curve.loc[8.0])
    measured = {
        "specialist alone": float(curve.loc[0.0]),
        "best mix (general per specialist example)": best_r,
        "best mix accuracy": float(curve.max()),
        "gain of the best mix over specialist alone": gain,
        "gain from r = 8 to r = 16": late,
        "general data alone": general_only,
        "accuracy by ratio": {float(k): round(float(v), 3) for k, v in curve.items()},
        "samples seen per model": SAMPLES_SEEN,
        "seeds": n_seeds,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    held = gain >= MIN_GAIN and late < MAX_LATE_GAIN and general_only <= float(curve.max()) - MIN_GENERAL_GAP
    return RecipeResult("specialist-generalist", PAPER, CLAIM, measured, bool(held), details)
