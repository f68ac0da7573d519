"""Glicko-2 against Glickman's worked example and a scalar reference implementation."""

import math

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.scores.glicko import GLICKO2_SCALE, glicko2, glicko2_update


def test_glicko2_glickman_worked_example():
    # Glickman, "Example of the Glicko-2 system": 1500/200/0.06 against 1400/30, 1550/100,
    # 1700/300 with results 1, 0, 0 -> 1464.06, 151.52, 0.05999 (the PDF rounds its
    # intermediate values; unrounded arithmetic gives 1464.0507).
    mu, phi, sigma = glicko2_update(
        np.array([0.0]),
        np.array([200 / GLICKO2_SCALE]),
        np.array([0.06]),
        (np.array([1400.0, 1550.0, 1700.0]) - 1500) / GLICKO2_SCALE,
        np.array([30.0, 100.0, 300.0]) / GLICKO2_SCALE,
        np.array([1.0, 0.0, 0.0]),
        np.zeros(3, dtype=np.int64),
        tau=0.5,
    )
    assert 1500 + GLICKO2_SCALE * mu[0] == pytest.approx(1464.06, abs=0.015)
    assert GLICKO2_SCALE * phi[0] == pytest.approx(151.52, abs=0.01)
    assert sigma[0] == pytest.approx(0.05999, abs=1e-5)


def _glicko2_scalar(mu, phi, sigma, opp, tau, eps=1e-6):
    """Glickman's steps 3-8 for one player, written out literally as a reference."""
    g = [1 / math.sqrt(1 + 3 * p**2 / math.pi**2) for _, p, _ in opp]
    E = [1 / (1 + math.exp(-gj * (mu - m))) for gj, (m, _, _) in zip(g, opp, strict=True)]
    v = 1 / sum(gj**2 * e * (1 - e) for gj, e in zip(g, E, strict=True))
    delta = v * sum(gj * (s - e) for gj, e, (_, _, s) in zip(g, E, opp, strict=True))
    a = math.log(sigma**2)

    def f(x):
        return (
            math.exp(x) * (delta**2 - phi**2 - v - math.exp(x)) / (2 * (phi**2 + v + math.exp(x)) ** 2)
            - (x - a) / tau**2
        )

    A = a
    if delta**2 > phi**2 + v:
        B = math.log(delta**2 - phi**2 - v)
    else:
        k = 1
        while f(a - k * tau) < 0:
            k += 1
        B = a - k * tau
    fA, fB = f(A), f(B)
    while abs(B - A) > eps:
        C = A + (A - B) * fA / (fB - fA)
        fC = f(C)
        if fC * fB <= 0:
            A, fA = B, fB
        else:
            fA = fA / 2
        B, fB = C, fC
    s_new = math.exp(A / 2)
    phi_star = math.sqrt(phi**2 + s_new**2)
    phi_new = 1 / math.sqrt(1 / phi_star**2 + 1 / v)
    mu_new = mu + phi_new**2 * sum(gj * (s - e) for gj, e, (_, _, s) in zip(g, E, opp, strict=True))
    return mu_new, phi_new, s_new


def test_glicko2_vectorized_matches_scalar_reference():
    rng = np.random.default_rng(0)
    n_players, n_games = 6, 40
    mu = rng.normal(0, 1, n_players)
    phi = rng.uniform(0.2, 2.0, n_players)
    sigma = rng.uniform(0.03, 0.1, n_players)
    player = rng.integers(0, n_players - 1, n_games)  # the last player sits this period out
    opp_mu, opp_phi = rng.normal(0, 1.5, n_games), rng.uniform(0.1, 2.0, n_games)
    score = rng.integers(0, 2, n_games).astype(float)
    score[player == 0] = 1.0  # a big surprise exercises the delta^2 > phi^2 + v branch
    opp_mu[player == 0] = 3.0
    new_mu, new_phi, new_sigma = glicko2_update(mu, phi, sigma, opp_mu, opp_phi, score, player, tau=0.5)
    for i in range(n_players - 1):
        games = [(opp_mu[g], opp_phi[g], score[g]) for g in np.flatnonzero(player == i)]
        ref = _glicko2_scalar(mu[i], phi[i], sigma[i], games, 0.5)
        np.testing.assert_allclose([new_mu[i], new_phi[i], new_sigma[i]], ref, rtol=1e-7)
    last = n_players - 1
    assert new_mu[last] == mu[last] and new_sigma[last] == sigma[last]
    assert new_phi[last] == pytest.approx(math.sqrt(phi[last] ** 2 + sigma[last] ** 2))


def test_glicko2_log_rates_hard_items_higher():
    rng = np.random.default_rng(0)
    rows = []
    for item, p_solve in (("easy", 0.9), ("mid", 0.5), ("hard", 0.1)):
        for s in range(30):
            rows.append((item, f"s{s}", int(rng.random() < p_solve)))
    log = pd.DataFrame(rows, columns=["item", "solver", "solved"])
    items, solvers = glicko2(log, return_solvers=True)
    assert items.index.name == "item" and solvers.index.name == "solver"
    assert items.loc["hard", "mu"] > items.loc["mid", "mu"] > items.loc["easy", "mu"]
    assert list(items.columns) == ["mu", "phi", "sigma", "rating", "rd", "n_attempts"]
    assert (items["n_attempts"] == 30).all()
    np.testing.assert_allclose(items["rating"], 1500 + GLICKO2_SCALE * items["mu"])
    assert (items["rd"] < 350).all()


def test_glicko2_periods():
    log = pd.DataFrame({"item": ["q", "q", "r"], "solver": ["a", "b", "a"], "solved": [1, 0, 0]})
    one = glicko2(log)
    two = glicko2(log.assign(period=[1, 2, 2]))
    assert not np.allclose(one["mu"], two["mu"])
    # item q sits period 2 out: its mu and sigma stay, its deviation widens by its volatility
    after_p1 = glicko2(log.iloc[:2])
    both = glicko2(log.assign(period=[1, 1, 2]))
    assert both.loc["q", "mu"] == after_p1.loc["q", "mu"]
    assert both.loc["q", "sigma"] == after_p1.loc["q", "sigma"]
    assert both.loc["q", "phi"] == pytest.approx(math.hypot(after_p1.loc["q", "phi"], after_p1.loc["q", "sigma"]))


def test_glicko2_bad_input():
    with pytest.raises(df.DataError, match="missing column.*solved"):
        glicko2(pd.DataFrame({"item": [1], "solver": [2]}))
    with pytest.raises(df.DataError, match="'solved' must be 0/1"):
        glicko2(pd.DataFrame({"item": [1], "solver": [2], "solved": [2]}))
    with pytest.raises(df.DataError, match="empty"):
        glicko2(pd.DataFrame({"item": [], "solver": [], "solved": []}))
    with pytest.raises(df.DataError, match="DataFrame"):
        glicko2([("q", "a", 1)])
    with pytest.raises(df.ConfigError, match="tau == 0"):
        glicko2(pd.DataFrame({"item": [1], "solver": [2], "solved": [1]}), tau=0)
