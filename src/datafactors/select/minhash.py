"""Near-duplicate text detection by MinHash with LSH banding, and the ``minhash_dedup`` filter.

Method (Broder 1997; Lee et al. 2022; defaults as in ``METHODS.md``):

1. **Shingles.** Every document is normalised (:func:`datafactors.featurize.normalize_text`:
   NFKC, lower case, whitespace folded) and cut into word n-grams (``unit="word"``, n = 5)
   or character n-grams (``unit="char"``). A document shorter than n units is one shingle
   (the empty document too: all empty documents are duplicates of each other).
2. **Shingle hash.** A 64-bit hash of the shingle's code points: a polynomial hash modulo
   2^64 (odd base, each code point + 1) finished by the splitmix64 mixer, computed for all
   shingles of a block of documents at once from prefix sums. It depends only on the
   shingle's text, so it is the same in every process and on every machine (never Python's
   salted ``hash``). Its top 61 bits are the value ``x`` the permutations act on.
3. **Signature.** P universal hash functions ``h_p(x) = (a_p x + b_p) mod (2^61 - 1)`` with
   ``a_p`` in [1, p), ``b_p`` in [0, p) drawn from ``np.random.default_rng(seed)``; the
   signature of a document is ``min`` over its shingles of every ``h_p``. The 122-bit product
   is computed exactly in uint64 from 30/31-bit halves (``2^61 = 1 mod p`` folds the high
   part back), for a block of shingles times all P functions at once.
4. **LSH.** The signature is cut into ``bands`` bands of ``rows`` rows; two documents are
   candidates when all rows of any band are equal (probability ``1 - (1 - s^r)^b`` at
   Jaccard ``s``; 16 x 8 puts the 50% point near 0.71).
5. **Verification and clusters.** A candidate pair is kept when its estimated Jaccard
   (the fraction of equal min-hashes) is ``>= threshold``; clusters are the connected
   components of the kept pairs (what union-find computes). Within a band bucket of at
   most ``_ALL_PAIRS`` documents every pair is verified; in a larger bucket (many copies of
   one text) each document is verified against the bucket's first document and its
   predecessor, which links every chain of near-duplicates without m^2 pairs.
6. **Representative.** The first member in input order, or with ``keep=<score column>``
   the best member by that column's declared orientation (the easiest / least hard).

A corpus that is entirely duplicates is valid: it forms one cluster and one row is kept.

Examples
--------
>>> base = " ".join(f"w{i}" for i in range(60))
>>> texts = [base, base.replace("w7 ", "x7 "), "something else entirely here and now"]
>>> near_duplicate_clusters(texts, threshold=0.7)[["cluster_id", "id", "representative_id"]].values.tolist()
[[0, '0', '0'], [0, '1', '0']]
"""

from __future__ import annotations

import numbers
import os
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from .._validation import SeedLike
from . import REGISTRY, _align_scores, filter_selector
from ._common import requires

__all__ = [
    "MERSENNE_61",
    "MinHashParams",
    "band_keys",
    "bucket_pairs",
    "candidate_pairs",
    "check_minhash_params",
    "cluster_table",
    "components",
    "estimated_jaccard",
    "minhash_signatures",
    "mod_mersenne_affine",
    "near_duplicate_clusters",
    "representatives",
    "shingle_hashes",
    "verified_pairs",
]

MERSENNE_61 = (1 << 61) - 1
_P = np.uint64(MERSENNE_61)
_M30 = np.uint64((1 << 30) - 1)
_M31 = np.uint64((1 << 31) - 1)
_U3, _U30, _U31, _U61 = (np.uint64(v) for v in (3, 30, 31, 61))
_BASE = 0x9E3779B97F4A7C15  # odd: invertible modulo 2^64
_BASE_INV = pow(_BASE, -1, 1 << 64)
_DOC_BLOCK = 1024  # documents per shingling block
_ROW_BLOCK = 256  # shingles per signature tile (a tile is 256 x P uint64: 256 KiB at P = 128)
_TILE_ROWS = 2048  # shingles per float-screen tile (whole documents)
_ALL_PAIRS = 32  # band buckets up to this size verify every pair
_PAIR_BLOCK = 1 << 16
# The float screen: v = frac(xh c/p + xl a/p + b/p + EPS) is within [h/p, h/p + 2 EPS] (mod 1) of the
# exact h/p; float64 rounding of the three products and sums stays below 2^-19.5 for xh < 2^30,
# xl < 2^31, so EPS = 2^-18 leaves a margin of 2x.
_EPS = 2.0**-18
_WRAP = np.uint64(MERSENNE_61 - (1 << 46))  # exact values this close to p may have wrapped past 1


# ---------------------------------------------------------------- parameters


class MinHashParams(dict):
    """Validated MinHash settings (a dict: unit, ngram, num_perm, bands, rows, threshold, seed)."""


def _int_param(name: str, value: Any, lo: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or int(value) < lo:
        raise ConfigError(f"{name} == {value!r}, must be an int >= {lo}")
    return int(value)


def check_minhash_params(
    *,
    unit: str = "word",
    ngram: int = 5,
    num_perm: int = 128,
    bands: int = 16,
    rows: int = 8,
    threshold: float = 0.8,
    seed: SeedLike = 0,
) -> MinHashParams:
    """Check MinHash settings once; ConfigError names the parameter, its value and the rule.

    Examples
    --------
    >>> check_minhash_params(bands=16, rows=8)["num_perm"]
    128
    """
    if unit not in ("word", "char"):
        raise ConfigError(f"unit == {unit!r}, must be 'word' or 'char'")
    ngram = _int_param("ngram", ngram, 1)
    num_perm = _int_param("num_perm", num_perm, 1)
    bands = _int_param("bands", bands, 1)
    rows = _int_param("rows", rows, 1)
    if bands * rows != num_perm:
        raise ConfigError(f"bands * rows == {bands} * {rows} == {bands * rows}, must equal num_perm == {num_perm}")
    if (
        isinstance(threshold, (bool, np.bool_))
        or not isinstance(threshold, numbers.Real)
        or not 0.0 < float(threshold) <= 1.0
    ):
        raise ConfigError(f"threshold == {threshold!r}, must be a number in (0, 1]")
    if isinstance(seed, np.random.Generator):
        raise ConfigError("seed must be an int here: the permutations must be reproducible from it")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        raise ConfigError(f"seed == {seed!r}, must be an int >= 0")
    return MinHashParams(
        unit=unit, ngram=ngram, num_perm=num_perm, bands=bands, rows=rows, threshold=float(threshold), seed=int(seed)
    )


def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, MERSENNE_61, size=num_perm, dtype=np.uint64)
    b = rng.integers(0, MERSENNE_61, size=num_perm, dtype=np.uint64)
    return a, b


# ---------------------------------------------------------------- modular arithmetic


def _affine_core(xh, xl, ah, al, ch, cl, b) -> np.ndarray:
    """``(a x + b) mod p`` from the halves (broadcasting uint64 arrays; see :class:`_Affine`)."""
    m = xh * ch
    t = xl * ah
    m += t
    n = xh * cl
    np.multiply(xl, al, out=t)
    n += t
    np.right_shift(m, _U30, out=t)
    n += t
    m <<= _U31
    m &= _P
    n += m
    n += b  # n < 2^61 + 2^62 + 2^61 + 2^32 + 2^61 < 2^64
    np.right_shift(n, _U61, out=t)
    n &= _P
    n += t  # now n < p + 8
    np.subtract(n, _P, out=t)  # wraps to a huge value where n < p
    np.minimum(n, t, out=n)
    return n


class _Affine:
    """Per-permutation constants for ``(a x + b) mod p`` with x split as ``xh 2^31 + xl``.

    ``a x = xh (a 2^31 mod p) + xl a``; with ``c = a 2^31 mod p`` and both ``a`` and ``c``
    split into 30-bit high and 31-bit low halves, ``a x = m 2^31 + n (mod p)`` where
    ``m = xh c_h + xl a_h < 2^62`` and ``n = xh c_l + xl a_l < 2^63``, and
    ``m 2^31 = ((m << 31) & p) + (m >> 30) (mod p)``. Every intermediate fits in uint64.

    ``weights`` (3, P) float64 holds ``c / p``, ``a / p`` and ``b / p + EPS`` (each correctly
    rounded) for the float screen of :func:`_block_signatures`.
    """

    def __init__(self, a: np.ndarray, b: np.ndarray):
        a = np.asarray(a, dtype=np.uint64)
        b = np.asarray(b, dtype=np.uint64)
        c = np.array([(int(v) << 31) % MERSENNE_61 for v in a], dtype=np.uint64)
        self.ah, self.al = a >> _U31, a & _M31
        self.ch, self.cl = c >> _U31, c & _M31
        self.b = b
        self.weights = np.array(
            [
                [int(v) / MERSENNE_61 for v in c],
                [int(v) / MERSENNE_61 for v in a],
                [int(v) / MERSENNE_61 + _EPS for v in b],
            ],
            dtype=np.float64,
        ).reshape(3, len(a))

    def apply(self, xh: np.ndarray, xl: np.ndarray, cols: Any = slice(None)) -> np.ndarray:
        """(len(x), P') values ``(a x + b) mod p``; ``xh``, ``xl`` are (len(x), 1) uint64."""
        return _affine_core(
            xh,
            xl,
            self.ah[None, cols],
            self.al[None, cols],
            self.ch[None, cols],
            self.cl[None, cols],
            self.b[None, cols],
        )

    def apply_pairs(self, x: np.ndarray, j: np.ndarray) -> np.ndarray:
        """(m,) values ``(a_{j_i} x_i + b_{j_i}) mod p``."""
        return _affine_core(x >> _U31, x & _M31, self.ah[j], self.al[j], self.ch[j], self.cl[j], self.b[j])


def mod_mersenne_affine(x: Any, a: Any, b: Any) -> np.ndarray:
    """``(a_p x_i + b_p) mod (2^61 - 1)`` exactly, for every value x_i and every pair (a_p, b_p).

    Parameters
    ----------
    x : (m,) integers in [0, 2^61).
    a, b : (P,) integers in [0, 2^61 - 1).

    Returns
    -------
    (m, P) uint64.

    Examples
    --------
    >>> v = mod_mersenne_affine([2**61 - 2, 5], [2**60 + 3], [7])
    >>> v[:, 0].tolist() == [((2**60 + 3) * (2**61 - 2) + 7) % (2**61 - 1), ((2**60 + 3) * 5 + 7) % (2**61 - 1)]
    True
    """
    xs = np.asarray(x, dtype=np.uint64).reshape(-1)
    aa, bb = np.asarray(a, dtype=np.uint64).reshape(-1), np.asarray(b, dtype=np.uint64).reshape(-1)
    if len(aa) != len(bb):
        raise DataError(f"a and b must have the same length, got {len(aa)} and {len(bb)}")
    if (xs >> _U61).any():
        raise DataError("x must be < 2^61")
    if (aa >= _P).any() or (bb >= _P).any():
        raise DataError("a and b must be < 2^61 - 1")
    return _Affine(aa, bb).apply((xs >> _U31)[:, None], (xs & _M31)[:, None])


def _exact_signatures(x: np.ndarray, off: np.ndarray, aff: _Affine, P: int) -> np.ndarray:
    """Reference: the exact minimum of every hash over every document's shingles, tile by tile."""
    ndoc = len(off) - 1
    sig = np.full((ndoc, P), np.iinfo(np.uint64).max, dtype=np.uint64)
    xh, xl = (x >> _U31)[:, None], (x & _M31)[:, None]
    doc_of_row = np.repeat(np.arange(ndoc), np.diff(off))
    S = len(x)
    for r0 in range(0, S, _ROW_BLOCK):
        r1 = min(S, r0 + _ROW_BLOCK)
        vals = aff.apply(xh[r0:r1], xl[r0:r1])
        d0, d1 = doc_of_row[r0], doc_of_row[r1 - 1]
        seg = np.maximum(off[d0 : d1 + 1], r0) - r0
        np.minimum(sig[d0 : d1 + 1], np.minimum.reduceat(vals, seg, axis=0), out=sig[d0 : d1 + 1])
    return sig


# ---------------------------------------------------------------- shingles


_POW_CACHE: dict[str, np.ndarray] = {}


def _powers(base: int, n: int, key: str) -> np.ndarray:
    """base^0 .. base^(n-1) modulo 2^64 (cached, grown by doubling)."""
    have = _POW_CACHE.get(key)
    if have is None or len(have) < n:
        size = max(n, 2 * (0 if have is None else len(have)), 1 << 16)
        steps = np.full(size, base, dtype=np.uint64)
        steps[0] = 1
        have = np.cumprod(steps, dtype=np.uint64)  # integer products wrap modulo 2^64
        _POW_CACHE[key] = have
    return have[:n]


def _splitmix(z: np.ndarray) -> np.ndarray:
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def _normalised(texts: Sequence[Any], offset: int = 0) -> list[str]:
    """:func:`datafactors.featurize.normalize_text` of every text, 4x faster on long texts.

    ``str.split()`` splits on exactly the characters that ``re``'s ``\\s`` matches (those
    for which ``str.isspace`` holds), so joining its pieces with one space equals folding
    whitespace runs and stripping (a test checks the equality).
    """
    nfkc = unicodedata.normalize
    out = []
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            kind = "missing" if t is None or (isinstance(t, float) and np.isnan(t)) else type(t).__name__
            raise DataError(f"text at row {offset + i} is {kind}, expected a string")
        out.append(" ".join(nfkc("NFKC", t).lower().split()))
    return out


def _block_shingles(norm: list[str], unit: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(shingle hashes (S,) uint64, start offset of every document's shingles (docs + 1,))."""
    lens = np.fromiter((len(t) for t in norm), dtype=np.int64, count=len(norm))
    cp = np.frombuffer("".join(norm).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    L = len(cp)
    ends = np.cumsum(lens)
    starts = ends - lens
    H = np.zeros(L + 1, dtype=np.uint64)
    if L:
        np.cumsum((cp.astype(np.uint64) + np.uint64(1)) * _powers(_BASE, L, "base"), out=H[1:])
    ndoc = len(norm)
    if unit == "word":
        nonempty = lens > 0
        sp = np.flatnonzero(cp == 32)
        ws = np.sort(np.concatenate([starts[nonempty], sp + 1]))
        we = np.sort(np.concatenate([sp, ends[nonempty]]))
        wdoc = np.searchsorted(ends, ws, side="right")
        nwords = np.bincount(wdoc, minlength=ndoc)
        first = np.cumsum(nwords) - nwords
        local = np.arange(len(ws)) - first[wdoc]
        ok = local <= nwords[wdoc] - n
        s_start = ws[ok]
        s_end = we[np.flatnonzero(ok) + (n - 1)]
        s_doc = wdoc[ok]
        short = np.flatnonzero(nwords < n)
    else:
        pos = np.arange(L)
        pdoc = np.repeat(np.arange(ndoc), lens)
        ok = pos + n <= ends[pdoc]
        s_start = pos[ok]
        s_end = s_start + n
        s_doc = pdoc[ok]
        short = np.flatnonzero(lens < n)
    if len(short):
        s_start = np.concatenate([s_start, starts[short]])
        s_end = np.concatenate([s_end, ends[short]])
        s_doc = np.concatenate([s_doc, short])
        order = np.argsort(s_doc, kind="stable")
        s_start, s_end, s_doc = s_start[order], s_end[order], s_doc[order]
    h = (H[s_end] - H[s_start]) * _powers(_BASE_INV, L + 1, "inv")[s_start]
    h += (s_end - s_start).astype(np.uint64)  # the length too: the empty shingle is not 0
    offsets = np.zeros(ndoc + 1, dtype=np.int64)
    np.cumsum(np.bincount(s_doc, minlength=ndoc), out=offsets[1:])
    return _splitmix(h), offsets


def shingle_hashes(text: str, *, unit: str = "word", ngram: int = 5) -> np.ndarray:
    """The 64-bit hashes of one document's shingles (in text order, repeats included).

    Parameters
    ----------
    text : a document (normalised here).
    unit : "word" (word n-grams) or "char" (character n-grams).
    ngram : n; a document shorter than n units is one shingle.

    Returns
    -------
    (S,) uint64.

    Examples
    --------
    >>> len(shingle_hashes("a b c d e f")), len(shingle_hashes("a b")), len(shingle_hashes("abcd", unit="char", ngram=2))
    (2, 1, 3)
    >>> bool(shingle_hashes("A  b c d E")[0] == shingle_hashes("a b c d e")[0])
    True
    """
    p = check_minhash_params(unit=unit, ngram=ngram)
    h, _ = _block_shingles(_normalised([text]), p["unit"], p["ngram"])
    return h


# ---------------------------------------------------------------- signatures


def _block_signatures(norm: list[str], unit: str, n: int, aff: _Affine, P: int) -> np.ndarray:
    """Exact signatures of a block of documents, found through a float screen.

    For every shingle and hash function a float64 GEMM gives ``v`` within ``2 EPS`` above the
    exact ``h / p`` (mod 1; see ``_EPS``). The exact minimum is then among the shingles whose
    ``v`` is within ``2 EPS`` of the document's smallest ``v`` -- about one per document and
    function -- and only those are evaluated exactly. Where a candidate's exact value lies
    within ``4 EPS`` of p (its ``v`` may have wrapped past 1), that document and function are
    recomputed exactly over all its shingles. The result equals :func:`_exact_signatures`.

    Per document and function the float ``argmin`` is evaluated exactly; where another
    shingle's ``v`` lies within ``2 EPS`` of it (a near tie, about ``S * 2 EPS``, 0.2% at 250
    shingles) or the exact value may have wrapped, that column is recomputed exactly.
    """
    h, off = _block_shingles(norm, unit, n)
    x = h >> _U3  # 61 bits
    ndoc = len(norm)
    S = len(x)
    X = np.empty((3, S), dtype=np.float64)
    X[0] = x >> _U31
    X[1] = x & _M31
    X[2] = 1.0
    WT = np.ascontiguousarray(aff.weights.T)
    sig = np.empty((ndoc, P), dtype=np.uint64)
    cols = np.arange(P)
    redo: list[tuple[int, np.ndarray]] = []
    d0 = 0
    while d0 < ndoc:
        d1 = max(int(np.searchsorted(off, off[d0] + _TILE_ROWS, side="right")) - 1, d0 + 1)
        r0 = off[d0]
        V = WT @ X[:, r0 : off[d1]]  # (P, shingles of documents [d0, d1))
        V -= np.floor(V)  # the fraction: v (np.modf is 2x slower)
        for d in range(d0, d1):
            Vd = V[:, off[d] - r0 : off[d + 1] - r0]
            am = Vd.argmin(axis=1)
            first = Vd[cols, am]
            Vd[cols, am] = np.inf  # the runner-up tells whether the float minimum is unambiguous
            ties = Vd.min(axis=1) <= first + 2 * _EPS
            sig[d] = exact = aff.apply_pairs(x[off[d] + am], cols)
            bad = ties | (exact >= _WRAP)
            if bad.any():
                redo.append((d, np.flatnonzero(bad)))
        d0 = d1
    for d, bad in redo:
        xs = x[off[d] : off[d + 1]]
        sig[d, bad] = aff.apply((xs >> _U31)[:, None], (xs & _M31)[:, None], bad).min(axis=0)
    return sig


def _n_threads(n_jobs: int | None) -> int:
    if n_jobs is None:
        return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))
    return _int_param("n_jobs", n_jobs, 1)


def minhash_signatures(
    texts: Sequence[str],
    *,
    unit: str = "word",
    ngram: int = 5,
    num_perm: int = 128,
    seed: int = 0,
    n_jobs: int | None = None,
) -> np.ndarray:
    """MinHash signatures: for every document, the minimum of each universal hash over its shingles.

    Parameters
    ----------
    texts : (n,) strings (normalised here; see the module notes).
    unit, ngram : shingles: word or character n-grams.
    num_perm : P, the number of hash functions ``(a x + b) mod (2^61 - 1)``.
    seed : int; ``a`` and ``b`` come from ``np.random.default_rng(seed)``. The signature
        depends only on the text, the settings and the seed (not on the process, the
        machine, the block size or ``n_jobs``).
    n_jobs : threads for the signature tiles (numpy releases the GIL); None uses the CPUs
        this process may run on, at most 8.

    Returns
    -------
    (n, P) uint64, every value in [0, 2^61 - 1).

    Examples
    --------
    >>> s = minhash_signatures(["the cat sat on the mat today", "The cat  sat on the mat today"], num_perm=8)
    >>> s.shape, bool((s[0] == s[1]).all())
    ((2, 8), True)
    """
    p = check_minhash_params(unit=unit, ngram=ngram, num_perm=num_perm, bands=1, rows=num_perm, seed=seed)
    texts = list(texts)
    aff = _Affine(*_permutations(p["num_perm"], p["seed"]))
    blocks = range(0, len(texts), _DOC_BLOCK)

    def run(s: int) -> np.ndarray:
        return _block_signatures(_normalised(texts[s : s + _DOC_BLOCK], s), p["unit"], p["ngram"], aff, p["num_perm"])

    threads = min(_n_threads(n_jobs), max(1, len(blocks)))
    if threads == 1:
        parts = [run(s) for s in blocks]
    else:
        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(run, blocks))
    if not parts:
        return np.empty((0, p["num_perm"]), dtype=np.uint64)
    return np.concatenate(parts)


# ---------------------------------------------------------------- LSH and clusters


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(bands, n) 64-bit keys of every band (equal bands give equal keys)."""
    n = len(sig)
    keys = np.empty((bands, n), dtype=np.uint64)
    mult = _splitmix(np.arange(1, rows + 1, dtype=np.uint64)) | np.uint64(1)
    for band in range(bands):
        block = sig[:, band * rows : (band + 1) * rows]
        k = np.zeros(n, dtype=np.uint64)
        for j in range(rows):
            k ^= block[:, j] * mult[j]
            k = _splitmix(k)
        keys[band] = k
    return keys


def bucket_pairs(members: np.ndarray, side: np.ndarray | None = None) -> np.ndarray:
    """(m, 2) candidate pairs of one LSH band bucket whose ``members`` (rows) are in increasing order.

    Up to ``_ALL_PAIRS`` members every pair; above, each member with the first and with its
    predecessor (the chains that link every copy without m^2 pairs). With ``side`` (the
    members' (m,) bool side), only a bucket holding both sides gives pairs, and each member
    is also paired with the other side's first member. The local LSH and the sharded one
    (one Ray Data group per bucket) both call this, so they verify the same pairs.
    """
    members = np.asarray(members, dtype=np.int64)
    size = len(members)
    if size < 2:
        return np.empty((0, 2), dtype=np.int64)
    if side is not None and (side.all() or not side.any()):
        return np.empty((0, 2), dtype=np.int64)
    if size <= _ALL_PAIRS:
        i, j = np.triu_indices(size, 1)
        return np.stack([members[i], members[j]], axis=1)
    out = [np.stack([np.full(size - 1, members[0]), members[1:]], axis=1),
           np.stack([members[1:-1], members[2:]], axis=1)]  # fmt: skip
    if side is not None:  # chains may skip the other side: pair each with the other side's first
        a, b = members[side], members[~side]
        out.append(np.stack([np.full(len(b), a[0]), b], axis=1))
        out.append(np.stack([a, np.full(len(a), b[0])], axis=1))
    return np.concatenate(out)


def candidate_pairs(sig: np.ndarray, bands: int, rows: int, *, between: np.ndarray | None = None) -> np.ndarray:
    """(m, 2) int64 pairs i < j sharing all rows of at least one band, unique, sorted.

    With ``between`` (an (n,) bool), only pairs with one member on each side are returned.
    """
    n = len(sig)
    out = []
    keys = band_keys(sig, bands, rows)
    for band in range(bands):
        order = np.argsort(keys[band], kind="stable")
        k = keys[band][order]
        brk = np.flatnonzero(k[1:] != k[:-1]) + 1
        starts = np.concatenate([[0], brk])
        sizes = np.diff(np.concatenate([starts, [n]]))
        two = starts[sizes == 2]  # the common case, vectorised
        if len(two):
            pair = np.stack([order[two], order[two + 1]], axis=1)
            if between is not None:
                pair = pair[between[pair[:, 0]] != between[pair[:, 1]]]
            out.append(pair)
        big = sizes > 2
        for s, size in zip(starts[big], sizes[big], strict=True):
            members = order[s : s + size]  # increasing rows: argsort was stable
            out.append(bucket_pairs(members, None if between is None else between[members]))
    if not out:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.sort(np.concatenate(out).astype(np.int64), axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    if between is not None:
        pairs = pairs[between[pairs[:, 0]] != between[pairs[:, 1]]]
    return np.unique(pairs, axis=0)


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray:
    """(m,) fraction of equal min-hashes of row pairs of two (m, P) signature arrays."""
    out = np.empty(len(sig_a), dtype=np.float64)
    for s in range(0, len(sig_a), _PAIR_BLOCK):
        out[s : s + _PAIR_BLOCK] = (sig_a[s : s + _PAIR_BLOCK] == sig_b[s : s + _PAIR_BLOCK]).mean(axis=1)
    return out


def verified_pairs(sig: np.ndarray, p: MinHashParams, *, between: np.ndarray | None = None) -> pd.DataFrame:
    """Candidate pairs whose estimated Jaccard is >= the threshold: columns i, j, similarity."""
    pairs = candidate_pairs(sig, p["bands"], p["rows"], between=between)
    sim = estimated_jaccard(sig[pairs[:, 0]], sig[pairs[:, 1]]) if len(pairs) else np.empty(0)
    keep = sim >= p["threshold"] - 1e-12
    return pd.DataFrame({"i": pairs[keep, 0], "j": pairs[keep, 1], "similarity": sim[keep]})


def components(n: int, pairs: pd.DataFrame) -> np.ndarray:
    """(n,) component label of every row (singletons included), numbered by their first row."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    i, j = pairs["i"].to_numpy(), pairs["j"].to_numpy()
    g = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    _, first = np.unique(lab, return_index=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[lab]


def cluster_table(
    sig: np.ndarray, ids: np.ndarray, labels: np.ndarray, representative: np.ndarray | None = None
) -> pd.DataFrame:
    """The (cluster_id, id, representative_id, similarity) table of clusters of size >= 2."""
    counts = np.bincount(labels)
    members = np.flatnonzero(counts[labels] >= 2)
    members = members[np.lexsort((members, labels[members]))]
    lab = labels[members]
    if representative is None:
        rep_of = np.full(len(counts), -1, dtype=np.int64)
        first = np.unique(lab, return_index=True)[1]
        rep_of[lab[first]] = members[first]
    else:
        rep_of = representative
    reps = rep_of[lab]
    cid = np.unique(lab, return_inverse=True)[1].ravel() if len(lab) else np.empty(0, dtype=np.int64)
    sim = estimated_jaccard(sig[members], sig[reps]) if len(members) else np.empty(0)
    return pd.DataFrame(
        {
            "cluster_id": cid.astype(np.int64),
            "id": ids[members].astype(str) if len(members) else np.empty(0, dtype=object),
            "representative_id": ids[reps].astype(str) if len(members) else np.empty(0, dtype=object),
            "similarity": sim,
        }
    )


def representatives(labels: np.ndarray, goodness: np.ndarray | None) -> np.ndarray:
    """(n_components,) row kept per component: the first row, or the best by ``goodness`` (ties: first)."""
    n = len(labels)
    key = np.zeros(n) if goodness is None else -np.asarray(goodness, dtype=np.float64)
    order = np.lexsort((np.arange(n), key, labels))
    first = np.unique(labels[order], return_index=True)[1]
    return order[first]


def near_duplicate_clusters(
    texts: Sequence[str],
    ids: Sequence[Any] | None = None,
    *,
    unit: str = "word",
    ngram: int = 5,
    num_perm: int = 128,
    bands: int = 16,
    rows: int = 8,
    threshold: float = 0.8,
    seed: int = 0,
) -> pd.DataFrame:
    """Near-duplicate clusters of a corpus by MinHash + LSH (see the module notes).

    Parameters
    ----------
    texts : (n,) strings.
    ids : (n,) ids (default "0" .. "n-1").
    unit, ngram : word or character n-gram shingles (default word 5-grams).
    num_perm, bands, rows : signature length P and the LSH banding, ``bands * rows == P``.
    threshold : estimated Jaccard in (0, 1] a candidate pair must reach.
    seed : int for the hash functions.

    Returns
    -------
    DataFrame with one row per member of every cluster of size >= 2, in cluster order then
    input order: ``cluster_id`` (0, 1, ... by first member), ``id``, ``representative_id``
    (the first member in input order) and ``similarity`` (estimated Jaccard to the
    representative; 1.0 for the representative; a member joined through another member can
    read below ``threshold``).

    Examples
    --------
    >>> t = ["one two three four five six", "one two three four five six", "seven eight"]
    >>> near_duplicate_clusters(t, ids=["a", "b", "c"]).to_dict("list")
    {'cluster_id': [0, 0], 'id': ['a', 'b'], 'representative_id': ['a', 'a'], 'similarity': [1.0, 1.0]}
    """
    p = check_minhash_params(
        unit=unit, ngram=ngram, num_perm=num_perm, bands=bands, rows=rows, threshold=threshold, seed=seed
    )
    texts = list(texts)
    id_arr = _check_ids(ids, len(texts))
    sig = minhash_signatures(texts, unit=p["unit"], ngram=p["ngram"], num_perm=p["num_perm"], seed=p["seed"])
    labels = components(len(texts), verified_pairs(sig, p))
    return cluster_table(sig, id_arr, labels)


def _check_ids(ids: Sequence[Any] | None, n: int) -> np.ndarray:
    if ids is None:
        return np.arange(n).astype(str).astype(object)
    arr = np.asarray(list(ids), dtype=object)
    if len(arr) != n:
        raise DataError(f"ids has {len(arr)} values but there are {n} texts")
    return arr


# ---------------------------------------------------------------- the selector


@REGISTRY.register("minhash_dedup")
@filter_selector
@requires("text")
def minhash_dedup_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    unit: str = "word",
    ngram: int = 5,
    num_perm: int = 128,
    bands: int = 16,
    rows: int = 8,
    threshold: float = 0.8,
    minhash_seed: int = 0,
    keep: str | None = None,
) -> np.ndarray:
    """MinHash near-duplicate removal: one representative per cluster, every other row passes.

    Reads the raw text of ``ds.text_column``. The kept row of a cluster is its first in
    input order, or with ``keep=<score column>`` (scores given as ``scores=``) its best by
    that column's declared orientation (the lowest hardness; ties to the first row). Rows
    come back in input order; with a budget the first ``k`` of them are kept. The hash
    functions are drawn from ``minhash_seed`` (not the selection seed), so the same text and
    settings always give the same clusters. A corpus of copies of one text keeps one row.
    """
    p = check_minhash_params(
        unit=unit, ngram=ngram, num_perm=num_perm, bands=bands, rows=rows, threshold=threshold, seed=minhash_seed
    )
    texts = _dataset_texts(ds, "minhash_dedup")
    goodness = None
    if keep is not None:
        from ..scores import hardness_sign

        goodness = -hardness_sign(keep) * _align_scores(ds, scores, keep)
    sig = minhash_signatures(texts, unit=p["unit"], ngram=p["ngram"], num_perm=p["num_perm"], seed=p["seed"])
    labels = components(ds.n, verified_pairs(sig, p))
    return np.sort(representatives(labels, goodness))


def _dataset_texts(ds, what: str) -> list[str]:
    texts = getattr(ds, "texts", None)
    if texts is not None and getattr(ds, "text_column", None) is not None:
        return ds.texts(what)
    if texts is not None:
        return ds.texts(what)  # raises the Dataset's own message
    raise DataError(f"{what} reads raw text, and {ds.name} has no text column: pass text=")


def _check_params(**params: Any) -> None:
    keys = ("unit", "ngram", "num_perm", "bands", "rows", "threshold")
    given = {k: params[k] for k in keys if k in params}
    if "minhash_seed" in params:
        given["seed"] = params["minhash_seed"]
    check_minhash_params(**given)


minhash_dedup_select.check_params = _check_params
