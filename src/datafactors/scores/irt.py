"""Item response theory difficulty (1PL / 2PL) on an items x respondents 0/1 matrix.

:func:`irt` fits a 1PL (Rasch) or 2PL model by penalized joint maximum likelihood
(Newton / Fisher scoring on all parameters at once, the ability block eliminated by a
Schur complement so one step costs two small matrix products). Easy2Hard-Bench reads
item difficulty ``b`` off such a fit. The ensemble that makes such a matrix for a
Dataset (respondents = cheap models) and the registered ``irt`` scorer live in
:mod:`datafactors.scores.irt_ensemble`; Glicko-2 ratings in :mod:`datafactors.scores.glicko`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError

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


__all__ = ["IRTResult", "irt", "irt_loglik"]
