"""Diversify and disambiguate (Lee et al., 2023; with D-BAT, Pagliardini et al., 2023) on a spurious-correlation set.

Data (built here, Waterbirds-like, on scikit-learn's 1,797 digits): the label is
``digit >= 5``; eight extra columns carry a spurious binary attribute ``s`` (each column
``(2s - 1) + N(0, 0.5^2)``, far easier to read than the digit). Per seed the images are
split into 700 labeled training rows where ``s = y`` always (the labels cannot tell the
two explanations apart), a pool of 500 unlabeled rows, 60 labeled validation rows and
the remaining 537 test rows from the target distribution where ``s`` is independent of
``y`` (each class half aligned, half not); groups are ``(y, s)``.

1. **ERM** (an MLP) learns the cue: its worst-group test accuracy is near 0.
2. **DivDis** (4 heads, mutual-information weight 10, KL weight 10) sees the unlabeled
   pool and picks its head with the 60 validation labels; **D-BAT** (2 models, alpha 1,
   the better one on the same 60 labels) sees the same pool.
3. **The unlabeled mix**: the minority share ``m`` of the unlabeled pool (rows with
   ``s != y``) is swept over [0, 1]. At ``m = 0`` the pool looks like the training data
   and gives the heads no room to disagree; at ``m = 1`` the cue is again perfectly (now
   inversely) tied to the label, so a head reading the cue and one reading the digit
   share maximal information and cannot be pulled apart. Between them lies a sweet spot.

The data are built by a private helper so that this recipe does not depend on the task
generators; it follows the same construction as ``datafactors.tasks.spurious``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..learners import make_learner
from ..metrics import accuracy, worst_group_accuracy
from . import RecipeResult, recipe

PAPER = (
    "Diversify and Disambiguate: Learning From Underspecified Data (Lee et al., 2023); "
    "Agree to Disagree (D-BAT, Pagliardini et al., 2023)"
)
CLAIM = (
    "when a spurious cue explains the labeled data as well as the core feature, DivDis with unlabeled target data "
    "beats ERM on worst-group accuracy (by >= 0.10 at a balanced unlabeled mix), and its worst-group accuracy "
    "peaks at an intermediate minority share of the unlabeled data, >= 0.05 above both the all-majority (m = 0) "
    "and the all-minority (m = 1) mix"
)
N_LABELED, N_UNLABELED, N_VAL = 700, 500, 60
SPURIOUS_DIMS, SPURIOUS_NOISE = 8, 0.5
HIDDEN = [64, 64]
MIN_GAIN, MIN_PEAK = 0.10, 0.05


def _spurious_values(y: np.ndarray, rho: float, rng: np.random.Generator) -> np.ndarray:
    """``s`` equal to ``y`` on exactly round(rho * n_c) rows of each class c (random ones), else ``1 - y``."""
    s = np.empty_like(y)
    for c in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(rho * len(idx)))
        s[idx[:k]], s[idx[k:]] = c, 1 - c
    return s


def _with_cue(X: np.ndarray, y: np.ndarray, rho: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Base features plus the spurious columns, and ``s``."""
    s = _spurious_values(y, rho, rng)
    cols = (2.0 * s[:, None] - 1.0) + rng.normal(0.0, SPURIOUS_NOISE, size=(len(y), SPURIOUS_DIMS))
    return np.c_[X, cols].astype(np.float32), s


def _spurious_splits(seed: int) -> dict:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X, y = bunch.data.astype(np.float32), (bunch.target >= 5).astype(np.int64)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    a, b, c = N_LABELED, N_LABELED + N_UNLABELED, N_LABELED + N_UNLABELED + N_VAL
    tr, un, va, te = perm[:a], perm[a:b], perm[b:c], perm[c:]
    Xtr, s_tr = _with_cue(X[tr], y[tr], 1.0, rng)
    Xva, _ = _with_cue(X[va], y[va], 0.5, rng)
    Xte, s_te = _with_cue(X[te], y[te], 0.5, rng)
    return {
        "train": Dataset.from_arrays(
            Xtr,
            y[tr],
            ids=tr,
            groups=[f"y={p},s={q}" for p, q in zip(y[tr], s_tr, strict=True)],
            class_names=["low", "high"],
            name="spurious-digits",
        ),
        "val": Dataset.from_arrays(Xva, y[va], ids=va, class_names=["low", "high"], name="spurious-digits-val"),
        "test": (Xte, y[te], np.array([f"y={p},s={q}" for p, q in zip(y[te], s_te, strict=True)])),
        "pool": (X[un], y[un]),
    }


def _unlabeled(pool: tuple[np.ndarray, np.ndarray], m: float, seed: int) -> np.ndarray:
    """The unlabeled pool with a minority (s != y) share ``m``."""
    X, y = pool
    Xu, _ = _with_cue(X, y, 1.0 - m, np.random.default_rng([seed, int(round(m * 1000))]))
    return Xu


@recipe("diversification", paper=PAPER, claim=CLAIM)
def diversification(*, seed: int = 0, quick: bool = False) -> RecipeResult:
    n_seeds = 2 if quick else 5
    epochs = 150 if quick else 200
    mixes = [0.0, 0.25, 0.5, 0.75, 1.0] if quick else [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]
    t0 = time.perf_counter()
    rows = []
    for k in range(n_seeds):
        s = seed * 1000 + k
        d = _spurious_splits(s)
        Xte, yte, gte = d["test"]

        def score(model, method: str, mix: float | None, extra: dict | None = None, s=s, Xte=Xte, yte=yte, gte=gte):
            p = model.predict_proba(Xte)
            rows.append(
                {
                    "seed": s,
                    "method": method,
                    "unlabeled_minority_share": mix,
                    "worst_group_accuracy": worst_group_accuracy(p, yte, gte),
                    "accuracy": accuracy(p, yte),
                    **(extra or {}),
                }
            )

        score(make_learner("mlp", hidden=HIDDEN).fit(d["train"], epochs=epochs, seed=s), "erm", None)
        for m in mixes:
            lrn = make_learner("divdis", hidden=HIDDEN).fit(
                d["train"], epochs=epochs, seed=s, unlabeled=_unlabeled(d["pool"], m, s), val=d["val"]
            )
            score(lrn, "divdis", m, {"selected": lrn.selected_head_})
        lrn = make_learner("dbat", hidden=HIDDEN, combine="best_val").fit(
            d["train"], epochs=epochs, seed=s, unlabeled=_unlabeled(d["pool"], 0.5, s), val=d["val"]
        )
        score(lrn, "dbat", 0.5, {"selected": lrn.selected_})
    details = pd.DataFrame(rows)
    by_mix = details[details.method == "divdis"].groupby("unlabeled_minority_share")["worst_group_accuracy"].mean()
    erm_wg = float(details[details.method == "erm"]["worst_group_accuracy"].mean())
    divdis_half = float(by_mix.loc[0.5])
    best_mix = float(by_mix.idxmax())
    ends = max(float(by_mix.iloc[0]), float(by_mix.iloc[-1]))
    gain_ok = divdis_half - erm_wg >= MIN_GAIN
    peak_ok = 0.0 < best_mix < 1.0 and float(by_mix.max()) - ends >= MIN_PEAK
    measured = {
        "ERM worst-group accuracy": erm_wg,
        "ERM accuracy": float(details[details.method == "erm"]["accuracy"].mean()),
        "DivDis worst-group accuracy (m = 0.5)": divdis_half,
        "D-BAT worst-group accuracy (m = 0.5)": float(details[details.method == "dbat"]["worst_group_accuracy"].mean()),
        "DivDis gain over ERM (m = 0.5)": divdis_half - erm_wg,
        "DivDis worst-group accuracy by unlabeled minority share m": {
            float(k): round(float(v), 3) for k, v in by_mix.items()
        },
        "best m": best_mix,
        "peak above the better end (m = 0 or 1)": float(by_mix.max()) - ends,
        "seeds": n_seeds,
        "epochs": epochs,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return RecipeResult("diversification", PAPER, CLAIM, measured, bool(gain_ok and peak_ok), details)
