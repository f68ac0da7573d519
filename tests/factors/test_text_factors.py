"""Text factors: hand-computed values on tiny corpora, and the family inside profile()."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors._errors import ConfigError
from datafactors.factors import profile, vocabulary_size
from datafactors.factors.text import (
    char_shares,
    length_summary,
    mattr,
    repeated_ngram_share,
    script_shares,
    type_token_ratio,
)

# words (whitespace): 4, 2, 7; characters: 7, 13, 14; tokens: a a a b | hello world | x y z x y z 12
CORPUS = ["a a a b", "Hello, world!", "x y z x y z 12"]


def _ds(texts, text_column="text"):
    return df.Dataset.from_arrays(
        np.zeros((len(texts), 1)), None, extra=pd.DataFrame({"text": texts}), text_column=text_column
    )


def _values(prof, factor):
    sub = prof[(prof.family == "text") & (prof.factor == factor)]
    return dict(zip(sub.key, sub.value, strict=True))


def test_pure_functions_by_hand():
    assert type_token_ratio(["a", "a", "a", "b"]) == 0.5
    assert math.isnan(type_token_ratio([]))
    assert mattr(["a", "b", "a", "c"], window=2) == 1.0  # ab, ba, ac
    assert mattr(["a", "b", "a", "c"], window=3) == pytest.approx((2 / 3 + 1) / 2)
    assert mattr(["a", "a", "b"], window=100) == pytest.approx(2 / 3)  # shorter than the window: plain TTR
    # 200 tokens cycling over 10 types: every 100-window holds all 10 types, while the plain ratio is 10/200
    cyc = [f"w{i % 10}" for i in range(200)]
    assert mattr(cyc, 100) == pytest.approx(0.1) and type_token_ratio(cyc) == pytest.approx(0.05)
    with pytest.raises(ConfigError, match="window == 0, must be an int >= 1"):
        mattr(["a"], window=0)
    assert repeated_ngram_share([["a", "b", "c", "a", "b", "c"], ["a", "b"]]) == pytest.approx(1 / 4)
    assert math.isnan(repeated_ngram_share([["a", "b"]]))
    s = length_summary([4, 2, 7])
    assert s == pytest.approx({"mean": 13 / 3, "median": 4.0, "p5": 2.2, "p95": 6.7, "max": 7.0})


def test_character_shares_and_scripts_by_hand():
    assert char_shares(["ab 1!", "é"]) == pytest.approx(
        {"alpha": 3 / 6, "digit": 1 / 6, "whitespace": 1 / 6, "punctuation": 1 / 6, "non_ascii": 1 / 6}
    )
    got = script_shares(["abc", "привет", "日本", "ＡＢ"])  # fullwidth letters are Latin
    assert got == pytest.approx({"Cyrillic": 6 / 13, "Latin": 5 / 13, "Han": 2 / 13})
    assert list(got) == ["Cyrillic", "Latin", "Han"]


def test_family_on_a_three_text_corpus():
    prof = profile(_ds(CORPUS), families="text")
    assert set(prof.family) == {"text"}
    assert _values(prof, "length_words") == pytest.approx(
        {"mean": 13 / 3, "median": 4.0, "p5": 2.2, "p95": 6.7, "max": 7.0}
    )
    assert _values(prof, "length_chars") == pytest.approx(
        {"mean": 34 / 3, "median": 13.0, "p5": 7.6, "p95": 13.9, "max": 14.0}
    )
    one = {f: _values(prof, f)[""] for f in ("n_tokens", "type_token_ratio", "mattr")}
    # vocabulary {a, b, hello, world, x, y, z, 12}; 4 + 2 + 7 tokens
    assert one == pytest.approx({"n_tokens": 13, "type_token_ratio": 8 / 13, "mattr": (2 / 4 + 2 / 2 + 4 / 7) / 3})
    assert vocabulary_size(CORPUS) == 8  # the diversity family's count is the ratio's numerator
    # 3-grams: aaa aab | none | xyz yzx zxy xyz yz12 -> 1 repeat of 7
    assert _values(prof, "repeated_3gram_share")[""] == pytest.approx(1 / 7)
    # 34 characters: 20 letters, 2 digits, 10 spaces, ',' and '!'
    assert _values(prof, "char_share") == pytest.approx(
        {"alpha": 20 / 34, "digit": 2 / 34, "whitespace": 10 / 34, "punctuation": 2 / 34, "non_ascii": 0.0}
    )
    assert _values(prof, "n_scripts")[""] == 1 and _values(prof, "script_share") == {"Latin": 1.0}


def test_text_argument_and_missing_text():
    ds = _ds(CORPUS, text_column=None)
    none = profile(ds, families="text")
    assert len(none) == 1 and math.isnan(none.value.iloc[0]) and "no text column" in none.note.iloc[0]
    named = profile(ds, text="text", families="text")
    assert _values(named, "n_tokens")[""] == 13


def test_empty_texts_do_not_break_it():
    prof = profile(_ds(["", "   "]), families="text")
    assert _values(prof, "length_words")["max"] == 0.0
    assert math.isnan(_values(prof, "type_token_ratio")[""]) and math.isnan(_values(prof, "mattr")[""])
    assert _values(prof, "n_scripts")[""] == 0
