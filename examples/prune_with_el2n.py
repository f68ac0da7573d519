"""Prune a training set with EL2N (Paul et al., 2021) and check what it costs, in and out of distribution.

Trains a small MLP proxy twice on MNIST-1D while recording its training dynamics, scores
every example with EL2N (and forgetting events), keeps half the data three ways (EL2N
hardest, EL2N easiest, random), retrains on each half and compares with the full set on
the ID test set and the shifted OOD test set. The kept ids are written to a Parquet file
that `datafactors.select.export.parquet_filter` (or `datafactors select --out`) users can
read back.

Run:  python examples/prune_with_el2n.py          (about 10 s on a laptop CPU)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import datafactors as df
from datafactors.select.export import selection_frame

EPOCHS = 15
PARAMS = {"hidden": [128, 128], "batch_size": 128, "lr": 0.002}


def main(out_dir: Path) -> None:
    train, test, ood = df.load("mnist1d", split=True, n_train=2000, n_test=500, n_ood=500)
    scores = df.scores.compute(
        train, ["el2n", "forgetting"], learner="mlp", seeds=2, epochs=EPOCHS, learner_params=PARAMS
    )
    el2n, never = scores["el2n"], int((scores["forgetting"] == float("inf")).sum())
    print(
        f"EL2N median {el2n.median():.3f}, 90th percentile {el2n.quantile(0.9):.3f}; {never} examples never learned\n"
    )

    subsets = {
        "full": None,
        "el2n_hardest_50": df.select.select(train, "hardest", 0.5, scores=scores, score="el2n", seed=0),
        "el2n_easiest_50": df.select.select(train, "easiest", 0.5, scores=scores, score="el2n", seed=0),
        "random_50": df.select.select(train, "random", 0.5, seed=0),
    }
    print(f"{'subset':<18}{'n':>6}{'ID acc':>9}{'OOD acc':>9}{'ID ECE':>9}")
    for name, keep in subsets.items():
        part = train if keep is None else train.subset(keep)
        model = df.learners.make_learner("mlp", **PARAMS).fit(part, epochs=EPOCHS, seed=0)
        id_m = df.metrics.evaluate(model.predict_proba(test.X), test.y)
        ood_m = df.metrics.evaluate(model.predict_proba(ood.X), ood.y)
        print(f"{name:<18}{part.n:>6}{id_m['accuracy']:>9.3f}{ood_m['accuracy']:>9.3f}{id_m['ece']:>9.3f}")

    path = out_dir / "keep_el2n_hardest_50.parquet"
    selection_frame(train, subsets["el2n_hardest_50"]).to_parquet(path)
    print(f"\nkept ids written to {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="datafactors-")))
