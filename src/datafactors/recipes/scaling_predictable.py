"""Deep Learning Scaling is Predictable, Empirically (Hestness et al., 2017): the curve predicts larger n.

The abstract: "Our empirical results show power-law generalization error scaling across a
breadth of factors, resulting in power-law exponents---the "steepness" of the learning
curve---yet to be explained by theoretical work." and the use it is put to: "They can
assist model debugging, setting accuracy targets, and decisions about data set growth."

The paper's claim, in its terms: generalization error falls with the training-set size
as a power law ``err(n) = alpha n^beta + gamma`` with a negative exponent beta (-0.07 to
-0.35 in its domains), so a curve measured on small shards predicts the error of larger
ones. Checked here (``claim_part``), on one model (an MLP with 256 hidden units) and one
task (MNIST-1D): nested random subsets that double in size (125 ... 4000, shards grow by
powers of 2 as in the paper), every subset trained for at least as many steps as 15
epochs of the largest (the curve measures data, not compute), three training seeds.

Effects:

- *the error falls as a power law*: the exponent beta of the curve fitted on every budget
  is below ``BETA_MARGIN`` = -0.05 (the upper end of its interval), the shallow end of
  the paper's range: a shallower exponent means error that hardly improves with data.
  Interval: :func:`bootstrap` over budgets and seeds (each draw resamples the budgets,
  needing three distinct ones, and the seeds, and refits);
- *the curve predicts the largest budget*: the backtest of :mod:`datafactors.analysis.backtest`
  (:func:`~datafactors.analysis.backtest.backtest_table`) refits the curve on the budgets up
  to half the largest (125 ... 2000) and predicts the error at 4000 with a 90% interval
  (bootstrap over budgets and seeds, widened by the curve's own shape error: the same
  backtest one level down, n <= 1000 predicting 2000); the relative extrapolation error
  ``|predicted - measured| / measured`` must stay below ``REL_MARGIN`` = 10% over the whole
  prediction interval (its upper end is the farther interval end's relative distance to the
  measured error). A backtest that cannot be made (a flat curve, too few sizes) has no
  prediction and does not hold.

Negative control (``control=True``): the training labels are drawn at random,
independently of the signals (the test labels stay real), so there is nothing to learn
and the error sits at chance (0.9) at every size. A flat curve is trivially "predicted"
by a flat fit, but the claim is predictable *improvement*: the exponent effect must fail.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from ..analysis.backtest import backtest_table
from ..dataset import Dataset
from ..io.builtins import mnist1d_arrays
from ..learners import make_learner
from ..scaling import fit_power_law
from . import Effect, RecipeResult, bootstrap, recipe, seeds_for

NAME = "scaling-predictable"
PAPER = "Deep Learning Scaling is Predictable, Empirically (Hestness et al., 2017)"
CLAIM = (
    "generalization error falls with training-set size as a power law err(n) = alpha n^beta + gamma with a "
    "negative exponent, so a learning curve measured on small shards predicts the error at larger ones"
)
CLAIM_PART = (
    "one MLP on MNIST-1D: the fitted exponent is below -0.05 and a curve refitted on n <= 2000 predicts the "
    "error at n = 4000 within 10% (relative)"
)
SIZES = (125, 250, 500, 1000, 2000, 4000)
N_TEST = 1000
MIN_EPOCHS_OF_FULL = 15
HIDDEN = [256]
BETA_MARGIN = -0.05
REL_MARGIN = 0.10
N_BOOT = {False: 300, True: 100}


@lru_cache(maxsize=2)
def _signals(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST-1D train (``max(SIZES)`` rows) and test (``N_TEST``) arrays of one run (cached: generating is slow)."""
    n = max(SIZES)
    raw = mnist1d_arrays(n + N_TEST, 1.0, 42 + seed)
    x, y = np.asarray(raw["x"], dtype=np.float32), np.asarray(raw["y"], dtype=np.int64)
    out = (x[:n], y[:n], x[n:], y[n:])
    for v in out:
        v.setflags(write=False)
    return out


def learning_curve(
    X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, seeds: list[int], sizes=SIZES
) -> pd.DataFrame:
    """Test error of the MLP on nested random subsets, one curve per seed.

    Each seed draws one random order of the training rows; size ``n`` trains on its first
    ``n`` rows for ``MIN_EPOCHS_OF_FULL * max(sizes) / n`` epochs. Returns columns
    ``strategy, eval_set, n_train, seed, err`` (the backtest's points).
    """
    n_full = max(sizes)
    rows = []
    for s in seeds:
        order = np.random.default_rng(1_000 + s).permutation(len(y))[:n_full]
        for n in sizes:
            rows_n = np.sort(order[:n])
            ds = Dataset.from_arrays(X[rows_n], y[rows_n])
            model = make_learner("mlp", hidden=HIDDEN).fit(ds, epochs=MIN_EPOCHS_OF_FULL * n_full / n, seed=s)
            err = float(np.mean(model.predict_proba(X_test).argmax(1) != y_test))
            rows.append({"strategy": "mlp-256", "eval_set": "test", "n_train": float(n), "seed": s, "err": err})
    return pd.DataFrame(rows)


def _relative_error(pred: float, lo: float, hi: float, measured: float) -> tuple[float, float, float]:
    """``|p - measured| / measured`` at the prediction and its range over the interval ``[lo, hi]``."""
    d_lo, d_hi = abs(lo - measured), abs(hi - measured)
    inside = lo <= measured <= hi
    return (
        abs(pred - measured) / measured,
        0.0 if inside else min(d_lo, d_hi) / measured,
        max(d_lo, d_hi) / measured,
    )


@recipe(NAME, paper=PAPER, claim=CLAIM, control="training labels random (nothing to learn: no power law)")
def scaling_predictable(*, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    seeds = seeds_for(seed, quick)
    X, y, X_test, y_test = _signals(seed)
    if control:
        y = np.random.default_rng(seed).integers(0, 10, len(y))
    points = learning_curve(X, y, X_test, y_test, seeds)
    n_boot = N_BOOT[quick]

    # exponent of the whole curve, bootstrapped over budgets and seeds
    sizes = np.array(SIZES, dtype=float)
    err = points.pivot(index="n_train", columns="seed", values="err").reindex(sizes).to_numpy()

    def beta(bi: np.ndarray, si: np.ndarray) -> float:
        if len(np.unique(bi)) < 3:
            return float("nan")
        e = err[np.ix_(bi, si)]
        return float(fit_power_law(np.repeat(sizes[bi], len(si)), e.reshape(-1), n_boot=0).beta)

    e_beta = Effect(
        "power-law exponent beta of the learning curve (all budgets)",
        *bootstrap(beta, [len(SIZES), len(seeds)], seed=seed, n_boot=n_boot),
        margin=BETA_MARGIN,
        above=False,
        method=f"bootstrap over {len(SIZES)} budgets x {len(seeds)} seeds, refit per draw",
    )

    bt = backtest_table(points, n_boot=n_boot, seed=seed).iloc[0]
    pred, lo, hi, meas = (float(bt[k]) for k in ("pred", "lo", "hi", "measured"))
    rel = _relative_error(pred, lo, hi, meas) if bt["status"] == "ok" else (float("nan"),) * 3
    e_rel = Effect(
        f"relative error of the error predicted at n = {max(SIZES)} from n <= {bt['n_fit_max']:.0f}",
        *rel,
        margin=REL_MARGIN,
        above=False,
        method=f"backtest_table's {bt['level']:.0%} prediction interval (bootstrap over budgets and seeds, "
        f"widened by the shape error {float(bt['shape_error']):.3f})",
    )

    full = fit_power_law(points["n_train"].to_numpy(), points["err"].to_numpy(), n_boot=0)
    mean_err = points.groupby("n_train")["err"].mean()
    measured: dict[str, object] = {
        **{f"error at n={int(n)}": float(v) for n, v in mean_err.items()},
        "fit on all budgets: alpha, beta, gamma": f"{full.alpha:.3g}, {full.beta:.3f}, {full.gamma:.3f}",
        "backtest status": str(bt["status"]),
        "backtest shape error (log scale)": float(bt["shape_error"]),
        f"error at n={max(SIZES)}: predicted [interval] / measured": f"{pred:.3f} [{lo:.3f}, {hi:.3f}] / {meas:.3f}",
        "training labels": "random (control)" if control else "real",
    }
    return RecipeResult(
        NAME,
        PAPER,
        CLAIM,
        measured,
        details=points,
        effects=[e_beta, e_rel],
        claim_part=CLAIM_PART,
        seeds=seeds,
        sizes={"n_max": max(SIZES), "n_budgets": len(SIZES), "n_test": N_TEST},
    )
