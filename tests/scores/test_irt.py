"""IRT (1PL/2PL joint ML), the ensemble response matrix, and Glicko-2 against reference values."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import datafactors as df
from datafactors.recipes.irt_recovery import simulate_2pl
from datafactors.scores import COLUMNS, compute
from datafactors.scores.irt import (
    GLICKO2_SCALE,
    _objective,
    ensemble_responses,
    glicko2,
    glicko2_update,
    irt,
    irt_ensemble,
    irt_loglik,
)

# ---------------------------------------------------------------- IRT


def test_1pl_symmetric_two_items_known_mle():
    # Every respondent solves exactly one of the two items, so all abilities are equal
    # (0 after centering) and the MLE solves sigmoid(-b1) = 3/4, sigmoid(-b2) = 1/4.
    R = np.array([[1, 1, 1, 0], [0, 0, 0, 1]], dtype=float)
    res = irt(R, "1pl", prior_sd_difficulty=None, tol=1e-10)
    assert res.converged
    np.testing.assert_allclose(res.difficulty, [-math.log(3), math.log(3)], atol=1e-8)
    np.testing.assert_allclose(res.ability, 0.0, atol=1e-8)
    np.testing.assert_array_equal(res.discrimination, [1.0, 1.0])
    assert res.difficulty[0] == pytest.approx(-res.difficulty[1])
    assert res.flags.empty
    expected_ll = 3 * math.log(3 / 4) + math.log(1 / 4) + 3 * math.log(3 / 4) + math.log(1 / 4)
    assert res.loglik == pytest.approx(expected_ll)


@pytest.mark.parametrize("two_pl", [False, True])
def test_gradient_matches_finite_differences(two_pl):
    rng = np.random.default_rng(0)
    n_i, n_j = 7, 5
    Y = (rng.random((n_i, n_j)) < 0.5).astype(float)
    Obs = (rng.random((n_i, n_j)) < 0.8).astype(float)  # some missing responses
    Y *= Obs
    theta, b = rng.normal(size=n_j), rng.normal(size=n_i)
    alpha = 0.3 * rng.normal(size=n_i) if two_pl else np.zeros(n_i)
    pen = (1.0, 0.2, 4.0)
    _, _, g = _objective(theta, b, alpha, Y, Obs, pen, grad=True)
    h = 1e-6
    for name, vec in (("theta", theta), ("b", b), ("alpha", alpha)):
        num = np.empty_like(vec)
        for i in range(len(vec)):
            up, dn = vec.copy(), vec.copy()
            up[i] += h
            dn[i] -= h
            args_up = {"theta": theta, "b": b, "alpha": alpha, name: up}
            args_dn = {"theta": theta, "b": b, "alpha": alpha, name: dn}
            f_up = _objective(args_up["theta"], args_up["b"], args_up["alpha"], Y, Obs, pen)[0]
            f_dn = _objective(args_dn["theta"], args_dn["b"], args_dn["alpha"], Y, Obs, pen)[0]
            num[i] = (f_up - f_dn) / (2 * h)
        np.testing.assert_allclose(g[name], num, rtol=1e-5, atol=1e-6)


def test_2pl_recovers_simulated_difficulty_and_beats_error_rate():
    R, a, b, theta = simulate_2pl(1000, 200, seed=0)
    res = irt(R, "2pl")
    assert res.converged and res.n_iter < 60
    rho = spearmanr(res.difficulty, b)[0]
    rho_err = spearmanr(1 - R.mean(1), b)[0]
    assert rho >= 0.97 and rho > rho_err
    assert spearmanr(res.discrimination, a)[0] > 0.5
    assert spearmanr(res.ability, theta)[0] > 0.99
    # reported abilities are standardized; the probabilities (and log-likelihood) are unchanged
    assert res.ability.mean() == pytest.approx(0.0, abs=1e-9)
    assert res.ability.std() == pytest.approx(1.0)
    assert irt_loglik(R, res.difficulty, res.ability, res.discrimination) == pytest.approx(res.loglik)


def test_1pl_on_complete_data_orders_items_like_error_rate():
    R, _, b, _ = simulate_2pl(200, 100, seed=1, log_a_sd=0.0)  # a Rasch world
    res = irt(R, "1pl")
    assert res.converged
    # the 1PL difficulty is a monotone function of the item score when no response is missing
    order = np.argsort(1 - R.mean(1), kind="stable")
    assert np.all(np.diff(res.difficulty[order]) >= -1e-7)
    assert spearmanr(res.difficulty, b)[0] > 0.9
    assert abs(res.ability.mean()) < 1e-9


def test_missing_responses_are_skipped():
    R, _, b, _ = simulate_2pl(300, 150, seed=2)
    rng = np.random.default_rng(0)
    Rm = R.copy()
    Rm[rng.random(R.shape) < 0.2] = np.nan
    res = irt(Rm, "2pl")
    assert res.converged
    assert spearmanr(res.difficulty, b)[0] > 0.93
    assert np.isfinite(res.loglik)


def test_extreme_items_and_respondents_are_flagged_not_nan():
    R, *_ = simulate_2pl(30, 20, seed=3)
    R[0] = 1.0  # everyone solves item 0
    R[1] = 0.0  # nobody solves item 1
    R[:, 0] = 1.0  # respondent 0 solves everything
    for model in ("1pl", "2pl"):
        res = irt(R, model)
        assert res.difficulty[0] == -np.inf and res.difficulty[1] == np.inf
        assert res.ability[0] == np.inf
        assert not np.isnan(res.difficulty).any() and not np.isnan(res.ability).any()
        assert not np.isnan(res.discrimination).any()
        flags = {(r.kind, r.index): r.reason for r in res.flags.itertuples()}
        assert flags[("item", 0)] == "all_correct"
        assert flags[("item", 1)] == "all_wrong"
        assert flags[("respondent", 0)] == "all_correct"
        assert np.isfinite(res.difficulty[2:]).all()
    assert res.discrimination[0] == 0.0 and res.discrimination[1] == 0.0  # 2PL: separates no one


def test_flagging_repeats_until_stable():
    # Respondent 2 fails everything; without them item 1 is solved by everyone left.
    R = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0.0]])
    res = irt(R, "1pl")
    flags = {(r.kind, r.index): r.reason for r in res.flags.itertuples()}
    assert flags[("respondent", 2)] == "all_wrong" and res.ability[2] == -np.inf
    assert flags[("item", 1)] == "all_correct" and res.difficulty[1] == -np.inf
    assert np.isfinite(res.difficulty[[0, 2]]).all()


def test_item_answered_only_by_flagged_respondents():
    nan = np.nan
    # respondent 0 solves all it saw, respondent 1 none; item 0 was seen only by those two
    R = np.array([[1, 0, nan, nan], [1, 0, 1, 0], [1, 0, 0, 1]])
    res = irt(R, "2pl")
    flags = {(r.kind, r.index): r.reason for r in res.flags.itertuples()}
    assert flags == {
        ("item", 0): "no_informative_respondents",
        ("respondent", 0): "all_correct",
        ("respondent", 1): "all_wrong",
    }
    assert res.difficulty[0] == 0.0 and res.discrimination[0] == 0.0
    assert list(res.ability[:2]) == [np.inf, -np.inf]
    assert np.isfinite(res.difficulty[1:]).all()


def test_everything_extreme_is_still_valid():
    res = irt(np.zeros((3, 2)), "2pl")
    assert np.all(res.difficulty == np.inf)
    assert np.all(res.ability == -np.inf)
    assert np.all(res.discrimination == 0.0)
    assert res.converged and res.n_iter == 0


def test_max_iter_reports_not_converged():
    R, *_ = simulate_2pl(100, 50, seed=4)
    res = irt(R, "2pl", max_iter=1)
    assert not res.converged and res.n_iter == 2


@pytest.mark.parametrize(
    ("responses", "match"),
    [
        (np.array([[0, 1], [2, 1]]), "0/1"),
        (np.array([0, 1, 1]), "2-D"),
        (np.zeros((0, 3)), "empty"),
        (np.array([[np.nan, np.nan], [1, 0]]), "item 0 has no observed response"),
        (np.array([[np.nan, 1], [np.nan, 0]]), "respondent 0 has no observed response"),
        ([["a", "b"]], "numeric"),
    ],
)
def test_bad_responses(responses, match):
    with pytest.raises(df.DataError, match=match):
        irt(responses)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"model": "3pl"}, "model == '3pl'"),
        ({"max_iter": 0}, "max_iter == 0"),
        ({"tol": 0.0}, "tol == 0.0"),
        ({"prior_sd_ability": None}, "prior_sd_ability == None"),
        ({"prior_sd_difficulty": -1.0}, "prior_sd_difficulty == -1.0"),
    ],
)
def test_bad_settings(kwargs, match):
    with pytest.raises(df.ConfigError, match=match):
        irt(np.array([[1, 0], [0, 1.0]]), **kwargs)


# ---------------------------------------------------------------- ensemble


def _blobs(n=240, seed=0, flip_rate=0.1):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(n, 4)) + 2.5 * np.eye(3, 4)[y]
    flip = rng.random(n) < flip_rate
    return X, np.where(flip, (y + 1) % 3, y), flip


def test_ensemble_answers_only_held_out_examples():
    rng = np.random.default_rng(0)
    ds = df.Dataset.from_arrays(rng.normal(size=(200, 3)), rng.integers(0, 2, 200))
    R, names = ensemble_responses(ds, k_models=9, seed=0)
    assert R.shape == (200, 9) and names[3] == "knn_1" and set(np.unique(R)) <= {0.0, 1.0}
    # labels are noise: 1-NN and deep trees are ~100% right in-sample, ~50% held out
    acc = dict(zip(names, R.mean(0), strict=True))
    assert acc["knn_1"] < 0.65 and acc["tree_depth8"] < 0.65


def test_ensemble_difficulty_ranks_flipped_labels_hardest():
    from scipy.stats import rankdata
    from sklearn.metrics import roc_auc_score

    X, y, flip = _blobs()
    ds = df.Dataset.from_arrays(X, y)
    res = irt_ensemble(ds, k_models=10, seed=0)
    assert res.responses.shape == (240, 10) and len(res.respondents) == 10
    assert not np.isnan(res.difficulty).any()
    assert roc_auc_score(flip, rankdata(res.difficulty)) > 0.85
    again = irt_ensemble(ds, k_models=10, seed=0)
    np.testing.assert_array_equal(res.difficulty, again.difficulty)


def test_irt_scorer_columns_and_orientation():
    X, y, _ = _blobs(60)
    ds = df.Dataset.from_arrays(X, y, ids=[f"x{i}" for i in range(60)])
    out = compute(ds, ["irt"], seed=0)
    assert list(out.columns) == ["irt_difficulty", "irt_discrimination"]
    assert list(out.index) == list(ds.ids)
    assert COLUMNS["irt_difficulty"].orientation == "harder"
    assert COLUMNS["irt_discrimination"].orientation == "ambiguous"
    assert (out["irt_discrimination"] >= 0).all()
    assert not out.isna().any().any()


def test_ensemble_bad_settings():
    X, y, _ = _blobs(30)
    ds = df.Dataset.from_arrays(X, y)
    with pytest.raises(df.ConfigError, match="k_models == 0"):
        ensemble_responses(ds, k_models=0)
    with pytest.raises(df.ConfigError, match="folds == 1"):
        ensemble_responses(ds, folds=1)
    with pytest.raises(df.DataError, match="Dataset"):
        ensemble_responses(X)
    with pytest.raises(df.DataError, match="embeddings"):
        ensemble_responses(ds, embeddings=np.zeros((5, 2)))


# ---------------------------------------------------------------- Glicko-2


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
