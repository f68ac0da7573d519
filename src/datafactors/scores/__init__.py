"""Per-example scores, one module per family, looked up by name in :data:`REGISTRY`.

Every scorer returns a DataFrame indexed by example id with one column per score,
and declares each column's orientation and range in :data:`COLUMNS` so selectors
never guess which end is "hard".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from .._registry import Registry, import_submodules
from ..dataset import Dataset
from ..dynamics import TrainingDynamics, stack_dynamics

REGISTRY: Registry[Any] = Registry("score")


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


COLUMNS: dict[str, ScoreColumn] = {}


def declare(*cols: ScoreColumn) -> None:
    for c in cols:
        if c.orientation not in {"harder", "easier", "ambiguous"}:
            raise ValueError(f"bad orientation {c.orientation!r} for {c.name}")
        COLUMNS[c.name] = c


def hardness_sign(column: str) -> int:
    """+1 if a higher value of ``column`` is harder, -1 if easier (ambiguous counts as harder)."""
    try:
        return -1 if COLUMNS[column].orientation == "easier" else 1
    except KeyError:
        known = ", ".join(sorted(COLUMNS))
        raise ConfigError(f"score column {column!r} has no declared orientation. Known: {known}") from None


def score_columns(name: str) -> tuple[str, ...]:
    """The columns the registered score ``name`` produces (its ``columns``, else its own name)."""
    return tuple(getattr(REGISTRY.get(name), "columns", (name,)))


def train_dynamics(
    ds: Dataset,
    *,
    learner: str = "mlp",
    seeds: int | Sequence[int] = 5,
    epochs: int = 30,
    learner_params: dict | None = None,
) -> list[TrainingDynamics]:
    """Train ``learner`` once per seed on all of ``ds`` while recording dynamics."""
    from ..learners import make_learner

    seed_list = list(range(seeds)) if isinstance(seeds, (int, np.integer)) else list(seeds)
    if not seed_list:
        raise ConfigError("seeds must name at least one seed")
    out = []
    for s in seed_list:
        lrn = make_learner(learner, **(learner_params or {}))
        lrn.fit(ds, epochs=epochs, seed=int(s), record_dynamics=True)
        if lrn.dynamics is None:
            raise ConfigError(f"learner {learner!r} recorded no training dynamics")
        out.append(lrn.dynamics)
    return out


def compute(
    ds: Dataset,
    names: Sequence[str] | str,
    *,
    learner: str = "mlp",
    seeds: int | Sequence[int] = 5,
    epochs: int = 30,
    dynamics: Sequence[TrainingDynamics] | None = None,
    embeddings: np.ndarray | None = None,
    learner_params: dict | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Compute several scores and join them by example id.

    Parameters
    ----------
    ds : Dataset to score.
    names : score names from :data:`REGISTRY` (e.g. ``["el2n", "grand", "forgetting"]``).
    learner, seeds, epochs, learner_params : the proxy trained once per seed, recording
        dynamics, when a score needs them and ``dynamics`` is not given.
    dynamics : already recorded runs on ``ds`` (skips training).
    embeddings : (n, d) vectors for geometric scores (default ``ds.X``).

    Returns
    -------
    DataFrame indexed by id (named ``id``), one column per score column.

    Examples
    --------
    >>> import datafactors as df  # doctest: +SKIP
    >>> df.scores.compute(df.load("digits"), ["el2n", "forgetting"], seeds=2, epochs=5)  # doctest: +SKIP
    """
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if not names:
        raise ConfigError("no score names given")
    scorers = [REGISTRY.get(n)() for n in names]
    if dynamics is None and any(s.needs_dynamics for s in scorers):
        dynamics = train_dynamics(ds, learner=learner, seeds=seeds, epochs=epochs, learner_params=learner_params)
    if dynamics is not None:
        dynamics = stack_dynamics(list(dynamics))
        if not np.array_equal(dynamics[0].ids, ds.ids):
            raise DataError("dynamics were recorded on a different dataset (ids differ)")
    frames = [s.score(ds, dynamics=dynamics, embeddings=embeddings, seed=seed) for s in scorers]
    out = pd.concat(frames, axis=1)
    out.index.name = "id"
    return out


import_submodules(__name__, __path__)  # every module registers itself

# Public functional entry points (these names shadow their modules on purpose:
# `df.scores.aflite(X, y)` and `df.scores.irt(responses)` are the documented calls).
from .aflite import aflite  # noqa: E402
from .irt import glicko2, irt  # noqa: E402

__all__ = ["COLUMNS", "REGISTRY", "ScoreColumn", "aflite", "compute", "glicko2", "hardness_sign", "irt", "train_dynamics"]
