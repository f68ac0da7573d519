"""A Benchmark Study on Calibration (Tao et al., 2024): does the bin count matter more after scaling?

The abstract asks "(vi) What is the impact of bin size on calibration measurement?"; the
paper's answer, over NATS-Bench networks, is that the bin count has a larger effect on
ECE after post-hoc temperature scaling than before: ECE computed with different bin
counts ranks the scaled models less consistently, and its value moves more with the bin
count.

Why a null is needed. Finite-sample ECE grows with the number of bins even for perfectly
calibrated predictions (each bin's mean correctness is noisy, and ``|noise|`` has a
positive mean that grows as bins get smaller). Temperature scaling shrinks ECE, so after
scaling this floor is a larger share of it: "ECE moves more with the bin count after
scaling" is close to guaranteed by arithmetic alone, whether or not the miscalibration
that scaling leaves behind is any more sensitive to binning. Each statistic is therefore
compared with the same statistic on a *floor-only null* in which the bin count cannot
matter except through that noise: for each model and stage (before / after scaling) the
labels' correctness is redrawn as ``Bernoulli(conf - g)``, where ``g`` is the model's own
calibration gap in the coarsest binning (5 equal-width bins; every other bin count of the
sweep is a multiple of 5, so a refinement of it), shrunk by its sampling noise. The null
keeps each model's confidences, its calibration level and its finite-sample floor; its
miscalibration is constant inside each coarse bin, so finer bins cannot reveal more of it.
A null of perfectly calibrated predictions (labels redrawn from each model's own
probabilities) is reported too, but does not decide: it has no calibration level at all,
so it reproduces neither the floor's share of ECE nor how that share grows after scaling.

The experiment: 24 small MLPs on MNIST-1D (made easier - smaller translations and less
noise - so that the nets reach 25-90% accuracy and, trained long, become over-confident),
three widths, four training-set sizes, trained briefly or long. Every seed has its own
6000 test items; T is fitted per model on a random 20% of them and ECE (equal-width, top
label) is computed on the other 4800 at 5, 10, 15, 20, 25, 50, 100, 200 and 500 bins,
before and after scaling. How much the bin count matters, per stage:

- *rank agreement* (the paper's measure): the mean Kendall tau-b between the models' ECE
  rankings at every pair of bin counts (1 = the bin count never changes which model looks
  best calibrated);
- *fine-bin share*: per model, ``1 - ECE(5 bins) / mean ECE over the sweep``, the share of
  the sweep's ECE that the coarsest binning does not see, averaged over models. (The
  relative spread ``(max - min) / mean`` is reported as well but does not decide: it is
  largest for pure noise, so bin-resolvable miscalibration *lowers* it relative to the
  null and it could not show the effect even where there is one.)

The claim checked (``claim_part``): from before to after temperature scaling, rank
agreement falls and the fine-bin share rises by more than they do in the floor-only null.
Margins: 0.05 of Kendall tau (about one model pair in 40 changing order) and 0.05 of
fine-bin share (5% of the model's ECE seen only by finer bins). Intervals are 90%
percentile bootstraps over seeds and models; test items vary through the seeds'
independent test sets, and are not resampled within a seed because a draw that repeats
items has a higher finite-sample floor than the data (a repeated item's noise counts
twice) - the floor is what the null is about. The verdict covers MLPs on MNIST-1D with
4800 scored test items; with many more test items the floor shrinks and the answer may
differ.

Negative control: every model's test labels are replaced by labels drawn from its own
pre-scaling probabilities, so its predictions are perfectly calibrated; temperature
scaling then has nothing to fix and the bin count can matter only through noise, in the
data and in the null alike.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..io.builtins import mnist1d_arrays
from ..learners import make_learner
from ..metrics import BIN_COUNTS, fit_temperature, temperature_scale
from . import Effect, RecipeResult, bootstrap, recipe, seeds_for
from ._evidence import N_BOOT

NAME = "calibration-bins"
PAPER = "A Benchmark Study on Calibration (Tao et al., 2024)"
CLAIM = (
    "the bin count has a larger effect on ECE after temperature scaling than before: across bin counts the "
    "models' ECE ranking agrees less (lower mean Kendall tau) and more of ECE depends on the bin count"
)
CLAIM_PART = (
    "over 24 MNIST-1D MLPs, the drop in rank agreement and the rise in the share of ECE seen only by finer bins, "
    "across 9 bin counts from before to after temperature scaling, exceed those of a floor-only null (each "
    "model's coarse calibration gap, confidences and finite-sample noise kept; binning cannot matter otherwise)"
)
CONTROL = "predictions perfectly calibrated (labels redrawn from each model's own probabilities)"

# MNIST-1D made easier so that small MLPs reach high accuracy and, trained long, over-fit.
EASY = {"max_translation": 8, "corr_noise_scale": 0.1, "shear_scale": 0.2}
N_TRAIN = 4000
N_TEST = {False: 6000, True: 4000}  # per seed, by quick
HOLDOUT = 0.2  # share of the test predictions T is fitted on
COARSE = min(BIN_COUNTS)  # every bin count of the sweep refines this binning
FINE = int(np.lcm.reduce(BIN_COUNTS))  # 3000: every bin count of the sweep groups these bins
TAU_MARGIN, SHARE_MARGIN = 0.05, 0.05
# Long training per size: enough passes to over-fit (over-confident predictions).
LONG_EPOCHS = {250: 200, 500: 120, 1000: 80, 4000: 30}


def zoo(quick: bool) -> list[tuple[str, int, int, float]]:
    """(name, hidden width, n_train, epochs) of the model zoo: widths x sizes x {short, long}."""
    widths = (32, 128) if quick else (32, 128, 256)
    sizes = (250, 1000, 4000) if quick else tuple(LONG_EPOCHS)
    out = []
    for w, n in itertools.product(widths, sizes):
        for label, epochs in (("short", max(2.0, LONG_EPOCHS[n] / 8)), ("long", float(LONG_EPOCHS[n]))):
            out.append((f"mlp-{w} n={n} {label} ({epochs:g} ep)", w, n, epochs))
    return out


@functools.lru_cache(maxsize=2)
def _zoo_predictions(
    seed: int, seeds: tuple[int, ...], spec: tuple[tuple[str, int, int, float], ...], n_train: int, n_test: int
) -> tuple[np.ndarray, np.ndarray]:
    """Test probabilities ``(n_seeds, n_models, n_test, 10)`` of the zoo and the labels ``(n_seeds, n_test)``.

    One training pool per recipe seed; every seed has its own test set, training subsets
    and initialisation. Cached so that the negative control, which trains the same models,
    does not train them again.
    """
    a = mnist1d_arrays(n_train, 1.0, 42 + seed, **EASY)
    train = Dataset.from_arrays(a["x"], a["y"], class_names=[str(c) for c in range(10)], name="mnist1d-easy")
    probs = np.empty((len(seeds), len(spec), n_test, 10))
    ys = np.empty((len(seeds), n_test), dtype=np.int64)
    for i, s in enumerate(seeds):
        test = mnist1d_arrays(n_test, 0.0, 5_042 + s, **EASY)
        ys[i] = test["y_test"]
        order = np.random.default_rng([s, 0]).permutation(train.n)
        for j, (_, width, n, epochs) in enumerate(spec):
            sub = train.subset(np.sort(order[:n]))
            model = make_learner("mlp", hidden=[width]).fit(sub, epochs=epochs, seed=s)
            probs[i, j] = model.predict_proba(test["x_test"])
    probs.flags.writeable = False
    ys.flags.writeable = False
    return probs, ys


# ------------------------------------------------------------------ the statistics (arrays)


def fine_bins(conf: np.ndarray) -> np.ndarray:
    """Index of each confidence among ``FINE`` equal-width right-closed bins (0 falls in the first).

    Every bin count ``k`` of :data:`~datafactors.metrics.BIN_COUNTS` divides ``FINE``, and
    its bin ``b = ceil(conf * k) - 1`` is exactly fine bin ``// (FINE / k)``, so one pass
    over the items gives the ECE at every bin count.
    """
    return np.clip(np.ceil(conf * FINE).astype(np.int64) - 1, 0, FINE - 1)


def ece_table(
    fine: np.ndarray, resid: np.ndarray, weights: np.ndarray | None = None, bin_counts=BIN_COUNTS
) -> np.ndarray:
    """(n_models, n_counts) equal-width ECE of every model at every bin count.

    ``fine`` is :func:`fine_bins` of the confidences ``(n_models, n)``, ``resid`` the
    per-item ``correct - confidence`` ``(n_models, n)`` and ``weights`` ``(n,)`` how often
    each item counts (a bootstrap draw's multiplicities; default once each).
    ``ECE = sum_b |sum_{i in b} w_i resid_i| / sum_i w_i``, as :func:`datafactors.metrics.ece`
    with its default right-closed bins.
    """
    n_models, n = fine.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    idx = (fine + (np.arange(n_models) * FINE)[:, None]).ravel()
    sums = np.bincount(idx, weights=(resid * w).ravel(), minlength=n_models * FINE).reshape(n_models, FINE)
    # bin b of k bins ends at fine bin (b + 1) * FINE / k: differences of the running sum
    run = np.concatenate([np.zeros((n_models, 1)), np.cumsum(sums, axis=1)], axis=1)
    cols = [np.abs(np.diff(run[:, :: FINE // k], axis=1)).sum(axis=1) for k in bin_counts]
    return np.stack(cols, axis=1) / w.sum()


def rank_agreement(table: np.ndarray) -> float:
    """Mean Kendall tau-b between the columns (bin counts) of a models x bin-counts table.

    tau-b of two columns is the normalised inner product of their pairwise-order signs
    over model pairs, so tied pairs (a model drawn twice) drop out as in scipy's tau-b.
    """
    i, j = np.triu_indices(table.shape[0], 1)
    s = np.sign(table[i] - table[j])  # (pairs, counts)
    gram = s.T @ s
    norm = np.sqrt(np.diag(gram))
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = gram / np.outer(norm, norm)
    a, b = np.triu_indices(table.shape[1], 1)
    return float(np.mean(tau[a, b]))


def fine_share(table: np.ndarray) -> float:
    """Mean over models of ``1 - ECE(coarsest) / mean ECE over the bin counts`` (column 0 is the coarsest)."""
    return float(np.mean(1.0 - table[:, 0] / table.mean(axis=1)))


def relative_spread(table: np.ndarray) -> float:
    """Mean over models of (max - min) / mean of ECE across the bin counts."""
    return float(np.mean((table.max(axis=1) - table.min(axis=1)) / table.mean(axis=1)))


MEASURES = {"tau": rank_agreement, "share": fine_share, "spread": relative_spread}


def floor_null(conf: np.ndarray, correct: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Correctness redrawn as Bernoulli(conf - g): g is each model's gap in its coarse bin, shrunk by its noise.

    ``conf``, ``correct`` are ``(n_models, n)``. The gap of coarse bin ``b`` (``COARSE``
    equal-width bins) is ``g_b = mean(conf - correct)`` over its items; its square is
    reduced by its sampling variance ``acc_b (1 - acc_b) / n_b`` (so that redrawing does
    not add the floor twice), keeping its sign. Inside a coarse bin the gap is constant,
    so any finer binning sees the same miscalibration plus noise.
    """
    out = np.empty_like(conf)
    for m in range(conf.shape[0]):
        b = np.clip(np.ceil(conf[m] * COARSE).astype(np.int64) - 1, 0, COARSE - 1)
        cnt = np.maximum(np.bincount(b, minlength=COARSE), 1).astype(float)
        gap = np.bincount(b, weights=conf[m] - correct[m], minlength=COARSE) / cnt
        acc = np.bincount(b, weights=correct[m], minlength=COARSE) / cnt
        shrunk = np.sign(gap) * np.sqrt(np.maximum(gap**2 - acc * (1 - acc) / cnt, 0.0))
        out[m] = rng.random(conf.shape[1]) < np.clip(conf[m] - shrunk[b], 0.0, 1.0)
    return out


def calibrated_null(conf: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Correctness redrawn as Bernoulli(conf): the predictions perfectly calibrated."""
    return (rng.random(conf.shape) < conf).astype(float)


def stage_arrays(probs: np.ndarray, y: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Before / after temperature scaling for one seed's zoo ``probs (n_models, n, C)`` and labels ``y``.

    ``y`` is ``(n,)`` (shared) or ``(n_models, n)`` (each model's own labels, the control).
    T is fitted per model on a random ``HOLDOUT`` share of the rows; everything else is on
    the remaining rows. Returns the eval-row confidences ``conf_before``/``conf_after`` and
    correctness ``correct`` (top label; scaling keeps the argmax) ``(n_models, n_eval)``,
    the temperatures and the accuracies.
    """
    n_models, n = probs.shape[:2]
    labels = np.broadcast_to(y, (n_models, n))
    perm = np.random.default_rng([seed, 2]).permutation(n)
    n_fit = int(round(HOLDOUT * n))
    fit, ev = np.sort(perm[:n_fit]), np.sort(perm[n_fit:])
    temps = np.array([fit_temperature(probs[m, fit], labels[m, fit]).temperature for m in range(n_models)])
    before = probs[:, ev]
    after = np.stack([temperature_scale(before[m], temps[m]) for m in range(n_models)])
    correct = (before.argmax(axis=2) == labels[:, ev]).astype(float)
    return {
        "conf_before": before.max(axis=2),
        "conf_after": after.max(axis=2),
        "correct": correct,
        "temperature": temps,
        "accuracy": correct.mean(axis=1),
    }


class BinCountStatistics:
    """The measures, real and null, before and after scaling, for a bootstrap draw of seeds and models.

    ``stages`` holds one :func:`stage_arrays` dict per seed (same models; each seed has
    its own test items). Each seed gets one floor-only null draw and one perfectly
    calibrated one. ``stat(measure)`` is a statistic for
    :func:`~datafactors.recipes.bootstrap` over (seeds, models).

    Items are not resampled within a seed: a draw with repeated items has a higher
    finite-sample floor than the data (a repeated item's noise counts twice), and the floor
    is what the null is about; test-item variation enters through the seeds' independent
    test sets instead.
    """

    def __init__(self, stages: list[dict[str, np.ndarray]], seed: int):
        rng = np.random.default_rng([seed, 3])
        self.n_seeds = len(stages)
        self.n_models, self.n_items = stages[0]["correct"].shape
        self.tables: list[dict[tuple[str, str], np.ndarray]] = []
        for st in stages:
            tabs = {}
            for stage in ("before", "after"):
                conf = st[f"conf_{stage}"]
                fine = fine_bins(conf)
                tabs[stage, "real"] = ece_table(fine, st["correct"] - conf)
                tabs[stage, "null"] = ece_table(fine, floor_null(conf, st["correct"], rng) - conf)
                tabs[stage, "calibrated"] = ece_table(fine, calibrated_null(conf, rng) - conf)
            self.tables.append(tabs)

    @property
    def sizes(self) -> list[int]:
        return [self.n_seeds, self.n_models]

    def values(self, s: np.ndarray, m: np.ndarray) -> dict[tuple[str, str, str], float]:
        """(measure, stage, labels) -> value averaged over the drawn seeds, e.g. ("tau", "after", "null")."""
        out: dict[tuple[str, str, str], float] = {}
        for k in s:
            for (stage, lab), table in self.tables[k].items():
                for measure, fn in MEASURES.items():
                    out[measure, stage, lab] = out.get((measure, stage, lab), 0.0) + fn(table[m]) / len(s)
        return out

    def stat(self, measure: str, labels: str = "real", against: str | None = "null"):
        """The before-to-after change of ``measure`` (tau: its drop; share, spread: their rise) minus ``against``'s."""
        sign = 1.0 if measure == "tau" else -1.0

        def change(k, m, lab):
            fn = MEASURES[measure]
            return sign * (fn(self.tables[k]["before", lab][m]) - fn(self.tables[k]["after", lab][m]))

        def fn(s, m):
            return float(np.mean([change(k, m, labels) - (change(k, m, against) if against else 0.0) for k in s]))

        return fn


def floor_null_effects(stats: BinCountStatistics, *, seed: int, n_boot: int = N_BOOT) -> list[Effect]:
    """The two effects that decide the verdict: each measure's before-to-after change beyond the floor-only null."""
    method = (
        f"{n_boot}-draw bootstrap over {stats.n_seeds} seeds (each its own {stats.n_items} test items) "
        f"x {stats.n_models} models"
    )
    tau = bootstrap(stats.stat("tau"), stats.sizes, seed=seed, n_boot=n_boot)
    share = bootstrap(stats.stat("share"), stats.sizes, seed=seed, n_boot=n_boot)
    return [
        Effect(
            "drop in rank agreement across bin counts (mean Kendall tau) from before to after scaling, minus the "
            f"floor-only null's drop (needs > {TAU_MARGIN} tau)",
            *tau,
            margin=TAU_MARGIN,
            method=method,
        ),
        Effect(
            "rise in the share of ECE seen only by finer bins (1 - ECE@5 / sweep mean) from before to after "
            f"scaling, minus the floor-only null's rise (needs > {SHARE_MARGIN})",
            *share,
            margin=SHARE_MARGIN,
            method=method,
        ),
    ]


def perfectly_calibrated_labels(probs: np.ndarray, seed: int) -> np.ndarray:
    """(n_models, n) labels drawn from each model's own probabilities ``(n_models, n, C)``."""
    cum = probs.cumsum(axis=2)
    u = np.random.default_rng([seed, 1]).random(cum.shape[:2])
    return np.minimum((u[..., None] > cum).sum(axis=2), cum.shape[2] - 1)


# ------------------------------------------------------------------ the recipe


@recipe(NAME, paper=PAPER, claim=CLAIM, control=CONTROL)
def calibration_bins(*, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    seeds = seeds_for(seed, quick)
    spec = tuple(zoo(quick))
    probs, y = _zoo_predictions(seed, tuple(seeds), spec, N_TRAIN, N_TEST[quick])
    stages = [
        stage_arrays(probs[k], perfectly_calibrated_labels(probs[k], s) if control else y[k], s)
        for k, s in enumerate(seeds)
    ]
    stats = BinCountStatistics(stages, seed)
    effects = floor_null_effects(stats, seed=seed)

    v = stats.values(np.arange(stats.n_seeds), np.arange(stats.n_models))
    # the paper's comparison with no null subtracted (the same draws)
    raw = {m: bootstrap(stats.stat(m, against=None), stats.sizes, seed=seed) for m in MEASURES}
    temps = np.concatenate([st["temperature"] for st in stages])
    accs = np.concatenate([st["accuracy"] for st in stages])
    measured: dict[str, object] = {
        "models x seeds": f"{stats.n_models} x {len(seeds)}",
        "accuracy (min / median / max)": f"{accs.min():.3f} / {np.median(accs):.3f} / {accs.max():.3f}",
        "temperatures (min / median / max)": f"{temps.min():.2f} / {np.median(temps):.2f} / {temps.max():.2f}",
    }
    rows = [
        {
            "seed": s,
            "model": name[0],
            "stage": stage,
            "labels": labels,
            "n_bins": nb,
            "ece": table[j, c],
            "temperature": st["temperature"][j],
            "accuracy": st["accuracy"][j],
        }
        for k, (s, st) in enumerate(zip(seeds, stages, strict=True))
        for (stage, labels), table in stats.tables[k].items()
        for j, name in enumerate(spec)
        for c, nb in enumerate(BIN_COUNTS)
    ]
    details = pd.DataFrame(rows)
    mean_ece = details.groupby(["labels", "stage", "n_bins"])["ece"].mean()
    for stage in ("before", "after"):
        at = mean_ece.loc[("real", stage)]
        measured[f"mean ECE {stage} scaling at 5 / 15 / 500 bins"] = f"{at[5]:.4f} / {at[15]:.4f} / {at[500]:.4f}"
    for labels, what in (("real", "data"), ("null", "floor-only null"), ("calibrated", "perfectly calibrated null")):
        for measure, title in (("tau", "rank agreement"), ("share", "fine-bin share"), ("spread", "relative spread")):
            measured[f"{title} before / after, {what}"] = (
                f"{v[measure, 'before', labels]:.3f} / {v[measure, 'after', labels]:.3f}"
            )
    measured["paper's comparison, no null: tau drop / share rise / spread rise [90% intervals]"] = " / ".join(
        _interval(raw[m]) for m in ("tau", "share", "spread")
    )
    measured["against the perfectly calibrated null instead: tau drop / share rise / spread rise"] = " / ".join(
        f"{stats.stat(m, against='calibrated')(np.arange(stats.n_seeds), np.arange(stats.n_models)):.3f}"
        for m in ("tau", "share", "spread")
    )
    return RecipeResult(
        NAME,
        PAPER,
        CLAIM,
        measured,
        details=details,
        effects=effects,
        claim_part=CLAIM_PART,
        seeds=seeds,
        sizes={"models": stats.n_models, "test items": stats.n_items, "bin counts": len(BIN_COUNTS)},
    )


def _interval(t: tuple[float, float, float]) -> str:
    return f"{t[0]:.3f} [{t[1]:.3f}, {t[2]:.3f}]"
