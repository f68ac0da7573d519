"""Dataset profile at scale: Vendi score against the vendi-score package, and the whole profile on 100k x 384.

Run as::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/bench_profile.py

Targets (issue 5): ``vendi_score`` on 100k x 384 as fast as the vendi-score package's
dual form (``score_dual``), with the same value; the whole profile (every family) on
100k x 384 in <= 60 s with memory O(n d) (the peak resident memory it adds is a small
multiple of the n x d float32 input, never n x n). ``main()`` returns the numbers.
Set BENCH_N to change n (default 100000).
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

import datafactors as df
from datafactors.factors import near_duplicate_rate, vendi_score

N = int(os.environ.get("BENCH_N", "100000"))
D, N_CLASSES, N_TEST = 384, 10, 10_000
PROFILE_TARGET_S = 60.0
MEMORY_FACTOR = 6.0  # extra peak memory / (n d 4 bytes) that still counts as O(n d)


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit-norm embeddings in 50 clusters (labels follow clusters, 10% flipped), 2% exact and 3% near copies."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, D)).astype(np.float32)
    c = rng.integers(0, 50, n)
    X = centres[c] + rng.normal(scale=1.5, size=(n, D)).astype(np.float32)
    k2, k3 = n // 50, 3 * n // 100
    X[n - k2 :] = X[:k2]
    X[n - k2 - k3 : n - k2] = X[k2 : k2 + k3] + rng.normal(scale=0.05, size=(k3, D)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = c % N_CLASSES
    flip = rng.random(n) < 0.1
    y[flip] = rng.integers(0, N_CLASSES, int(flip.sum()))
    return X, y


def _best_of(fn, repeat: int = 3) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def bench_vendi(X: np.ndarray) -> dict[str, Any]:
    res: dict[str, Any] = {}
    ours_s, ours = _best_of(lambda: vendi_score(X))
    res.update(vendi_s=ours_s, vendi=ours)
    try:
        from vendi_score import vendi as vs
    except ImportError:
        res.update(
            package_s=float("nan"), package=float("nan"), ratio=float("nan"), ok=True, note="vendi-score missing"
        )
        return res
    pkg_s, pkg = _best_of(lambda: float(vs.score_dual(X)))
    res.update(package_s=pkg_s, package=pkg, ratio=pkg_s / ours_s)
    # exactness against the n x n definition on a subsample
    sub = X[:3000].astype(np.float64)
    w = np.linalg.eigvalsh(sub @ sub.T / len(sub))
    w = w[w > 1e-12]
    direct = float(np.exp(-(w * np.log(w)).sum()))
    res.update(subsample_direct=direct, subsample_ours=vendi_score(X[:3000]))
    res["ok"] = bool(
        abs(ours - pkg) <= 1e-4 * pkg and ours_s <= 1.1 * pkg_s and abs(res["subsample_ours"] - direct) <= 1e-5 * direct
    )
    return res


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) so the next reading covers the profile only."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def bench_profile(X: np.ndarray, y: np.ndarray, Xt: np.ndarray, yt: np.ndarray) -> dict[str, Any]:
    ds = df.Dataset.from_arrays(X, y, name=f"bench-{len(X)}x{X.shape[1]}")
    test = df.Dataset.from_arrays(Xt, yt, name="bench-test")
    df.factors.profile(ds.subset(np.arange(2000)), test=test.subset(np.arange(500)))  # imports, not timed
    before = _rss_mb()
    exact_peak = _reset_peak()
    t0 = time.perf_counter()
    prof = df.factors.profile(ds, test=test, seed=0)
    total = time.perf_counter() - t0
    extra = _peak_mb() - before
    input_mb = X.nbytes / 2**20
    return {
        "profile_s": total,
        "per_family_s": prof.attrs["seconds"],
        "extra_peak_mb": extra,
        "peak_measured": exact_peak,
        "input_mb": input_mb,
        "memory_factor": extra / input_mb,
        "profile": prof,
        "ok": bool(total <= PROFILE_TARGET_S and extra / input_mb <= MEMORY_FACTOR),
    }


def bench_near_duplicates(X: np.ndarray) -> dict[str, Any]:
    """The sampled estimate above 20k rows against the exact rate on a 20k subset (exact mode)."""
    sub = np.vstack([X[:5_000], X[-15_000:]])  # originals and their planted copies
    t = time.perf_counter()
    exact = near_duplicate_rate(sub, 0.95)
    exact_s = time.perf_counter() - t
    sampled = near_duplicate_rate(sub, 0.95, exact_max=5_000, max_queries=5_000, seed=1)
    z = abs(sampled.rate - exact.rate) / max(sampled.stderr, 1e-12)
    return {
        "exact_rate": exact.rate,
        "exact_s": exact_s,
        "sampled_rate": sampled.rate,
        "stderr": sampled.stderr,
        "z": z,
        "ok": bool(z < 4),
    }


def main() -> dict[str, Any]:
    unset = not any(k in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"))
    print(f"OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for this command: {unset}")
    print(f"cores: {os.cpu_count()}, n = {N}, d = {D}")
    X, y = _data(N, seed=0)
    Xt, yt = _data(N_TEST, seed=0)  # same clusters (same seed), so the test set is in distribution
    Xt = Xt + np.float32(0.01) * np.random.default_rng(1).normal(size=Xt.shape).astype(np.float32)
    v = bench_vendi(X)
    print(
        f"vendi_score {N}x{D}: {v['vendi_s']:.3f} s (value {v['vendi']:.4f}); vendi-score score_dual: "
        f"{v['package_s']:.3f} s (value {v['package']:.4f}); package/ours = {v['ratio']:.2f}x; "
        f"3000-row n x n check {v.get('subsample_ours', float('nan')):.6f} vs {v.get('subsample_direct', float('nan')):.6f} "
        f"-> {'OK' if v['ok'] else 'MISSED'}"
    )
    nd = bench_near_duplicates(X)
    print(
        f"near duplicates on 20k rows: exact {nd['exact_rate']:.4f} ({nd['exact_s']:.1f} s); sampled 5000 queries "
        f"{nd['sampled_rate']:.4f} +- {nd['stderr']:.4f} (z = {nd['z']:.2f}) -> {'OK' if nd['ok'] else 'MISSED'}"
    )
    p = bench_profile(X, y, Xt, yt)
    fams = ", ".join(f"{k} {s:.1f}" for k, s in p["per_family_s"].items())
    print(
        f"profile {N}x{D} (+{N_TEST} test rows), every family: {p['profile_s']:.1f} s (target <= {PROFILE_TARGET_S:.0f} s)"
    )
    print(f"  per family (s): {fams}")
    how = "peak RSS above the starting RSS" if p["peak_measured"] else "peak RSS (could not reset the mark)"
    print(
        f"  memory: {how} {p['extra_peak_mb']:.0f} MiB = {p['memory_factor']:.1f}x the {p['input_mb']:.0f} MiB "
        f"input (an n x n float32 matrix would be {N * N * 4 / 2**30:.0f} GiB) -> {'OK' if p['ok'] else 'MISSED'}"
    )
    prof = p.pop("profile")
    keep = [
        "exact_duplicate_rate",
        "near_duplicate_rate",
        "vendi_score",
        "intrinsic_dimension",
        "inductive_bias_log10_bits",
        "novelty_share",
        "label_noise_rate",
    ]
    for _, r in prof[prof.factor.isin(keep)].iterrows():
        print(f"  {r.factor:28s} {r.key:6s} {r.value:.4g}")
    return {"vendi": v, "near_duplicates": nd, "profile": p, "ok": bool(v["ok"] and nd["ok"] and p["ok"])}


if __name__ == "__main__":
    out = main()
    raise SystemExit(0 if out["ok"] else 1)
