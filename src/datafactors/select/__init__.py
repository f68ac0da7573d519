"""Selectors and curation operators, looked up by name in :data:`REGISTRY`.

A selector is ``fn(ds, k, *, scores, embeddings, rng, **params) -> indices`` that
returns exactly ``k`` unique row indices in pick order. :func:`select` validates the
budget and arguments once, resolves fractions, and applies the class-balanced and
group-balanced options for every selector the same way. A selector marked with
:func:`uses_embeddings` receives ``embeddings`` defaulting to ``ds.X``.

Filters (marked with :func:`filter_selector`: deduplicators, quality rules,
decontamination) also accept ``budget=None``. Such a selector is called with
``k=None`` when no budget is given and with the count otherwise, and returns the rows
that pass it -- in input order, or in its own preference order when it ranks them
(``exact_dedup``'s ``order="random"``, ``semdedup`` without ``eps``) -- possibly more
than ``k``. :func:`select` then keeps every passing row in input order (no budget) or
the first ``k`` of them (a budget), and stops with one DataError naming both counts
when fewer than ``k`` rows pass.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pandas as pd

from .._arrays import check_finite
from .._errors import ConfigError, DataError
from .._registry import Registry, import_submodules
from .._validation import SeedLike, check_random_state, resolve_budget
from ..dataset import Dataset

REGISTRY: Registry[Any] = Registry("selector")


def _align_scores(ds: Dataset, scores: Any, column: str | None) -> np.ndarray:
    """Score values in ``ds`` row order, from a DataFrame/Series indexed by id or an array."""
    if scores is None:
        raise DataError(f"this selector needs scores (column {column!r}); pass scores=")
    if isinstance(scores, pd.DataFrame):
        frame = scores.set_index("id") if "id" in scores.columns else scores
        if column is None:
            raise ConfigError("pass score= to name the score column to select by")
        if column not in frame.columns:
            raise DataError(f"scores have no column {column!r}; columns: {', '.join(map(str, frame.columns))}")
        series = frame[column]
    elif isinstance(scores, pd.Series):
        series = scores
    else:
        arr = np.asarray(scores, dtype=np.float64)
        if arr.shape != (ds.n,):
            raise DataError(f"scores must have shape ({ds.n},), got {arr.shape}")
        series = None
    if series is not None:
        keys = series.index.astype(str)
        if keys.has_duplicates:
            raise DataError("scores index has duplicated ids")
        lookup = pd.Series(series.to_numpy(dtype=np.float64), index=keys)
        want = pd.Index(ds.ids.astype(str))
        missing = want.difference(keys)
        if len(missing):
            raise DataError(f"scores lack {len(missing)} ids of the dataset, e.g. {missing[0]!r}")
        arr = lookup.reindex(want).to_numpy()
    if np.isnan(arr).any():
        raise DataError(f"scores for column {column!r} contain NaN")
    return arr


def uses_embeddings(fn: Any) -> Any:
    """Mark a selector as geometric: :func:`select` then passes ``embeddings`` (default ``ds.X``)."""
    fn.needs_embeddings = True
    return fn


def filter_selector(fn: Any) -> Any:
    """Mark a selector as a filter: it accepts ``budget=None`` (keep every row that passes).

    The selector is called with ``k=None`` or a count and returns its passing rows (see the
    module notes); :func:`select` cuts them to the budget.
    """
    fn.is_filter = True
    return fn


def cut_to_budget(out: np.ndarray, k: int | None, n: int, strategy: str) -> np.ndarray:
    """A filter's passing rows: all of them in input order (k None), else the first ``k``."""
    if len(np.unique(out)) != len(out):
        raise RuntimeError(f"filter {strategy!r} returned duplicated row indices")
    if k is None:
        return np.sort(out)
    if len(out) < k:
        raise DataError(f"only {len(out)} of {n} rows pass {strategy}; the budget asks for {k}")
    return out[:k]


def _balance_labels(ds: Dataset, class_balanced: bool, group_balanced: bool) -> np.ndarray:
    """Integer cell of each row: its class, its group, or the (class, group) pair when both."""
    codes = []
    if class_balanced:
        ds.require_labels("class_balanced selection")
        codes.append(np.asarray(ds.y, dtype=np.int64))
    if group_balanced:
        if ds.groups is None:
            raise DataError(
                "group_balanced=True needs group labels; the dataset has none (pass groups= when building it)"
            )
        try:
            _, g = np.unique(np.asarray(ds.groups), return_inverse=True)
        except TypeError:
            raise DataError(
                "groups mix types that cannot be compared; group_balanced needs sortable group labels"
            ) from None
        codes.append(g.ravel().astype(np.int64))
    if len(codes) == 1:
        return codes[0]
    _, cell = np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)
    return cell.ravel().astype(np.int64)


def _balanced_quota(counts: np.ndarray, k: int) -> np.ndarray:
    """Split ``k`` over classes as equally as their sizes allow (water-filling)."""
    quota = np.zeros_like(counts)
    remaining = k
    open_ = counts > 0
    while remaining > 0 and open_.any():
        share = max(1, remaining // int(open_.sum()))
        for c in np.flatnonzero(open_):
            take = min(share, counts[c] - quota[c], remaining)
            quota[c] += take
            remaining -= take
            if quota[c] == counts[c]:
                open_[c] = False
            if remaining == 0:
                break
    return quota


def select(
    ds: Dataset,
    strategy: str,
    budget: int | float | None = None,
    *,
    scores: Any = None,
    embeddings: np.ndarray | None = None,
    seed: SeedLike = 0,
    class_balanced: bool = False,
    group_balanced: bool = False,
    **params: Any,
) -> np.ndarray:
    """Choose ``budget`` examples of ``ds`` with the named strategy.

    Parameters
    ----------
    ds : Dataset to select from.
    strategy : a name in :data:`REGISTRY` ("random", "hardest", "easiest", "offset", ...).
    budget : int count in [1, n] or float fraction in (0, 1]; None only for filters
        (:func:`filter_selector`): keep every row that passes, in input order. With a
        budget a filter keeps the first ``budget`` passing rows (input order, or its own
        ranking where it has one); fewer passing rows than the budget raise DataError.
    scores : DataFrame indexed by id (from :func:`datafactors.scores.compute`), a Series
        by id, or an (n,) array; score-based strategies read the column ``score=``.
    embeddings : (n, d) vectors for geometric strategies (default ``ds.X``).
    seed : int or Generator; ties and random picks depend only on it.
    class_balanced : split the budget equally over classes (capped by class sizes)
        and apply the strategy within each class.
    group_balanced : the same over ``ds.groups``; with ``class_balanced`` too, over
        the (class, group) cells.
    **params : strategy options, e.g. ``score="el2n"``, ``offset=0.1``.

    Returns
    -------
    ndarray (budget,) of unique int64 row indices in pick order (a filter without a
    budget: every passing row, in input order).

    Examples
    --------
    >>> import numpy as np, datafactors as df
    >>> ds = df.Dataset.from_arrays(np.arange(10.0)[:, None], [0, 1] * 5)
    >>> sorted(select(ds, "hardest", 3, scores=np.arange(10.0)).tolist())
    [7, 8, 9]
    """
    if not isinstance(ds, Dataset):
        raise DataError(f"select expects a datafactors.Dataset, got {type(ds).__name__}")
    fn = REGISTRY.get(strategy)
    is_filter = getattr(fn, "is_filter", False)
    k = resolve_filter_budget(strategy, fn, budget, ds.n, class_balanced or group_balanced)
    accepted = set(inspect.signature(fn).parameters) - {"ds", "k", "scores", "embeddings", "rng"}
    unknown = set(params) - accepted
    if unknown:
        raise ConfigError(
            f"strategy {strategy!r} got unknown option(s) {', '.join(sorted(unknown))}; "
            f"it accepts: {', '.join(sorted(accepted)) or 'none'}"
        )
    rng = check_random_state(seed)
    if embeddings is None and getattr(fn, "needs_embeddings", False):
        embeddings = ds.X
    if embeddings is not None:
        try:
            embeddings = np.asarray(embeddings, dtype=np.float32)
        except (TypeError, ValueError):
            raise DataError("embeddings must be a numeric (n, d) array") from None
        if embeddings.ndim != 2 or len(embeddings) != ds.n:
            raise DataError(f"embeddings must have shape ({ds.n}, d) to match the dataset, got {embeddings.shape}")
        if embeddings is not ds.X:  # the Dataset already rejected non-finite features
            check_finite(embeddings, "embeddings")
    if not (class_balanced or group_balanced):
        out = np.asarray(fn(ds, k, scores=scores, embeddings=embeddings, rng=rng, **params), dtype=np.int64)
        if is_filter:
            out = cut_to_budget(out, k, ds.n, strategy)
    else:
        labels = _balance_labels(ds, class_balanced, group_balanced)
        quota = _balanced_quota(np.bincount(labels), k)
        parts = []
        for c in np.flatnonzero(quota):
            rows = np.flatnonzero(labels == c)
            sub_scores = scores
            if scores is not None and not isinstance(scores, (pd.DataFrame, pd.Series)):
                sub_scores = np.asarray(scores)[rows]
            sub_emb = None if embeddings is None else embeddings[rows]
            pick = fn(ds.subset(rows), int(quota[c]), scores=sub_scores, embeddings=sub_emb, rng=rng, **params)
            pick = np.asarray(pick, dtype=np.int64)
            if is_filter:
                pick = cut_to_budget(pick, int(quota[c]), len(rows), strategy)
            parts.append(rows[pick])
        out = np.concatenate(parts)
    if k is None:
        return out
    if len(out) != k or len(np.unique(out)) != k:
        raise RuntimeError(
            f"strategy {strategy!r} returned {len(out)} indices ({len(np.unique(out))} unique), expected {k}"
        )
    return out


def resolve_filter_budget(strategy: str, fn: Any, budget: Any, n: int, balanced: bool) -> int | None:
    """The budget as a count, or None for a filter asked to keep every passing row."""
    if budget is None:
        if not getattr(fn, "is_filter", False):
            raise ConfigError(f"strategy {strategy!r} needs a budget")
        if balanced:
            raise ConfigError(
                f"class_balanced / group_balanced split a budget over cells; give {strategy!r} a budget with them"
            )
        return None
    return resolve_budget(budget, n)


def check_strategy(
    strategy: str,
    budget: int | float | None,
    n: int,
    params: dict[str, Any] | None = None,
    *,
    class_balanced: bool = False,
    group_balanced: bool = False,
    has_groups: bool = True,
) -> int | None:
    """Validate a selection request without selecting anything; returns the budget as a count.

    None comes back for a filter asked without a budget (keep every passing row); a
    non-filter without a budget raises ConfigError. Checks the selector name, the budget against ``n`` rows, the option names against the
    selector's signature, that ``group_balanced`` has groups to balance over, and the
    selector's own ``check_params(**params)`` when it defines one. Raises ConfigError /
    DataError as :func:`select` would.
    """
    fn = REGISTRY.get(strategy)
    k = resolve_filter_budget(strategy, fn, budget, n, class_balanced or group_balanced)
    params = dict(params or {})
    accepted = set(inspect.signature(fn).parameters) - {"ds", "k", "scores", "embeddings", "rng"}
    unknown = set(params) - accepted
    if unknown:
        raise ConfigError(
            f"strategy {strategy!r} got unknown option(s) {', '.join(sorted(unknown))}; "
            f"it accepts: {', '.join(sorted(accepted)) or 'none'}"
        )
    if group_balanced and not has_groups:
        raise DataError("group_balanced=True needs group labels; the dataset has none (pass groups= when building it)")
    check = getattr(fn, "check_params", None)
    if check is not None:
        check(**params)
    return k


import_submodules(__name__, __path__)  # every module registers itself
from .export import export_rows  # noqa: E402  (the curated corpus, with its original columns)

# The scikit-learn-style classes import scikit-learn, so they load on first use.
_ESTIMATORS = ("KCenter", "FacilityLocation", "Herding", "ClusterBalanced")


def __getattr__(name: str) -> Any:
    if name in _ESTIMATORS:
        from . import _estimators

        return getattr(_estimators, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["REGISTRY", "check_strategy", "export_rows", "filter_selector", "select", "uses_embeddings", *_ESTIMATORS]
