"""Quad (Zhang et al., 2025): select by influence *and* diversity with a cluster bandit.

The pool is clustered (k-means, faiss); each cluster is an arm. Repeatedly:

1. score every cluster that still has unseen members by
   ``UCB_c = mean_reward_c + alpha * sqrt(2 ln(total) / (pulls_c + 1))`` (alpha = 1e-4,
   ``total`` = pulls so far over all clusters, ``ln`` read as 0 before the first pull) and
   pull the ``batch_clusters`` best (ties broken by the seed);
2. for a pulled cluster, sample ``n_sample`` of its unseen members and compute their
   influence on the target; the reward is ``mean influence - threshold``;
3. the reward is shared with the neighbour clusters, those whose centroid lies within
   ``share_radius`` of the pulled one's, with weight ``1 - d / share_radius``;
4. if the reward is positive, a chunk of ``chunk`` members of the cluster (the sampled ones
   first, then further unseen members in random order) joins the selection.

``mean_reward_c`` is the weighted mean of the rewards credited to ``c``: its own (weight 1)
and its neighbours' shares (weight ``1 - d / share_radius``), 0 before any credit. ``pulls_c``
counts only the cluster's own pulls, so sharing moves the estimate but not the exploration
bonus -- our reading of "share reward with neighbour clusters".

Influence: a score column (``scores=`` with ``influence="tracin"`` or any column; higher =
more helpful), or -- the default -- TracIn (:mod:`datafactors.scores.tracin`) of each sampled
example on a target set, computed on demand with a small MLP proxy trained on a random
``proxy_size`` rows of the pool. The target is ``target=`` (ids or a boolean mask of pool
rows), else a class-stratified 20% of the proxy's rows.

Budget = number kept: the selection is in pick order and cut at ``budget``. When every
cluster's members have all been seen before the budget is met (the rewards said no to
the rest), the remaining rows fill it in order of their cluster's mean reward (best first),
rows whose own influence was measured by that influence, the others at random.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from .._neighbors import kmeans
from .._validation import SeedLike, check_random_state
from ..dataset import Dataset
from . import REGISTRY, _align_scores
from ._common import embeddings_of

__all__ = ["QuadResult", "quad", "tracin_influence_fn", "ucb"]

ALPHA = 1e-4


def ucb(mean_reward: Any, pulls: Any, total: int, alpha: float = ALPHA) -> np.ndarray:
    """``mean_reward + alpha * sqrt(2 ln(total) / (pulls + 1))`` per cluster (``ln`` of total < 1 is 0).

    Examples
    --------
    >>> np.round(ucb([0.5, 0.0], [3, 0], total=4, alpha=1.0), 4).tolist()
    [1.3326, 1.6651]
    """
    m = np.asarray(mean_reward, dtype=np.float64)
    p = np.asarray(pulls, dtype=np.float64)
    return m + alpha * np.sqrt(2.0 * np.log(max(float(total), 1.0)) / (p + 1.0))


@dataclass
class QuadResult:
    """The outcome of :func:`quad`.

    Attributes
    ----------
    order : (k,) int64 selected rows in pick order.
    labels : (n,) int64 cluster of every row.
    mean_reward : (n_clusters,) final weighted mean reward per cluster.
    pulls : (n_clusters,) int64 own pulls per cluster.
    history : one row per pull: ``step``, ``cluster``, ``ucb``, ``reward``, ``taken`` (rows added).
    filled : number of rows added by the fill after the bandit ran out of clusters.
    """

    order: np.ndarray
    labels: np.ndarray
    mean_reward: np.ndarray
    pulls: np.ndarray
    history: pd.DataFrame
    filled: int


def _pos_int(v: Any, name: str) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or v < 1:
        raise ConfigError(f"{name} == {v!r}, must be an int >= 1")
    return int(v)


def _real(v: Any, name: str, *, positive: bool = False) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not np.isfinite(v):
        raise ConfigError(f"{name} == {v!r}, must be a finite number")
    if positive and v <= 0:
        raise ConfigError(f"{name} == {v!r}, must be > 0")
    return float(v)


def quad(
    E: Any,
    k: int,
    influence: Callable[[np.ndarray], np.ndarray],
    *,
    n_clusters: int | None = None,
    alpha: float = ALPHA,
    n_sample: int = 4,
    chunk: int = 32,
    threshold: float = 0.0,
    share_radius: float | None = None,
    batch_clusters: int = 1,
    seed: SeedLike = 0,
    niter: int = 20,
    normalize: bool = True,
) -> QuadResult:
    """Quad's cluster bandit over the rows of ``E``; see the module docstring.

    Parameters
    ----------
    E : (n, d) embeddings to cluster.
    k : rows to select, in [1, n].
    influence : callable (rows (m,) int64) -> (m,) influence of those rows on the target.
    n_clusters : k-means clusters; None gives ``round(sqrt(n))``.
    alpha : UCB exploration weight (the paper: 1e-4).
    n_sample : members sampled per pull to estimate the cluster's influence.
    chunk : rows a rewarded pull adds to the selection.
    threshold : influence threshold subtracted to form the reward.
    share_radius : centroid distance within which rewards are shared; None gives twice the
        median distance from a centroid to its nearest other centroid.
    batch_clusters : clusters pulled per step (the top by UCB).
    seed : int or Generator (k-means, member order, ties).
    niter : k-means iterations.
    normalize : cluster L2-normalised embeddings (cosine geometry; centroid distances are
        then between unit centroids); False clusters the raw vectors.

    Returns
    -------
    QuadResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> E = np.r_[rng.normal([3, 0], 0.1, (40, 2)), rng.normal([0, 3], 0.1, (40, 2))]
    >>> good = lambda rows: np.where(rows < 40, 1.0, -1.0)  # the first blob helps
    >>> r = quad(E, 20, good, n_clusters=2, chunk=10, normalize=False)
    >>> bool((r.order < 40).all())
    True
    """
    from .._arrays import check_embeddings

    Ea = check_embeddings(E, name="E")
    n = len(Ea)
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral) or not 1 <= k <= n:
        raise DataError(f"k == {k!r}, must be an int in [1, {n}]")
    alpha = _real(alpha, "alpha")
    if alpha < 0:
        raise ConfigError(f"alpha == {alpha}, must be >= 0")
    n_sample = _pos_int(n_sample, "n_sample")
    chunk = _pos_int(chunk, "chunk")
    batch_clusters = _pos_int(batch_clusters, "batch_clusters")
    threshold = _real(threshold, "threshold")
    rng = check_random_state(seed)
    C, labels, _ = kmeans(Ea, n_clusters, seed=rng, niter=niter, spherical=normalize)
    nc = len(C)
    C64 = C.astype(np.float64)
    c2 = (C64 * C64).sum(axis=1)
    D = np.sqrt(np.maximum(c2[:, None] + c2[None, :] - 2.0 * (C64 @ C64.T), 0.0))  # (nc, nc), small
    if share_radius is None:
        if nc > 1:
            nearest = np.where(np.eye(nc, dtype=bool), np.inf, D).min(axis=1)
            radius = 2.0 * float(np.median(nearest))
        else:
            radius = 0.0
    else:
        radius = _real(share_radius, "share_radius")
        if radius < 0:
            raise ConfigError(f"share_radius == {radius}, must be >= 0")
    share = np.where(D < radius, 1.0 - D / radius, 0.0) if radius > 0 else np.zeros((nc, nc))
    np.fill_diagonal(share, 0.0)

    members = [np.flatnonzero(labels == c) for c in range(nc)]
    members = [m[rng.permutation(len(m))] for m in members]
    ptr = np.zeros(nc, dtype=np.int64)
    sizes = np.array([len(m) for m in members])
    reward_sum = np.zeros(nc)
    weight = np.zeros(nc)
    pulls = np.zeros(nc, dtype=np.int64)
    measured = np.full(n, np.nan)
    picked: list[np.ndarray] = []
    n_picked = 0
    total = 0
    rows_hist = []
    step = 0
    while n_picked < k:
        avail = np.flatnonzero(ptr < sizes)
        if len(avail) == 0:
            break
        mean = np.divide(reward_sum, weight, out=np.zeros(nc), where=weight > 0)
        u = ucb(mean, pulls, total, alpha)
        best = avail[np.lexsort((rng.random(len(avail)), -u[avail]))[:batch_clusters]]
        for c in best:
            if n_picked >= k:
                break
            start = ptr[c]
            probe = members[c][start : start + n_sample]
            vals = np.asarray(influence(probe), dtype=np.float64)
            if vals.shape != probe.shape or not np.isfinite(vals).all():
                raise DataError(f"influence returned {vals.shape} values (or NaN) for {len(probe)} rows")
            measured[probe] = vals
            r = float(vals.mean()) - threshold
            pulls[c] += 1
            total += 1
            reward_sum[c] += r
            weight[c] += 1.0
            reward_sum += share[c] * r
            weight += share[c]
            taken = 0
            if r > 0:
                take = members[c][start : start + max(chunk, len(probe))][: k - n_picked]
                picked.append(take)
                n_picked += len(take)
                taken = len(take)
                ptr[c] = start + max(chunk, len(probe))
            else:
                ptr[c] = start + len(probe)
            rows_hist.append((step, int(c), float(u[c]), r, taken))
        step += 1
    order = np.concatenate(picked) if picked else np.empty(0, dtype=np.int64)
    filled = 0
    if n_picked < k:
        mean = np.divide(reward_sum, weight, out=np.zeros(nc), where=weight > 0)
        rest = np.setdiff1d(np.arange(n), order)
        own = np.where(np.isnan(measured[rest]), -np.inf, measured[rest])
        rest = rest[np.lexsort((rng.random(len(rest)), -own, -mean[labels[rest]]))]
        filled = k - n_picked
        order = np.concatenate([order, rest[:filled]])
    hist = pd.DataFrame(rows_hist, columns=["step", "cluster", "ucb", "reward", "taken"])
    final_mean = np.divide(reward_sum, weight, out=np.zeros(nc), where=weight > 0)
    return QuadResult(order.astype(np.int64), labels, final_mean, pulls, hist, filled)


def tracin_influence_fn(
    ds: Dataset,
    *,
    target: Any = None,
    proxy_size: int = 1000,
    epochs: int = 10,
    hidden: tuple[int, ...] = (64,),
    seed: int = 0,
) -> Callable[[np.ndarray], np.ndarray]:
    """An influence callable for :func:`quad`: TracIn on the target set from a small MLP proxy.

    The proxy (an ``mlp`` learner with ``hidden`` layers, checkpoints at every epoch) trains on
    ``proxy_size`` random rows of ``ds``; ``target`` (ids or an (n,) boolean mask of rows of
    ``ds``) is the set whose loss the influence refers to, by default a class-stratified 20% of
    the proxy rows. Returns ``rows -> TracIn(rows, target)``.
    """
    from ..learners import make_learner
    from ..scores.tracin import checkpoints_from_dynamics, reference_split, tracin_influence
    from .dfn import trusted_rows

    proxy_size = _pos_int(proxy_size, "proxy_size")
    rng = check_random_state(seed)
    prox = np.sort(rng.permutation(ds.n)[: min(ds.n, proxy_size)])
    lrn = make_learner("mlp", hidden=list(hidden), max_checkpoints=int(epochs))
    lrn.fit(ds.subset(prox), epochs=int(epochs), seed=int(rng.integers(0, 2**31 - 1)), record_dynamics=True)
    dyn = lrn.dynamics
    ckpts = checkpoints_from_dynamics(dyn)
    if target is None:
        ref = prox[reference_split(ds.y[prox], 0.2, int(rng.integers(0, 2**31 - 1)))]
    else:
        ref = trusted_rows(ds, target, name="target")
    Xv, yv = dyn.model_inputs(ds.X[ref]), ds.y[ref]

    def influence(rows: np.ndarray) -> np.ndarray:
        return tracin_influence(ckpts, dyn.model_inputs(ds.X[rows]), ds.y[rows], Xv, yv)

    return influence


@REGISTRY.register("quad")
def quad_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    influence: str | None = None,
    target: Any = None,
    n_clusters: int | None = None,
    alpha: float = ALPHA,
    n_sample: int = 4,
    chunk: int = 32,
    threshold: float = 0.0,
    share_radius: float | None = None,
    batch_clusters: int = 1,
    proxy_size: int = 1000,
    proxy_epochs: int = 10,
    normalize: bool = True,
) -> np.ndarray:
    """Quad: cluster bandit (UCB) over influence; ``influence=`` names a score column, else TracIn on a proxy."""
    E = embeddings_of(ds, embeddings)
    if influence is not None or (scores is not None and not hasattr(scores, "columns")):
        values = _align_scores(ds, scores, influence)

        def fn(rows: np.ndarray) -> np.ndarray:
            return values[rows]
    else:
        if scores is not None:
            raise ConfigError("pass influence= to name the score column Quad reads, or no scores to use TracIn")
        ds.require_labels("quad without scores (its TracIn influence trains a proxy; pass scores= instead)")
        fn = tracin_influence_fn(
            ds, target=target, proxy_size=proxy_size, epochs=proxy_epochs, seed=int(rng.integers(0, 2**31 - 1))
        )
    res = quad(
        E,
        k,
        fn,
        n_clusters=n_clusters,
        alpha=alpha,
        n_sample=n_sample,
        chunk=chunk,
        threshold=threshold,
        share_radius=share_radius,
        batch_clusters=batch_clusters,
        seed=rng,
        normalize=normalize,
    )
    return res.order
