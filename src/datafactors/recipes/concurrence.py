"""The Validity of Evaluation Results (Sun et al., 2023): do two benchmarks rank models alike?

A zoo of MNIST-1D MLPs (several widths and training-set sizes, several seeds each) is
scored on two benchmark pairs made by our generator:

- *same distribution*: the MNIST-1D test set and a freshly generated test set (new seed,
  same generator settings) - two benchmarks of the same ability;
- *shifted*: the MNIST-1D test set and the shifted OOD set (more noise, wider
  translations).

Concurrence is the seed-paired Kendall tau of the models' accuracies
(:func:`datafactors.metrics.concurrence`). The saturation simulation
(:func:`datafactors.metrics.saturation_simulation`) then shows why a low tau is not
always disagreement: two benchmarks that rank the same true skills give a low tau when
both are saturated or floored.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ..io import load_builtin
from ..io.builtins import mnist1d_arrays
from ..learners import make_learner
from ..metrics import accuracy, concurrence, saturation_simulation
from . import RecipeResult, recipe

PAPER = (
    "The Validity of Evaluation Results: Assessing Concurrence Across Compositionality Benchmarks (Sun et al., 2023)"
)
CLAIM = (
    "two benchmarks drawn from the same generator rank models consistently (seed-paired Kendall tau >= 0.6) "
    "and agree more than a benchmark and its shifted variant; in simulation, benchmarks that rank the same "
    "true skills give tau >= 0.6 when informative but <= 0.3 when both are saturated or both floored"
)
MIN_EPOCHS_OF_4000 = 15


@recipe("concurrence", paper=PAPER, claim=CLAIM)
def concurrence_recipe(*, seed: int = 0, quick: bool = False) -> RecipeResult:
    seeds = [seed, seed + 1] if quick else [seed, seed + 1, seed + 2]
    data = load_builtin("mnist1d", seed=42 + seed)
    fresh = mnist1d_arrays(1000, 0.0, 2_000 + seed)
    benchmarks = {
        "test": (data.test.X, data.test.y),
        "fresh test": (fresh["x_test"], fresh["y_test"]),
        "shifted (OOD)": (data.ood.X, data.ood.y),
    }
    widths = (16, 64, 256) if quick else (16, 32, 64, 128, 256)
    sizes = (250, 1000, 4000)
    order = np.random.default_rng(seed).permutation(data.train.n)
    rows = []
    for w, n in itertools.product(widths, sizes):
        sub = data.train.subset(np.sort(order[:n]))
        for s in seeds:
            model = make_learner("mlp", hidden=[w]).fit(sub, epochs=MIN_EPOCHS_OF_4000 * 4000 / n, seed=s)
            for bench, (X, y) in benchmarks.items():
                rows.append(
                    {
                        "model": f"mlp-{w} n={n}",
                        "seed": s,
                        "benchmark": bench,
                        "accuracy": accuracy(model.predict_proba(X), y),
                    }
                )
    res = pd.DataFrame(rows)

    def scores(bench: str) -> np.ndarray:
        return res[res["benchmark"] == bench].pivot(index="model", columns="seed", values="accuracy").to_numpy()

    tau_same = concurrence(scores("test"), scores("fresh test"), undefined="zero")
    tau_shift = concurrence(scores("test"), scores("shifted (OOD)"), undefined="zero")
    r_same = concurrence(scores("test"), scores("fresh test"), method="pearson", undefined="zero")
    r_shift = concurrence(scores("test"), scores("shifted (OOD)"), method="pearson", undefined="zero")
    sim = saturation_simulation(n_reps=5 if quick else 20, seed=seed).set_index("regime")

    measured: dict[str, object] = {
        "models x seeds": f"{res['model'].nunique()} x {len(seeds)}",
        "mean accuracy: test / fresh test / shifted": " / ".join(
            f"{res.loc[res.benchmark == b, 'accuracy'].mean():.3f}" for b in benchmarks
        ),
        "concurrence, same distribution (Kendall tau)": tau_same,
        "concurrence, shifted (Kendall tau)": tau_shift,
        "Pearson r: same distribution / shifted": f"{r_same:.3f} / {r_shift:.3f}",
    }
    for regime, r in sim.iterrows():
        measured[f"simulation, {regime}: mean scores / tau"] = (
            f"{r['mean_score_a']:.3f}, {r['mean_score_b']:.3f} / {r['tau']:.3f} (+- {r['tau_sd']:.3f})"
        )
    informative = float(sim.loc["both informative", "tau"])
    degenerate = max(float(sim.loc["both saturated", "tau"]), float(sim.loc["both floored", "tau"]))
    measured["simulation tau, both informative"] = informative
    measured["simulation tau, worst of both saturated / both floored"] = degenerate
    held = bool(tau_same >= 0.6 and tau_same > tau_shift and informative >= 0.6 and degenerate <= 0.3)
    details = pd.concat([res, sim.reset_index().assign(benchmark="simulation")], ignore_index=True)
    return RecipeResult("concurrence", PAPER, CLAIM, measured, held, details)
