"""Diversity: Vendi score, AttrPrompt APS (overall / intra-class / inter-class), cluster entropy,
vocabulary size for text."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._errors import ConfigError, DataError
from .._neighbors import unit_rows
from .._validation import SeedLike, check_random_state
from . import family, row
from ._context import ProfileContext

FAMILY = "diversity"


def _unit_nonzero(X: np.ndarray, what: str = "X") -> np.ndarray:
    A = np.asarray(X)
    if A.ndim != 2 or A.shape[0] == 0:
        raise DataError(f"{what} must be a non-empty 2-D array (n, d), got shape {A.shape}")
    U = unit_rows(A, reuse_unit=True)
    zero = ~U.any(axis=1)
    if zero.any():
        r = int(np.argmax(zero))
        raise DataError(
            f"{what} has {int(zero.sum())} all-zero rows (first at row {r}); cosine similarity is undefined for them"
        )
    return U


def _entropy_q(p: np.ndarray, q: float | str) -> float:
    p = p[p > 0]
    if q == "inf":
        return float(-np.log(p.max()))
    qf = float(q)
    if qf == 1.0:
        return float(-(p * np.log(p)).sum())
    return float(np.log((p**qf).sum()) / (1.0 - qf))


def _unit64_gram(A: np.ndarray, *, kernel: bool, block_bytes: int = 1 << 25) -> np.ndarray:
    """``U^T U / n`` (d, d), or with ``kernel`` ``U U^T / n`` (n, n), for the unit rows U of ``A`` (n, d).

    Rows are normalised and products summed in float64, the Gram matrix in row blocks of
    about ``block_bytes``: a float32 sum over n rows carries an error that grows with n
    and swamps the small eigenvalues of a decaying spectrum.
    """
    n, d = A.shape
    step = n if kernel else max(1, block_bytes // (8 * d))
    G = np.zeros((n, n) if kernel else (d, d), dtype=np.float64)
    n_zero, first_zero = 0, -1
    for s in range(0, n, step):
        B = np.array(A[s : s + step], dtype=np.float64)
        norms = np.sqrt(np.einsum("ij,ij->i", B, B))
        zero = norms == 0
        if zero.any():
            first_zero = s + int(np.argmax(zero)) if first_zero < 0 else first_zero
            n_zero += int(zero.sum())
            continue
        B /= norms[:, None]
        G += B @ B.T if kernel else B.T @ B
    if n_zero:
        raise DataError(
            f"X has {n_zero} all-zero rows (first at row {first_zero}); cosine similarity is undefined for them"
        )
    return G / n


def vendi_score(X: np.ndarray, *, q: float | str = 1.0, method: str = "auto") -> float:
    """Vendi score with the cosine kernel: exp(entropy of the eigenvalues of K / n).

    The non-zero eigenvalues of ``K / n = U U^T / n`` (U: unit rows) equal those of
    the d x d matrix ``U^T U / n``, so for n > d it costs O(n d^2) time and O(d^2)
    extra memory ("gram"); for n <= d the n x n kernel is used ("kernel"). Either is
    formed in float64; eigenvalues below ``m * eps * (largest eigenvalue)``, m the size
    of the matrix decomposed and eps float64's machine epsilon (the numerical-rank
    cut-off of ``numpy.linalg.matrix_rank``), count as zero.

    Parameters
    ----------
    X : (n, d) embeddings; rows are L2-normalised here (all-zero rows are an error).
    q : order of the Renyi entropy: 1 (Shannon, the paper's default), another
        positive number, or "inf".
    method : "auto", "gram" or "kernel".

    Returns
    -------
    float in [1, min(n, d)]: the effective number of distinct examples.

    Examples
    --------
    >>> round(vendi_score(np.eye(3)), 6)
    3.0
    >>> round(vendi_score(np.ones((5, 2))), 6)
    1.0
    """
    if method not in {"auto", "gram", "kernel"}:
        raise ConfigError(f"method == {method!r}, must be 'auto', 'gram' or 'kernel'")
    if not (q == "inf" or (isinstance(q, (int, float)) and not isinstance(q, bool) and q > 0)):
        raise ConfigError(f"q == {q!r}, must be a positive number or 'inf'")
    A = np.asarray(X)
    if A.ndim != 2 or A.shape[0] == 0:
        raise DataError(f"X must be a non-empty 2-D array (n, d), got shape {A.shape}")
    kernel = method == "kernel" or (method == "auto" and A.shape[0] <= A.shape[1])
    w = np.linalg.eigvalsh(_unit64_gram(A, kernel=kernel))
    # Rounding leaves true zero eigenvalues near eps * m * max. The cut-off is relative to
    # the spectrum alone: one that grows with n drops real mass of a decaying spectrum.
    w = np.where(w > w.max() * len(w) * np.finfo(np.float64).eps, w, 0.0)
    return float(math.exp(_entropy_q(w, q)))


def aps(X: np.ndarray) -> float:
    """Average pairwise cosine similarity over distinct pairs (AttrPrompt's APS; lower = more diverse).

    Computed from the sum vector in O(n d): ``(|sum u|^2 - n) / (n (n - 1))``.

    Examples
    --------
    >>> round(aps(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])), 4)  # cosines 0, .7071, .7071
    0.4714
    """
    U = _unit_nonzero(X)
    n = len(U)
    if n < 2:
        raise DataError("APS needs at least 2 rows")
    s = U.sum(axis=0, dtype=np.float64)
    return float((s @ s - n) / (n * (n - 1)))


class ClassAPS(NamedTuple):
    """Intra-class APS (mean over classes), inter-class APS (mean over class pairs) and per-class APS."""

    intra: float
    inter: float
    per_class: dict[int, float]


def class_aps(X: np.ndarray, y: np.ndarray) -> ClassAPS:
    """Intra- and inter-class average pairwise cosine similarity (AttrPrompt).

    intra = mean over classes with >= 2 examples of the APS within the class;
    inter = mean over pairs of classes (a, b) of the mean cosine between an example of
    a and one of b. Both O(n d) through per-class sum vectors.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
    >>> r = class_aps(X, np.array([0, 0, 1, 1]))
    >>> round(r.intra, 4), round(r.inter, 4)
    (0.995, 0.0993)
    """
    U = _unit_nonzero(X)
    yy = np.asarray(y)
    if yy.shape != (len(U),):
        raise DataError(f"y must have shape ({len(U)},), got {yy.shape}")
    classes = np.unique(yy)
    sums = {c: U[yy == c].sum(axis=0, dtype=np.float64) for c in classes}
    counts = {c: int((yy == c).sum()) for c in classes}
    per = {
        int(c): float((sums[c] @ sums[c] - counts[c]) / (counts[c] * (counts[c] - 1)))
        for c in classes
        if counts[c] >= 2
    }
    intra = float(np.mean(list(per.values()))) if per else math.nan
    pairs = [
        float(sums[a] @ sums[b] / (counts[a] * counts[b])) for i, a in enumerate(classes) for b in classes[i + 1 :]
    ]
    inter = float(np.mean(pairs)) if pairs else math.nan
    return ClassAPS(intra, inter, per)


class ClusterEntropy(NamedTuple):
    entropy: float
    normalized: float
    n_clusters: int
    sizes: np.ndarray


def default_n_clusters(n: int) -> int:
    return int(min(100, max(2, round(math.sqrt(n / 2)))))


def _assign(U: np.ndarray, C: np.ndarray, block: int = 16_384) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre (highest cosine) of every unit row, blockwise; (labels, similarity)."""
    lab = np.empty(len(U), dtype=np.int64)
    sim = np.empty(len(U), dtype=np.float32)
    for s in range(0, len(U), block):
        S = U[s : s + block] @ C.T
        lab[s : s + block] = S.argmax(axis=1)
        sim[s : s + block] = S[np.arange(len(S)), lab[s : s + block]]
    return lab, sim


def spherical_kmeans(
    U: np.ndarray, k: int, *, n_iter: int = 25, max_points_per_centroid: int = 256, seed: SeedLike = 0
) -> np.ndarray:
    """Cluster labels of unit rows by spherical k-means (cosine), Lloyd iterations on BLAS.

    Centres start at k distinct random rows; they are fitted on at most
    ``max_points_per_centroid * k`` sampled rows (as faiss does) and then every row
    is assigned. An emptied cluster is re-seeded with the worst-fitted row.
    """
    from scipy import sparse

    rng = check_random_state(seed)
    n = len(U)
    S = U[np.sort(rng.choice(n, max_points_per_centroid * k, replace=False))] if n > max_points_per_centroid * k else U
    C = S[rng.choice(len(S), k, replace=False)].astype(np.float32)
    prev = None
    for _ in range(n_iter):
        lab, sim = _assign(S, C)
        if prev is not None and np.array_equal(lab, prev):
            break
        prev = lab
        onehot = sparse.csr_matrix((np.ones(len(S), dtype=np.float32), (lab, np.arange(len(S)))), shape=(k, len(S)))
        sums = np.asarray(onehot @ S, dtype=np.float64)
        counts = np.bincount(lab, minlength=k)
        for c in np.flatnonzero(counts == 0):
            worst = int(np.argmin(sim))
            sums[c] = S[worst]
            sim[worst] = np.inf
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        C = (sums / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    return _assign(U, C)[0]


def cluster_entropy(X: np.ndarray, n_clusters: int | None = None, *, seed: SeedLike = 0) -> ClusterEntropy:
    """Entropy of the cluster sizes of spherical k-means on the unit rows of ``X``.

    Parameters
    ----------
    X : (n, d) embeddings.
    n_clusters : k (default ``min(100, max(2, round(sqrt(n / 2))))``, at most n).
        Identical rows fall in one cluster, so a set of copies has entropy 0.

    Returns
    -------
    ClusterEntropy(entropy in nats, entropy / ln k, k, sizes (k,))

    Examples
    --------
    >>> X = np.repeat(np.eye(4), 25, axis=0)  # 4 tight, equal clusters
    >>> r = cluster_entropy(X, 4, seed=0)
    >>> round(r.normalized, 6), sorted(r.sizes.tolist())
    (1.0, [25, 25, 25, 25])
    """
    U = _unit_nonzero(X)
    n = len(U)
    k = default_n_clusters(n) if n_clusters is None else int(n_clusters)
    if k < 2:
        raise ConfigError(f"n_clusters == {k}, must be >= 2")
    if n < 2:
        raise DataError("cluster entropy needs at least 2 rows")
    k = min(k, n)
    sizes = np.bincount(spherical_kmeans(U, k, seed=seed), minlength=k)
    p = sizes[sizes > 0] / n
    h = float(-(p * np.log(p)).sum())
    return ClusterEntropy(h, h / math.log(k), k, sizes)


@family(FAMILY, description="Vendi score, APS (intra/inter-class), cluster entropy, vocabulary size")
def diversity(ctx: ProfileContext) -> list[dict]:
    U, zero = ctx.unit()
    keep = ~zero
    note_zero = f"; {int(zero.sum())} all-zero rows left out" if zero.any() else ""
    rows = []
    if keep.sum() < 2:
        return [row(FAMILY, "vendi_score", note="not computed: fewer than 2 non-zero rows")]
    Uk = U[keep] if zero.any() else U
    rows.append(
        row(
            FAMILY,
            "vendi_score",
            vendi_score(Uk),
            note=f"cosine kernel, q=1; effective number of distinct examples{note_zero}",
        )
    )
    rows.append(row(FAMILY, "aps", aps(Uk), note=f"mean pairwise cosine; lower = more diverse{note_zero}"))
    if ctx.ds.has_labels:
        ca = class_aps(Uk, ctx.ds.y[keep])
        rows.append(row(FAMILY, "aps_intra_class", ca.intra, note="mean over classes of the within-class APS"))
        rows.append(
            row(FAMILY, "aps_inter_class", ca.inter, note="mean over class pairs of the between-class mean cosine")
        )
        rows += [row(FAMILY, "aps_class", v, key=ctx.ds.class_names[c]) for c, v in ca.per_class.items()]
    else:
        from . import needs_labels_note

        rows.append(row(FAMILY, "aps_intra_class", note=needs_labels_note(ctx.ds)))
    try:
        ce = cluster_entropy(Uk, seed=ctx.rng(FAMILY))
        rows.append(row(FAMILY, "cluster_entropy", ce.entropy, note=f"spherical k-means, k={ce.n_clusters}; nats"))
        rows.append(row(FAMILY, "cluster_entropy_normalized", ce.normalized, note=f"entropy / ln {ce.n_clusters}"))
    except DataError as e:
        rows.append(row(FAMILY, "cluster_entropy", note=f"not computed: {e}"))
    if ctx.texts is not None:
        from .concepts import vocabulary_size

        rows.append(
            row(
                FAMILY,
                "vocabulary_size",
                vocabulary_size(ctx.texts),
                note=f"distinct lowercased words in {ctx.text_col!r}",
            )
        )
    return rows
