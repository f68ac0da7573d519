"""Glicko-2 ratings of items (and solvers) from an attempt log.

:func:`glicko2` follows Glickman's "Example of the Glicko-2 system" step by step;
:func:`glicko2_update` is one rating period, vectorised over players.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError

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


__all__ = ["GLICKO2_SCALE", "glicko2", "glicko2_update"]
