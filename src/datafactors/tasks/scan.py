"""SCAN-like commands -> action sequences, with data-factor knobs (Lake & Baroni, 2018; Zhou et al., 2023).

Grammar (SCAN's, over ``n_primitives`` action primitives)::

    C -> S | S and S | S after S
    S -> V | V twice | V thrice
    V -> D | D opposite DIR | D around DIR | U        (D opposite DIR is written U opposite DIR)
    D -> U DIR | turn DIR
    U -> walk | look | run | jump | <synthetic primitives>      DIR -> left | right

Meaning: a primitive ``u`` is the action ``U`` (its upper case: ``jump -> JUMP``);
``u left`` turns first (``LTURN U``); ``u opposite left`` turns twice first
(``LTURN LTURN U``); ``u around left`` is ``LTURN U`` four times; ``turn`` contributes
only its turns; ``x twice`` / ``x thrice`` repeat ``x``; ``a and b`` is ``a`` then
``b``; ``a after b`` is ``b`` then ``a``. The first four primitives are SCAN's
(walk, look, run, jump); further ones are fixed synthetic words (``dax``-like) acting
like them, which is how "more distinct primitives" is dialled in (Zhou et al.).

Splits (``split_kind``):

- ``simple``: train and test are disjoint uniform samples of all commands; there is no
  shift, so ``ood`` is a second held-out uniform sample (disjoint from both).
- ``length``: train / test hold commands whose action sequence has at most
  ``max_train_output_len`` (22) actions; ``ood`` holds longer ones.
- ``add_primitive``: ``jump`` occurs in training only alone (``jump -> JUMP``,
  ``isolated_copies`` rows); train / test hold the jump-free commands; ``ood`` holds
  every other command that contains ``jump``.

Knobs shape the **training set only** (test and OOD are always uniform over their
family, minus the training commands, optionally restricted to the first
``eval_primitives`` primitives so that conditions with different ``n_primitives``
share one evaluation family):

- ``n_primitives``: number of distinct action primitives (4 to 64).
- ``zipf_s`` / ``zipf_over``: repetition with ``p(rank i) ~ i^-s``.
  ``examples``: ``n_train`` distinct commands ranked in draw order; the i-th is repeated
  ``zipf_counts`` times (deterministic largest-remainder rounding, summing to
  ``n_train``), so ``s = 0`` gives all-distinct data and larger ``s`` fewer distinct,
  more repeated commands. ``primitives``: each clause's primitive is drawn with weight
  ``rank^-s`` (canonical order; ``turn`` clauses weigh the mean primitive weight).
  ``lengths``: the share of training commands with each word count follows
  ``rank^-s``, ranks from the most to the least common word count under uniform
  sampling; commands are distinct within a word count while it has enough of them.
- ``difficulty``: ``mixed`` (all), ``simple`` (action sequences no longer than the
  median length of the training family) or ``hard`` (longer than that median).

Encoding: the shared sequence encoding of :mod:`datafactors.tasks._common`; the
source vocabulary is the grammar's words. ``y`` is the **output length bucket**: the
number of actions falls in 1-2, 3-4, 5-8, 9-16, 17-32 or 33-48 (``class_names`` say
which). ``extra`` columns: ``input``, ``output``, ``command_id`` (rows with the same id
repeat one command), ``n_words``, ``output_length``, ``n_clauses``, ``primitives``
(the action primitives used, comma-separated), ``family`` (``iid``, ``long`` or ``jump``).
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

from .._errors import ConfigError
from .._validation import check_random_state
from ..dataset import Dataset
from ..io.builtins import BuiltinData
from . import task
from ._common import Vocab, check_choice, check_float, check_int, distinct_sample, seq_dataset, zipf_counts

SCAN_PRIMITIVES = ("walk", "look", "run", "jump")
_FUNCTION_WORDS = ("turn", "left", "right", "opposite", "around", "twice", "thrice", "and", "after")


def _synthetic_words(k: int) -> tuple[str, ...]:
    """``k`` fixed consonant-vowel-consonant nonce words (the same for every seed)."""
    cons, vows = "bdfgklmnprstvz", "aeiou"
    words = ["".join(w) for w in itertools.product(cons, vows, cons)]
    order = np.random.default_rng(20231108).permutation(len(words))  # a constant word list, not data randomness
    taken = set(SCAN_PRIMITIVES) | set(_FUNCTION_WORDS)
    out = [words[i] for i in order if words[i] not in taken]
    return tuple(out[:k])


MAX_PRIMITIVES = 64
PRIMITIVES = SCAN_PRIMITIVES + _synthetic_words(MAX_PRIMITIVES - len(SCAN_PRIMITIVES))
LENGTH_BUCKETS = ((1, 2), (3, 4), (5, 8), (9, 16), (17, 32), (33, 48))
CLASS_NAMES = [f"len {lo}-{hi}" for lo, hi in LENGTH_BUCKETS]
SPLITS = ("simple", "length", "add_primitive")
ZIPF_OVER = ("examples", "primitives", "lengths")
DIFFICULTIES = ("mixed", "simple", "hard")
WIDTH = 9  # the longest command: "u around left thrice and u around left thrice"


@lru_cache(maxsize=4096)
def _interpret_clause(clause: str) -> tuple[str, ...]:
    words = clause.split()
    reps = 1
    if words[-1] in ("twice", "thrice"):
        reps = 2 if words[-1] == "twice" else 3
        words = words[:-1]
    if not words:
        raise ConfigError(f"cannot interpret {clause!r}: no verb")
    verb, rest = words[0], words[1:]
    act = () if verb == "turn" else (verb.upper(),)
    if verb in _FUNCTION_WORDS and verb != "turn":
        raise ConfigError(f"cannot interpret {clause!r}: {verb!r} is not a verb")
    if not rest:
        if verb == "turn":
            raise ConfigError(f"cannot interpret {clause!r}: 'turn' needs a direction")
        one = act
    else:
        turn = {"left": ("LTURN",), "right": ("RTURN",)}.get(rest[-1])
        if turn is None or len(rest) > 2 or (len(rest) == 2 and rest[0] not in ("opposite", "around")):
            raise ConfigError(f"cannot interpret {clause!r}")
        if len(rest) == 1:
            one = turn + act
        elif rest[0] == "opposite":
            one = turn + turn + act
        else:
            one = (turn + act) * 4
    return one * reps


def interpret(command: str) -> str:
    """The action sequence of a command (SCAN's semantics, any primitive words).

    Examples
    --------
    >>> interpret("jump twice")
    'JUMP JUMP'
    >>> interpret("walk left")
    'LTURN WALK'
    >>> interpret("look around right after turn opposite left")
    'LTURN LTURN RTURN LOOK RTURN LOOK RTURN LOOK RTURN LOOK'
    """
    for conj in (" and ", " after "):
        if conj in command:
            a, b = command.split(conj)
            first, second = _interpret_clause(a), _interpret_clause(b)
            return " ".join(first + second if conj == " and " else second + first)
    return " ".join(_interpret_clause(command))


class _Grammar:
    """Every clause S over the given primitives, with the data needed to sample commands."""

    def __init__(self, prims: tuple[str, ...]) -> None:
        self.prims = prims
        verbs = [(p, i) for i, p in enumerate(prims)] + [("turn", -1)]
        clauses, prim = [], []
        for v, i in verbs:
            forms = [] if v == "turn" else [v]
            forms += [f"{v} {d}" for d in ("left", "right")]
            forms += [f"{v} {m} {d}" for m in ("opposite", "around") for d in ("left", "right")]
            for f in forms:
                for mod in ("", " twice", " thrice"):
                    clauses.append(f + mod)
                    prim.append(i)
        self.clauses = clauses
        self.prim = np.array(prim)
        self.words = np.array([len(c.split()) for c in clauses])
        self.out_len = np.array([len(_interpret_clause(c)) for c in clauses])

    def weights(self, allowed: np.ndarray, zipf_prims: float) -> np.ndarray:
        """Per-clause sampling weight: 0 if not allowed, else the primitive's Zipf weight."""
        pw = np.arange(1, len(self.prims) + 1, dtype=np.float64) ** (-zipf_prims)
        w = np.where(self.prim >= 0, pw[np.maximum(self.prim, 0)], pw.mean())
        return np.where(allowed, w, 0.0)

    def family_stats(self, w: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact weighted mass of commands by (n_words, output length) with output length in [lo, hi]."""
        W = np.zeros((self.words.max() + 1, self.out_len.max() + 1))
        np.add.at(W, (self.words, self.out_len), w)
        total = np.zeros((2 * W.shape[0] + 1, 2 * W.shape[1] - 1))
        total[: W.shape[0], : W.shape[1]] += W
        for a, b in itertools.product(range(W.shape[0]), repeat=2):
            if W[a].any() and W[b].any():
                total[a + b + 1] += 2 * np.convolve(W[a], W[b])  # "and" and "after"
        total[:, : max(lo, 0)] = 0
        total[:, hi + 1 :] = 0
        return total.sum(axis=1), total.sum(axis=0)

    def sampler(self, w: np.ndarray, lo: int, hi: int, require: int | None, n_words: int | None):
        """``draw(rng, k)``: up to k commands from the weighted family (rejection on the constraints)."""
        words_mass = np.bincount(self.words, weights=w, minlength=self.words.max() + 1)

        def draw(rng: np.random.Generator, k: int) -> list[str]:
            k = max(k, 256)
            if n_words is None:
                ws = w.sum()
                p_single = ws / (ws + 2 * ws * ws)
                single = rng.random(k) < p_single
                p = w / w.sum()
                a = rng.choice(len(w), size=k, p=p)
                b = rng.choice(len(w), size=k, p=p)
            else:
                single_mass = words_mass[n_words] if n_words < len(words_mass) else 0.0
                splits = [
                    (i, n_words - 1 - i) for i in range(len(words_mass)) if 0 <= n_words - 1 - i < len(words_mass)
                ]
                pair_mass = np.array([2 * words_mass[i] * words_mass[j] for i, j in splits])
                tot = single_mass + pair_mass.sum()
                single = rng.random(k) < single_mass / tot
                a = np.zeros(k, dtype=np.int64)
                b = np.zeros(k, dtype=np.int64)
                if pair_mass.sum() > 0:
                    which = rng.choice(len(splits), size=k, p=pair_mass / pair_mass.sum())
                else:
                    which = np.zeros(k, dtype=np.int64)
                for j, (i1, i2) in enumerate(splits):
                    m = which == j
                    for arr, wc in ((a, i1), (b, i2)):
                        ww = np.where(self.words == wc, w, 0.0)
                        if ww.sum() > 0:
                            arr[m] = rng.choice(len(w), size=int(m.sum()), p=ww / ww.sum())
                if single_mass > 0:
                    ww = np.where(self.words == n_words, w, 0.0)
                    a[single] = rng.choice(len(w), size=int(single.sum()), p=ww / ww.sum())
            after = rng.random(k) < 0.5
            out_len = np.where(single, self.out_len[a], self.out_len[a] + self.out_len[b])
            ok = (out_len >= lo) & (out_len <= hi)
            if require is not None:
                ok &= (self.prim[a] == require) | (~single & (self.prim[b] == require))
            res = []
            for i in np.flatnonzero(ok):
                ca = self.clauses[a[i]]
                res.append(ca if single[i] else f"{ca} {'after' if after[i] else 'and'} {self.clauses[b[i]]}")
            return res

        return draw


def _bucket(n: int) -> int:
    for j, (lo, hi) in enumerate(LENGTH_BUCKETS):
        if lo <= n <= hi:
            return j
    raise ConfigError(f"output length {n} is outside the buckets")  # unreachable for this grammar


def _dataset(commands: list[str], cmd_ids: list[int], part: str, family: str, vocab: Vocab, name: str) -> Dataset:
    outputs = [interpret(c) for c in commands]
    out_len = [len(o.split()) for o in outputs]
    prims = [
        ",".join(sorted({w for w in c.split() if w in vocab.index and w not in _FUNCTION_WORDS})) for c in commands
    ]
    return seq_dataset(
        inputs=commands,
        outputs=outputs,
        y=[_bucket(n) for n in out_len],
        class_names=CLASS_NAMES,
        ids=[f"scan-{part}-{i}" for i in range(len(commands))],
        vocab=vocab,
        width=WIDTH,
        name=name,
        columns={
            "command_id": cmd_ids,
            "n_words": [len(c.split()) for c in commands],
            "output_length": out_len,
            "n_clauses": [1 + (" and " in c or " after " in c) for c in commands],
            "primitives": prims,
            "family": [family] * len(commands),
        },
    )


@task("scan")
def make_scan(
    *,
    split_kind: str = "simple",
    n_train: int = 2000,
    n_test: int = 1000,
    n_ood: int = 1000,
    n_primitives: int = 4,
    zipf_s: float = 0.0,
    zipf_over: str = "examples",
    difficulty: str = "mixed",
    max_train_output_len: int = 22,
    max_output_len: int = 48,
    isolated_copies: int = 1,
    eval_primitives: int | None = None,
    seed: int = 0,
) -> BuiltinData:
    """SCAN-like command -> action data with data-factor knobs (see the module docstring).

    Parameters
    ----------
    split_kind : "simple", "length" or "add_primitive" ("add-primitive" also accepted).
    n_train : training rows (including the isolated ``jump`` rows of add_primitive).
    n_test, n_ood : distinct held-out commands in the test and OOD sets.
    n_primitives : distinct action primitives, 4..64 (SCAN's four, then synthetic words).
    zipf_s : Zipf exponent >= 0 of the repetition in the training set (0 = none).
    zipf_over : "examples", "primitives" or "lengths".
    difficulty : "mixed", "simple" or "hard" (training commands by action-sequence length).
    max_train_output_len : the length split's cut (train <= it < OOD).
    max_output_len : longest action sequence in any set, 1..48 (48 = the whole grammar); lower it
        for cheaper experiments.
    isolated_copies : rows of ``jump -> JUMP`` in an add_primitive training set.
    eval_primitives : restrict test / OOD commands to the first k primitives (default: all).
    seed : seeds the one numpy Generator everything is drawn from.

    Returns
    -------
    BuiltinData with train / test / ood Datasets in the shared sequence encoding.

    Examples
    --------
    >>> d = make_scan(split_kind="add_primitive", n_train=200, n_test=50, n_ood=50, seed=0)
    >>> sorted(set(d.train.extra.loc[d.train.extra["input"].str.contains("jump"), "input"]))
    ['jump']
    """
    kind = check_choice(split_kind, "split_kind", SPLITS)
    n_train = check_int(n_train, "n_train", 1)
    n_test = check_int(n_test, "n_test", 1)
    n_ood = check_int(n_ood, "n_ood", 1)
    lo_p = 4 if kind == "add_primitive" else 1
    n_prim = check_int(n_primitives, "n_primitives", lo_p, MAX_PRIMITIVES)
    s = check_float(zipf_s, "zipf_s", 0.0, 10.0)
    over = check_choice(zipf_over, "zipf_over", ZIPF_OVER)
    diff = check_choice(difficulty, "difficulty", DIFFICULTIES)
    max_out = check_int(max_output_len, "max_output_len", 1, 48)
    cut = check_int(max_train_output_len, "max_train_output_len", 1, 47)
    if kind == "length" and cut >= max_out:
        raise ConfigError(f"max_train_output_len == {cut} must be below max_output_len == {max_out}")
    copies = check_int(isolated_copies, "isolated_copies", 0)
    eval_p = n_prim if eval_primitives is None else check_int(eval_primitives, "eval_primitives", lo_p, n_prim)
    if kind == "add_primitive" and copies >= n_train:
        raise ConfigError(f"isolated_copies == {copies} leaves no room in n_train == {n_train}")
    rng = check_random_state(seed)

    prims = PRIMITIVES[:n_prim]
    g = _Grammar(prims)
    vocab = Vocab(list(PRIMITIVES[:n_prim]) + list(_FUNCTION_WORDS))
    jump = SCAN_PRIMITIVES.index("jump")
    no_jump = g.prim != jump if kind == "add_primitive" else np.ones(len(g.clauses), dtype=bool)
    lo, hi = 1, (cut if kind == "length" else max_out)
    train_w = g.weights(no_jump, s if over == "primitives" else 0.0)
    eval_allowed = no_jump & (g.prim < eval_p)
    eval_w = g.weights(eval_allowed, 0.0)

    # difficulty: cut the training family at its median action-sequence length
    t_lo, t_hi = lo, hi
    if diff != "mixed":
        _, by_len = g.family_stats(train_w, lo, hi)
        cum = np.cumsum(by_len) / by_len.sum()
        median = int(np.searchsorted(cum, 0.5))
        t_lo, t_hi = (lo, median) if diff == "simple" else (median + 1, hi)

    n_fresh = n_train - copies if kind == "add_primitive" else n_train
    fresh = g.sampler(train_w, t_lo, t_hi, None, None)
    if over == "examples" and s > 0:
        ranked = distinct_sample(fresh, n_fresh, rng, what="commands", knob="n_train")
        counts = zipf_counts(n_fresh, n_fresh, s)
        train_cmds = [c for c, k in zip(ranked, counts, strict=True) for _ in range(int(k))]
    elif over == "lengths" and s > 0:
        by_words, _ = g.family_stats(train_w, t_lo, t_hi)
        classes = [int(c) for c in np.argsort(-by_words, kind="stable") if by_words[c] > 0]
        train_cmds = []
        for wc, k in zip(classes, zipf_counts(len(classes), n_fresh, s), strict=True):
            if k == 0:
                continue
            draw = g.sampler(train_w, t_lo, t_hi, None, wc)
            try:
                got = distinct_sample(
                    draw, int(k), rng, exclude=set(train_cmds), what=f"{wc}-word commands", knob="n_train", max_tries=5
                )
            except ConfigError:
                # too few distinct commands of this length: cycle the ones there are
                few = sorted(set(draw(rng, 4096)) - set(train_cmds))
                got = [few[i % len(few)] for i in range(int(k))]
            train_cmds += got
    else:
        train_cmds = distinct_sample(fresh, n_fresh, rng, what="commands", knob="n_train")
    if kind == "add_primitive":
        train_cmds = train_cmds + ["jump"] * copies
    train_cmds = [train_cmds[i] for i in rng.permutation(len(train_cmds))]
    pool = list(dict.fromkeys(train_cmds))
    index = {c: i for i, c in enumerate(pool)}
    cmd_ids = [index[c] for c in train_cmds]

    seen = set(pool)
    test_cmds = distinct_sample(
        g.sampler(eval_w, lo, hi, None, None), n_test, rng, exclude=seen, what="held-out commands", knob="n_test"
    )
    seen |= set(test_cmds)
    if kind == "simple":
        ood_draw, family, desc = (
            g.sampler(eval_w, lo, hi, None, None),
            "iid",
            ("simple split: no shift; a second held-out uniform sample of unseen commands"),
        )
    elif kind == "length":
        ood_draw, family, desc = (
            g.sampler(g.weights(g.prim < eval_p, 0.0), cut + 1, max_out, None, None),
            "long",
            (f"length split: commands whose action sequences are longer than {cut} actions (training has <= {cut})"),
        )
    else:
        jump_w = g.weights(g.prim < eval_p, 0.0)
        ood_draw, family, desc = (
            g.sampler(jump_w, 2, max_out, jump, None),
            "jump",
            ("add-primitive split: commands using 'jump' in composition; training saw 'jump' only alone"),
        )
    ood_cmds = distinct_sample(ood_draw, n_ood, rng, exclude=seen | {"jump"}, what="OOD commands", knob="n_ood")

    name = f"scan-{kind}"
    train = _dataset(train_cmds, cmd_ids, "train", "iid", vocab, name)
    test = _dataset(test_cmds, list(range(len(test_cmds))), "test", "iid", vocab, f"{name}-test")
    ood = _dataset(ood_cmds, list(range(len(ood_cmds))), "ood", family, vocab, f"{name}-ood")
    return BuiltinData(train, test, ood, desc)
