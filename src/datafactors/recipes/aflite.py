"""AFLite (WinoGrande; Le Bras et al., 2020): adversarial filtering removes a planted shortcut.

The abstract's sentence checked: "The key steps of the dataset construction consist of
(1) a carefully designed crowdsourcing procedure, followed by (2) systematic bias reduction
using a novel AfLite algorithm that generalizes human-detectable word associations to
machine-detectable embedding associations."

The paper's claim: AfLite finds the instances whose labels linear models on embeddings
predict from spurious associations, and removing them reduces the dataset's bias. The
small experiment checks only this part: on a synthetic task with a *planted* linearly
decodable label association, AFLite with the paper's settings removes the carriers of the
association far more often than the other examples, and the association stops predicting
the label on the kept set. It cannot check the WinoGrande numbers (RoBERTa embeddings,
human performance).

The task (:func:`shortcut_task`): the real signal is not linearly decodable (the label is
the XOR of the signs of two noisy features, as commonsense is not linear in sentence
embeddings), and 60% of the examples carry a shortcut: one feature equal to +1 / -1 with
the label (0 elsewhere). AFLite runs with the paper's (Le Bras et al., Algorithm 1)
settings, none chosen from the planted share: ``n = 64`` models per round, threshold
``tau = 0.75``, training size ``m = 25%`` of the data (WinoGrande: 10,000 of ~47k; the
library default), and it stops when fewer than ``k`` examples reach ``tau`` or when ``m``
remain; ``k = N / 40`` per round (WinoGrande removed 500 of ~47k a round, ~1%; 2.5% needs
less than half the rounds). The stop size is thus 25% of the data, below the 40%
shortcut-free share, so reaching it does not hand AFLite the answer.

Effects (90% bootstrap intervals over seeds and examples jointly):

- *removal enrichment*: the share of carriers removed minus the share of shortcut-free
  examples removed (recall minus the false-removal rate; 0 for a filter blind to the
  shortcut, 1 for a perfect one). Margin 0.5: at least half-way from a blind filter to a
  perfect one. Removal precision is reported, not decided on: when AFLite filters down to
  ``m`` its precision is capped by how many it removes (removing 75% of the data of which
  60% carry the shortcut caps it at 0.8), and with a handful of removals it is noise.
- *shortcut-probe drop*: the accuracy above chance (the majority-class rate of the same
  set) of a logistic regression that sees only the shortcut feature (out-of-fold over 5
  folds), on all data minus on the kept set. Margin 0.1 (10 points of accuracy; the planted
  excess is 30 points: 60% of the examples predicted perfectly instead of at 50%).

Negative control (``control=True``): the same data, but the shortcut feature's sign on the
carriers is drawn independently of the label. The feature is still there on the same
examples, with the same values, but carries no label information, so there is nothing for
AFLite to remove: the carriers should be removed no more often than the rest, and the probe
has no excess to lose.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..scores.aflite import aflite_filter
from . import Effect, RecipeResult, bootstrap, recipe, seeds_for

NAME = "aflite"
PAPER = "WinoGrande (Sakaguchi et al., 2020) / Adversarial Filters of Dataset Biases (Le Bras et al., 2020)"
CLAIM = (
    "AFLite, run with the paper's settings and stopping rule, removes the carriers of a planted "
    "label shortcut far more often than other examples, and a probe on the shortcut loses its "
    "accuracy above chance on the kept set"
)
CLAIM_PART = (
    "planted linear shortcut on 60% of a synthetic XOR task; carriers removed minus others removed "
    "> 0.5, shortcut-only probe's excess accuracy drops by > 10 points"
)
CONTROL = "the shortcut feature's sign independent of the label (nothing to remove)"
SHORTCUT_SHARE = 0.6
ENRICHMENT_MARGIN = 0.5
PROBE_DROP_MARGIN = 0.1
# The paper's settings (Le Bras et al. 2020; WinoGrande): 64 models, tau 0.75, m ~ 1/4 of the data.
N_MODELS, TAU, M_FRACTION, K_DIVISOR = 64, 0.75, 0.25, 40


def shortcut_task(
    n: int,
    *,
    seed: int = 0,
    shortcut_share: float = SHORTCUT_SHARE,
    n_noise: int = 8,
    label_dependent: bool = True,
):
    """The planted-shortcut task: returns X (n, 3 + n_noise), y (n,), carrier mask (n,).

    Columns: two XOR features (signs of noisy +-1 values), the shortcut (+-1 on carriers,
    0 elsewhere), then Gaussian noise. With ``label_dependent`` the shortcut is the label
    as +-1; without it the sign on the carriers is a coin flip independent of the label
    (drawn last, so everything else is the same data for the same seed).
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    carrier = rng.random(n) < shortcut_share
    u = rng.choice([-1.0, 1.0], size=n)
    core = np.c_[u, u * (2 * y - 1)] + 0.5 * rng.normal(size=(n, 2))
    noise = rng.normal(size=(n, n_noise))
    coin = rng.choice([-1.0, 1.0], size=n)
    sign = 2.0 * y - 1 if label_dependent else coin
    shortcut = np.where(carrier, sign, 0.0)
    X = np.c_[core, shortcut, noise]
    return X, y, carrier


def _oof_correct(X: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """0/1 out-of-fold correctness (5 stratified folds) of a logistic regression on ``X``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    return (cross_val_predict(LogisticRegression(), X, y, cv=cv) == y).astype(float)


def _excess(correct: np.ndarray, y: np.ndarray) -> float:
    """Accuracy above the majority-class rate of the same examples."""
    if len(y) == 0:
        return float("nan")
    p1 = float(y.mean())
    return float(correct.mean()) - max(p1, 1.0 - p1)


def _one_seed(n: int, seed: int, control: bool) -> dict:
    X, y, carrier = shortcut_task(n, seed=seed, label_dependent=not control)
    k = max(1, n // K_DIVISOR)
    res = aflite_filter(X, y, n=N_MODELS, m=M_FRACTION, k=k, tau=TAU, seed=seed)
    removed = res.removed_round > 0
    kept = ~removed
    sc_before = _oof_correct(X[:, [2]], y, seed)
    sc_after = np.full(n, np.nan)
    sc_after[kept] = _oof_correct(X[kept][:, [2]], y[kept], seed)
    all_before = _oof_correct(X, y, seed)
    all_after = np.full(n, np.nan)
    all_after[kept] = _oof_correct(X[kept], y[kept], seed)
    last_q = int(res.rounds["n_qualifying"].iloc[-1])
    return {
        "y": y,
        "carrier": carrier,
        "removed": removed,
        "removed_round": res.removed_round,
        "predictability": res.predictability,
        "sc_before": sc_before,
        "sc_after": sc_after,
        "all_before": all_before,
        "all_after": all_after,
        "rounds": len(res.rounds),
        "k": k,
        "m": res.m,
        "stopped_by_rule": last_q < k,
    }


def _stack(runs: list[dict], key: str) -> np.ndarray:
    return np.stack([r[key] for r in runs])


@recipe(NAME, paper=PAPER, claim=CLAIM, control=CONTROL)
def aflite_recipe(*, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    seeds = seeds_for(seed, quick)
    n = 2000 if quick else 4000
    runs = [_one_seed(n, s, control) for s in seeds]
    C, Rm, Y = _stack(runs, "carrier"), _stack(runs, "removed"), _stack(runs, "y")
    SB, SA = _stack(runs, "sc_before"), _stack(runs, "sc_after")

    def rates(si: np.ndarray, ii: np.ndarray) -> tuple[float, float, float]:
        c, r = C[np.ix_(si, ii)], Rm[np.ix_(si, ii)]
        recall = r[c].mean() if c.any() else np.nan
        false_rate = r[~c].mean() if (~c).any() else np.nan
        precision = c[r].mean() if r.any() else np.nan
        return float(recall), float(false_rate), float(precision)

    def enrichment(si, ii):
        recall, false_rate, _ = rates(si, ii)
        return recall - false_rate

    def drop(before: np.ndarray, after: np.ndarray):
        def stat(si, ii):
            out = []
            for s in si:
                y, keep = Y[s, ii], ~Rm[s, ii]
                out.append(_excess(before[s, ii], y) - _excess(after[s, ii][keep], y[keep]))
            return float(np.mean(out))

        return stat

    sizes = [len(seeds), n]
    method = f"bootstrap over {len(seeds)} seeds x {n} examples"
    enr = bootstrap(enrichment, sizes, seed=seed)
    sc_drop = bootstrap(drop(SB, SA), sizes, seed=seed + 1)
    prec = bootstrap(lambda si, ii: rates(si, ii)[2], sizes, seed=seed + 2)
    rec = bootstrap(lambda si, ii: rates(si, ii)[0], sizes, seed=seed + 3)
    effects = [
        Effect(
            "carriers removed minus shortcut-free examples removed (share of each)",
            *enr,
            margin=ENRICHMENT_MARGIN,
            method=method,
        ),
        Effect(
            "shortcut-only probe accuracy above chance (fraction), all data minus kept set",
            *sc_drop,
            margin=PROBE_DROP_MARGIN,
            method=method,
        ),
    ]

    idx = [np.arange(len(seeds)), np.arange(n)]
    per_seed_excess = [
        (
            _excess(r["sc_before"], r["y"]),
            _excess(r["sc_after"][~r["removed"]], r["y"][~r["removed"]]),
            _excess(r["all_before"], r["y"]),
            _excess(r["all_after"][~r["removed"]], r["y"][~r["removed"]]),
        )
        for r in runs
    ]
    ex = np.array(per_seed_excess)
    measured = {
        "examples per seed": n,
        "shortcut share": float(C.mean()),
        "shortcut depends on the label": not control,
        "k per round / m (stop size)": f"{runs[0]['k']} / {runs[0]['m']}",
        "rounds per seed": ", ".join(str(r["rounds"]) for r in runs),
        "seeds stopped by the rule (< k above tau)": int(sum(r["stopped_by_rule"] for r in runs)),
        "removed per seed (mean)": float(Rm.sum(axis=1).mean()),
        "removal precision (share of removed carrying the shortcut)": f"{prec[0]:.3g} [{prec[1]:.3g}, {prec[2]:.3g}]",
        "removal recall (share of carriers removed)": f"{rec[0]:.3g} [{rec[1]:.3g}, {rec[2]:.3g}]",
        "share of shortcut-free examples removed": rates(*idx)[1],
        "shortcut-only probe excess over chance, all data": float(ex[:, 0].mean()),
        "shortcut-only probe excess over chance, kept set": float(ex[:, 1].mean()),
        "all-feature probe excess over chance, all data": float(ex[:, 2].mean()),
        "all-feature probe excess over chance, kept set": float(ex[:, 3].mean()),
    }
    details = pd.DataFrame(
        {
            "seed": np.repeat(seeds, n),
            "carrier": C.ravel(),
            "removed_round": _stack(runs, "removed_round").ravel(),
            "predictability": _stack(runs, "predictability").ravel(),
        }
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
        sizes={"examples": n, "seeds": len(seeds), "models per round": N_MODELS},
    )
