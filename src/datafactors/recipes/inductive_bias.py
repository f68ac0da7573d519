"""Inductive bias grows with intrinsic dimension (Boopathy et al., 2023; exact version 2024).

Tasks are generated with data on an m-dimensional linear manifold in R^32 (uniform
latent cube, m in 2..8) and 4 classes given by the nearest of 4 random latent
centres (points within a small margin of a boundary dropped, so classes are
separated). For each task the Boopathy et al. bits (eps 0.01, m = rounded MLE
intrinsic dimension, delta = minimum inter-class distance) and the exact inductive
bias in nats (RBF-kernel posterior hypotheses, fixed target MSE) are measured.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import RecipeResult, recipe

NAME = "inductive-bias"
PAPER = "Model-agnostic measure of generalization difficulty (Boopathy et al., 2023; exact inductive bias, 2024)"
CLAIM = (
    "generated tasks of rising intrinsic dimension need more inductive bias: the 2023 bits rise strictly with the "
    "dimension, and the exact inductive bias in nats rises with it (Spearman >= 0.8)"
)
AMBIENT = 32
N_CLASSES = 4
MARGIN = 0.05
TARGET_MSE = 0.01


def manifold_task(
    m: int,
    n: int,
    rng: np.random.Generator,
    *,
    ambient: int = AMBIENT,
    n_classes: int = N_CLASSES,
    margin: float = MARGIN,
    basis: np.ndarray | None = None,
    centres: np.ndarray | None = None,
):
    """(X (n, ambient), y (n,)) on an m-dimensional linear manifold, Voronoi classes with a margin."""
    Q = basis if basis is not None else np.linalg.qr(rng.normal(size=(ambient, m)))[0]
    cent = centres if centres is not None else rng.uniform(0, 1, (n_classes, m))
    Z, Y, total = [], [], 0
    while total < n:
        z = rng.uniform(0, 1, (4 * n, m))
        d = np.linalg.norm(z[:, None, :] - cent[None], axis=2)
        s = np.sort(d, axis=1)
        keep = (s[:, 1] - s[:, 0]) > margin
        Z.append(z[keep])
        Y.append(d.argmin(axis=1)[keep])
        total += int(keep.sum())
    return np.concatenate(Z)[:n] @ Q.T, np.concatenate(Y)[:n], Q, cent


@recipe(NAME, paper=PAPER, claim=CLAIM)
def inductive_bias(*, seed: int = 0, quick: bool = False) -> RecipeResult:
    from scipy.stats import spearmanr

    from ..factors import exact_inductive_bias, intrinsic_dimension, task_inductive_bias_bits

    dims = (2, 4, 6) if quick else (2, 4, 6, 8)
    n_train, n_test = (600, 150) if quick else (1000, 200)
    rows = []
    for m in dims:
        rng = np.random.default_rng([seed, m])
        X, y, Q, cent = manifold_task(m, n_train, rng)
        Xt, yt, _, _ = manifold_task(m, n_test, rng, basis=Q, centres=cent)
        bits = task_inductive_bias_bits(X, y, 0.01, seed=rng)
        ex = exact_inductive_bias(X, y, Xt, yt, target_error=TARGET_MSE, n_classes=N_CLASSES, seed=rng)
        rows.append(
            {
                "dimension": m,
                "mle_dimension": intrinsic_dimension(X, seed=rng),
                "m_used": bits["m"],
                "delta": bits["delta"],
                "R": bits["R"],
                "log10_bits": bits["log10_bits"],
                "exact_nats": ex.nats,
                "mean_hypothesis_mse": float(ex.errors.mean()),
            }
        )
    res = pd.DataFrame(rows)
    rho_bits = float(spearmanr(res["dimension"], res["log10_bits"])[0])
    rho_nats = float(spearmanr(res["dimension"], res["exact_nats"])[0])
    increasing = bool(np.all(np.diff(res["log10_bits"].to_numpy()) > 0))
    measured = {
        "dimensions": list(dims),
        "MLE dimensions": [round(v, 2) for v in res["mle_dimension"]],
        "log10 bits (eps 0.01)": [round(v, 2) for v in res["log10_bits"]],
        "exact inductive bias (nats, target MSE 0.01)": [round(v, 2) for v in res["exact_nats"]],
        "Spearman(dimension, bits)": rho_bits,
        "Spearman(dimension, exact nats)": rho_nats,
    }
    return RecipeResult(NAME, PAPER, CLAIM, measured, increasing and rho_nats >= 0.8, res)
