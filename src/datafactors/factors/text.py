"""Text factors: length distribution, vocabulary, lexical diversity, repetition, character make-up.

Computed from the raw text (``profile(ds, text=COL)``, or the dataset's own text column).
Two notions of a word, each stated in the row's note:

- *length in words* counts whitespace-separated tokens (language-agnostic where words are
  space-delimited; a Chinese or Japanese text without spaces is one "word"), length in
  characters counts code points;
- *vocabulary, type/token ratio, MATTR and 3-gram repetition* use the word tokens of
  :func:`datafactors.factors.concepts.tokenize` (lower-cased ASCII letters and digits, inner
  apostrophes), the same tokens as the diversity family's ``vocabulary_size`` (reported there,
  not repeated here): ``type_token_ratio`` is that vocabulary over ``n_tokens``.

MATTR (moving-average type/token ratio; Covington & McFall 2010) averages the type/token
ratio of every window of ``window`` consecutive tokens, so unlike the plain ratio it does
not fall as texts grow; a text shorter than the window contributes its own ratio, and the
family reports the mean over non-empty texts. Character shares (alphabetic, digit,
whitespace, punctuation, non-ASCII) are over all code points of the corpus; scripts are
read from Unicode character names (LATIN, CYRILLIC, CJK -> Han, ...) of the alphabetic
characters, an approximation of the Unicode Script property that Python's ``unicodedata``
lacks.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from .._errors import ConfigError
from . import family, row
from ._context import ProfileContext
from .concepts import tokenize

__all__ = ["char_shares", "length_summary", "mattr", "repeated_ngram_share", "script_shares", "type_token_ratio"]

FAMILY = "text"
_QUANTILES = (("mean", None), ("median", 50.0), ("p5", 5.0), ("p95", 95.0), ("max", None))
_NAME_PREFIXES = {"FULLWIDTH", "HALFWIDTH", "MATHEMATICAL", "SMALL", "CAPITAL", "CIRCLED", "PARENTHESIZED", "MODIFIER"}


def length_summary(lengths: Sequence[float]) -> dict[str, float]:
    """Mean, median, 5th and 95th percentile (linear interpolation) and max of ``lengths``.

    Examples
    --------
    >>> {k: round(v, 3) for k, v in length_summary([4, 2, 7]).items()}
    {'mean': 4.333, 'median': 4.0, 'p5': 2.2, 'p95': 6.7, 'max': 7.0}
    """
    a = np.asarray(lengths, dtype=np.float64)
    if a.size == 0:
        return {k: math.nan for k, _ in _QUANTILES}
    out = {}
    for key, q in _QUANTILES:
        v = a.mean() if key == "mean" else a.max() if key == "max" else np.percentile(a, q)
        out[key] = float(v)
    return out


def type_token_ratio(tokens: Sequence[str]) -> float:
    """Distinct tokens / tokens (NaN for no tokens).

    Examples
    --------
    >>> type_token_ratio(["a", "a", "a", "b"])
    0.5
    """
    return len(set(tokens)) / len(tokens) if len(tokens) else math.nan


def mattr(tokens: Sequence[str], window: int = 100) -> float:
    """Moving-average type/token ratio over windows of ``window`` tokens (the plain ratio when shorter).

    Examples
    --------
    >>> mattr(["a", "b", "a", "c"], window=3)  # windows 'a b a' (2/3) and 'b a c' (3/3)
    0.8333333333333334
    """
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
        raise ConfigError(f"window == {window!r}, must be an int >= 1")
    n = len(tokens)
    if n <= window:
        return type_token_ratio(tokens)
    counts = Counter(tokens[:window])
    total = len(counts)
    for i in range(window, n):
        new, old = tokens[i], tokens[i - window]
        counts[new] += 1
        counts[old] -= 1
        if counts[old] == 0:
            del counts[old]
        total += len(counts)
    return total / ((n - window + 1) * window)


def repeated_ngram_share(token_lists: Iterable[Sequence[str]], n: int = 3) -> float:
    """Share of word ``n``-grams that repeat an earlier ``n``-gram of the same text, pooled over texts.

    NaN when no text has ``n`` tokens.

    Examples
    --------
    >>> repeated_ngram_share([["x", "y", "z", "x", "y", "z"]])  # xyz yzx zxy xyz: 1 of 4 repeats
    0.25
    """
    dup = total = 0
    for toks in token_lists:
        grams = [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]
        total += len(grams)
        dup += len(grams) - len(set(grams))
    return dup / total if total else math.nan


def char_shares(texts: Iterable[str]) -> dict[str, float]:
    """Shares of alphabetic, digit, whitespace, punctuation (Unicode P*) and non-ASCII code points.

    Examples
    --------
    >>> char_shares(["ab 1!"])
    {'alpha': 0.4, 'digit': 0.2, 'whitespace': 0.2, 'punctuation': 0.2, 'non_ascii': 0.0}
    """
    counts = Counter()
    for t in texts:
        counts.update(t)
    total = sum(counts.values())
    out = dict.fromkeys(("alpha", "digit", "whitespace", "punctuation", "non_ascii"), 0)
    for c, k in counts.items():
        out["alpha"] += k * c.isalpha()
        out["digit"] += k * c.isdigit()
        out["whitespace"] += k * c.isspace()
        out["punctuation"] += k * unicodedata.category(c).startswith("P")
        out["non_ascii"] += k * (ord(c) > 127)
    return {key: (v / total if total else math.nan) for key, v in out.items()}


def _script(c: str) -> str:
    words = [w for w in unicodedata.name(c, "UNKNOWN").split() if w not in _NAME_PREFIXES]
    first = words[0] if words else "UNKNOWN"
    return "Han" if first == "CJK" else first.title()


def script_shares(texts: Iterable[str]) -> dict[str, float]:
    """Share of the alphabetic characters in each script, largest first.

    Examples
    --------
    >>> script_shares(["abc", "привет", "日本"])
    {'Cyrillic': 0.5454545454545454, 'Latin': 0.2727272727272727, 'Han': 0.18181818181818182}
    """
    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(c for c in t if c.isalpha())
    by_script: Counter[str] = Counter()
    for c, k in counts.items():
        by_script[_script(c)] += k
    total = sum(by_script.values())
    return {s: k / total for s, k in sorted(by_script.items(), key=lambda kv: (-kv[1], kv[0]))}


@family(FAMILY, description="text length, vocabulary, type/token ratio and MATTR, 3-gram repetition, characters")
def text_factors(ctx: ProfileContext) -> list[dict]:
    texts, col = ctx.texts, ctx.text_col
    if texts is None and getattr(ctx.ds, "text_column", None) is not None:
        texts, col = ctx.ds.texts("the text factors"), ctx.ds.text_column
    if texts is None:
        return [row(FAMILY, "length_words", note="not computed: no text column (pass text=<column>)")]
    rows = []
    for factor, lengths, what in (
        ("length_words", [len(t.split()) for t in texts], "whitespace-separated tokens per text"),
        ("length_chars", [len(t) for t in texts], "code points per text"),
    ):
        for key, v in length_summary(lengths).items():
            rows.append(row(FAMILY, factor, v, key=key, note=f"{what} of {col!r}"))
    tokens = [tokenize(t) for t in texts]
    flat = [w for toks in tokens for w in toks]
    word_note = "lower-cased word tokens (ASCII letters, digits) as concept_frequency reads them"
    rows += [
        row(FAMILY, "n_tokens", len(flat), note=word_note),
        row(
            FAMILY,
            "type_token_ratio",
            type_token_ratio(flat),
            note="vocabulary (the diversity family's vocabulary_size) / tokens over the whole corpus",
        ),
    ]
    non_empty = [toks for toks in tokens if toks]
    m = float(np.mean([mattr(toks, 100) for toks in non_empty])) if non_empty else math.nan
    rows.append(
        row(FAMILY, "mattr", m, note=f"mean over {len(non_empty)} non-empty texts of MATTR (100-token windows)")
    )
    rows.append(
        row(
            FAMILY,
            "repeated_3gram_share",
            repeated_ngram_share(tokens, 3),
            note="word 3-grams repeating an earlier 3-gram of the same text / all 3-grams",
        )
    )
    for key, v in char_shares(texts).items():
        rows.append(row(FAMILY, "char_share", v, key=key, note="share of all code points"))
    scripts = script_shares(texts)
    rows.append(row(FAMILY, "n_scripts", len(scripts), note="distinct scripts of the alphabetic characters"))
    rows += [
        row(FAMILY, "script_share", v, key=s, note="share of alphabetic characters (from Unicode names)")
        for s, v in scripts.items()
    ]
    return rows
