"""The quality_rules filter, rule_report and rule_summary on corpora checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors._errors import ConfigError, DataError
from datafactors.select import REGISTRY, check_strategy, select
from datafactors.select.quality_rules import rule_report, rule_summary

TEXTS = [
    "The cat sat on the mat. The dog lay by the door. The end is near now.",  # passes
    "Lorem ipsum dolor sit amet. Second line is here. Third line is here.",  # no stop word, lorem ipsum
    "function f() { return the value of x; }",  # no terminal mark: 0 sentences; a brace
    "Too short.",  # no stop word; 2 words: the line is dropped, 0 sentences
]
OPTS = {"families": ["gopher_quality", "c4"], "rules": ["stop_words", "sentences", "lorem_ipsum", "curly_brace"]}


def _ds(texts):
    return df.Dataset.from_arrays(
        np.zeros((len(texts), 1), np.float32), None, extra=pd.DataFrame({"text": texts}), text_column="text"
    )


def test_registered_as_filter():
    fn = REGISTRY.get("quality_rules")
    assert fn.is_filter
    assert check_strategy("quality_rules", None, 4, {"min_words": 10, "max_top2gram": 0.3}) is None


def test_rule_report_by_hand():
    ds = _ds(TEXTS)
    rep = rule_report(ds, **OPTS)
    assert list(rep.columns) == ["id", "stop_words", "sentences", "lorem_ipsum", "curly_brace", "failed_rules"]
    assert rep["id"].tolist() == list(ds.ids)
    assert rep["stop_words"].tolist() == [False, True, False, True]
    assert rep["sentences"].tolist() == [False, False, True, True]
    assert rep["lorem_ipsum"].tolist() == [False, True, False, False]
    assert rep["curly_brace"].tolist() == [False, False, True, False]
    assert rep["failed_rules"].tolist() == [
        "",
        "stop_words,lorem_ipsum",
        "sentences,curly_brace",
        "stop_words,sentences",
    ]
    summ = rule_summary(rep)
    assert summ["rule"].tolist() == ["stop_words", "sentences", "lorem_ipsum", "curly_brace", "any"]
    assert summ["n_failed"].tolist() == [2, 2, 1, 1, 3]
    assert summ["share"].tolist() == [0.5, 0.5, 0.25, 0.25, 0.75]


def test_rule_report_agrees_with_the_score_columns():
    from datafactors.scores import compute
    from datafactors.scores.quality_rules import RULE_FAMILIES

    ds = _ds(TEXTS)
    rep = rule_report(ds).set_index("id")  # every rule of every family
    scores = compute(ds, list(RULE_FAMILIES))
    for fam, cls in RULE_FAMILIES.items():
        for rule in cls.rule_names():
            assert rep[rule].tolist() == scores[cls.fail_column(rule)].tolist(), (fam, rule)
        any_rule = rep[list(cls.rule_names())].any(axis=1)
        assert any_rule.tolist() == scores[f"{fam}_fail"].tolist(), fam


def test_short_texts_fail_the_word_count_rule_by_design():
    summ = rule_summary(rule_report(_ds(TEXTS)))  # every rule of every family
    row = summ.set_index("rule").loc["word_count"]
    assert row["n_failed"] == 4 and row["share"] == 1.0
    assert summ["rule"].iloc[-1] == "any" and summ["n_failed"].iloc[-1] == 4


def test_select_without_budget_keeps_exactly_the_passing_rows():
    ds = _ds(TEXTS * 2)
    rep = rule_report(ds, **OPTS)
    passing = np.flatnonzero(rep["failed_rules"].to_numpy() == "")
    got = select(ds, "quality_rules", None, **OPTS)
    assert got.tolist() == passing.tolist() == [0, 4]
    assert select(ds, "quality_rules", 1, **OPTS).tolist() == [0]
    with pytest.raises(DataError, match="only 2 of 8 rows pass quality_rules; the budget asks for 3"):
        select(ds, "quality_rules", 3, **OPTS)


def test_thresholds_pass_through():
    ds = _ds(TEXTS)
    assert select(ds, "quality_rules", None, **OPTS).tolist() == [0]
    # a lower sentence bar and no stop-word bar: the lorem ipsum row still fails, the others pass
    kept = select(ds, "quality_rules", None, **OPTS, min_sentences=0, min_stop_words=0, max_curly_brace=1)
    assert kept.tolist() == [0, 2, 3]
    rep = rule_report(ds, **OPTS, min_sentences=0)
    assert not rep["sentences"].any()


def test_errors():
    ds = _ds(TEXTS)
    with pytest.raises(ConfigError, match="unknown rule 'bogus' for quality_rules; known: word_count, "):
        select(ds, "quality_rules", None, rules=["bogus"])
    with pytest.raises(ConfigError, match="unknown rule family 'gopher'; known: gopher_quality, gopher_repetition, c4"):
        rule_report(ds, families=["gopher"])
    with pytest.raises(ConfigError, match="got unknown option"):
        select(ds, "quality_rules", None, min_wordz=3)
    with pytest.raises(ConfigError, match="threshold 'min_words' belongs to family 'gopher_quality'"):
        rule_report(ds, families=["c4"], min_words=3)
    with pytest.raises(DataError, match="reads raw text"):
        select(df.Dataset.from_arrays(np.zeros((2, 1)), None), "quality_rules", None)
    with pytest.raises(DataError, match="expects the DataFrame from rule_report"):
        rule_summary(pd.DataFrame({"x": [1]}))
