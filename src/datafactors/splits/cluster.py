"""Cluster-based OOD: k-means clusters of the features are held out whole."""

from __future__ import annotations

import numpy as np

from .._errors import ConfigError, DataError
from .._validation import SeedLike, check_random_state
from . import REGISTRY, Split
from ._common import share
from .group import split_keeping_near_duplicates


@REGISTRY.register("cluster")
def cluster_split(
    ds,
    *,
    seed: SeedLike = 0,
    test_size: float | int = 0.2,
    ood_size: float = 0.2,
    n_clusters: int = 10,
    embeddings: np.ndarray | None = None,
    near_duplicates: str | None = None,
) -> Split:
    """Hold out whole k-means clusters as ``ood["clusters"]``.

    k-means (scikit-learn, seeded) runs on the standardised features (or
    ``embeddings``); clusters are added in a seeded random order until they hold at
    least ``ood_size`` of the examples (at least one cluster, never all). The rest
    is split at random into train and an in-distribution test set. ``near_duplicates="together"``
    keeps MinHash near-duplicate clusters of the text on one side (see :mod:`.group`).

    Examples
    --------
    >>> import numpy as np, datafactors as df
    >>> X = np.r_[np.zeros((10, 2)), np.full((10, 2), 9.0)] + np.arange(20)[:, None] * 0.01
    >>> ds = df.Dataset.from_arrays(X, [0, 1] * 10)
    >>> s = cluster_split(ds, n_clusters=2, ood_size=0.4, test_size=0.2)
    >>> len(s.ood["clusters"]), len(s.train), len(s.test)
    (10, 8, 2)
    """
    from sklearn.cluster import KMeans

    rng = check_random_state(seed)
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)) or n_clusters < 2:
        raise ConfigError(f"n_clusters == {n_clusters!r}, must be an int >= 2")
    X = ds.X if embeddings is None else np.asarray(embeddings, dtype=np.float32)
    if X.shape[0] != ds.n:
        raise DataError(f"embeddings must have {ds.n} rows, got {X.shape[0]}")
    if ds.n < n_clusters:
        raise DataError(f"n_clusters == {n_clusters} but {ds.name} has only {ds.n} examples")
    sd = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    labels = KMeans(n_clusters, n_init=3, random_state=int(rng.integers(2**31 - 1))).fit_predict(Z)
    counts = np.bincount(labels, minlength=n_clusters)
    present = np.flatnonzero(counts)
    if len(present) < 2:
        raise DataError("k-means found a single cluster (are all examples identical?)")
    target = share(ood_size, "ood_size") * ds.n
    held, total = [], 0
    for c in rng.permutation(present):
        if len(held) == len(present) - 1 or (held and total >= target):
            break
        held.append(int(c))
        total += int(counts[c])
    mask = np.isin(labels, held)
    train, test, ood = split_keeping_near_duplicates(ds, mask, test_size, rng, "cluster holdout", near_duplicates)
    return Split(train=train, test=test, ood={"clusters": ood})
