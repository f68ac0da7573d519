"""DataComp (Gadre et al., 2023): quality-score filter intersected with the image-based cluster filter wins.

A noisy pool for a target task (MNIST-1D), with the two kinds of bad data the two
DataComp filters are built for:

- *mislabeled* target-domain rows (``FLIP`` of the MNIST-1D signals get a wrong label, as
  web captions that do not describe their image) -- a quality score sees them, clustering
  does not;
- *off-target* rows (noisy sine waves of 6 to 12 cycles, not digits), labelled mostly as the
  quality model itself would label them (``JUNK_AGREE``), as web images whose rendered text
  matches the caption and so score well on CLIP score -- clustering sees them, the quality
  score mostly does not.

The quality score (the CLIP-score analogue) is the probability of a row's label under a
reference model trained on a small clean target set (``N_REF`` rows, also the cluster
filter's target). Each filter keeps ``KEEP`` of the pool; every model trains for the same
number of steps (DataComp's fixed samples seen) and is tested on the target test set.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..io import load_builtin
from ..learners import make_learner
from ..metrics import accuracy
from ..select import select
from . import RecipeResult, recipe

PAPER = "DataComp: In search of the next generation of multimodal datasets (Gadre et al., 2023)"
CLAIM = (
    "on a pool with mislabeled and off-target rows, the intersection of a quality-score filter and the "
    "target-cluster filter gives higher test accuracy than either filter alone and than a random subset of "
    "the same size, at a fixed number of samples seen"
)
N_TARGET, N_JUNK, N_REF = 3000, 2500, 400
FLIP = 0.3
JUNK_AGREE = 0.7
KEEP = 0.3
SAMPLES_SEEN = 30_000
N_CLUSTERS = 100
STRATEGIES = ("random", "quality", "cluster", "quality_cluster")


def sine_waves(n: int, d: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Off-target signals: sine waves of 6-12 cycles with random phase and noise, at the target's scale."""
    t = np.arange(d) / d
    w = np.sin(2 * np.pi * rng.uniform(6, 12, (n, 1)) * t + rng.uniform(0, 2 * np.pi, (n, 1)))
    w += 0.3 * rng.standard_normal((n, d))
    w = (w - w.mean(axis=1, keepdims=True)) / w.std(axis=1, keepdims=True)
    return (w * scale).astype(np.float32)


@recipe("datacomp-filters", paper=PAPER, claim=CLAIM)
def datacomp_filters(*, seed: int = 0, quick: bool = False) -> RecipeResult:
    seeds = [seed + k for k in range(2 if quick else 5)]
    data = load_builtin("mnist1d", seed=42 + seed)
    train, test = data.train, data.test
    rng = np.random.default_rng(seed)
    C = train.n_classes
    perm = rng.permutation(train.n)
    ref_rows, tgt_rows = perm[:N_REF], perm[N_REF : N_REF + N_TARGET]

    ref = train.subset(ref_rows)
    ref_model = make_learner("mlp", hidden=[64]).fit(ref, epochs=30, seed=seed)

    Xt, yt = train.X[tgt_rows], train.y[tgt_rows].copy()
    flip = rng.random(N_TARGET) < FLIP
    yt[flip] = (yt[flip] + rng.integers(1, C, int(flip.sum()))) % C
    Xj = sine_waves(N_JUNK, train.n_features, float(train.X.std()), rng)
    agree = rng.random(N_JUNK) < JUNK_AGREE
    yj = np.where(agree, ref_model.predict_proba(Xj).argmax(1), rng.integers(0, C, N_JUNK))
    X = np.vstack([Xt, Xj])
    y = np.r_[yt, yj]
    kind = np.array(["clean"] * N_TARGET + ["junk"] * N_JUNK, dtype=object)
    kind[:N_TARGET][flip] = "mislabeled"
    pool = Dataset.from_arrays(X, y, class_names=train.class_names, name="noisy-pool")

    quality = ref_model.predict_proba(X)[np.arange(pool.n), y]
    E = (X - X.mean(axis=0)) / X.std(axis=0)
    target = (ref.X - X.mean(axis=0)) / X.std(axis=0)
    k = int(round(KEEP * pool.n))

    rows = []
    for s in seeds:
        picks = {
            "random": select(pool, "random", k, seed=s),
            "quality": select(pool, "quality", k, scores=quality, seed=s),
            "cluster": select(pool, "cluster_filter", k, embeddings=E, target=target, n_clusters=N_CLUSTERS, seed=s),
            "quality_cluster": select(
                pool, "quality_cluster", k, scores=quality, embeddings=E, target=target, n_clusters=N_CLUSTERS, seed=s
            ),
        }
        for strategy, idx in picks.items():
            sub = pool.subset(np.sort(idx))
            epochs = SAMPLES_SEEN / sub.n
            lrn = make_learner("mlp", hidden=[128, 128], lr=0.002).fit(sub, epochs=epochs, seed=s)
            frac = pd.Series(kind[idx]).value_counts(normalize=True)
            rows.append(
                {
                    "strategy": strategy,
                    "seed": s,
                    "accuracy": accuracy(lrn.predict_proba(test.X), test.y),
                    "clean": float(frac.get("clean", 0.0)),
                    "mislabeled": float(frac.get("mislabeled", 0.0)),
                    "junk": float(frac.get("junk", 0.0)),
                }
            )
    details = pd.DataFrame(rows)
    mean = details.groupby("strategy")[["accuracy", "clean", "mislabeled", "junk"]].mean()
    acc = mean["accuracy"]
    margin_alone = float(acc["quality_cluster"] - max(acc["quality"], acc["cluster"]))
    margin_random = float(acc["quality_cluster"] - acc["random"])
    measured = {
        "pool": f"{N_TARGET} target rows ({FLIP:.0%} mislabeled) + {N_JUNK} off-target rows",
        "kept per filter": k,
        **{f"{s} accuracy": float(acc[s]) for s in STRATEGIES},
        **{f"{s} clean share": float(mean.loc[s, "clean"]) for s in STRATEGIES},
        "quality: off-target share": float(mean.loc["quality", "junk"]),
        "cluster: mislabeled share": float(mean.loc["cluster", "mislabeled"]),
        "intersection minus best single filter (points)": 100 * margin_alone,
        "intersection minus random (points)": 100 * margin_random,
        "seeds": len(seeds),
    }
    held = margin_alone > 0 and margin_random > 0
    return RecipeResult("datacomp-filters", PAPER, CLAIM, measured, held, details)
