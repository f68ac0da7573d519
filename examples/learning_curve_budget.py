"""How much more data do I need? Fit a learning curve and extrapolate it (Hestness et al., 2017).

Trains an MLP on random subsets of MNIST-1D at six sizes and two seeds, fits
err(n) = alpha * n**beta + gamma with bootstrap intervals, and answers: what error
would 2x and 4x the data give, and how many examples reach a target error? Then does
the same on the shifted OOD test set, whose curve is flatter (more data of the same
kind helps less under shift).

Run:  python examples/learning_curve_budget.py    (about 10 s on a laptop CPU)
"""

from __future__ import annotations

import numpy as np

import datafactors as df

FRACTIONS = [0.1, 0.2, 0.35, 0.5, 0.75, 1.0]
SEEDS = [0, 1]
EPOCHS = 20
PARAMS = {"hidden": [128, 128], "batch_size": 128, "lr": 0.002}


def main() -> None:
    train, test, ood = df.load("mnist1d", split=True, n_train=3000, n_test=500, n_ood=500)
    sizes, errors = [], {"ID test": [], "OOD test": []}
    for frac in FRACTIONS:
        for seed in SEEDS:
            keep = df.select.select(train, "random", frac, seed=seed)
            model = df.learners.make_learner("mlp", **PARAMS).fit(train.subset(keep), epochs=EPOCHS, seed=seed)
            sizes.append(len(keep))
            errors["ID test"].append(1 - df.metrics.accuracy(model.predict_proba(test.X), test.y))
            errors["OOD test"].append(1 - df.metrics.accuracy(model.predict_proba(ood.X), ood.y))

    n_full = train.n
    for name, err in errors.items():
        fit = df.scaling.fit_power_law(sizes, err, n_boot=200, seed=0)
        (lo2, lo4), (hi2, hi4) = fit.predict_interval([2 * n_full, 4 * n_full])
        current = float(np.mean([e for n, e in zip(sizes, err, strict=True) if n == n_full]))
        target = 0.9 * current  # ten percent (relative) below today's error
        need = fit.data_needed(target)
        print(f"{name}: err(n) = {fit.alpha:.3g} * n^{fit.beta:.3f} + {fit.gamma:.3f}")
        print(f"  error now (n = {n_full:,}): {current:.3f}")
        print(f"  at 2x (n = {2 * n_full:,}): {fit.predict(2 * n_full):.3f} [{lo2:.3f}, {hi2:.3f}]")
        print(f"  at 4x (n = {4 * n_full:,}): {fit.predict(4 * n_full):.3f} [{lo4:.3f}, {hi4:.3f}]")
        if need.reachable:
            print(
                f"  to reach {target:.3f}: about {need.n:,.0f} examples ({need.n / n_full:.1f}x) [{need.lo:,.0f}, {need.hi:,.0f}]"
            )
        else:
            print(f"  to reach {target:.3f}: not with more of the same data ({need.reason})")


if __name__ == "__main__":
    main()
