"""Facility location: ours vs apricot-select at 10k x 64 (k = 500), and a 1M-row sparse run.

Run as::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/bench_facility.py

apricot is a bench-only dependency (``.venv/bin/pip install apricot-select``; it keeps
this venv's torch and numpy versions). Same objective on both sides: apricot's
``FacilityLocationSelection(500, metric="euclidean", optimizer="lazy")``, i.e.
``f(S) = sum_i max_{j in S} (max D^2 - D^2_ij)`` over squared Euclidean distances,
against ``facility_location(X, 500, metric="euclidean", optimizer="lazy")``.

Targets (issue 4): medoid cost ``sum_i min_{j in S} |x_i - x_j|`` within 1% of
apricot's, >= 2x faster (apricot's time includes its numba compilation, which it
repeats on every fit, as a user sees it). The large part runs facility location over a
sparse 16-nearest-neighbour similarity graph (faiss k-means cells + exact search per
cell, lazy greedy with a heap) on ``LARGE_N`` x 64 rows in a child process, whose peak
resident memory is reported (apricot builds a dense n x n matrix instead).
Pass ``--large N D K`` to run only the large part with other sizes (e.g. 1000000 384 10000).
``main()`` returns the measured numbers.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np

from datafactors.select.facility import facility_location

N, D, K = 10_000, 64, 500
LARGE_N, LARGE_D, LARGE_K = 1_000_000, 64, 10_000
TARGET_SPEEDUP = 2.0
TARGET_COST_RATIO = 1.01


def synthetic_embeddings(n: int, d: int, centres: int, seed: int = 0) -> np.ndarray:
    """A Gaussian mixture like clustered embeddings, float32, generated in chunks."""
    rng = np.random.default_rng(seed)
    C = rng.normal(size=(centres, d)).astype(np.float32) * 2
    X = np.empty((n, d), dtype=np.float32)
    for s in range(0, n, 100_000):
        m = min(n, s + 100_000) - s
        X[s : s + m] = C[rng.integers(0, centres, m)] + rng.normal(size=(m, d)).astype(np.float32)
    return X


def medoid_cost(X: np.ndarray, S: np.ndarray) -> tuple[float, float]:
    """(sum_i min_j |x_i - s_j|, sum_i min_j |x_i - s_j|^2) in float64."""
    P = X[S].astype(np.float64)
    p_sq = (P**2).sum(1)
    lin = sq = 0.0
    for s in range(0, len(X), 2000):
        B = X[s : s + 2000].astype(np.float64)
        d2 = np.maximum((B**2).sum(1)[:, None] + p_sq[None] - 2 * B @ P.T, 0).min(1)
        lin += float(np.sqrt(d2).sum())
        sq += float(d2.sum())
    return lin, sq


def apricot_run(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, float]:
    from apricot import FacilityLocationSelection

    t0 = time.perf_counter()
    sel = FacilityLocationSelection(k, metric="euclidean", optimizer="lazy").fit(X)
    return np.asarray(sel.ranking), np.asarray(sel.gains), time.perf_counter() - t0


def _peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM restarts at exec; ru_maxrss would carry the parent's."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def large_run(n: int, d: int, k: int) -> dict[str, Any]:
    """One sparse facility-location run; meant for a fresh process (peak RSS is per process)."""
    X = synthetic_embeddings(n, d, centres=1000, seed=1)
    rss_data = _peak_rss_mb()
    cpu0 = time.process_time()
    from datafactors.select.facility import SparseFacility, lazy_greedy

    t0 = time.perf_counter()
    obj = SparseFacility.from_embeddings(X, "euclidean", 16, seed=0)
    t_graph = time.perf_counter() - t0
    t0 = time.perf_counter()
    idx, gains = lazy_greedy(obj, k)
    t_greedy = time.perf_counter() - t0
    rss_peak = _peak_rss_mb()
    return {
        "cpu_s": time.process_time() - cpu0,
        "n": n,
        "d": d,
        "k": k,
        "n_neighbors": 16,
        "graph_s": t_graph,
        "greedy_s": t_greedy,
        "total_s": t_graph + t_greedy,
        "peak_rss_mb": rss_peak,
        "data_rss_mb": rss_data,
        "above_data_mb": rss_peak - rss_data,
        "unique": int(len(np.unique(idx))),
        "objective": float(gains.sum()),
    }


def _large_in_child(n: int, d: int, k: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--large", str(n), str(d), str(k), "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> dict[str, Any]:
    unset = {k: k not in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    for k, was_unset in unset.items():
        print(f"{k}: {'unset' if was_unset else 'SET to ' + repr(os.environ[k])}")
    X = synthetic_embeddings(N, D, centres=50)
    print(f"facility location on {N} x {D} float32, k={K}, metric=euclidean (apricot's: max D^2 - D^2), lazy greedy")

    t0 = time.perf_counter()
    ours, gains = facility_location(X, K)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    stoch, _ = facility_location(X, K, optimizer="stochastic", seed=0)
    t_stoch = time.perf_counter() - t0
    try:
        ref, ref_gains, t_apricot = apricot_run(X, K)
        _, _, t_apricot2 = apricot_run(X, K)
    except ImportError:
        print("apricot-select is not installed: .venv/bin/pip install apricot-select")
        return {"ok": False, "error": "apricot-select not installed"}
    t0 = time.perf_counter()
    ours2, _ = facility_location(X, K)
    t_ours2 = time.perf_counter() - t0
    t_ours_med = float(np.median([t_ours, t_ours2]))
    t_apricot_med = float(np.median([t_apricot, t_apricot2]))

    c_ours, c_ours_sq = medoid_cost(X, ours)
    c_ref, c_ref_sq = medoid_cost(X, ref)
    c_stoch, _ = medoid_cost(X, stoch)
    result: dict[str, Any] = {
        "n": N,
        "d": D,
        "k": K,
        "ours_s": t_ours_med,
        "ours_s_runs": [t_ours, t_ours2],
        "apricot_s": t_apricot_med,
        "apricot_s_runs": [t_apricot, t_apricot2],
        "speedup": t_apricot_med / t_ours_med,
        "target_speedup": TARGET_SPEEDUP,
        "medoid_cost_ours": c_ours,
        "medoid_cost_apricot": c_ref,
        "cost_ratio": c_ours / c_ref,
        "sq_cost_ratio": c_ours_sq / c_ref_sq,
        "same_picks_as_apricot": bool(np.array_equal(ours, ref)),
        "deterministic": bool(np.array_equal(ours, ours2)),
        "max_rel_gain_diff": float(np.max(np.abs(gains - ref_gains) / np.abs(ref_gains))),
        "stochastic_s": t_stoch,
        "stochastic_cost_ratio": c_stoch / c_ref,
        "openblas_vars_unset": all(unset.values()),
        "loadavg_1min": os.getloadavg()[0],
    }
    print(
        f"ours (lazy) {t_ours_med:.2f} s (runs {t_ours:.2f}, {t_ours2:.2f}), apricot {t_apricot_med:.2f} s "
        f"(runs {t_apricot:.2f}, {t_apricot2:.2f}) -> {result['speedup']:.1f}x faster (target >= {TARGET_SPEEDUP:.0f}x, "
        f"{result['speedup'] / TARGET_SPEEDUP:.2f} of target); medoid cost ours/apricot {result['cost_ratio']:.5f} "
        f"(target <= {TARGET_COST_RATIO}), same picks {result['same_picks_as_apricot']}, max relative gain "
        f"difference {result['max_rel_gain_diff']:.1e}; stochastic greedy {t_stoch:.2f} s at cost ratio "
        f"{result['stochastic_cost_ratio']:.4f}; load average {result['loadavg_1min']:.1f}"
    )

    big = _large_in_child(LARGE_N, LARGE_D, LARGE_K)
    result["large"] = big
    print(
        f"sparse facility location on {big['n']} x {big['d']} (16-NN graph), k={big['k']}: graph {big['graph_s']:.1f} s, "
        f"lazy greedy {big['greedy_s']:.1f} s, total {big['total_s']:.1f} s wall ({big['cpu_s']:.0f} s CPU); peak RSS {big['peak_rss_mb']:.0f} MB "
        f"({big['above_data_mb']:.0f} MB above the {big['data_rss_mb']:.0f} MB process with the data loaded); "
        f"{big['unique']} unique picks"
    )
    result["ok"] = bool(
        result["speedup"] >= TARGET_SPEEDUP
        and result["cost_ratio"] <= TARGET_COST_RATIO
        and result["deterministic"]
        and big["unique"] == big["k"]
    )
    print("-> " + ("OK" if result["ok"] else "MISSED"))
    return result


if __name__ == "__main__":
    if "--large" in sys.argv:
        i = sys.argv.index("--large")
        n, d, k = (int(v) for v in sys.argv[i + 1 : i + 4])
        res = large_run(n, d, k)
        print(json.dumps(res) if "--json" in sys.argv else res)
    else:
        main()
