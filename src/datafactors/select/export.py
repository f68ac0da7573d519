"""Hand a selection to the tools that train on it: ids, indices, ``datasets``, ``torch``, Parquet, DuckDB.

A selection is the ``(k,)`` array of row indices that :func:`datafactors.select.select`
returns, in pick order. Row indices are only meaningful for the rows the selector saw;
ids survive reordering, subsetting and files, so export by id whenever the data you
train on is not the exact table you selected from.

Examples
--------
>>> import numpy as np, datafactors as df
>>> from datafactors.select.export import duckdb_filter, to_ids, to_indices
>>> ds = df.Dataset.from_arrays(np.arange(6.0)[:, None], [0, 1] * 3, ids=list("abcdef"))
>>> keep = np.array([4, 1, 2])
>>> to_ids(ds, keep).tolist(), to_indices(keep)
(['e', 'b', 'c'], [1, 2, 4])
>>> print(duckdb_filter(to_ids(ds, keep)))
"id" IN ('e', 'b', 'c')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import DataError
from ..dataset import Dataset

__all__ = [
    "duckdb_filter",
    "parquet_filter",
    "select_hf",
    "selection_frame",
    "to_ids",
    "to_indices",
    "to_torch_subset",
]


def _check_idx(idx: Any, n: int | None, what: str = "selection") -> np.ndarray:
    """``idx`` as unique non-negative int64 row indices (below ``n`` when it is known)."""
    arr = np.asarray(idx)
    if arr.ndim != 1:
        raise DataError(f"{what} must be a 1-D array of row indices, got shape {arr.shape}")
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype == bool:
        raise DataError(f"{what} is a boolean mask; pass np.flatnonzero(mask) (row indices) instead")
    if arr.dtype.kind not in "iu":
        raise DataError(f"{what} must hold integer row indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.min() < 0:
        raise DataError(f"{what} holds a negative index ({int(arr.min())}); row indices start at 0")
    if n is not None and arr.max() >= n:
        raise DataError(f"{what} holds index {int(arr.max())}, but the data has {n} rows (indices 0..{n - 1})")
    if len(np.unique(arr)) != len(arr):
        raise DataError(f"{what} holds duplicated indices; a selection keeps each row once")
    return arr


def to_ids(ds: Dataset, idx: Any) -> np.ndarray:
    """The example ids of the selected rows, in pick order.

    Parameters
    ----------
    ds : the Dataset the selection was made on.
    idx : (k,) row indices from :func:`datafactors.select.select`.

    Returns
    -------
    ndarray (k,) of ids (ints or strings, as in ``ds.ids``).
    """
    if not isinstance(ds, Dataset):
        raise DataError(f"to_ids expects a datafactors.Dataset, got {type(ds).__name__}")
    return ds.ids[_check_idx(idx, ds.n)]


def to_indices(idx: Any, *, sort: bool = True) -> list[int]:
    """Plain Python ints, ascending by default, for ``datasets.Dataset.select`` or any list-taking API.

    Ascending indices let Hugging Face ``datasets`` keep contiguous reads; pass
    ``sort=False`` to keep the pick order (most important first).
    """
    arr = _check_idx(idx, None)
    return (np.sort(arr) if sort else arr).tolist()


def selection_frame(ds: Dataset, idx: Any) -> pd.DataFrame:
    """The selection as a table with columns ``id, index, rank`` (what ``datafactors select --out`` writes)."""
    arr = _check_idx(idx, ds.n)
    return pd.DataFrame({"id": ds.ids[arr], "index": arr, "rank": np.arange(len(arr), dtype=np.int64)})


def select_hf(hf_dataset: Any, idx: Any = None, *, ids: Any = None, id_column: str | None = None) -> Any:
    """The selected rows of a Hugging Face ``datasets.Dataset`` (``hf_dataset.select(...)``).

    Give either ``idx`` (row indices; valid when the datafactors Dataset was built from
    this very ``hf_dataset``, as ``df.load(hf_dataset)`` does) or ``ids`` with the
    ``id_column`` that holds them (works after shuffling, filtering or reloading).

    Examples
    --------
    >>> import datasets, datafactors as df  # doctest: +SKIP
    >>> hf = datasets.load_from_disk("my_data")  # doctest: +SKIP
    >>> ds = df.load(hf, label="label")  # doctest: +SKIP
    >>> keep = df.select.select(ds, "kcenter", 0.3, seed=0)  # doctest: +SKIP
    >>> small = select_hf(hf, keep)  # doctest: +SKIP
    """
    if not hasattr(hf_dataset, "select") or not hasattr(hf_dataset, "column_names"):
        raise DataError(f"select_hf expects a datasets.Dataset, got {type(hf_dataset).__name__}")
    if (idx is None) == (ids is None):
        raise DataError("select_hf needs exactly one of idx (row indices) or ids (with id_column)")
    if ids is not None:
        if id_column is None:
            raise DataError("select_hf(ids=...) needs id_column=, the column of hf_dataset holding the ids")
        if id_column not in hf_dataset.column_names:
            raise DataError(f"hf_dataset has no column {id_column!r}; columns: {', '.join(hf_dataset.column_names)}")
        lookup = {str(v): i for i, v in enumerate(hf_dataset[id_column])}
        rows = []
        for v in ids:
            if str(v) not in lookup:
                raise DataError(f"id {v!r} is not in column {id_column!r} of hf_dataset")
            rows.append(lookup[str(v)])
        idx = np.asarray(rows, dtype=np.int64)
    return hf_dataset.select(to_indices(_check_idx(idx, len(hf_dataset))))


def to_torch_subset(torch_dataset: Any, idx: Any) -> Any:
    """A ``torch.utils.data.Subset`` of the selected rows, in pick order.

    ``torch_dataset`` must index its examples in the same row order as the Dataset
    the selection was made on (e.g. both built from the same arrays).

    Examples
    --------
    >>> import torch, numpy as np  # doctest: +SKIP
    >>> tds = torch.utils.data.TensorDataset(torch.randn(10, 3), torch.arange(10) % 2)  # doctest: +SKIP
    >>> len(to_torch_subset(tds, np.array([3, 1, 7])))  # doctest: +SKIP
    3
    """
    from torch.utils.data import Subset

    try:
        n = len(torch_dataset)
    except TypeError:
        n = None  # an iterable-style dataset has no length; Subset then checks nothing either
    return Subset(torch_dataset, _check_idx(idx, n).tolist())


def _id_values(ids: Any) -> list[Any]:
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise DataError(f"ids must be a 1-D sequence, got shape {arr.shape}")
    if arr.size == 0:
        return []
    if arr.dtype.kind in "iu":
        return [int(v) for v in arr]
    if arr.dtype.kind in "OUS":
        return [v if isinstance(v, int | np.integer) and not isinstance(v, bool) else str(v) for v in arr.tolist()]
    raise DataError(f"ids must be integers or strings, got dtype {arr.dtype}")


def parquet_filter(ids: Any, *, column: str = "id", form: str = "expression") -> Any:
    """A filter that keeps the selected ids when reading Parquet.

    Parameters
    ----------
    ids : (k,) ids, e.g. from :func:`to_ids` or the ``id`` column of a selection file.
    column : the id column of the Parquet data.
    form : ``"expression"`` for a ``pyarrow.compute.Expression`` (``pyarrow.parquet.read_table(path,
        filters=f)``, ``pyarrow.dataset.dataset(path).to_table(filter=f)``, Ray Data), or ``"dnf"`` for the
        list-of-tuples form ``[(column, "in", ids)]`` (``pandas.read_parquet(path, filters=f)``).

    Examples
    --------
    >>> parquet_filter(["a", "c"], form="dnf")
    [('id', 'in', ['a', 'c'])]
    """
    values = _id_values(ids)
    if form == "dnf":
        return [(column, "in", values)]
    if form != "expression":
        raise DataError(f"form == {form!r}, must be 'expression' or 'dnf'")
    import pyarrow as pa
    import pyarrow.compute as pc

    value_type = pa.int64() if values and all(isinstance(v, int) for v in values) else pa.string()
    return pc.field(column).isin(pa.array(values, type=value_type))


def _sql_literal(v: Any) -> str:
    if isinstance(v, int | np.integer) and not isinstance(v, bool):
        return str(int(v))
    return "'" + str(v).replace("'", "''") + "'"


def duckdb_filter(ids: Sequence[Any] | np.ndarray, *, column: str = "id") -> str:
    """A SQL ``WHERE`` condition keeping the selected ids, for DuckDB over Parquet.

    ``con.sql(f"SELECT * FROM 'data/*.parquet' WHERE {duckdb_filter(ids)}")``. Quotes are
    escaped. For very large selections, register the ids as a table and join instead.
    """
    values = _id_values(ids)
    if not values:
        return "FALSE"
    quoted_col = '"' + column.replace('"', '""') + '"'
    return f"{quoted_col} IN ({', '.join(_sql_literal(v) for v in values)})"
