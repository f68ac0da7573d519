"""Calibration of the full-data model: every metric before/after temperature scaling, and reliability bins.

``calibration``: per eval set, every calibration metric before and after temperature
scaling (``T`` fitted on a random 20% of ``id_test``) plus the bin-count sweep (see
:func:`calibration_table`). ``calibration_bins``: the reliability-diagram bins of the
full-data model's predictions per eval set (15 equal-width bins of top-label confidence,
non-empty bins only), from :func:`datafactors.metrics.reliability_bins`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import DataError
from ..metrics import calibration_report, reliability_bins
from ._tables import empty_table, typed

# Temperature is fitted on this share of the ID test predictions; the rest is evaluated.
HOLDOUT = 0.2
FIT_EVAL_SET = "id_test"
RELIABILITY_BINS = 15
CALIBRATION_COLUMNS = [
    "eval_set", "metric", "binning", "n_bins", "source", "before", "after", "temperature", "n_fit", "n_eval", "fit_on",
]  # fmt: skip
BIN_COLUMNS = [
    "eval_set", "bin_lower", "bin_upper", "confidence", "accuracy", "count", "n_bins", "n", "n_invalid", "ece",
]  # fmt: skip
DTYPES: dict[str, object] = {c: "int64" for c in ("n_bins", "n_fit", "n_eval", "count", "n", "n_invalid")} | {
    c: float for c in ("before", "after", "temperature", "bin_lower", "bin_upper", "confidence", "accuracy", "ece")
}
_KNOWN_SETS = ("id_test", "ood_test")


def _eval_sets(predictions: pd.DataFrame) -> list[str]:
    names = list(dict.fromkeys(predictions["eval_set"].astype(str)))
    return [n for n in _KNOWN_SETS if n in names] + sorted(n for n in names if n not in _KNOWN_SETS)


def prob_matrix(sub: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """``(probs (n, C), labels (n,), n_invalid)`` of prediction rows whose label is a class index."""
    cols = sorted((c for c in sub.columns if c.startswith("prob_") and c[5:].isdigit()), key=lambda c: int(c[5:]))
    if not cols:
        raise DataError("predictions have no prob_0 ... prob_{C-1} columns")
    labels = pd.to_numeric(sub["label"], errors="coerce").to_numpy(float)
    ok = np.isfinite(labels) & (labels >= 0) & (labels < len(cols))
    return sub[cols].to_numpy(float)[ok], labels[ok].astype(np.int64), int((~ok).sum())


def calibration_table(predictions: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """Every calibration metric before/after temperature scaling, per eval set, plus the bin sweep.

    ``T`` is fitted on a random 20% (``seed``) of the ``id_test`` rows and evaluated on the
    other 80%; every other eval set (e.g. ``ood_test``) is evaluated in full with that same
    ``T`` (a validation-fitted temperature meeting a shifted test set). Without ``id_test``
    rows each eval set is fitted on its own 20%. Rows whose label is not a class index are
    left out.

    Returns
    -------
    pandas.DataFrame with columns ``eval_set, metric, binning, n_bins, source`` ("headline"
    or "sweep"), ``before, after, temperature, n_fit, n_eval, fit_on``.
    """
    frames = []
    sets = _eval_sets(predictions)
    t_ref = None
    if FIT_EVAL_SET in sets:
        p, y, _ = prob_matrix(predictions[predictions["eval_set"].astype(str) == FIT_EVAL_SET])
        ref = calibration_report(p, y, holdout=HOLDOUT, seed=seed)
        t_ref = ref.temperature
        frames.append(ref.to_frame().assign(eval_set=FIT_EVAL_SET, fit_on=FIT_EVAL_SET))
    for es in sets:
        if es == FIT_EVAL_SET:
            continue
        p, y, _ = prob_matrix(predictions[predictions["eval_set"].astype(str) == es])
        if t_ref is None:
            rep = calibration_report(p, y, holdout=HOLDOUT, seed=seed)
            frames.append(rep.to_frame().assign(eval_set=es, fit_on=es))
        else:
            rep = calibration_report(p, y, temperature=t_ref)
            frames.append(rep.to_frame().assign(eval_set=es, fit_on=FIT_EVAL_SET))
    if not frames:
        return empty_table(CALIBRATION_COLUMNS, DTYPES)
    return pd.concat(frames, ignore_index=True)[CALIBRATION_COLUMNS]


def calibration_bins_table(predictions: pd.DataFrame, *, n_bins: int = RELIABILITY_BINS) -> pd.DataFrame:
    """Reliability bins of top-label confidence per eval set (non-empty bins, increasing confidence).

    Columns ``eval_set, bin_lower, bin_upper, confidence, accuracy, count`` (as
    :func:`datafactors.metrics.reliability_bins`), ``n_bins`` (bins on [0, 1]), ``n``
    (predictions binned; the ``count`` of an eval set sums to it), ``n_invalid`` (rows left
    out because their label is not a class index) and ``ece`` (the eval set's ECE over these bins).
    """
    frames = []
    for es in _eval_sets(predictions):
        p, y, n_invalid = prob_matrix(predictions[predictions["eval_set"].astype(str) == es])
        if not len(y):
            continue
        b = reliability_bins(p, y, n_bins=n_bins)
        n = int(b["count"].sum())
        ece = float(np.sum(b["count"] / n * np.abs(b["accuracy"] - b["confidence"])))
        frames.append(b.assign(eval_set=es, n_bins=n_bins, n=n, n_invalid=n_invalid, ece=ece))
    if not frames:
        return empty_table(BIN_COLUMNS, DTYPES)
    return typed(pd.concat(frames, ignore_index=True), BIN_COLUMNS, DTYPES)
