"""Per-example scores, one module per family, looked up by name in :data:`REGISTRY`.

Every scorer derives from :class:`~datafactors.scores.base.Scorer`: it returns a DataFrame
indexed by example id with one column per score and declares each column's orientation
and range (read back through :data:`COLUMNS`, built from the registry) so selectors never
guess which end is "hard". Its parameters are its constructor's keyword arguments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from .._registry import import_submodules
from .._validation import parse_param_items
from ..dataset import Dataset
from ..dynamics import TrainingDynamics, stack_dynamics
from .base import COLUMNS, REGISTRY, ScoreColumn, Scorer, hardness_sign, register, score_columns

ScoreSpec = str | tuple[str, Mapping[str, Any]] | Mapping[str, Any]


def _one_spec(spec: object, where: str) -> tuple[str, dict]:
    if isinstance(spec, str):
        return spec.strip(), {}
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str) and isinstance(spec[1], Mapping):
        return spec[0], dict(spec[1])
    if isinstance(spec, Mapping) and "name" in spec and set(spec) <= {"name", "params"}:
        params = spec.get("params") or {}
        if not isinstance(params, Mapping):
            raise ConfigError(f"{where}: params must be a mapping of parameter names to values, got {params!r}")
        return spec["name"], dict(params)
    raise ConfigError(
        f"{where} == {spec!r}, must be a score name, a (name, params) pair or a mapping {{name: ..., params: {{...}}}}"
    )


def score_specs(names: Sequence[ScoreSpec] | str) -> list[tuple[str, dict]]:
    """Normalise score specifications to ``[(name, params), ...]`` and check them.

    Each item is a registered name (``"el2n"``), a pair ``("aflite", {"tau": 0.8})`` or a
    mapping ``{"name": "knn_density", "params": {"k": 5}}``; a string is a comma-separated
    list of names. Unknown names, unknown parameters, bad parameter values and a name given
    twice raise :class:`ConfigError`.

    Examples
    --------
    >>> score_specs(["el2n", ("aflite", {"tau": 0.8})])
    [('el2n', {}), ('aflite', {'tau': 0.8})]
    """
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if isinstance(names, Mapping) or not isinstance(names, Sequence):
        raise ConfigError(f"score names must be a list, got {type(names).__name__}")
    if not names:
        raise ConfigError("no score names given")
    out: list[tuple[str, dict]] = []
    for i, spec in enumerate(names):
        name, params = _one_spec(spec, f"scores[{i}]")
        if any(name == seen for seen, _ in out):
            raise ConfigError(f"score {name!r} named twice")
        REGISTRY.get(name).create(params)  # unknown names / parameters / values fail here
        out.append((name, params))
    return out


def parse_score_params(names: Sequence[str], items: Sequence[str]) -> list[tuple[str, dict]]:
    """``--param`` items to ``[(name, params), ...]`` for the score ``names`` (in their order).

    Each item is ``SCORER.KEY=VALUE``, or a bare ``KEY=VALUE`` when exactly one score is
    named; values are typed by :func:`datafactors._validation.parse_param_value`.

    Examples
    --------
    >>> parse_score_params(["el2n", "aflite"], ["aflite.tau=0.8", "el2n.epoch=3"])
    [('el2n', {'epoch': 3}), ('aflite', {'tau': 0.8})]
    """
    names = [str(n).strip() for n in names]
    params: dict[str, dict] = {n: {} for n in names}
    for item in items:
        key, sep, value = str(item).partition("=")
        parsed = parse_param_items([item])  # shape check: KEY=VALUE
        scorer, dot, param = key.strip().partition(".")
        if not dot:
            if len(names) != 1:
                raise ConfigError(
                    f"--param {item!r} names no score, but several are computed ({', '.join(names)}); "
                    f"write SCORER.{key.strip()}={value}"
                )
            scorer, param = names[0], key.strip()
        if scorer not in params:
            raise ConfigError(
                f"--param {item!r} is for score {scorer!r}, which is not among the scores computed: {', '.join(names)}"
            )
        if not param:
            raise ConfigError(f"--param {item!r} must look like SCORER.KEY=VALUE")
        params[scorer][param] = next(iter(parsed.values()))
    return [(n, params[n]) for n in names]


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
    names: Sequence[ScoreSpec] | str,
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
    names : score names from :data:`REGISTRY` (e.g. ``["el2n", "grand", "forgetting"]``), each
        optionally with its parameters: ``("aflite", {"tau": 0.8})`` or
        ``{"name": "knn_density", "params": {"k": 5}}`` (see :func:`score_specs`).
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
    >>> df.scores.compute(ds, [("aflite", {"tau": 0.8})])  # doctest: +SKIP
    """
    scorers = [REGISTRY.get(n).create(p) for n, p in score_specs(names)]
    for s in scorers:
        if getattr(s, "needs_labels", True):
            ds.require_labels(f"score {s.name!r}")
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
from .glicko import glicko2  # noqa: E402
from .irt import irt  # noqa: E402

__all__ = [
    "COLUMNS",
    "REGISTRY",
    "ScoreColumn",
    "ScoreSpec",
    "Scorer",
    "aflite",
    "compute",
    "glicko2",
    "hardness_sign",
    "irt",
    "parse_score_params",
    "register",
    "score_columns",
    "score_specs",
    "train_dynamics",
]
