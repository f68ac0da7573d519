"""Quality Not Quantity (Nguyen et al., 2022): adding a less robust source dilutes the best source's robustness.

The abstract: "Moreover, we systematically study the interactions between these data
sources and find that combining multiple sources does not necessarily yield better
models, but rather dilutes the robustness of the best individual data source."

The paper's claim, in its terms: effective robustness (ER, OOD accuracy above the line
``logit(acc_OOD) = s logit(acc_ID) + c`` that baseline models follow) of a model trained on
a mix of sources is lower than that of the best single source, even though the mix has
more data. The paper shows it for CLIP on six web sources and for a simple theoretical
setting; this recipe checks it on a small two-source task in the spirit of that setting:

- every example is an MNIST-1D signal plus ten "code" features, a noisy one-hot code of
  a class (``CODE_SCALE`` x one-hot + N(0, ``CODE_NOISE``));
- the *robust* source (``N_ROBUST`` rows): the code is random, so a model must learn the
  signal itself;
- the *shortcut* source (``N_ADDED`` rows, twice as many): the code names the true class
  90% of the time, so models learn to read it;
- the ID test set follows the shortcut source (the code right 90% of the time), the OOD
  test set breaks the shortcut (the code random); both hold the same ``N_TEST`` signals.

Baseline models trained on the shortcut source alone (two widths, several sizes) define
the line; ER is a model's OOD accuracy above it. Checked (``claim_part``): the robust
source alone is robust (ER above ``MIN_ER`` = 5 points, the precondition: there is a
"best individual source" to dilute) and the model trained on the robust source *plus*
the shortcut source (three times the data) has ER at least ``DILUTION_MARGIN`` = 2 points
of OOD accuracy lower than the robust source alone. The margins are in ER's own units
(points of OOD accuracy): 2 points is above the test-item standard error of one model's
accuracy on 1000 items (about 1.6 points), the smallest dilution worth calling one; 5
points of ER is a source clearly off the baselines' line.

Intervals: a bootstrap over training seeds and test items jointly (:func:`bootstrap` with
two axes). Every draw recomputes each model's ID and OOD accuracy on the resampled items
(ID and OOD share the signals, so items are paired across the two test sets, across
arms and across seeds), refits the baseline line on the resampled items and recomputes ER.

Negative control (``control=True``): the added rows are of the *same quality* as the
robust source -- the very same signals, but with a random code (no shortcut). Mixing
then adds data without adding a less robust source, so there is nothing to dilute:
the ER drop must vanish (more data of the same source, if anything, raises ER).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..io.builtins import mnist1d_arrays
from ..learners import make_learner
from ..metrics import effective_robustness, fit_robustness_line
from . import Effect, RecipeResult, bootstrap, recipe, seeds_for

NAME = "quality-not-quantity"
PAPER = "Quality Not Quantity: On the Interaction between Dataset Design and Robustness of CLIP (Nguyen et al., 2022)"
CLAIM = (
    "combining data sources does not necessarily yield better models but dilutes the robustness of the best "
    "individual source: a model trained on the robust source plus a less robust (shortcut) source, with three "
    "times the data, has lower effective robustness than the robust source alone"
)
CLAIM_PART = (
    "the robust source alone has ER > 5 points and adding twice as many shortcut-source rows lowers ER by more "
    "than 2 points (MNIST-1D with a planted code shortcut, MLPs)"
)
N_ROBUST, N_ADDED, N_TEST = 2000, 4000, 1000
SHORTCUT_P = 0.9  # how often the shortcut source's (and the ID test set's) code names the true class
CODE_SCALE, CODE_NOISE = 2.0, 1.0
MIN_STEPS_EPOCHS = 15  # every model gets at least as many steps as 15 epochs of 4000 rows
MIX_WIDTH = 256
BASE_WIDTHS = (32, 256)
BASE_SIZES = {False: (100, 400, 1600, 4000), True: (100, 1000, 4000)}
MIN_ER = 0.05
DILUTION_MARGIN = 0.02
N_BOOT = 1000


@lru_cache(maxsize=2)
def _signals(seed: int) -> dict[str, np.ndarray]:
    """The MNIST-1D signals of one run: robust rows, added rows and test rows (cached: generating is slow)."""
    n = N_ROBUST + N_ADDED + N_TEST
    raw = mnist1d_arrays(n, 1.0, 7_000 + seed)
    x, y = np.asarray(raw["x"], dtype=np.float32), np.asarray(raw["y"], dtype=np.int64)
    a, b = N_ROBUST, N_ROBUST + N_ADDED
    out = {"x_robust": x[:a], "y_robust": y[:a], "x_added": x[a:b], "y_added": y[a:b], "x_test": x[b:], "y_test": y[b:]}
    for v in out.values():
        v.setflags(write=False)
    return out


def with_code(X: np.ndarray, y: np.ndarray, p_right: float, rng: np.random.Generator) -> np.ndarray:
    """Append a noisy one-hot code that names the true class with probability ``p_right`` (else a random class).

    Returns an ``(n, d + 10)`` float32 array: the signal, then ``CODE_SCALE`` x one-hot(code)
    plus N(0, ``CODE_NOISE``) noise.
    """
    code = np.where(rng.random(len(y)) < p_right, y, rng.integers(0, 10, len(y)))
    feats = np.eye(10)[code] * CODE_SCALE + rng.normal(0.0, CODE_NOISE, (len(y), 10))
    return np.hstack([X, feats]).astype(np.float32)


def _fit_correct(X, y, width: int, seed: int, tests: dict[str, np.ndarray], y_test: np.ndarray) -> dict:
    """Train an MLP and return its per-item 0/1 correctness on each test set."""
    epochs = MIN_STEPS_EPOCHS * max(1.0, 4000 / len(y))
    model = make_learner("mlp", hidden=[width]).fit(Dataset.from_arrays(X, y), epochs=epochs, seed=seed)
    return {k: (model.predict_proba(Xt).argmax(1) == y_test).astype(float) for k, Xt in tests.items()}


def _er(id_c: np.ndarray, ood_c: np.ndarray, base_id: np.ndarray, base_ood: np.ndarray) -> np.ndarray:
    """ER of models with per-item correctness ``id_c``/``ood_c`` (models x items) against the baselines'."""
    return np.asarray(effective_robustness(id_c.mean(1), ood_c.mean(1), base_id.mean(1), base_ood.mean(1)), dtype=float)


@recipe(NAME, paper=PAPER, claim=CLAIM, control="added rows as good as the robust source (no shortcut code)")
def quality_not_quantity(*, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    seeds = seeds_for(seed, quick)
    sig = _signals(seed)
    rng = np.random.default_rng(seed)
    y_test = sig["y_test"]
    tests = {
        "id": with_code(sig["x_test"], y_test, SHORTCUT_P, rng),
        "ood": with_code(sig["x_test"], y_test, 0.0, rng),
    }
    Xr = with_code(sig["x_robust"], sig["y_robust"], 0.0, rng)
    X_short = with_code(sig["x_added"], sig["y_added"], SHORTCUT_P, rng)
    # the control's added rows: the same signals, coded like the robust source
    X_same = with_code(sig["x_added"], sig["y_added"], 0.0, rng)
    X_add = X_same if control else X_short

    rows, base_id, base_ood = [], [], []
    for w in BASE_WIDTHS:
        for n in BASE_SIZES[quick]:
            c = _fit_correct(X_short[:n], sig["y_added"][:n], w, seed, tests, y_test)
            base_id.append(c["id"])
            base_ood.append(c["ood"])
            rows.append({"kind": "baseline", "width": w, "n_robust": 0, "n_added": n, "seed": seed})
    base_id, base_ood = np.array(base_id), np.array(base_ood)

    X_mix = np.concatenate([Xr, X_add])
    y_mix = np.concatenate([sig["y_robust"], sig["y_added"]])
    corr = {"robust": {"id": [], "ood": []}, "mix": {"id": [], "ood": []}}
    for arm, (X, y) in {"robust": (Xr, sig["y_robust"]), "mix": (X_mix, y_mix)}.items():
        for s in seeds:
            c = _fit_correct(X, y, MIX_WIDTH, s, tests, y_test)
            corr[arm]["id"].append(c["id"])
            corr[arm]["ood"].append(c["ood"])
            rows.append({"kind": arm, "width": MIX_WIDTH, "n_robust": N_ROBUST, "n_added": len(y) - N_ROBUST,
                         "seed": s})  # fmt: skip
    c = {arm: {k: np.array(v) for k, v in d.items()} for arm, d in corr.items()}
    details = pd.DataFrame(rows)
    all_id = np.vstack([base_id, c["robust"]["id"], c["mix"]["id"]])
    all_ood = np.vstack([base_ood, c["robust"]["ood"], c["mix"]["ood"]])
    details["id_acc"], details["ood_acc"] = all_id.mean(1), all_ood.mean(1)
    details["er"] = _er(all_id, all_ood, base_id, base_ood)

    def er_of(arm: str, si: np.ndarray, ii: np.ndarray) -> np.ndarray:
        bi, bo = base_id[:, ii], base_ood[:, ii]
        return _er(c[arm]["id"][np.ix_(si, ii)], c[arm]["ood"][np.ix_(si, ii)], bi, bo)

    def robust_er(si, ii):
        return float(er_of("robust", si, ii).mean())

    def dilution(si, ii):
        return float((er_of("robust", si, ii) - er_of("mix", si, ii)).mean())

    sizes = [len(seeds), N_TEST]
    method = f"bootstrap over {len(seeds)} seeds x {N_TEST} test items (baseline line refitted per draw)"
    e_robust = Effect("ER of the robust source alone (OOD accuracy above the line, fraction)",
                      *bootstrap(robust_er, sizes, seed=seed, n_boot=N_BOOT), margin=MIN_ER, method=method)  # fmt: skip
    added = "same-quality" if control else "shortcut-source"
    e_dilute = Effect(f"ER of robust alone minus ER of robust + {N_ADDED} {added} rows (fraction)",
                      *bootstrap(dilution, sizes, seed=seed + 1, n_boot=N_BOOT), margin=DILUTION_MARGIN,
                      method=method)  # fmt: skip

    s_, c_ = fit_robustness_line(base_id.mean(1), base_ood.mean(1))
    arm_mean = details[details["kind"] != "baseline"].groupby("kind")[["id_acc", "ood_acc", "er"]].mean()
    measured: dict[str, object] = {
        "baseline line (logit scale) slope, intercept": f"{s_:.3f}, {c_:.3f}",
        "baseline models (shortcut source only)": len(base_id),
        "baseline mean |ER|": float(np.abs(details.loc[details.kind == "baseline", "er"]).mean()),
        "added rows": f"{N_ADDED} {added}",
    }
    for arm, label in (("robust", f"robust {N_ROBUST} alone"), ("mix", f"robust {N_ROBUST} + {N_ADDED} {added}")):
        r = arm_mean.loc[arm]
        measured[f"{label}: ID / OOD / ER"] = f"{r['id_acc']:.3f} / {r['ood_acc']:.3f} / {r['er']:+.3f}"
    measured["OOD accuracy, mix minus robust alone (points)"] = 100 * float(
        arm_mean.loc["mix", "ood_acc"] - arm_mean.loc["robust", "ood_acc"]
    )
    return RecipeResult(
        NAME,
        PAPER,
        CLAIM,
        measured,
        details=details,
        effects=[e_robust, e_dilute],
        claim_part=CLAIM_PART,
        seeds=seeds,
        sizes={"n_robust": N_ROBUST, "n_added": N_ADDED, "n_test": N_TEST, "baseline_models": len(base_id)},
    )
