"""Data factors for compositional generalization (Zhou, Jiang & Bansal, 2023) on the SCAN-like task.

The abstract sentences checked: "they provide more diverse examples so compositional
understanding becomes more effective, and they also prevent ungeneralizable memorization
of the examples due to reduced example repetition frequency." and "On synthetic datasets,
simple examples invoke stronger compositionality than hard examples do."

The paper's claim: at a fixed training size, Transformers trained from scratch generalize
better when (a) the data hold more distinct primitives, (b) examples are repeated less,
and (c) on synthetic data, when the examples are simple rather than hard. The small
experiment checks (b) and (c) on the SCAN-like task (:mod:`datafactors.tasks.scan`,
outputs capped at 12 actions, 4 primitives, 500 training examples) with the ``seq``
learner (a 2+2-layer Transformer, d = 64, trained from scratch):

(b) **Less repetition** — Zipf exponent over examples ``s = 0`` (every command distinct)
    vs ``s = 1.5`` (the i-th ranked command repeated ~ i^-1.5 times: ~80 distinct
    commands); exact match on unseen commands.
(c) **Simple vs hard examples** — training commands whose action sequences are no longer
    than the median (``difficulty="simple"``) vs longer (``"hard"``); exact match on
    unseen commands of every length.

(a) is not checked: its test (the add-primitive ``jump`` split) needs far more data and
training than a CPU budget allows — at this size exact match on it is at the floor in both
arms (0.005 with 64 primitives vs 0.000 with SCAN's 4, one seed, 500 examples, 25 epochs,
measured with this module's earlier version), so the experiment cannot tell the arms apart.

Within a comparison the training size is fixed and the two arms share the model seed
(data and initialization seeded together); every seed draws fresh data. Effects: the
favoured arm's exact match minus the other's, with a 90% bootstrap interval over seeds
(paired across arms) and test items (each arm's own unseen commands, resampled
independently). Margin 0.02 for both (this recipe's margin before it had intervals): the
favoured condition must win by at least 2 points of exact match. For (c) the recipe also
reports each arm's exact match on short and on long unseen commands: at this scale each
arm does best on the lengths it was trained on, and the simple arm wins overall because it
does better on short commands than the hard arm does on long ones.

Negative control (``control=True``): the factor's levels are made equal across the arms —
(b) neither arm repeats examples (both ``s = 0``), (c) the length split is replaced by a
random one (both arms uniform over all lengths) — while the second arm still gets its own
data draw (a different data seed, the same model seed), exactly as in the real
comparison. What should make one arm better (repetition, difficulty) is gone, so the gap
should be noise around 0.

Trials are memoized per process (:func:`run_trials`): the control's first arm in both
comparisons is the real run's ``s = 0`` arm (uniform lengths, no repetition, the same
seed), trained once.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pandas as pd

from . import Effect, RecipeResult, bootstrap, recipe, seeds_for

NAME = "data-factors-scan"
PAPER = "Data Factors for Better Compositional Generalization (Zhou, Jiang & Bansal, EMNLP 2023)"
CLAIM = (
    "at a fixed training size, (a) more distinct primitives improve compositional generalization, (b) less example "
    "repetition improves generalization to unseen commands, and (c) on synthetic data simple examples invoke "
    "stronger compositionality than hard ones"
)
CLAIM_PART = (
    "(b) and (c) only, on SCAN-like data (500 examples, outputs <= 12 actions, 2+2-layer Transformer): "
    "no-repetition beats Zipf s=1.5, and simple beats hard, by > 2 points of exact match on unseen commands"
)
CONTROL = "factor levels equal in both arms (no repetition in either; a random instead of a length split)"
MARGIN = 0.02
ZIPF_S = 1.5
CONTROL_DATA_OFFSET = 10_000  # the control's second arm: an independent data draw, same model seed

SIZES: dict[str, dict[str, Any]] = {
    "quick": {"n_train": 500, "epochs": 25, "n_eval": 400, "max_output_len": 12},
    "full": {"n_train": 500, "epochs": 25, "n_eval": 600, "max_output_len": 12},
}
LEARNER = {"d_model": 64, "n_heads": 4, "n_layers": 2, "d_ff": 128, "lr": 3e-3, "batch_size": 64, "n_threads": 1}


def seq_trial(spec: dict[str, Any], _data: Any = None) -> dict[str, Any]:
    """Generate one task, train ``seq`` on its training set and score exact match on its test and OOD sets.

    ``spec`` holds ``task`` (generator name), ``params`` (its knobs), ``learner`` (``seq``
    settings), ``epochs`` and ``seed``; the same seed drives the data and the model unless
    ``data_seed`` is given. An optional ``extra_eval`` maps a name to knob overrides whose
    *test* set is scored too (e.g. ``{"seen": {"test_rules": "seen"}}``).

    Returns scalars (``<part>_exact_match``, ``..._rewritten`` where the task marks the rows
    a rule applies to, ``train_exact_match``, sizes, seconds) and, under ``correct_<part>``
    and ``applies_<part>``, the per-item correctness (bool arrays) behind them.
    Module level so that it runs in a worker process.
    """
    from ..learners import make_learner
    from ..tasks import generate

    t0, c0 = time.perf_counter(), time.process_time()
    data_seed = spec.get("data_seed", spec["seed"])
    data = generate(spec["task"], seed=data_seed, **spec["params"])
    lrn = make_learner("seq", **spec["learner"]).fit(data.train, epochs=spec["epochs"], seed=spec["seed"])
    out: dict[str, Any] = {"n_train": data.train.n, "distinct_train_inputs": int(data.train.extra["input"].nunique())}

    def score(name: str, ds: Any) -> np.ndarray:
        ok = lrn.sequence_correct(ds)
        out[f"{name}_exact_match"] = float(ok.mean())
        out[f"correct_{name}"] = ok
        if "applies" in ds.extra.columns:  # rewrite: where the rule changes the string
            applies = ds.extra["applies"].to_numpy(dtype=bool)
            out[f"{name}_exact_match_rewritten"] = float(ok[applies].mean())
            out[f"applies_{name}"] = applies
        return ok

    ok_test = score("test", data.test)
    score("ood", data.ood)
    diff = spec["params"].get("difficulty", "mixed")
    if diff != "mixed":
        # the difficulty cut (the training family's median output length), read off the training set
        lengths = data.train.extra["output_length"]
        cut = int(lengths.max()) if diff == "simple" else int(lengths.min()) - 1
        short = data.test.extra["output_length"].to_numpy() <= cut
        out["test_exact_match_short"] = float(ok_test[short].mean()) if short.any() else float("nan")
        out["test_exact_match_long"] = float(ok_test[~short].mean()) if (~short).any() else float("nan")
        out["difficulty_cut"] = cut
    for name, overrides in spec.get("extra_eval", {}).items():
        # the generators draw the training set first, so only the test set changes
        score(name, generate(spec["task"], seed=data_seed, **{**spec["params"], **overrides}).test)
    out["train_exact_match"] = float(lrn.sequence_correct(data.train.subset(np.arange(min(200, data.train.n)))).mean())
    out["seconds"] = time.perf_counter() - t0
    out["cpu_seconds"] = time.process_time() - c0  # what the trial costs on an idle core
    return out


_TRIALS: dict[str, dict[str, Any]] = {}


_TRIAL_KEYS = ("task", "params", "learner", "epochs", "seed", "data_seed", "extra_eval")


def _key(spec: dict[str, Any]) -> str:
    """What a trial's result depends on (not the labels a recipe adds to the spec)."""
    part = {k: spec.get(k) for k in _TRIAL_KEYS}
    part["data_seed"] = spec.get("data_seed", spec["seed"])
    return json.dumps(part, sort_keys=True, default=str)


def run_trials(specs: list[dict[str, Any]], n_workers: int) -> list[dict[str, Any]]:
    """Run ``seq_trial`` for every spec (in a process pool when ``n_workers > 1``), in spec order.

    Results are memoized per process by the spec (a trial is a deterministic function of
    it), so a spec seen before — e.g. an arm a negative control shares with the real run —
    is not trained again. Each returned row is the spec's own keys (less the task
    settings) and the trial's outputs.
    """
    from ..engines import make_engine

    todo, seen = [], set()
    for s in specs:
        k = _key(s)
        if k not in _TRIALS and k not in seen:
            todo.append(s)
            seen.add(k)
    if todo:
        eng = make_engine("local", n_workers=min(n_workers, len(todo)))
        try:
            for s, r in eng.map(seq_trial, todo, None):
                _TRIALS[_key(s)] = r
        finally:
            eng.close()
    drop = ("params", "learner", "extra_eval", "task")
    return [{**{k: v for k, v in s.items() if k not in drop}, **_TRIALS[_key(s)]} for s in specs]


def split_items(rows: list[dict[str, Any]]) -> tuple[pd.DataFrame, list[dict[str, np.ndarray]]]:
    """The scalar columns of trial rows as a frame, and each row's per-item arrays."""
    arrays = [{k: v for k, v in r.items() if isinstance(v, np.ndarray)} for r in rows]
    frame = pd.DataFrame([{k: v for k, v in r.items() if not isinstance(v, np.ndarray)} for r in rows])
    return frame, arrays


def gap_interval(better: list[np.ndarray], worse: list[np.ndarray], *, seed: int) -> tuple[float, float, float]:
    """Mean exact match of ``better`` minus ``worse``; 90% bootstrap over seeds and each arm's items.

    ``better[k]`` and ``worse[k]`` are seed k's per-item 0/1 scores of the two arms (on
    their own test items, so items are resampled independently per arm; seeds are paired).

    Examples
    --------
    >>> a = [np.array([1, 1, 0, 1]), np.array([1, 0, 1, 1])]
    >>> b = [np.array([0, 0, 1, 0]), np.array([0, 1, 0, 0])]
    >>> gap_interval(a, b, seed=0)[0]
    0.5
    """
    A = np.stack([np.asarray(x, dtype=float) for x in better])
    B = np.stack([np.asarray(x, dtype=float) for x in worse])

    def stat(si: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> float:
        return float(A[np.ix_(si, ia)].mean() - B[np.ix_(si, ib)].mean())

    return bootstrap(stat, [len(A), A.shape[1], B.shape[1]], seed=seed)


def _conditions(control: bool) -> dict[tuple[str, str], tuple[dict[str, Any], int]]:
    """(sub-claim, arm) -> (task knobs, data-seed offset); the favoured arm comes first."""
    off = CONTROL_DATA_OFFSET if control else 0
    if control:
        return {
            ("b", "no repetition (s = 0)"): ({"zipf_s": 0.0}, 0),
            ("b", "no repetition (s = 0), second draw"): ({"zipf_s": 0.0}, off),
            ("c", "uniform lengths (random split)"): ({"difficulty": "mixed"}, 0),
            ("c", "uniform lengths (random split), second draw"): ({"difficulty": "mixed"}, 2 * off),
        }
    return {
        ("b", "no repetition (s = 0)"): ({"zipf_s": 0.0}, 0),
        ("b", f"Zipf repetition (s = {ZIPF_S})"): ({"zipf_s": ZIPF_S}, 0),
        ("c", "simple (short) examples"): ({"difficulty": "simple"}, 0),
        ("c", "hard (long) examples"): ({"difficulty": "hard"}, 0),
    }


@recipe(NAME, paper=PAPER, claim=CLAIM, control=CONTROL)
def data_factors_scan(*, seed: int = 0, quick: bool = False, control: bool = False, n_workers: int = 2) -> RecipeResult:
    size = SIZES["quick" if quick else "full"]
    seeds = seeds_for(seed, quick)
    t0 = time.perf_counter()
    base = {
        "split_kind": "simple",
        "zipf_s": 0.0,
        "difficulty": "mixed",
        "n_train": size["n_train"],
        "n_test": size["n_eval"],
        "n_ood": 1,
        "max_output_len": size["max_output_len"],
    }
    conditions = _conditions(control)
    specs = []
    for s in seeds:
        for (claim, cond), (params, offset) in conditions.items():
            spec = {"claim": claim, "condition": cond, "seed": s, "data_seed": s + offset, "task": "scan"}
            spec.update(params={**base, **params}, learner=LEARNER, epochs=size["epochs"])
            specs.append(spec)
    details, items = split_items(run_trials(specs, n_workers))

    measured: dict[str, Any] = {}
    effects = []
    labels = {"b": "less repetition", "c": "simple over hard examples"}
    for j, claim in enumerate(("b", "c")):
        good, other = [c for (k, c) in conditions if k == claim]
        arm = {
            c: [items[i]["correct_test"] for i in range(len(specs)) if specs[i]["condition"] == c]
            for c in (good, other)
        }
        est = gap_interval(arm[good], arm[other], seed=seed + j)
        n_items = len(arm[good][0])
        effects.append(
            Effect(
                f"({claim}) {labels[claim]}: exact match on unseen commands, {good} minus {other}",
                *est,
                margin=MARGIN,
                method=f"bootstrap over {len(seeds)} seeds (paired) x {n_items} unseen commands per arm",
            )
        )
        for c in (good, other):
            measured[f"({claim}) {c}: exact match on unseen commands"] = float(np.mean([a.mean() for a in arm[c]]))
    per_seed = details.pivot(index="seed", columns="condition", values="test_exact_match")
    for claim in ("b", "c"):
        good, other = [c for (k, c) in conditions if k == claim]
        measured[f"({claim}) gap per seed"] = [round(float(v), 3) for v in (per_seed[good] - per_seed[other])]
    if not control:
        for _, row in (
            details[details["claim"] == "c"]
            .groupby("condition")[["test_exact_match_short", "test_exact_match_long", "difficulty_cut"]]
            .mean()
            .iterrows()
        ):
            cut = int(row["difficulty_cut"])
            measured[f"(c) {row.name}: exact match on unseen commands with <= {cut} / > {cut} actions"] = (
                f"{row['test_exact_match_short']:.3f} / {row['test_exact_match_long']:.3f}"
            )
    rep = details[details["claim"] == "b"].groupby("condition")["distinct_train_inputs"].mean()
    measured["(b) distinct training commands per arm"] = ", ".join(f"{c}: {v:.0f}" for c, v in rep.items())
    measured["training examples"] = size["n_train"]
    measured["seconds"] = round(time.perf_counter() - t0, 1)
    measured["trial CPU seconds (sum, incl. memoized)"] = round(float(details["cpu_seconds"].sum()), 1)
    return RecipeResult(
        NAME,
        PAPER,
        CLAIM,
        measured,
        details=details,
        effects=effects,
        claim_part=CLAIM_PART,
        seeds=seeds,
        sizes={
            "training examples": size["n_train"],
            "epochs": size["epochs"],
            "unseen commands per arm": size["n_eval"],
            "seeds": len(seeds),
        },
    )
