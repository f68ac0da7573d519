"""Label-noise estimate with cleanlab (confident learning) from cross-validated predictions."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._errors import DataError
from .._optional import require
from .._validation import SeedLike, check_random_state
from . import family, row
from ._context import ProfileContext

FAMILY = "label_noise"
MAX_ROWS = 10_000
N_FOLDS = 3


class LabelNoise(NamedTuple):
    """Estimated share of wrong labels and the rows cleanlab flags."""

    noise_rate: float
    issue_share: float
    issues: np.ndarray
    rows: np.ndarray


def label_noise(
    X: np.ndarray,
    y: np.ndarray,
    *,
    pred_probs: np.ndarray | None = None,
    n_folds: int = N_FOLDS,
    max_rows: int = MAX_ROWS,
    seed: SeedLike = 0,
) -> LabelNoise:
    """Estimate the label-noise rate with confident learning (cleanlab).

    ``noise_rate`` = off-diagonal mass of cleanlab's estimated joint distribution of
    given and true labels (``cleanlab.count.estimate_joint``); ``issue_share`` = share of
    rows ``cleanlab.filter.find_label_issues`` flags. Out-of-sample probabilities come
    from ``pred_probs`` or from ``n_folds``-fold cross-validated logistic regression on
    standardised ``X`` over at most ``max_rows`` uniformly sampled rows.

    Returns
    -------
    LabelNoise(noise_rate, issue_share, issues (bool per used row), rows (indices used))
    """
    require("cleanlab.count", "cleanlab", "the label_noise factor (cleanlab)")
    from cleanlab.count import estimate_joint

    require("cleanlab.filter", "cleanlab", "the label_noise factor (cleanlab)")
    from cleanlab.filter import find_label_issues

    A = np.asarray(X)
    yy = np.asarray(y)
    if A.ndim != 2 or yy.shape != (len(A),):
        raise DataError(f"X must be (n, d) and y (n,), got {A.shape} and {yy.shape}")
    rows = np.arange(len(A))
    if pred_probs is None and len(A) > max_rows:
        rows = np.sort(check_random_state(seed).choice(len(A), max_rows, replace=False))
    classes, labels = np.unique(yy[rows], return_inverse=True)
    if len(classes) < 2:
        raise DataError("label noise needs at least 2 classes")
    if pred_probs is None:
        counts = np.bincount(labels)
        if counts.min() < n_folds:
            c = classes[int(np.argmin(counts))]
            raise DataError(f"class {c!r} has {int(counts.min())} examples; cross-validation needs at least {n_folds}")
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        rs = int(check_random_state(seed).integers(2**31 - 1)) if not isinstance(seed, int) else seed
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
        cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=rs)
        probs = cross_val_predict(model, A[rows].astype(np.float64), labels, cv=cv, method="predict_proba")
    else:
        probs = np.asarray(pred_probs, dtype=np.float64)
        if probs.shape != (len(A), len(classes)):
            raise DataError(f"pred_probs must have shape ({len(A)}, {len(classes)}), got {probs.shape}")
    joint = estimate_joint(labels, probs)
    issues = np.asarray(find_label_issues(labels, probs), dtype=bool)
    return LabelNoise(float(1.0 - np.trace(joint)), float(issues.mean()), issues, rows)


@family(FAMILY, description="cleanlab estimate of the share of wrong labels", needs_labels=True)
def label_noise_family(ctx: ProfileContext) -> list[dict]:
    try:
        r = label_noise(ctx.X, ctx.ds.y, seed=int(ctx.rng(FAMILY).integers(2**31 - 1)))
    except DataError as e:
        return [row(FAMILY, "label_noise_rate", note=f"not computed: {e}")]
    sample = f"{len(r.rows)} sampled rows" if len(r.rows) < ctx.ds.n else f"all {len(r.rows)} rows"
    how = f"cleanlab confident learning on {N_FOLDS}-fold cross-validated logistic regression, {sample}"
    return [
        row(FAMILY, "label_noise_rate", r.noise_rate, note=f"off-diagonal mass of the estimated joint; {how}"),
        row(FAMILY, "label_issue_share", r.issue_share, note=f"share flagged by find_label_issues; {how}"),
    ]
