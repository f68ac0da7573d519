"""AdaNPC (Zhang et al., 2023): a kNN memory that test points join, on a stream of shifting domains.

The abstract's claim: "In this way, the sample distribution in the memory can be
gradually changed from the training distribution towards the test distribution with very
little extra computation cost." and "AdaNPC significantly outperforms competitive
baselines on various DG benchmarks." In the paper's terms: a non-parametric classifier
(kNN over a memory of training features and labels) to which test features join with
their predicted labels adapts a trained model at test time, and beats the un-adapted
parametric classifier on shifted target domains, the more so the further the target has
moved from the training distribution (its bound on the target error grows with the
domain divergence, which the memory reduces).

What this small experiment checks (``claim_part``): on a stream of increasingly shifted
MNIST-1D domains, AdaNPC (kNN + memory updated at test time) is more accurate than the
ERM linear head of the same trained network, and its gain grows with the shift. It does
not compare AdaNPC with other test-time-adaptation methods.

Protocol (MNIST-1D, generated offline):

1. Source: ``n_train`` MNIST-1D signals with the generator's default parameters, plus 500
   held-out source signals. An MLP (two ReLU layers of 128) is trained on the source.
2. Domains: six test sets of ``n_per_domain`` signals from fresh generator seeds, the
   first with the source parameters and each later one further shifted — correlated
   noise 0.25 -> 0.60, i.i.d. noise 0.02 -> 0.12, maximal translation 48 -> 72, shear
   0.75 -> 1.50, in equal steps.
3. Three classifiers share the trained network's features: **ERM** — its own linear
   head (the un-adapted parametric classifier); **kNN** — AdaNPC's classifier (k = 100
   most cosine-similar memory entries, weights softmax(sim / 0.1)) over a memory of the
   source training features, never updated (reported, not judged); **AdaNPC** — the same
   classifier fed the domains in order as a stream of batches of 100: each batch is
   predicted, then its points with confidence >= beta join the memory with their
   predicted labels. beta is the median kNN confidence on the held-out *source* signals
   (no target information is used).

Effects (per-item 0/1 correctness, paired across arms, bootstrap over seeds x items):

- **gain**: AdaNPC minus ERM accuracy on the five shifted domains, margin 0.01 (one
  point of accuracy — the smallest gain worth a test-time method's extra machinery);
- **growth**: the least-squares slope of the per-domain gain (AdaNPC - ERM) over the
  shift step 0..5, margin 0 (the gain grows with the shift).

Negative control — **no shift**: all six test domains are drawn with the *source*
parameters (the same generator seeds). Adaptation has nothing to move the memory
towards, so the gain over ERM should shrink to whatever the kNN-versus-linear-head
difference is in distribution, and it cannot grow along the stream. Shuffling the
memory's labels was rejected: it breaks the classifier itself (accuracy to chance) rather
than the adaptation the claim is about.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..io.builtins import mnist1d_arrays
from ..learners import make_learner
from . import Effect, RecipeResult, bootstrap, one_blas_thread, paired_bootstrap, recipe, seeds_for

NAME = "adanpc"
PAPER = "AdaNPC: Exploring Non-Parametric Classifier for Test-Time Adaptation (Zhang et al., 2023)"
CLAIM = (
    "non-parametric test-time adaptation — a kNN classifier over a memory of training features that test "
    "features join with their predicted labels — beats the un-adapted parametric classifier under domain "
    "shift, the more so the larger the shift"
)
CLAIM_PART = (
    "on a stream of six increasingly shifted MNIST-1D domains: AdaNPC - ERM head accuracy on the shifted "
    "domains > 1 point, and the per-domain gain grows with the shift step (slope > 0)"
)
CONTROL = "no shift: every test domain drawn with the source parameters"
N_DOMAINS, BATCH, N_SOURCE_HELDOUT = 6, 100, 500
SHIFT_START = {"corr_noise_scale": 0.25, "iid_noise_scale": 0.02, "max_translation": 48, "shear_scale": 0.75}
SHIFT_END = {"corr_noise_scale": 0.60, "iid_noise_scale": 0.12, "max_translation": 72, "shear_scale": 1.50}
MIN_GAIN, MIN_SLOPE = 0.01, 0.0
SIZES = {
    "full": {"n_train": 4000, "n_per_domain": 1000, "epochs": 40},
    "quick": {"n_train": 3000, "n_per_domain": 600, "epochs": 30},
}


def _domain_args(j: int) -> dict:
    """Generator parameters of domain ``j`` (0 = the source's, 5 = the most shifted)."""
    f = j / (N_DOMAINS - 1)
    out = {k: SHIFT_START[k] + f * (SHIFT_END[k] - SHIFT_START[k]) for k in SHIFT_START}
    out["max_translation"] = int(round(out["max_translation"]))
    return out


@functools.lru_cache(maxsize=64)
def _mnist1d(num_samples: int, train_split: float, seed: int, shift: int) -> dict:
    # the source and the domains are shared by a recipe's run and its control: generate each once
    return mnist1d_arrays(num_samples, train_split, seed, **_domain_args(shift))


def _slope(gains: np.ndarray) -> float:
    """Least-squares slope of per-domain gains over the shift steps 0..len-1."""
    j = np.arange(len(gains), dtype=float)
    j -= j.mean()
    return float((j * (gains - gains.mean())).sum() / (j * j).sum())


def _run_adanpc(
    *,
    seed: int = 0,
    quick: bool = False,
    control: bool = False,
    n_train: int | None = None,
    n_per_domain: int | None = None,
    epochs: float | None = None,
) -> RecipeResult:
    """The recipe, with its sizes overridable (tests run it smaller)."""
    size = dict(SIZES["quick" if quick else "full"])
    for key, val in (("n_train", n_train), ("n_per_domain", n_per_domain), ("epochs", epochs)):
        if val is not None:
            size[key] = val
    n_tr, n_dom = int(size["n_train"]), int(size["n_per_domain"])
    seeds = seeds_for(seed, quick)
    rows = []
    correct = {arm: np.zeros((len(seeds), N_DOMAINS, n_dom)) for arm in ("erm", "knn", "adanpc")}
    for r, s in enumerate(seeds):
        src = _mnist1d(n_tr + N_SOURCE_HELDOUT, n_tr / (n_tr + N_SOURCE_HELDOUT), s, 0)
        train = Dataset.from_arrays(src["x"], src["y"], class_names=[str(c) for c in range(10)], name="mnist1d")
        # the control draws the same generator seeds with the source's parameters: no shift at all
        domains = [_mnist1d(n_dom, 0.0, 10_000 + 100 * s + j, 0 if control else j) for j in range(N_DOMAINS)]
        lrn = make_learner("adanpc", hidden=[128, 128]).fit(train, epochs=size["epochs"], seed=s)
        lrn.beta = float(np.median(lrn.predict_proba(src["x_test"]).max(1)))
        for j, dom in enumerate(domains):
            X, y = dom["x_test"], dom["y_test"]
            correct["erm"][r, j] = lrn.predict_proba_head(X).argmax(1) == y
            correct["knn"][r, j] = lrn.predict_proba(X).argmax(1) == y
        for j, dom in enumerate(domains):
            X, y = dom["x_test"], dom["y_test"]
            probs = np.concatenate([lrn.adapt(X[b : b + BATCH]) for b in range(0, len(y), BATCH)])
            correct["adanpc"][r, j] = probs.argmax(1) == y
            rows.append(
                {
                    "seed": s,
                    "domain": j,
                    **_domain_args(0 if control else j),
                    **{arm: float(correct[arm][r, j].mean()) for arm in correct},
                    "memory_size": lrn.memory_size_,
                    "beta": lrn.beta,
                }
            )
    details = pd.DataFrame(rows)

    shifted = {arm: c[:, 1:].reshape(len(seeds), -1) for arm, c in correct.items()}
    g_est, g_lo, g_hi = paired_bootstrap(shifted["adanpc"], shifted["erm"], seed=seed)
    diff = correct["adanpc"] - correct["erm"]  # (seeds, domains, items)

    def slope_stat(si: np.ndarray, ii: np.ndarray) -> float:
        return _slope(diff[si][:, :, ii].mean(axis=(0, 2)))

    s_est, s_lo, s_hi = bootstrap(slope_stat, [len(seeds), n_dom], seed=seed)
    how = f"bootstrap over {len(seeds)} seeds x {n_dom} items per domain"
    effects = [
        Effect(
            "AdaNPC - ERM head accuracy, shifted domains 1-5 (margin: 1 point)",
            g_est,
            g_lo,
            g_hi,
            margin=MIN_GAIN,
            method=f"paired {how} (x5 domains)",
        ),
        Effect(
            "slope of the per-domain gain AdaNPC - ERM over shift steps 0-5 (> 0: grows with the shift)",
            s_est,
            s_lo,
            s_hi,
            margin=MIN_SLOPE,
            method=how,
        ),
    ]
    by_domain = details.groupby("domain")[["erm", "knn", "adanpc"]].mean()
    measured = {
        "ERM accuracy (shifted domains)": float(shifted["erm"].mean()),
        "kNN accuracy (shifted domains)": float(shifted["knn"].mean()),
        "AdaNPC accuracy (shifted domains)": float(shifted["adanpc"].mean()),
        "AdaNPC - kNN (shifted domains; the memory update's own share)": float(
            (shifted["adanpc"] - shifted["knn"]).mean()
        ),
        "accuracy by domain (ERM / kNN / AdaNPC)": {
            int(j): f"{v.erm:.3f} / {v.knn:.3f} / {v.adanpc:.3f}" for j, v in by_domain.iterrows()
        },
        "gain AdaNPC - ERM by domain": {int(j): round(float(v.adanpc - v.erm), 4) for j, v in by_domain.iterrows()},
        "test points added to memory (mean)": float(details.groupby("seed").memory_size.max().mean() - n_tr),
        "beta (median source confidence, mean)": float(details.beta.mean()),
    }
    return RecipeResult(
        NAME,
        PAPER,
        CLAIM,
        measured,
        details=details,
        effects=effects,
        claim_part=CLAIM_PART,
        seeds=seeds,
        sizes={"n_train": n_tr, "n_per_domain": n_dom, "n_domains": N_DOMAINS, "epochs": int(size["epochs"])},
    )


# The recipe (keyword arguments as :func:`_run_adanpc`: sizes overridable, tests run it smaller).
run_adanpc = one_blas_thread(_run_adanpc)


@recipe(NAME, paper=PAPER, claim=CLAIM, control=CONTROL)
def adanpc(*, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    return run_adanpc(seed=seed, quick=quick, control=control)
