"""MinHash near-duplicate detection: datafactors vs datasketch at its fastest, and 1M short documents.

Corpus (default): ``docs`` documents of 200..350 words drawn from a 30,000-word Zipf-like
vocabulary; ``docs // 10`` of them are near-duplicates of an earlier document made by 1..2 word
edits (exact word-5-gram Jaccard >= 0.9, checked with Python sets). With ``--words W``: short
documents of about W words (0.75 W .. 1.25 W); a word edit would put such a pair below 0.9, so
their planted near-duplicates differ from their source by case and whitespace only (Jaccard 1
after normalisation). Both sides do the whole job from the raw strings: normalise and shingle
(word 5-grams), hash, 128 permutations, LSH with 16 bands x 8 rows, candidates verified by the
estimated Jaccard >= 0.8.

- ours: ``near_duplicate_clusters(texts)`` (threads: every CPU this process may use, <= 8).
- datasketch: ``MinHash.bulk`` over the same shingles (its fastest path; one process),
  ``MinHashLSH(threshold=0.8, num_perm=128, params=(16, 8))``, every document inserted
  and queried, candidates verified by ``MinHash.jaccard >= 0.8`` (``--no-datasketch`` skips it).
- ``--against REV``: the ``minhash`` module of git revision REV (read with ``git show``, run
  from memory, never installed) and today's on the same corpus first, in turns, best of two:
  their times, and whether their signatures and cluster tables are equal (they must be: the
  values are part of the contract).

Recall: planted pairs found (both members in one cluster); precision: found pairs (a sample of
5,000) whose exact Jaccard is >= 0.8. Times: wall clock (the target) and this process's CPU
time (which a shared, loaded machine inflates less; ours runs on threads, datasketch on one).
Memory: the resident-set peak above the start sampled every 20 ms during each side, and the
process's ``ru_maxrss`` (corpus included) after each side.

Run as (the command unsets the OpenBLAS variables for itself only; the output says whether they
were unset)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/bench_minhash.py [--docs 100000]
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/bench_minhash.py --docs 20000 --against HEAD --no-datasketch
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/bench_minhash.py --docs 1000000 --words 20 --no-datasketch

``datasketch`` is a bench-only install (``.venv/bin/pip install datasketch``), never a dependency.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import threading
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _vocab() -> tuple[list[str], np.ndarray]:
    p = 1.0 / np.arange(1, 30_001) ** 0.8
    return [f"v{i}" for i in range(30_000)], p / p.sum()


def corpus(n: int, seed: int = 0) -> tuple[list[str], list[tuple[int, int]]]:
    rng = np.random.default_rng(seed)
    vocab, p = _vocab()
    cdf = p.cumsum()
    cdf /= cdf[-1]  # rng.choice(30_000, k, p=p) draws exactly cdf.searchsorted(rng.random(k), "right")
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
            w = [vocab[j] for j in cdf.searchsorted(rng.random(int(rng.integers(200, 351))), side="right").tolist()]
        words.append(w)
    return [" ".join(w) for w in words], planted


def short_corpus(n: int, words: int, seed: int = 0) -> tuple[list[str], list[tuple[int, int]]]:
    """``n`` documents of about ``words`` words; every tenth is a case/whitespace variant of an earlier one."""
    rng = np.random.default_rng(seed)
    vocab, p = _vocab()
    lens = rng.integers(words - words // 4, words + words // 4 + 1, n)
    ids = rng.choice(30_000, int(lens.sum()), p=p).tolist()
    ends = np.cumsum(lens).tolist()
    texts, a = [], 0
    for b in ends:
        texts.append(" ".join([vocab[j] for j in ids[a:b]]))
        a = b
    dups = np.sort(rng.choice(np.arange(10, n), n // 10, replace=False))
    is_dup = np.zeros(n, dtype=bool)
    is_dup[dups] = True
    planted = []
    for i in dups.tolist():
        src = int(rng.integers(i))
        while is_dup[src]:
            src = int(rng.integers(i))
        w = texts[src].split(" ")
        k = int(rng.integers(len(w)))
        texts[i] = " ".join(w[:k]) + "  \n" + " ".join([w[k].upper(), *w[k + 1 :]])
        planted.append((src, i))
    return texts, planted


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


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def cluster_pairs(cl) -> set[tuple[int, int]]:
    """Every pair of rows in one cluster of a (cluster_id, id, ...) table sorted by cluster then input order."""
    pairs: set[tuple[int, int]] = set()
    cid, ids = cl["cluster_id"].to_numpy(), cl["id"].astype(int).to_numpy()
    cut = np.flatnonzero(np.diff(cid)) + 1
    for m in np.split(ids, cut) if len(ids) else []:
        m = sorted(m.tolist())
        pairs.update((a, b) for k, a in enumerate(m) for b in m[k + 1 :])
    return pairs


def ours(texts, module=None):
    """The cluster table of ``near_duplicate_clusters`` (the whole job: normalise, shingle, sign, LSH, verify)."""
    if module is None:
        from datafactors.select import minhash as module
    return module.near_duplicate_clusters(texts)


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


def old_module(rev: str) -> types.ModuleType:
    """``datafactors.select.minhash`` as of git revision ``rev``, run from memory (its selector left out)."""
    src = subprocess.run(
        ["git", "show", f"{rev}:src/datafactors/select/minhash.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cut = src.find("\n@REGISTRY.register")  # registering the selector twice would fail
    mod = types.ModuleType("datafactors.select._minhash_at_rev")
    mod.__package__ = "datafactors.select"
    exec(compile(src if cut < 0 else src[:cut], f"{rev}:minhash.py", "exec"), mod.__dict__)
    return mod


def score(found, planted, texts):
    planted_set = set(planted)
    recall = len(planted_set & found) / max(1, len(planted_set))
    sample = sorted(found)
    if len(sample) > 5000:
        idx = np.random.default_rng(0).choice(len(sample), 5000, replace=False)
        sample = [sample[i] for i in idx]
    precision = float(np.mean([exact_jaccard(texts[a], texts[b]) >= 0.8 for a, b in sample])) if sample else 1.0
    return recall, precision


def _timed(fn, *args):
    """(result, wall s, cpu s of this process, peak MiB above the start)."""
    with Peak() as pk:
        t, c = time.perf_counter(), time.process_time()
        out = fn(*args)
        s, cpu = time.perf_counter() - t, time.process_time() - c
    return out, s, cpu, pk.mib


def against(rev: str, texts, repeat: int = 2) -> dict:
    """Time ``minhash.py`` of git revision ``rev`` and today's on ``texts`` in turns (best of ``repeat``)."""
    from datafactors.select import minhash as new

    old = old_module(rev)
    old.near_duplicate_clusters(texts[:50])
    best: dict[str, tuple[float, float]] = {}
    out: dict[str, object] = {}
    for _ in range(repeat):  # in turns, so that a change of load hits both alike
        for name, mod in (("old", old), ("new", new)):
            for what, fn in (("sig", mod.minhash_signatures), ("clusters", mod.near_duplicate_clusters)):
                res, s, cpu, _ = _timed(fn, texts)
                key = f"{name}_{what}"
                best[key] = min(best.get(key, (np.inf, np.inf)), (s, cpu))
                out[key] = res
    same = bool(np.array_equal(out["old_sig"], out["new_sig"])) and out["old_clusters"].equals(out["new_clusters"])
    line = f"against {rev} on the same {len(texts)} documents (best of {repeat}, wall / cpu s):"
    for what in ("sig", "clusters"):
        (wo, co), (wn, cn) = best[f"old_{what}"], best[f"new_{what}"]
        label = "minhash_signatures" if what == "sig" else "near_duplicate_clusters"
        line += f" {label} {wo:.2f}/{co:.2f} -> {wn:.2f}/{cn:.2f} ({wo / wn:.2f}x wall, {co / cn:.2f}x cpu);"
    print(f"{line} signatures and cluster table identical: {same}")
    return {
        "rev": rev,
        "same": same,
        **{f"{k}_s": v[0] for k, v in best.items()},
        **{f"{k}_cpu_s": v[1] for k, v in best.items()},
    }


def main(n: int = 100_000, words: int | None = None, datasketch: bool = True, rev: str | None = None) -> dict:
    unset = not any(k in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"))
    print(
        f"OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for this command: {unset}; CPUs {len(os.sched_getaffinity(0))}, "
        f"load average {os.getloadavg()[0]:.1f} (wall-clock ratios need a quiet machine; cpu times mind it less)"
    )
    t0 = time.perf_counter()
    texts, planted = corpus(n) if words is None else short_corpus(n, words)
    gen_s = time.perf_counter() - t0
    js = [exact_jaccard(texts[a], texts[b]) for a, b in planted[:2000]]
    n_words = [len(t.split()) for t in texts[:2000]]
    print(
        f"corpus: {n} documents ({min(n_words)}..{max(n_words)} words), {len(planted)} planted pairs (exact "
        f"Jaccard min {min(js):.3f} over {len(js)} checked), generated in {gen_s:.1f} s"
    )
    out: dict = {"n": n, "words": words, "corpus_maxrss_mib": maxrss_mib()}
    print(f"process ru_maxrss with the corpus: {out['corpus_maxrss_mib']:.0f} MiB")
    if rev is not None:
        out["against"] = against(rev, texts)
    ours(texts[:50])  # imports and first-call set-up, outside the timings (both sides)
    clusters, s_ours, cpu_ours, mib_ours = _timed(ours, texts)
    rss_ours = maxrss_mib()
    found_ours = cluster_pairs(clusters)
    r_o, p_o = score(found_ours, planted, texts)
    print(
        f"datafactors: {s_ours:.1f} s wall ({n / s_ours:,.0f} docs/s; cpu {cpu_ours:.1f} s), recall {r_o:.4f}, "
        f"precision {p_o:.4f}, peak +{mib_ours:.0f} MiB above the corpus, process ru_maxrss {rss_ours:.0f} MiB"
    )
    out.update(ours_s=s_ours, ours_cpu_s=cpu_ours, recall=r_o, precision=p_o, peak_mib=mib_ours, maxrss_mib=rss_ours)
    out["ok"] = r_o >= 0.95 and p_o >= 0.95
    if datasketch:
        theirs(texts[:50])
        found_theirs, s_theirs, cpu_theirs, mib_theirs = _timed(theirs, texts)
        r_t, p_t = score(found_theirs, planted, texts)
        print(
            f"datasketch:  {s_theirs:.1f} s wall (cpu {cpu_theirs:.1f} s), recall {r_t:.4f}, precision {p_t:.4f}, "
            f"peak +{mib_theirs:.0f} MiB, process ru_maxrss {maxrss_mib():.0f} MiB"
        )
        ratio = s_theirs / s_ours
        out.update(ratio=ratio, cpu_ratio=cpu_theirs / cpu_ours, theirs_s=s_theirs, theirs_cpu_s=cpu_theirs)
        out.update(theirs_peak_mib=mib_theirs, theirs_recall=r_t, theirs_precision=p_t)
        out["ok"] = out["ok"] and ratio >= 3
        print(
            f"MinHash dedup: {ratio:.2f}x faster than datasketch in wall time ({out['cpu_ratio']:.2f}x in cpu time) "
            f"(target >= 3x) -> {'OK' if out['ok'] else 'MISSED'}"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", "--n", dest="docs", type=int, default=100_000, help="documents (default 100000)")
    ap.add_argument("--words", type=int, default=None, help="short documents of about this many words")
    ap.add_argument("--no-datasketch", action="store_true", help="time datafactors only")
    ap.add_argument("--against", metavar="REV", default=None, help="also time minhash.py of this git revision")
    a = ap.parse_args()
    main(a.docs, a.words, not a.no_datasketch, a.against)
