"""MinHash near-duplicate detection: datafactors vs datasketch at its fastest.

Corpus: ``n`` documents of 200..350 words drawn from a 30,000-word Zipf-like vocabulary;
``n // 10`` of them are near-duplicates of an earlier document made by 1..2 word edits
(exact word-5-gram Jaccard >= 0.9, checked with Python sets). Both sides do the whole job
from the raw strings: normalise and shingle (word 5-grams), hash, 128 permutations, LSH
with 16 bands x 8 rows, candidates verified by the estimated Jaccard >= 0.8.

- ours: ``near_duplicate_clusters(texts)`` (threads: every CPU this process may use, <= 8).
- datasketch: ``MinHash.bulk`` over the same shingles (its fastest path; one process),
  ``MinHashLSH(threshold=0.8, num_perm=128, params=(16, 8))``, every document inserted
  and queried, candidates verified by ``MinHash.jaccard >= 0.8``.

Recall: planted pairs found (both members in one cluster / a verified pair); precision:
found pairs whose exact Jaccard is >= 0.8. Peak memory: ``ru_maxrss`` growth and the
resident-set peak sampled every 20 ms during each side.

Run as (the bench unsets the OpenBLAS variables for its own command only)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/bench_minhash.py [--n 100000]

``datasketch`` is a bench-only install (``.venv/bin/pip install datasketch``), never a dependency.
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import numpy as np


def corpus(n: int, seed: int = 0) -> tuple[list[str], list[tuple[int, int]]]:
    rng = np.random.default_rng(seed)
    vocab = np.array([f"v{i}" for i in range(30_000)])
    p = 1.0 / np.arange(1, 30_001) ** 0.8
    p /= p.sum()
    n_dup = n // 10
    words: list[list[str]] = []
    planted = []
    for i in range(n):
        if i >= 10 and len(planted) < n_dup and rng.random() < 0.1 * n / max(1, n - i) * 1.0:
            src = int(rng.integers(i))
            w = list(words[src])
            for pos in rng.choice(len(w), int(rng.integers(1, 3)), replace=False):
                w[pos] = f"edit{rng.integers(10**9)}"
            planted.append((src, i))
        else:
            w = list(vocab[rng.choice(30_000, int(rng.integers(200, 351)), p=p)])
        words.append(w)
    return [" ".join(w) for w in words], planted


def _shingles(text: str) -> set[str]:
    w = text.lower().split()
    return {" ".join(w[i : i + 5]) for i in range(len(w) - 4)} if len(w) >= 5 else {" ".join(w)}


def exact_jaccard(a: str, b: str) -> float:
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb)


class Peak:
    """Resident-set peak above the start, sampled every 20 ms."""

    def __enter__(self):
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.base = self.now()
        self.peak = self.base
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()
        return self

    def now(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self.page

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, self.now())
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.stop = True
        self.t.join()
        self.peak = max(self.peak, self.now())

    @property
    def mib(self) -> float:
        return (self.peak - self.base) / 2**20


def ours(texts):
    from datafactors.select.minhash import near_duplicate_clusters

    cl = near_duplicate_clusters(texts)
    pairs = set()
    for _, g in cl.groupby("cluster_id"):
        m = sorted(int(i) for i in g["id"])
        pairs.update((a, b) for k, a in enumerate(m) for b in m[k + 1 :])
    return pairs


def theirs(texts):
    from datasketch import MinHash, MinHashLSH

    shingles = []
    for t in texts:
        w = " ".join(t.lower().split()).split()
        sh = [" ".join(w[i : i + 5]).encode("utf-8") for i in range(len(w) - 4)] if len(w) >= 5 else [t.encode()]
        shingles.append(sh)
    mhs = MinHash.bulk(shingles, num_perm=128)
    lsh = MinHashLSH(threshold=0.8, num_perm=128, params=(16, 8))
    for i, m in enumerate(mhs):
        lsh.insert(i, m)
    pairs = set()
    for i, m in enumerate(mhs):
        for j in lsh.query(m):
            if j > i and m.jaccard(mhs[j]) >= 0.8:
                pairs.add((i, j))
    return pairs


def score(found, planted, texts):
    planted_set = set(planted)
    recall = len(planted_set & found) / max(1, len(planted_set))
    sample = sorted(found)
    if len(sample) > 5000:
        idx = np.random.default_rng(0).choice(len(sample), 5000, replace=False)
        sample = [sample[i] for i in idx]
    precision = float(np.mean([exact_jaccard(texts[a], texts[b]) >= 0.8 for a, b in sample])) if sample else 1.0
    return recall, precision


def main(n: int = 100_000) -> dict:
    t0 = time.perf_counter()
    texts, planted = corpus(n)
    gen_s = time.perf_counter() - t0
    js = [exact_jaccard(texts[a], texts[b]) for a, b in planted[:2000]]
    print(
        f"corpus: {n} documents, {len(planted)} planted pairs (exact Jaccard min {min(js):.3f} over "
        f"{len(js)} checked), generated in {gen_s:.1f} s"
    )
    ours(texts[:50])  # imports and first-call set-up, outside the timings (both sides)
    theirs(texts[:50])
    with Peak() as pk_ours:
        t = time.perf_counter()
        found_ours = ours(texts)
        s_ours = time.perf_counter() - t
    r_o, p_o = score(found_ours, planted, texts)
    print(f"datafactors: {s_ours:.1f} s, recall {r_o:.4f}, precision {p_o:.4f}, peak +{pk_ours.mib:.0f} MiB")
    with Peak() as pk_theirs:
        t = time.perf_counter()
        found_theirs = theirs(texts)
        s_theirs = time.perf_counter() - t
    r_t, p_t = score(found_theirs, planted, texts)
    print(f"datasketch:  {s_theirs:.1f} s, recall {r_t:.4f}, precision {p_t:.4f}, peak +{pk_theirs.mib:.0f} MiB")
    ratio = s_theirs / s_ours
    ok = ratio >= 3 and r_o >= 0.95 and p_o >= 0.95
    print(f"MinHash dedup: {ratio:.2f}x faster than datasketch (target >= 3x) -> {'OK' if ok else 'MISSED'}")
    return {
        "ratio": ratio,
        "ours_s": s_ours,
        "theirs_s": s_theirs,
        "recall": r_o,
        "precision": p_o,
        "peak_mib": pk_ours.mib,
        "theirs_peak_mib": pk_theirs.mib,
        "ok": ok,
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    main(ap.parse_args().n)
