"""Heuristic text-quality rules: Gopher quality, Gopher repetition and C4, as row-wise scores.

Three registered scorers read the raw text of the dataset's text column (``ds.texts()``),
never the embedding, and need no labels. Each writes, always (so the columns are the
declared ones whatever rules are on):

- one column per rule holding the rule's statistic (``gopher_word_count``, ...);
- one boolean column per rule, ``<statistic column>_fail`` (``gopher_word_count_fail``,
  ``rep_dup_line_frac_fail``, ``c4_sentences_fail``, ...): True when the document fails
  that rule; all False for a rule switched off with ``rules=[...]``;
- one boolean ``<scorer>_fail`` column: True when the document fails at least one
  *enabled* rule (``rules=[...]``; None = all).

The boolean columns are declared "harder" with range [0, 1]. The same verdicts as a table
per enabled rule are :meth:`_RuleScorer.rule_failures` and
:func:`datafactors.select.quality_rules.rule_report`. Every threshold is a constructor
parameter whose default is the published value; a document exactly at a threshold is kept
(the papers say "greater than" / "fewer than"), as in datatrove.

Words are whitespace-separated tokens. For the word counts, word lengths and stop words a
token made only of punctuation and symbols (``#``, ``...``, ``-``, ``•``) is not a word, and
a word's edge punctuation is stripped.

**Gopher quality** (``gopher_quality``; Rae et al. 2021, *Scaling Language Models: Methods,
Analysis & Insights from Training Gopher*, App. A.1.1):

================  ===========================================  =================================
rule              column: statistic                            fails when (defaults)
================  ===========================================  =================================
word_count        ``gopher_word_count``: words                 < 50 or > 100,000
mean_word_length  ``gopher_mean_word_length``                  < 3 or > 10
hash_ratio        ``gopher_hash_ratio``: ``#`` count / words    > 0.1
ellipsis_ratio    ``gopher_ellipsis_ratio``: ``...``/``…``       > 0.1
                  count / words
bullet_lines      ``gopher_bullet_lines``: share of non-blank  > 0.9
                  lines starting with ``• ‣ ◦ ⁃ ∙ - *``
ellipsis_lines    ``gopher_ellipsis_lines``: share of          > 0.3
                  non-blank lines ending in ``...``/``…``
alpha_words       ``gopher_alpha_words``: share of tokens      < 0.8
                  holding an alphabetic character
stop_words        ``gopher_stop_words``: occurrences of {the,  < 2
                  be, to, of, and, that, have, with}
================  ===========================================  =================================

**Gopher repetition** (``gopher_repetition``; same paper, Table A1). Lines are the non-blank
lines (stripped), paragraphs the blocks between blank lines; a duplicate is an occurrence
after the first. Characters of lines and paragraphs are their stripped lengths; characters
of n-grams are the characters of their words (whitespace excluded), a word covered by
several n-grams counted once.

==================  ==============================================================  =====================
rule                column ``rep_<rule>``: statistic                                 fails when >
==================  ==============================================================  =====================
dup_line_frac       duplicate lines / lines                                          0.30
dup_line_char_frac  characters in duplicate lines / characters in lines              0.20
dup_para_frac       duplicate paragraphs / paragraphs                                0.30
dup_para_char_frac  characters in duplicate paragraphs / in paragraphs               0.20
top2gram .. 4gram   share of word characters covered by the most frequent word      0.20, 0.18, 0.16
                    n-gram (0 when no n-gram occurs twice)
dup5gram .. 10gram  share of word characters covered by word n-grams occurring       0.15, 0.14, 0.13,
                    twice or more (every occurrence)                                 0.12, 0.11, 0.10
==================  ==============================================================  =====================

**C4** (``c4``; Raffel et al. 2020, Sec. 2.2, the line rules as in TensorFlow Datasets'
``c4_utils``). Line cleaning first: a non-blank line is kept when it ends in terminal
punctuation (``. ! ? " ”``, not an ellipsis; ``line_punct``), has at least ``min_line_words``
words (default **5**), has no word longer than ``max_word_length`` (1000), does not mention
"javascript" (``javascript_lines``) and holds none of the cookie / terms-of-use phrases of
``c4_utils`` (``policy_lines``). Then the page rules, ``min_sentences`` default **3**.

The defaults are the paper's ("We discarded any page with fewer than 3 sentences and only
retained lines that contained at least 5 words") and TFDS ``c4_utils``' (``_MIN_WORDS_PER_LINE
= 5``, ``_MIN_NUM_SENTENCES = 3``). datatrove's ``C4QualityFilter`` (and re-implementations
quoting it) swaps the two numbers, 3 words per line and 5 sentences: set
``min_line_words=3, min_sentences=5`` to match it.

===========  ==============================================================  ==========
rule         column: statistic                                               fails when
===========  ==============================================================  ==========
sentences    ``c4_sentences``: sentences in the kept lines (runs of          < 3
             ``. ! ?`` ending a sentence, at least one per kept line)
lorem_ipsum  ``c4_lorem_ipsum``: occurrences of "lorem ipsum" (any case)     > 0
curly_brace  ``c4_curly_brace``: ``{`` characters in the page               > 0
===========  ==============================================================  ==========

C4's bad-words list and its three-sentence-span deduplication are not applied.

Short-text corpora (quotes, captions, instructions) fail ``word_count`` and ``sentences`` by
design; :func:`datafactors.select.quality_rules.rule_summary` counts how many rows each rule
removes.
"""

from __future__ import annotations

import numbers
import re
import unicodedata
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from .base import ScoreColumn, Scorer, register

__all__ = [
    "C4Scorer",
    "GopherQualityScorer",
    "GopherRepetitionScorer",
    "QUALITY_SCORERS",
    "RULE_FAMILIES",
    "c4_kept_lines",
    "c4_stats",
    "gopher_quality_stats",
    "gopher_repetition_stats",
    "parse_rules",
]

GOPHER_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
BULLETS = ("•", "‣", "◦", "⁃", "∙", "-", "*")
C4_END_MARKS = (".", "!", "?", '"', "”")
C4_POLICY_PHRASES = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
_EDGE = re.compile(r"^[\W_]+|[\W_]+$")
_SENTENCE_END = re.compile(r"[.!?]+(?=[\"'”’)\]]*(?:\s|$))")
_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n")


# ---------------------------------------------------------------- pure functions


def _is_symbolic(token: str) -> bool:
    """True when every character of ``token`` is punctuation or a symbol."""
    return all(unicodedata.category(c)[0] in "PS" for c in token)


def _check_text(text: Any) -> str:
    if not isinstance(text, str):
        raise DataError(f"text must be a string, got {type(text).__name__} {text!r}")
    return text


def _lines(text: str) -> list[str]:
    return [s for s in (line.strip() for line in text.splitlines()) if s]


def gopher_quality_stats(text: str, *, stop_words: Sequence[str] = GOPHER_STOP_WORDS) -> dict[str, float]:
    """The Gopher quality statistics of one document, by rule name (see the module notes).

    Examples
    --------
    >>> s = gopher_quality_stats("The cat sat on the mat ...")
    >>> s["word_count"], round(s["mean_word_length"], 4), s["stop_words"]
    (6.0, 2.8333, 2.0)
    """
    text = _check_text(text)
    tokens = text.split()
    words = [w for w in (_EDGE.sub("", t) for t in tokens if not _is_symbolic(t)) if w]
    n_words = len(words)
    lines = _lines(text)
    stops = set(stop_words)
    per_word = max(n_words, 1)
    per_line = max(len(lines), 1)
    return {
        "word_count": float(n_words),
        "mean_word_length": float(np.mean([len(w) for w in words])) if words else 0.0,
        "hash_ratio": text.count("#") / per_word,
        "ellipsis_ratio": (text.count("...") + text.count("…")) / per_word,
        "bullet_lines": sum(s.startswith(BULLETS) for s in lines) / per_line,
        "ellipsis_lines": sum(s.endswith(("...", "…")) for s in lines) / per_line,
        "alpha_words": sum(any(c.isalpha() for c in t) for t in tokens) / max(len(tokens), 1),
        "stop_words": float(sum(w.lower() in stops for w in words)),
    }


def _duplicates(items: list[str]) -> tuple[float, float]:
    """(share of items that repeat an earlier one, share of their characters)."""
    seen: set[str] = set()
    dup = dup_chars = 0
    for s in items:
        if s in seen:
            dup += 1
            dup_chars += len(s)
        else:
            seen.add(s)
    total_chars = sum(len(s) for s in items)
    return dup / max(len(items), 1), dup_chars / max(total_chars, 1)


def _covered_share(lengths: np.ndarray, starts: np.ndarray, n: int) -> float:
    """Share of the characters of words covered by the n-grams starting at ``starts``."""
    if starts.size == 0:
        return 0.0
    diff = np.zeros(lengths.size + 1, dtype=np.int64)
    np.add.at(diff, starts, 1)
    np.add.at(diff, starts + n, -1)
    covered = np.cumsum(diff[:-1]) > 0
    return float(lengths[covered].sum() / max(lengths.sum(), 1))


def _ngram_ids(words: list[str], n: int) -> np.ndarray:
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    index: dict[tuple, int] = {}
    return np.fromiter((index.setdefault(g, len(index)) for g in grams), dtype=np.int64, count=len(grams))


def gopher_repetition_stats(text: str) -> dict[str, float]:
    """The Gopher repetition statistics of one document, by rule name (see the module notes).

    Examples
    --------
    >>> s = gopher_repetition_stats("a b\\na b\\nc d")
    >>> round(s["dup_line_frac"], 4), round(s["top2gram"], 4)
    (0.3333, 0.6667)
    """
    text = _check_text(text)
    out: dict[str, float] = {}
    out["dup_line_frac"], out["dup_line_char_frac"] = _duplicates(_lines(text))
    paragraphs = [s for s in (p.strip() for p in _PARAGRAPH.split(text)) if s]
    out["dup_para_frac"], out["dup_para_char_frac"] = _duplicates(paragraphs)
    words = text.split()
    lengths = np.array([len(w) for w in words], dtype=np.int64)
    for n in (2, 3, 4):
        ids = _ngram_ids(words, n)
        share = 0.0
        if ids.size:
            counts = np.bincount(ids)
            top = counts.max()
            if top >= 2:
                share = max(_covered_share(lengths, np.flatnonzero(ids == g), n) for g in np.flatnonzero(counts == top))
        out[f"top{n}gram"] = share
    for n in range(5, 11):
        ids = _ngram_ids(words, n)
        starts = np.flatnonzero(np.bincount(ids)[ids] > 1) if ids.size else ids
        out[f"dup{n}gram"] = _covered_share(lengths, starts, n)
    return out


def c4_kept_lines(
    text: str,
    *,
    line_punct: bool = True,
    min_line_words: int = 5,
    max_word_length: int = 1000,
    javascript_lines: bool = True,
    policy_lines: bool = True,
) -> list[str]:
    """The lines of ``text`` that C4's line rules keep (stripped, in order).

    Examples
    --------
    >>> text = "A line of five words.\\nno end mark on this line\\nFour words only here.\\nPlease enable JavaScript now."
    >>> c4_kept_lines(text)
    ['A line of five words.']
    """
    text = _check_text(text)
    kept = []
    for line in _lines(text):
        words = line.split()
        if max_word_length > 0 and any(len(w) > max_word_length for w in words):
            continue
        if line_punct and (not line.endswith(C4_END_MARKS) or line.endswith(("...", "…"))):
            continue
        if len(words) < min_line_words:
            continue
        low = line.lower()
        if javascript_lines and "javascript" in low:
            continue
        if policy_lines and any(p in low for p in C4_POLICY_PHRASES):
            continue
        kept.append(line)
    return kept


def c4_stats(text: str, **line_rules: Any) -> dict[str, float]:
    """The C4 page statistics of one document, by rule name; ``line_rules`` go to :func:`c4_kept_lines`.

    Examples
    --------
    >>> c4_stats("One sentence here. Another one here!\\nlorem ipsum {x}")
    {'sentences': 2.0, 'lorem_ipsum': 1.0, 'curly_brace': 1.0}
    """
    text = _check_text(text)
    kept = c4_kept_lines(text, **line_rules)
    sentences = sum(max(1, len(_SENTENCE_END.findall(s))) for s in kept)
    return {
        "sentences": float(sentences),
        "lorem_ipsum": float(text.lower().count("lorem ipsum")),
        "curly_brace": float(text.count("{")),
    }


# ---------------------------------------------------------------- parameter checks


def parse_rules(rules: Any, known: Sequence[str], owner: str) -> tuple[str, ...]:
    """``rules`` (None = all, names, or "a,b") as a tuple in ``known`` order; unknown names raise ConfigError.

    Examples
    --------
    >>> parse_rules("b, a", ["a", "b", "c"], "demo")
    ('a', 'b')
    """
    if rules is None:
        return tuple(known)
    if isinstance(rules, str):
        names = [r.strip() for r in rules.split(",") if r.strip()]
    elif isinstance(rules, Sequence) and all(isinstance(r, str) for r in rules):
        names = [r.strip() for r in rules]
    else:
        raise ConfigError(f"rules == {rules!r} for {owner!r}, must be a list of rule names or None for all")
    unknown = [r for r in names if r not in known]
    if unknown:
        raise ConfigError(f"unknown rule {unknown[0]!r} for {owner!r}; known: {', '.join(known)}")
    if not names:
        raise ConfigError(f"rules for {owner!r} names no rule; known: {', '.join(known)} (None for all)")
    return tuple(r for r in known if r in names)


def _number(name: str, value: Any, low: float = 0.0, high: float = np.inf) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not low <= float(value) <= high:
        raise ConfigError(f"{name} == {value!r}, must be a number in [{low}, {high}]")


def _texts(ds: Any, what: str) -> list[str]:
    if hasattr(ds, "texts"):
        return ds.texts(what)
    col = getattr(ds, "text_column", None)
    if col is None or ds.extra is None:
        raise DataError(f"{what} reads raw text, and {ds.name} has no text column: pass --text COL")
    return [str(v) for v in ds.extra[col].tolist()]


# ---------------------------------------------------------------- the scorers

_INF = np.inf


class _RuleScorer(Scorer):
    """A family of rules: per rule a statistic column and a ``<statistic>_fail`` column; one ``<name>_fail`` column.

    Subclasses fill ``RULES``: rule -> (statistic column, fails-when-above parameter or None,
    fails-when-below parameter or None), and implement :meth:`stats` for one text.
    """

    needs_dynamics = False
    needs_labels = False
    row_wise = True
    RULES: ClassVar[dict[str, tuple[str, str | None, str | None]]] = {}

    rules: Any

    @classmethod
    def rule_names(cls) -> tuple[str, ...]:
        return tuple(cls.RULES)

    @classmethod
    def stat_column(cls, rule: str) -> str:
        return cls.RULES[rule][0]

    @classmethod
    def fail_column(cls, rule: str) -> str:
        """The boolean column of ``rule``: its statistic column with ``_fail`` appended."""
        return f"{cls.RULES[rule][0]}_fail"

    @classmethod
    def threshold_params(cls) -> tuple[str, ...]:
        """The constructor's parameters other than ``rules``."""
        return tuple(p for p in cls.param_defaults() if p != "rules")

    def enabled(self) -> tuple[str, ...]:
        return parse_rules(self.rules, self.rule_names(), self.name)

    def stats(self, text: str) -> dict[str, float]:
        raise NotImplementedError

    def check(self) -> None:
        self.enabled()
        for above, below in (v[1:] for v in self.RULES.values()):
            for p in (above, below):
                if p is not None:
                    _number(p, getattr(self, p))

    def fails(self, rule: str, value: np.ndarray) -> np.ndarray:
        """(n,) bool: which values of ``rule``'s statistic fail it (a value at the threshold passes)."""
        _, above, below = self.RULES[rule]
        value = np.asarray(value, dtype=np.float64)
        out = np.zeros(value.shape, dtype=bool)
        if above is not None:
            out |= value > float(getattr(self, above))
        if below is not None:
            out |= value < float(getattr(self, below))
        return out

    def evaluate(self, texts: Sequence[str]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """(statistic by column, fail mask by enabled rule) for ``texts``."""
        rules = self.enabled()
        rows = [self.stats(t) for t in texts]
        stats = {self.stat_column(r): np.array([x[r] for x in rows], dtype=np.float64) for r in self.RULES}
        fails = {r: self.fails(r, stats[self.stat_column(r)]) for r in rules}
        return stats, fails

    def rule_failures(self, ds: Any) -> pd.DataFrame:
        """(n, enabled rules) bool DataFrame indexed by id: True where the row fails the rule."""
        _, fails = self.evaluate(_texts(ds, f"score {self.name!r}"))
        return pd.DataFrame(fails, index=pd.Index(ds.ids, name="id"))

    def score(self, ds: Any, *, dynamics: Any = None, embeddings: Any = None, seed: int = 0) -> pd.DataFrame:
        stats, fails = self.evaluate(_texts(ds, f"score {self.name!r}"))
        off = np.zeros(ds.n, dtype=bool)
        # a disabled rule keeps its (all False) column, so the output is the declared columns whatever rules are on
        per_rule = {self.fail_column(r): fails.get(r, off) for r in self.RULES}
        any_fail = np.logical_or.reduce([off, *fails.values()])
        return self._frame(ds, {**stats, **per_rule, f"{self.name}_fail": any_fail})


def _columns(name: str, rules: dict[str, tuple[str, str | None, str | None]], meta: dict) -> tuple:
    """Statistic columns in rule order, then each rule's ``<statistic>_fail``, then ``<name>_fail``."""
    out = []
    for rule, (col, _, _) in rules.items():
        orientation, high, what = meta[rule]
        out.append(ScoreColumn(col, orientation, 0.0, high, what))
    for rule, (col, _, _) in rules.items():
        what = f"True when the document fails the {name} rule {rule} (always False when the rule is off)"
        out.append(ScoreColumn(f"{col}_fail", "harder", 0.0, 1.0, what))
    out.append(ScoreColumn(f"{name}_fail", "harder", 0.0, 1.0, f"True when the document fails an enabled {name} rule"))
    return tuple(out)


_GQ_RULES: dict[str, tuple[str, str | None, str | None]] = {
    "word_count": ("gopher_word_count", "max_words", "min_words"),
    "mean_word_length": ("gopher_mean_word_length", "max_mean_word_length", "min_mean_word_length"),
    "hash_ratio": ("gopher_hash_ratio", "max_hash_ratio", None),
    "ellipsis_ratio": ("gopher_ellipsis_ratio", "max_ellipsis_ratio", None),
    "bullet_lines": ("gopher_bullet_lines", "max_bullet_lines", None),
    "ellipsis_lines": ("gopher_ellipsis_lines", "max_ellipsis_lines", None),
    "alpha_words": ("gopher_alpha_words", None, "min_alpha_words"),
    "stop_words": ("gopher_stop_words", None, "min_stop_words"),
}
_GQ_META = {
    "word_count": ("ambiguous", _INF, "words (non-symbol tokens); fails below min_words or above max_words"),
    "mean_word_length": ("ambiguous", _INF, "mean word length in characters; fails outside [min, max]"),
    "hash_ratio": ("harder", _INF, "'#' symbols per word"),
    "ellipsis_ratio": ("harder", _INF, "ellipses ('...' or '…') per word"),
    "bullet_lines": ("harder", 1.0, "share of non-blank lines starting with a bullet"),
    "ellipsis_lines": ("harder", 1.0, "share of non-blank lines ending with an ellipsis"),
    "alpha_words": ("easier", 1.0, "share of tokens holding an alphabetic character (higher = better)"),
    "stop_words": ("easier", _INF, "occurrences of the Gopher stop words (higher = better)"),
}


@register
class GopherQualityScorer(_RuleScorer):
    """Gopher quality rules (Rae et al. 2021): length, word length, symbols, bullets, letters, stop words.

    Parameters
    ----------
    rules : the rules that decide ``gopher_quality_fail`` and their own ``<column>_fail``
        (None = all): word_count, mean_word_length, hash_ratio, ellipsis_ratio,
        bullet_lines, ellipsis_lines, alpha_words, stop_words. Every column is written
        either way (a disabled rule's ``_fail`` column is all False).
    min_words, max_words : keep 50 <= words <= 100,000.
    min_mean_word_length, max_mean_word_length : keep a mean word length in [3, 10].
    max_hash_ratio, max_ellipsis_ratio : keep at most 0.1 '#' / ellipses per word.
    max_bullet_lines, max_ellipsis_lines : keep at most 90% bullet lines, 30% ellipsis lines.
    min_alpha_words : keep when at least 80% of tokens hold a letter.
    min_stop_words : keep at least 2 stop-word occurrences; ``stop_words`` the list.

    Examples
    --------
    >>> import numpy as np, pandas as pd, datafactors as df
    >>> ds = df.Dataset.from_arrays(np.zeros((1, 1)), extra=pd.DataFrame({"t": ["too short"]}), text_column="t")
    >>> out = GopherQualityScorer(rules=["word_count"]).score(ds)
    >>> bool(out["gopher_word_count_fail"].iloc[0]), bool(out["gopher_stop_words_fail"].iloc[0])
    (True, False)
    >>> bool(out["gopher_quality_fail"].iloc[0])
    True
    """

    name = "gopher_quality"
    RULES = _GQ_RULES
    columns = _columns("gopher_quality", _GQ_RULES, _GQ_META)

    def __init__(
        self,
        rules: Sequence[str] | str | None = None,
        min_words: float = 50,
        max_words: float = 100_000,
        min_mean_word_length: float = 3.0,
        max_mean_word_length: float = 10.0,
        max_hash_ratio: float = 0.1,
        max_ellipsis_ratio: float = 0.1,
        max_bullet_lines: float = 0.9,
        max_ellipsis_lines: float = 0.3,
        min_alpha_words: float = 0.8,
        min_stop_words: float = 2,
        stop_words: Sequence[str] | str = GOPHER_STOP_WORDS,
    ) -> None:
        self.rules = rules
        self.min_words = min_words
        self.max_words = max_words
        self.min_mean_word_length = min_mean_word_length
        self.max_mean_word_length = max_mean_word_length
        self.max_hash_ratio = max_hash_ratio
        self.max_ellipsis_ratio = max_ellipsis_ratio
        self.max_bullet_lines = max_bullet_lines
        self.max_ellipsis_lines = max_ellipsis_lines
        self.min_alpha_words = min_alpha_words
        self.min_stop_words = min_stop_words
        self.stop_words = stop_words

    def _stop_words(self) -> tuple[str, ...]:
        sw = self.stop_words
        words = [w.strip() for w in sw.split(",")] if isinstance(sw, str) else list(sw)
        if not words or not all(isinstance(w, str) and w for w in words):
            raise ConfigError(f"stop_words == {sw!r}, must be a list of non-empty words")
        return tuple(w.lower() for w in words)

    def check(self) -> None:
        super().check()
        self._stop_words()
        for lo, hi in (("min_words", "max_words"), ("min_mean_word_length", "max_mean_word_length")):
            if float(getattr(self, lo)) > float(getattr(self, hi)):
                raise ConfigError(f"{lo} == {getattr(self, lo)!r} exceeds {hi} == {getattr(self, hi)!r}")

    def stats(self, text: str) -> dict[str, float]:
        return gopher_quality_stats(text, stop_words=self._stop_words())


_GR_RULES: dict[str, tuple[str, str | None, str | None]] = {
    "dup_line_frac": ("rep_dup_line_frac", "max_dup_line_frac", None),
    "dup_line_char_frac": ("rep_dup_line_char_frac", "max_dup_line_char_frac", None),
    "dup_para_frac": ("rep_dup_para_frac", "max_dup_para_frac", None),
    "dup_para_char_frac": ("rep_dup_para_char_frac", "max_dup_para_char_frac", None),
    **{f"top{n}gram": (f"rep_top{n}gram", f"max_top{n}gram", None) for n in (2, 3, 4)},
    **{f"dup{n}gram": (f"rep_dup{n}gram", f"max_dup{n}gram", None) for n in range(5, 11)},
}
_GR_META = {
    "dup_line_frac": ("harder", 1.0, "share of non-blank lines that repeat an earlier line"),
    "dup_line_char_frac": ("harder", 1.0, "share of line characters in lines that repeat an earlier line"),
    "dup_para_frac": ("harder", 1.0, "share of paragraphs that repeat an earlier paragraph"),
    "dup_para_char_frac": ("harder", 1.0, "share of paragraph characters in repeated paragraphs"),
    **{
        f"top{n}gram": ("harder", 1.0, f"share of word characters covered by the most frequent word {n}-gram")
        for n in (2, 3, 4)
    },
    **{
        f"dup{n}gram": ("harder", 1.0, f"share of word characters covered by word {n}-grams occurring twice or more")
        for n in range(5, 11)
    },
}


@register
class GopherRepetitionScorer(_RuleScorer):
    """Gopher repetition rules (Rae et al. 2021, Table A1): duplicate lines, paragraphs and n-grams.

    Parameters
    ----------
    rules : the rules that decide ``gopher_repetition_fail`` and their own
        ``rep_<rule>_fail`` (None = all): dup_line_frac, dup_line_char_frac, dup_para_frac,
        dup_para_char_frac, top2gram, top3gram, top4gram, dup5gram ... dup10gram.
    max_dup_line_frac, max_dup_para_frac : 0.30 each.
    max_dup_line_char_frac, max_dup_para_char_frac : 0.20 each.
    max_top2gram, max_top3gram, max_top4gram : 0.20, 0.18, 0.16.
    max_dup5gram ... max_dup10gram : 0.15, 0.14, 0.13, 0.12, 0.11, 0.10.

    Examples
    --------
    >>> import numpy as np, pandas as pd, datafactors as df
    >>> ds = df.Dataset.from_arrays(np.zeros((1, 1)), extra=pd.DataFrame({"t": ["x y\\nx y"]}), text_column="t")
    >>> out = GopherRepetitionScorer().score(ds)
    >>> float(out["rep_dup_line_frac"].iloc[0]), bool(out["rep_dup_line_frac_fail"].iloc[0])
    (0.5, True)
    """

    name = "gopher_repetition"
    RULES = _GR_RULES
    columns = _columns("gopher_repetition", _GR_RULES, _GR_META)

    def __init__(
        self,
        rules: Sequence[str] | str | None = None,
        max_dup_line_frac: float = 0.30,
        max_dup_line_char_frac: float = 0.20,
        max_dup_para_frac: float = 0.30,
        max_dup_para_char_frac: float = 0.20,
        max_top2gram: float = 0.20,
        max_top3gram: float = 0.18,
        max_top4gram: float = 0.16,
        max_dup5gram: float = 0.15,
        max_dup6gram: float = 0.14,
        max_dup7gram: float = 0.13,
        max_dup8gram: float = 0.12,
        max_dup9gram: float = 0.11,
        max_dup10gram: float = 0.10,
    ) -> None:
        self.rules = rules
        self.max_dup_line_frac = max_dup_line_frac
        self.max_dup_line_char_frac = max_dup_line_char_frac
        self.max_dup_para_frac = max_dup_para_frac
        self.max_dup_para_char_frac = max_dup_para_char_frac
        self.max_top2gram = max_top2gram
        self.max_top3gram = max_top3gram
        self.max_top4gram = max_top4gram
        self.max_dup5gram = max_dup5gram
        self.max_dup6gram = max_dup6gram
        self.max_dup7gram = max_dup7gram
        self.max_dup8gram = max_dup8gram
        self.max_dup9gram = max_dup9gram
        self.max_dup10gram = max_dup10gram

    def stats(self, text: str) -> dict[str, float]:
        return gopher_repetition_stats(text)


_C4_RULES: dict[str, tuple[str, str | None, str | None]] = {
    "sentences": ("c4_sentences", None, "min_sentences"),
    "lorem_ipsum": ("c4_lorem_ipsum", "max_lorem_ipsum", None),
    "curly_brace": ("c4_curly_brace", "max_curly_brace", None),
}
_C4_META = {
    "sentences": ("easier", _INF, "sentences in the lines C4's line rules keep (higher = better)"),
    "lorem_ipsum": ("harder", _INF, "occurrences of 'lorem ipsum' (any case)"),
    "curly_brace": ("harder", _INF, "'{' characters in the page"),
}


@register
class C4Scorer(_RuleScorer):
    """C4 page rules (Raffel et al. 2020) after C4's line cleaning.

    Defaults as in the paper (Sec. 2.2) and TFDS' ``c4_utils``: lines of at least **5 words**
    (``min_line_words=5``), pages of at least **3 sentences** (``min_sentences=3``); datatrove's
    ``C4QualityFilter`` uses ``min_line_words=3, min_sentences=5``. See the module notes for
    the line rules.

    Parameters
    ----------
    rules : the page rules that decide ``c4_fail`` and their own ``c4_<rule>_fail`` (None = all):
        sentences, lorem_ipsum, curly_brace.
    min_sentences : keep pages with at least 3 sentences in their kept lines.
    max_lorem_ipsum, max_curly_brace : keep pages with at most 0 of them.
    line_punct : drop lines without terminal punctuation (or ending in an ellipsis).
    min_line_words : drop lines with fewer words (default 5; 0 keeps all).
    max_word_length : drop lines holding a longer word (0 disables).
    javascript_lines, policy_lines : drop lines mentioning javascript / cookie and
        terms-of-use phrases.

    Examples
    --------
    >>> import numpy as np, pandas as pd, datafactors as df
    >>> ds = df.Dataset.from_arrays(np.zeros((1, 1)), extra=pd.DataFrame({"t": ["f(x) { return 1; }"]}), text_column="t")
    >>> C4Scorer(rules="curly_brace").rule_failures(ds)["curly_brace"].tolist()
    [True]
    """

    name = "c4"
    RULES = _C4_RULES
    columns = _columns("c4", _C4_RULES, _C4_META)

    def __init__(
        self,
        rules: Sequence[str] | str | None = None,
        min_sentences: float = 3,
        max_lorem_ipsum: float = 0,
        max_curly_brace: float = 0,
        line_punct: bool = True,
        min_line_words: int = 5,
        max_word_length: int = 1000,
        javascript_lines: bool = True,
        policy_lines: bool = True,
    ) -> None:
        self.rules = rules
        self.min_sentences = min_sentences
        self.max_lorem_ipsum = max_lorem_ipsum
        self.max_curly_brace = max_curly_brace
        self.line_punct = line_punct
        self.min_line_words = min_line_words
        self.max_word_length = max_word_length
        self.javascript_lines = javascript_lines
        self.policy_lines = policy_lines

    def check(self) -> None:
        super().check()
        for p in ("line_punct", "javascript_lines", "policy_lines"):
            if not isinstance(getattr(self, p), (bool, np.bool_)):
                raise ConfigError(f"{p} == {getattr(self, p)!r}, must be true or false")
        for p in ("min_line_words", "max_word_length"):
            v = getattr(self, p)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
                raise ConfigError(f"{p} == {v!r}, must be an int >= 0")

    def stats(self, text: str) -> dict[str, float]:
        return c4_stats(
            text,
            line_punct=bool(self.line_punct),
            min_line_words=int(self.min_line_words),
            max_word_length=int(self.max_word_length),
            javascript_lines=bool(self.javascript_lines),
            policy_lines=bool(self.policy_lines),
        )


RULE_FAMILIES: dict[str, type[_RuleScorer]] = {
    c.name: c for c in (GopherQualityScorer, GopherRepetitionScorer, C4Scorer)
}
QUALITY_SCORERS = RULE_FAMILIES  # an alias
