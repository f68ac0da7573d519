"""Item response theory difficulty (1PL / 2PL), an ensemble response matrix, and Glicko-2.

Pure functions on arrays first:

- :func:`irt` fits a 1PL (Rasch) or 2PL model to an items x respondents 0/1 matrix by
  penalized joint maximum likelihood (Newton / Fisher scoring on all parameters at
  once, the ability block eliminated by a Schur complement so one step costs two small
  matrix products). Easy2Hard-Bench reads item difficulty ``b`` off such a fit.
- :func:`irt_ensemble` builds that matrix for a :class:`~datafactors.dataset.Dataset`:
  K diverse cheap models answer every example from held-out folds (model-based
  hardness, as in Easy2Hard and Hase et al.), then fits IRT.
- :func:`glicko2` rates items (and solvers) from an attempt log, following Glickman's
  "Example of the Glicko-2 system" step by step.

Then the registered ``irt`` scorer, which wires :func:`irt_ensemble` to a Dataset.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from .._validation import SeedLike, check_random_state, seed_int
from ..dataset import Dataset
from . import REGISTRY, ScoreColumn, declare

# ---------------------------------------------------------------- IRT: joint maximum likelihood


@dataclass
class IRTResult:
    """A fitted 1PL / 2PL model.

    Attributes
    ----------
    difficulty : (n_items,) float64, ``b``; higher = harder. ``-inf`` for an item every
        respondent solved, ``+inf`` for an item nobody solved (both listed in ``flags``).
    discrimination : (n_items,) float64, ``a`` (> 0). All ones for the 1PL; in the 2PL an
        item whose answers are all the same separates no one and gets 0.
    ability : (n_respondents,) float64, ``theta``; ``+inf`` / ``-inf`` for a respondent who
        solved all / none of the items (listed in ``flags``); 0 for a respondent whose
        items were all flagged (no information left).
    model : "1pl" or "2pl".
    converged : whether the largest parameter change of the last step (of the final
        stage) was below ``tol``.
    n_iter : Newton steps taken (1PL warm start and 2PL together).
    loglik : log-likelihood of the fitted (unflagged) responses at the estimate, no penalty.
    flags : one row per flagged item or respondent: ``kind`` ("item" / "respondent"),
        ``index`` (row or column of ``responses``) and ``reason`` ("all_correct",
        "all_wrong", or "no_informative_items" / "no_informative_respondents" when every
        response left belonged to flagged rows; such an item gets difficulty 0). Empty
        when nothing was flagged.
    responses, respondents : filled by :func:`irt_ensemble`: the (n_items, K) response
        matrix it built and the K model names.
    """

    difficulty: np.ndarray
    discrimination: np.ndarray
    ability: np.ndarray
    model: str
    converged: bool
    n_iter: int
    loglik: float
    flags: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["kind", "index", "reason"]))
    responses: np.ndarray | None = None
    respondents: list[str] | None = None


def _check_responses(responses: Any) -> np.ndarray:
    try:
        R = np.asarray(responses, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError("responses must be a numeric items x respondents array of 0/1 (NaN = missing)") from None
    if R.ndim != 2:
        raise DataError(f"responses must be 2-D (n_items, n_respondents), got shape {R.shape}")
    if R.shape[0] == 0 or R.shape[1] == 0:
        raise DataError(f"responses is empty, got shape {R.shape}; need at least one item and one respondent")
    obs = ~np.isnan(R)
    bad = obs & (R != 0) & (R != 1)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DataError(
            f"responses must be 0/1 (NaN = missing); found {int(bad.sum())} other values, "
            f"first {R[i, j]!r} at item {i}, respondent {j}"
        )
    no_item = ~obs.any(axis=1)
    if no_item.any():
        raise DataError(f"responses: item {int(np.flatnonzero(no_item)[0])} has no observed response (all NaN)")
    no_resp = ~obs.any(axis=0)
    if no_resp.any():
        raise DataError(f"responses: respondent {int(np.flatnonzero(no_resp)[0])} has no observed response (all NaN)")
    return R


def _check_sd(value: Any, name: str, allow_none: bool) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0 < float(value) < np.inf):
        extra = " (or None for no penalty)" if allow_none else ""
        raise ConfigError(f"{name} == {value!r}, must be a finite number > 0{extra}")
    return float(value)


def _flag_extremes(R: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Drop all-correct / all-wrong items and respondents until none is left.

    A perfect or zero score has an infinite maximum-likelihood estimate, and removing
    one row can make another extreme, so (as in Rasch practice) this repeats to a fixed point.
    Returns keep masks and reason codes (0 kept, 1 all correct, 2 all wrong, 3 no informative items).
    """
    n_items, n_resp = R.shape
    obs = ~np.isnan(R)
    Y = np.where(obs, R, 0.0)
    item_reason = np.zeros(n_items, dtype=np.int8)
    resp_reason = np.zeros(n_resp, dtype=np.int8)
    keep_i = np.ones(n_items, dtype=bool)
    keep_j = np.ones(n_resp, dtype=bool)
    while True:
        o = obs[np.ix_(keep_i, keep_j)]
        y = Y[np.ix_(keep_i, keep_j)]
        n_o_i, s_i = o.sum(axis=1), y.sum(axis=1)
        n_o_j, s_j = o.sum(axis=0), y.sum(axis=0)
        ii, jj = np.flatnonzero(keep_i), np.flatnonzero(keep_j)
        changed = False
        for idx, n_o, s, keep, reason in ((ii, n_o_i, s_i, keep_i, item_reason), (jj, n_o_j, s_j, keep_j, resp_reason)):
            allc = (n_o > 0) & (s == n_o)
            allw = (n_o > 0) & (s == 0)
            none = n_o == 0
            for mask, code in ((allc, 1), (allw, 2), (none, 3)):
                if mask.any():
                    keep[idx[mask]] = False
                    reason[idx[mask]] = code
                    changed = True
        if not changed:
            break
    return keep_i, keep_j, item_reason, resp_reason


def _objective(
    theta: np.ndarray,
    b: np.ndarray,
    alpha: np.ndarray,
    Y: np.ndarray,
    Obs: np.ndarray,
    pen: tuple[float, float, float],
    *,
    grad: bool = False,
) -> tuple[float, float, dict[str, np.ndarray] | None]:
    """Penalized log-likelihood, plain log-likelihood and (optionally) the gradient.

    ``eta = exp(alpha) * (theta - b)``; the penalty is
    ``0.5 * (pen[0] * |theta|^2 + pen[1] * |b|^2 + pen[2] * |alpha|^2)`` (Gaussian priors).
    """
    a = np.exp(alpha)
    eta = a[:, None] * (theta[None, :] - b[:, None])
    ll = float(np.sum(Obs * (Y * eta - np.logaddexp(0.0, eta))))
    penalty = 0.5 * (pen[0] * theta @ theta + pen[1] * b @ b + pen[2] * alpha @ alpha)
    if not grad:
        return ll - penalty, ll, None
    r = Obs * (Y - _expit(eta))
    g = {
        "theta": r.T @ a - pen[0] * theta,
        "b": -a * r.sum(axis=1) - pen[1] * b,
        "alpha": (r * eta).sum(axis=1) - pen[2] * alpha,
    }
    return ll - penalty, ll, g


def _expit(x: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(x)


def _newton_fit(
    theta: np.ndarray,
    b: np.ndarray,
    alpha: np.ndarray,
    Y: np.ndarray,
    Obs: np.ndarray,
    pen: tuple[float, float, float],
    two_pl: bool,
    max_iter: int,
    tol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool, int]:
    """Maximize the penalized log-likelihood over (theta, b[, alpha]) jointly.

    Each step solves ``H d = g`` with ``H`` the exact negative Hessian when it is positive
    definite (quadratic convergence near the optimum) and otherwise the Fisher information
    ``J^T W J`` (``J`` = d eta / d params, ``W = p (1 - p)``) plus the prior precisions,
    which always is, so every step is an ascent direction; then step halving until the
    objective does not decrease. Item blocks are 2 x 2 (1 x 1 in the 1PL) and the ability
    block is diagonal, so the system is solved through the (n_respondents x n_respondents)
    Schur complement of the item blocks: two small matrix products per step.
    """
    f, _, _ = _objective(theta, b, alpha, Y, Obs, pen)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is returned
        a = np.exp(alpha)
        eta = a[:, None] * (theta[None, :] - b[:, None])
        p = _expit(eta)
        r = Obs * (Y - p)
        w = Obs * p * (1.0 - p)
        g_t = r.T @ a - pen[0] * theta
        rs = r.sum(axis=1)
        g_b = -a * rs - pen[1] * b
        F_tt = w.T @ (a * a) + pen[0]
        F_bb = a * a * w.sum(axis=1) + pen[1]
        Bb = -w * (a * a)[:, None]  # information between b_i and theta_j
        if two_pl:
            g_a = (r * eta).sum(axis=1) - pen[2] * alpha
            weta = w * eta
            F_aa = (weta * eta).sum(axis=1) + pen[2]
            F_ab = -a * weta.sum(axis=1)
            Ba = weta * a[:, None]
            # The exact Hessian adds the residual times the second derivatives of eta
            # (d2eta/dalpha2 = eta, d2eta/dalpha db = -a, d2eta/dalpha dtheta = a).
            H = (F_aa - (r * eta).sum(axis=1), F_ab + a * rs, F_bb, Ba - r * a[:, None], Bb, F_tt)
            d = _block_solve(*H, g_a, g_b, g_t)
            damp = 0.0
            for _ in range(20):  # Fisher information, damped only if a flat direction has no prior
                if d is not None:
                    break
                d = _block_solve(F_aa + damp, F_ab, F_bb + damp, Ba, Bb, F_tt + damp, g_a, g_b, g_t)
                damp = max(1e-8, 10 * damp)
            d_a, d_b, d_t = d if d is not None else (g_a, g_b, g_t)
        else:
            Cb = Bb / F_bb[:, None]
            S = np.diag(F_tt) - Bb.T @ Cb
            d_t = _solve_spd(S, g_t - Cb.T @ g_b)
            d_b = (g_b - Bb @ d_t) / F_bb
            d_a = np.zeros_like(alpha)
        # A trust cap keeps the first steps from overshooting into saturated regions.
        big = max(np.abs(d_t).max(initial=0.0), np.abs(d_b).max(initial=0.0), np.abs(d_a).max(initial=0.0))
        step = min(1.0, 3.0 / big) if big > 0 else 1.0
        for _ in range(40):
            f_new, _, _ = _objective(theta + step * d_t, b + step * d_b, alpha + step * d_a, Y, Obs, pen)
            if f_new >= f - 1e-12 * max(1.0, abs(f)):
                break
            step *= 0.5
        theta, b, alpha, f = theta + step * d_t, b + step * d_b, alpha + step * d_a, f_new
        if step * big < tol:
            return theta, b, alpha, True, n_iter
    return theta, b, alpha, False, n_iter


def _block_solve(
    H_aa: np.ndarray,
    H_ab: np.ndarray,
    H_bb: np.ndarray,
    Ba: np.ndarray,
    Bb: np.ndarray,
    H_tt: np.ndarray,
    g_a: np.ndarray,
    g_b: np.ndarray,
    g_t: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Solve the 2PL system by the Schur complement; None when it is not positive definite."""
    from scipy.linalg import cho_factor, cho_solve

    det = H_aa * H_bb - H_ab * H_ab
    if not (np.all(H_aa > 0) and np.all(det > 0)):
        return None
    i_aa, i_bb, i_ab = H_bb / det, H_aa / det, -H_ab / det
    Ca = i_aa[:, None] * Ba + i_ab[:, None] * Bb
    Cb = i_ab[:, None] * Ba + i_bb[:, None] * Bb
    S = np.diag(H_tt) - Ba.T @ Ca - Bb.T @ Cb
    h_a = i_aa * g_a + i_ab * g_b
    h_b = i_ab * g_a + i_bb * g_b
    try:
        d_t = cho_solve(cho_factor(S, check_finite=False), g_t - Ba.T @ h_a - Bb.T @ h_b, check_finite=False)
    except np.linalg.LinAlgError:
        return None
    ra, rb = g_a - Ba @ d_t, g_b - Bb @ d_t
    return i_aa * ra + i_ab * rb, i_ab * ra + i_bb * rb, d_t


def _solve_spd(S: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    from scipy.linalg import cho_factor, cho_solve

    try:
        return cho_solve(cho_factor(S, check_finite=False), rhs, check_finite=False)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(S, rhs, rcond=None)[0]


_REASONS = {
    "item": {1: "all_correct", 2: "all_wrong", 3: "no_informative_respondents"},
    "respondent": {1: "all_correct", 2: "all_wrong", 3: "no_informative_items"},
}


def irt(
    responses: Any,
    model: str = "2pl",
    *,
    max_iter: int = 200,
    tol: float = 1e-6,
    prior_sd_ability: float = 1.0,
    prior_sd_difficulty: float | None = 3.0,
    prior_sd_log_discrimination: float | None = 0.5,
) -> IRTResult:
    """Fit a 1PL (Rasch) or 2PL item response model by penalized joint maximum likelihood.

    ``P(respondent j solves item i) = sigmoid(a_i * (theta_j - b_i))`` with ``a_i = 1`` in
    the 1PL. All parameters are fitted together by Newton's method with step halving,
    using the Fisher information wherever the Hessian is not positive definite; a step
    costs two (n_respondents x n_items x n_respondents) products (the 2PL starts from
    the 1PL fit). Light Gaussian priors act as ridge penalties:
    ``theta ~ N(0, prior_sd_ability^2)`` (needed: it pins the location and scale, which the
    likelihood leaves free), ``b ~ N(0, prior_sd_difficulty^2)`` and
    ``log a ~ N(0, prior_sd_log_discrimination^2)``; with 1000 items per respondent and
    200 respondents per item they move estimates little, but they keep items answered by
    few respondents finite and tame the 2PL's known over-dispersion of ``a``.

    Convergence: the largest absolute change of any parameter in one step (after step
    halving) is below ``tol``. After convergence abilities are standardized (mean 0 for
    the 1PL; mean 0 and sd 1 for the 2PL) and item parameters are transformed with them,
    so every fitted probability is unchanged.

    Parameters
    ----------
    responses : (n_items, n_respondents) array of 0/1; NaN marks a missing response.
    model : "1pl" or "2pl".
    max_iter : most Newton steps per stage (the 2PL runs a 1PL stage first).
    tol : convergence threshold on the largest parameter change.
    prior_sd_ability, prior_sd_difficulty, prior_sd_log_discrimination : prior standard
        deviations (None = no penalty; the ability prior cannot be switched off).

    Returns
    -------
    IRTResult with ``difficulty`` (n_items,), ``discrimination`` (n_items,), ``ability``
    (n_respondents,), ``converged``, ``n_iter``, ``loglik`` and ``flags``. Items every
    respondent solved get difficulty ``-inf``, items nobody solved ``+inf``; such items
    (and all-correct / all-wrong respondents, ability ``+-inf``) are excluded from the fit,
    repeatedly until none is left, and listed in ``flags`` — never a silent NaN.

    Raises
    ------
    DataError : non-binary values, not 2-D, empty, or an item / respondent with no response.
    ConfigError : unknown model or bad settings.

    Examples
    --------
    >>> R = np.array([[1, 1, 1, 1, 0], [1, 0, 1, 0, 0], [0, 0, 0, 0, 1.0]])  # items x respondents
    >>> res = irt(R, "1pl")
    >>> np.argsort(res.difficulty)  # solved by 4, 2 and 1 of the 5 respondents
    array([0, 1, 2])
    >>> res.converged, res.flags.empty
    (True, True)
    """
    if model not in ("1pl", "2pl"):
        raise ConfigError(f"model == {model!r}, must be '1pl' or '2pl'")
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ConfigError(f"max_iter == {max_iter!r}, must be an int >= 1")
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not (0 < float(tol) < np.inf):
        raise ConfigError(f"tol == {tol!r}, must be a finite number > 0")
    sd_t = _check_sd(prior_sd_ability, "prior_sd_ability", allow_none=False)
    sd_b = _check_sd(prior_sd_difficulty, "prior_sd_difficulty", allow_none=True)
    sd_a = _check_sd(prior_sd_log_discrimination, "prior_sd_log_discrimination", allow_none=True)
    R = _check_responses(responses)
    import scipy.linalg  # noqa: F401 - load scipy's BLAS so the limit below reaches it
    from threadpoolctl import threadpool_limits

    # The products here are small (n_respondents^2 * n_items); BLAS threads only add
    # overhead (16x slower with 2 threads on a 2-core VM) and run-to-run variation.
    with threadpool_limits(limits=1, user_api="blas"):
        return _compute_irt(R, model, int(max_iter), float(tol), (sd_t, sd_b, sd_a))


def _compute_irt(
    R: np.ndarray, model: str, max_iter: int, tol: float, sds: tuple[float | None, float | None, float | None]
) -> IRTResult:
    n_items, n_resp = R.shape
    keep_i, keep_j, item_reason, resp_reason = _flag_extremes(R)
    pen = tuple(0.0 if s is None else 1.0 / (s * s) for s in sds)
    two_pl = model == "2pl"

    difficulty = np.zeros(n_items)
    discrimination = np.ones(n_items)
    ability = np.zeros(n_resp)
    difficulty[item_reason == 1], difficulty[item_reason == 2] = -np.inf, np.inf
    ability[resp_reason == 1], ability[resp_reason == 2] = np.inf, -np.inf
    if two_pl:
        discrimination[~keep_i] = 0.0
    converged, n_iter, loglik = True, 0, 0.0

    if keep_i.any() and keep_j.any():
        sub = R[np.ix_(keep_i, keep_j)]
        Obs = (~np.isnan(sub)).astype(np.float64)
        Y = np.nan_to_num(sub, nan=0.0)
        # Start from logits of the raw proportions (the 1PL's sufficient statistics).
        p_j = np.clip(Y.sum(0) / Obs.sum(0), 0.02, 0.98)
        p_i = np.clip(Y.sum(1) / Obs.sum(1), 0.02, 0.98)
        theta = np.log(p_j / (1 - p_j))
        theta -= theta.mean()
        b = -np.log(p_i / (1 - p_i))
        alpha = np.zeros(len(b))
        theta, b, alpha, converged, n_iter = _newton_fit(theta, b, alpha, Y, Obs, pen, False, max_iter, tol)
        if two_pl:
            theta, b, alpha, converged, n2 = _newton_fit(theta, b, alpha, Y, Obs, pen, True, max_iter, tol)
            n_iter += n2
        _, loglik, _ = _objective(theta, b, alpha, Y, Obs, pen)
        mu = theta.mean()
        s = theta.std() if two_pl and len(theta) > 1 and theta.std() > 1e-12 else 1.0
        ability[keep_j] = (theta - mu) / s
        difficulty[keep_i] = (b - mu) / s
        discrimination[keep_i] = np.exp(alpha) * s if two_pl else 1.0

    rows = [("item", int(i), _REASONS["item"][int(c)]) for i, c in enumerate(item_reason) if c]
    rows += [("respondent", int(j), _REASONS["respondent"][int(c)]) for j, c in enumerate(resp_reason) if c]
    flags = pd.DataFrame(rows, columns=["kind", "index", "reason"])
    return IRTResult(difficulty, discrimination, ability, model, bool(converged), int(n_iter), float(loglik), flags)


def irt_loglik(
    responses: Any, difficulty: np.ndarray, ability: np.ndarray, discrimination: np.ndarray | None = None
) -> float:
    """Log-likelihood of ``responses`` (NaN = missing) under given finite 1PL/2PL parameters.

    Examples
    --------
    >>> round(irt_loglik([[1.0]], np.array([0.0]), np.array([0.0])), 6)  # log(1/2)
    -0.693147
    """
    R = _check_responses(responses)
    b = np.asarray(difficulty, dtype=np.float64)
    t = np.asarray(ability, dtype=np.float64)
    a = np.ones_like(b) if discrimination is None else np.asarray(discrimination, dtype=np.float64)
    if b.shape != (R.shape[0],) or a.shape != b.shape or t.shape != (R.shape[1],):
        raise DataError(
            f"parameters must have shapes ({R.shape[0]},) for items and ({R.shape[1]},) for respondents, "
            f"got difficulty {b.shape}, discrimination {a.shape}, ability {t.shape}"
        )
    Obs = (~np.isnan(R)).astype(np.float64)
    _, ll, _ = _objective(t, b, np.log(a), np.nan_to_num(R), Obs, (0.0, 0.0, 0.0))
    return ll


# ---------------------------------------------------------------- ensemble response matrix


def _fold_ids(y: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """Stratified fold per example: shuffle, stable-sort by class, deal round-robin."""
    order = np.argsort(y[(perm := rng.permutation(len(y)))], kind="stable")
    out = np.empty(len(y), dtype=np.int64)
    out[perm[order]] = np.arange(len(y)) % folds
    return out


_ENSEMBLE = (
    ("logistic_C0.01", "logistic", {"C": 0.01}),
    ("logistic_C1", "logistic", {"C": 1.0}),
    ("logistic_C100", "logistic", {"C": 100.0}),
    ("knn_1", "knn", {"k": 1}),
    ("knn_5", "knn", {"k": 5}),
    ("knn_25", "knn", {"k": 25}),
    ("tree_depth2", "tree", {"max_depth": 2}),
    ("tree_depth4", "tree", {"max_depth": 4}),
    ("tree_depth8", "tree", {"max_depth": 8}),
    ("naive_bayes", "nb", {}),
    ("mlp_32", "mlp", {"hidden": [32]}),
    ("mlp_128x2", "mlp", {"hidden": [128, 128]}),
)


def _fit_predict(kind: str, params: dict, train: Dataset, X_test: np.ndarray, seed: int) -> np.ndarray:
    """Predicted labels of one cheap model; a one-class training fold predicts that class."""
    classes = np.unique(train.y)
    if len(classes) == 1:
        return np.full(len(X_test), classes[0])
    if kind in ("logistic", "mlp"):
        from ..learners import make_learner

        lrn = make_learner(kind, **params)
        epochs = 100 if kind == "logistic" else 30
        return lrn.fit(train, epochs=epochs, seed=seed).predict_proba(X_test).argmax(1)
    from ..learners._common import Standardizer

    scale = Standardizer(train.X)
    Xtr, Xte = scale(train.X), scale(X_test)
    if kind == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        est: Any = KNeighborsClassifier(n_neighbors=min(params["k"], train.n))
    elif kind == "tree":
        from sklearn.tree import DecisionTreeClassifier

        est = DecisionTreeClassifier(max_depth=params["max_depth"], random_state=seed)
    elif kind == "nb":
        from sklearn.naive_bayes import GaussianNB

        est = GaussianNB()
    else:  # pragma: no cover - guarded by _ENSEMBLE
        raise ConfigError(f"unknown ensemble model kind {kind!r}")
    return est.fit(Xtr, train.y).predict(Xte)


def ensemble_responses(
    ds: Dataset,
    *,
    k_models: int = 12,
    folds: int = 5,
    embeddings: np.ndarray | None = None,
    seed: SeedLike = 0,
) -> tuple[np.ndarray, list[str]]:
    """Held-out correctness of K diverse cheap models on every example.

    Examples are split into ``folds`` stratified folds; each model is trained on all
    folds but one and answers the held-out fold, so every example is answered only by
    models that never trained on it. The models, in order (the first ``k_models`` are
    used): logistic regression with C in {0.01, 1, 100}, kNN with k in {1, 5, 25},
    decision trees of depth 2, 4, 8, Gaussian naive Bayes, and MLPs (32) and (128, 128)
    trained 30 epochs.

    Returns
    -------
    responses : (n_examples, k_models) float64 0/1, items = examples, respondents = models.
    names : the model names, one per column.
    """
    if not isinstance(ds, Dataset):
        raise DataError(f"irt_ensemble expects a datafactors.Dataset, got {type(ds).__name__}")
    if isinstance(k_models, bool) or not isinstance(k_models, numbers.Integral) or not 1 <= k_models <= len(_ENSEMBLE):
        raise ConfigError(f"k_models == {k_models!r}, must be an int in [1, {len(_ENSEMBLE)}]")
    if isinstance(folds, bool) or not isinstance(folds, numbers.Integral) or folds < 2:
        raise ConfigError(f"folds == {folds!r}, must be an int >= 2")
    X = ds.X if embeddings is None else _check_embeddings(embeddings, ds.n)
    rng = check_random_state(seed)
    base = seed_int(rng)
    n_folds = min(int(folds), ds.n)
    fold = _fold_ids(ds.y, n_folds, rng)
    feats = Dataset(X, ds.y, ds.ids, None, None, list(ds.class_names), ds.name)
    models = _ENSEMBLE[:k_models]
    out = np.zeros((ds.n, len(models)))
    import sklearn.linear_model  # noqa: F401 - load scipy's BLAS so the limit below reaches it
    from threadpoolctl import threadpool_limits

    # Cheap models on small matrices: BLAS / OpenMP threads cost more than they save.
    with threadpool_limits(limits=1):
        for f in range(n_folds):
            test = np.flatnonzero(fold == f)
            train = feats.subset(np.flatnonzero(fold != f))
            for m, (_, kind, params) in enumerate(models):
                pred = _fit_predict(kind, params, train, X[test], base + 1000 * f + m)
                out[test, m] = pred == ds.y[test]
    return out, [name for name, _, _ in models]


def _check_embeddings(embeddings: Any, n: int) -> np.ndarray:
    E = np.asarray(embeddings, dtype=np.float32)
    if E.ndim != 2 or E.shape[0] != n:
        raise DataError(f"embeddings must have shape ({n}, d), got {E.shape}")
    if not np.isfinite(E).all():
        raise DataError("embeddings contain NaN or inf")
    return E


def irt_ensemble(
    ds: Dataset,
    *,
    k_models: int = 12,
    folds: int = 5,
    model: str = "2pl",
    embeddings: np.ndarray | None = None,
    seed: SeedLike = 0,
    **irt_kwargs: Any,
) -> IRTResult:
    """Model-based IRT difficulty: :func:`ensemble_responses` then :func:`irt`.

    Returns the :class:`IRTResult` with items = examples of ``ds`` (in row order),
    ``responses`` and ``respondents`` (model names) filled in.

    Examples
    --------
    >>> import datafactors as df  # doctest: +SKIP
    >>> res = irt_ensemble(df.load("digits"), k_models=8)  # doctest: +SKIP
    >>> res.difficulty.shape  # doctest: +SKIP
    (1797,)
    """
    R, names = ensemble_responses(ds, k_models=k_models, folds=folds, embeddings=embeddings, seed=seed)
    res = irt(R, model, **irt_kwargs)
    res.responses, res.respondents = R, names
    return res


# ---------------------------------------------------------------- Glicko-2

GLICKO2_SCALE = 173.7178  # Glickman's conversion between the Glicko and Glicko-2 scales


def _g(phi: np.ndarray) -> np.ndarray:
    return 1.0 / np.sqrt(1.0 + 3.0 * phi * phi / math.pi**2)


def _new_sigma(
    sigma: np.ndarray, phi: np.ndarray, v: np.ndarray, delta: np.ndarray, tau: float, eps: float = 1e-6
) -> np.ndarray:
    """Step 5: the Illinois algorithm for the new volatility, vectorized over players."""
    a = np.log(sigma * sigma)
    d2, p2 = delta * delta, phi * phi

    def f(x: np.ndarray, ix: np.ndarray | slice = slice(None)) -> np.ndarray:
        ex, q = np.exp(x), p2[ix] + v[ix]
        return ex * (d2[ix] - q - ex) / (2.0 * (q + ex) ** 2) - (x - a[ix]) / (tau * tau)

    A = a.copy()
    B = np.empty_like(a)
    big = d2 > p2 + v
    B[big] = np.log(d2[big] - p2[big] - v[big])
    idx = np.flatnonzero(~big)
    kk = np.ones(len(idx))
    while len(idx):
        neg = f(a[idx] - kk * tau, idx) < 0
        if not neg.any():
            break
        kk[neg] += 1
    B[idx] = a[idx] - kk * tau
    fA, fB = f(A), f(B)
    active = np.abs(B - A) > eps
    for _ in range(10_000):
        if not active.any():
            break
        C = A + (A - B) * fA / (fB - fA)
        fC = f(C)
        swap = fC * fB <= 0
        A_new = np.where(swap, B, A)
        fA_new = np.where(swap, fB, fA / 2.0)
        A = np.where(active, A_new, A)
        fA = np.where(active, fA_new, fA)
        B = np.where(active, C, B)
        fB = np.where(active, fC, fB)
        active = np.abs(B - A) > eps
    return np.exp(A / 2.0)


def glicko2_update(
    mu: np.ndarray,
    phi: np.ndarray,
    sigma: np.ndarray,
    opp_mu: np.ndarray,
    opp_phi: np.ndarray,
    score: np.ndarray,
    player: np.ndarray,
    *,
    tau: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One Glicko-2 rating period for every player at once (Glickman, steps 3-8).

    Parameters
    ----------
    mu, phi, sigma : (n_players,) ratings, deviations (Glicko-2 scale) and volatilities
        before the period.
    opp_mu, opp_phi : (n_games,) the opponent's pre-period rating and deviation per game.
    score : (n_games,) 1 win, 0.5 draw, 0 loss, from ``player``'s side.
    player : (n_games,) int index of the player each game row belongs to (a match between
        two rated players appears twice, once from each side).
    tau : system constant constraining volatility change.

    Returns
    -------
    new mu, phi, sigma, each (n_players,). A player without games only has ``phi``
    widened to ``sqrt(phi^2 + sigma^2)`` (step 6 with no games).
    """
    n = len(mu)
    g = _g(opp_phi)
    E = 1.0 / (1.0 + np.exp(-g * (mu[player] - opp_mu)))
    inv_v = np.bincount(player, weights=g * g * E * (1.0 - E), minlength=n)
    played = inv_v > 0
    s_sum = np.bincount(player, weights=g * (score - E), minlength=n)
    new_mu, new_phi, new_sigma = mu.copy(), np.sqrt(phi * phi + sigma * sigma), sigma.copy()
    if played.any():
        v = 1.0 / inv_v[played]
        delta = v * s_sum[played]
        sig = _new_sigma(sigma[played], phi[played], v, delta, tau)
        phi_star = np.sqrt(phi[played] ** 2 + sig * sig)
        phi_new = 1.0 / np.sqrt(1.0 / phi_star**2 + 1.0 / v)
        new_phi[played] = phi_new
        new_mu[played] = mu[played] + phi_new**2 * s_sum[played]
        new_sigma[played] = sig
    return new_mu, new_phi, new_sigma


def glicko2(
    attempts: pd.DataFrame,
    *,
    tau: float = 0.5,
    rating: float = 1500.0,
    rd: float = 350.0,
    volatility: float = 0.06,
    return_solvers: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Glicko-2 ratings of items from an attempt log (Glickman's Glicko-2 system).

    Each item and each solver is a player; an attempt is a match between them that the
    solver wins when ``solved`` is true and the item wins otherwise, so a higher item
    rating means a harder item. Rating periods: the rows sharing a value of the optional
    ``period`` column form one period (in sorted order); without that column the whole
    log is one period, all matches counted as simultaneous, as Glicko prescribes within a
    period. Within a period every update uses the opponents' pre-period values.

    Parameters
    ----------
    attempts : DataFrame with columns ``item``, ``solver``, ``solved`` (bool or 0/1), and
        optionally ``period`` (sortable).
    tau : system constant (Glickman suggests 0.3 to 1.2).
    rating, rd, volatility : starting values on the Glicko scale (1500, 350, 0.06).
    return_solvers : also return the solvers' table.

    Returns
    -------
    DataFrame indexed by item (named ``item``): ``mu``, ``phi`` (Glicko-2 scale),
    ``sigma`` (volatility), ``rating = 1500 + 173.7178 mu`` and ``rd = 173.7178 phi``
    (Glicko scale) and ``n_attempts``. With ``return_solvers`` a second such table
    indexed by solver.

    Examples
    --------
    >>> log = pd.DataFrame({"item": ["q1", "q1", "q2"], "solver": ["m1", "m2", "m1"], "solved": [1, 0, 1]})
    >>> g = glicko2(log)
    >>> bool(g.loc["q1", "rating"] > g.loc["q2", "rating"])
    True
    """
    if not isinstance(attempts, pd.DataFrame):
        raise DataError(f"attempts must be a pandas DataFrame, got {type(attempts).__name__}")
    missing = [c for c in ("item", "solver", "solved") if c not in attempts.columns]
    if missing:
        raise DataError(
            f"attempts is missing column(s) {', '.join(missing)}; has: {', '.join(map(str, attempts.columns))}"
        )
    if len(attempts) == 0:
        raise DataError("attempts is empty (0 rows)")
    for name, value, lo in (("tau", tau, 0.0), ("rd", rd, 0.0), ("volatility", volatility, 0.0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (lo < float(value) < np.inf):
            raise ConfigError(f"{name} == {value!r}, must be a finite number > {lo:g}")
    if isinstance(rating, bool) or not isinstance(rating, numbers.Real) or not np.isfinite(rating):
        raise ConfigError(f"rating == {rating!r}, must be a finite number")
    for col in ("item", "solver"):
        if attempts[col].isna().any():
            raise DataError(f"attempts column {col!r} has missing values")
    solved = attempts["solved"]
    if solved.isna().any() or not solved.isin([0, 1, True, False]).all():
        raise DataError("attempts column 'solved' must be 0/1 or bool with no missing values")
    s = solved.to_numpy().astype(np.float64)
    items, item_idx = np.unique(attempts["item"].to_numpy(), return_inverse=True)
    solvers, solver_idx = np.unique(attempts["solver"].to_numpy(), return_inverse=True)
    n_i, n_s = len(items), len(solvers)
    mu = np.zeros(n_i + n_s)
    phi = np.full(n_i + n_s, rd / GLICKO2_SCALE)
    sigma = np.full(n_i + n_s, float(volatility))
    mu[:] = (rating - 1500.0) / GLICKO2_SCALE
    if "period" in attempts.columns:
        if attempts["period"].isna().any():
            raise DataError("attempts column 'period' has missing values")
        periods, period_idx = np.unique(attempts["period"].to_numpy(), return_inverse=True)
    else:
        periods, period_idx = np.zeros(1), np.zeros(len(attempts), dtype=np.int64)
    item_p = item_idx.astype(np.int64)
    solver_p = n_i + solver_idx.astype(np.int64)
    for p in range(len(periods)):
        rows = np.flatnonzero(period_idx == p)
        ip, sp, sc = item_p[rows], solver_p[rows], 1.0 - s[rows]  # the item wins when unsolved
        player = np.concatenate([ip, sp])
        opp = np.concatenate([sp, ip])
        score = np.concatenate([sc, 1.0 - sc])
        mu, phi, sigma = glicko2_update(mu, phi, sigma, mu[opp], phi[opp], score, player, tau=float(tau))
    counts = np.bincount(np.concatenate([item_p, solver_p]), minlength=n_i + n_s)

    def table(sl: slice, index: np.ndarray, name: str) -> pd.DataFrame:
        out = pd.DataFrame(
            {
                "mu": mu[sl],
                "phi": phi[sl],
                "sigma": sigma[sl],
                "rating": 1500.0 + GLICKO2_SCALE * mu[sl],
                "rd": GLICKO2_SCALE * phi[sl],
                "n_attempts": counts[sl],
            },
            index=pd.Index(index, name=name),
        )
        return out

    item_table = table(slice(0, n_i), items, "item")
    if return_solvers:
        return item_table, table(slice(n_i, n_i + n_s), solvers, "solver")
    return item_table


# ---------------------------------------------------------------- registered scorer

declare(
    ScoreColumn(
        "irt_difficulty",
        "harder",
        -np.inf,
        np.inf,
        "2PL difficulty b from held-out answers of a model ensemble (-inf: every model right, +inf: none)",
    ),
    ScoreColumn(
        "irt_discrimination",
        "ambiguous",
        0.0,
        np.inf,
        "2PL discrimination a: how sharply the example separates strong from weak models, not a hardness "
        "(0 when every model answered it the same way)",
    ),
)


@REGISTRY.register("irt")
class IRTScorer:
    """2PL IRT difficulty and discrimination from :func:`irt_ensemble` (no training dynamics).

    On the smallest inputs (a handful of examples) every held-out model may be right or
    wrong on every example; those examples get difficulty ``-inf`` / ``+inf`` and
    discrimination 0, as :func:`irt` documents.
    """

    needs_dynamics = False
    name = "irt"
    columns = ("irt_difficulty", "irt_discrimination")

    def __init__(self, k_models: int = 12, folds: int = 5, model: str = "2pl") -> None:
        self.k_models, self.folds, self.model = k_models, folds, model

    def score(self, ds, *, dynamics=None, embeddings=None, seed=0) -> pd.DataFrame:
        res = irt_ensemble(
            ds, k_models=self.k_models, folds=self.folds, model=self.model, embeddings=embeddings, seed=seed
        )
        return pd.DataFrame(
            {"irt_difficulty": res.difficulty, "irt_discrimination": res.discrimination},
            index=pd.Index(ds.ids, name="id"),
        )


__all__ = [
    "GLICKO2_SCALE",
    "IRTResult",
    "IRTScorer",
    "ensemble_responses",
    "glicko2",
    "glicko2_update",
    "irt",
    "irt_ensemble",
    "irt_loglik",
]
