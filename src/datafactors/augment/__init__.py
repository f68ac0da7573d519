"""Augmentations: transforms that make new rows, looked up by name in :data:`REGISTRY`.

An augmentation is ``fn(ds, *, rng, **params) -> NewRows``: the new feature rows and,
for each, the row of ``ds`` it was made from (its *parent*) or ``-1`` for a row
synthesized from the whole dataset. :func:`augment` validates the call once, runs it,
and builds the Dataset, so every augmentation names, labels and documents its rows
the same way:

- **ids** say where a row came from. A row made from parent ``p`` by augmentation
  ``name`` is ``f"{p}~{name}:{k}"`` with ``k`` the copy number (``"digit-7~targeted:0"``);
  a synthesized row is ``f"synthetic~{name}:class{c}:{j}"`` (class index ``c``, slot ``j``:
  ``"synthetic~dm:class3:0"``). ``~`` separates the steps, so an augmented row augmented
  again reads left to right (``"a~generic:0~targeted:1"``).
- **labels and groups** are the parent's; a synthesized row has the label it was
  synthesized for and, when the dataset has groups, the group ``"synthetic"`` (other
  groups are then written as strings, so that all of them sort together).
- **extra** holds the parent's extra columns (empty for a synthesized row) plus
  ``parent`` (the parent's id as a string, None for a synthesized row), ``augmentation``
  (the name in the id) and the augmentation's own columns (``donor`` for ``targeted``,
  ``init`` for the synthesizers, ...).

``append=True`` returns the original rows first, then the new ones (original rows have
``parent`` and ``augmentation`` None, unless an earlier augmentation wrote them). Ids are then all strings: integer ids of the
originals become their decimal strings, so every id still joins back by ``str(id)``.

Built-ins: ``targeted`` and ``generic`` (:mod:`.targeted`), ``dm`` and ``dwa``
(:mod:`.synthesis`).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from .._registry import Registry, import_submodules
from .._validation import SeedLike, check_random_state
from ..dataset import Dataset

REGISTRY: Registry[Any] = Registry("augmentation")

#: extra columns :func:`augment` writes on every result
PROVENANCE_COLUMNS = ("parent", "augmentation")
SYNTHETIC_GROUP = "synthetic"


@dataclass(frozen=True)
class NewRows:
    """What an augmentation returns; :func:`augment` turns it into a Dataset.

    Attributes
    ----------
    X : (m, n_features) features of the new rows.
    parent : (m,) int64 row index of each row's parent in the input dataset, -1 for a
        synthesized row (which then needs its label in ``y``).
    tag : (m,) strings, the id after ``"~{name}:"``: the copy number (``"0"``) or
        ``"class3:0"``; with the parent's id they must make unique ids.
    y : (m,) class indices of the synthesized rows (read where ``parent == -1``), or None.
    columns : extra columns for the new rows, each of length m (e.g. ``donor`` ids).
    name : the name written in ids and in ``extra["augmentation"]``; None = the registry name.
    """

    X: np.ndarray
    parent: np.ndarray
    tag: Sequence[str]
    y: np.ndarray | None = None
    columns: dict[str, Any] = field(default_factory=dict)
    name: str | None = None


def _accepted(fn: Any) -> set[str]:
    return set(inspect.signature(fn).parameters) - {"ds", "rng"}


def check_augmentation(name: str, params: dict[str, Any] | None = None) -> None:
    """Validate an augmentation name and its option names without running it (ConfigError otherwise)."""
    fn = REGISTRY.get(name)
    unknown = set(params or {}) - _accepted(fn)
    if unknown:
        raise ConfigError(
            f"augmentation {name!r} got unknown option(s) {', '.join(sorted(unknown))}; "
            f"it accepts: {', '.join(sorted(_accepted(fn))) or 'none'}"
        )


def augment(ds: Dataset, name: str, *, seed: SeedLike = 0, append: bool = False, **params: Any) -> Dataset:
    """New rows made from ``ds`` by the named augmentation.

    Parameters
    ----------
    ds : Dataset to augment.
    name : a name in :data:`REGISTRY`: ``"targeted"`` (resample only the spurious
        columns), ``"generic"`` (perturb every column), ``"dm"`` (distribution-matching
        synthesis), ``"dwa"`` (the same with directed weight adjustment).
    seed : int or numpy Generator; the output depends only on it and the inputs.
    append : return the original rows followed by the new ones (default: the new rows only).
    **params : the augmentation's options (``columns=``, ``copies=``, ``ipc=`` ...);
        unknown ones raise ConfigError naming the accepted ones.

    Returns
    -------
    Dataset of the new rows (after the originals with ``append=True``); ids, labels,
    groups and ``extra`` columns as described in the module notes. Its name is
    ``f"{ds.name}~{name}"``.

    Examples
    --------
    >>> import numpy as np, datafactors as df
    >>> ds = df.Dataset.from_arrays(np.arange(8.0).reshape(4, 2), [0, 1, 0, 1], ids=list("abcd"))
    >>> out = augment(ds, "targeted", columns=[1], seed=0)
    >>> out.ids.tolist()
    ['a~targeted:0', 'b~targeted:0', 'c~targeted:0', 'd~targeted:0']
    >>> bool((out.X[:, 0] == ds.X[:, 0]).all()), out.extra["parent"].tolist()
    (True, ['a', 'b', 'c', 'd'])
    """
    if not isinstance(ds, Dataset):
        raise DataError(f"augment expects a datafactors.Dataset, got {type(ds).__name__}")
    if not isinstance(append, (bool, np.bool_)):
        raise ConfigError(f"append == {append!r}, must be True or False")
    check_augmentation(name, params)
    rng = check_random_state(seed)
    rows = REGISTRY.get(name)(ds, rng=rng, **params)
    return _assemble(ds, rows, rows.name or name, bool(append))


def _check_rows(ds: Dataset, rows: NewRows, name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    X = np.asarray(rows.X)
    parent = np.asarray(rows.parent, dtype=np.int64)
    tags = [str(t) for t in rows.tag]
    m = len(parent)
    if X.ndim != 2 or X.shape != (m, ds.n_features) or len(tags) != m:
        raise RuntimeError(
            f"augmentation {name!r} returned X {X.shape}, {m} parents and {len(tags)} tags; "
            f"expected ({m}, {ds.n_features}) and {m} of each"
        )
    if m and (parent.min() < -1 or parent.max() >= ds.n):
        raise RuntimeError(f"augmentation {name!r} returned parent indices outside [-1, {ds.n})")
    if (parent < 0).any() and (rows.y is None or len(rows.y) != m):
        raise RuntimeError(f"augmentation {name!r} synthesized rows without labels")
    return X, parent, tags


def _groups(ds: Dataset, parent: np.ndarray, append: bool) -> np.ndarray | None:
    if ds.groups is None:
        return None
    synth = parent < 0
    g = np.asarray(ds.groups)
    if synth.any() and not all(isinstance(v, str) for v in g.tolist()):
        g = g.astype(str)  # so that "synthetic" sorts with the other groups
    g = g.astype(object)
    new = np.empty(len(parent), dtype=object)
    new[~synth] = g[parent[~synth]]
    new[synth] = SYNTHETIC_GROUP
    return np.concatenate([g, new]) if append else new


def _extra(ds: Dataset, rows: NewRows, parent: np.ndarray, parent_ids: list[str | None], name: str, append: bool):
    m = len(parent)
    if ds.extra is not None:
        base = ds.extra.iloc[np.where(parent >= 0, parent, 0)].reset_index(drop=True)
        if (parent < 0).any():
            base = base.astype(object)
            base.loc[parent < 0, :] = None
    else:
        base = pd.DataFrame(index=pd.RangeIndex(m))
    base["parent"] = pd.Series(parent_ids, dtype=object)
    base["augmentation"] = name
    for col, values in rows.columns.items():
        values = list(values) if not isinstance(values, np.ndarray) else values
        if len(values) != m:
            raise RuntimeError(f"augmentation {name!r} returned column {col!r} with {len(values)} values for {m} rows")
        base[col] = values
    if not append:
        return base
    head = ds.extra.reset_index(drop=True) if ds.extra is not None else pd.DataFrame(index=pd.RangeIndex(ds.n))
    head = head.copy()
    for col in base.columns:
        if col not in head.columns:  # an earlier augmentation's provenance stays as it was
            head[col] = None
    return pd.concat([head, base], ignore_index=True)


def _assemble(ds: Dataset, rows: NewRows, name: str, append: bool) -> Dataset:
    X, parent, tags = _check_rows(ds, rows, name)
    parent_ids: list[str | None] = [None if p < 0 else str(ds.ids[p]) for p in parent]
    ids = [f"{'synthetic' if pid is None else pid}~{name}:{t}" for pid, t in zip(parent_ids, tags, strict=True)]
    y = None
    if ds.y is not None:
        y = np.where(parent >= 0, ds.y[np.maximum(parent, 0)], 0 if rows.y is None else np.asarray(rows.y))
        y = y.astype(np.int64)
    elif (parent < 0).any():
        raise RuntimeError(f"augmentation {name!r} synthesized labeled rows from an unlabeled dataset")
    if append:
        old = [str(i) for i in ds.ids]
        clash = sorted(set(old) & set(ids))
        if clash:
            raise DataError(
                f"augmented id {clash[0]!r} is already an id of {ds.name} ({len(clash)} clashes); was {ds.name} "
                f"already augmented with {name!r}? Augment the original rows, or use another name or copies"
            )
        ids, X = old + ids, np.concatenate([ds.X, X])
        y = None if y is None else np.concatenate([ds.y, y])
    if len(set(ids)) != len(ids):
        raise RuntimeError(f"augmentation {name!r} made duplicated ids")
    return Dataset.from_arrays(
        X,
        y,
        ids=np.array(ids, dtype=object),
        groups=_groups(ds, parent, append),
        extra=_extra(ds, rows, parent, parent_ids, name, append),
        class_names=list(ds.class_names) if ds.y is not None else None,
        name=f"{ds.name}~{name}",
        min_classes=1,
        feature_columns=ds.feature_columns,
        left_out_columns=ds.left_out_columns,
        text_column=ds.text_column,
        embedding=ds.embedding,
        label_column=ds.label_column,
        example_shape=ds.example_shape,
    )


import_submodules(__name__, __path__)  # every augmentation module registers itself

__all__ = ["PROVENANCE_COLUMNS", "REGISTRY", "SYNTHETIC_GROUP", "NewRows", "augment", "check_augmentation"]
