"""Inductive bias a task needs: Boopathy et al. (2023) bits, and the exact inductive bias (2024) in nats.

``inductive_bias_bits`` is the 2023 formula term for term (see shared METHODS.md);
``task_inductive_bias_bits`` fills its inputs for a classification dataset the way
the authors' code does (R = max norm, m = rounded MLE intrinsic dimension, delta =
minimum distance between examples of different classes, prod_d = #classes,
D = #classes - 1, B = 1). ``exact_inductive_bias`` samples hypotheses that fit the
training data from a Gaussian-process (RBF kernel) posterior, records their test
MSE, fits a non-central chi-square and returns -ln CDF(target error).
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np

from .._errors import ConfigError, DataError
from .._neighbors import knn
from .._validation import SeedLike, check_random_state
from . import family, row
from ._context import ProfileContext

FAMILY = "inductive_bias"
DELTA_MAX_POINTS = 20_000
EXACT_MAX_TRAIN = 1000
EXACT_MAX_TEST = 200
EXACT_SAMPLES = 1000


def _positive(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ConfigError(f"{name} == {value!r}, must be a finite number > 0")
    return v


class Bits(NamedTuple):
    bits: float
    log10_bits: float
    dim_theta: float
    log_ratio: float
    K: float


def _bits_terms(error: float, n: float, m: float, R: float, prod_d: float, delta: float, D: float, B: float) -> Bits:
    from scipy.special import gammaln, loggamma

    for name, v in (
        ("error", error),
        ("n", n),
        ("m", m),
        ("R", R),
        ("prod_d", prod_d),
        ("delta", delta),
        ("D", D),
        ("B", B),
    ):
        _positive(name, v)
    # log W: the log Wasserstein term; its "d" is prod_d, as in the authors' code.
    log_w = (
        0.5 * math.log(m / 6)
        + (math.log(2) + (m + 1) / 2 * math.log(math.pi) + math.log(prod_d) - float(np.real(loggamma((m + 1) / 2)))) / m
        + math.log(R)
        - math.log(n) / m
    )
    M = 2 * math.pi * R / delta
    K = (math.sqrt((m - 1) ** 2 + 4 * M * M) - (m - 1)) / 2
    # N_eig = C(m+K, m) + C(m+K-1, m), in logs so that large tasks do not overflow.
    l1 = gammaln(m + K + 1) - gammaln(m + 1) - gammaln(K + 1)
    l2 = gammaln(m + K) - gammaln(m + 1) - gammaln(K) if K > 0 else -math.inf
    log_neig = float(np.logaddexp(l1, l2))
    L_f = K * math.sqrt(D) / R
    log_ratio = (
        math.log2(B)
        + 0.5 * math.log2(D)
        + 0.5 * math.log2(prod_d)
        - math.log2(error)
        + math.log2(L_f)
        + log_w / math.log(2)
    )
    log_first = math.log(2 * D * prod_d) + log_neig  # ln(2 D prod_d N_eig)
    second = n * D
    if log_first > math.log(second) + 40:
        log_dim = log_first  # n D is negligible next to the first term
        dim_theta = math.exp(log_first) if log_first < 709 else math.inf
    else:
        dim_theta = math.exp(log_first) - second
        log_dim = math.log(dim_theta) if dim_theta > 0 else math.nan
    bits = dim_theta * log_ratio if math.isfinite(dim_theta) else math.copysign(math.inf, log_ratio)
    log10 = (log_dim / math.log(10) + math.log10(log_ratio)) if (log_ratio > 0 and math.isfinite(log_dim)) else math.nan
    return Bits(bits, log10, dim_theta, log_ratio, K)


def inductive_bias_bits(
    error: float, n: float, m: float, R: float, prod_d: float, delta: float, D: float, B: float = 1.0
) -> float:
    """Boopathy et al. (2023): bits of inductive bias needed to generalize to ``error``.

    ``bits = dimTheta * [log2 B + 0.5 log2 D + 0.5 log2 prod_d - log2 eps + log2 L_f + logW / ln 2]``
    with ``M = 2 pi R / delta``, ``K = (sqrt((m-1)^2 + 4 M^2) - (m-1)) / 2``,
    ``N_eig = C(m+K, m) + C(m+K-1, m)``, ``L_f = K sqrt(D) / R``,
    ``logW = 0.5 ln(m/6) + [ln 2 + ((m+1)/2) ln pi + ln prod_d - lnGamma((m+1)/2)] / m + ln R - ln(n) / m``,
    ``dimTheta = 2 D prod_d N_eig - n D``.

    Parameters
    ----------
    error : target error rate eps; n : training-set size; m : intrinsic dimension;
    R : maximum norm of an input; prod_d : number of discrete output combinations
    (#classes); delta : minimum distance between classes; D : output dimension
    (#classes - 1); B : bound on the output's L-infinity norm.

    Returns
    -------
    float bits (``inf`` when the count overflows; negative when the training set
    alone pins the hypothesis down).

    Examples
    --------
    MNIST with the paper's inputs (eps 0.001, m 14): about 1.49e16 bits.

    >>> b = inductive_bias_bits(0.001, 60000, 14, 17.179045827183984, 10, 2.3987084824335305, 9)
    >>> f"{b:.4g}"
    '1.485e+16'
    """
    return _bits_terms(error, n, m, R, prod_d, delta, D, B).bits


def min_interclass_distance(
    X: np.ndarray, y: np.ndarray, *, max_points: int = DELTA_MAX_POINTS, min_distance: float = 0.0, seed: SeedLike = 0
) -> float:
    """Smallest Euclidean distance between two examples of different classes.

    Exact on up to ``max_points`` rows (blockwise, never an n x n matrix); above that
    on a uniform sample of ``max_points`` rows, as the authors' ``sample_delta``
    does (the sample minimum is an upper bound of the full minimum). Pairs at
    distance <= ``min_distance`` (identical inputs with different labels) are
    skipped: they make the task's resolution 0.

    Examples
    --------
    >>> min_interclass_distance(np.array([[0.0], [1.0], [3.0]]), np.array([0, 0, 1]))
    2.0
    """
    A = np.asarray(X, dtype=np.float32)
    yy = np.asarray(y)
    if A.ndim != 2 or yy.shape != (len(A),):
        raise DataError(f"X must be (n, d) and y (n,), got {A.shape} and {yy.shape}")
    if len(np.unique(yy)) < 2:
        raise DataError("min inter-class distance needs at least 2 classes")
    idx = np.arange(len(A))
    if len(A) > max_points:
        idx = np.sort(check_random_state(seed).choice(len(A), max_points, replace=False))
    S, ys = A[idx], yy[idx]
    if len(np.unique(ys)) < 2:
        raise DataError("the sample holds a single class")

    classes = np.unique(ys)
    if len(classes) <= 50:
        # one search per class against the other classes: no per-block masking
        best = math.inf
        for c in classes:
            dist, _ = knn(S[ys != c], 4, queries=S[ys == c], metric="l2")
            dist = dist[dist > min_distance]
            if dist.size:
                best = min(best, float(dist.min()))
    else:

        def same_class(qs: slice, bs: slice) -> np.ndarray:
            return ys[qs][:, None] == ys[bs][None, :]

        dist, _ = knn(S, 4, metric="l2", mask=same_class)
        dist = dist[dist > min_distance]
        best = float(dist.min()) if dist.size else math.inf
    if not math.isfinite(best):
        raise DataError(f"no two examples of different classes are more than {min_distance} apart")
    return best


def task_inductive_bias_bits(
    X: np.ndarray,
    y: np.ndarray,
    error: float = 0.01,
    *,
    m: float | None = None,
    delta: float | None = None,
    seed: SeedLike = 0,
) -> dict[str, float]:
    """Inductive-bias bits of a classification dataset, inputs filled as in the authors' code.

    Returns
    -------
    dict with ``bits``, ``log10_bits``, ``m`` (rounded MLE intrinsic dimension unless
    given), ``R``, ``delta``, ``n``, ``n_classes``, ``error``.
    """
    from .intrinsic import intrinsic_dimension

    A = np.asarray(X, dtype=np.float32)
    yy = np.asarray(y)
    C = len(np.unique(yy))
    if C < 2:
        raise DataError("inductive-bias bits need at least 2 classes")
    R = float(np.sqrt(np.einsum("ij,ij->i", A, A, dtype=np.float64)).max())
    if m is None:
        m = float(max(1.0, np.round(intrinsic_dimension(A, 5, seed=seed))))
    if delta is None:
        delta = min_interclass_distance(A, yy, seed=seed)
    t = _bits_terms(error, len(A), m, R, C, delta, C - 1, 1.0)
    return {
        "bits": t.bits,
        "log10_bits": t.log10_bits,
        "m": float(m),
        "R": R,
        "delta": float(delta),
        "n": float(len(A)),
        "n_classes": float(C),
        "error": float(error),
    }


def _sankaran_neg_log_cdf(x: float, df: float, nc: float) -> float:
    """-ln CDF of a non-central chi-square far in its lower tail (Sankaran's normal approximation).

    Used when scipy's logcdf underflows to -inf: the CDF is Phi(z) with z from
    Sankaran's transform (as in the authors' code); ``-log_ndtr(z)`` keeps the
    ``ln(-z sqrt(2 pi))`` term that their ``z^2 / 2`` drops.
    """
    from scipy.special import log_ndtr

    h = 1 - 2 / 3 * (df + nc) * (df + 3 * nc) / (df + 2 * nc) ** 2
    p = (df + 2 * nc) / (df + nc) ** 2
    mm = (h - 1) * (1 - 3 * h)
    z = ((x / (df + nc)) ** h - (1 + h * p * (h - 1 - 0.5 * (2 - h) * mm * p))) / (
        h * math.sqrt(2 * p) * (1 + 0.5 * mm * p)
    )
    return float(-log_ndtr(z))


class NcxFit(NamedTuple):
    nats: float
    df: float
    nc: float
    scale: float


def inductive_bias_from_errors(errors: np.ndarray, target_error: float) -> NcxFit:
    """Fit a scaled non-central chi-square to sampled hypotheses' errors; -ln CDF(target) in nats.

    Parameters
    ----------
    errors : (n_samples,) test errors (MSE) of hypotheses that fit the training data.
    target_error : the error to reach.

    Returns
    -------
    NcxFit(nats, df, nc, scale) from ``scipy.stats.ncx2.fit(errors, floc=0)``.
    """
    from scipy.stats import ncx2

    e = np.asarray(errors, dtype=np.float64)
    if e.ndim != 1 or e.size < 10:
        raise DataError(f"errors must be 1-D with at least 10 samples, got shape {e.shape}")
    if not np.isfinite(e).all() or (e <= 0).any():
        raise DataError("errors must be finite and > 0")
    _positive("target_error", target_error)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        df, nc, _, scale = ncx2.fit(e, floc=0)
        nats = float(-ncx2.logcdf(target_error, df, nc, loc=0, scale=scale))
    if not math.isfinite(nats):
        nats = _sankaran_neg_log_cdf(target_error / scale, df, nc)
    return NcxFit(nats, float(df), float(nc), float(scale))


class ExactInductiveBias(NamedTuple):
    nats: float
    target_error: float
    errors: np.ndarray
    df: float
    nc: float
    scale: float
    sigma: float
    n_train: int
    n_test: int


def _rbf(A: np.ndarray, B: np.ndarray, sigma: float) -> np.ndarray:
    d2 = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2 * A @ B.T
    return np.exp(-np.clip(d2, 0, None) / (2 * sigma * sigma))


def exact_inductive_bias(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    *,
    target_error: float | None = None,
    n_samples: int = EXACT_SAMPLES,
    sigma: float | None = None,
    max_train: int = EXACT_MAX_TRAIN,
    max_test: int = EXACT_MAX_TEST,
    n_classes: int | None = None,
    seed: SeedLike = 0,
) -> ExactInductiveBias:
    """Exact inductive bias (Boopathy et al., 2024) with an RBF-kernel hypothesis space, in nats.

    Hypotheses that fit the training data are draws from the Gaussian-process
    posterior (RBF kernel, prior variance 1 per output) given the one-hot training
    targets; each draw's test MSE is recorded, a non-central chi-square is fitted to
    those errors (``ncx2.fit(errors, floc=0)``) and the bias is ``-ln CDF(target)``.

    Parameters
    ----------
    X_train, y_train, X_test, y_test : arrays; y are class indices.
    target_error : MSE to reach; default half the test MSE of predicting the
        training class shares (so the target scales with the number of classes).
    n_samples : hypotheses drawn.
    sigma : kernel width; default the median distance between training points.
    max_train, max_test : uniform subsamples (the posterior costs O(n_train^3)).

    Returns
    -------
    ExactInductiveBias(nats, target_error, errors (n_samples,), df, nc, scale, sigma, n_train, n_test)
    """
    rng = check_random_state(seed)
    Xa, Xb = np.asarray(X_train), np.asarray(X_test)
    ya, yb = np.asarray(y_train).astype(np.int64), np.asarray(y_test).astype(np.int64)
    if Xa.ndim != 2 or Xb.ndim != 2 or Xa.shape[1] != Xb.shape[1]:
        raise DataError(f"X_train and X_test must be 2-D with the same width, got {Xa.shape} and {Xb.shape}")
    if len(ya) != len(Xa) or len(yb) != len(Xb):
        raise DataError("y_train / y_test lengths must match X_train / X_test rows")
    if len(Xa) < 2 or len(Xb) < 1:
        raise DataError("exact inductive bias needs at least 2 training and 1 test example")
    if len(Xa) > max_train:
        i = np.sort(rng.choice(len(Xa), max_train, replace=False))
        Xa, ya = Xa[i], ya[i]
    if len(Xb) > max_test:
        i = np.sort(rng.choice(len(Xb), max_test, replace=False))
        Xb, yb = Xb[i], yb[i]
    Xa, Xb = Xa.astype(np.float64), Xb.astype(np.float64)
    C = int(n_classes or max(ya.max(), yb.max()) + 1)
    Ya, Yb = np.eye(C)[ya], np.eye(C)[yb]
    if sigma is None:
        sq = (Xa * Xa).sum(1)
        d2 = sq[:, None] + sq[None, :] - 2 * Xa @ Xa.T
        off = np.sqrt(np.clip(d2[np.triu_indices(len(Xa), 1)], 0, None))
        sigma = float(np.median(off[off > 0])) if (off > 0).any() else 1.0
    sigma = _positive("sigma", sigma)
    Kaa = _rbf(Xa, Xa, sigma)
    Kba = _rbf(Xb, Xa, sigma)
    Kbb = _rbf(Xb, Xb, sigma)
    jitter = 1e-8 * len(Xa)
    from scipy.linalg import cho_factor, cho_solve

    while True:
        try:
            cf = cho_factor(Kaa + jitter * np.eye(len(Xa)), lower=True)
            break
        except np.linalg.LinAlgError:
            jitter *= 10
            if jitter > 1e-1:
                raise DataError("the training kernel matrix is singular (duplicate inputs?)") from None
    mean = Kba @ cho_solve(cf, Ya)  # (n_test, C)
    cov = Kbb - Kba @ cho_solve(cf, Kba.T)
    w, V = np.linalg.eigh((cov + cov.T) / 2)
    root = (V * np.sqrt(np.clip(w, 0, None))) @ V.T
    Z = rng.standard_normal((len(Xb), C * n_samples))
    draws = mean[:, :, None] + (root @ Z).reshape(len(Xb), C, n_samples)
    errors = ((draws - Yb[:, :, None]) ** 2).mean(axis=(0, 1))
    if target_error is None:
        prior = Ya.mean(axis=0)
        target_error = 0.5 * float(((prior[None, :] - Yb) ** 2).mean())
    fit = inductive_bias_from_errors(errors, target_error)
    return ExactInductiveBias(fit.nats, float(target_error), errors, fit.df, fit.nc, fit.scale, sigma, len(Xa), len(Xb))


@family(
    FAMILY, description="Boopathy et al. bits (2023) and the exact inductive bias in nats (2024)", needs_labels=True
)
def inductive_bias(ctx: ProfileContext) -> list[dict]:
    from .intrinsic import cached_intrinsic_dimension

    ds = ctx.ds
    rows = []
    eps = ctx.epsilon
    try:
        m_raw, _ = cached_intrinsic_dimension(ctx)
        t = task_inductive_bias_bits(ctx.X, ds.y, eps, m=float(max(1.0, np.round(m_raw))), seed=ctx.rng(FAMILY))
        sample = f" on a {DELTA_MAX_POINTS}-row sample" if ds.n > DELTA_MAX_POINTS else ""
        rows.append(
            row(
                FAMILY,
                "inductive_bias_bits",
                t["bits"],
                note=f"Boopathy et al. 2023 formula, eps={eps:g}, B=1, prod_d=#classes, D=#classes-1",
            )
        )
        rows.append(row(FAMILY, "inductive_bias_log10_bits", t["log10_bits"]))
        rows.append(row(FAMILY, "inductive_bias_input", t["m"], key="m", note="rounded MLE intrinsic dimension"))
        rows.append(row(FAMILY, "inductive_bias_input", t["R"], key="R", note="largest input norm"))
        rows.append(
            row(
                FAMILY,
                "inductive_bias_input",
                t["delta"],
                key="delta",
                note=f"smallest positive distance between classes{sample}",
            )
        )
    except DataError as e:
        rows.append(row(FAMILY, "inductive_bias_bits", note=f"not computed: {e}"))
    rng = ctx.rng(FAMILY + "-exact")
    if ctx.test is not None and ctx.test_X is not None:
        Xa, ya, Xb, yb = ctx.X, ds.y, ctx.test_X, ctx.test.y
        where = "the given test set"
    else:
        perm = rng.permutation(ds.n)[: EXACT_MAX_TRAIN + EXACT_MAX_TEST]
        cut = max(1, len(perm) // 6)
        Xa, ya, Xb, yb = ctx.X[perm[cut:]], ds.y[perm[cut:]], ctx.X[perm[:cut]], ds.y[perm[:cut]]
        where = f"{cut} held-out training rows"
    try:
        ex = exact_inductive_bias(Xa, ya, Xb, yb, n_classes=ds.n_classes, seed=rng)
        rows.append(
            row(
                FAMILY,
                "exact_inductive_bias_nats",
                ex.nats,
                note=(
                    f"RBF-kernel GP posterior, {len(ex.errors)} hypotheses, {ex.n_train} train / "
                    f"{ex.n_test} test rows from {where}; target MSE {ex.target_error:.4g} "
                    "(half the class-prior predictor's)"
                ),
            )
        )
    except DataError as e:
        rows.append(row(FAMILY, "exact_inductive_bias_nats", note=f"not computed: {e}"))
    return rows
