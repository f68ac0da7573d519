"""Markov-algorithm string rewriting (Only-IF, Zhang et al., 2024): instruction diversity as a knob.

An example is an instruction, the rule ``x -> y``, and a string; the output is the string
with the **leftmost** occurrence of ``x`` replaced by ``y``, or the string unchanged when
``x`` does not occur (a *no-op*). Python's ``str.replace(x, y, 1)`` is exactly this.

The alphabet is ``n_domains_total`` disjoint sub-alphabets (domains) of ``domain_size``
letters each. A rule *belongs to* domain d when both ``x`` and ``y`` use only domain d's
letters (lengths 1..``max_pattern_len``, ``x != y``); strings always use the whole
alphabet, so every letter is seen in training whatever the rules. Knobs:

- ``n_rules``: distinct training rules at a fixed ``n_train`` (each used equally often,
  to within one example).
- ``n_domains``: the training rules come from the first ``n_domains`` domains,
  round-robin (1 = single-domain, ``n_domains_total`` = cross-domain).
- ``noop_frac``: share of examples (in every set) whose rule does not apply.

Sets: ``train`` uses the training rules; ``test`` uses **unseen rules** (never a training
rule), each drawn by picking a domain uniformly among all ``n_domains_total`` and then a
rule of it — the Only-IF evaluation on unseen instructions (``test_rules="seen"``
evaluates the training rules on new strings instead); ``ood`` uses unseen *cross-domain*
rules whose letters mix at least two domains.

Encoding: the shared sequence encoding of :mod:`datafactors.tasks._common` with one
token per letter: ``input = "x1 x2 -> y1 | s1 s2 ... sL"``, ``output = "r1 ... rM"``.
``y`` is 1 (``rewritten``) when the rule applies and 0 (``unchanged``) for a no-op.
``groups`` is the rule's domain (``"d0"``, ``"d1"``, ... or ``"mixed"``); ``extra``
columns: ``rule`` (``"ab->c"``), ``lhs``, ``rhs``, ``string``, ``result``, ``domain``,
``applies``.
"""

from __future__ import annotations

import numpy as np

from .._errors import ConfigError
from .._validation import check_random_state
from ..dataset import Dataset
from ..io.builtins import BuiltinData
from . import task
from ._common import Vocab, check_choice, check_float, check_int, seq_dataset

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
CLASS_NAMES = ["unchanged", "rewritten"]


def rewrite(string: str, lhs: str, rhs: str) -> str:
    """Replace the leftmost occurrence of ``lhs`` in ``string`` by ``rhs`` (unchanged if absent).

    Examples
    --------
    >>> rewrite("abcabc", "bc", "x")
    'axabc'
    >>> rewrite("aaa", "aa", "b")
    'ba'
    >>> rewrite("abc", "d", "x")
    'abc'
    """
    return string.replace(lhs, rhs, 1)


def _n_strings(size: int, max_len: int) -> int:
    return sum(size**k for k in range(1, max_len + 1))


def _draw_pattern(rng: np.random.Generator, letters: str, max_len: int) -> str:
    # length weighted by how many strings have it, so the pattern is uniform over all of them
    sizes = np.array([len(letters) ** k for k in range(1, max_len + 1)], dtype=np.float64)
    k = 1 + int(rng.choice(max_len, p=sizes / sizes.sum()))
    return "".join(letters[i] for i in rng.integers(0, len(letters), size=k))


def _draw_rule(rng, letters: str, max_len: int) -> tuple[str, str]:
    while True:
        lhs, rhs = _draw_pattern(rng, letters, max_len), _draw_pattern(rng, letters, max_len)
        if lhs != rhs:
            return lhs, rhs


def _draw_example(rng, lhs: str, alphabet: str, lo: int, hi: int, apply: bool) -> str:
    L = int(rng.integers(lo, hi + 1))
    if apply:
        L = max(L, len(lhs))
    while True:
        s = "".join(alphabet[i] for i in rng.integers(0, len(alphabet), size=L))
        if apply:
            at = int(rng.integers(0, L - len(lhs) + 1))
            return s[:at] + lhs + s[at + len(lhs) :]
        if lhs not in s:
            return s


@task("rewrite")
def make_rewrite(
    *,
    n_rules: int = 64,
    n_domains: int = 4,
    n_domains_total: int = 4,
    domain_size: int = 4,
    n_train: int = 2000,
    n_test: int = 500,
    n_ood: int = 500,
    noop_frac: float = 0.2,
    min_len: int = 4,
    max_len: int = 8,
    max_pattern_len: int = 2,
    test_rules: str = "unseen",
    seed: int = 0,
) -> BuiltinData:
    """Markov string rewriting with the number and domains of distinct rules as knobs.

    Parameters
    ----------
    n_rules : distinct training rules (>= n_domains; at most all but one rule of each
        training domain, so unseen rules remain).
    n_domains : domains the training rules come from (1..n_domains_total).
    n_domains_total : domains in the alphabet; ``n_domains_total * domain_size <= 52``.
    domain_size : letters per domain (>= 2).
    n_train, n_test, n_ood : rows per set.
    noop_frac : share of rows whose rule does not occur in the string, in [0, 1].
    min_len, max_len : string length range (``max_len >= max_pattern_len``).
    max_pattern_len : longest ``x`` and ``y`` (1..4).
    test_rules : "unseen" (default) or "seen" rules in the test set.
    seed : seeds the one numpy Generator everything is drawn from.

    Examples
    --------
    >>> d = make_rewrite(n_rules=8, n_train=40, n_test=10, n_ood=10, seed=0)
    >>> e = d.train.extra.iloc[0]
    >>> e["result"] == e["string"].replace(e["lhs"], e["rhs"], 1)
    True
    """
    total = check_int(n_domains_total, "n_domains_total", 1)
    size = check_int(domain_size, "domain_size", 2)
    if total * size > len(LETTERS):
        raise ConfigError(
            f"n_domains_total * domain_size == {total * size} letters, more than the {len(LETTERS)} available"
        )
    n_dom = check_int(n_domains, "n_domains", 1, total)
    plen = check_int(max_pattern_len, "max_pattern_len", 1, 4)
    per_domain = _n_strings(size, plen) ** 2 - _n_strings(size, plen)
    n_rules = check_int(n_rules, "n_rules", n_dom, n_dom * (per_domain - 1))
    n_train = check_int(n_train, "n_train", n_rules)
    n_test = check_int(n_test, "n_test", 1)
    n_ood = check_int(n_ood, "n_ood", 1)
    noop = check_float(noop_frac, "noop_frac", 0.0, 1.0)
    lo = check_int(min_len, "min_len", 1)
    hi = check_int(max_len, "max_len", max(lo, plen))
    which = check_choice(test_rules, "test_rules", ("unseen", "seen"))
    if total < 2:
        raise ConfigError("n_domains_total == 1 leaves no cross-domain rules for the OOD set; use >= 2")
    rng = check_random_state(seed)

    alphabet = LETTERS[: total * size]
    domains = [alphabet[d * size : (d + 1) * size] for d in range(total)]
    vocab = Vocab(["->", "|", *alphabet])
    width = 2 * plen + 2 + hi

    # training rules: distinct, round-robin over the first n_dom domains
    rules: list[tuple[str, str, int]] = []
    seen: set[tuple[str, str]] = set()
    for j in range(n_rules):
        d = j % n_dom
        while True:
            r = _draw_rule(rng, domains[d], plen)
            if r not in seen:
                seen.add(r)
                rules.append((*r, d))
                break

    def unseen_rule(domain: int | None) -> tuple[str, str, int]:
        while True:
            if domain is None:  # cross-domain: letters from >= 2 domains
                lhs, rhs = _draw_rule(rng, alphabet, plen)
                used = {alphabet.index(c) // size for c in lhs + rhs}
                if len(used) >= 2:
                    return lhs, rhs, -1
            else:
                lhs, rhs = _draw_rule(rng, domains[domain], plen)
                if (lhs, rhs) not in seen:
                    return lhs, rhs, domain

    def build(chosen: list[tuple[str, str, int]], part: str, name: str) -> Dataset:
        n = len(chosen)
        applies = np.zeros(n, dtype=bool)
        applies[rng.permutation(n)[: int(round((1.0 - noop) * n))]] = True
        strings = [
            _draw_example(rng, lhs, alphabet, lo, hi, bool(a)) for (lhs, _, _), a in zip(chosen, applies, strict=True)
        ]
        results = [rewrite(s, lhs, rhs) for s, (lhs, rhs, _) in zip(strings, chosen, strict=True)]
        inputs = [
            f"{' '.join(lhs)} -> {' '.join(rhs)} | {' '.join(s)}"
            for s, (lhs, rhs, _) in zip(strings, chosen, strict=True)
        ]
        dom = [f"d{d}" if d >= 0 else "mixed" for _, _, d in chosen]
        return seq_dataset(
            inputs=inputs,
            outputs=[" ".join(r) for r in results],
            y=[int(r != s) for r, s in zip(results, strings, strict=True)],
            class_names=CLASS_NAMES,
            ids=[f"rewrite-{part}-{i}" for i in range(n)],
            vocab=vocab,
            width=width,
            name=name,
            groups=dom,
            columns={
                "rule": [f"{lhs}->{rhs}" for lhs, rhs, _ in chosen],
                "lhs": [c[0] for c in chosen],
                "rhs": [c[1] for c in chosen],
                "string": strings,
                "result": results,
                "domain": dom,
                "applies": applies,
            },
        )

    # the training set is drawn first, so it does not depend on the test / OOD knobs
    train = build([rules[j % n_rules] for j in rng.permutation(n_train)], "train", "rewrite")
    if which == "seen":
        test_chosen = [rules[int(j)] for j in rng.integers(0, n_rules, size=n_test)]
    else:
        test_chosen = [unseen_rule(int(d)) for d in rng.integers(0, total, size=n_test)]
    test = build(test_chosen, "test", "rewrite-test")
    ood = build([unseen_rule(None) for _ in range(n_ood)], "ood", "rewrite-ood")
    desc = "unseen cross-domain rules: the pattern and replacement mix letters of at least two domains"
    return BuiltinData(train, test, ood, desc)
