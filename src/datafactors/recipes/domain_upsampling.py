"""Domain upsampling at the end of training (Blakeney et al., 2024, "Does your data spark joy?").

Two domains of one task (MNIST-1D digits): the *general* domain (the signals as generated)
and a small *target* domain (time-reversed signals, a related domain as code is to prose)
that is 5% of the training mix. Every model trains the same number of steps with a
:class:`~datafactors.select.mixture.DomainSchedule`: the natural mix, and for the last
fraction ``f`` of the steps a mix upsampling the target domain to ``TARGET_SHARE``
(:func:`~datafactors.select.mixture.upsampling_schedule`). ``f = 0`` is the natural mix
throughout. Target-domain accuracy (reversed test signals) and general accuracy are
measured for each ``f``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..io import load_builtin
from ..learners import make_learner
from ..metrics import accuracy
from ..select.mixture import upsampling_schedule
from . import RecipeResult, recipe

PAPER = (
    "Does your data spark joy? Performance gains from domain upsampling at the end of training (Blakeney et al., 2024)"
)
CLAIM = (
    "switching to a target-upsampled mix for the last 10-20% of training raises target-domain accuracy above "
    "the natural mix (f = 0) while general accuracy stays within 1 point of it"
)
FRACTIONS = (0.0, 0.05, 0.1, 0.2, 0.3)
N_GENERAL, N_TARGET = 3500, 200
TARGET_SHARE = 0.3
EPOCHS = 20
PARAMS = {"hidden": [128, 128], "batch_size": 128, "lr": 0.002}


def to_target(X: np.ndarray) -> np.ndarray:
    """The target domain: the signals reversed in time."""
    return np.ascontiguousarray(X[:, ::-1])


@recipe("domain-upsampling", paper=PAPER, claim=CLAIM)
def domain_upsampling(*, seed: int = 0, quick: bool = False) -> RecipeResult:
    seeds = [seed + k for k in range(2 if quick else 4)]
    data = load_builtin("mnist1d", seed=42 + seed)
    train, test = data.train, data.test
    perm = np.random.default_rng(seed).permutation(train.n)
    gen, tgt = perm[:N_GENERAL], perm[N_GENERAL : N_GENERAL + N_TARGET]
    X = np.vstack([train.X[gen], to_target(train.X[tgt])])
    y = np.r_[train.y[gen], train.y[tgt]]
    domains = np.array(["general"] * N_GENERAL + ["target"] * N_TARGET)
    ds = Dataset.from_arrays(X, y, groups=domains, class_names=train.class_names, name="mnist1d-two-domains")
    X_target_test = to_target(test.X)
    final_mix = {"general": 1.0 - TARGET_SHARE, "target": TARGET_SHARE}

    rows = []
    for f in FRACTIONS:
        for s in seeds:
            sched = upsampling_schedule("target", f, target_weights=final_mix)
            lrn = make_learner("mlp", **PARAMS).fit(ds, epochs=EPOCHS, seed=s, schedule=sched)
            rows.append(
                {
                    "f": f,
                    "seed": s,
                    "general_accuracy": accuracy(lrn.predict_proba(test.X), test.y),
                    "target_accuracy": accuracy(lrn.predict_proba(X_target_test), test.y),
                }
            )
    details = pd.DataFrame(rows)
    mean = details.groupby("f")[["general_accuracy", "target_accuracy"]].mean()
    base_t, base_g = float(mean.loc[0.0, "target_accuracy"]), float(mean.loc[0.0, "general_accuracy"])
    best_f = float(mean.loc[[0.1, 0.2], "target_accuracy"].idxmax())
    gain_t = float(mean.loc[best_f, "target_accuracy"]) - base_t
    drop_g = base_g - float(mean.loc[best_f, "general_accuracy"])
    measured = {
        "target share of the natural mix": N_TARGET / (N_GENERAL + N_TARGET),
        "target share when upsampled": TARGET_SHARE,
        **{f"target accuracy f={f:g}": float(mean.loc[f, "target_accuracy"]) for f in FRACTIONS},
        **{f"general accuracy f={f:g}": float(mean.loc[f, "general_accuracy"]) for f in FRACTIONS},
        "best f in {0.1, 0.2}": best_f,
        "target gain at best f (points)": 100 * gain_t,
        "general drop at best f (points)": 100 * drop_g,
        "f with the highest target accuracy": float(mean["target_accuracy"].idxmax()),
        "seeds": len(seeds),
    }
    held = gain_t > 0 and drop_g <= 0.01
    return RecipeResult("domain-upsampling", PAPER, CLAIM, measured, held, details)
