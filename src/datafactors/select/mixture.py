"""Domain mixtures: a selection that matches per-domain weights, and mixes that change during training.

A row's domain is ``ds.groups`` or, with ``domain=``, a column of ``ds.extra``.

- ``mixture`` (selector): ``budget`` rows whose domain counts match ``weights`` as closely
  as integers and domain sizes allow (:func:`mixture_quota`): largest-remainder rounding
  of ``budget * w_d``; a domain with fewer rows than its share gives all it has and the
  rest is re-split over the other weighted domains in proportion to their weights. Weights
  that put mass only on domains holding fewer than ``budget`` rows in all raise
  ``DataError``. Within a domain rows are drawn at random (seed); the pick order interleaves
  the domains so every prefix of the selection is close to the mix.
- :class:`DomainSchedule`: a sampling schedule for :meth:`TorchLearner.fit(schedule=...)
  <datafactors.learners.mlp.TorchLearner.fit>` -- phases of domain weights by training
  progress; each row's sampling weight is its domain's weight divided by the domain's size.
- :func:`upsampling_schedule`: end-of-training domain upsampling ("Does your data spark
  joy?", Blakeney et al., 2024): the base mix until the last fraction ``f`` of the steps,
  then a mix with the target domains upsampled (f = 10-20% was best in the paper).

Phase switch step: a phase that starts at fraction ``s`` of training starts at step
``ceil(s * total_steps)`` (0-based); for upsampling the final phase starts at
``ceil((1 - f) * total_steps)``, so about ``f * total_steps`` steps use the upsampled mix.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from .._errors import ConfigError, DataError
from ..dataset import Dataset
from . import REGISTRY
from ._common import requires

__all__ = ["DomainSchedule", "domains_of", "mixture_quota", "upsampling_schedule"]


def domains_of(ds: Dataset, domain: str | None = None) -> np.ndarray:
    """(n,) domain of every row: ``ds.groups``, or the ``ds.extra`` column ``domain``."""
    if domain is None:
        if ds.groups is None:
            raise DataError("the dataset has no groups; pass domain= to name the column of ds.extra holding the domain")
        return np.asarray(ds.groups)
    if ds.extra is None or domain not in ds.extra.columns:
        have = [] if ds.extra is None else list(map(str, ds.extra.columns))
        raise DataError(f"domain column {domain!r} is not in the dataset's extra columns ({', '.join(have) or 'none'})")
    col = ds.extra[domain]
    if col.isna().any():
        raise DataError(f"domain column {domain!r} has a missing value")
    return col.to_numpy()


def _weights_vector(
    names: Sequence[Hashable], weights: Mapping[Any, float] | None, what: str = "weights"
) -> np.ndarray:
    """Weights in the order of ``names`` (matched by str), missing domains 0; validated."""
    if weights is None:
        return np.ones(len(names))
    if not isinstance(weights, Mapping):
        raise ConfigError(f"{what} must be a mapping domain -> weight, got {type(weights).__name__}")
    by_str = {str(k): k for k in names}
    unknown = [k for k in weights if str(k) not in by_str]
    if unknown:
        raise DataError(f"{what} name unknown domain(s) {unknown!r}; domains: {', '.join(map(str, names))}")
    out = np.zeros(len(names))
    for j, name in enumerate(names):
        for key, v in weights.items():
            if str(key) == str(name):
                if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not np.isfinite(v) or v < 0:
                    raise ConfigError(f"{what}[{key!r}] == {v!r}, must be a finite number >= 0")
                out[j] = float(v)
    if out.sum() <= 0:
        raise ConfigError(f"{what} are all zero; at least one domain needs a positive weight")
    return out


def mixture_quota(sizes: Any, weights: Any, k: int) -> np.ndarray:
    """Rows per domain for a budget ``k``: ``k * w`` rounded by largest remainder, capped by the sizes.

    A domain that cannot give its share gives all its rows; the shortfall is re-split over
    the other domains with positive weight, in proportion to their weights. Remainder ties
    go to the earlier domain.

    Parameters
    ----------
    sizes : (n_domains,) rows available per domain.
    weights : (n_domains,) non-negative weights (normalised here).
    k : total rows, >= 0.

    Returns
    -------
    (n_domains,) int64 counts summing to ``k``.

    Examples
    --------
    >>> mixture_quota([100, 100, 100], [0.5, 0.3, 0.2], 10).tolist()
    [5, 3, 2]
    >>> mixture_quota([2, 100, 100], [0.5, 0.25, 0.25], 10).tolist()  # domain 0 has only 2
    [2, 4, 4]
    """
    cap = np.asarray(sizes, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    if cap.ndim != 1 or w.shape != cap.shape:
        raise DataError(f"sizes and weights must be 1-D of the same length, got {cap.shape} and {w.shape}")
    if (cap < 0).any() or not np.isfinite(w).all() or (w < 0).any():
        raise DataError("sizes must be >= 0 and weights finite and >= 0")
    if int(cap[w > 0].sum()) < k:
        raise DataError(f"budget == {k}, but the domains with positive weight hold only {int(cap[w > 0].sum())} rows")
    q = np.zeros_like(cap)
    open_ = (w > 0) & (cap > 0)
    rem = int(k)
    while rem > 0:
        ws = np.where(open_, w, 0.0)
        ideal = rem * ws / ws.sum()
        left = cap - q
        over = open_ & (ideal >= left)
        if over.any():
            # these domains cannot take their share: give them everything, re-split the rest
            rem -= int(left[over].sum())
            q[over] = cap[over]
            open_ &= ~over
            continue
        base = np.floor(ideal).astype(np.int64)
        extra = rem - int(base.sum())
        frac = np.where(open_, ideal - base, -1.0)
        bonus = np.zeros_like(base)
        bonus[np.lexsort((np.arange(len(w)), -frac))[:extra]] = 1
        q += base + bonus
        rem = 0
    return q


def _interleave(groups_rows: list[np.ndarray]) -> np.ndarray:
    """Merge per-domain row lists so that pick j of a domain with q picks sits at (j + 0.5) / q."""
    pos, rows, dom = [], [], []
    for d, r in enumerate(groups_rows):
        q = len(r)
        if q:
            pos.append((np.arange(q) + 0.5) / q)
            rows.append(r)
            dom.append(np.full(q, d))
    if not rows:
        return np.empty(0, dtype=np.int64)
    p, r, g = np.concatenate(pos), np.concatenate(rows), np.concatenate(dom)
    return r[np.lexsort((g, p))]


@REGISTRY.register("mixture")
@requires("groups")
def mixture_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    weights: Mapping[Any, float] | None = None,
    domain: str | None = None,
) -> np.ndarray:
    """``k`` rows matching the per-domain ``weights`` (domain -> weight; None = equal weights)."""
    dom = domains_of(ds, domain)
    names, inv = np.unique(dom.astype(str) if dom.dtype == object else dom, return_inverse=True)
    w = _weights_vector(list(names), weights)
    sizes = np.bincount(inv, minlength=len(names))
    q = mixture_quota(sizes, w, k)
    parts = []
    for d in range(len(names)):
        rows = np.flatnonzero(inv == d)
        parts.append(rows[rng.permutation(len(rows))[: q[d]]])
    return _interleave(parts)


class DomainSchedule:
    """Per-row sampling weights from domain weights that change with training progress.

    Parameters
    ----------
    phases : sequence of ``(start, weights)``: ``start`` in [0, 1) is the fraction of training
        at which the phase begins (the first must be 0, increasing), ``weights`` a mapping
        domain -> weight (missing domains 0; None = every row equally likely).
    domains : (n,) domain of every training row, or None to read ``ds.groups`` when bound.
    domain : name of a ``ds.extra`` column to read the domains from when bound.

    Calling ``schedule(step, total_steps)`` returns (n,) row weights: each row gets its
    domain's weight divided by the domain's row count, so a domain's share of the draws is
    its weight (normalised). The learner calls :meth:`bind` with its training set first.

    Examples
    --------
    >>> s = DomainSchedule([(0.0, {"a": 1, "b": 1}), (0.5, {"b": 1})], domains=["a", "a", "b"])
    >>> s(0, 10).tolist(), s(5, 10).tolist()
    ([0.25, 0.25, 0.5], [0.0, 0.0, 1.0])
    >>> s.switch_steps(10)
    [0, 5]
    """

    def __init__(
        self,
        phases: Sequence[tuple[float, Mapping[Any, float] | None]],
        domains: Any = None,
        *,
        domain: str | None = None,
    ) -> None:
        if not isinstance(phases, Sequence) or len(phases) == 0:
            raise ConfigError("phases must be a non-empty list of (start, weights) pairs")
        starts = []
        for j, ph in enumerate(phases):
            if not (isinstance(ph, Sequence) and len(ph) == 2):
                raise ConfigError(f"phases[{j}] must be a (start, weights) pair, got {ph!r}")
            s = ph[0]
            if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Real) or not 0.0 <= float(s) < 1.0:
                raise ConfigError(f"phases[{j}] start == {s!r}, must be a fraction in [0, 1)")
            starts.append(float(s))
        if starts[0] != 0.0:
            raise ConfigError(f"the first phase must start at 0, got {starts[0]}")
        if any(b <= a for a, b in zip(starts, starts[1:], strict=False)):
            raise ConfigError(f"phase starts must increase, got {starts}")
        self.phases = [(starts[j], phases[j][1]) for j in range(len(phases))]
        self.domain = domain
        self._rows: list[np.ndarray] | None = None
        self.domains = None if domains is None else np.asarray(domains)
        if self.domains is not None:
            self._build(self.domains)

    def _build(self, dom: np.ndarray) -> None:
        if dom.ndim != 1 or len(dom) == 0:
            raise DataError(f"domains must be a non-empty (n,) array, got shape {dom.shape}")
        names, inv, counts = np.unique(
            dom.astype(str) if dom.dtype == object else dom, return_inverse=True, return_counts=True
        )
        rows = []
        for j, (_, w) in enumerate(self.phases):
            wv = _weights_vector(list(names), w, what=f"phases[{j}] weights")
            if w is None:
                wv = counts.astype(np.float64)  # every row equally likely
            rows.append((wv / wv.sum() / counts)[inv])
        self.domains, self.names, self._rows = dom, list(names), rows

    def bind(self, ds: Dataset) -> DomainSchedule:
        """This schedule with its domains read from (or checked against) the training set ``ds``."""
        if self.domains is None:
            out = DomainSchedule(self.phases, domains_of(ds, self.domain))
            return out
        if len(self.domains) != ds.n:
            raise DataError(f"the schedule has domains for {len(self.domains)} rows but the training set has {ds.n}")
        return self

    def start_step(self, phase: int, total_steps: int) -> int:
        """0-based step at which ``phase`` begins: ``ceil(start * total_steps)``."""
        return int(math.ceil(self.phases[phase][0] * total_steps - 1e-9))

    def switch_steps(self, total_steps: int) -> list[int]:
        """The start step of every phase."""
        return [self.start_step(j, total_steps) for j in range(len(self.phases))]

    def phase_at(self, step: int, total_steps: int) -> int:
        """Index of the phase in force at ``step``."""
        starts = self.switch_steps(total_steps)
        return int(np.searchsorted(starts, step, side="right") - 1)

    def __call__(self, step: int, total_steps: int) -> np.ndarray:
        if self._rows is None:
            raise DataError("this schedule has no domains yet; pass domains= or let the learner bind it to its data")
        return self._rows[self.phase_at(step, total_steps)]


def upsampling_schedule(
    target: Any,
    f: float,
    *,
    factor: float = 4.0,
    target_weights: Mapping[Any, float] | None = None,
    base_weights: Mapping[Any, float] | None = None,
    domains: Any = None,
    domain: str | None = None,
) -> DomainSchedule:
    """End-of-training domain upsampling: the base mix, then for the last ``f`` of the steps an upsampled one.

    Parameters
    ----------
    target : a domain or a list of domains to upsample.
    f : fraction of training, in [0, 1), spent on the upsampled mix (0 = the base mix throughout).
    factor : the final mix multiplies the target domains' base weights by ``factor`` (> 0)
        and renormalises; ignored when ``target_weights`` is given.
    target_weights : the final mix, domain -> weight, instead of ``factor``.
    base_weights : the base mix, domain -> weight; None = natural proportions (every row
        equally likely).
    domains, domain : as :class:`DomainSchedule` (None = read ``ds.groups`` at fit).

    Examples
    --------
    >>> s = upsampling_schedule("math", 0.1, factor=3.0, domains=["web"] * 8 + ["math"] * 2)
    >>> s.switch_steps(100)
    [0, 90]
    >>> round(float(s(95, 100)[-2:].sum()), 4)  # math share 0.2 * 3 / (0.8 + 0.6)
    0.4286
    """
    if isinstance(f, (bool, np.bool_)) or not isinstance(f, numbers.Real) or not 0.0 <= float(f) < 1.0:
        raise ConfigError(f"f == {f!r}, must be a fraction in [0, 1)")
    tgt = [target] if isinstance(target, (str, numbers.Number)) or not isinstance(target, Sequence) else list(target)
    if not tgt:
        raise ConfigError("target must name at least one domain")
    if target_weights is None and (
        isinstance(factor, (bool, np.bool_)) or not isinstance(factor, numbers.Real) or not factor > 0
    ):
        raise ConfigError(f"factor == {factor!r}, must be a number > 0")
    sched = _UpsamplingSchedule(tgt, float(f), float(factor), target_weights, base_weights, domain)
    return sched if domains is None else sched.bind_domains(np.asarray(domains))


class _UpsamplingSchedule(DomainSchedule):
    """A DomainSchedule whose final mix is built from the base mix once the domains are known."""

    def __init__(self, target, f, factor, target_weights, base_weights, domain) -> None:
        self.target, self.f, self.factor = target, f, factor
        self.target_weights, self.base_weights = target_weights, base_weights
        super().__init__([(0.0, base_weights)], None, domain=domain)

    def bind_domains(self, dom: np.ndarray) -> DomainSchedule:
        names, counts = np.unique(dom.astype(str) if dom.dtype == object else dom, return_counts=True)
        names_s = [str(x) for x in names]
        missing = [t for t in self.target if str(t) not in names_s]
        if missing:
            raise DataError(f"target domain(s) {missing!r} not among the domains: {', '.join(names_s)}")
        base = _weights_vector(list(names), self.base_weights, what="base_weights")
        if self.base_weights is None:
            base = counts.astype(np.float64)
        base = base / base.sum()
        phases: list[tuple[float, Mapping[Any, float] | None]] = [(0.0, dict(zip(names.tolist(), base, strict=True)))]
        if self.f > 0:
            if self.target_weights is not None:
                final = self.target_weights
            else:
                up = base * np.where(np.isin(names_s, [str(t) for t in self.target]), self.factor, 1.0)
                final = dict(zip(names.tolist(), up / up.sum(), strict=True))
            phases.append((1.0 - self.f, final))
        return DomainSchedule(phases, dom)

    def bind(self, ds: Dataset) -> DomainSchedule:
        return self.bind_domains(domains_of(ds, self.domain))
