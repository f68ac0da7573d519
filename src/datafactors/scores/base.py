"""The scorer contract: what every registered scorer declares, and the registry that holds them.

A scorer is a class deriving from :class:`Scorer` and registered with :func:`register`.
It declares, as class attributes, the columns it writes (each a :class:`ScoreColumn` with
orientation and range), whether it needs training dynamics, and whether it is row-wise
(each row's value depends only on that row's own data and dynamics, so a sharded engine
may run it shard by shard). Its parameters are its constructor's keyword arguments, each
with a default; :meth:`Scorer.create` rejects unknown names with the known ones listed.
The registry is the one source of these facts: ``COLUMNS`` and ``score_columns`` read it.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd

from .._errors import ConfigError
from .._registry import Registry

ORIENTATIONS = ("harder", "easier", "ambiguous")


@dataclass(frozen=True)
class ScoreColumn:
    """What one score column means.

    orientation : "harder" if a higher value means a harder / less typical example,
        "easier" if higher means easier / more typical, "ambiguous" for variability-like
        scores where higher means the model wavers more.
    low, high : the range of values (``np.inf`` when unbounded).
    """

    name: str
    orientation: str
    low: float
    high: float
    description: str


class Scorer:
    """Base of every registered scorer.

    Subclasses set ``name``, ``columns``, ``needs_dynamics``, ``row_wise`` and (when they
    read no labels) ``needs_labels = False``, take their
    parameters as constructor keyword arguments with defaults, and implement
    :meth:`score`. :meth:`check` may validate parameter values before any work starts.
    """

    name: ClassVar[str] = ""
    columns: ClassVar[tuple[ScoreColumn, ...]] = ()
    needs_dynamics: ClassVar[bool] = False
    row_wise: ClassVar[bool] = False
    needs_labels: ClassVar[bool] = True  # False for scorers that read only features or text

    def __init__(self) -> None:  # a scorer without parameters
        pass

    def score(self, ds: Any, *, dynamics: Any = None, embeddings: Any = None, seed: int = 0) -> pd.DataFrame:
        """(n, len(columns)) DataFrame indexed by ``ds.ids`` (named ``id``)."""
        raise NotImplementedError

    def check(self) -> None:
        """Raise ConfigError for a bad parameter value (called by :meth:`create`); default: nothing to check."""

    @classmethod
    def column_names(cls) -> tuple[str, ...]:
        return tuple(c.name for c in cls.columns)

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        """The constructor's keyword parameters and their defaults, by name."""
        sig = inspect.signature(cls.__init__)
        out: dict[str, Any] = {}
        for p in list(sig.parameters.values())[1:]:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            out[p.name] = p.default
        return out

    @classmethod
    def create(cls, params: Mapping[str, Any] | None = None) -> Scorer:
        """An instance with ``params``; unknown names and bad values raise one ConfigError."""
        params = dict(params or {})
        known = cls.param_defaults()
        for key in params:
            if key not in known:
                listed = ", ".join(sorted(known)) if known else "(none: it takes no parameters)"
                raise ConfigError(f"unknown parameter {key!r} for score {cls.name!r}; known: {listed}")
        obj = cls(**params)
        obj.check()
        return obj

    def _frame(self, ds: Any, values: Mapping[str, np.ndarray]) -> pd.DataFrame:
        return pd.DataFrame(dict(values), index=pd.Index(ds.ids, name="id"))


REGISTRY: Registry[type[Scorer]] = Registry("score")

S = TypeVar("S", bound=type[Scorer])


def register(cls: S) -> S:
    """Class decorator: check ``cls``'s declarations and add it to :data:`REGISTRY` under ``cls.name``."""
    name = cls.name
    if not name or not isinstance(name, str):
        raise ValueError(f"scorer {cls.__name__} declares no name")
    if not issubclass(cls, Scorer):
        raise ValueError(f"scorer {name!r} must derive from datafactors.scores.Scorer")
    if not cls.columns:
        raise ValueError(f"scorer {name!r} declares no columns")
    taken = {c: n for n in REGISTRY for c in REGISTRY.get(n).column_names()}
    for c in cls.columns:
        if c.orientation not in ORIENTATIONS:
            raise ValueError(f"bad orientation {c.orientation!r} for {c.name}; must be one of {ORIENTATIONS}")
        if math.isnan(c.low) or math.isnan(c.high) or c.low > c.high:
            raise ValueError(f"bad range [{c.low}, {c.high}] for {c.name}")
        if c.name in taken:
            raise ValueError(f"score column {c.name!r} of {name!r} is already declared by {taken[c.name]!r}")
    missing = [k for k, v in cls.param_defaults().items() if v is inspect.Parameter.empty]
    if missing:
        raise ValueError(f"scorer {name!r}: parameters without a default: {', '.join(missing)}")
    return REGISTRY.register(name)(cls)


class ColumnTable(Mapping[str, ScoreColumn]):
    """Read-only view: every declared score column by name, computed from :data:`REGISTRY`."""

    def _table(self) -> dict[str, ScoreColumn]:
        return {c.name: c for n in REGISTRY for c in REGISTRY.get(n).columns}

    def __getitem__(self, key: str) -> ScoreColumn:
        return self._table()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __repr__(self) -> str:
        return f"ColumnTable({sorted(self._table())})"


COLUMNS: Mapping[str, ScoreColumn] = ColumnTable()


def hardness_sign(column: str) -> int:
    """+1 if a higher value of ``column`` is harder, -1 if easier (ambiguous counts as harder)."""
    try:
        return -1 if COLUMNS[column].orientation == "easier" else 1
    except KeyError:
        known = ", ".join(sorted(COLUMNS))
        raise ConfigError(f"score column {column!r} has no declared orientation. Known: {known}") from None


def score_columns(name: str) -> tuple[str, ...]:
    """The columns the registered score ``name`` produces."""
    return REGISTRY.get(name).column_names()


__all__ = [
    "COLUMNS",
    "ORIENTATIONS",
    "REGISTRY",
    "ColumnTable",
    "ScoreColumn",
    "Scorer",
    "hardness_sign",
    "register",
    "score_columns",
]
