"""Equitable adaptive sampling (Cai et al.; the algorithm as inferred from the abstract).

A budget of examples is allocated across groups in rounds. After every round the model
is trained on what has been allocated so far and each group's error measured; each
group's learning curve ``e_g(n) = a n^-b + c`` (``n`` = the group's own count) is fitted
with :func:`datafactors.scaling.fit_power_law`, and the next batch goes to the group with
the largest predicted gain per unit cost. Cai et al. maximise a function of the
group-specific errors; the gain is measured in that objective:

- ``objective="worst"`` (default; the recipe's objective): the predicted fall of the
  worst-group error, ``max_h e_h(n_h) - max(e_g(n_g + b), max_{h != g} e_h(n_h))``. Only the
  currently worst group can have a positive gain; when no batch can lower the worst error
  (its fitted curve is flat), the groups' own gains decide, so the budget is not wasted on
  an irreducible floor. A worst group whose curve is not fitted yet (two sizes) gets the
  batch: a noisy secant must not starve it;
- ``objective="sum"``: the group's own predicted fall ``e_g(n_g) - e_g(n_g + b)`` (the
  average error over groups).

``e_h(n_h)`` is read from the fitted curve where there is one. Fallback while a curve
cannot be fitted (fewer than ``min_points`` = 3 distinct sizes of the group, the minimum
:func:`fit_power_law` accepts): with two sizes the curve is the line through the mean
errors at the last two sizes (never rising, clipped at 0); with one size the group is
explored first (its gain counts as +inf). Ties -- several unexplored groups, or no gain
anywhere -- go to the larger own gain, then the higher measured error, then the lower
group. So every group gets at least one batch before curves decide, when the budget allows.
Baselines: ``equal`` and ``proportional`` allocation.

Budget = number selected. The ``equitable`` selector returns exactly ``budget`` rows; with
``allocation="adaptive"`` a validation part of every group (``val_fraction``) measures the
errors and is never selected, so ``budget`` may not exceed the rest (``DataError``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from . import REGISTRY
from ._common import requires
from .mixture import _interleave, domains_of, mixture_quota

__all__ = [
    "AllocationResult",
    "curve_gain",
    "curve_predict",
    "equal_allocation",
    "equitable_allocate",
    "proportional_allocation",
]


def equal_allocation(sizes: Any, k: int) -> np.ndarray:
    """``k`` split equally over the groups, capped by their sizes (largest remainder).

    Examples
    --------
    >>> equal_allocation([100, 5, 100], 30).tolist()
    [13, 5, 12]
    """
    s = np.asarray(sizes)
    return mixture_quota(s, np.ones(len(s)), k)


def proportional_allocation(sizes: Any, k: int) -> np.ndarray:
    """``k`` split in proportion to the group sizes (the natural mix of the pool).

    Examples
    --------
    >>> proportional_allocation([300, 100, 100], 50).tolist()
    [30, 10, 10]
    """
    s = np.asarray(sizes)
    return mixture_quota(s, s.astype(np.float64), k)


def curve_predict(n_hist: Any, err_hist: Any, n_query: Any, *, min_points: int = 3) -> tuple[np.ndarray, str]:
    """One group's estimated error at sizes ``n_query`` from its past (size, error) measurements.

    Parameters
    ----------
    n_hist, err_hist : the group's past measurements (a size may repeat, e.g. measured in
        several rounds while other groups grew).
    n_query : sizes to predict at.
    min_points : distinct sizes needed to fit ``a n^-b + c`` (>= 3).

    Returns
    -------
    (pred, method): ``"power-law"`` -- the fitted curve; ``"secant"`` (two distinct sizes) -- the
    line through the mean errors at the last two sizes, never rising, clipped at 0;
    ``"explore"`` (one size) -- the mean measured error at every query size (no slope known).

    Examples
    --------
    >>> n = np.array([50, 100, 200, 400])
    >>> pred, how = curve_predict(n, 2 * n ** -0.5 + 0.1, [400, 800])
    >>> how, np.round(pred, 4).tolist()
    ('power-law', [0.2, 0.1707])
    >>> pred, how = curve_predict([10, 20, 20], [0.5, 0.4, 0.42], [20, 30])
    >>> how, np.round(pred, 4).tolist()
    ('secant', [0.41, 0.32])
    """
    from ..scaling import fit_power_law

    n = np.asarray(n_hist, dtype=np.float64)
    e = np.asarray(err_hist, dtype=np.float64)
    q = np.asarray(n_query, dtype=np.float64)
    sizes = np.unique(n)
    if len(sizes) >= max(3, int(min_points)):
        return fit_power_law(n, e, n_boot=0).predict(q), "power-law"
    if len(sizes) == 2:
        e1, e2 = e[n == sizes[0]].mean(), e[n == sizes[1]].mean()
        slope = min(0.0, (e2 - e1) / (sizes[1] - sizes[0]))
        return np.maximum(e2 + slope * (q - sizes[1]), 0.0), "secant"
    return np.full(q.shape, e[n == sizes[-1]].mean()), "explore"


def curve_gain(n_hist: Any, err_hist: Any, n_now: int, batch: int, *, min_points: int = 3) -> tuple[float, str]:
    """Predicted error reduction of one group from ``batch`` more examples, and how it was estimated.

    ``e(n_now) - e(n_now + batch)`` from :func:`curve_predict`, clipped at 0; +inf for a group
    measured at one size only (``"explore"``: it gets a batch before curves decide).

    Examples
    --------
    >>> n = np.array([50, 100, 200, 400])
    >>> g, how = curve_gain(n, 2 * n ** -0.5 + 0.1, 400, 400)
    >>> how, round(g, 4)  # 2/sqrt(400) - 2/sqrt(800)
    ('power-law', 0.0293)
    >>> g, how = curve_gain([10, 20], [0.5, 0.4], 20, 10)
    >>> how, round(g, 4)
    ('secant', 0.1)
    """
    pred, how = curve_predict(n_hist, err_hist, [n_now, n_now + batch], min_points=min_points)
    if how == "explore":
        return float("inf"), how
    return max(0.0, float(pred[0] - pred[1])), how


@dataclass
class AllocationResult:
    """The outcome of :func:`equitable_allocate`.

    Attributes
    ----------
    counts : (n_groups,) int64 final allocation.
    steps : (n_rounds,) int64 the group that received each batch, in order.
    batches : (n_rounds,) int64 size of each batch.
    history : one row per (round, group): ``round``, ``group``, ``n``, ``error`` (measured with
        the allocation at the start of the round), ``gain``, ``method``, ``chosen``.
    """

    counts: np.ndarray
    steps: np.ndarray
    batches: np.ndarray
    history: pd.DataFrame

    def worst_error(self) -> float:
        """Worst-group error measured after the last round."""
        last = self.history[self.history["round"] == self.history["round"].max()]
        return float(last["error"].max())


def _check_int(v: Any, name: str, low: int) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or v < low:
        raise ConfigError(f"{name} == {v!r}, must be an int >= {low}")
    return int(v)


def equitable_allocate(
    evaluate: Callable[[np.ndarray], Any],
    sizes: Any,
    k: int,
    *,
    batch: int,
    initial: int | Any = 1,
    costs: Any = None,
    min_points: int = 3,
    objective: str = "worst",
) -> AllocationResult:
    """Allocate ``k`` examples across groups, one batch at a time, by predicted gain per unit cost.

    Parameters
    ----------
    evaluate : callable (counts (n_groups,) int64) -> (n_groups,) error of each group for a
        model trained on that many examples of every group (nested: the first ``counts[g]``
        rows of group g).
    sizes : (n_groups,) rows available per group.
    k : total to allocate (including ``initial``), <= sum(sizes).
    batch : examples per round.
    initial : starting count per group (an int for all, or one per group), capped by sizes.
    costs : (n_groups,) cost per example of each group (default 1).
    min_points : distinct sizes needed before a group's curve is fitted.
    objective : ``"worst"`` -- the gain of a batch is the predicted fall of the worst-group
        error, ``max_h e_h(n_h) - max(e_g(n_g + batch), max_{h != g} e_h(n_h))`` (only the
        currently worst group can have one; when it cannot improve, the groups' own gains
        decide); ``"sum"`` -- the group's own predicted fall, ``e_g(n_g) - e_g(n_g + batch)``.

    Returns
    -------
    AllocationResult

    Examples
    --------
    >>> curves = [lambda n: 0.5 * n ** -0.5, lambda n: 2.0 * n ** -0.5]  # group 1 learns slower
    >>> ev = lambda c: np.array([f(max(c_, 1)) for f, c_ in zip(curves, c)])
    >>> r = equitable_allocate(ev, [1000, 1000], 400, batch=20, initial=20)
    >>> bool(r.counts[1] > r.counts[0])
    True
    """
    size = np.asarray(sizes, dtype=np.int64)
    if size.ndim != 1 or len(size) == 0 or (size < 0).any():
        raise DataError(f"sizes must be a non-empty (n_groups,) array of counts >= 0, got {size!r}")
    G = len(size)
    k = _check_int(k, "k", 1)
    if k > int(size.sum()):
        raise DataError(f"k == {k}, must be <= the rows available in all groups ({int(size.sum())})")
    batch = _check_int(batch, "batch", 1)
    min_points = _check_int(min_points, "min_points", 3)
    if objective not in ("worst", "sum"):
        raise ConfigError(f"objective == {objective!r}, must be 'worst' or 'sum'")
    init = np.broadcast_to(np.asarray(initial), (G,)).astype(np.int64)
    if (init < 0).any():
        raise ConfigError(f"initial == {initial!r}, must be >= 0")
    counts = np.minimum(init, size)
    if counts.sum() > k:
        raise DataError(f"initial allocation ({int(counts.sum())} rows) exceeds k == {k}")
    cost = np.ones(G) if costs is None else np.asarray(costs, dtype=np.float64)
    if cost.shape != (G,) or not np.isfinite(cost).all() or (cost <= 0).any():
        raise ConfigError(f"costs must be {G} finite numbers > 0, got {costs!r}")

    hist_n: list[list[float]] = [[] for _ in range(G)]
    hist_e: list[list[float]] = [[] for _ in range(G)]
    rows, steps, batches = [], [], []
    rnd = 0
    while True:
        err = np.asarray(evaluate(counts.copy()), dtype=np.float64)
        if err.shape != (G,) or not np.isfinite(err).all():
            raise DataError(f"evaluate returned {err.shape} errors (or NaN), expected ({G},) finite values")
        for g in range(G):
            hist_n[g].append(float(counts[g]))
            hist_e[g].append(float(err[g]))
        left = k - int(counts.sum())
        if left <= 0:
            for g in range(G):
                rows.append((rnd, g, int(counts[g]), err[g], np.nan, np.nan, np.nan, "", False))
            break
        b = min(batch, left)
        now, after = err.copy(), err.copy()
        methods = [""] * G
        open_ = counts < size
        for g in range(G):
            positive = [j for j, v in enumerate(hist_n[g]) if v > 0]  # a curve needs n > 0
            if not positive:
                methods[g] = "explore"
                continue
            bg = min(b, int(size[g] - counts[g]))
            pred, methods[g] = curve_predict(
                np.array(hist_n[g])[positive],
                np.array(hist_e[g])[positive],
                [counts[g], counts[g] + bg],
                min_points=min_points,
            )
            now[g], after[g] = pred
        explore = np.array([m == "explore" for m in methods])
        own = np.where(explore, np.inf, np.maximum(now - after, 0.0)) / cost
        if objective == "sum":
            gains = own.copy()
        else:
            gains = np.empty(G)
            for g in range(G):
                others = np.delete(now, g).max() if G > 1 else -np.inf
                gains[g] = (now.max() - max(after[g], others)) / cost[g]
            gains[explore] = np.inf
            worst = int(np.argmax(np.where(open_, now, -np.inf)))
            if methods[worst] == "secant":
                # two sizes are too few to call the worst group's curve flat: measure it again
                # at a new size rather than starve it on a noisy secant
                gains[worst] = np.inf
        gains[~open_] = -np.inf
        own[~open_] = -np.inf
        # largest gain in the objective per cost; ties (several unexplored, or no group can lower
        # the worst error) by the group's own gain, then the highest measured error, then index
        choice = int(np.lexsort((np.arange(G), -err, -own, -gains))[0])
        take = min(b, int(size[choice] - counts[choice]))
        for g in range(G):
            rows.append((rnd, g, int(counts[g]), err[g], now[g], gains[g], own[g], methods[g], g == choice))
        counts[choice] += take
        steps.append(choice)
        batches.append(take)
        rnd += 1
    cols = ["round", "group", "n", "error", "estimate", "gain", "own_gain", "method", "chosen"]
    history = pd.DataFrame(rows, columns=cols)
    return AllocationResult(counts, np.array(steps, dtype=np.int64), np.array(batches, dtype=np.int64), history)


def _group_rows(inv: np.ndarray, G: int, rng: np.random.Generator) -> list[np.ndarray]:
    return [np.flatnonzero(inv == g)[rng.permutation(int((inv == g).sum()))] for g in range(G)]


@REGISTRY.register("equitable")
@requires("groups")
def equitable_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    allocation: str = "adaptive",
    domain: str | None = None,
    batch: int | None = None,
    initial: int | None = None,
    costs: dict | None = None,
    learner: str = "logistic",
    learner_params: dict | None = None,
    epochs: float = 100,
    val_fraction: float = 0.2,
    objective: str = "worst",
) -> np.ndarray:
    """``k`` rows allocated across groups (``ds.groups`` or the ``domain`` column).

    ``allocation``: ``"adaptive"`` (learning-curve gain per cost, a ``learner`` trained each
    round on the allocation so far and scored per group on a held-out ``val_fraction`` of
    every group), ``"equal"`` or ``"proportional"``. ``batch`` defaults to ``max(1, k // 20)``,
    ``initial`` (per group) to ``max(1, batch // 2)``; ``costs`` maps group -> cost per example;
    ``objective`` is ``"worst"`` or ``"sum"`` (see the module docstring).
    Within a group rows are taken in a random order from the seed; the pick order follows the
    allocation's rounds (interleaved for the baselines).
    """
    from ..learners import make_learner

    if allocation not in ("adaptive", "equal", "proportional"):
        raise ConfigError(f"allocation == {allocation!r}, must be 'adaptive', 'equal' or 'proportional'")
    if allocation == "adaptive":
        ds.require_labels("equitable with allocation='adaptive'")
    dom = domains_of(ds, domain)
    names, inv = np.unique(dom.astype(str) if dom.dtype == object else dom, return_inverse=True)
    G = len(names)
    rows = _group_rows(inv, G, rng)
    if allocation != "adaptive":
        sizes = np.array([len(r) for r in rows])
        q = equal_allocation(sizes, k) if allocation == "equal" else proportional_allocation(sizes, k)
        return _interleave([r[: q[g]] for g, r in enumerate(rows)])

    if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real) or not 0 < val_fraction < 1:
        raise ConfigError(f"val_fraction == {val_fraction!r}, must be in (0, 1)")
    n_val = [max(1, int(round(val_fraction * len(r)))) if len(r) > 1 else 0 for r in rows]
    val = [r[:v] for r, v in zip(rows, n_val, strict=True)]
    pool = [r[v:] for r, v in zip(rows, n_val, strict=True)]
    sizes = np.array([len(r) for r in pool])
    if k > sizes.sum():
        raise DataError(
            f"budget == {k}, but adaptive allocation holds out {sum(n_val)} validation rows and leaves {sizes.sum()}"
        )
    b = _check_int(max(1, k // 20) if batch is None else batch, "batch", 1)
    init = _check_int(max(1, b // 2) if initial is None else initial, "initial", 0)
    init = min(init, k // G)
    cost = None
    if costs is not None:
        from .mixture import _weights_vector

        cost = _weights_vector(list(names), costs, what="costs")
        if (cost <= 0).any():
            raise ConfigError("costs must be > 0 for every group")
    val_idx = np.concatenate(val)
    val_inv = inv[val_idx]
    seed = int(rng.integers(0, 2**31 - 1))

    def evaluate(counts: np.ndarray) -> np.ndarray:
        take = np.concatenate([p[:c] for p, c in zip(pool, counts, strict=True)])
        if len(take) == 0 or len(np.unique(ds.y[take])) < 2:
            return np.array([1.0 - np.mean(ds.y[val_idx][val_inv == g] == _mode(ds.y[take])) for g in range(G)])
        model = make_learner(learner, **(learner_params or {})).fit(ds.subset(np.sort(take)), epochs=epochs, seed=seed)
        wrong = model.predict_proba(ds.X[val_idx]).argmax(1) != ds.y[val_idx]
        return np.array([wrong[val_inv == g].mean() if (val_inv == g).any() else 0.0 for g in range(G)])

    res = equitable_allocate(evaluate, sizes, k, batch=b, initial=init, costs=cost, objective=objective)
    # pick order: the initial rows interleaved, then each round's batch in order
    ptr = np.minimum(np.full(G, init), sizes)
    parts = [_interleave([p[: ptr[g]] for g, p in enumerate(pool)])]
    for g, t in zip(res.steps, res.batches, strict=True):
        parts.append(pool[g][ptr[g] : ptr[g] + t])
        ptr[g] += t
    return np.concatenate(parts).astype(np.int64)


def _mode(y: np.ndarray) -> int:
    return int(np.bincount(y).argmax()) if len(y) else 0
