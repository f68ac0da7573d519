"""Data Filtering Networks (Fang et al., 2023): a filter model trained on trusted data ranks the pool.

A small trusted subset (ids or a boolean mask of pool rows) trains a filter classifier
(any registered learner; default ``logistic``) on the embeddings; every pool row is then
scored by the filter's probability of the row's own label -- its agreement with the
label, the analogue of the DFN's image-text alignment -- and the top rows are kept.
The paper's point: the filter's own accuracy does not predict the quality of what it keeps,
so compare selections by training on them, not by the filter's score.

Trusted rows are scored by a model that saw them (in-sample), which favours them; they are
trusted anyway, and ``trusted_first=True`` makes that explicit by ranking them all first.

Budget = number kept: the top ``budget`` rows by agreement (ties by the seed).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import DataError
from ..dataset import Dataset
from . import REGISTRY
from ._common import embeddings_of, requires

__all__ = ["dfn_agreement", "trusted_rows"]


def trusted_rows(ds: Dataset, trusted: Any, name: str = "trusted") -> np.ndarray:
    """Sorted row indices of ``trusted`` (ids of ``ds``, or an (n,) boolean mask); ``name`` is the parameter."""
    if trusted is None:
        raise DataError(f"{name}= is required: ids of rows of the dataset, or an ({ds.n},) boolean mask")
    arr = np.asarray(trusted)
    if arr.ndim != 1 or len(arr) == 0:
        raise DataError(f"{name} must be a non-empty list of ids or an ({ds.n},) boolean mask, got shape {arr.shape}")
    if arr.dtype == bool:
        if arr.shape != (ds.n,):
            raise DataError(f"{name} mask must have shape ({ds.n},), got {arr.shape}")
        rows = np.flatnonzero(arr)
    else:
        rows = np.unique(ds.index_of(arr.tolist()))
    if len(rows) == 0:
        raise DataError(f"{name} selects no rows")
    return rows


def dfn_agreement(
    ds: Dataset,
    trusted: Any,
    *,
    embeddings: np.ndarray | None = None,
    learner: str = "logistic",
    learner_params: dict | None = None,
    epochs: float = 100,
    seed: int = 0,
) -> np.ndarray:
    """The filter's probability of each row's own label, (n,) float64 in [0, 1].

    Parameters
    ----------
    ds : the pool.
    trusted : ids of trusted rows of ``ds``, or an (n,) boolean mask; at least two classes.
    embeddings : (n, d) features for the filter (default ``ds.X``).
    learner, learner_params, epochs : the filter model (a registered learner).
    seed : training seed of the filter.

    Examples
    --------
    >>> import datafactors as df
    >>> X = np.r_[np.zeros((5, 1)), np.ones((5, 1))]
    >>> ds = df.Dataset.from_arrays(X, [0] * 5 + [1] * 4 + [0])  # the last label is wrong
    >>> a = dfn_agreement(ds, [0, 1, 5, 6])
    >>> int(np.argmin(a))
    9
    """
    from ..learners import make_learner

    ds.require_labels("the dfn selector")
    E = embeddings_of(ds, embeddings)
    rows = trusted_rows(ds, trusted)
    present = np.unique(ds.y[rows])
    if len(present) < 2:
        raise DataError(f"the trusted rows hold only class {ds.class_names[int(present[0])]!r}; the filter needs >= 2")
    train = Dataset.from_arrays(E[rows], ds.y[rows], ids=ds.ids[rows], class_names=ds.class_names, name="trusted")
    model = make_learner(learner, **(learner_params or {})).fit(train, epochs=epochs, seed=int(seed))
    proba = model.predict_proba(E)
    return np.asarray(proba[np.arange(ds.n), ds.y], dtype=np.float64)


@REGISTRY.register("dfn")
@requires("trusted")
def dfn_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    trusted: Any = None,
    learner: str = "logistic",
    learner_params: dict | None = None,
    epochs: float = 100,
    trusted_first: bool = False,
) -> np.ndarray:
    """Keep the ``k`` rows whose label the trusted-data filter agrees with most."""
    seed = int(rng.integers(0, 2**31 - 1))
    agree = dfn_agreement(
        ds, trusted, embeddings=embeddings, learner=learner, learner_params=learner_params, epochs=epochs, seed=seed
    )
    first = np.zeros(ds.n, dtype=bool)
    if trusted_first:
        first[trusted_rows(ds, trusted)] = True
    return np.lexsort((rng.permutation(ds.n), -agree, ~first))[:k]
