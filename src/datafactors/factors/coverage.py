"""Train/test coverage and novelty: how far each test point is from its nearest training point."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._errors import ConfigError, DataError
from .._neighbors import knn
from .._validation import SeedLike, check_random_state
from . import family, row
from ._context import ProfileContext

FAMILY = "coverage"
MAX_QUERIES = 2000


class Coverage(NamedTuple):
    """Nearest-train distances of (sampled) test points and the far-out share."""

    test_nn_distance: np.ndarray
    train_nn_distance: np.ndarray
    threshold: float
    novelty_share: float
    overlap_share: float


def coverage(
    X_train: np.ndarray,
    X_test: np.ndarray,
    *,
    quantile: float = 0.95,
    max_queries: int = MAX_QUERIES,
    seed: SeedLike = 0,
) -> Coverage:
    """Novelty of a test set: share of test points farther from the training set than training points are from each other.

    The threshold is the ``quantile`` of the training points' leave-one-out
    nearest-neighbour distances; a test point whose nearest training point is
    farther than that is "far out". ``overlap_share`` is the share of test points
    that coincide with a training point (distance 0: leakage). Up to
    ``max_queries`` points of each set are queried (a uniform sample beyond that),
    exactly against all training points.

    Returns
    -------
    Coverage(test_nn_distance (m,), train_nn_distance (m',), threshold, novelty_share, overlap_share)

    Examples
    --------
    >>> tr = np.arange(10.0)[:, None]
    >>> c = coverage(tr, np.array([[0.0], [4.5], [30.0]]))
    >>> c.threshold, round(c.novelty_share, 4), round(c.overlap_share, 4)
    (1.0, 0.3333, 0.3333)
    """
    if not 0.0 < float(quantile) < 1.0:
        raise ConfigError(f"quantile == {quantile}, must be in (0, 1)")
    A, B = np.asarray(X_train, dtype=np.float32), np.asarray(X_test, dtype=np.float32)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[1]:
        raise DataError(f"train and test must be 2-D with the same width, got {A.shape} and {B.shape}")
    if len(A) < 2 or len(B) < 1:
        raise DataError("coverage needs at least 2 training points and 1 test point")
    rng = check_random_state(seed)
    qa = np.arange(len(A)) if len(A) <= max_queries else np.sort(rng.choice(len(A), max_queries, replace=False))
    qb = np.arange(len(B)) if len(B) <= max_queries else np.sort(rng.choice(len(B), max_queries, replace=False))
    tr, _ = knn(A, 1, queries=A[qa], metric="l2", self_index=qa)
    te, _ = knn(A, 1, queries=B[qb], metric="l2")
    tr, te = tr[:, 0], te[:, 0]
    thr = float(np.quantile(tr, quantile))
    return Coverage(te, tr, thr, float((te > thr).mean()), float((te == 0).mean()))


@family(FAMILY, description="nearest-train distance of test points; share of far-out test points")
def coverage_family(ctx: ProfileContext) -> list[dict]:
    if ctx.test is None or ctx.test_X is None:
        return [row(FAMILY, "novelty_share", note="not computed: no test set given")]
    c = coverage(ctx.X, ctx.test_X, seed=ctx.rng(FAMILY))
    m = len(c.test_nn_distance)
    sample = f"{m} sampled test points" if ctx.test.n > m else f"all {m} test points"
    rows = [
        row(
            FAMILY,
            "test_nn_distance",
            float(np.quantile(c.test_nn_distance, q)),
            key=f"p{int(q * 100)}",
            note=f"Euclidean distance to the nearest training point, {sample}",
        )
        for q in (0.1, 0.5, 0.9)
    ]
    rows.append(row(FAMILY, "test_nn_distance", float(c.test_nn_distance.mean()), key="mean"))
    rows.append(
        row(
            FAMILY,
            "train_nn_distance",
            float(np.median(c.train_nn_distance)),
            key="p50",
            note="leave-one-out nearest-neighbour distance within the training set",
        )
    )
    rows.append(
        row(
            FAMILY,
            "novelty_threshold",
            c.threshold,
            note="95th percentile of the training set's own nearest-neighbour distances",
        )
    )
    rows.append(row(FAMILY, "novelty_share", c.novelty_share, note="share of test points farther than the threshold"))
    rows.append(row(FAMILY, "test_coverage", 1 - c.novelty_share, note="share of test points within the threshold"))
    rows.append(
        row(FAMILY, "test_train_overlap", c.overlap_share, note="share of test points identical to a training point")
    )
    return rows
