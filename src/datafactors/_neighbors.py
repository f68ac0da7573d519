"""Row normalisation, k-means and nearest neighbours, shared by factors, scores, select and splits.

- :func:`unit_rows`: L2-normalised float32 rows (an all-zero row stays zero).
- :func:`kmeans` / :func:`nearest_centroid`: Lloyd's k-means by faiss, seeded; rows assigned
  to centroids in float32 BLAS blocks.
- :func:`knn`: exact nearest neighbours by blockwise BLAS (memory O(block^2 + n d), never an
  n x n matrix; distances recomputed in float64), or faiss (flat / HNSW) above a size.

faiss's flat index is several times slower than numpy's BLAS on small CPU machines, and its
float32 distance expansion loses precision for close pairs, so the exact path is the default.
torch (top-k) and faiss are imported inside the functions that need them.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from ._arrays import check_matrix
from ._errors import ConfigError
from ._validation import SeedLike, check_random_state, seed_int

__all__ = ["check_n_clusters", "kmeans", "knn", "nearest_centroid", "unit_rows"]

Q_BLOCK = 2048
B_BLOCK = 4096
_BLOCK_FLOATS = 2**23  # one block of centroid similarities stays under 32 MiB

MaskFn = Callable[[slice, slice], np.ndarray | None]


# ---------------------------------------------------------------- normalisation


def unit_rows(X: Any, *, reuse_unit: bool = False) -> np.ndarray:
    """L2-normalised float32 copy of the rows of ``X`` (n, d); all-zero rows stay zero.

    With ``reuse_unit`` an input that already has C-contiguous float32 unit rows (norms within
    1e-6 of 1) comes back as is, without a copy.

    Examples
    --------
    >>> unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    Xf = np.asarray(X, dtype=np.float32)
    norms = np.sqrt(np.einsum("ij,ij->i", Xf, Xf))
    if reuse_unit and Xf.flags.c_contiguous and np.all(np.abs(norms - 1) <= 1e-6):
        return Xf
    inv = np.divide(np.float32(1.0), norms, out=np.zeros_like(norms), where=norms > 0)
    return np.ascontiguousarray(Xf * inv[:, None])


# ---------------------------------------------------------------- k-means


def check_n_clusters(n_clusters: Any, n: int, name: str = "n_clusters") -> int:
    """``n_clusters`` as an int in [1, n]; None gives round(sqrt(n))."""
    if n_clusters is None:
        return int(max(1, min(n, round(np.sqrt(n)))))
    if isinstance(n_clusters, bool | np.bool_) or not isinstance(n_clusters, numbers.Integral) or n_clusters < 1:
        raise ConfigError(f"{name} == {n_clusters!r}, must be an int >= 1")
    if n_clusters > n:
        raise ConfigError(f"{name} == {n_clusters}, must be <= the number of rows ({n})")
    return int(n_clusters)


def nearest_centroid(
    X: np.ndarray, C: np.ndarray, *, normalize: bool = False, block_floats: int = _BLOCK_FLOATS
) -> tuple[np.ndarray, np.ndarray]:
    """Label (n,) int64 and squared distance (n,) float32 of every row of ``X`` to its nearest row of ``C``.

    Float32 BLAS in blocks of rows (``block x k`` entries at a time). With ``normalize`` the rows
    of ``X`` are L2-normalised block by block first (so no normalised copy of X exists).
    """
    n, k = X.shape[0], C.shape[0]
    C = np.ascontiguousarray(C, dtype=np.float32)
    c2 = np.einsum("ij,ij->i", C, C)
    labels = np.empty(n, dtype=np.int64)
    d2 = np.empty(n, dtype=np.float32)
    rows = max(1, min(n, block_floats // max(1, k)))
    for start in range(0, n, rows):
        xb = X[start : start + rows]
        xb = unit_rows(xb) if normalize else np.asarray(xb, dtype=np.float32)
        # ||x||^2 is constant along a row: argmin of ||c||^2 - 2 x.c is the nearest centroid.
        s = xb @ C.T
        s *= -2.0
        s += c2[None, :]
        lab = np.argmin(s, axis=1)
        labels[start : start + len(xb)] = lab
        x2 = np.einsum("ij,ij->i", xb, xb)
        d2[start : start + len(xb)] = np.maximum(s[np.arange(len(xb)), lab] + x2, 0.0)
    return labels, d2


def kmeans(
    X: Any,
    n_clusters: int | None = None,
    *,
    seed: SeedLike = 0,
    niter: int = 20,
    spherical: bool = False,
    max_points_per_centroid: int = 256,
    sample: str = "seed",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """k-means with faiss, trained on a sample of rows and applied to every row.

    Parameters
    ----------
    X : (n, d) float embeddings.
    n_clusters : int in [1, n]; None gives ``round(sqrt(n))``.
    seed : int or Generator; deterministic per seed.
    niter : Lloyd iterations.
    spherical : cosine k-means: rows are L2-normalised (block by block, never all at once) and
        the centroids kept on the unit sphere, as SemDeDup and DataComp do.
    max_points_per_centroid : the training sample holds at most this many rows per centroid
        (faiss's default 256).
    sample : "seed" draws the training sample from ``seed`` here and assigns every row in float32
        BLAS blocks (one cluster is the mean row); "faiss" leaves sampling to faiss, seeded with
        ``int(seed) % (2**31 - 1)``, and assigns rows with faiss's index (the geometric selectors'
        historical behaviour, which their pinned picks depend on).

    Returns
    -------
    centroids : (n_clusters, d) float32.
    labels : (n,) int64 cluster of every row.
    sq_dist : (n,) float32 squared distance of every (normalised, if spherical) row to its centroid.

    Examples
    --------
    >>> X = np.r_[np.zeros((20, 2)), np.ones((20, 2)) * 10] + np.random.default_rng(0).normal(size=(40, 2))
    >>> _, labels, _ = kmeans(X, 2)
    >>> len(set(labels[:20])), len(set(labels[20:])), bool(labels[0] != labels[-1])
    (1, 1, True)
    """
    Xa = check_matrix(X, name="X")
    n, d = Xa.shape
    k = check_n_clusters(n_clusters, n)
    if isinstance(niter, bool) or not isinstance(niter, numbers.Integral) or niter < 1:
        raise ConfigError(f"niter == {niter!r}, must be an int >= 1")
    if sample not in ("seed", "faiss"):
        raise ConfigError(f"sample == {sample!r}, must be 'seed' or 'faiss'")
    if sample == "faiss":
        import faiss

        if isinstance(seed, np.random.Generator):
            seed = seed_int(seed)
        Xt = unit_rows(Xa) if spherical else Xa
        km = faiss.Kmeans(
            d,
            k,
            niter=int(niter),
            seed=int(seed) % (2**31 - 1),
            spherical=bool(spherical),
            verbose=False,
            min_points_per_centroid=1,
            max_points_per_centroid=int(max_points_per_centroid),
        )
        km.train(Xt)
        d2, lab = km.index.search(Xt, 1)
        C = np.asarray(km.centroids, dtype=np.float32).reshape(k, d)
        return C, lab.ravel().astype(np.int64), np.maximum(d2.ravel(), 0.0).astype(np.float32)
    rng = check_random_state(seed)
    cap = max(1, int(max_points_per_centroid)) * k
    rows = np.sort(rng.choice(n, size=cap, replace=False)) if n > cap else np.arange(n)
    Xs = Xa[rows]
    Xs = unit_rows(Xs) if spherical else np.ascontiguousarray(Xs, dtype=np.float32)
    if k == 1:
        C = Xs.mean(axis=0, keepdims=True, dtype=np.float64).astype(np.float32)
        if spherical:
            C = unit_rows(C)
    else:
        import faiss

        km = faiss.Kmeans(
            d,
            k,
            niter=int(niter),
            seed=seed_int(rng),
            spherical=bool(spherical),
            verbose=False,
            min_points_per_centroid=1,  # small inputs: no "please provide more points" warning
            max_points_per_centroid=len(Xs),  # the sample was drawn above, from the seed
        )
        km.train(np.ascontiguousarray(Xs))
        C = np.asarray(km.centroids, dtype=np.float32).reshape(k, d)
    labels, d2 = nearest_centroid(Xa, C, normalize=spherical)
    return C, labels, d2


# ---------------------------------------------------------------- nearest neighbours


def _exact(
    Q: np.ndarray, B: np.ndarray, k: int, metric: str, self_index: np.ndarray | None, mask: MaskFn | None
) -> tuple[np.ndarray, np.ndarray]:
    import torch

    m, n = len(Q), len(B)
    bn = np.einsum("ij,ij->i", B, B) if metric == "l2" else None
    best_s = np.full((m, k), -np.inf, dtype=np.float32)
    best_i = np.full((m, k), -1, dtype=np.int64)
    buf = np.empty((min(Q_BLOCK, m), min(B_BLOCK, n)), dtype=np.float32)
    for qs in range(0, m, Q_BLOCK):
        qe = min(qs + Q_BLOCK, m)
        q = Q[qs:qe]
        cur_s = best_s[qs:qe]
        cur_i = best_i[qs:qe]
        for bs in range(0, n, B_BLOCK):
            be = min(bs + B_BLOCK, n)
            o = buf if buf.shape == (qe - qs, be - bs) else np.empty((qe - qs, be - bs), dtype=np.float32)
            np.matmul(q, B[bs:be].T, out=o)
            if bn is not None:
                # 2 q.b - |b|^2 = |q|^2 - |q - b|^2: ranks like -distance for a fixed query.
                o *= 2.0
                o -= bn[bs:be]
            if self_index is not None:
                si = self_index[qs:qe]
                rows = np.flatnonzero((si >= bs) & (si < be))
                o[rows, si[rows] - bs] = -np.inf
            if mask is not None:
                excl = mask(slice(qs, qe), slice(bs, be))
                if excl is not None:
                    o[excl] = -np.inf
            kk = min(k, be - bs)
            if kk == 1:
                part = o.argmax(axis=1)[:, None]
                ps = np.take_along_axis(o, part, axis=1)
            else:
                # torch's top-k is ~10x faster than numpy's argpartition on wide blocks.
                tv, ti = torch.topk(torch.from_numpy(o), kk, dim=1)
                ps, part = tv.numpy(), ti.numpy().astype(np.int64)
            cat_s = np.concatenate([cur_s, ps], axis=1)
            cat_i = np.concatenate([cur_i, part + bs], axis=1)
            top = np.argsort(-cat_s, axis=1, kind="stable")[:, :k]
            cur_s[:] = np.take_along_axis(cat_s, top, axis=1)
            cur_i[:] = np.take_along_axis(cat_i, top, axis=1)
    best_i[~np.isfinite(best_s)] = -1
    return best_i, best_s


def _faiss(
    E: np.ndarray,
    k: int,
    *,
    hnsw: bool,
    n_threads: int | None,
    queries: np.ndarray | None = None,
    metric: str = "l2",
) -> np.ndarray:
    """Indices of each query's k nearest rows of ``E`` by faiss (flat: exact; HNSW: approximate).

    Without ``queries`` the rows of ``E`` are searched against themselves, each row's own hit
    dropped ((n, k) result); with ``queries`` (m, k). ``metric`` "l2" or "ip" (inner product).
    """
    import faiss

    n, d = E.shape
    Q = E if queries is None else queries
    extra = 1 if queries is None else 0
    prev = faiss.omp_get_max_threads()
    if n_threads is not None:
        faiss.omp_set_num_threads(n_threads)
    try:
        fmetric = faiss.METRIC_INNER_PRODUCT if metric == "ip" else faiss.METRIC_L2
        if hnsw:
            index = faiss.IndexHNSWFlat(d, 32, fmetric)
            index.hnsw.efConstruction = 80
            index.hnsw.efSearch = max(64, 2 * (k + 1))
        else:
            index = faiss.IndexFlatIP(d) if metric == "ip" else faiss.IndexFlatL2(d)
        index.add(E)
        _, found = index.search(Q, k + extra)
    finally:
        faiss.omp_set_num_threads(prev)
    if queries is None:
        # Drop each point itself (or, among exact duplicates where it was not returned, the last hit).
        is_self = found == np.arange(n)[:, None]
        drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
        keep = np.ones_like(found, dtype=bool)
        keep[np.arange(n), drop] = False
        idx = found[keep].reshape(n, k).astype(np.int64)
    else:
        idx = found.astype(np.int64)
    missing = idx < 0  # HNSW may return fewer than k: fall back to an exact search for those rows
    for r in np.flatnonzero(missing.any(axis=1)):
        if metric == "ip":
            key = -(E @ Q[r])
        else:
            key = ((E - Q[r]) ** 2).sum(axis=1)
        if queries is None:
            key[r] = np.inf
        idx[r] = np.argsort(key, kind="stable")[:k]
    return idx


def knn(
    X: Any,
    k: int,
    *,
    queries: Any = None,
    metric: str = "l2",
    exclude_self: bool = False,
    self_index: np.ndarray | None = None,
    mask: MaskFn | None = None,
    method: str = "exact",
    exact_below: int = 20_000,
    hnsw_below: int = 200_000,
    n_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows of ``X`` for every query row (every row of ``X`` when ``queries`` is None).

    Parameters
    ----------
    X : (n, d) base rows.
    k : neighbours per query (fewer eligible base rows: the missing columns hold ``inf`` / ``-1``).
    queries : (m, d) query rows; None searches ``X`` against itself.
    metric : "l2" (Euclidean distance, ascending) or "ip" (inner product, descending).
    exclude_self : with ``queries`` None, a row is never its own neighbour (an exact duplicate
        may still appear at distance 0).
    self_index : (m,) row of ``X`` that each query is, excluded from its neighbours.
    mask : ``mask(q_slice, x_slice) -> bool (mq, mx)`` of further pairs to exclude.
    method : "exact" (blockwise BLAS), "faiss-flat", "faiss-hnsw" (approximate), or "auto":
        exact up to ``exact_below`` rows, faiss-flat up to ``hnsw_below``, HNSW above. The faiss
        methods need no ``mask`` and no ``self_index``; searching ``X`` against itself they need
        ``exclude_self`` and metric "l2", with separate ``queries`` either metric.
    n_threads : faiss OpenMP threads (default: faiss's own); HNSW builds are bit-reproducible
        only with ``n_threads=1``.

    Returns
    -------
    values : (m, k) float64 distances (l2, recomputed in float64) or inner products (ip), best
        first, ties by index; ``inf`` / ``-inf`` where no eligible neighbour exists.
    index : (m, k) int64 rows of ``X`` (-1 where none).

    Examples
    --------
    >>> d, i = knn(np.array([[0.0], [1.0], [3.0]]), 1, exclude_self=True)
    >>> d.ravel().tolist(), i.ravel().tolist()
    ([1.0, 1.0, 2.0], [1, 0, 1])
    """
    if metric not in ("l2", "ip"):
        raise ConfigError(f"metric == {metric!r}, must be 'l2' or 'ip'")
    B = np.ascontiguousarray(X, dtype=np.float32)
    Q = B if queries is None else np.ascontiguousarray(queries, dtype=np.float32)
    if exclude_self:
        if queries is not None:
            raise ConfigError("exclude_self needs queries=None (the queries are the rows of X)")
        self_index = np.arange(len(B))
    n = len(B)
    if method == "auto":
        method = "exact" if n <= exact_below else ("faiss-flat" if n <= hnsw_below else "faiss-hnsw")
    if method not in ("exact", "faiss-flat", "faiss-hnsw"):
        raise ConfigError(f"method == {method!r}, must be 'auto', 'exact', 'faiss-flat' or 'faiss-hnsw'")
    k = max(1, min(int(k), n - 1 if exclude_self and n > 1 else n))
    if method == "exact":
        idx, _ = _exact(Q, B, k, metric, self_index, mask)
    else:
        if queries is None:
            if not exclude_self or metric != "l2" or mask is not None:
                raise ConfigError(
                    f"method == {method!r} searching rows against themselves needs exclude_self, l2, no mask"
                )
            idx = _faiss(B, k, hnsw=method == "faiss-hnsw", n_threads=n_threads)
        else:
            if mask is not None or self_index is not None:
                raise ConfigError(f"method == {method!r} with queries takes no mask or self_index")
            idx = _faiss(B, k, hnsw=method == "faiss-hnsw", n_threads=n_threads, queries=Q, metric=metric)
    vals = _refine(Q, B, idx, metric)
    # float32 ranking can misorder near-ties; the float64 values decide the final order, then the index.
    key = -vals if metric == "ip" else vals
    order = np.lexsort((np.where(idx >= 0, idx, np.iinfo(np.int64).max), key), axis=1)
    return np.take_along_axis(vals, order, axis=1), np.take_along_axis(idx, order, axis=1)


def _refine(Q: np.ndarray, B: np.ndarray, idx: np.ndarray, metric: str) -> np.ndarray:
    """float64 distances (l2) or inner products (ip) of each query to its chosen rows, in blocks of queries."""
    m, k = idx.shape
    vals = np.full((m, k), -np.inf if metric == "ip" else np.inf)
    step = max(1, _BLOCK_FLOATS // max(1, k * B.shape[1]))
    for start in range(0, m, step):
        ib = idx[start : start + step]
        rows, cols = np.nonzero(ib >= 0)
        q = Q[start + rows].astype(np.float64)
        b = B[ib[rows, cols]].astype(np.float64)
        if metric == "ip":
            vals[start + rows, cols] = np.einsum("ij,ij->i", q, b)
        else:
            diff = q - b
            vals[start + rows, cols] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return vals
