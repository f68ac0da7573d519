"""DataComp (Gadre et al., 2023): a quality-score filter beats a random subset of the pool of the same size.

The abstract: "We introduce DataComp-1B, a dataset created by applying a simple filtering
algorithm to the 12.8B candidate pool." and "These gains highlight the potential for
improving model performance by carefully curating training sets."

The paper's claim, in its terms: with the training code and the number of samples seen
fixed, a subset of the candidate pool chosen by a filter (their baseline: keep the top
30% by CLIP score, the image-caption agreement of a reference model) trains better models
than a random subset of the same size. Checked here (``claim_part``): the CLIP-score
filter's analogue against a random 30% of a noisy pool, at a fixed number of samples
seen, on the pool's target task (MNIST-1D).

The pool holds the two kinds of bad data of a web crawl:

- *mislabeled* target-domain rows (``FLIP`` of the MNIST-1D signals get a wrong label, as
  web captions that do not describe their image);
- *off-target* rows (noisy sine waves of 6 to 12 cycles, not digits), labelled mostly as
  the reference model itself would label them (``JUNK_AGREE``), as web images whose
  rendered text matches the caption and so score well on CLIP score -- a quality score
  does not see them.

The quality score is the probability of a row's label under a reference model trained
on a small clean target set (``N_REF`` rows). Each subset keeps ``KEEP`` of the pool; every
model trains for ``SAMPLES_SEEN`` samples (DataComp's fixed samples seen).

Effect: test accuracy of the quality-filtered subset minus that of the random subset,
above ``MARGIN`` = 1 point (DataComp's filters gain several points over no filtering; 1
point is the smallest gain worth a filter). Interval: paired bootstrap over seeds x test
items of 0/1 correctness (the random subset and the training order change with the seed).

Negative control (``control=True``): the same top-30% filter run on the quality scores
shuffled across the pool (a random filter), so the filter carries no information about
which rows are good. The gain over a random subset must vanish.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..io.builtins import mnist1d_arrays
from ..learners import make_learner
from ..select import select
from . import Effect, RecipeResult, paired_bootstrap, recipe, seeds_for

NAME = "datacomp-filters"
PAPER = "DataComp: In search of the next generation of multimodal datasets (Gadre et al., 2023)"
CLAIM = (
    "at a fixed number of samples seen, the subset of the candidate pool kept by a quality-score filter "
    "(top 30% by the reference model's score) trains a better model than a random subset of the same size"
)
CLAIM_PART = (
    "a noisy MNIST-1D pool (30% of the digits mislabeled, 45% off-target rows): the top 30% by a reference "
    "model's label probability beats a random 30% by more than 1 point of test accuracy"
)
N_TARGET, N_JUNK, N_REF, N_TEST = 3000, 2500, 400, 2000
FLIP = 0.3
JUNK_AGREE = 0.7
KEEP = 0.3
SAMPLES_SEEN = 30_000
PARAMS = {"hidden": [128, 128], "lr": 0.002}
MARGIN = 1.0
FULL_SEEDS = 6  # a random subset's accuracy varies by a few points from draw to draw


def sine_waves(n: int, d: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Off-target signals: sine waves of 6-12 cycles with random phase and noise, at the target's scale."""
    t = np.arange(d) / d
    w = np.sin(2 * np.pi * rng.uniform(6, 12, (n, 1)) * t + rng.uniform(0, 2 * np.pi, (n, 1)))
    w += 0.3 * rng.standard_normal((n, d))
    w = (w - w.mean(axis=1, keepdims=True)) / w.std(axis=1, keepdims=True)
    return (w * scale).astype(np.float32)


@lru_cache(maxsize=2)
def _signals(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-1D signals of one run: reference rows, target-pool rows, then test rows (cached: generating is slow)."""
    raw = mnist1d_arrays(N_REF + N_TARGET + N_TEST, 1.0, 42 + seed)
    x, y = np.asarray(raw["x"], dtype=np.float32), np.asarray(raw["y"], dtype=np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def noisy_pool(seed: int) -> dict:
    """The reference set, the pool (with each row's kind), the quality scores and the test set of one run."""
    x, y = _signals(seed)
    rng = np.random.default_rng(seed)
    C = 10
    ref = Dataset.from_arrays(x[:N_REF], y[:N_REF])
    ref_model = make_learner("mlp", hidden=[64]).fit(ref, epochs=30, seed=seed)
    Xt, yt = x[N_REF : N_REF + N_TARGET], y[N_REF : N_REF + N_TARGET].copy()
    flip = rng.random(N_TARGET) < FLIP
    yt[flip] = (yt[flip] + rng.integers(1, C, int(flip.sum()))) % C
    Xj = sine_waves(N_JUNK, x.shape[1], float(x.std()), rng)
    agree = rng.random(N_JUNK) < JUNK_AGREE
    yj = np.where(agree, ref_model.predict_proba(Xj).argmax(1), rng.integers(0, C, N_JUNK))
    X, yp = np.vstack([Xt, Xj]), np.r_[yt, yj]
    kind = np.array(["clean"] * N_TARGET + ["junk"] * N_JUNK, dtype=object)
    kind[:N_TARGET][flip] = "mislabeled"
    quality = ref_model.predict_proba(X)[np.arange(len(yp)), yp]
    return {
        "pool": Dataset.from_arrays(X, yp, name="noisy-pool"),
        "kind": kind,
        "quality": quality,
        "X_test": x[N_REF + N_TARGET :],
        "y_test": y[N_REF + N_TARGET :],
    }


@recipe(NAME, paper=PAPER, claim=CLAIM, control="the filter's quality scores shuffled across the pool")
def datacomp_filters(*, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    seeds = seeds_for(seed, quick, full=FULL_SEEDS)
    d = noisy_pool(seed)
    pool, kind, quality, y_test = d["pool"], d["kind"], d["quality"], d["y_test"]
    if control:
        quality = np.random.default_rng(seed + 10_000).permutation(quality)
    k = int(round(KEEP * pool.n))
    filt = select(pool, "quality", k, scores=quality, seed=seed)

    rows, correct = [], {"quality": [], "random": []}
    for s in seeds:
        for arm, idx in (("quality", filt), ("random", select(pool, "random", k, seed=s))):
            sub = pool.subset(np.sort(idx))
            lrn = make_learner("mlp", **PARAMS).fit(sub, epochs=SAMPLES_SEEN / sub.n, seed=s)
            c = (lrn.predict_proba(d["X_test"]).argmax(1) == y_test).astype(float)
            correct[arm].append(100 * c)
            frac = pd.Series(kind[idx]).value_counts(normalize=True)
            rows.append({"arm": arm, "seed": s, "accuracy": float(c.mean()),
                         **{kd: float(frac.get(kd, 0.0)) for kd in ("clean", "mislabeled", "junk")}})  # fmt: skip
    details = pd.DataFrame(rows)
    filter_name = "shuffled-score filter" if control else "quality filter"
    gain = Effect(
        f"test accuracy, {filter_name} (top {KEEP:.0%}) minus random {KEEP:.0%} subset (points)",
        *paired_bootstrap(np.array(correct["quality"]), np.array(correct["random"]), seed=seed),
        margin=MARGIN,
        method=f"paired bootstrap over {len(seeds)} seeds x {len(y_test)} test items",
    )
    mean = details.groupby("arm")[["accuracy", "clean", "mislabeled", "junk"]].mean()
    measured: dict[str, object] = {
        "pool": f"{N_TARGET} target rows ({FLIP:.0%} mislabeled) + {N_JUNK} off-target rows",
        "kept per subset": k,
        "filter scores": "shuffled (control)" if control else "reference-model label probability",
    }
    for arm, r in mean.iterrows():
        measured[f"{arm}: accuracy"] = float(r["accuracy"])
        measured[f"{arm}: clean / mislabeled / off-target share"] = (
            f"{r['clean']:.2f} / {r['mislabeled']:.2f} / {r['junk']:.2f}"
        )
    return RecipeResult(
        NAME,
        PAPER,
        CLAIM,
        measured,
        details=details,
        effects=[gain],
        claim_part=CLAIM_PART,
        seeds=seeds,
        sizes={"n_pool": pool.n, "kept": k, "samples_seen": SAMPLES_SEEN, "n_test": len(y_test)},
    )
