"""Skill composition: k basic skills, trained on some combinations, tested on unseen ones.

A skill is a function on a list of digits; a combination is an ordered tuple of
``combo_size`` distinct skills applied left to right. The basic skills, in order:

========  =============================================  =================
``rev``   reverse                                        ``123 -> 321``
``inc``   add 1 to every digit, mod 10                   ``129 -> 230``
``sort``  sort ascending                                 ``312 -> 123``
``rotl``  rotate left by one                             ``123 -> 231``
``swap``  swap neighbours (0<->1, 2<->3, ...)            ``1234 -> 2143``
``neg``   9 - digit                                      ``129 -> 870``
``cmax``  running maximum                                ``1312 -> 1333``
``dbl``   2 * digit, mod 10                              ``157 -> 204``
========  =============================================  =================

``n_skills`` takes the first k. The combinations are split with
:func:`datafactors.splits.compositional.held_out_combinations`: a ``heldout_frac`` share
of them is held out while **every skill still occurs in every position** of some
training combination. ``include_singles`` adds each skill alone to training (a skill
demonstration), as a share ``single_frac`` of the training rows.

Sets: ``train`` spreads ``n_train`` rows evenly over the training combinations (and
singles); ``test`` uses the **held-out combinations**; ``ood`` uses combinations of
``combo_size + 1`` skills (productive: longer compositions than any seen).

Encoding: the shared sequence encoding of :mod:`datafactors.tasks._common`:
``input = "rev inc | 3 1 4 1 5"``, ``output = "5 2 5 2 4"``. ``y`` is the **first
output digit** (10 classes). ``groups`` is the combination (``"rev+inc"``); ``extra``
columns: ``skills``, ``n_skills``, ``digits``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pandas as pd

from .._errors import ConfigError
from .._validation import check_random_state
from ..dataset import Dataset
from ..io.builtins import BuiltinData
from . import task
from ._common import Vocab, check_float, check_int, seq_dataset


def _swap(d: list[int]) -> list[int]:
    out = list(d)
    for i in range(0, len(d) - 1, 2):
        out[i], out[i + 1] = d[i + 1], d[i]
    return out


SKILLS: dict[str, Callable[[list[int]], list[int]]] = {
    "rev": lambda d: d[::-1],
    "inc": lambda d: [(x + 1) % 10 for x in d],
    "sort": sorted,
    "rotl": lambda d: d[1:] + d[:1],
    "swap": _swap,
    "neg": lambda d: [9 - x for x in d],
    "cmax": lambda d: list(itertools.accumulate(d, max)),
    "dbl": lambda d: [(2 * x) % 10 for x in d],
}


def apply_skills(skills: tuple[str, ...] | list[str], digits: list[int]) -> list[int]:
    """Apply ``skills`` left to right.

    Examples
    --------
    >>> apply_skills(("rev", "inc"), [3, 1, 9])
    [0, 2, 4]
    """
    out = list(digits)
    for s in skills:
        out = list(SKILLS[s](out))
    return out


@task("skills")
def make_skills(
    *,
    n_skills: int = 6,
    combo_size: int = 2,
    heldout_frac: float = 0.3,
    include_singles: bool = True,
    single_frac: float = 0.2,
    n_train: int = 2000,
    n_test: int = 500,
    n_ood: int = 500,
    n_digits: int = 5,
    seed: int = 0,
) -> BuiltinData:
    """Skill-composition data (see the module docstring).

    Parameters
    ----------
    n_skills : basic skills, 3..8.
    combo_size : skills per training / test combination, 2..n_skills - 1 (so every skill can
        occur in every position of a training combination).
    heldout_frac : share of the combinations held out for the test set, in (0, 1).
    include_singles, single_frac : add single-skill rows (that share of the training rows).
    n_train, n_test, n_ood : rows per set.
    n_digits : digits per input list (2..12).
    seed : seeds the one numpy Generator everything is drawn from.

    Examples
    --------
    >>> d = make_skills(n_train=100, n_test=20, n_ood=20, seed=0)
    >>> set(d.train.groups).isdisjoint(set(d.test.groups))
    True
    """
    from .._splitting import held_out_combinations

    k = check_int(n_skills, "n_skills", 3, len(SKILLS))
    m = check_int(combo_size, "combo_size", 2, k - 1)
    frac = check_float(heldout_frac, "heldout_frac", 0.0, 1.0, lo_open=True)
    if frac >= 1.0:
        raise ConfigError(f"heldout_frac == {frac}, must be < 1")
    sfrac = check_float(single_frac, "single_frac", 0.0, 1.0)
    n_train = check_int(n_train, "n_train", 1)
    n_test = check_int(n_test, "n_test", 1)
    n_ood = check_int(n_ood, "n_ood", 1)
    L = check_int(n_digits, "n_digits", 2, 12)
    rng = check_random_state(seed)
    names = list(SKILLS)[:k]

    combos = list(itertools.permutations(names, m))
    frame = pd.DataFrame(combos, columns=[f"skill{i + 1}" for i in range(m)])
    held = set(held_out_combinations(frame, frac, seed=rng, where="the skill combinations"))
    train_combos = [c for c in combos if c not in held]
    test_combos = [c for c in combos if c in held]
    ood_combos = list(itertools.permutations(names, m + 1))

    vocab = Vocab([*names, "|", *map(str, range(10))])
    width = (m + 1) + 1 + L

    def rows(chosen: list[tuple[str, ...]], part: str, name: str) -> Dataset:
        digits = rng.integers(0, 10, size=(len(chosen), L)).tolist()
        outs = [apply_skills(c, d) for c, d in zip(chosen, digits, strict=True)]
        return seq_dataset(
            inputs=[f"{' '.join(c)} | {' '.join(map(str, d))}" for c, d in zip(chosen, digits, strict=True)],
            outputs=[" ".join(map(str, o)) for o in outs],
            y=[o[0] for o in outs],
            class_names=[str(i) for i in range(10)],
            ids=[f"skills-{part}-{i}" for i in range(len(chosen))],
            vocab=vocab,
            width=width,
            name=name,
            groups=["+".join(c) for c in chosen],
            columns={
                "skills": ["+".join(c) for c in chosen],
                "n_skills": [len(c) for c in chosen],
                "digits": ["".join(map(str, d)) for d in digits],
            },
        )

    n_single = int(round(sfrac * n_train)) if include_singles else 0
    singles = [(s,) for s in names]
    train_list = [train_combos[j % len(train_combos)] for j in range(n_train - n_single)]
    train_list += [singles[j % k] for j in range(n_single)]
    train_list = [train_list[i] for i in rng.permutation(len(train_list))]
    train = rows(train_list, "train", "skills")  # first, so it does not depend on the test / OOD sizes
    test = rows([test_combos[int(j)] for j in rng.integers(0, len(test_combos), size=n_test)], "test", "skills-test")
    ood = rows([ood_combos[int(j)] for j in rng.integers(0, len(ood_combos), size=n_ood)], "ood", "skills-ood")
    desc = f"compositions of {m + 1} skills (productive), longer than the {m}-skill combinations seen in training"
    return BuiltinData(train, test, ood, desc)
