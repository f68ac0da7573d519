"""IRT recovery (Easy2Hard-Bench's difficulty estimator): a 2PL fit recovers known difficulties
where the raw error rate is confounded by who answered.

The abstract's sentences checked: "To systematically estimate problem difficulties, we
collect abundant performance data on attempts to each problem by humans in the real world
or LLMs on the prominent leaderboard. Leveraging the rich performance data, we apply
well-established difficulty ranking systems, such as Item Response Theory (IRT) and
Glicko-2 models, to uniformly assign numerical difficulty scores to problems."

The paper's claim: fitting IRT to attempt data assigns each problem a difficulty score.
The reason to fit a model rather than read off the share of failed attempts is that real
attempt data are not a complete design: Lichess serves puzzles near the player's rating,
stronger contestants attempt harder Codeforces problems, so an item's error rate depends
on who happened to attempt it. The small experiment checks only this part: on simulated
2PL responses where each respondent attempts the items near their own ability, the 2PL's
difficulty ranks the items by their true difficulty (Spearman > 0.9, the check in
METHODS.md) and clearly better than the raw error rate.

The simulation (:func:`simulate_sparse`): abilities ``theta ~ N(0, 1)``, difficulties
``b ~ N(0, 1)``, discriminations ``a ~ LogNormal(0, 0.5)`` (varied: a 2PL world, as in
:func:`simulate_2pl`); respondent ``j`` attempts item ``i`` with probability
``0.02 + 0.9 * exp(-(theta_j - b_i)^2 / (2 * 0.5^2))`` (items served near one's level, plus
a little exploration, so every item has some answers from everyone's range); about a third
of the matrix is observed. The fit is :func:`datafactors.scores.irt.irt` with its defaults.

Effects (90% bootstrap intervals over seeds and items jointly; the Spearman correlations
are recomputed on every resample):

- Spearman(2PL ``b_hat``, ``b``) minus Spearman(item error rate, ``b``), margin 0.1: IRT
  must rank items clearly better, not within the few hundredths by which a 2PL beats the
  error rate in a complete design (kept as context in ``measured``);
- Spearman(2PL ``b_hat``, ``b``), margin 0.9 (METHODS.md's recovery check).

Negative control (``control=True``): the same observation pattern per item (the same number
of answers to every item), but handed to respondents drawn at random, independent of
ability. This removes exactly the mechanism (who answers depends on ability and
difficulty) and keeps the amount of data. Every item's error rate is then an unbiased
estimate of its difficulty under the same ability mix, so IRT's advantage should shrink to
what discrimination adds (a few hundredths), inside the margin. A complete design would
also remove the mechanism but triple the data; responses independent of ability would
remove the difficulty signal the recovery check needs.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..scores.irt import irt
from . import Effect, RecipeResult, bootstrap, recipe, seeds_for

NAME = "irt-recovery"
PAPER = "Easy2Hard-Bench (Ding et al., 2024), IRT difficulty"
CLAIM = (
    "where respondents attempt items near their own ability, a 2PL fit recovers item difficulties "
    "(Spearman > 0.9) and ranks them better than the raw item error rate by more than 0.1"
)
CLAIM_PART = (
    "simulated 2PL responses, ability-matched sparse assignment (~1/3 observed): Spearman(b_hat, b) "
    "- Spearman(error rate, b) > 0.1 and Spearman(b_hat, b) > 0.9"
)
CONTROL = "answers handed to random respondents (who answers independent of ability)"
ADVANTAGE_MARGIN = 0.1
RECOVERY_MARGIN = 0.9
LOG_A_SD = 0.5
MATCH_WIDTH, MATCH_PEAK, EXPLORE = 0.5, 0.9, 0.02


def simulate_2pl(n_items: int, n_respondents: int, *, seed: int = 0, log_a_sd: float = 0.3):
    """Simulated (n_items, n_respondents) 0/1 responses and the true a, b, theta."""
    rng = np.random.default_rng(seed)
    a = rng.lognormal(0.0, log_a_sd, n_items)
    b = rng.normal(0.0, 1.0, n_items)
    theta = rng.normal(0.0, 1.0, n_respondents)
    p = 1.0 / (1.0 + np.exp(-a[:, None] * (theta[None, :] - b[:, None])))
    return (rng.random(p.shape) < p).astype(np.float64), a, b, theta


def simulate_sparse(
    n_items: int,
    n_respondents: int,
    *,
    seed: int = 0,
    assignment: str = "matched",
    log_a_sd: float = LOG_A_SD,
):
    """2PL responses where each respondent answers only some items (NaN = not attempted).

    ``assignment="matched"``: respondent ``j`` attempts item ``i`` with probability
    ``0.02 + 0.9 * exp(-(theta_j - b_i)^2 / (2 * 0.5^2))``. ``"random"``: the same mask with
    each item's row shuffled across respondents (every item keeps its number of answers,
    who gives them no longer depends on ability). Responses are those of
    :func:`simulate_2pl` with the same seed; every item and respondent keeps at least one
    answer. Returns ``(R, a, b, theta, full)`` with ``full`` the complete 0/1 matrix.
    """
    if assignment not in ("matched", "random"):
        raise ValueError(f"assignment == {assignment!r}, must be 'matched' or 'random'")
    full, a, b, theta = simulate_2pl(n_items, n_respondents, seed=seed, log_a_sd=log_a_sd)
    rng = np.random.default_rng([seed, 1])
    q = EXPLORE + MATCH_PEAK * np.exp(-((theta[None, :] - b[:, None]) ** 2) / (2 * MATCH_WIDTH**2))
    mask = rng.random(q.shape) < q
    shuffled = np.array([rng.permutation(row) for row in mask])  # drawn either way: same stream
    if assignment == "random":
        mask = shuffled
    for i in np.flatnonzero(~mask.any(axis=1)):
        mask[i, rng.integers(n_respondents)] = True
    for j in np.flatnonzero(~mask.any(axis=0)):
        mask[rng.integers(n_items), j] = True
    return np.where(mask, full, np.nan), a, b, theta, full


def _ranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x, axis=-1)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx, ry = _ranks(x), _ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    den = np.sqrt((rx @ rx) * (ry @ ry))
    return float(rx @ ry / den) if den > 0 else float("nan")


def _one_seed(n_items: int, n_resp: int, seed: int, control: bool) -> dict:
    R, a, b, theta, full = simulate_sparse(n_items, n_resp, seed=seed, assignment="random" if control else "matched")
    t0 = time.perf_counter()
    fit2 = irt(R, "2pl")
    seconds = time.perf_counter() - t0
    fit1 = irt(R, "1pl")
    dense = irt(full, "2pl")
    finite = np.isfinite(fit2.difficulty)
    return {
        "b": b,
        "a": a,
        "b_hat": fit2.difficulty,
        "a_hat": fit2.discrimination,
        "b_hat_1pl": fit1.difficulty,
        "error_rate": 1.0 - np.nanmean(R, axis=1),
        "answers": (~np.isnan(R)).sum(axis=1),
        "observed": float((~np.isnan(R)).mean()),
        "rho_a": _spearman(fit2.discrimination[finite], a[finite]),
        "rho_theta": _spearman(fit2.ability, theta),
        "rho_dense_2pl": _spearman(dense.difficulty, b),
        "rho_dense_err": _spearman(1.0 - full.mean(axis=1), b),
        "flagged": int((~finite).sum()),
        "converged": bool(fit2.converged and fit1.converged),
        "seconds": seconds,
    }


@recipe(NAME, paper=PAPER, claim=CLAIM, control=CONTROL)
def irt_recovery(*, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    seeds = seeds_for(seed, quick)
    n_items, n_resp = (300, 200) if quick else (500, 400)
    runs = [_one_seed(n_items, n_resp, s, control) for s in seeds]
    B = np.stack([r["b"] for r in runs])
    BH = np.stack([r["b_hat"] for r in runs])
    ER = np.stack([r["error_rate"] for r in runs])

    def rho(est: np.ndarray, si: np.ndarray, ii: np.ndarray) -> float:
        return float(np.mean([_spearman(est[s, ii], B[s, ii]) for s in si]))

    sizes = [len(seeds), n_items]
    method = f"bootstrap over {len(seeds)} seeds x {n_items} items"
    adv = bootstrap(lambda si, ii: rho(BH, si, ii) - rho(ER, si, ii), sizes, seed=seed)
    rec = bootstrap(lambda si, ii: rho(BH, si, ii), sizes, seed=seed + 1)
    regime = "random respondents" if control else "ability-matched"
    effects = [
        Effect(
            f"Spearman(2PL b_hat, b) minus Spearman(item error rate, b), {regime}",
            *adv,
            margin=ADVANTAGE_MARGIN,
            method=method,
        ),
        Effect(f"Spearman(2PL b_hat, b), {regime}", *rec, margin=RECOVERY_MARGIN, method=method),
    ]

    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in runs]))

    all_s = np.arange(len(seeds))
    all_i = np.arange(n_items)
    measured = {
        "items": n_items,
        "respondents": n_resp,
        "assignment": regime,
        "share of the matrix observed": mean("observed"),
        "answers per item (min / median)": (
            f"{int(min(r['answers'].min() for r in runs))} / {float(np.median(np.stack([r['answers'] for r in runs]))):g}"
        ),
        "2PL Spearman(b_hat, b)": rho(BH, all_s, all_i),
        "1PL Spearman(b_hat, b)": rho(np.stack([r["b_hat_1pl"] for r in runs]), all_s, all_i),
        "item error rate Spearman": rho(ER, all_s, all_i),
        "2PL Spearman(a_hat, a) (finite items)": mean("rho_a"),
        "2PL Spearman(theta_hat, theta)": mean("rho_theta"),
        "complete design (context): 2PL Spearman(b_hat, b)": mean("rho_dense_2pl"),
        "complete design (context): item error rate Spearman": mean("rho_dense_err"),
        "flagged items (all right / all wrong), all seeds": int(sum(r["flagged"] for r in runs)),
        "all fits converged": all(r["converged"] for r in runs),
        "2PL seconds per fit": mean("seconds"),
    }
    details = pd.DataFrame(
        {
            "seed": np.repeat(seeds, n_items),
            "b": B.ravel(),
            "b_hat": BH.ravel(),
            "a": np.concatenate([r["a"] for r in runs]),
            "a_hat": np.concatenate([r["a_hat"] for r in runs]),
            "b_hat_1pl": np.concatenate([r["b_hat_1pl"] for r in runs]),
            "error_rate": ER.ravel(),
            "answers": np.concatenate([r["answers"] for r in runs]),
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
        sizes={"items": n_items, "respondents": n_resp, "seeds": len(seeds)},
    )
