"""Per strategy x budget x eval set x metric: mean, standard deviation, SEM, min, max and count over seeds.

The ``aggregates`` table is what the learning curves, the metrics tables and the summary read.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._tables import empty_table

AGGREGATE_COLUMNS = ["strategy", "budget", "eval_set", "metric", "n_train", "mean", "std", "sem", "min", "max", "n"]
DTYPES: dict[str, object] = {c: float for c in AGGREGATE_COLUMNS[4:-1]} | {"budget": float, "n": "int64"}


def trial_metrics(store: Any) -> pd.DataFrame:
    """Successful trials joined to their metrics: ``strategy, budget, n_train, seed, eval_set, metric, value``."""
    return (
        store.connect()
        .execute(
            "SELECT t.strategy, t.budget, t.n_train, t.seed, m.eval_set, m.metric, m.value FROM trials t "
            "JOIN metrics m USING (trial_id) WHERE t.status = 'ok'"
        )
        .df()
    )


def aggregate(tm: pd.DataFrame) -> pd.DataFrame:
    """Aggregate long trial metrics (columns as :func:`trial_metrics`) over seeds.

    ``std`` is the sample standard deviation (ddof = 1; NaN for one seed), ``sem = std / sqrt(n)``.
    """
    if tm.empty:
        return empty_table(AGGREGATE_COLUMNS, DTYPES)
    tm = tm.assign(
        strategy=tm["strategy"].astype(str),
        eval_set=tm["eval_set"].astype(str),
        metric=tm["metric"].astype(str),
        budget=pd.to_numeric(tm["budget"], errors="coerce").astype(float),
        n_train=pd.to_numeric(tm["n_train"], errors="coerce").astype(float),
        value=pd.to_numeric(tm["value"], errors="coerce").astype(float),
    )
    g = tm.groupby(["strategy", "budget", "eval_set", "metric"], sort=True)
    agg = g["value"].agg(mean="mean", std="std", min="min", max="max", n="count").reset_index()
    agg["n_train"] = g["n_train"].mean().to_numpy()
    agg["sem"] = agg["std"] / np.sqrt(agg["n"])
    agg["n"] = agg["n"].astype("int64")
    return agg[AGGREGATE_COLUMNS]


def aggregates_table(store: Any) -> pd.DataFrame:
    """The ``aggregates`` table of a run store."""
    return aggregate(trial_metrics(store))
