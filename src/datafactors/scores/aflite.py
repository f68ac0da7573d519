"""AFLite (Sakaguchi et al., WinoGrande 2020; Le Bras et al., 2020): adversarial filtering
of examples whose labels a linear model predicts too easily from their embeddings.

The pure function :func:`aflite` works on arrays; the registered ``aflite`` scorer wires
it to a Dataset, and :func:`aflite_filtered_indices` gives the kept rows for a selector.
The 64-model ensemble of each round is fitted at once: the train/held-out split of
every model is a column of one mask over the remaining examples, so a single matrix
product evaluates all models, and a batched L-BFGS (each model with its own history and
step size) minimizes the L2-regularized softmax losses together.
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from .._validation import SeedLike, check_random_state
from ..dataset import Dataset
from .base import ScoreColumn, Scorer, register

# ---------------------------------------------------------------- validation


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _check_xy(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    try:
        Xa = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError("X must be a numeric (n_examples, n_features) array") from None
    if Xa.ndim != 2:
        raise DataError(f"X must be 2-D (n_examples, n_features), got shape {Xa.shape}")
    if Xa.shape[0] < 2 or Xa.shape[1] < 1:
        raise DataError(f"X must have at least 2 examples and 1 feature, got shape {Xa.shape}")
    if not np.isfinite(Xa).all():
        r, c = np.argwhere(~np.isfinite(Xa))[0]
        raise DataError(f"X contains NaN or inf ({int((~np.isfinite(Xa)).sum())} values, first at row {r}, column {c})")
    ya = np.asarray(y)
    if ya.ndim != 1 or len(ya) != len(Xa):
        raise DataError(f"y must have shape ({len(Xa)},), got {ya.shape}")
    if ya.dtype.kind == "f" and not np.isfinite(ya).all():
        raise DataError("y contains NaN or inf")
    try:
        classes, yi = np.unique(ya, return_inverse=True)
    except TypeError:
        raise DataError("y mixes label types that cannot be compared") from None
    if len(classes) < 2:
        raise DataError(f"y has {len(classes)} class ({classes[0]!r}), AFLite needs at least 2")
    return Xa, yi.astype(np.int64)


def _resolve_m(m: Any, n_examples: int) -> int:
    """``m`` as a count in [1, n_examples) or a fraction in (0, 1) of ``n_examples``."""
    if _is_int(m):
        mm = int(m)
        if not 1 <= mm < n_examples:
            raise ConfigError(f"m == {mm}, must be >= 1 and < the number of examples ({n_examples})")
        return mm
    if _is_real(m) and 0 < float(m) < 1:
        mm = max(1, int(round(float(m) * n_examples)))
        if mm >= n_examples:
            raise ConfigError(f"m == {m} gives {mm} training examples, must be < the number of examples ({n_examples})")
        return mm
    raise ConfigError(f"m == {m!r}, must be an int count >= 1 or a float fraction in (0, 1)")


def _check_params(n: Any, k: Any, tau: Any, C: Any, max_iter: Any, tol: Any, n_threads: Any) -> None:
    for name, v in (("n", n), ("k", k), ("max_iter", max_iter), ("n_threads", n_threads)):
        if not _is_int(v) or v < 1:
            raise ConfigError(f"{name} == {v!r}, must be an int >= 1")
    if not _is_real(tau) or not 0.0 <= float(tau) <= 1.0:
        raise ConfigError(f"tau == {tau!r}, must be a number in [0, 1]")
    for name, v in (("C", C), ("tol", tol)):
        if not _is_real(v) or not 0 < float(v) < np.inf:
            raise ConfigError(f"{name} == {v!r}, must be a finite number > 0")


# ---------------------------------------------------------------- batched linear models


def _fit_ensemble(
    torch: Any,
    Xb: Any,
    y: Any,
    train: Any,
    n_classes: int,
    m: int,
    C: float,
    max_iter: int,
    tol: float,
    history: int = 10,
) -> Any:
    """Fit one L2-regularized linear softmax classifier per column of ``train`` at once.

    Parameters
    ----------
    Xb : (N, p) float32 features with a trailing column of ones (the intercept).
    y : (N,) int64 labels in [0, n_classes).
    train : (N, n_models) float32, 1 where the example is in that model's training set.
    m : training-set size of every model.
    C : inverse regularization strength, as scikit-learn's: each model minimizes
        ``mean training cross-entropy + ||w||^2 / (2 C m)`` (intercept not penalized),
        the same minimizer as scikit-learn's ``C * sum(loss) + ||w||^2 / 2``.

    Returns the (N, n_models, K) logits of every model on every example (K = 1 for
    two classes: a single logit, as binary logistic regression).

    A batched L-BFGS: each model keeps its own curvature pairs and its own
    backtracking (Armijo) step; a model stops when its largest gradient entry is below
    ``tol`` (scikit-learn's lbfgs criterion). Trial logits along a direction are
    ``Z + t * (X d)``, so a step costs two matrix products however many halvings it takes.
    """
    N, p = Xb.shape
    n_models = train.shape[1]
    K = 1 if n_classes == 2 else n_classes
    lam = 1.0 / (C * m)
    pen = torch.ones(p, 1, 1, dtype=Xb.dtype)
    pen[-1] = 0.0  # no penalty on the intercept
    if K == 1:
        target = y.to(Xb.dtype)[:, None]
    else:
        onehot = torch.nn.functional.one_hot(y, n_classes).to(Xb.dtype)[:, None, :]
    w_train = train / m

    def loss_resid(Z: Any, W: Any, need_resid: bool) -> tuple[Any, Any]:
        Z3 = Z.view(N, n_models, K)
        if K == 1:
            z = Z3[..., 0]
            elem = torch.nn.functional.softplus(z) - target * z
            resid = (torch.sigmoid(z) - target)[..., None] if need_resid else None
        else:
            lse = torch.logsumexp(Z3, dim=-1)
            elem = lse - (Z3 * onehot).sum(-1)
            resid = torch.softmax(Z3, dim=-1) - onehot if need_resid else None
        f = (w_train * elem).sum(0) + 0.5 * lam * (pen * W.view(p, n_models, K) ** 2).sum((0, 2))
        return f, resid

    def gradient(resid: Any, W: Any) -> Any:
        G = (resid * w_train[..., None]).reshape(N, n_models * K)
        return Xb.T @ G + lam * (pen * W.view(p, n_models, K)).reshape(p, n_models * K)

    def mdot(a: Any, b: Any) -> Any:  # per-model inner product -> (n_models,)
        return (a.view(p, n_models, K) * b.view(p, n_models, K)).sum((0, 2))

    def per_col(v: Any) -> Any:  # (n_models,) -> broadcastable over (p, n_models * K)
        return v.repeat_interleave(K)[None, :]

    W = torch.zeros(p, n_models * K, dtype=Xb.dtype)
    Z = torch.zeros(N, n_models * K, dtype=Xb.dtype)
    f, resid = loss_resid(Z, W, True)
    g = gradient(resid, W)
    S: list[Any] = []
    Yh: list[Any] = []
    rho: list[Any] = []
    # A model whose line search finds no decrease has hit float32 resolution: it stops
    # there (scipy's lbfgs ends the same way, "abnormal termination in line search").
    stalled = torch.zeros(n_models, dtype=torch.bool)
    for _ in range(max_iter):
        gmax = g.abs().view(p, n_models, K).amax((0, 2))
        active = (gmax > tol) & ~stalled
        if not bool(active.any()):
            break
        # Two-loop recursion, per model.
        q = g.clone()
        alphas = []
        for s_i, y_i, r_i in zip(reversed(S), reversed(Yh), reversed(rho), strict=True):
            a_i = r_i * mdot(s_i, q)
            alphas.append(a_i)
            q -= per_col(a_i) * y_i
        if S:
            sy, yy = mdot(S[-1], Yh[-1]), mdot(Yh[-1], Yh[-1])
            gamma = torch.where((sy > 0) & (yy > 0), sy / yy.clamp_min(1e-30), torch.ones_like(sy))
        else:
            gamma = 1.0 / torch.clamp(g.abs().view(p, n_models, K).sum((0, 2)), min=1.0)
        q *= per_col(gamma)
        for s_i, y_i, r_i, a_i in zip(S, Yh, rho, reversed(alphas), strict=True):
            beta = r_i * mdot(y_i, q)
            q += per_col(a_i - beta) * s_i
        d = -q
        gd = mdot(g, d)
        bad = gd >= 0  # not a descent direction: restart that model on steepest descent
        if bool(bad.any()):
            d = torch.where(per_col(bad).bool(), -g, d)
            gd = mdot(g, d)
        d *= per_col(active.to(d.dtype))
        gd = torch.where(active, gd, torch.zeros_like(gd))
        Zd = Xb @ d
        t = torch.ones(n_models, dtype=Xb.dtype)
        for _ in range(30):
            f_new, _ = loss_resid(Z + per_col(t) * Zd, W + per_col(t) * d, False)
            ok = (f_new <= f + 1e-4 * t * gd) | ~active
            if bool(ok.all()):
                break
            t = torch.where(ok, t, 0.5 * t)
        else:
            t = torch.where(ok, t, torch.zeros_like(t))
            stalled |= ~ok
        s_new = per_col(t) * d
        W = W + s_new
        Z = Z + per_col(t) * Zd
        f, resid = loss_resid(Z, W, True)
        g_new = gradient(resid, W)
        y_new = g_new - g
        sy = mdot(s_new, y_new)
        S.append(s_new)
        Yh.append(y_new)
        rho.append(torch.where(sy > 1e-10, 1.0 / sy.clamp_min(1e-10), torch.zeros_like(sy)))
        if len(S) > history:
            S.pop(0), Yh.pop(0), rho.pop(0)
        g = g_new
    return Z.view(N, n_models, K)


# ---------------------------------------------------------------- AFLite


@dataclass
class AFLiteResult:
    """The outcome of :func:`aflite_filter`.

    Attributes
    ----------
    kept : (n_kept,) int64 sorted row indices that survived filtering.
    predictability : (n_examples,) float64 in [0, 1]; see :func:`aflite`.
    removed_round : (n_examples,) int64, the round (1-based) an example was removed in,
        0 for kept examples.
    rounds : one row per round: ``round``, ``n_before``, ``n_qualifying`` (predictability
        >= tau), ``n_removed``, ``seconds``.
    m : the training-set size used (``m`` resolved to a count).
    """

    kept: np.ndarray
    predictability: np.ndarray
    removed_round: np.ndarray
    rounds: pd.DataFrame
    m: int


def aflite_filter(
    X: Any,
    y: Any,
    n: int = 64,
    m: int | float = 0.25,
    k: int = 500,
    tau: float = 0.75,
    seed: SeedLike = 0,
    *,
    C: float = 1.0,
    max_iter: int = 100,
    tol: float = 1e-4,
    n_threads: int = 1,
) -> AFLiteResult:
    """:func:`aflite` with the per-round record (see there for the parameters)."""
    Xa, yi = _check_xy(X, y)
    _check_params(n, k, tau, C, max_iter, tol, n_threads)
    N = len(Xa)
    mm = _resolve_m(m, N)
    rng = check_random_state(seed)

    import torch

    # Standardize once on all examples so the penalty treats features alike.
    mean = Xa.mean(axis=0)
    sd = Xa.std(axis=0)
    Xs = (Xa - mean) / np.where(sd > 1e-12, sd, 1.0)
    Xb_all = torch.from_numpy(np.hstack([Xs, np.ones((N, 1))]).astype(np.float32))
    y_all = torch.from_numpy(yi)
    n_classes = int(yi.max()) + 1

    pred = np.zeros(N)
    removed_round = np.zeros(N, dtype=np.int64)
    alive = np.arange(N)
    rows = []
    prev_threads = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        rnd = 0
        while len(alive) > mm:
            rnd += 1
            t0 = time.perf_counter()
            nd = len(alive)
            # Model j trains on the m examples with the smallest keys in column j.
            keys = rng.random((nd, n))
            train_idx = np.argpartition(keys, mm - 1, axis=0)[:mm]
            train = np.zeros((nd, n), dtype=np.float32)
            np.put_along_axis(train, train_idx, 1.0, axis=0)
            Z = _fit_ensemble(
                torch,
                Xb_all[alive],
                y_all[alive],
                torch.from_numpy(train),
                n_classes,
                mm,
                float(C),
                int(max_iter),
                float(tol),
            )
            labels = (Z[..., 0] > 0).long() if Z.shape[-1] == 1 else Z.argmax(-1)
            correct = (labels == y_all[alive][:, None]).numpy()
            held_out = train == 0
            n_val = held_out.sum(axis=1)
            n_right = (correct & held_out).sum(axis=1)
            seen = n_val > 0  # an example never held out keeps its previous value
            pred[alive[seen]] = n_right[seen] / n_val[seen]
            p_alive = pred[alive]
            qualify = np.flatnonzero(p_alive >= tau)
            # Highest predictability first; ties broken at random (not by row order).
            order = qualify[np.lexsort((rng.random(len(qualify)), -p_alive[qualify]))]
            drop = order[:k]
            removed_round[alive[drop]] = rnd
            alive = np.delete(alive, drop)
            rows.append((rnd, nd, len(qualify), len(drop), time.perf_counter() - t0))
            # Le Bras et al., Algorithm 1: remove up to k, stop once fewer than k qualified.
            if len(qualify) < k:
                break
    finally:
        torch.set_num_threads(prev_threads)
    rounds = pd.DataFrame(rows, columns=["round", "n_before", "n_qualifying", "n_removed", "seconds"])
    return AFLiteResult(np.sort(alive).astype(np.int64), pred, removed_round, rounds, mm)


def aflite(
    X: Any,
    y: Any,
    n: int = 64,
    m: int | float = 0.25,
    k: int = 500,
    tau: float = 0.75,
    seed: SeedLike = 0,
    *,
    C: float = 1.0,
    max_iter: int = 100,
    tol: float = 1e-4,
    n_threads: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """AFLite: repeatedly remove the examples a linear model predicts too easily.

    While more than ``m`` examples remain: split them ``n`` times at random into a
    training part of ``m`` examples and a held-out rest; fit a linear classifier on each
    training part; an example's predictability is the fraction of the models that held
    it out and classified it correctly. Remove the (up to) ``k`` most predictable
    examples among those with predictability >= ``tau``; stop once fewer than ``k``
    qualified (Le Bras et al. 2020, Algorithm 1), or when ``m`` or fewer remain.

    Parameters
    ----------
    X : (n_examples, n_features) embeddings (standardized internally).
    y : (n_examples,) labels (any sortable values, at least two classes).
    n : ensemble size per round (the paper: 64).
    m : training-set size per model: an int count in [1, n_examples) or a float
        fraction in (0, 1) of n_examples. Default 0.25; WinoGrande used 10,000 of ~47k
        (0.21). Also the size at which filtering stops.
    k : most examples removed per round (the paper: 500).
    tau : predictability threshold for removal (the paper: 0.75).
    seed : int or numpy Generator for the splits and tie-breaking; nothing reads global
        random state.
    C : inverse L2 strength of each logistic regression (scikit-learn's meaning).
    max_iter, tol : L-BFGS limits per model (scikit-learn's lbfgs defaults).
    n_threads : torch threads used while fitting, fixed so that results do not depend
        on the machine's default (one thread was fastest on a 2-core VM).

    Returns
    -------
    kept_idx : (n_kept,) int64 sorted row indices of the filtered (harder) set.
    predictability : (n_examples,) float64 in [0, 1], never NaN. A removed example keeps
        its value from the round that removed it; a kept example has its value from the
        last round, or from the latest round it was held out in if the last round never
        held it out; an example never held out at all has 0 (no evidence, never removed).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 400)
    >>> X = np.c_[rng.normal(size=(400, 5)), np.where(np.arange(400) < 200, 2.0 * y - 1, 0.0)]
    >>> kept, p = aflite(X, y, n=16, m=100, k=50, seed=0)
    >>> bool((kept >= 200).mean() > 0.8)  # the rows carrying the shortcut are gone first
    True
    """
    res = aflite_filter(X, y, n, m, k, tau, seed, C=C, max_iter=max_iter, tol=tol, n_threads=n_threads)
    return res.kept, res.predictability


def aflite_filtered_indices(
    ds: Dataset, *, embeddings: np.ndarray | None = None, seed: SeedLike = 0, **kwargs: Any
) -> np.ndarray:
    """Row indices of ``ds`` that AFLite keeps (on ``embeddings``, default ``ds.X``).

    ``kwargs`` go to :func:`aflite` (``n``, ``m``, ``k``, ``tau``, ``C``, ...).
    """
    if not isinstance(ds, Dataset):
        raise DataError(f"expected a datafactors.Dataset, got {type(ds).__name__}")
    X = ds.X if embeddings is None else _check_embeddings(embeddings, ds.n)
    kept, _ = aflite(X, ds.y, seed=seed, **kwargs)
    return kept


def _check_embeddings(embeddings: Any, n: int) -> np.ndarray:
    E = np.asarray(embeddings)
    if E.ndim != 2 or E.shape[0] != n:
        raise DataError(f"embeddings must have shape ({n}, d), got {E.shape}")
    return E


# ---------------------------------------------------------------- registered scorer


@register
class AFLiteScorer(Scorer):
    """AFLite predictability on ``embeddings`` (default ``ds.X``); no training dynamics.

    Parameters are those of :func:`aflite` (``n``, ``m``, ``k``, ``tau``, ``C``, ``max_iter``, ``tol``, ``n_threads``).
    On the smallest inputs each model trains on a single example, predicts its class
    for the other one and is wrong, so both get predictability 0 and nothing is removed.
    """

    name = "aflite"
    columns = (
        ScoreColumn(
            "aflite_predictability",
            "easier",
            0.0,
            1.0,
            "AFLite: fraction of held-out linear models that classify the example right (higher = more biased/easier)",
        ),
    )

    def __init__(
        self,
        n: int = 64,
        m: int | float = 0.25,
        k: int = 500,
        tau: float = 0.75,
        C: float = 1.0,
        max_iter: int = 100,
        tol: float = 1e-4,
        n_threads: int = 1,
    ) -> None:
        self.n, self.m, self.k, self.tau, self.C = n, m, k, tau, C
        self.max_iter, self.tol, self.n_threads = max_iter, tol, n_threads

    def check(self) -> None:
        _check_params(self.n, self.k, self.tau, self.C, self.max_iter, self.tol, self.n_threads)
        if not (_is_int(self.m) and self.m >= 1) and not (_is_real(self.m) and not _is_int(self.m) and 0 < self.m < 1):
            raise ConfigError(f"m == {self.m!r}, must be an int count >= 1 or a float fraction in (0, 1)")

    def score(self, ds, *, dynamics=None, embeddings=None, seed=0) -> pd.DataFrame:
        X = ds.X if embeddings is None else _check_embeddings(embeddings, ds.n)
        _, pred = aflite(
            X,
            ds.y,
            self.n,
            self.m,
            self.k,
            self.tau,
            seed,
            C=self.C,
            max_iter=self.max_iter,
            tol=self.tol,
            n_threads=self.n_threads,
        )
        return self._frame(ds, {"aflite_predictability": pred})


__all__ = ["AFLiteResult", "AFLiteScorer", "aflite", "aflite_filter", "aflite_filtered_indices"]
