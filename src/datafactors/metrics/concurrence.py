"""Concurrence: do two benchmarks rank the same models the same way?

Following "Validity of Evaluation Results", concurrence is the rank correlation between
two benchmarks' per-model scores; with several seeds per benchmark, the official code
pairs every seed of one setup with every seed of the other and averages the correlation.
:func:`saturation_simulation` is the sanity check from the same paper: two benchmarks
that rank models identically in expectation still give a low, uninformative tau when both
are saturated (every model near 100%) or floored (near 0%).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats
from scipy.special import expit

from .._errors import DataError
from .._validation import SeedLike, check_random_state

__all__ = ["DEFAULT_REGIMES", "concurrence", "saturation_simulation"]

METHODS = ("kendall", "pearson")
UNDEFINED = ("nan", "zero", "raise")
# Benchmark difficulty offsets (logit scale) of the simulation's regimes, (benchmark A, benchmark B).
DEFAULT_REGIMES: dict[str, tuple[float, float]] = {
    "both informative": (0.0, 0.0),
    "both saturated": (7.0, 7.0),
    "both floored": (-7.0, -7.0),
    "one saturated": (7.0, 0.0),
}


def concurrence(scores_a: ArrayLike, scores_b: ArrayLike, method: str = "kendall", undefined: str = "nan") -> float:
    """Correlation between two benchmarks' scores of the same models, averaged over seed pairs.

    For 1-D inputs this is ``scipy.stats.kendalltau(scores_a, scores_b)`` (tau-b, which
    corrects for ties) or Pearson's r. For 2-D inputs, with ``S`` seeds for benchmark A and
    ``T`` for B::

        concurrence = (1 / (S * T)) sum_{s, t} tau(scores_a[:, s], scores_b[:, t])

    A 1-D input is treated as a single seed, so 1-D and 2-D inputs can be mixed.

    Parameters
    ----------
    scores_a : array-like of shape (n_models,) or (n_models, n_seeds_a)
    scores_b : array-like of shape (n_models,) or (n_models, n_seeds_b)
        Rows are the same models in the same order; >= 2 models.
    method : {"kendall", "pearson"}, default "kendall"
    undefined : {"nan", "zero", "raise"}, default "nan"
        What a seed pair with a constant column (every model scored the same, e.g. a
        saturated benchmark) contributes: ``"nan"`` makes the result NaN, ``"zero"``
        counts the pair as tau = 0 (no evidence of agreement), ``"raise"`` raises DataError.

    Returns
    -------
    float in [-1, 1]
        With ``undefined="nan"``: NaN when some seed column on either side is constant,
        because the correlation is then undefined (a saturated or floored benchmark says
        nothing about agreement).

    Examples
    --------
    >>> concurrence([0.1, 0.5, 0.9], [0.2, 0.3, 0.8])
    1.0
    """
    if method not in METHODS:
        raise DataError(f"method == {method!r}, must be one of {list(METHODS)}")
    if undefined not in UNDEFINED:
        raise DataError(f"undefined == {undefined!r}, must be one of {list(UNDEFINED)}")
    a = _check_scores(scores_a, "scores_a")
    b = _check_scores(scores_b, "scores_b")
    if a.shape[0] != b.shape[0]:
        raise DataError(f"scores_a has {a.shape[0]} models but scores_b has {b.shape[0]}, rows must be the same models")
    values = _pair_values(a, b, method)
    bad = np.isnan(values)
    if bad.any():
        if undefined == "raise":
            raise DataError(
                f"{int(bad.sum())} of {values.size} seed pairs have a constant score column (every model scored the "
                "same), so their correlation is undefined; pass undefined='zero' or 'nan' to accept that"
            )
        if undefined == "zero":
            values = np.where(bad, 0.0, values)
    return float(np.mean(values))


def saturation_simulation(
    *,
    regimes: Mapping[str, tuple[float, float]] | None = None,
    n_models: int = 20,
    n_items: int = 100,
    n_seeds: int = 3,
    n_reps: int = 20,
    skill_sd: float = 1.0,
    seed: SeedLike = 0,
) -> pd.DataFrame:
    """Simulate two benchmarks that agree on the true ranking, in several difficulty regimes.

    Model ``m`` has skill ``theta_m ~ N(0, skill_sd**2)``, shared by both benchmarks. Each
    benchmark has ``n_items`` items with difficulty ``b_i ~ N(0, 1)``; in a regime with
    offset ``o`` a model answers item ``i`` right with probability
    ``sigmoid(theta_m + o - b_i)``, independently per seed (so seeds differ only by
    sampling noise). A model's score is its accuracy. Large positive ``o`` saturates the
    benchmark (every model near 100%), large negative ``o`` floors it. Both benchmarks rank
    the models by the same ``theta``, so the *ideal* concurrence is 1; whatever falls short
    of that is noise. Each regime is repeated ``n_reps`` times with fresh models and items.

    Parameters
    ----------
    regimes : mapping name -> (offset_a, offset_b), default :data:`DEFAULT_REGIMES`
        ``both informative`` (0, 0), ``both saturated`` (7, 7), ``both floored`` (-7, -7),
        ``one saturated`` (7, 0).
    n_models, n_items, n_seeds, n_reps : int
    skill_sd : float, default 1.0
    seed : int or numpy Generator, default 0

    Returns
    -------
    pandas.DataFrame
        One row per regime: ``regime``, ``offset_a``, ``offset_b``, ``mean_score_a``,
        ``mean_score_b``, ``tau`` (mean seed-paired Kendall tau over repetitions, a seed pair
        with a constant column counted as 0 - it ranks nothing), ``tau_sd`` (over
        repetitions), ``undefined_fraction`` (share of seed pairs with a constant column),
        ``tau_true_skill`` (tau of A's scores with the true skills: how much ranking
        information the benchmark carries at all).

    Examples
    --------
    >>> t = saturation_simulation(n_reps=3).set_index("regime")["tau"]
    >>> bool(t["both informative"] > 0.5 > t["both saturated"])
    True
    """
    reg = dict(DEFAULT_REGIMES if regimes is None else regimes)
    if not reg:
        raise DataError("regimes is empty, must name at least one (offset_a, offset_b) pair")
    for key, value in (("n_models", n_models), ("n_items", n_items), ("n_seeds", n_seeds), ("n_reps", n_reps)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1:
            raise DataError(f"{key} == {value!r}, must be an int >= 1")
    if n_models < 2:
        raise DataError(f"n_models == {n_models}, need >= 2 to rank models")
    if isinstance(skill_sd, (bool, np.bool_)) or not isinstance(skill_sd, numbers.Real) or not skill_sd > 0:
        raise DataError(f"skill_sd == {skill_sd!r}, must be > 0")
    for name, offs in reg.items():
        try:
            oa, ob = (float(o) for o in offs)
        except (TypeError, ValueError):
            raise DataError(f"regime {name!r} == {offs!r}, must be a pair of offsets (offset_a, offset_b)") from None
        if not (np.isfinite(oa) and np.isfinite(ob)):
            raise DataError(f"regime {name!r} == {offs!r}, offsets must be finite")
    rng = check_random_state(seed)
    rows = []
    for name, offs in reg.items():
        oa, ob = (float(o) for o in offs)
        taus, undef, mean_a, mean_b, truth = [], [], [], [], []
        for _ in range(int(n_reps)):
            theta = rng.normal(0.0, float(skill_sd), int(n_models))
            sa = _simulate_benchmark(rng, theta, oa, int(n_items), int(n_seeds))
            sb = _simulate_benchmark(rng, theta, ob, int(n_items), int(n_seeds))
            vals = _pair_values(sa, sb, "kendall")
            undef.append(float(np.isnan(vals).mean()))
            taus.append(float(np.mean(np.where(np.isnan(vals), 0.0, vals))))
            tt = _pair_values(sa, theta[:, None], "kendall")
            truth.append(float(np.mean(np.where(np.isnan(tt), 0.0, tt))))
            mean_a.append(float(sa.mean()))
            mean_b.append(float(sb.mean()))
        rows.append(
            {
                "regime": name,
                "offset_a": oa,
                "offset_b": ob,
                "mean_score_a": float(np.mean(mean_a)),
                "mean_score_b": float(np.mean(mean_b)),
                "tau": float(np.mean(taus)),
                "tau_sd": float(np.std(taus, ddof=1)) if len(taus) > 1 else 0.0,
                "undefined_fraction": float(np.mean(undef)),
                "tau_true_skill": float(np.mean(truth)),
            }
        )
    return pd.DataFrame(rows)


def _simulate_benchmark(rng: np.random.Generator, theta: np.ndarray, offset: float, n_items: int, n_seeds: int):
    """Accuracy (n_models, n_seeds) on a fresh benchmark of ``n_items`` items at difficulty ``offset``."""
    b = rng.normal(0.0, 1.0, n_items)
    p = expit(theta[:, None] + offset - b[None, :])  # (models, items)
    hits = rng.random((n_seeds, *p.shape)) < p[None]
    return hits.mean(axis=2).T


def _pair_values(a: np.ndarray, b: np.ndarray, method: str) -> np.ndarray:
    """Correlation of every (seed of a, seed of b) pair; NaN where a column is constant."""
    corr = stats.kendalltau if method == "kendall" else stats.pearsonr
    values = np.empty(a.shape[1] * b.shape[1])
    k = 0
    for s in range(a.shape[1]):
        for t in range(b.shape[1]):
            x, y = a[:, s], b[:, t]
            # scipy would warn and return NaN for a constant column; the pair carries no ranking.
            values[k] = np.nan if np.ptp(x) == 0 or np.ptp(y) == 0 else float(corr(x, y).statistic)
            k += 1
    return values


def _check_scores(values: ArrayLike, name: str) -> np.ndarray:
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a numeric array of per-model scores, got {values!r}") from None
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise DataError(f"{name} has shape {x.shape}, must be (n_models,) or (n_models, n_seeds)")
    if x.shape[0] < 2:
        raise DataError(f"{name} has {x.shape[0]} models, need >= 2 to correlate rankings")
    if x.shape[1] < 1:
        raise DataError(f"{name} has 0 seed columns, need >= 1")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{name} contains NaN or inf")
    return x
