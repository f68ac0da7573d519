"""AdaNPC (Zhang et al., 2023): a kNN memory that test points join tracks a sequence of shifting domains.

Protocol (MNIST-1D, generated offline):

1. Source: ``n_train`` MNIST-1D signals with the generator's default parameters, plus 500
   held-out source signals. An MLP (two ReLU layers) is trained on the source.
2. Domains: six test sets of 600 signals from fresh generator seeds, the first with the
   source parameters and each later one further shifted — correlated noise 0.25 -> 0.60,
   i.i.d. noise 0.02 -> 0.12, maximal translation 48 -> 72, shear 0.75 -> 1.50, in equal steps.
3. Three classifiers share the trained network's features:
   **ERM** — its own linear head; **kNN** — AdaNPC's classifier (k = 100 most cosine-similar
   memory entries, weights softmax(sim / 0.1)) over a memory of the source training
   features, never updated; **AdaNPC** — the same classifier fed the domains in order as a
   stream of batches of 100: each batch is predicted, then its points with confidence
   >= beta join the memory with their predicted labels. beta is the median kNN
   confidence on the held-out *source* signals (no target information is used).
4. Accuracy per domain; the claim is checked on the mean over the five shifted domains.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..io.builtins import mnist1d_arrays
from ..learners import make_learner
from ..metrics import accuracy
from . import RecipeResult, recipe

PAPER = "AdaNPC: Exploring Non-Parametric Classifier for Test-Time Adaptation (Zhang et al., 2023)"
CLAIM = (
    "on a stream of increasingly shifted domains, a kNN classifier over a feature memory beats the ERM linear head "
    "on the same features, and adding confidently predicted test points to the memory (AdaNPC) beats both "
    "(mean accuracy over the shifted domains: AdaNPC - ERM >= 0.01, AdaNPC > kNN on average and in most seeds)"
)
N_DOMAINS, N_PER_DOMAIN, BATCH = 6, 600, 100
SHIFT_START = {"corr_noise_scale": 0.25, "iid_noise_scale": 0.02, "max_translation": 48, "shear_scale": 0.75}
SHIFT_END = {"corr_noise_scale": 0.60, "iid_noise_scale": 0.12, "max_translation": 72, "shear_scale": 1.50}
MIN_GAIN_OVER_ERM = 0.01


def _domain_args(j: int) -> dict:
    f = j / (N_DOMAINS - 1)
    out = {k: SHIFT_START[k] + f * (SHIFT_END[k] - SHIFT_START[k]) for k in SHIFT_START}
    out["max_translation"] = int(round(out["max_translation"]))
    return out


@recipe("adanpc", paper=PAPER, claim=CLAIM)
def adanpc(*, seed: int = 0, quick: bool = False) -> RecipeResult:
    n_seeds = 2 if quick else 5
    n_train, epochs = (3000, 30) if quick else (4000, 40)
    t0 = time.perf_counter()
    rows = []
    for r in range(n_seeds):
        s = seed * 1000 + r
        src = mnist1d_arrays(n_train + 500, n_train / (n_train + 500), s)
        train = Dataset.from_arrays(src["x"], src["y"], class_names=[str(c) for c in range(10)], name="mnist1d")
        domains = []
        for j in range(N_DOMAINS):
            a = mnist1d_arrays(N_PER_DOMAIN, 0.0, 10_000 + 100 * s + j, **_domain_args(j))
            domains.append((a["x_test"], a["y_test"]))
        lrn = make_learner("adanpc", hidden=[128, 128]).fit(train, epochs=epochs, seed=s)
        lrn.beta = float(np.median(lrn.predict_proba(src["x_test"]).max(1)))
        static = [(accuracy(lrn.predict_proba_head(X), y), accuracy(lrn.predict_proba(X), y)) for X, y in domains]
        for j, (X, y) in enumerate(domains):
            probs = np.concatenate([lrn.adapt(X[b : b + BATCH]) for b in range(0, len(y), BATCH)])
            rows.append(
                {
                    "seed": s,
                    "domain": j,
                    **_domain_args(j),
                    "erm": static[j][0],
                    "knn": static[j][1],
                    "adanpc": accuracy(probs, y),
                    "memory_size": lrn.memory_size_,
                    "beta": lrn.beta,
                }
            )
    details = pd.DataFrame(rows)
    shifted = details[details.domain > 0].groupby("seed")[["erm", "knn", "adanpc"]].mean()
    gain_erm = float((shifted.adanpc - shifted.erm).mean())
    gain_knn = float((shifted.adanpc - shifted.knn).mean())
    wins = int((shifted.adanpc > shifted.knn).sum())
    by_domain = details.groupby("domain")[["erm", "knn", "adanpc"]].mean()
    measured = {
        "ERM accuracy (shifted domains)": float(shifted.erm.mean()),
        "kNN accuracy (shifted domains)": float(shifted.knn.mean()),
        "AdaNPC accuracy (shifted domains)": float(shifted.adanpc.mean()),
        "AdaNPC - ERM": gain_erm,
        "AdaNPC - kNN": gain_knn,
        "kNN - ERM": float((shifted.knn - shifted.erm).mean()),
        "seeds where AdaNPC > kNN": f"{wins} of {n_seeds}",
        "accuracy by domain (ERM / kNN / AdaNPC)": {
            int(j): f"{v.erm:.3f} / {v.knn:.3f} / {v.adanpc:.3f}" for j, v in by_domain.iterrows()
        },
        "test points added to memory (mean)": float(details.groupby("seed").memory_size.max().mean() - n_train),
        "beta (median source confidence, mean)": float(details.beta.mean()),
        "seeds": n_seeds,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    held = gain_erm >= MIN_GAIN_OVER_ERM and gain_knn > 0 and wins > n_seeds / 2
    return RecipeResult("adanpc", PAPER, CLAIM, measured, bool(held), details)
