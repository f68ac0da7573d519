"""Calibration metrics on 1M x 10 predictions, and a power-law fit with 1000 bootstraps.

Run as::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/bench_metrics.py

Targets (issue 6): every calibration metric (accuracy, NLL, Brier, ECE equal-width and
equal-mass, classwise ECE, MCE, KS) on 1,000,000 x 10 predictions in <= 2 s, through
``calibration_metrics`` (validates once, sorts once); a learning-curve fit with 1000
bootstrap refits in <= 5 s. Also timed, for information: the same metrics as separate
calls, temperature fitting on 200k rows, the full bin sweep, and netcal's ECE when
netcal is installed. ``main()`` returns the numbers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from datafactors.metrics import (
    bin_sweep,
    brier,
    calibration_metrics,
    classwise_ece,
    ece,
    fit_temperature,
    ks_error,
    mce,
    nll,
)
from datafactors.scaling import fit_power_law

N, C = 1_000_000, 10
METRICS_TARGET_S = 2.0
FIT_TARGET_S = 5.0
N_BOOT = 1000


def _best(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _predictions(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, N)
    z = rng.normal(size=(N, C)).astype(np.float32)
    z[np.arange(N), y] += 1.5
    z *= 2.0  # over-confident, like a trained net
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return p.astype(np.float32), y


def _curve(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = np.repeat(2.0 ** np.arange(6, 15), 5)  # 9 sizes x 5 seeds
    return n, 2.0 * n**-0.35 + 0.05 + rng.normal(0, 0.003, n.size)


def main() -> dict[str, Any]:
    unset = {k: k not in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    for k, was_unset in unset.items():
        print(f"{k}: {'unset' if was_unset else 'SET to ' + repr(os.environ[k])}")
    print(f"{os.cpu_count()} CPUs; predictions {N:,} x {C} float32")
    p, y = _predictions()

    t_all, m = _best(lambda: calibration_metrics(p, y), repeats=3)
    separate = {
        "nll": lambda: nll(p, y),
        "brier": lambda: brier(p, y),
        "ece (width)": lambda: ece(p, y),
        "ece (mass)": lambda: ece(p, y, binning="mass"),
        "classwise_ece": lambda: classwise_ece(p, y),
        "mce": lambda: mce(p, y),
        "ks_error": lambda: ks_error(p, y),
    }
    t_sep = {name: _best(fn, repeats=2)[0] for name, fn in separate.items()}
    t_temp, tf = _best(lambda: fit_temperature(p[:200_000], y[:200_000]), repeats=1)
    t_sweep, _ = _best(lambda: bin_sweep(p, y, binnings=("width",)), repeats=1)
    t_netcal = float("nan")
    try:
        from netcal.metrics import ECE

        small_p, small_y = p[:100_000].astype(np.float64), y[:100_000]
        t_netcal, ref = _best(lambda: ECE(bins=15).measure(small_p, small_y), repeats=1)
        t_ours_small, ours = _best(lambda: ece(small_p, small_y), repeats=3)
        print(
            f"netcal ECE on 100k rows: {t_netcal:.3f} s vs ours {t_ours_small:.3f} s "
            f"({t_netcal / t_ours_small:.1f}x); |diff| = {abs(ref - ours):.1e}"
        )
    except ImportError:
        print("netcal not installed: skipped the netcal comparison")

    n_pts, err = _curve()
    t_fit, fit = _best(lambda: fit_power_law(n_pts, err, n_boot=N_BOOT, seed=0), repeats=2)

    print(f"\n{'calibration_metrics (all 8, one call)':<42}{t_all:>8.3f} s   target <= {METRICS_TARGET_S:.0f} s")
    for name, t in t_sep.items():
        print(f"  {name + ' (separate call)':<40}{t:>8.3f} s")
    print(f"  {'sum of separate calls':<40}{sum(t_sep.values()):>8.3f} s")
    print(f"{'fit_temperature on 200k rows':<42}{t_temp:>8.3f} s   (T = {tf.temperature:.3f})")
    print(f"{'bin_sweep, 9 bin counts (width)':<42}{t_sweep:>8.3f} s")
    print(
        f"{'fit_power_law, ' + str(N_BOOT) + ' bootstraps':<42}{t_fit:>8.3f} s   target <= {FIT_TARGET_S:.0f} s"
        f"   (beta = {fit.beta:.3f} [{fit.ci['beta'][0]:.3f}, {fit.ci['beta'][1]:.3f}])"
    )

    result: dict[str, Any] = {
        "openblas_vars_unset": all(unset.values()),
        "n": N,
        "n_classes": C,
        "calibration_metrics_s": t_all,
        "calibration_metrics_target_s": METRICS_TARGET_S,
        "calibration_metrics_ratio": METRICS_TARGET_S / t_all,
        "separate_calls_s": t_sep,
        "fit_temperature_200k_s": t_temp,
        "bin_sweep_s": t_sweep,
        "netcal_ece_100k_s": t_netcal,
        "power_law_1000_boot_s": t_fit,
        "power_law_target_s": FIT_TARGET_S,
        "power_law_ratio": FIT_TARGET_S / t_fit,
        "ece": m["ece"],
    }
    result["ok"] = bool(t_all <= METRICS_TARGET_S and t_fit <= FIT_TARGET_S)
    print(
        f"\ncalibration metrics: {t_all:.2f} s = {result['calibration_metrics_ratio']:.1f}x under the "
        f"{METRICS_TARGET_S:.0f} s target; power-law fit: {t_fit:.2f} s = {result['power_law_ratio']:.1f}x under "
        f"the {FIT_TARGET_S:.0f} s target -> {'OK' if result['ok'] else 'MISSED'}"
    )
    return result


if __name__ == "__main__":
    main()
