"""scikit-learn-style selector objects over the functional core.

Constructors only store settings; ``fit(X)`` validates, selects and returns ``self``;
what was learned ends in ``_``:

- ``ranking_`` : (k,) row indices in pick order,
- ``gains_`` : (k,) the marginal gain of each pick (what it means depends on the method),
- ``indices_`` : (k,) the same rows sorted ascending (a set, for masks and joins).

``transform(X)`` returns ``X[ranking_]``. ``get_params`` / ``set_params`` come from
scikit-learn's ``BaseEstimator``, so the objects clone and grid-search like any other.
This module imports scikit-learn; ``datafactors.select`` loads it on first use.

Examples
--------
>>> import numpy as np
>>> from datafactors.select import KCenter
>>> X = np.array([[0.0], [1.0], [10.0], [4.0]])
>>> KCenter(3, start=0).fit(X).ranking_.tolist()
[0, 2, 3]
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from .._arrays import check_embeddings
from .._validation import resolve_budget
from .cluster import cluster_balanced
from .facility import facility_location
from .herding import kernel_herding
from .kcenter import kcenter_greedy


class _Selector(BaseEstimator):
    """Shared fit/transform; subclasses implement ``_select(X, k) -> (ranking, gains)``."""

    budget: int | float

    def fit(self, X: Any, y: Any = None) -> _Selector:
        """Select ``budget`` rows of ``X`` (n_samples, n_features); ``y`` is ignored."""
        Xa = check_embeddings(X, name="X")
        k = resolve_budget(self.budget, len(Xa))
        ranking, gains = self._select(Xa, k)
        self.ranking_ = np.asarray(ranking, dtype=np.int64)
        self.gains_ = np.asarray(gains, dtype=np.float64)
        self.indices_ = np.sort(self.ranking_)
        self.n_features_in_ = Xa.shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        """The selected rows of ``X`` in pick order."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "ranking_")
        return np.asarray(X)[self.ranking_]

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        return self.fit(X, y).transform(X)

    def _select(self, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class KCenter(_Selector):
    """Greedy k-center (see :func:`datafactors.select.kcenter.kcenter_greedy`).

    ``gains_[t]`` is the distance from pick ``t`` to its nearest earlier pick (``inf`` first).
    """

    def __init__(self, budget: int | float, *, start: int | None = None, seed: int = 0) -> None:
        self.budget = budget
        self.start = start
        self.seed = seed

    def _select(self, X, k):
        return kcenter_greedy(X, k, start=self.start, seed=self.seed)


class FacilityLocation(_Selector):
    """Greedy facility location (see :func:`datafactors.select.facility.facility_location`)."""

    def __init__(
        self,
        budget: int | float,
        *,
        metric: str = "euclidean",
        optimizer: str = "lazy",
        n_neighbors: int | None = None,
        epsilon: float = 0.01,
        seed: int = 0,
    ) -> None:
        self.budget = budget
        self.metric = metric
        self.optimizer = optimizer
        self.n_neighbors = n_neighbors
        self.epsilon = epsilon
        self.seed = seed

    def _select(self, X, k):
        return facility_location(
            X,
            k,
            metric=self.metric,
            optimizer=self.optimizer,
            n_neighbors=self.n_neighbors,
            epsilon=self.epsilon,
            seed=self.seed,
        )


class Herding(_Selector):
    """Kernel herding (see :func:`datafactors.select.herding.kernel_herding`)."""

    def __init__(self, budget: int | float, *, kernel: str = "rbf", gamma: float | None = None, seed: int = 0) -> None:
        self.budget = budget
        self.kernel = kernel
        self.gamma = gamma
        self.seed = seed

    def _select(self, X, k):
        return kernel_herding(X, k, kernel=self.kernel, gamma=self.gamma, seed=self.seed)


class ClusterBalanced(_Selector):
    """Equal share per k-means cluster (see :func:`datafactors.select.cluster.cluster_balanced`).

    ``gains_`` is NaN (no objective); ``labels_`` holds every row's cluster.
    """

    def __init__(
        self, budget: int | float, *, n_clusters: int | None = None, within: str = "random", seed: int = 0
    ) -> None:
        self.budget = budget
        self.n_clusters = n_clusters
        self.within = within
        self.seed = seed

    def _select(self, X, k):
        idx, labels = cluster_balanced(X, k, n_clusters=self.n_clusters, within=self.within, seed=self.seed)
        self.labels_ = labels
        return idx, np.full(len(idx), np.nan)


__all__ = ["ClusterBalanced", "FacilityLocation", "Herding", "KCenter"]
