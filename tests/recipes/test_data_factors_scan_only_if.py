"""The data-factors-scan and only-if recipes: the trial helper, the intervals, the claims and their controls."""

import numpy as np
import pytest

import datafactors as df
from datafactors.recipes import REGISTRY
from datafactors.recipes import data_factors_scan as dfs
from datafactors.recipes.data_factors_scan import gap_interval, run_trials, seq_trial, split_items

TINY = {
    "task": "rewrite",
    "seed": 0,
    "epochs": 1,
    "params": {"n_rules": 4, "n_train": 60, "n_test": 20, "n_ood": 10},
    "learner": {"d_model": 16, "n_layers": 1},
    "extra_eval": {"seen": {"test_rules": "seen"}},
}


def test_registered_with_paper_claim_and_control():
    assert {"data-factors-scan", "only-if"} <= set(REGISTRY.names())
    assert "Compositional Generalization" in REGISTRY.get("data-factors-scan").paper
    assert "Only-IF" in REGISTRY.get("only-if").paper
    assert "unseen" in REGISTRY.get("only-if").claim
    assert "repetition" in REGISTRY.get("data-factors-scan").control
    assert "seen in training" in REGISTRY.get("only-if").control


def test_gap_interval_resamples_seeds_and_each_arms_items():
    a = [np.array([1, 1, 0, 1]), np.array([1, 0, 1, 1])]
    b = [np.array([0, 0, 1, 0]), np.array([0, 1, 0, 0])]
    est, lo, hi = gap_interval(a, b, seed=0)
    assert est == pytest.approx(0.5)
    assert -1 <= lo < est < hi <= 1
    # no item variation within an arm: only the seeds move the gap (0.5 in one, 0 in the other)
    est, lo, hi = gap_interval([np.ones(10), np.ones(10)], [np.full(10, 0.5), np.ones(10)], seed=1)
    assert est == pytest.approx(0.25) and lo == pytest.approx(0.0) and hi == pytest.approx(0.5)


def test_seq_trial_reports_exact_match_and_per_item_correctness():
    out = seq_trial(TINY)
    for key in ("test_exact_match", "test_exact_match_rewritten", "seen_exact_match_rewritten", "train_exact_match"):
        assert 0.0 <= out[key] <= 1.0
    assert out["n_train"] == 60 and out["distinct_train_inputs"] <= 60
    ok, applies = out["correct_test"], out["applies_test"]
    assert ok.shape == applies.shape == (20,) and ok.dtype == bool
    assert out["test_exact_match"] == pytest.approx(ok.mean())
    assert out["test_exact_match_rewritten"] == pytest.approx(ok[applies].mean())
    assert applies.sum() == 16  # noop_frac 0.2 of 20 rows do not apply


def test_run_trials_memoizes_by_what_the_trial_depends_on(monkeypatch):
    calls = []

    def fake(spec, _data=None):
        calls.append(spec["seed"])
        return {"test_exact_match": 0.1 * spec["seed"], "correct_test": np.ones(3, dtype=bool)}

    monkeypatch.setattr(dfs, "seq_trial", fake)
    monkeypatch.setattr(dfs, "_TRIALS", {})
    a = {**TINY, "seed": 1, "arm": "x"}
    b = {**TINY, "seed": 1, "arm": "y"}  # a different label, the same trial
    c = {**TINY, "seed": 1, "data_seed": 7, "arm": "x"}  # another data draw
    rows = run_trials([a, b, c], n_workers=1)
    assert calls == [1, 1]
    assert [r["arm"] for r in rows] == ["x", "y", "x"] and "params" not in rows[0]
    run_trials([b], n_workers=1)
    assert calls == [1, 1]
    frame, items = split_items(rows)
    assert list(frame["test_exact_match"]) == pytest.approx([0.1, 0.1, 0.1])
    assert "correct_test" not in frame.columns and items[0]["correct_test"].shape == (3,)


def _effects(res):
    return {e.label.split(":")[0]: e for e in res.effects}


@pytest.mark.slow
def test_data_factors_scan_quick_and_control():
    res = df.recipes.run("data-factors-scan", quick=True, seed=0)
    ctl = df.recipes.run("data-factors-scan", quick=True, seed=0, control=True)
    assert res.held and not ctl.held
    assert res.seeds == ctl.seeds == [0, 1] and res.sizes["training examples"] == 500
    d = res.details
    assert len(d) == 8 and set(d["claim"]) == {"b", "c"}
    # repetition is what the knob says: every command distinct at s = 0, few distinct at s = 1.5
    distinct = d[d["claim"] == "b"].groupby("condition")["distinct_train_inputs"].mean()
    assert distinct["no repetition (s = 0)"] == 500 and distinct["Zipf repetition (s = 1.5)"] < 150
    # difficulty is what the knob says: the simple arm trains on short commands only
    c = d[d["claim"] == "c"].set_index(["condition", "seed"])["difficulty_cut"]
    assert (c.loc["simple (short) examples"] == c.loc["hard (long) examples"]).all()
    e = _effects(res)
    # measured: 0.19 vs 0.02 exact match (b), 0.21 vs 0.135 (c)
    assert 0.08 < e["(b) less repetition"].estimate < 0.4
    assert 0.03 < e["(c) simple over hard examples"].estimate < 0.25
    # the control: gaps are noise around 0; its first arm is the real run's s = 0 arm
    for eff in ctl.effects:
        assert eff.lo < 0.02 and abs(eff.estimate) < 0.06
    cd = ctl.details
    same = cd[cd["condition"] == "no repetition (s = 0)"].set_index("seed")["test_exact_match"]
    real = d[d["condition"] == "no repetition (s = 0)"].set_index("seed")["test_exact_match"]
    assert same.to_dict() == real.to_dict()
    assert set(cd.groupby("condition")["distinct_train_inputs"].min()) == {500}


@pytest.mark.slow
def test_only_if_quick_and_control():
    # At this CPU scale the claim does not hold: generalization to unseen rules is absent with 8 rules,
    # but 256 rules raise it by only ~5 points (not the 15 "emergence" needs), and 256 rules over 4
    # domains do no better than 256 from one domain.
    res = df.recipes.run("only-if", quick=True, seed=0)
    ctl = df.recipes.run("only-if", quick=True, seed=0, control=True)  # the same models, seen rules
    assert not res.held and not ctl.held
    assert res.seeds == ctl.seeds == [0, 1] and res.sizes["training examples"] == 800
    d = res.details
    assert len(d) == 6 and set(d["n_rules"]) == {8, 256} and set(d["n_domains"]) == {1, 4}
    assert (d["distinct_train_inputs"] >= 799).all()  # the budget is fixed, only the rules change
    # with 8 rules the model memorizes them: seen rules right, unseen rules wrong
    few = d[d["arm"] == "few"]
    assert (few["seen_rule_exact_match"] > 0.7).all() and (few["unseen_rule_exact_match"] < 0.05).all()
    absent, emerge, domains = res.effects
    assert absent.held and absent.estimate < 0.03  # measured 0.008
    assert 0.02 < emerge.estimate < 0.12 and emerge.lo > 0  # measured 0.052 [0.029, 0.083]
    assert -0.1 < domains.estimate < 0.03  # measured -0.025
    # on seen rules the few-rule model is the best: the gaps reverse
    c_absent, c_emerge, c_domains = ctl.effects
    assert c_absent.estimate > 0.7 and c_emerge.hi < 0 and c_domains.hi < 0
    # the control scored the real run's models (memoized), not new ones
    assert ctl.details["unseen_rule_exact_match"].tolist() == d["unseen_rule_exact_match"].tolist()
