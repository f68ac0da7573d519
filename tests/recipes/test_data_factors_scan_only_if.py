"""The data-factors-scan and only-if recipes: registered, verdicts follow the measurements."""

import numpy as np
import pytest

import datafactors as df
from datafactors.recipes import REGISTRY
from datafactors.recipes.data_factors_scan import MARGIN, paired_verdict, seq_trial
from datafactors.recipes.only_if import ABSENT, PRESENT


def test_registered_with_paper_and_claim():
    assert {"data-factors-scan", "only-if"} <= set(REGISTRY.names())
    assert "Compositional Generalization" in REGISTRY.get("data-factors-scan").paper
    assert "Only-IF" in REGISTRY.get("only-if").paper
    assert "unseen" in REGISTRY.get("only-if").claim


def test_paired_verdict():
    assert paired_verdict(np.array([0.3, 0.3]), np.array([0.1, 0.28])) == (True, pytest.approx(0.11))
    assert not paired_verdict(np.array([0.3, 0.3]), np.array([0.1, 0.29]))[0]  # one seed below the margin
    assert not paired_verdict(np.array([0.3, 0.1]), np.array([0.1, 0.2]))[0]  # one seed reversed
    assert not paired_verdict(np.array([]), np.array([]))[0]
    assert paired_verdict(np.array([0.5]), np.array([0.5 - MARGIN]))[0]
    assert not paired_verdict(np.array([0.5]), np.array([0.5 - MARGIN]), margin=0.05)[0]


def test_seq_trial_reports_exact_match_and_extra_evaluations():
    spec = {
        "task": "rewrite",
        "seed": 0,
        "epochs": 1,
        "params": {"n_rules": 4, "n_train": 60, "n_test": 20, "n_ood": 10},
        "learner": {"d_model": 16, "n_layers": 1},
        "extra_eval": {"seen": {"test_rules": "seen"}},
    }
    out = seq_trial(spec)
    for key in (
        "test_exact_match",
        "ood_exact_match",
        "test_exact_match_rewritten",
        "seen_exact_match_rewritten",
        "train_exact_match",
    ):
        assert 0.0 <= out[key] <= 1.0
    assert out["n_train"] == 60 and out["distinct_train_inputs"] <= 60


@pytest.mark.slow
def test_data_factors_scan_quick():
    res = df.recipes.run("data-factors-scan", quick=True, seed=0)
    m, d = res.measured, res.details
    assert len(d) == 6 and set(d["claim"]) == {"a", "b", "c"}
    assert res.held == (m["(a) held"] and m["(b) held"] and m["(c) held"])
    for claim in "abc":
        sub = d[d["claim"] == claim]
        col = "ood_exact_match" if claim == "a" else "test_exact_match"
        assert m[f"({claim}) gap (seed-paired mean)"] == pytest.approx(
            sub.iloc[1 if claim == "a" else 0][col] - sub.iloc[0 if claim == "a" else 1][col]
        )
    # repetition is what the knob says: fewer distinct training commands at s > 0
    b = d[d["claim"] == "b"].set_index("condition")["distinct_train_inputs"]
    assert b.iloc[0] == 500 and b.iloc[1] < 250
    # the repetition effect is large even at quick size
    assert m["(b) held"]
    assert "claim:" in str(res)


@pytest.mark.slow
def test_only_if_quick():
    res = df.recipes.run("only-if", quick=True, seed=0)
    m, d = res.measured, res.details
    few, many = m["unseen-rule exact match with 8 rules"], m["unseen-rule exact match with 512 rules"]
    assert res.held == (m["emergence held"] and m["cross-domain held"])
    assert m["emergence held"] == (few <= ABSENT and many >= PRESENT)
    assert set(d["n_rules"]) == {8, 256, 512}
    # with 8 rules the model memorizes them: seen rules right, unseen rules wrong
    eight = d[d["n_rules"] == 8].iloc[0]
    assert eight["seen_exact_match_rewritten"] > 0.8 and eight["unseen_rule_exact_match"] < 0.1
