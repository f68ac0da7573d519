"""IRT (1PL/2PL joint ML) and the ensemble response matrix against reference values."""

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

import datafactors as df
from datafactors.recipes.irt_recovery import simulate_2pl
from datafactors.scores import COLUMNS, compute
from datafactors.scores.irt import _objective, irt, irt_loglik
from datafactors.scores.irt_ensemble import ensemble_responses, irt_ensemble

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
