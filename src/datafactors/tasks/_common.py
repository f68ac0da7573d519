"""Helpers shared by the task generators: knob checks, Zipf counts, the sequence encoding.

Sequence encoding
-----------------
A sequence example is an ``input`` and an ``output`` string whose tokens are separated
by single spaces. A :class:`~datafactors.Dataset` holds it as

- ``X`` : (n, width) float32 token ids of the input, left-aligned and right-padded with
  0. Ids come from one fixed vocabulary per task configuration (``Vocab``), built from
  the task's grammar rather than from the sampled data, so train, test and OOD sets of
  one generator call share ids and width. Id 0 is padding; ids >= 1 are tokens.
- ``extra["input"]``, ``extra["output"]`` : the raw strings; the output is the target
  sequence. Task-specific columns follow (the rule, the skills, the split family...).
  ``extra.attrs["source_vocab"]`` lists the tokens (index = id).
- ``y`` : a class derived from the output, so the set also works as a classification
  dataset; each task documents its derivation.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .._errors import ConfigError
from ..dataset import Dataset

PAD = "<pad>"


def check_int(value: object, name: str, lo: int, hi: int | None = None) -> int:
    """``value`` as an int in [lo, hi]; ConfigError naming the knob otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{name} == {value!r}, must be an int")
    v = int(value)
    if v < lo or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ConfigError(f"{name} == {v}, must be {rng}")
    return v


def check_float(value: object, name: str, lo: float, hi: float | None = None, *, lo_open: bool = False) -> float:
    """``value`` as a finite float in [lo, hi] (or (lo, hi] with ``lo_open``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name} == {value!r}, must be a number")
    v = float(value)
    bad_lo = v <= lo if lo_open else v < lo
    if not math.isfinite(v) or bad_lo or (hi is not None and v > hi):
        left = "(" if lo_open else "["
        rng = f"> {lo}" if hi is None and lo_open else f">= {lo}" if hi is None else f"in {left}{lo}, {hi}]"
        raise ConfigError(f"{name} == {value!r}, must be {rng}")
    return v


def check_choice(value: object, name: str, choices: Sequence[str]) -> str:
    """``value`` normalised (``-`` -> ``_``) and checked against ``choices``."""
    v = str(value).replace("-", "_") if isinstance(value, str) else value
    if v not in choices:
        raise ConfigError(f"{name} == {value!r}, must be one of {', '.join(map(repr, choices))}")
    return str(v)


def zipf_weights(n: int, s: float) -> np.ndarray:
    """Probabilities ``p(rank i) = i^-s / sum_j j^-s`` for ranks 1..n (uniform when s = 0)."""
    w = np.arange(1, n + 1, dtype=np.float64) ** (-float(s))
    return w / w.sum()


def zipf_counts(n_items: int, total: int, s: float) -> np.ndarray:
    """How many copies of each of ``n_items`` ranked items make up ``total`` examples.

    Counts are proportional to ``rank^-s`` and rounded by largest remainder so that they
    sum exactly to ``total``; deterministic, no sampling. With ``s = 0`` and
    ``n_items == total`` every item appears once; a larger ``s`` repeats the top ranks
    more and drops the tail (count 0).

    Examples
    --------
    >>> zipf_counts(4, 4, 0.0).tolist()
    [1, 1, 1, 1]
    >>> zipf_counts(4, 10, 1.0).tolist()
    [5, 2, 2, 1]
    """
    raw = zipf_weights(n_items, s) * total
    counts = np.floor(raw).astype(np.int64)
    short = total - int(counts.sum())
    if short > 0:
        # stable sort: ties go to the better rank, so the result is deterministic
        order = np.argsort(-(raw - counts), kind="stable")
        counts[order[:short]] += 1
    return counts


class Vocab:
    """A fixed token list; id 0 is padding, ids 1.. are ``tokens`` in the given order."""

    def __init__(self, tokens: Iterable[str]) -> None:
        toks = [PAD]
        for t in tokens:
            if t not in toks:
                toks.append(t)
        self.tokens = toks
        self.index = {t: i for i, t in enumerate(toks)}

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, texts: Sequence[str], width: int) -> np.ndarray:
        """(n, width) float32 ids of space-separated ``texts``, right-padded with 0."""
        out = np.zeros((len(texts), width), dtype=np.float32)
        for i, text in enumerate(texts):
            ids = [self.index[t] for t in text.split()]
            if len(ids) > width:
                raise ConfigError(f"input {text!r} has {len(ids)} tokens, more than the width {width}")
            out[i, : len(ids)] = ids
        return out

    def decode(self, row: np.ndarray) -> str:
        """The space-separated tokens of one row of ``X`` (padding dropped)."""
        return " ".join(self.tokens[int(i)] for i in np.asarray(row).astype(np.int64) if i != 0)


def seq_dataset(
    *,
    inputs: Sequence[str],
    outputs: Sequence[str],
    y: Sequence[int] | np.ndarray,
    class_names: Sequence[str],
    ids: Sequence[str],
    vocab: Vocab,
    width: int,
    name: str,
    groups: Sequence[object] | np.ndarray | None = None,
    columns: dict[str, Sequence[object]] | None = None,
) -> Dataset:
    """Build a sequence Dataset in the shared encoding (see the module docstring)."""
    extra = pd.DataFrame({"input": list(inputs), "output": list(outputs), **(columns or {})})
    extra.attrs["source_vocab"] = list(vocab.tokens)
    return Dataset.from_arrays(
        vocab.encode(inputs, width),
        np.asarray(y, dtype=np.int64),
        ids=list(ids),
        groups=None if groups is None else np.asarray(groups, dtype=object),
        extra=extra,
        class_names=list(class_names),
        name=name,
        min_classes=1,
    )


def distinct_sample(
    draw, n: int, rng: np.random.Generator, *, exclude: set | None = None, what: str, knob: str, max_tries: int = 50
) -> list:
    """``n`` distinct items from ``draw(rng, k) -> list`` not in ``exclude``, in draw order.

    Draws in batches; fails with a ConfigError naming ``knob`` when the space of items
    looks exhausted (``max_tries`` batches in a row add nothing new).
    """
    seen = set(exclude or ())
    out: list = []
    stale = 0
    while len(out) < n:
        added = 0
        for item in draw(rng, max(64, 2 * (n - len(out)))):
            if item not in seen:
                seen.add(item)
                out.append(item)
                added += 1
                if len(out) == n:
                    break
        stale = 0 if added else stale + 1
        if stale >= max_tries:
            raise ConfigError(
                f"{knob}: only {len(out)} distinct {what} could be generated, {n} were asked for; "
                "lower the sizes or widen the task (e.g. more primitives, longer strings)"
            )
    return out
