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
   part back). Only the minimum needs it: a float64 GEMM screens every shingle x function,
   ``minimum.reduceat`` finds each document's float minimum, and only that shingle (or, at a
   near tie, every shingle of the document) is evaluated exactly, so the values are exact.
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

import contextlib
import functools
import numbers
import os
import threading
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
    "selector_params",
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
_ROW_BLOCK = 256  # shingles per exact tile (a tile is 256 x P uint64: 256 KiB at P = 128)
_TILE_SIZE = 1 << 17  # values per float-screen tile: 1024 shingles x 128 functions in float64 (1 MiB) stay in L2
_ALL_PAIRS = 32  # band buckets up to this size verify every pair
_PAIR_BLOCK = 1 << 16
_KEY_BLOCK = 1 << 17  # signature values per band-key chunk (1 MiB)
# The float screen (see _screen_signatures): with x = x2 2^40 + x1 2^20 + x0 and w_k = frac(2^(20k) a / p),
# V = x2 w2 + x1 w1 + x0 w0 + (2^24 + b/p + EPS) lies in [2^24, 2^25), so its float64 mantissa holds
# frac(V) in units of 2^-28 exactly; frac(V) is within EPS of h/p + EPS (mod 1). Rounding: three sums
# below 2^25 (2^-29 each), the constant's rounding (2^-29) and the products and weights (< 2^-31 in all):
# < 2^-26.8, so EPS = 2^-25 leaves a margin of 3.5x.
_MAGIC = 2.0**24
_EPS = 2.0**-25
_FRAC_BITS = 28  # frac(V) in units of 2^-28: the low 28 mantissa bits
_KEY_SHIFT = np.uint64(64 - _FRAC_BITS)  # key = frac bits << 36 | row in the tile
_ROW_MASK = np.uint64((1 << (64 - _FRAC_BITS)) - 1)
_TIE_KEY = np.uint64((int(2 * _EPS * 2**_FRAC_BITS) + 1) << (64 - _FRAC_BITS))  # 2 EPS, + 1, in key units
_MAX = np.uint64(np.iinfo(np.uint64).max)
_WRAP = np.uint64(MERSENNE_61 - (1 << 40))  # exact values this close to p may have wrapped past 1
_M20 = np.uint64((1 << 20) - 1)
_U20, _U40 = np.uint64(20), np.uint64(40)
# the characters str.isspace() holds for (what str.split() splits on); a test checks the list
_SPACES = (9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 133, 160, 5760, *range(8192, 8203), 8232, 8233, 8239, 8287, 12288)
_SPACE_TABLE = np.zeros(_SPACES[-1] + 2, dtype=bool)
_SPACE_TABLE[list(_SPACES)] = True
_ASCII_FOLD = bytes.maketrans(bytes(c for c in _SPACES if c < 128), b" " * sum(c < 128 for c in _SPACES))


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

    ``screen`` (4, P) float64 holds the weights of the float screen of
    :func:`_screen_signatures`: ``frac(2^40 a / p)``, ``frac(2^20 a / p)``, ``a / p`` and
    ``2^24 + b / p + EPS``, each correctly rounded (the last one to the 2^-28 grid).
    """

    def __init__(self, a: np.ndarray, b: np.ndarray):
        from fractions import Fraction

        a = np.asarray(a, dtype=np.uint64)
        b = np.asarray(b, dtype=np.uint64)
        c = np.array([(int(v) << 31) % MERSENNE_61 for v in a], dtype=np.uint64)
        self.ah, self.al = a >> _U31, a & _M31
        self.ch, self.cl = c >> _U31, c & _M31
        self.b = b
        p = MERSENNE_61
        # int / int and Fraction -> float are correctly rounded in CPython
        self.screen = np.array(
            [
                [((int(v) << 40) % p) / p for v in a],
                [((int(v) << 20) % p) / p for v in a],
                [int(v) / p for v in a],
                [float(Fraction(int(_MAGIC)) + Fraction(int(v), p) + Fraction(_EPS)) for v in b],
            ],
            dtype=np.float64,
        ).reshape(4, len(a))

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


@functools.lru_cache(maxsize=8)
def _affine(num_perm: int, seed: int) -> _Affine:
    """The hash functions of (num_perm, seed), built once (they are only read)."""
    return _Affine(*_permutations(num_perm, seed))


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


def _lengths(n: int) -> np.ndarray:
    """``sum_{t<l} B^t + l`` modulo 2^64 for l = 0 .. n-1: what the ``+ 1`` of every code point and the
    length add to a shingle's hash (cached, grown by doubling)."""
    have = _POW_CACHE.get("len")
    if have is None or len(have) < n:
        size = max(n, 2 * (0 if have is None else len(have)), 1 << 10)
        have = np.zeros(size, dtype=np.uint64)
        np.cumsum(_powers(_BASE, size - 1, "base"), out=have[1:])
        have += np.arange(size, dtype=np.uint64)
        _POW_CACHE["len"] = have
    return have[:n]


def _splitmix(z: np.ndarray) -> np.ndarray:
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def _splitmix_into(z: np.ndarray, t: np.ndarray) -> None:
    """:func:`_splitmix` in place, with ``t`` (z's shape) as scratch."""
    np.right_shift(z, np.uint64(30), out=t)
    z ^= t
    z *= np.uint64(0xBF58476D1CE4E5B9)
    np.right_shift(z, np.uint64(27), out=t)
    z ^= t
    z *= np.uint64(0x94D049BB133111EB)
    np.right_shift(z, np.uint64(31), out=t)
    z ^= t


def _text_error(t: Any, row: int) -> DataError:
    kind = "missing" if t is None or (isinstance(t, float) and np.isnan(t)) else type(t).__name__
    return DataError(f"text at row {row} is {kind}, expected a string")


def _normalised(texts: Sequence[Any], offset: int = 0) -> list[str]:
    """:func:`datafactors.featurize.normalize_text` of every text (the reference for :func:`_block_stream`).

    ``str.split()`` splits on exactly the characters that ``re``'s ``\\s`` matches (those
    for which ``str.isspace`` holds), so joining its pieces with one space equals folding
    whitespace runs and stripping (a test checks the equality).
    """
    nfkc = unicodedata.normalize
    out = []
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise _text_error(t, offset + i)
        out.append(" ".join(nfkc("NFKC", t).lower().split()))
    return out


def _block_stream(texts: Sequence[Any], offset: int = 0, *, normalise: bool = True):
    """The normalised documents of a block as one code-point stream, whitespace folded without a
    Python string per word.

    Each text is NFKC-normalised and lower-cased one by one (both act per character, with
    context only inside a text); whitespace runs (``str.isspace``) become one space and the
    ends are stripped, as ``" ".join(t.split())`` does: for an all-ASCII block by ``bytes``
    methods on the block joined with NUL separators (when no text holds a NUL), otherwise in
    numpy on the code points. ``normalise=False`` only folds (for texts already normalised).

    Returns
    -------
    cp : (L,) uint8 (an all-ASCII block) or uint32 code points.
    start, end : (n,) int64, every document's range in ``cp``: ``cp[start[d]:end[d]]`` is the
        normalised document ``d``; the ranges are in order and a space follows every non-empty
        one but the last, so a word (a space-free run) never spans two documents.
    """
    nfkc = unicodedata.normalize
    docs = []
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise _text_error(t, offset + i)
        if normalise:  # ASCII is its own NFKC form (and isascii is O(1))
            t = t.lower() if t.isascii() else nfkc("NFKC", t).lower()
        docs.append(t)
    ndoc = len(docs)
    if ndoc == 0:
        return np.empty(0, dtype=np.uint8), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    joined = "\x00".join(docs)
    if joined.isascii() and joined.count("\x00") == ndoc - 1:  # isascii is a flag of the str: O(1)
        b = joined.encode("ascii").translate(_ASCII_FOLD)  # every ASCII space character -> b" "
        while b"  " in b:
            b = b.replace(b"  ", b" ")
        b = b.replace(b" \x00", b"\x00").replace(b"\x00 ", b"\x00").strip(b" ")
        z = np.flatnonzero(np.frombuffer(b, dtype=np.uint8) == 0)
        cp = np.frombuffer(b.replace(b"\x00", b" "), dtype=np.uint8)
        return cp, np.r_[0, z + 1], np.r_[z, len(cp)]
    lens = np.fromiter(map(len, docs), dtype=np.int64, count=ndoc)
    joined = " " + " ".join(docs) + " "
    if joined.isascii():
        raw = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
        ws = _SPACE_TABLE[raw]
    else:
        raw = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        ws = _SPACE_TABLE[np.minimum(raw, len(_SPACE_TABLE) - 1)]
    keep = np.empty(len(raw), dtype=bool)  # a space is kept where a non-space follows it
    np.logical_and(ws[:-1], ws[1:], out=keep[:-1])
    keep[-1] = True  # the closing separator
    np.logical_not(keep, out=keep)
    before = np.zeros(len(raw) + 1, dtype=np.int64)
    np.cumsum(keep, out=before[1:])
    s = np.cumsum(lens + 1) - lens  # raw start of every document (after its separator)
    start, end = before[s], before[s + lens]
    cp = raw[keep]
    cp[ws[keep]] = 32
    lead = start < end  # a document's range may open on the kept end of a run: not its text
    lead[lead] = cp[start[lead]] == 32
    start += lead
    return cp, start, end


def _stream_shingles(cp: np.ndarray, start: np.ndarray, end: np.ndarray, unit: str, n: int):
    """(shingle hashes (S,) uint64, start offset of every document's shingles (docs + 1,)) of a stream.

    The hash of the code points ``c_s .. c_{e-1}`` is ``splitmix(sum (c_i + 1) B^(i-s) + (e - s))``
    modulo 2^64, from the prefix sums ``C_k = sum_{i<k} c_i B^i``: ``(C_e - C_s) B^-s`` plus the
    length's ``sum_{t<e-s} B^t + (e - s)`` (a table), so a shingle's hash does not depend on where
    it sits.
    """
    L, ndoc = len(cp), len(start)
    C = np.zeros(L + 1, dtype=np.uint64)
    if L:
        np.multiply(cp, _powers(_BASE, L, "base"), out=C[1:], dtype=np.uint64)
        np.cumsum(C[1:], out=C[1:])
    if unit == "word":
        gaps = np.r_[-1, np.flatnonzero(cp == 32), L]
        word = np.diff(gaps) > 1  # a word between two spaces
        wstart, wend = gaps[:-1][word] + 1, gaps[1:][word]
        wdoc = np.searchsorted(end, wstart, side="right")
        nunits = np.bincount(wdoc, minlength=ndoc)
        m = max(len(wstart) - n + 1, 0)
        ok = wdoc[:m] == wdoc[n - 1 : n - 1 + m]  # the n-gram's first and last word share a document
        s_start, s_end, s_doc = wstart[:m][ok], wend[n - 1 : n - 1 + m][ok], wdoc[:m][ok]
    else:
        nunits = end - start
        cnt = np.maximum(nunits - n + 1, 0)
        first = np.cumsum(cnt) - cnt
        s_doc = np.repeat(np.arange(ndoc), cnt)
        s_start = start[s_doc] + (np.arange(len(s_doc)) - first[s_doc])
        s_end = s_start + n
    counts = np.maximum(nunits - n + 1, 1)  # a document shorter than n units is one shingle
    offsets = np.zeros(ndoc + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    short = np.flatnonzero(nunits < n)
    if len(short):  # place the short documents' single shingles between the others
        S = int(offsets[-1])
        have = np.bincount(s_doc, minlength=ndoc)
        where = offsets[s_doc] + np.arange(len(s_doc)) - (np.cumsum(have) - have)[s_doc]
        a, b = np.empty(S, dtype=np.int64), np.empty(S, dtype=np.int64)
        a[where], b[where] = s_start, s_end
        a[offsets[short]], b[offsets[short]] = start[short], end[short]
        s_start, s_end = a, b
    h = C[s_end]
    h -= C[s_start]
    h *= _powers(_BASE_INV, L + 1, "inv")[s_start]
    length = s_end - s_start
    h += _lengths(int(length.max()) + 1 if len(length) else 1)[length]
    return _splitmix(h), offsets


def _block_shingles(norm: list[str], unit: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(shingle hashes (S,) uint64, start offset of every document's shingles (docs + 1,)) of normalised texts."""
    return _stream_shingles(*_block_stream(norm, normalise=False), unit, n)


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


def _pieces(off: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Boundaries (pieces + 1,) of runs of at most ``size`` shingles that never cross a document,
    and each document's first piece (None where every document is one piece)."""
    lens = np.diff(off)
    if not len(lens) or int(lens.max()) <= size:
        return off, None
    npc = (lens + size - 1) // size
    first = np.cumsum(npc) - npc
    k = np.arange(int(npc.sum())) - np.repeat(first, npc)
    return np.append(np.repeat(off[:-1], npc) + k * size, off[-1]), first


def _screen_signatures(x: np.ndarray, off: np.ndarray, aff: _Affine, P: int) -> np.ndarray:
    """Exact signatures of documents ``off`` cuts ``x`` (61-bit shingle values) into, through a float screen.

    A float64 GEMM per tile of shingles gives, for every shingle and hash function, ``frac(V)``
    within ``2 EPS`` above the exact ``h / p`` (mod 1; see ``_EPS``), read exactly from the low
    mantissa bits. Keys ``frac(V) << 36 | row`` give the float minimum and its shingle in one
    ``minimum.reduceat`` per tile (no Python loop per document); only that shingle is evaluated
    exactly. A second ``reduceat`` with the winner masked gives the runner-up: where it lies within
    ``2 EPS`` (a near tie or a repeated shingle) or the exact value may have wrapped past p, that
    document and function are recomputed exactly over all its shingles. The result equals
    :func:`_exact_signatures` (every document needs at least one shingle).
    """
    ndoc = len(off) - 1
    if ndoc == 0:
        return np.empty((0, P), dtype=np.uint64)
    tile = max(64, _TILE_SIZE // P)  # rows per tile
    pb, doc_first = _pieces(off, tile)
    npiece = len(pb) - 1
    S = len(x)
    X = np.empty((4, S), dtype=np.float64)
    X[0] = x >> _U40
    X[1] = (x >> _U20) & _M20
    X[2] = x & _M20
    X[3] = 1.0
    WT = np.ascontiguousarray(aff.screen.T)  # (P, 4): V (P, rows) keeps each document's run contiguous
    rows = np.arange(tile, dtype=np.uint64)
    fns = np.arange(P)[:, None]
    best = np.empty((P, npiece), dtype=np.intp)  # the float minimum's row
    tie = np.empty((P, npiece), dtype=bool)
    buf = np.empty(P * tile, dtype=np.float64)
    bits = buf.view(np.uint64)
    i = 0
    while i < npiece:
        j = int(np.searchsorted(pb, pb[i] + tile, side="right")) - 1  # > i: pieces fit in a tile
        r0, r1 = int(pb[i]), int(pb[j])
        R = r1 - r0
        np.matmul(WT, X[:, r0:r1], out=buf[: P * R].reshape(P, R))
        U = bits[: P * R].reshape(P, R)
        U <<= _KEY_SHIFT  # frac(V) to the top 28 bits: the integer part and the exponent fall off
        U |= rows[:R]
        seg = pb[i:j] - r0
        k1 = np.minimum.reduceat(U, seg, axis=1)
        am = (k1 & _ROW_MASK).view(np.intp)
        bits[am + fns * R] = _MAX  # mask the winner: the next minimum is the runner-up
        k2 = np.minimum.reduceat(U, seg, axis=1)
        k2 -= k1  # (frac2 - frac1) << 36 + (row2 - row1): below (TIE + 1) << 36 wherever frac2 - frac1 <= TIE
        np.less(k2, _TIE_KEY, out=tie[:, i:j])
        am += r0
        best[:, i:j] = am
        i = j
    best, tie = best.T, tie.T
    xb = x[best]
    exact = _affine_core(xb >> _U31, xb & _M31, aff.ah, aff.al, aff.ch, aff.cl, aff.b)
    bad = tie | (exact >= _WRAP)
    pi, pj = np.nonzero(bad)
    if len(pi):
        cut = np.flatnonzero(np.diff(pi)) + 1
        for piece, redo in zip(pi[np.r_[0, cut]], np.split(pj, cut), strict=True):
            xs = x[pb[piece] : pb[piece + 1]]
            exact[piece, redo] = aff.apply((xs >> _U31)[:, None], (xs & _M31)[:, None], redo).min(axis=0)
    if doc_first is not None:
        exact = np.minimum.reduceat(exact, doc_first, axis=0)
    return exact


def _block_signatures(norm: list[str], unit: str, n: int, aff: _Affine, P: int) -> np.ndarray:
    """Exact signatures of a block of normalised documents (see :func:`_screen_signatures`)."""
    h, off = _block_shingles(norm, unit, n)
    return _screen_signatures(h >> _U3, off, aff, P)


def _text_block_signatures(texts: Sequence[Any], offset: int, unit: str, n: int, aff: _Affine, P: int):
    h, off = _stream_shingles(*_block_stream(texts, offset), unit, n)
    return _screen_signatures(h >> _U3, off, aff, P)


def _n_threads(n_jobs: int | None) -> int:
    if n_jobs is None:
        return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))
    return _int_param("n_jobs", n_jobs, 1)


@functools.lru_cache(maxsize=1)
def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - scikit-learn brings threadpoolctl
        return None
    return ThreadpoolController()  # scans the loaded libraries once (numpy's BLAS is loaded by now)


_BLAS_LOCK = threading.Lock()
_BLAS_STATE: dict[str, Any] = {"users": 0, "limiter": None}  # calls may overlap (in threads)


@contextlib.contextmanager
def _one_blas_thread():
    """BLAS at one thread while the tiles run: our threads split the blocks, and a 1024 x 4 GEMM is too
    small for BLAS's own threads (which would oversubscribe the cores). The first of overlapping calls
    sets the limit and the last one lifts it, so the process's setting always comes back."""
    controller = _blas_controller()
    with _BLAS_LOCK:
        if _BLAS_STATE["users"] == 0 and controller is not None:
            _BLAS_STATE["limiter"] = controller.limit(limits=1, user_api="blas")
        _BLAS_STATE["users"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_STATE["users"] -= 1
            if _BLAS_STATE["users"] == 0 and _BLAS_STATE["limiter"] is not None:
                _BLAS_STATE["limiter"].restore_original_limits()
                _BLAS_STATE["limiter"] = None


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
    n_jobs : threads for the blocks of documents (numpy releases the GIL); None uses the CPUs
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
    P = p["num_perm"]
    threads = min(_n_threads(n_jobs), max(1, -(-len(texts) // _DOC_BLOCK)))
    if not texts:
        return np.empty((0, P), dtype=np.uint64)
    aff = _affine(P, p["seed"])
    sig = np.empty((len(texts), P), dtype=np.uint64)

    def run(s: int) -> None:
        sig[s : s + _DOC_BLOCK] = _text_block_signatures(texts[s : s + _DOC_BLOCK], s, p["unit"], p["ngram"], aff, P)

    with _one_blas_thread():
        if threads == 1:
            for s in range(0, len(texts), _DOC_BLOCK):
                run(s)
        else:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(run, range(0, len(texts), _DOC_BLOCK)))
    return sig


# ---------------------------------------------------------------- LSH and clusters


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(bands, n) 64-bit keys of every band (equal bands give equal keys)."""
    n = len(sig)
    mult = _splitmix(np.arange(1, rows + 1, dtype=np.uint64)) | np.uint64(1)
    keys = np.zeros((bands, n), dtype=np.uint64)
    step = max(1, _KEY_BLOCK // max(1, bands * rows))  # documents per chunk: their signatures stay in cache
    for s in range(0, n, step):
        cube = np.asarray(sig[s : s + step, : bands * rows], dtype=np.uint64).reshape(-1, bands, rows)
        k = np.zeros(cube.shape[:2], dtype=np.uint64)  # (documents, bands): contiguous
        t, u = np.empty_like(k), np.empty_like(k)
        for j in range(rows):  # all bands at once: k = splitmix(k ^ row_j * mult_j)
            np.multiply(cube[:, :, j], mult[j], out=t)
            k ^= t
            _splitmix_into(k, u)
        keys[:, s : s + step] = k.T
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
        kb = keys[band]
        order = np.argsort(kb)  # unstable (fast); only the rows of repeated keys are ordered stably
        k = kb[order]
        same = k[1:] == k[:-1]
        if not same.any():
            continue
        rep = np.zeros(n, dtype=bool)
        rep[1:] = same
        rep[:-1] |= same
        rows_in = np.sort(order[rep])
        order = rows_in[np.argsort(kb[rows_in], kind="stable")]  # by key, rows increasing within one
        k = kb[order]
        starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
        sizes = np.diff(np.append(starts, len(order)))
        for m in np.unique(sizes[(sizes >= 2) & (sizes <= _ALL_PAIRS)]):  # all pairs, vectorised per size
            members = order[starts[sizes == m][:, None] + np.arange(m)]  # rows increasing: stable argsort
            i, j = np.triu_indices(m, 1)
            out.append(np.stack([members[:, i].ravel(), members[:, j].ravel()], axis=1))
        big = sizes > _ALL_PAIRS
        for s, size in zip(starts[big], sizes[big], strict=True):
            members = order[s : s + size]
            out.append(bucket_pairs(members, None if between is None else between[members]))
    if not out:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.sort(np.concatenate(out).astype(np.int64), axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    if between is not None:  # (a bucket of one side only gives no pair: bucket_pairs' rule, here by the filter)
        pairs = pairs[between[pairs[:, 0]] != between[pairs[:, 1]]]
    code = np.unique(pairs[:, 0] * np.int64(n) + pairs[:, 1])  # sorted as (i, j)
    return np.stack([code // n, code % n], axis=1)


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


def selector_params(**params: Any) -> MinHashParams:
    """The checked MinHash settings among ``minhash_dedup``'s options (``minhash_seed`` is the hash seed)."""
    keys = ("unit", "ngram", "num_perm", "bands", "rows", "threshold")
    given = {k: params[k] for k in keys if k in params}
    if "minhash_seed" in params:
        given["seed"] = params["minhash_seed"]
    return check_minhash_params(**given)


def _check_params(**params: Any) -> None:
    selector_params(**params)


minhash_dedup_select.check_params = _check_params
