"""Names and orders the report shows things in: eval-set labels, strategy and metric order."""

from __future__ import annotations

from typing import Any

import pandas as pd

BASELINE = "random"
EVAL_LABELS = {"id_test": "ID test", "ood_test": "OOD test"}
METRIC_ORDER = ("accuracy", "nll", "brier", "ece")
HIGHER_IS_BETTER = {"accuracy": True, "nll": False, "brier": False, "ece": False}


def eval_label(eval_set: str) -> str:
    return EVAL_LABELS.get(eval_set, str(eval_set))


def order_eval_sets(names: Any) -> list[str]:
    names = [str(n) for n in pd.unique(pd.Series(list(names), dtype=object))]
    known = [n for n in EVAL_LABELS if n in names]
    return known + sorted(n for n in names if n not in EVAL_LABELS)


def order_strategies(names: Any) -> list[str]:
    """The baseline first, then the others alphabetically, so colors and rows are stable."""
    names = sorted({str(n) for n in names})
    return ([BASELINE] if BASELINE in names else []) + [n for n in names if n != BASELINE]


def order_metrics(names: Any) -> list[str]:
    names = {str(n) for n in names}
    return [m for m in METRIC_ORDER if m in names] + sorted(names - set(METRIC_ORDER))
