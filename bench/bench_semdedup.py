"""SemDeDup at scale: 1M x 384 float32 synthetic embeddings with planted near-duplicates.

Targets (issue 4): <= 10 min, <= 3 GB of memory above the embeddings themselves,
precision and recall >= 0.95 on the planted pairs.

Run as::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/bench_semdedup.py [--n 1000000]

The embeddings: ``n_blobs`` random unit centres; every base row is its blob's centre plus
Gaussian noise whose scale varies by blob, so that two members of a blob have cosine
similarity between about 0.25 and 0.75 (tight and loose topics); ``n_pairs`` base rows get
a planted near-duplicate (the row plus small noise, cosine 0.96 to 0.995 to its source),
written at a random position. Rows are generated in chunks straight into one float32
array, so the generator never holds more than the array plus a chunk.

Memory: a sampling thread reads the process's resident set (``/proc/self/statm``) every
20 ms while SemDeDup runs; the peak above the resident set just before it started is
reported, next to ``resource.getrusage``'s ``ru_maxrss`` (a whole-process peak).

Precision and recall on the planted pairs (SemDeDup must drop one row of every pair):

- recall = fraction of planted pairs with at least one member removed;
- precision = fraction of removed rows that belong to a planted pair whose other member
  was kept (removing a background row, or both members of a pair, counts against it).

Two runs on the same clustering: the fixed ``eps`` (cosine threshold ``1 - eps`` between the
background and the planted range), and the ``eps`` searched to keep exactly
``n - n_pairs`` rows (the selector's budget mode).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from datafactors.select.dedup import semdedup_eps_for_keep, semdedup_max_similarity  # noqa: E402

TIME_LIMIT_S = 600.0
MEM_LIMIT_GB = 3.0
QUALITY_MIN = 0.95


def make_embeddings(n: int, d: int, n_pairs: int, n_blobs: int, seed: int, chunk: int = 65536):
    """(E (n, d) float32, sources (n_pairs,), copies (n_pairs,)) with planted near-duplicate pairs."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_blobs, d), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    # Within-blob cosine ~ 1 / (1 + sigma^2 d): sigma^2 d from 0.33 (cos 0.75) to 3 (cos 0.25).
    sigma = np.sqrt(rng.uniform(0.33, 3.0, n_blobs) / d).astype(np.float32)
    n_base = n - n_pairs
    perm = rng.permutation(n)  # positions: base rows and copies interleaved at random
    base_pos, copy_pos = perm[:n_base], perm[n_base:]
    base_blob = rng.integers(0, n_blobs, n_base)
    E = np.empty((n, d), dtype=np.float32)
    for s in range(0, n_base, chunk):
        b = base_blob[s : s + chunk]
        block = rng.standard_normal((len(b), d), dtype=np.float32)
        block *= sigma[b][:, None]
        block += centres[b]
        E[base_pos[s : s + chunk]] = block
    src_i = rng.choice(n_base, size=n_pairs, replace=False)
    sources = base_pos[src_i]
    # cos(src, copy) ~ 1 / sqrt(1 + tau^2 d / |src|^2), from 0.96 to 0.995
    target_cos = rng.uniform(0.96, 0.995, n_pairs)
    for s in range(0, n_pairs, chunk):
        src = E[sources[s : s + chunk]]
        norm2 = np.einsum("ij,ij->i", src, src)
        tau = np.sqrt((1.0 / target_cos[s : s + chunk] ** 2 - 1.0) * norm2 / d).astype(np.float32)
        block = rng.standard_normal(src.shape, dtype=np.float32)
        block *= tau[:, None]
        block += src
        E[copy_pos[s : s + chunk]] = block
    return E, sources, copy_pos


def pair_quality(keep: np.ndarray, sources: np.ndarray, copies: np.ndarray) -> tuple[float, float]:
    removed = ~keep
    rs, rc = removed[sources], removed[copies]
    recall = float(np.mean(rs | rc))
    correct = int(np.sum(rs & ~rc) + np.sum(rc & ~rs))
    n_removed = int(removed.sum())
    precision = correct / n_removed if n_removed else 1.0
    return precision, recall


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Samples the resident set every ``interval`` seconds in a thread; ``peak`` is the largest seen."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval, self.peak, self._stop = interval, _rss_bytes(), threading.Event()

    def __enter__(self) -> PeakRSS:
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            time.sleep(self.interval)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, _rss_bytes())


def main(n: int = 1_000_000, d: int = 384, dup_fraction: float = 0.05, eps: float = 0.05, seed: int = 0) -> dict:
    unset = {v: v not in os.environ for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    print("env: " + ", ".join(f"{k} {'unset' if u else 'SET=' + os.environ[k]}" for k, u in unset.items()))
    print(f"machine: {os.cpu_count()} CPUs")
    n_pairs = int(round(dup_fraction * n))
    n_clusters = int(round(np.sqrt(n)))
    n_blobs = max(2, n // 500)
    t0 = time.perf_counter()
    E, sources, copies = make_embeddings(n, d, n_pairs, n_blobs, seed)
    t_gen = time.perf_counter() - t0
    data_gb = E.nbytes / 1e9
    print(
        f"data: {n} x {d} float32 ({data_gb:.2f} GB), {n_pairs} planted pairs, {n_blobs} blobs; "
        f"generated in {t_gen:.1f} s"
    )

    rss_before = _rss_bytes()
    t0 = time.perf_counter()
    with PeakRSS() as mon:
        res = semdedup_max_similarity(E, n_clusters=n_clusters, seed=seed)
        t_sem = time.perf_counter() - t0
        keep_fixed = res.keep_mask(eps)
        eps_budget = semdedup_eps_for_keep(res, n - n_pairs)
        keep_budget = res.keep_mask(eps_budget)
    seconds = time.perf_counter() - t0
    above_gb = (mon.peak - rss_before) / 1e9
    maxrss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9

    p_fix, r_fix = pair_quality(keep_fixed, sources, copies)
    p_bud, r_bud = pair_quality(keep_budget, sources, copies)
    sizes = np.bincount(res.cluster, minlength=n_clusters)
    print(
        f"semdedup: n_clusters={n_clusters} (largest {sizes.max()}, smallest {sizes.min()}), "
        f"{t_sem:.1f} s for k-means + similarities, {seconds:.1f} s in all"
    )
    print(
        f"memory: peak {above_gb:.2f} GB above the {rss_before / 1e9:.2f} GB resident before SemDeDup "
        f"(ru_maxrss of the whole process {maxrss_gb:.2f} GB)"
    )
    print(f"fixed eps={eps}: kept {int(keep_fixed.sum())}, precision {p_fix:.4f}, recall {r_fix:.4f}")
    print(
        f"budget {n - n_pairs}: searched eps={eps_budget:.5f}, kept {int(keep_budget.sum())}, "
        f"precision {p_bud:.4f}, recall {r_bud:.4f}"
    )

    scale = 1_000_000 / n
    # k-means assignment and the within-cluster similarities grow like n^1.5 at k = sqrt(n).
    seconds_1m = seconds * scale**1.5
    checks = {
        "time": (seconds, TIME_LIMIT_S),
        "memory above data (GB)": (above_gb, MEM_LIMIT_GB),
    }
    print(f"{'check':<28}{'measured':>12}{'target':>10}{'ratio':>8}")
    for name, (v, lim) in checks.items():
        print(f"{name:<28}{v:>12.3f}{'<= ' + format(lim, 'g'):>10}{v / lim:>8.2f}")
    for name, v in (
        ("precision (fixed eps)", p_fix),
        ("recall (fixed eps)", r_fix),
        ("precision (budget eps)", p_bud),
        ("recall (budget eps)", r_bud),
    ):
        print(f"{name:<28}{v:>12.4f}{'>= ' + format(QUALITY_MIN, 'g'):>10}{v / QUALITY_MIN:>8.2f}")
    if n != 1_000_000:
        print(f"extrapolated to 1M rows (n^1.5): {seconds_1m:.0f} s")
    ok = seconds_1m <= TIME_LIMIT_S and above_gb <= MEM_LIMIT_GB and min(p_fix, r_fix, p_bud, r_bud) >= QUALITY_MIN
    print("OK" if ok else "FAILED")
    return {
        "ok": ok,
        "n": n,
        "d": d,
        "n_pairs": n_pairs,
        "n_clusters": n_clusters,
        "seconds": seconds,
        "seconds_extrapolated_1m": seconds_1m,
        "generate_seconds": t_gen,
        "memory_above_data_gb": above_gb,
        "ru_maxrss_gb": maxrss_gb,
        "data_gb": data_gb,
        "precision_fixed_eps": p_fix,
        "recall_fixed_eps": r_fix,
        "eps_fixed": eps,
        "eps_budget": eps_budget,
        "precision_budget": p_bud,
        "recall_budget": r_bud,
        "openblas_vars_unset": all(unset.values()),
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=384)
    ap.add_argument("--eps", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    sys.exit(0 if main(n=a.n, d=a.d, eps=a.eps, seed=a.seed)["ok"] else 1)
