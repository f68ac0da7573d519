"""The Validity of Evaluation Results (Sun et al., 2023): do differently-built benchmarks rank models alike?

The abstract: "Our results show that: i) the datasets, although all designed to evaluate
compositional generalization, rank modeling approaches differently". The paper's claim:
benchmarks of the same ability, built in different ways (different datasets, generators
and splitting strategies), disagree about which modeling approach is better - their
*concurrence*, the rank correlation of the approaches' scores, is far from 1 - and how a
benchmark is built predicts the ranking it gives. Its sanity check adds that concurrence
says little when benchmarks are saturated (every model near 100%): the ranking is then
mostly noise.

The small experiment checks two parts (``claim_part``), on MNIST-1D (made easier - smaller
translations and less noise - so that the models have room to differ) with a zoo of 14
small models: logistic regression and MLPs of three shapes, trained on 500-4000 examples,
five of them with a training-time augmentation (noise, shift or blur on half the rows) -
different "modeling approaches". Every seed trains the zoo again and draws its own test
items. Benchmarks, each drawn twice (two i.i.d. halves A and B of 250 items with no item
in common):

- six *constructions* of the same task: ``standard`` (the generator's test items),
  ``noise``, ``shift``, ``blur`` and ``dropout`` (the crafted-shift families of
  :mod:`datafactors.augment.crafted` applied to fresh test items) and ``other generator``
  (MNIST-1D generated with wider translations, more shear and scaling);
- a *saturated* difficulty mix: the easiest test items of a held-out pool, by the
  probability a reference MLP (trained on all 4000 examples, not in the zoo) gives the
  true class, against the ``standard`` mix.

Effects, in Kendall tau-b of the models' accuracies (:func:`datafactors.metrics.concurrence`):

1. i.i.d. concurrence (A of a construction against its own B, averaged over the six)
   minus cross-construction concurrence (A of one construction against B of another,
   averaged over the 30 ordered pairs) - both compare item-disjoint halves of the same
   size, so only how the benchmark was built differs - must exceed 0.1;
2. the i.i.d. concurrence of the ``standard`` mix minus that of the saturated mix must
   exceed 0.1.

A margin of 0.1 of tau is 5% of the model pairs changing order: more than a rounding
difference in a leaderboard. Intervals are 90% percentile bootstraps over seeds and
models; test items vary through each seed's own test items and are not resampled within
a seed, because a draw that repeats items makes every accuracy noisier than the data's,
which lowers tau, and most of all on the saturated mix, whose concurrence is limited by
exactly that noise. The verdict covers this zoo with 250 items per half; its saturated mix
is as saturated as real easy items get for it (mean accuracy 96%, the best models at
100%, the weakest near 87%), not the every-model-at-100% of the paper's simulation.

Negative control: every benchmark is built the same way - each "construction" and the
"saturated mix" are i.i.d. draws of standard test items (no perturbation, no selection),
only relabelled - so neither construction nor saturation can change the ranking and both
gaps must vanish.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..augment.crafted import apply_family
from ..dataset import Dataset
from ..io.builtins import mnist1d_arrays
from ..learners import make_learner
from ..metrics import concurrence
from . import Effect, RecipeResult, bootstrap, recipe, seeds_for

NAME = "concurrence"
PAPER = (
    "The Validity of Evaluation Results: Assessing Concurrence Across Compositionality Benchmarks (Sun et al., 2023)"
)
CLAIM = (
    "benchmarks built differently rank the same models differently (their concurrence is lower than that of "
    "two i.i.d. draws of one benchmark), and saturated benchmarks concur less"
)
CLAIM_PART = (
    "over 14 MNIST-1D models, Kendall-tau concurrence of i.i.d. halves of one construction exceeds that of "
    "halves of two different constructions (5 crafted-shift families / another generator) by > 0.1, and that "
    "of the standard mix exceeds that of a saturated (easiest-items) mix by > 0.1"
)
CONTROL = "every benchmark built the same way (i.i.d. standard items, relabelled as constructions)"

# MNIST-1D made easier so that the models' accuracies spread out and perturbations have room.
EASY = {"max_translation": 8, "corr_noise_scale": 0.1, "shear_scale": 0.2}
OTHER_GENERATOR = {**EASY, "max_translation": 24, "corr_noise_scale": 0.15, "shear_scale": 0.5, "scale_coeff": 0.6}
FAMILIES = {"noise": 1.0, "shift": 1.0, "blur": 2.0, "dropout": 0.7}  # crafted shift -> severity
CONSTRUCTIONS = ("standard", *FAMILIES, "other generator")
N_TRAIN = 4000
N_ITEMS = {False: 250, True: 200}  # per benchmark half, by quick
N_SELECT = 4  # the saturated mix: the easiest 1/N_SELECT of a held-out pool
PASSES = 10  # MLP training steps: as many as PASSES epochs over the whole pool (smaller sets get more epochs)
MARGIN_CONSTRUCTION, MARGIN_SATURATION = 0.1, 0.1


def zoo(quick: bool) -> list[tuple[str, str, tuple[int, ...], int, str | None]]:
    """(name, learner, hidden, n_train, training augmentation) of the model zoo."""
    plain = [("logistic", (), n) for n in (1000, 4000)]
    plain += [("mlp", (32,), n) for n in (1000, 4000)]
    plain += [("mlp", (128,), n) for n in ((1000, 4000) if quick else (500, 1000, 4000))]
    plain += [("mlp", (128, 128), n) for n in (1000, 4000)]
    aug = [((128,), "noise"), ((128,), "shift"), ((128, 128), "noise")]
    if not quick:
        aug += [((128, 128), "shift"), ((128,), "blur")]
    out = []
    for learner, hidden, n in plain:
        shape = "x".join(map(str, hidden))
        out.append((f"{learner}{'-' + shape if hidden else ''} n={n}", learner, hidden, n, None))
    for hidden, family in aug:
        shape = "x".join(map(str, hidden))
        out.append((f"mlp-{shape} n={N_TRAIN} +{family} aug", "mlp", hidden, N_TRAIN, family))
    return out


def _fit(spec, train: Dataset, order: np.ndarray, s: int):
    """Fit one zoo model on its first ``n`` rows of ``order`` (half of them augmented if it has a family)."""
    _, learner, hidden, n, family = spec
    sub = train.subset(np.sort(order[:n]))
    if family is not None:
        X = sub.X.copy()
        half = np.arange(0, n, 2)
        X[half] = apply_family(X[half], family, seed=np.random.default_rng([s, 4, n]))
        sub = Dataset.from_arrays(X, sub.y, class_names=list(sub.class_names))
    if learner == "logistic":
        return make_learner("logistic").fit(sub, epochs=100, seed=s)
    return make_learner("mlp", hidden=list(hidden)).fit(sub, epochs=PASSES * train.n / n, seed=s)


@functools.lru_cache(maxsize=2)
def benchmark_correctness(
    seed: int, seeds: tuple[int, ...], spec: tuple, n_items: int, n_train: int, n_select: int
) -> tuple[list[dict[str, dict[str, np.ndarray]]], dict[str, float]]:
    """Per seed: {"real", "control"} -> benchmark -> (2, n_models, n_items) 0/1 correctness of halves A, B.

    Benchmarks are the :data:`CONSTRUCTIONS` and ``"standard mix"`` / ``"saturated mix"``
    (and ``"hard mix"``, the hardest items, reported only). The control's benchmarks are
    all i.i.d. standard items. Also returns the saturated mix's reference accuracy.
    Cached so that the control, which trains the same models, does not train them again.
    """
    a = mnist1d_arrays(n_train, 1.0, 42 + seed, **EASY)
    train = Dataset.from_arrays(a["x"], a["y"], class_names=[str(c) for c in range(10)], name="mnist1d-easy")
    n_pair = 2 * n_items
    n_base = len(CONSTRUCTIONS) * n_pair  # one pair of halves per construction
    out, ref_acc = [], []
    for s in seeds:
        rng = np.random.default_rng([s, 5])
        base = mnist1d_arrays(n_base + n_select * n_pair, 0.0, 7_042 + s, **EASY)
        other = mnist1d_arrays(n_pair, 0.0, 8_042 + s, **OTHER_GENERATOR)
        X, y = base["x_test"], base["y_test"]

        def halves(X, y, rows):
            return (X[rows[:n_items]], y[rows[:n_items]]), (X[rows[n_items:]], y[rows[n_items:]])

        real, control = {}, {}
        for k, name in enumerate(CONSTRUCTIONS):
            plain = halves(X, y, np.arange(k * n_pair, (k + 1) * n_pair))
            control[name] = plain
            if name in FAMILIES:
                real[name] = tuple((apply_family(Xh, name, severity=FAMILIES[name], seed=rng), yh) for Xh, yh in plain)
            elif name == "other generator":
                real[name] = halves(other["x_test"], other["y_test"], np.arange(n_pair))
            else:
                real[name] = plain
        real["standard mix"], control["standard mix"] = real["standard"], control["standard"]
        # difficulty mixes from a held-out pool, ranked by a reference model outside the zoo
        Xp, yp = X[n_base:], y[n_base:]
        ref = make_learner("mlp", hidden=[256]).fit(train, epochs=1.5 * PASSES, seed=10_000 + s)
        p_true = ref.predict_proba(Xp)[np.arange(len(yp)), yp]
        by_ease = np.argsort(-p_true, kind="stable")
        easy, hard = by_ease[:n_pair], by_ease[-n_pair:]
        ref_acc.append(float(p_true[easy].mean()))
        real["saturated mix"] = halves(Xp, yp, rng.permutation(easy))
        real["hard mix"] = halves(Xp, yp, rng.permutation(hard))
        rand = rng.permutation(len(yp))
        control["saturated mix"] = halves(Xp, yp, rand[:n_pair])
        control["hard mix"] = halves(Xp, yp, rand[n_pair : 2 * n_pair])

        order = np.random.default_rng([s, 0]).permutation(train.n)
        models = [_fit(sp, train, order, s) for sp in spec]
        res = {}
        for arm, benches in (("real", real), ("control", control)):
            res[arm] = {
                b: np.stack([[m.predict_proba(Xh).argmax(1) == yh for m in models] for Xh, yh in pair])
                for b, pair in benches.items()
            }
        out.append(res)
    return out, {"reference model's mean p(true class) on the saturated mix": float(np.mean(ref_acc))}


# ------------------------------------------------------------------ the statistics (arrays)


def kendall_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n_a, n_b) Kendall tau-b between every row of ``a`` (n_a, n_models) and every row of ``b``.

    tau-b is the normalised inner product of the pairwise-order signs over model pairs, so
    tied pairs drop out as in scipy's tau-b; a row with every model tied ranks nothing and
    counts as 0 (``concurrence(..., undefined="zero")``).
    """
    i, j = np.triu_indices(a.shape[1], 1)
    sa, sb = np.sign(a[:, i] - a[:, j]), np.sign(b[:, i] - b[:, j])
    num = sa @ sb.T
    den = np.sqrt(np.outer((sa**2).sum(axis=1), (sb**2).sum(axis=1)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


class ConcurrenceStatistics:
    """Concurrence gaps for a bootstrap draw of (seeds, models).

    ``correct`` is one dict per seed: benchmark -> (2, n_models, n_items) correctness of the
    two halves. Accuracies are computed once; a draw picks seeds and models.
    """

    def __init__(self, correct: list[dict[str, np.ndarray]]):
        self.benchmarks = list(correct[0])
        self.acc = [np.stack([c[b].mean(axis=2) for b in self.benchmarks]) for c in correct]  # (B, 2, M)
        self.n_seeds = len(correct)
        self.n_models = self.acc[0].shape[2]

    @property
    def sizes(self) -> list[int]:
        return [self.n_seeds, self.n_models]

    def taus(self, k: int, m: np.ndarray) -> np.ndarray:
        """(B, B) tau between half A of every benchmark and half B of every benchmark, seed ``k``, models ``m``."""
        acc = self.acc[k][:, :, m]
        return kendall_matrix(acc[:, 0], acc[:, 1])

    def parts(self, k: int, m: np.ndarray) -> dict[str, float]:
        t = self.taus(k, m)
        idx = [self.benchmarks.index(c) for c in CONSTRUCTIONS]
        sub = t[np.ix_(idx, idx)]
        off = ~np.eye(len(idx), dtype=bool)
        std, sat = self.benchmarks.index("standard mix"), self.benchmarks.index("saturated mix")
        hard = self.benchmarks.index("hard mix")
        return {
            "iid": float(np.mean(np.diag(sub))),
            "cross": float(np.mean(sub[off])),
            "standard": float(t[std, std]),
            "saturated": float(t[sat, sat]),
            "hard": float(t[hard, hard]),
        }

    def stat(self, name: str):
        def fn(s, m):
            vals = [self.parts(int(k), m) for k in s]
            if name == "construction":
                return float(np.mean([v["iid"] - v["cross"] for v in vals]))
            if name == "saturation":
                return float(np.mean([v["standard"] - v["saturated"] for v in vals]))
            return float(np.mean([v[name] for v in vals]))

        return fn


def concurrence_effects(stats: ConcurrenceStatistics, *, seed: int) -> list[Effect]:
    """The two effects that decide the verdict."""
    method = f"bootstrap over {stats.n_seeds} seeds (each its own test items) x {stats.n_models} models"
    cons = bootstrap(stats.stat("construction"), stats.sizes, seed=seed)
    sat = bootstrap(stats.stat("saturation"), stats.sizes, seed=seed)
    return [
        Effect(
            "i.i.d. concurrence (Kendall tau, halves of one construction) minus cross-construction concurrence "
            f"(halves of two different constructions) (needs > {MARGIN_CONSTRUCTION})",
            *cons,
            margin=MARGIN_CONSTRUCTION,
            method=method,
        ),
        Effect(
            "i.i.d. concurrence of the standard mix minus that of the saturated (easiest-items) mix "
            f"(needs > {MARGIN_SATURATION})",
            *sat,
            margin=MARGIN_SATURATION,
            method=method,
        ),
    ]


# ------------------------------------------------------------------ the recipe


@recipe(NAME, paper=PAPER, claim=CLAIM, control=CONTROL)
def concurrence_recipe(*, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    seeds = seeds_for(seed, quick)
    spec = tuple(zoo(quick))
    n_items = N_ITEMS[quick]
    per_seed, info = benchmark_correctness(seed, tuple(seeds), spec, n_items, N_TRAIN, N_SELECT)
    arm = "control" if control else "real"
    correct = [c[arm] for c in per_seed]
    stats = ConcurrenceStatistics(correct)
    effects = concurrence_effects(stats, seed=seed)

    all_m = np.arange(stats.n_models)
    parts = [stats.parts(k, all_m) for k in range(stats.n_seeds)]
    mean = {key: float(np.mean([p[key] for p in parts])) for key in parts[0]}
    rows = []
    for k, s in enumerate(seeds):
        for b, c in correct[k].items():
            for half in (0, 1):
                for j, sp in enumerate(spec):
                    rows.append(
                        {"seed": s, "benchmark": b, "half": "AB"[half], "model": sp[0], "accuracy": c[half, j].mean()}
                    )
    details = pd.DataFrame(rows)
    acc = details.groupby("benchmark")["accuracy"].mean()
    measured: dict[str, object] = {
        "models x seeds": f"{stats.n_models} x {len(seeds)}",
        "items per benchmark half": n_items,
        "mean accuracy per construction": ", ".join(f"{b} {acc[b]:.3f}" for b in CONSTRUCTIONS),
        "mean accuracy: standard / saturated / hard mix": (
            f"{acc['standard mix']:.3f} / {acc['saturated mix']:.3f} / {acc['hard mix']:.3f}"
        ),
        "i.i.d. concurrence (mean over constructions)": mean["iid"],
        "cross-construction concurrence (mean over pairs)": mean["cross"],
        "i.i.d. concurrence: standard / saturated / hard mix": (
            f"{mean['standard']:.3f} / {mean['saturated']:.3f} / {mean['hard']:.3f}"
        ),
    }
    t = np.mean([stats.taus(k, all_m) for k in range(stats.n_seeds)], axis=0)
    idx = [stats.benchmarks.index(c) for c in CONSTRUCTIONS]
    for a_, i in zip(CONSTRUCTIONS, idx, strict=True):
        measured[f"tau of {a_} (A) with each construction (B)"] = " ".join(f"{t[i, j]:.2f}" for j in idx)
    # cross-check of the vectorised tau with the library's concurrence on seed 0
    c0 = correct[0]
    measured["check: metrics.concurrence, standard A vs B, first seed"] = concurrence(
        c0["standard"][0].mean(axis=1), c0["standard"][1].mean(axis=1), undefined="zero"
    )
    measured.update(info)
    return RecipeResult(
        NAME,
        PAPER,
        CLAIM,
        measured,
        details=details,
        effects=effects,
        claim_part=CLAIM_PART,
        seeds=seeds,
        sizes={"models": stats.n_models, "items per half": n_items, "constructions": len(CONSTRUCTIONS)},
    )
