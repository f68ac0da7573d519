"""Typed empty tables, so a derived table that cannot be computed is still written with its columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd


def empty_table(columns: Sequence[str], dtypes: Mapping[str, object]) -> pd.DataFrame:
    """An empty frame whose columns have the dtypes DuckDB needs to create the table (text: str)."""
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, str)) for c in columns})


def typed(frame: pd.DataFrame, columns: Sequence[str], dtypes: Mapping[str, object]) -> pd.DataFrame:
    """``frame`` with exactly ``columns``, numeric ones coerced to their dtype (all-None columns stay typed)."""
    if frame.empty:
        return empty_table(columns, dtypes)
    out = frame.reindex(columns=list(columns))
    for c in columns:
        kind = dtypes.get(c, str)
        if kind is float:
            out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
        elif kind == "int64":
            out[c] = pd.to_numeric(out[c], errors="coerce").astype("int64")
        elif kind == "boolean":
            out[c] = out[c].astype("boolean")
        elif kind is bool:
            out[c] = out[c].astype(bool)
        else:
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out
