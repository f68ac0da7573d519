"""Concept frequency for text (Udandarao et al., "No zero-shot without exponential data").

A lowercased (optionally plural-folded) unigram inverted index over the texts; a
concept's count is the number of texts containing all of its words (the intersection
of its words' posting lists). With a performance per concept, ``perf = a ln(1 + count) + b``
is fitted and its slope and Pearson r reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .._errors import DataError
from . import family, row
from ._context import ProfileContext

FAMILY = "concept_frequency"
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _fold_plural(w: str) -> str:
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("sses", "xes", "ches", "shes", "zes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def tokenize(text: str, *, lemmatize: bool = False) -> list[str]:
    """Lowercased word tokens of ``text`` (letters, digits, inner apostrophes).

    ``lemmatize=True`` folds regular English plurals (cats -> cat, boxes -> box,
    puppies -> puppy); it is a light rule set, not a dictionary lemmatizer.

    Examples
    --------
    >>> tokenize("Two CATS, one dog's bone!")
    ['two', 'cats', 'one', "dog's", 'bone']
    >>> tokenize("Two cats and puppies", lemmatize=True)
    ['two', 'cat', 'and', 'puppy']
    """
    if not isinstance(text, str):
        raise DataError(f"text must be a string, got {type(text).__name__} {text!r}")
    words = _WORD.findall(text.lower())
    return [_fold_plural(w) for w in words] if lemmatize else words


class ConceptIndex:
    """Inverted index: word -> sorted ids of the texts containing it.

    Examples
    --------
    >>> idx = ConceptIndex(["a red car", "a red apple", "green apple"])
    >>> idx.count("red apple"), idx.count("apple"), idx.count("blue")
    (1, 2, 0)
    """

    def __init__(self, texts: Iterable[str], *, lemmatize: bool = False) -> None:
        self.lemmatize = lemmatize
        postings: dict[str, list[int]] = {}
        n = 0
        for i, t in enumerate(texts):
            n += 1
            for w in set(tokenize(t, lemmatize=lemmatize)):
                postings.setdefault(w, []).append(i)
        self.n_texts = n
        self.postings = {w: np.asarray(p, dtype=np.int64) for w, p in postings.items()}

    @property
    def vocabulary_size(self) -> int:
        return len(self.postings)

    def docs(self, concept: str) -> np.ndarray:
        """Sorted ids of the texts containing every word of ``concept``."""
        words = list(dict.fromkeys(tokenize(concept, lemmatize=self.lemmatize)))
        if not words:
            raise DataError(f"concept {concept!r} has no words to look up")
        lists = [self.postings.get(w, np.empty(0, dtype=np.int64)) for w in words]
        lists.sort(key=len)
        out = lists[0]
        for p in lists[1:]:
            if out.size == 0:
                break
            out = np.intersect1d(out, p, assume_unique=True)
        return out

    def count(self, concept: str) -> int:
        return int(self.docs(concept).size)

    def frequencies(self, concepts: Sequence[str]) -> pd.Series:
        """Count of every concept, indexed by concept."""
        return pd.Series({c: self.count(c) for c in concepts}, dtype=np.int64, name="count")


def vocabulary_size(texts: Iterable[str], *, lemmatize: bool = False) -> int:
    """Number of distinct lowercased words.

    Examples
    --------
    >>> vocabulary_size(["The cat", "the dog", ""])
    3
    """
    return ConceptIndex(texts, lemmatize=lemmatize).vocabulary_size


def frequency_fit(counts: pd.Series, performance: Mapping[str, float]):
    """``perf = a ln(1 + count) + b`` over the concepts present in both; see datafactors.scaling.fit_frequency."""
    from ..scaling import fit_frequency

    common = [c for c in counts.index if c in performance]
    if len(common) < 3:
        raise DataError(f"a frequency fit needs performance for at least 3 concepts, got {len(common)}")
    freq = counts.loc[common].to_numpy(dtype=np.float64) + 1.0
    perf = np.array([float(performance[c]) for c in common])
    return fit_frequency(freq, perf), len(common)


@family(FAMILY, description="concept counts from a word inverted index over the text; log-linear fit")
def concept_frequency(ctx: ProfileContext) -> list[dict]:
    if ctx.texts is None:
        return [row(FAMILY, "concept_count", note="not computed: no text column (pass text=<column>)")]
    if ctx.concepts is None and not ctx.ds.has_labels:
        note = "not computed: no concepts (pass concepts=[...]; the default, the class names, needs labels)"
        return [row(FAMILY, "concept_count", note=note)]
    index = ConceptIndex(ctx.texts)
    concepts = list(ctx.concepts) if ctx.concepts is not None else list(ctx.ds.class_names)
    rows = []
    counts = {}
    for c in concepts:
        try:
            counts[c] = index.count(c)
        except DataError as e:
            rows.append(row(FAMILY, "concept_count", key=c, note=f"not computed: {e}"))
            continue
        rows.append(
            row(FAMILY, "concept_count", counts[c], key=c, note=f"texts of {ctx.text_col!r} holding every word")
        )
    if ctx.concept_performance is not None:
        try:
            (a, b, r), k = frequency_fit(pd.Series(counts, dtype=np.int64), ctx.concept_performance)
            note = f"perf = a ln(1 + count) + b over {k} concepts"
            rows += [
                row(FAMILY, "frequency_slope", a, note=note),
                row(FAMILY, "frequency_intercept", b, note=note),
                row(FAMILY, "frequency_pearson_r", r, note=note),
            ]
        except DataError as e:
            rows.append(row(FAMILY, "frequency_slope", note=f"not computed: {e}"))
    return rows
