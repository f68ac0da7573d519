"""AFLite on 20k x 384 synthetic embeddings with a 64-model ensemble: batched torch vs scikit-learn.

Run as::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/bench_aflite.py

Target: the whole filter (n=64, m=0.25, k=500, tau=0.75) in <= 60 s on the 2-core
development machine. The scikit-learn reference is ``LogisticRegression`` (lbfgs, the
same C, tol and max_iter, BLAS limited to one thread, which is the faster setting on
this machine) fitted sequentially on round-1-sized splits: 8 fits are timed and the
time per fit is extrapolated to 64 fits per round and to every round the filter ran;
4 more fits with the default BLAS threads are timed for context.
``main()`` returns the measured numbers.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import torch

from datafactors.scores.aflite import _fit_ensemble, aflite_filter

N, D, N_MODELS, M_FRAC, K, TAU = 20_000, 384, 64, 0.25, 500, 0.75
N_SKLEARN_FITS = 8
N_DEFAULT_FITS = 4
TARGET_S = 60.0


def synthetic_embeddings(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A weak linear label signal in one direction, plus a strong artifact direction on 30%."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, N)
    X = rng.normal(size=(N, D)).astype(np.float32)
    X[:, 0] += 0.5 * (2 * y - 1)
    biased = rng.random(N) < 0.3
    X[biased, 1] += 3.0 * (2 * y[biased] - 1)
    return X, y


def _sklearn_round(X: np.ndarray, y: np.ndarray, m: int, seed: int) -> dict[str, float]:
    """Time sequential scikit-learn fits on round-1-like splits; agreement with the batched fit."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    keys = rng.random((len(X), N_SKLEARN_FITS))
    train_idx = np.argpartition(keys, m - 1, axis=0)[:m]
    train = np.zeros((len(X), N_SKLEARN_FITS), dtype=np.float32)
    np.put_along_axis(train, train_idx, 1.0, axis=0)
    Xs = (X - X.mean(0)) / X.std(0)
    Xb = torch.from_numpy(np.hstack([Xs, np.ones((len(X), 1))]).astype(np.float32))
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        Z = _fit_ensemble(torch, Xb, torch.from_numpy(y), torch.from_numpy(train), 2, m, 1.0, 100, 1e-4)
    finally:
        torch.set_num_threads(prev)
    batched_pred = (Z[..., 0] > 0).numpy()
    agree, t_fit = [], 0.0
    with threadpool_limits(limits=1, user_api="blas"):
        for j in range(N_SKLEARN_FITS):
            tr = train[:, j] > 0
            t0 = time.perf_counter()
            lr = LogisticRegression(C=1.0, max_iter=100, tol=1e-4).fit(Xs[tr], y[tr])
            pred = lr.predict(Xs[~tr])
            t_fit += time.perf_counter() - t0
            agree.append(float((pred == batched_pred[~tr, j]).mean()))
    # For context: the same fits with the BLAS thread count left at its default.
    t_default = 0.0
    for j in range(N_DEFAULT_FITS):
        tr = train[:, j] > 0
        t0 = time.perf_counter()
        LogisticRegression(C=1.0, max_iter=100, tol=1e-4).fit(Xs[tr], y[tr]).predict(Xs[~tr])
        t_default += time.perf_counter() - t0
    return {
        "sklearn_s_per_fit": t_fit / N_SKLEARN_FITS,
        "sklearn_default_threads_s_per_fit": t_default / N_DEFAULT_FITS,
        "agreement_min": min(agree),
        "agreement_mean": float(np.mean(agree)),
    }


def main() -> dict[str, Any]:
    unset = {k: k not in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    for k, was_unset in unset.items():
        print(f"{k}: {'unset' if was_unset else 'SET to ' + repr(os.environ[k])}")
    X, y = synthetic_embeddings()
    print(f"AFLite on {N} x {D}, n={N_MODELS}, m={M_FRAC}, k={K}, tau={TAU}; torch {torch.__version__}, 1 thread")

    t0 = time.perf_counter()
    res = aflite_filter(X, y, n=N_MODELS, m=M_FRAC, k=K, tau=TAU, seed=0)
    wall = time.perf_counter() - t0
    n_rounds = len(res.rounds)
    round_median = float(res.rounds["seconds"].median())
    print(res.rounds.to_string(index=False))

    sk = _sklearn_round(X, y, res.m, seed=1)
    sk_round = sk["sklearn_s_per_fit"] * N_MODELS
    sk_total = sk_round * n_rounds
    result = {
        "n": N,
        "d": D,
        "n_models": N_MODELS,
        "rounds": n_rounds,
        "kept": len(res.kept),
        "wall_s": wall,
        "target_s": TARGET_S,
        "round_median_s": round_median,
        "sklearn_s_per_fit": sk["sklearn_s_per_fit"],
        "sklearn_round_s_extrapolated": sk_round,
        "sklearn_total_s_extrapolated": sk_total,
        "speedup_per_round": sk_round / round_median,
        "speedup_total": sk_total / wall,
        "sklearn_default_threads_s_per_fit": sk["sklearn_default_threads_s_per_fit"],
        "speedup_total_vs_default_threads": sk["sklearn_default_threads_s_per_fit"] * N_MODELS * n_rounds / wall,
        "prediction_agreement_min": sk["agreement_min"],
        "openblas_vars_unset": all(unset.values()),
    }
    result["ok"] = bool(wall <= TARGET_S and sk["agreement_min"] >= 0.98)
    print(
        f"\nAFLite wall {wall:.1f} s for {n_rounds} rounds (target <= {TARGET_S:.0f} s, "
        f"{TARGET_S / wall:.1f}x under target); sequential scikit-learn, extrapolated from "
        f"{N_SKLEARN_FITS} fits ({sk['sklearn_s_per_fit']:.2f} s/fit): {sk_round:.1f} s/round, "
        f"{sk_total:.0f} s total -> batched is {result['speedup_per_round']:.1f}x faster per (median) round, "
        f"{result['speedup_total']:.1f}x overall ({result['speedup_total_vs_default_threads']:.1f}x vs scikit-learn "
        f"with default BLAS threads, {sk['sklearn_default_threads_s_per_fit']:.2f} s/fit); held-out prediction agreement with scikit-learn "
        f"min {sk['agreement_min']:.4f} -> {'OK' if result['ok'] else 'MISSED'}"
    )
    return result


if __name__ == "__main__":
    main()
