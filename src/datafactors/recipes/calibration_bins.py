"""A Benchmark Study on Calibration (Tao et al., 2024): ECE depends on the bin count, more so after scaling.

About 30 small MNIST-1D MLPs (three widths, five training-set sizes, trained briefly or
long enough to over-fit and become over-confident, as deep nets typically are) are each
temperature-scaled (T fitted on a random 20% of 4000 test predictions) and their
equal-width ECE is computed on the other 80% at 5, 10, 15, 20, 25, 50, 100, 200 and 500
bins, before and after scaling. Two measures of how much the bin count matters:

- *rank agreement*: the mean Kendall tau between the models' ECE rankings at every pair
  of bin counts (1 = the bin count never changes which model looks best calibrated);
- *relative spread*: per model, (max - min) / mean of ECE over the bin counts, averaged.

Before scaling an over-confident model's ECE is dominated by its miscalibration, which
every bin count sees; after scaling what is left is small, and the finite-sample noise
that grows with the number of bins takes over.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats

from ..io import load_builtin
from ..learners import make_learner
from ..metrics import BIN_COUNTS, calibration_report
from . import RecipeResult, recipe

PAPER = "A Benchmark Study on Calibration (Tao et al., 2024)"
CLAIM = (
    "over ~30 small models, the ECE ranking of models depends more on the bin count after temperature "
    "scaling than before (lower mean Kendall tau between rankings at different bin counts) and ECE's "
    "relative spread across bin counts is larger after scaling"
)


# Long training per size: enough passes to over-fit (over-confident predictions).
LONG_EPOCHS = {250: 200, 500: 120, 1000: 80, 2000: 50, 4000: 30}


def _models(quick: bool) -> list[tuple[str, dict, int, float]]:
    """(name, mlp params, n_train, epochs) for the model zoo."""
    widths = (64, 256) if quick else (32, 128, 512)
    sizes = (250, 1000, 4000) if quick else tuple(LONG_EPOCHS)
    zoo = []
    for w, n in itertools.product(widths, sizes):
        for label, epochs in (("short", max(2.0, LONG_EPOCHS[n] / 8)), ("long", float(LONG_EPOCHS[n]))):
            zoo.append((f"mlp-{w} n={n} {label} ({epochs:g} ep)", {"hidden": [w]}, n, epochs))
    return zoo


def _mean_rank_tau(table: pd.DataFrame) -> float:
    """Mean Kendall tau between the columns (bin counts) of a models x bin-counts ECE table."""
    taus = [stats.kendalltau(table[a], table[b]).statistic for a, b in itertools.combinations(table.columns, 2)]
    return float(np.nanmean(taus))


@recipe("calibration-bins", paper=PAPER, claim=CLAIM)
def calibration_bins(*, seed: int = 0, quick: bool = False) -> RecipeResult:
    data = load_builtin("mnist1d", n_test=4000, seed=42 + seed)
    train, test = data.train, data.test
    order = np.random.default_rng(seed).permutation(train.n)
    rows = []
    temps = {}
    for name, params, n, epochs in _models(quick):
        sub = train.subset(np.sort(order[:n]))
        model = make_learner("mlp", **params).fit(sub, epochs=epochs, seed=seed)
        rep = calibration_report(model.predict_proba(test.X), test.y, seed=seed, binnings=("width",))
        temps[name] = rep.temperature
        sw = rep.sweep[rep.sweep["metric"] == "ece"]
        for r in sw.itertuples():
            rows.append(
                {
                    "model": name,
                    "n_bins": int(r.n_bins),
                    "before": r.before,
                    "after": r.after,
                    "temperature": rep.temperature,
                    "accuracy": rep.before["accuracy"],
                }
            )
    res = pd.DataFrame(rows)

    measured: dict[str, object] = {"models": int(res["model"].nunique())}
    tau, spread = {}, {}
    for stage in ("before", "after"):
        wide = res.pivot(index="model", columns="n_bins", values=stage)[list(BIN_COUNTS)]
        tau[stage] = _mean_rank_tau(wide)
        spread[stage] = float(((wide.max(axis=1) - wide.min(axis=1)) / wide.mean(axis=1)).mean())
        at = wide.mean(axis=0)
        measured[f"mean ECE {stage} scaling at 5 / 15 / 500 bins"] = f"{at[5]:.4f} / {at[15]:.4f} / {at[500]:.4f}"
    t = np.array(list(temps.values()))
    measured["temperatures (min / median / max)"] = f"{t.min():.2f} / {np.median(t):.2f} / {t.max():.2f}"
    measured["rank agreement across bin counts before (mean Kendall tau)"] = tau["before"]
    measured["rank agreement across bin counts after"] = tau["after"]
    measured["relative ECE spread across bin counts before"] = spread["before"]
    measured["relative ECE spread across bin counts after"] = spread["after"]
    held = bool(tau["after"] < tau["before"] and spread["after"] > spread["before"])
    return RecipeResult("calibration-bins", PAPER, CLAIM, measured, held, res)
