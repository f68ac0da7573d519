"""normalize_text: NFKC, lower case, whitespace folding, stripping."""

import pytest

from datafactors.featurize import normalize_text


def test_nfkc_ligature_and_fullwidth_digits():
    assert normalize_text("\ufb01le") == "file"
    assert normalize_text("\uff11\uff12\uff13") == "123"
    assert normalize_text("\uff21\uff22") == "ab"  # full-width capitals -> ASCII, then lower case


def test_case_folded_to_lower():
    assert normalize_text("Hello WORLD") == "hello world"


def test_whitespace_runs_become_one_space_and_are_stripped():
    assert normalize_text("a\t\tb\n\nc\u00a0\u00a0d  \r\n e") == "a b c d e"
    assert normalize_text("  \t padded \n ") == "padded"
    assert normalize_text("\u3000x\u2028y") == "x y"  # ideographic space, line separator


def test_empty_and_whitespace_only():
    assert normalize_text("") == ""
    assert normalize_text(" \t\n\u00a0") == ""


def test_idempotent_and_distinct_texts_stay_distinct():
    s = "  The \ufb01nal\tANSWER:\n \uff14\uff12 "
    assert normalize_text(normalize_text(s)) == normalize_text(s) == "the final answer: 42"
    assert normalize_text("a b") != normalize_text("ab")


def test_non_string_rejected():
    with pytest.raises(TypeError):
        normalize_text(None)
