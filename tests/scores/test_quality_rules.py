"""Gopher quality, Gopher repetition and C4 rules: each rule at its threshold on both sides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors._errors import ConfigError, DataError
from datafactors.scores import REGISTRY, compute
from datafactors.scores.quality_rules import (
    C4Scorer,
    GopherQualityScorer,
    GopherRepetitionScorer,
    c4_kept_lines,
    c4_stats,
    gopher_quality_stats,
    gopher_repetition_stats,
)

CLEAN = """Rivers shape the land around them over long periods of time. Water carries sand and small stones \
downstream, and the moving load slowly cuts a channel into the rock below.
Where a river meets the sea, it drops much of that material. Deltas grow outward as new layers of mud settle \
with every flood season.

Farmers have long valued these plains because the soil is rich and easy to work. Cities often grew beside \
rivers that offered fresh water, food and a simple route for trade.
Engineers now build levees and dams to control floods, yet such works change how sediment moves. Some deltas \
are shrinking today because less mud reaches the coast.

Scientists measure flow, depth and sediment with sensors placed along each bank. Their records help planners \
decide where houses, roads and farms can stay safe during storms."""


def _ds(texts):
    return df.Dataset.from_arrays(
        np.zeros((len(texts), 1), np.float32), None, extra=pd.DataFrame({"text": texts}), text_column="text"
    )


def _fails(scorer, text, rule):
    """Whether ``text`` fails ``rule`` of ``scorer``, read from the rule's own ``_fail`` column.

    Checked to agree with ``rule_failures`` and with ``<scorer>_fail`` when only that rule is
    on (every other rule's ``_fail`` column then all False), and with the rule's column when
    every rule is on.
    """
    params = {k: getattr(scorer, k) for k in scorer.threshold_params()}
    ds = _ds([text])
    col = scorer.fail_column(rule)
    every = type(scorer).create(params).score(ds)
    got = bool(every[col].iloc[0])
    assert every[col].dtype == bool
    only = type(scorer).create({**params, "rules": [rule]})
    out = only.score(ds)
    assert got is bool(out[col].iloc[0]) is bool(only.rule_failures(ds)[rule].iloc[0])
    assert got is bool(out[f"{only.name}_fail"].iloc[0])
    others = [only.fail_column(r) for r in only.rule_names() if r != rule]
    assert not out[others].to_numpy().any()
    return got


def _words(n, length=4, start=0):
    """``n`` distinct lower-case words of ``length`` letters."""
    out = []
    for i in range(start, start + n):
        w, j = "", i
        for _ in range(length):
            w = chr(ord("a") + j % 26) + w
            j //= 26
        out.append(w)
    return out


# ---------------------------------------------------------------- the clean text passes everything


@pytest.mark.parametrize("name", ["gopher_quality", "gopher_repetition", "c4"])
def test_clean_text_passes_every_rule(name):
    s = REGISTRY.get(name)()
    fails = s.rule_failures(_ds([CLEAN]))
    assert list(fails.columns) == list(s.rule_names())
    assert not fails.to_numpy().any(), fails.T[fails.iloc[0]]
    out = s.score(_ds([CLEAN]))
    assert not out[[s.fail_column(r) for r in s.rule_names()]].to_numpy().any()
    assert not bool(out[f"{name}_fail"].iloc[0])


def test_declarations_and_columns():
    for name in ("gopher_quality", "gopher_repetition", "c4"):
        cls = REGISTRY.get(name)
        assert cls.needs_dynamics is False and cls.row_wise is True and cls.needs_labels is False
        stats = [cls.stat_column(r) for r in cls.rule_names()]
        fails = [f"{c}_fail" for c in stats]
        assert cls.column_names() == (*stats, *fails, f"{name}_fail")
        assert [cls.fail_column(r) for r in cls.rule_names()] == fails
        for fail in cls.columns[len(stats) :]:
            assert (fail.orientation, fail.low, fail.high) == ("harder", 0.0, 1.0), fail.name
    assert GopherQualityScorer.column_names()[:2] == ("gopher_word_count", "gopher_mean_word_length")
    assert "gopher_word_count_fail" in GopherQualityScorer.column_names()
    assert "rep_top2gram" in GopherRepetitionScorer.column_names()
    assert "rep_dup10gram_fail" in GopherRepetitionScorer.column_names()
    assert C4Scorer.column_names() == (
        "c4_sentences",
        "c4_lorem_ipsum",
        "c4_curly_brace",
        "c4_sentences_fail",
        "c4_lorem_ipsum_fail",
        "c4_curly_brace_fail",
        "c4_fail",
    )
    # unlabeled pool, via compute: the declared columns in order
    out = compute(_ds([CLEAN, "too short"]), ["gopher_quality", "gopher_repetition", "c4"])
    assert len(out.columns) == 2 * 8 + 1 + 2 * 13 + 1 + 2 * 3 + 1
    assert out["gopher_quality_fail"].tolist() == [False, True]
    assert out["gopher_word_count_fail"].tolist() == [False, True]
    assert out["gopher_hash_ratio_fail"].tolist() == [False, False]
    assert out["c4_fail"].tolist() == [False, True]
    assert out["c4_sentences_fail"].tolist() == [False, True]
    assert out["c4_curly_brace_fail"].tolist() == [False, False]


# ---------------------------------------------------------------- Gopher quality, both sides of each threshold

GQ = GopherQualityScorer()


def test_word_count_bounds():
    assert not _fails(GQ, " ".join(["cat"] * 50), "word_count")
    assert _fails(GQ, " ".join(["cat"] * 49), "word_count")
    assert not _fails(GQ, " ".join(["cat"] * 100_000), "word_count")
    assert _fails(GQ, " ".join(["cat"] * 100_001), "word_count")


def test_mean_word_length_bounds():
    assert not _fails(GQ, " ".join(["abc"] * 10), "mean_word_length")  # 3.0
    assert _fails(GQ, " ".join(["abc"] * 9 + ["ab"]), "mean_word_length")  # 2.9
    assert not _fails(GQ, " ".join(["abcdefghij"] * 10), "mean_word_length")  # 10.0
    assert _fails(GQ, " ".join(["abcdefghij"] * 9 + ["abcdefghijk"]), "mean_word_length")  # 10.1


@pytest.mark.parametrize("rule, symbol", [("hash_ratio", "#"), ("ellipsis_ratio", "...")])
def test_symbol_ratios(rule, symbol):
    words = _words(100)
    assert not _fails(GQ, " ".join(words + [symbol] * 10), rule)  # 10 / 100 = 0.1
    assert _fails(GQ, " ".join(words + [symbol] * 11), rule)  # 0.11


def test_bullet_lines():
    lines = [f"- item {w}" for w in _words(90)] + [f"plain {w}" for w in _words(10, start=90)]
    assert not _fails(GQ, "\n".join(lines), "bullet_lines")  # 0.90
    lines[-1] = "• " + lines[-1]
    assert _fails(GQ, "\n".join(lines), "bullet_lines")  # 0.91


def test_ellipsis_lines():
    lines = [f"line {w} ends..." for w in _words(30)] + [f"line {w} ends." for w in _words(70, start=30)]
    assert not _fails(GQ, "\n".join(lines), "ellipsis_lines")  # 0.30
    lines[-1] = lines[-1][:-1] + "…"
    assert _fails(GQ, "\n".join(lines), "ellipsis_lines")  # 0.31


def test_alpha_words():
    assert not _fails(GQ, " ".join(_words(80) + ["123"] * 20), "alpha_words")  # 0.80 hold a letter
    assert _fails(GQ, " ".join(_words(79) + ["123"] * 21), "alpha_words")  # 0.79


def test_stop_words():
    assert not _fails(GQ, "The cat and a dog", "stop_words")
    assert _fails(GQ, "The cat sat", "stop_words")


def test_gopher_quality_statistics_by_hand():
    s = gopher_quality_stats("The cat sat on the mat ...")
    assert s["word_count"] == 6  # '...' is no word
    assert s["mean_word_length"] == pytest.approx(17 / 6)
    assert s["ellipsis_ratio"] == pytest.approx(1 / 6)
    assert s["hash_ratio"] == 0.0
    assert s["alpha_words"] == pytest.approx(6 / 7)  # 7 tokens, 6 with a letter
    assert s["stop_words"] == 2  # 'The', 'the'
    assert s["ellipsis_lines"] == 1.0 and s["bullet_lines"] == 0.0
    s = gopher_quality_stats("# Title\n- one, two\n\n- three")
    assert s["word_count"] == 4 and s["hash_ratio"] == pytest.approx(1 / 4)
    assert s["bullet_lines"] == pytest.approx(2 / 3)
    assert gopher_quality_stats("")["word_count"] == 0.0


# ---------------------------------------------------------------- Gopher repetition

GR = GopherRepetitionScorer()


@pytest.mark.parametrize(
    "rule, sep, dups",
    [("dup_line_frac", "\n", 30), ("dup_line_char_frac", "\n", 20), ("dup_para_frac", "\n\n", 30),
     ("dup_para_char_frac", "\n\n", 20)],
)  # fmt: skip
def test_duplicate_lines_and_paragraphs(rule, sep, dups):
    def text(d):  # 100 items of equal length, d of them repeating the first
        items = [f"item {w}" for w in _words(100 - d)] + ["item aaaa"] * d
        return sep.join(items)

    assert not _fails(GR, text(dups), rule)
    assert _fails(GR, text(dups + 1), rule)


@pytest.mark.parametrize("n, m_inside", [(2, 10), (3, 6), (4, 4)])
def test_top_ngram(n, m_inside):
    gram = _words(n, start=500)

    def text(m):  # 100 four-letter words; the n-gram m times (n * m of them)
        words = []
        uniq = iter(_words(100))
        for _ in range(m):
            words += gram + [next(uniq)]
        while len(words) < 100:
            words.append(next(uniq))
        return " ".join(words)

    assert not _fails(GR, text(m_inside), f"top{n}gram")  # n * m / 100 == threshold
    assert _fails(GR, text(m_inside + 1), f"top{n}gram")


@pytest.mark.parametrize("n", range(5, 11))
def test_duplicated_ngrams(n):
    limit = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}[n]
    inside = round(limit * 200 / 2)  # a block of L words, twice, in 200 words: share 2L / 200

    def text(L):
        block = _words(L, start=1000)
        rest = _words(200 - 2 * L)
        half = len(rest) // 2
        return " ".join(block + rest[:half] + block + rest[half:])

    assert gopher_repetition_stats(text(inside))[f"dup{n}gram"] == limit
    assert not _fails(GR, text(inside), f"dup{n}gram")
    assert _fails(GR, text(inside + 1), f"dup{n}gram")


def test_gopher_repetition_statistics_by_hand():
    s = gopher_repetition_stats("a b\na b\nc d")
    assert s["dup_line_frac"] == pytest.approx(1 / 3)
    assert s["dup_line_char_frac"] == pytest.approx(3 / 9)
    assert s["dup_para_frac"] == 0.0 and s["dup_para_char_frac"] == 0.0  # one paragraph
    assert s["top2gram"] == pytest.approx(4 / 6)  # 'a b' twice covers 4 of 6 one-letter words
    assert s["top3gram"] == 0.0 and s["dup5gram"] == 0.0
    s = gopher_repetition_stats("xx yy\n\nxx yy\n\nzzz")
    assert s["dup_para_frac"] == pytest.approx(1 / 3)
    assert s["dup_para_char_frac"] == pytest.approx(5 / 13)


# ---------------------------------------------------------------- C4

C4 = C4Scorer()


def test_c4_sentences():
    three = "The first line is here.\nThe second line is here!\nIs this the third one?"
    assert c4_stats(three)["sentences"] == 3
    assert not _fails(C4, three, "sentences")
    assert _fails(C4, "The first line is here.\nThe second line is here!", "sentences")
    assert not _fails(C4, "One. Two. Three short sentences here.", "sentences")  # counted within a line
    # a line of 4 words is dropped by the default line rule (5 words), and its sentence with it
    assert _fails(C4, "The first line is here.\nThe second line is here!\nIs this the third?", "sentences")


def test_c4_defaults_follow_the_paper():
    # Raffel et al. 2020 Sec. 2.2 and TFDS c4_utils: lines of >= 5 words, pages of >= 3 sentences
    assert C4Scorer.param_defaults()["min_line_words"] == 5
    assert C4Scorer.param_defaults()["min_sentences"] == 3
    five, four = "One two three four five.", "One two three four."
    assert c4_kept_lines(five) == [five] and c4_kept_lines(four) == []
    # both sides of the line rule, seen through the page's sentence rule and its own _fail column
    assert not _fails(C4, "\n".join([five] * 3), "sentences")
    assert _fails(C4, "\n".join([five, five, four]), "sentences")
    assert not _fails(C4Scorer(min_line_words=3, min_sentences=5), "\n".join([four] * 5), "sentences")


def test_c4_lorem_ipsum_and_curly_brace():
    assert not _fails(C4, CLEAN, "lorem_ipsum") and not _fails(C4, CLEAN, "curly_brace")
    assert _fails(C4, CLEAN + "\nLorem Ipsum dolor sit amet.", "lorem_ipsum")
    assert _fails(C4, CLEAN + "\nvar x = {};", "curly_brace")


def test_c4_line_rules():
    text = "\n".join(
        [
            "Three words here.",
            "Two words.",
            "No terminal mark here",
            "Trailing off here...",
            "Please enable JavaScript to view this.",
            "This site uses cookies to work.",
            "A longer line of five words.",
        ]
    )
    assert c4_kept_lines(text) == ["A longer line of five words."]  # default: at least 5 words
    assert c4_kept_lines(text, min_line_words=3) == ["Three words here.", "A longer line of five words."]
    assert "Two words." in c4_kept_lines(text, min_line_words=2)
    assert "No terminal mark here" in c4_kept_lines(text, line_punct=False, min_line_words=3)
    assert len(c4_kept_lines(text, javascript_lines=False, policy_lines=False)) == 3
    assert len(c4_kept_lines(text, min_line_words=3, javascript_lines=False, policy_lines=False)) == 4
    assert c4_stats(text)["sentences"] == 1
    assert c4_stats(text, min_line_words=3)["sentences"] == 2
    assert c4_stats("One sentence here. Another one here!\nlorem ipsum {x}") == {
        "sentences": 2.0,
        "lorem_ipsum": 1.0,
        "curly_brace": 1.0,
    }


# ---------------------------------------------------------------- settable thresholds, rules, errors


def test_thresholds_flip_verdicts():
    short = " ".join(_words(20))
    assert _fails(GQ, short, "word_count")
    assert not _fails(GopherQualityScorer(min_words=20), short, "word_count")
    two = "The first line is here.\nThe second line is here!"
    assert not _fails(C4Scorer(min_sentences=2), two, "sentences")
    assert _fails(C4Scorer(min_line_words=5), "One two three four.\nA b c d.\nE f g h.", "sentences")
    assert not _fails(C4Scorer(min_line_words=4), "One two three four.\nA b c d.\nE f g h.", "sentences")
    rep = "a b\na b\nc d"
    assert _fails(GR, rep, "dup_line_frac")
    assert not _fails(GopherRepetitionScorer(max_dup_line_frac=0.5), rep, "dup_line_frac")
    # the same threshold from compute's spec form
    out = compute(_ds([short]), [("gopher_quality", {"rules": ["word_count"], "min_words": 20})])
    assert out["gopher_quality_fail"].tolist() == [False]


def test_rules_switch_the_fail_columns():
    ds = _ds(["too short"])
    full = GopherQualityScorer().score(ds)
    assert bool(full["gopher_quality_fail"].iloc[0])
    assert full.loc[:, "gopher_word_count_fail":"gopher_stop_words_fail"].iloc[0].to_dict() == {
        "gopher_word_count_fail": True,  # 2 words < 50
        "gopher_mean_word_length_fail": False,  # 4.0
        "gopher_hash_ratio_fail": False,
        "gopher_ellipsis_ratio_fail": False,
        "gopher_bullet_lines_fail": False,
        "gopher_ellipsis_lines_fail": False,
        "gopher_alpha_words_fail": False,
        "gopher_stop_words_fail": True,  # none of the stop words
    }
    out = GopherQualityScorer(rules="hash_ratio, bullet_lines").score(ds)
    assert tuple(out.columns) == GopherQualityScorer.column_names()  # the declared columns whatever the rules
    assert not bool(out["gopher_quality_fail"].iloc[0])
    assert not bool(out["gopher_word_count_fail"].iloc[0])  # off: all False
    assert out["gopher_word_count"].iloc[0] == 2  # statistics are written whatever the rules
    only = GopherQualityScorer(rules="stop_words").score(ds)
    assert bool(only["gopher_stop_words_fail"].iloc[0]) and not bool(only["gopher_word_count_fail"].iloc[0])
    assert list(GopherQualityScorer(rules=["stop_words", "word_count"]).rule_failures(ds).columns) == [
        "word_count",
        "stop_words",
    ]


def test_unknown_rule_is_one_error():
    known = ", ".join(GopherQualityScorer.rule_names())
    with pytest.raises(ConfigError, match=f"^unknown rule 'bogus' for 'gopher_quality'; known: {known}$"):
        GopherQualityScorer.create({"rules": ["word_count", "bogus"]})
    with pytest.raises(ConfigError, match="unknown rule 'bogus' for 'c4'; known: sentences, lorem_ipsum, curly_brace"):
        compute(_ds([CLEAN]), [("c4", {"rules": "bogus"})])


def test_bad_thresholds_and_no_text():
    with pytest.raises(ConfigError, match="max_hash_ratio == -1"):
        GopherQualityScorer.create({"max_hash_ratio": -1})
    with pytest.raises(ConfigError, match="min_words == 60 exceeds max_words == 50"):
        GopherQualityScorer.create({"min_words": 60, "max_words": 50})
    with pytest.raises(ConfigError, match="min_line_words == 2.5"):
        C4Scorer.create({"min_line_words": 2.5})
    with pytest.raises(ConfigError, match="unknown parameter 'min_words_per_line' for score 'c4'"):
        C4Scorer.create({"min_words_per_line": 5})
    no_text = df.Dataset.from_arrays(np.zeros((2, 1)), None)
    with pytest.raises(DataError, match="reads raw text"):
        compute(no_text, ["c4"])


# ---------------------------------------------------------------- consumers of the columns


def test_report_shows_every_quality_column(tmp_path):
    import json

    from datafactors.report import build_report

    texts = [CLEAN, "too short", "f(x) { return 1; }", CLEAN + "\nLorem ipsum dolor sit amet, here it is."]
    out = compute(_ds(texts), ["gopher_quality", "gopher_repetition", "c4"]).reset_index()
    run = tmp_path / "run-1"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"run_id": "run-1", "status": "complete"}))
    out.to_parquet(run / "scores.parquet")
    html = build_report(run).read_text(encoding="utf-8")  # 24 statistics: more histograms than one figure holds
    section = html.split("<h2>Score distributions</h2>")[1].split("<h2>")[0]
    assert 'id="fig-score-histograms"' in section and 'id="fig-score-histograms-2"' in section
    flags = section.split("<h3>Boolean columns</h3>")[1]
    assert "gopher_word_count_fail" in flags and "c4_lorem_ipsum_fail" in flags and "c4_fail" in flags
