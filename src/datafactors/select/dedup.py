"""Deduplication: exact (hash of the feature row or of a text column) and SemDeDup.

**Exact.** Rows whose feature bytes (``-0.0`` counted as ``0.0``) hash alike, or whose
text in ``ds.extra[column]`` is identical, form one content group; the first occurrence
(lowest row) of each group is its representative.

**SemDeDup** (Abbas et al., 2023), as in the authors' code: L2-normalise the embeddings;
spherical k-means (faiss); within each cluster order the members by distance to the
centroid, farthest first (their default ``which_to_keep="hard"``; ``"easy"`` reverses it,
``"random"`` shuffles); member ``j`` is removed when its largest cosine similarity to *any*
earlier member of its cluster, ``M_j = max_{i<j} cos(e_i, e_j)``, exceeds ``1 - eps``. As in
their code the maximum runs over all earlier members, removed or not, so ``M`` does not
depend on ``eps``: :func:`semdedup_max_similarity` computes it once, the keep mask for any
``eps`` is ``M <= 1 - eps`` (:func:`semdedup`), and the ``eps`` that hits a keep count is found
from the sorted ``M`` (:func:`semdedup_eps_for_keep`) -- an exact search over the only
values where the keep count changes, not a sweep over a grid.

Scale: the k-means is trained by faiss on a sample of at most ``256 * n_clusters`` rows
(faiss's own default cap), every row is then assigned to its nearest centroid in float32
BLAS blocks, and the within-cluster similarities are computed in column blocks of at most
``_BLOCK_FLOATS`` entries: memory stays O(n + block) above the embeddings, never an n x n
matrix and never a normalised copy of all n rows.

Both registered selectors are filters (:func:`datafactors.select.filter_selector`): with
``budget=None`` they keep every row that passes, in input order; with a budget they keep
``budget`` passing rows, and fewer passing rows than the budget raise ``DataError``:

- ``exact_dedup``: the first occurrences. With a budget, in row order (``order="first"``)
  or in a random order drawn from the seed (``order="random"``, default), cut to ``budget``.
  When the dataset has a text column (``ds.text_column``, or ``column=``) the normalised text
  is compared (:func:`datafactors.featurize.normalize_text`: Unicode NFKC, lower case, every
  whitespace run folded to one space, stripped), not the feature row.
- ``semdedup``: with ``eps`` the rows whose ``M <= 1 - eps`` (the first ``budget`` of them in
  input order with a budget). Without ``eps`` a budget is required: rows by increasing ``M``
  (most unique first) -- the set that the searched ``eps`` keeps, with ties at the cut
  broken by the seed.
"""

from __future__ import annotations

import hashlib
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._arrays import check_embeddings
from .._errors import ConfigError, DataError
from .._neighbors import check_n_clusters, kmeans, unit_rows
from .._validation import SeedLike, check_random_state, resolve_budget
from . import REGISTRY, filter_selector
from ._common import embeddings_of

__all__ = [
    "SemDeDupResult",
    "exact_duplicate_groups",
    "semdedup",
    "semdedup_eps_for_keep",
    "semdedup_max_similarity",
]

_BLOCK_FLOATS = 2**23  # one block of similarities stays under 32 MiB


# ---------------------------------------------------------------- exact dedup


def exact_duplicate_groups(X: Any = None, texts: Any = None, *, normalize_text: bool = False) -> np.ndarray:
    """Content group of every row: rows with identical feature bytes (or identical text) share one.

    Parameters
    ----------
    X : (n, d) features hashed row by row (blake2b of the float32 bytes, ``-0.0`` as ``0.0``),
        or None when only ``texts`` are compared.
    texts : (n,) strings compared instead of ``X`` when ``X`` is None, or in addition to it.
    normalize_text : compare texts after :func:`datafactors.featurize.normalize_text` (NFKC,
        lower case, whitespace runs folded to one space, stripped).

    Returns
    -------
    (n,) int64 group ids numbered in order of first appearance, so the first occurrence of
    every group is the row where its id first appears.

    Examples
    --------
    >>> exact_duplicate_groups(np.array([[1.0], [2.0], [1.0], [-0.0], [0.0]])).tolist()
    [0, 1, 0, 2, 2]
    >>> exact_duplicate_groups(texts=["a b", "A  b", "c", "\uff41 b "], normalize_text=True).tolist()
    [0, 0, 1, 0]
    """
    if X is None and texts is None:
        raise DataError("exact_duplicate_groups needs features X or texts")
    n = None
    keys: list[bytes] | None = None
    if X is not None:
        A = np.asarray(X, dtype=np.float32)
        if A.ndim != 2:
            raise DataError(f"X must be 2-D (n, d), got shape {A.shape}")
        n = len(A)
        keys = []
        for s in range(0, n, 8192):
            block = np.ascontiguousarray(A[s : s + 8192] + np.float32(0.0))  # -0.0 + 0.0 == +0.0
            keys.extend(hashlib.blake2b(r.tobytes(), digest_size=16).digest() for r in block)
    if texts is not None:
        t = pd.Series(np.asarray(texts, dtype=object))
        if n is not None and len(t) != n:
            raise DataError(f"texts has {len(t)} values but X has {n} rows")
        if t.isna().any():
            raise DataError(f"texts has a missing value at row {int(np.flatnonzero(t.isna().to_numpy())[0])}")
        t = t.astype(str)
        if normalize_text:
            from ..featurize.normalize import normalize_text as _norm

            t = t.map(_norm)
        if keys is None:
            codes, _ = pd.factorize(t)
            return codes.astype(np.int64)
        keys = [k + b"\x00" + s.encode("utf-8") for k, s in zip(keys, t, strict=True)]
    codes, _ = pd.factorize(pd.Series(keys, dtype=object))
    return codes.astype(np.int64)


def _first_occurrences(groups: np.ndarray) -> np.ndarray:
    _, first = np.unique(groups, return_index=True)
    return np.sort(first)


@REGISTRY.register("exact_dedup")
@filter_selector
def exact_dedup_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    column: str | None = None,
    normalize_text: bool | None = None,
    order: str = "random",
) -> np.ndarray:
    """Exact deduplication: keep the first occurrence of every distinct row (or text).

    A filter: ``k=None`` keeps every first occurrence in row order. ``column`` names a
    text column of ``ds.extra`` to compare instead of the feature row; by default the
    dataset's own text column (``ds.text_column``) is used when it has one, else the
    feature row. ``normalize_text`` (default: True for ``ds.text_column``, False for an
    explicit ``column``) compares :func:`datafactors.featurize.normalize_text` forms.
    With a budget, ``order="first"`` gives the first occurrences in row order,
    ``"random"`` in a random order from the seed; :func:`datafactors.select.select` cuts
    them to ``k`` (fewer distinct rows than ``k`` raise ``DataError``).
    """
    if order not in ("first", "random"):
        raise ConfigError(f"order == {order!r}, must be 'first' or 'random'")
    if column is None and getattr(ds, "text_column", None) is not None:
        column = ds.text_column
        normalize_text = True if normalize_text is None else normalize_text
    if column is None:
        groups = exact_duplicate_groups(ds.X)
    else:
        if ds.extra is None or column not in ds.extra.columns:
            have = [] if ds.extra is None else list(map(str, ds.extra.columns))
            raise DataError(f"column {column!r} is not in the dataset's extra columns ({', '.join(have) or 'none'})")
        groups = exact_duplicate_groups(texts=ds.extra[column].to_numpy(), normalize_text=bool(normalize_text))
    first = _first_occurrences(groups)
    if k is not None and order == "random":
        first = first[rng.permutation(len(first))]
    return first


# ---------------------------------------------------------------- SemDeDup


@dataclass
class SemDeDupResult:
    """What :func:`semdedup_max_similarity` found.

    Attributes
    ----------
    max_sim : (n,) float32 ``M_j``, the largest cosine similarity of row j to an earlier member
        of its cluster (-1 for the first member of a cluster: nothing earlier).
    cluster : (n,) int64 k-means cluster of every row.
    position : (n,) int64 position of every row within its cluster's order (0 = first).
    centroids : (n_clusters, d) float32 unit centroids.
    """

    max_sim: np.ndarray
    cluster: np.ndarray
    position: np.ndarray
    centroids: np.ndarray

    def keep_mask(self, eps: float) -> np.ndarray:
        """(n,) bool: rows whose ``M`` is at most ``1 - eps``."""
        eps = _check_eps(eps)
        return self.max_sim <= 1.0 - eps


def _check_eps(eps: Any) -> float:
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real) or not 0.0 <= float(eps) <= 2.0:
        raise ConfigError(f"eps == {eps!r}, must be a number in [0, 2] (cosine threshold 1 - eps)")
    return float(eps)


def _tril_mask(w: int, cache: dict[int, np.ndarray]) -> np.ndarray:
    m = cache.get(w)
    if m is None:
        m = np.tril(np.ones((w, w), dtype=bool))  # row i >= column j: not an earlier member
        cache[w] = m
    return m


def _cluster_max_sim(U: np.ndarray, block_floats: int, cache: dict[int, np.ndarray]) -> np.ndarray:
    """``M_j = max_{i<j} U_i . U_j`` for the rows of ``U`` (unit, in cluster order), in column blocks."""
    s = len(U)
    out = np.full(s, -1.0, dtype=np.float32)
    if s < 2:
        return out
    w = max(1, min(s, block_floats // s))
    for a in range(0, s, w):
        b = min(s, a + w)
        G = U[:b] @ U[a:b].T  # (b, b - a): every member up to b against columns a..b
        G[a:b][_tril_mask(b - a, cache)] = -np.inf
        out[a:b] = G.max(axis=0)
    np.maximum(out, -1.0, out=out)  # the first member (no earlier one) reads -inf
    np.minimum(out, 1.0, out=out)  # float32 rounding can read 1.0000001 for identical rows
    return out


def semdedup_max_similarity(
    E: Any,
    *,
    n_clusters: int | None = None,
    seed: SeedLike = 0,
    keep: str = "hard",
    niter: int = 20,
    block_floats: int = _BLOCK_FLOATS,
) -> SemDeDupResult:
    """SemDeDup's ``M_j``: each row's largest cosine to an earlier member of its k-means cluster.

    Parameters
    ----------
    E : (n, d) embeddings (need not be normalised; they are, block by block).
    n_clusters : k-means clusters, in [1, n]; None gives ``round(sqrt(n))`` (the paper used
        50,000 for 440M rows; sqrt(n) balances the k-means and the within-cluster cost).
    seed : int or Generator for the k-means (and the order with ``keep="random"``).
    keep : within-cluster order: ``"hard"`` farthest from the centroid first (the authors'
        default: the most atypical member of a duplicate group survives), ``"easy"`` nearest
        first, ``"random"``. Ties in distance (e.g. exact duplicates) go to the lower row.
    niter : k-means iterations.
    block_floats : largest similarity block held at once (entries).

    Returns
    -------
    SemDeDupResult

    Examples
    --------
    >>> E = np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0]])
    >>> r = semdedup_max_similarity(E, n_clusters=1, keep="easy")
    >>> r.position.tolist()  # row 1 lies nearest the centroid, so it comes first
    [1, 0, 2]
    >>> [round(float(v), 3) for v in r.max_sim]
    [1.0, -1.0, 0.01]
    """
    Ea = check_embeddings(E, name="E")
    n = len(Ea)
    k = check_n_clusters(n_clusters, n)
    if keep not in ("hard", "easy", "random"):
        raise ConfigError(f"keep == {keep!r}, must be 'hard', 'easy' or 'random'")
    if isinstance(block_floats, bool) or not isinstance(block_floats, numbers.Integral) or block_floats < 1:
        raise ConfigError(f"block_floats == {block_floats!r}, must be an int >= 1")
    rng = check_random_state(seed)
    C, labels, d2 = kmeans(Ea, k, seed=rng, niter=niter, spherical=True)
    rows = np.arange(n)
    if keep == "hard":
        key = -d2
    elif keep == "easy":
        key = d2
    else:
        key = rng.random(n).astype(np.float32)
    order = np.lexsort((rows, key, labels))  # cluster-major; within a cluster by key, then row
    counts = np.bincount(labels, minlength=k)
    starts = np.concatenate([[0], np.cumsum(counts)])
    max_sim = np.empty(n, dtype=np.float32)
    position = np.empty(n, dtype=np.int64)
    cache: dict[int, np.ndarray] = {}
    for c in range(k):
        idx = order[starts[c] : starts[c + 1]]
        if len(idx) == 0:
            continue
        position[idx] = np.arange(len(idx))
        if len(idx) == 1:
            max_sim[idx] = -1.0
            continue
        max_sim[idx] = _cluster_max_sim(unit_rows(Ea[idx]), int(block_floats), cache)
    return SemDeDupResult(max_sim, labels, position, C)


def semdedup(
    E: Any,
    *,
    n_clusters: int | None = None,
    eps: float,
    seed: SeedLike = 0,
    keep: str = "hard",
    niter: int = 20,
) -> np.ndarray:
    """SemDeDup keep mask: drop row j when ``max_{i<j} cos(e_i, e_j) > 1 - eps`` within its cluster.

    Parameters
    ----------
    E : (n, d) embeddings.
    n_clusters, seed, keep, niter : see :func:`semdedup_max_similarity`.
    eps : in [0, 2]; larger removes more (the paper swept 0.01..0.3 or so).

    Returns
    -------
    (n,) bool, True for kept rows.

    Examples
    --------
    >>> E = np.array([[1.0, 0.0], [0.999, 0.04], [0.0, 1.0]])
    >>> semdedup(E, n_clusters=1, eps=0.01).tolist()
    [True, False, True]
    """
    eps = _check_eps(eps)
    return semdedup_max_similarity(E, n_clusters=n_clusters, seed=seed, keep=keep, niter=niter).keep_mask(eps)


def semdedup_eps_for_keep(max_sim: Any, keep: int | float) -> float:
    """The largest ``eps`` whose SemDeDup keep mask keeps at least ``keep`` rows.

    The keep count ``#{M <= 1 - eps}`` only changes where ``1 - eps`` crosses a value of
    ``M``, so the search is over the sorted ``M``: with ``m`` the ``keep``-th smallest,
    ``eps = 1 - m``, stepped down in float64 until ``1 - eps >= m`` holds exactly. More than
    ``keep`` rows are kept only when several rows share the value ``m``.

    Parameters
    ----------
    max_sim : (n,) ``M`` from :func:`semdedup_max_similarity` (or the result itself).
    keep : an int count in [1, n] or a float fraction in (0, 1].

    Returns
    -------
    float eps in [0, 2].

    Examples
    --------
    >>> M = np.array([-1.0, 0.2, 0.99, 0.5])
    >>> eps = semdedup_eps_for_keep(M, 3)
    >>> round(eps, 6), int((M <= 1 - eps).sum())
    (0.5, 3)
    """
    M = max_sim.max_sim if isinstance(max_sim, SemDeDupResult) else np.asarray(max_sim, dtype=np.float32)
    if M.ndim != 1 or len(M) == 0 or not np.isfinite(M).all():
        raise DataError(f"max_sim must be a finite (n,) array, got shape {M.shape}")
    kk = resolve_budget(keep, len(M), name="keep")
    m = float(np.partition(M, kk - 1)[kk - 1])
    eps = min(2.0, max(0.0, 1.0 - m))
    while eps > 0.0 and 1.0 - eps < m:
        eps = float(np.nextafter(eps, -np.inf))
    return eps


@REGISTRY.register("semdedup")
@filter_selector
def semdedup_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    n_clusters: int | None = None,
    keep: str = "hard",
    niter: int = 20,
    eps: float | None = None,
) -> np.ndarray:
    """SemDeDup as a filter: the rows with ``M <= 1 - eps``, or ``eps`` searched to keep ``k``.

    With ``eps`` every row that survives it passes (in input order; a budget keeps the first
    ``k`` of them). Without ``eps`` a budget is needed: rows by increasing ``M``, cut at ``k``
    -- the set ``semdedup_eps_for_keep(M, k)`` keeps, ties at the cut broken by the seed.
    Embeddings default to ``ds.X``.
    """
    if eps is None and k is None:
        raise ConfigError("semdedup without a budget needs eps= (keep the rows whose M <= 1 - eps)")
    if eps is not None:
        eps = _check_eps(eps)
    E = embeddings_of(ds, embeddings)
    res = semdedup_max_similarity(E, n_clusters=n_clusters, seed=rng, keep=keep, niter=niter)
    if eps is not None:
        return np.flatnonzero(res.keep_mask(eps))
    return np.lexsort((rng.permutation(ds.n), res.max_sim))
