"""A small gCOG-like compositional task: instructions about a scene of coloured shapes.

After gCOG (Ito et al., 2024), at toy scale. A scene is 1 + distractors objects, each a
(colour, shape) at a distinct cell of a ``grid x grid`` board. A task is one operator
on a target object, or a chain of them joined by ``and`` (the answer is the
concatenation of the parts' answers):

- ``exist C S`` -> ``true`` / ``false`` (is there a C S?)
- ``color S`` -> the colour of the S
- ``shape C`` -> the shape of the C
- ``where C S`` -> its cell, ``rI cJ``

The targets of one task are unambiguous: no other object shares a target's colour or
shape (``exist`` queries that answer ``false`` name an absent pair).

Splits (``split_kind``), each with an in-distribution ``test`` and a shifted ``ood``:

- ``distractor``: training scenes have 1..``train_distractors`` distractors; OOD
  scenes have ``train_distractors + 1``..``max_distractors``.
- ``systematic``: a ``heldout_frac`` share of the (colour, shape) pairs is held out
  (:func:`~datafactors.splits.compositional.held_out_combinations`, so every colour and
  every shape is still seen): training and test scenes and queries never contain a
  held-out pair; every OOD task targets one.
- ``productive``: training chains have 1..``train_depth`` operators; OOD chains have
  ``train_depth + 1``..``train_depth + 2``.

Encoding: the shared sequence encoding of :mod:`datafactors.tasks._common`:
``input = "color circle and shape red | red square r0 c1 ; blue circle r2 c3"``,
``output = "blue square"``. ``y`` is the **first answer token** over the fixed answer
vocabulary (``class_names``: true, false, the colours, the shapes, the rows).
``groups`` is the first operator; ``extra`` columns: ``operators``, ``depth``,
``n_objects``, ``targets``.
"""

from __future__ import annotations

import itertools

import pandas as pd

from .._errors import ConfigError
from .._validation import check_random_state
from ..dataset import Dataset
from ..io.builtins import BuiltinData
from . import task
from ._common import Vocab, check_choice, check_float, check_int, seq_dataset

COLORS = ("red", "green", "blue", "yellow", "purple", "orange", "white", "black")
SHAPES = ("circle", "square", "triangle", "star", "cross", "heart", "moon", "ring")
OPERATORS = ("exist", "color", "shape", "where")
SPLITS = ("distractor", "systematic", "productive")


def _answer(op: str, target: tuple[str, str, int, int] | None, query: tuple[str, str]) -> list[str]:
    if op == "exist":
        return ["true" if target is not None else "false"]
    assert target is not None
    c, s, r, k = target
    return {"color": [c], "shape": [s], "where": [f"r{r}", f"c{k}"]}[op]


def _instruction(op: str, query: tuple[str, str]) -> list[str]:
    c, s = query
    return {"exist": [op, c, s], "color": [op, s], "shape": [op, c], "where": [op, c, s]}[op]


@task("gcog")
def make_gcog(
    *,
    split_kind: str = "distractor",
    n_colors: int = 6,
    n_shapes: int = 6,
    grid: int = 4,
    train_distractors: int = 2,
    max_distractors: int = 5,
    train_depth: int | None = None,
    heldout_frac: float = 0.25,
    n_train: int = 2000,
    n_test: int = 500,
    n_ood: int = 500,
    seed: int = 0,
) -> BuiltinData:
    """gCOG-like scenes and instructions with distractor / systematic / productive splits.

    Parameters
    ----------
    split_kind : "distractor", "systematic" or "productive".
    n_colors, n_shapes : attribute values, 3..8 each.
    grid : board side (cells = grid^2 must hold the largest scene).
    train_distractors : most distractors in training scenes (>= 0).
    max_distractors : most distractors in OOD scenes of the distractor split (> train_distractors).
    train_depth : most operators chained in a training task, 1..4 (default 2 for the productive
        split, so that ``and`` is seen, and 1 otherwise).
    heldout_frac : share of (colour, shape) pairs held out by the systematic split, in (0, 1).
    n_train, n_test, n_ood : rows per set.
    seed : seeds the one numpy Generator everything is drawn from.

    Examples
    --------
    >>> d = make_gcog(split_kind="systematic", n_train=50, n_test=10, n_ood=10, seed=0)
    >>> bool(d.train.extra["input"].str.contains(" | ", regex=False).all())
    True
    """
    kind = check_choice(split_kind, "split_kind", SPLITS)
    nc = check_int(n_colors, "n_colors", 3, len(COLORS))
    ns = check_int(n_shapes, "n_shapes", 3, len(SHAPES))
    g = check_int(grid, "grid", 2, 10)
    td = check_int(train_distractors, "train_distractors", 0)
    md = check_int(max_distractors, "max_distractors", td + 1) if kind == "distractor" else td
    if train_depth is None:
        train_depth = 2 if kind == "productive" else 1
    depth = check_int(train_depth, "train_depth", 1, 4)
    frac = check_float(heldout_frac, "heldout_frac", 0.0, 1.0, lo_open=True)
    n_train = check_int(n_train, "n_train", 1)
    n_test = check_int(n_test, "n_test", 1)
    n_ood = check_int(n_ood, "n_ood", 1)
    if kind == "distractor" and td < 1:
        raise ConfigError("train_distractors == 0 with the distractor split; need >= 1")
    max_depth = depth + 2 if kind == "productive" else depth
    if max_depth > min(nc, ns) - 1:
        raise ConfigError(
            f"chains of {max_depth} operators need more than {max_depth} colours and shapes "
            f"(n_colors == {nc}, n_shapes == {ns})"
        )
    max_objects = max_depth + md
    if max_objects > g * g:
        raise ConfigError(f"grid == {g} has {g * g} cells, fewer than the {max_objects} objects a scene may hold")
    rng = check_random_state(seed)
    colors, shapes = COLORS[:nc], SHAPES[:ns]

    pairs = list(itertools.product(colors, shapes))
    held: set[tuple[str, str]] = set()
    if kind == "systematic":
        from .._splitting import held_out_combinations

        frame = pd.DataFrame(pairs, columns=["color", "shape"])
        held = {tuple(h) for h in held_out_combinations(frame, frac, seed=rng, where="the colour-shape pairs")}
    allowed = [p for p in pairs if p not in held]
    held_list = sorted(held)

    answers = ["true", "false", *colors, *shapes, *(f"r{i}" for i in range(g))]
    vocab = Vocab(
        ["|", ";", "and", *OPERATORS, *colors, *shapes, *(f"r{i}" for i in range(g)), *(f"c{i}" for i in range(g))]
    )
    width = max_depth * 3 + (max_depth - 1) + 1 + max_objects * 5

    def one(ndist: int, d: int, must_hold: bool, pool: list[tuple[str, str]]):
        """One (instruction, answer, ops, n_objects, targets) or None if the draw failed."""
        ops = [OPERATORS[int(i)] for i in rng.integers(0, len(OPERATORS), size=d)]
        cols = [colors[int(i)] for i in rng.permutation(nc)[:d]]
        shps = [shapes[int(i)] for i in rng.permutation(ns)[:d]]
        queries = list(zip(cols, shps, strict=True))
        if must_hold:
            # the first target is a held-out pair; the others keep their distinct attributes
            hc, hs = held_list[int(rng.integers(0, len(held_list)))]
            rest = [q for q in queries if q[0] != hc and q[1] != hs]
            queries = [(hc, hs), *rest][:d]
            if len(queries) < d:
                return None
        elif any(q not in pool for q in queries):
            return None
        present = [not (op == "exist" and rng.random() < 0.5) for op in ops]
        if must_hold:
            present[0] = True
        used_c = {q[0] for q in queries}
        used_s = {q[1] for q in queries}
        free = [p for p in pool if p[0] not in used_c and p[1] not in used_s]
        if ndist and not free:
            return None
        objs = [q for q, pr in zip(queries, present, strict=True) if pr]
        if not objs and not ndist:
            ndist = 1  # never an empty scene
        if ndist and not free:
            return None
        objs += [free[int(i)] for i in rng.integers(0, len(free), size=ndist)] if ndist else []
        cells = rng.permutation(g * g)[: len(objs)]
        placed = [(c, s, int(cell) // g, int(cell) % g) for (c, s), cell in zip(objs, cells, strict=True)]
        order = rng.permutation(len(placed))
        scene = [placed[int(i)] for i in order]
        loc = {(c, s): (c, s, r, k) for c, s, r, k in placed}
        instr, ans, targets = [], [], []
        for j, (op, q) in enumerate(zip(ops, queries, strict=True)):
            if j:
                instr.append("and")
            instr += _instruction(op, q)
            ans += _answer(op, loc.get(q), q)
            targets.append(f"{q[0]} {q[1]}")
        text = " ".join(instr) + " | " + " ; ".join(f"{c} {s} r{r} c{k}" for c, s, r, k in scene)
        return text, " ".join(ans), "+".join(ops), len(scene), ",".join(targets)

    def build(n: int, part: str, dist_range: tuple[int, int], depth_range: tuple[int, int], must_hold: bool) -> Dataset:
        pool = pairs if must_hold else allowed
        rows = []
        while len(rows) < n:
            nd = int(rng.integers(dist_range[0], dist_range[1] + 1))
            d = int(rng.integers(depth_range[0], depth_range[1] + 1))
            r = one(nd, d, must_hold, pool)
            if r is not None:
                rows.append(r)
        inputs, outputs, ops, nobj, targets = (list(c) for c in zip(*rows, strict=True))
        return seq_dataset(
            inputs=inputs,
            outputs=outputs,
            y=[answers.index(o.split()[0]) for o in outputs],
            class_names=answers,
            ids=[f"gcog-{part}-{i}" for i in range(n)],
            vocab=vocab,
            width=width,
            name=f"gcog-{kind}" + ("" if part == "train" else f"-{part}"),
            groups=[o.split("+")[0] for o in ops],
            columns={"operators": ops, "depth": [o.count("+") + 1 for o in ops], "n_objects": nobj, "targets": targets},
        )

    lo_d = 1 if kind == "distractor" else 0
    train = build(n_train, "train", (lo_d, td), (1, depth), False)
    test = build(n_test, "test", (lo_d, td), (1, depth), False)
    if kind == "distractor":
        ood = build(n_ood, "ood", (td + 1, md), (1, depth), False)
        desc = f"scenes with {td + 1}-{md} distractors; training scenes had at most {td}"
    elif kind == "systematic":
        ood = build(n_ood, "ood", (0, td), (1, depth), True)
        desc = f"tasks targeting {len(held)} colour-shape pairs never seen in training (each colour and shape was)"
    else:
        ood = build(n_ood, "ood", (0, td), (depth + 1, depth + 2), False)
        desc = f"chains of {depth + 1}-{depth + 2} operators; training chains had at most {depth}"
    return BuiltinData(train, test, ood, desc)
