"""Quality Not Quantity (Nguyen et al., 2022): mixing a robust source with a less robust one dilutes robustness.

Two data sources for the same task (MNIST-1D digits with ten extra "shortcut" features,
a noisy one-hot code of a class):

- the *shortcut* source, where the code names the true class 90% of the time, so models
  learn to read it;
- the *robust* source (freshly generated MNIST-1D signals), where the code is random, so
  models must learn the signal itself.

The ID test set follows the shortcut source (the code is right 90% of the time); the OOD
test set breaks the shortcut (the code is random). Baseline models trained on the
shortcut source alone, at several sizes and widths, define the line
``logit(acc_OOD) = s logit(acc_ID) + c``; effective robustness (ER) is a model's OOD
accuracy above that line. The robust source's 2000 examples are then mixed with 0 to
4000 shortcut examples: more data, but from the less robust source.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..dataset import Dataset
from ..io import load_builtin
from ..io.builtins import mnist1d_arrays
from ..learners import make_learner
from ..metrics import accuracy, effective_robustness, fit_robustness_line
from . import RecipeResult, recipe

PAPER = "Quality Not Quantity: On the Interaction between Dataset Design and Robustness of CLIP (Nguyen et al., 2022)"
CLAIM = (
    "a model trained on the robust source alone has effective robustness >= 0.05 above the baseline line of "
    "shortcut-source models; adding shortcut-source data dilutes it - ER falls as the shortcut share grows "
    "(Spearman rho <= -0.7) and the largest mix, with three times the data, has ER at least 0.02 below the "
    "robust source alone"
)
N_ROBUST = 2000
SHORTCUT_P = {"shortcut": 0.9, "robust": 0.0, "id_test": 0.9, "ood_test": 0.0}
CODE_SCALE, CODE_NOISE = 2.0, 1.0
MIN_EPOCHS_OF_4000 = 15


def _with_code(X: np.ndarray, y: np.ndarray, p_right: float, rng: np.random.Generator) -> np.ndarray:
    """Append a noisy one-hot code that names the true class with probability ``p_right`` (else a random class)."""
    code = np.where(rng.random(len(y)) < p_right, y, rng.integers(0, 10, len(y)))
    feats = np.eye(10)[code] * CODE_SCALE + rng.normal(0.0, CODE_NOISE, (len(y), 10))
    return np.hstack([X, feats]).astype(np.float32)


def _fit_eval(X, y, width: int, seed: int, evals: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    ds = Dataset.from_arrays(X, y)
    epochs = MIN_EPOCHS_OF_4000 * max(1.0, 4000 / len(y))
    model = make_learner("mlp", hidden=[width]).fit(ds, epochs=epochs, seed=seed)
    return {k: accuracy(model.predict_proba(Xe), ye) for k, (Xe, ye) in evals.items()}


@recipe("quality-not-quantity", paper=PAPER, claim=CLAIM)
def quality_not_quantity(*, seed: int = 0, quick: bool = False) -> RecipeResult:
    seeds = [seed] if quick else [seed, seed + 1]
    data = load_builtin("mnist1d", seed=42 + seed)
    robust_raw = mnist1d_arrays(N_ROBUST, 1.0, 7_000 + seed)
    rng = np.random.default_rng(seed)
    tr, te = data.train, data.test
    Xs, ys = _with_code(tr.X, tr.y, SHORTCUT_P["shortcut"], rng), tr.y
    Xr, yr = _with_code(robust_raw["x"], robust_raw["y"], SHORTCUT_P["robust"], rng), robust_raw["y"]
    evals = {
        "id": (_with_code(te.X, te.y, SHORTCUT_P["id_test"], rng), te.y),
        "ood": (_with_code(te.X, te.y, SHORTCUT_P["ood_test"], rng), te.y),
    }

    rows = []
    widths = (32, 256)
    base_sizes = (100, 400, 1600, 4000) if not quick else (100, 1000, 4000)
    for w in widths:
        for n in base_sizes:
            acc = _fit_eval(Xs[:n], ys[:n], w, seed, evals)
            rows.append(
                {
                    "kind": "baseline",
                    "model": f"shortcut-only mlp-{w} n={n}",
                    "n_robust": 0,
                    "n_shortcut": n,
                    "seed": seed,
                    "id_acc": acc["id"],
                    "ood_acc": acc["ood"],
                }
            )
    base = pd.DataFrame(rows)
    s, c = fit_robustness_line(base["id_acc"], base["ood_acc"])

    added = (0, 1000, 2000, 4000) if quick else (0, 500, 1000, 2000, 4000)
    for n_short in added:
        X = np.concatenate([Xr, Xs[:n_short]])
        y = np.concatenate([yr, ys[:n_short]])
        for sd in seeds:
            acc = _fit_eval(X, y, 256, sd, evals)
            rows.append(
                {
                    "kind": "mix",
                    "model": f"robust {N_ROBUST} + shortcut {n_short}",
                    "n_robust": N_ROBUST,
                    "n_shortcut": n_short,
                    "seed": sd,
                    "id_acc": acc["id"],
                    "ood_acc": acc["ood"],
                }
            )
    res = pd.DataFrame(rows)
    res["er"] = effective_robustness(
        res["id_acc"].to_numpy(), res["ood_acc"].to_numpy(), base["id_acc"], base["ood_acc"]
    )
    mixes = res[res["kind"] == "mix"].groupby("n_shortcut")[["id_acc", "ood_acc", "er"]].mean()
    share = mixes.index.to_numpy() / (mixes.index.to_numpy() + N_ROBUST)
    rho = float(stats.spearmanr(share, mixes["er"]).statistic)
    er_robust = float(mixes.loc[0, "er"])
    er_largest = float(mixes["er"].iloc[-1])

    measured: dict[str, object] = {
        "baseline line (logit scale) slope, intercept": f"{s:.3f}, {c:.3f}",
        "baseline ER (mean |ER| of shortcut-only models)": float(np.abs(res.loc[res.kind == "baseline", "er"]).mean()),
    }
    for n_short, r in mixes.iterrows():
        measured[f"robust {N_ROBUST} + shortcut {n_short}: ID / OOD / ER"] = (
            f"{r['id_acc']:.3f} / {r['ood_acc']:.3f} / {r['er']:+.3f}"
        )
    measured["ER of the robust source alone"] = er_robust
    measured[f"ER with {int(mixes.index[-1])} shortcut examples added"] = er_largest
    measured["Spearman rho (shortcut share, ER)"] = rho
    measured["seeds per mix"] = len(seeds)
    held = bool(er_robust >= 0.05 and rho <= -0.7 and er_largest <= er_robust - 0.02)
    return RecipeResult("quality-not-quantity", PAPER, CLAIM, measured, held, res)
