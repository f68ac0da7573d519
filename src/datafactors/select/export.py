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

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from ..dataset import Dataset

__all__ = [
    "EXPORT_FORMATS",
    "duckdb_filter",
    "export_frame",
    "export_rows",
    "export_shards",
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


# ------------------------------------------------------------------ export of the kept rows

EXPORT_FORMATS = (".jsonl", ".parquet", ".csv")
ORDERS = ("input", "pick")


def _feature_frame(ds: Dataset) -> dict[str, Any]:
    """The table columns the features were read from, rebuilt from ``ds.X`` (none for embedded text)."""
    cols = list(ds.feature_columns)
    if getattr(ds, "text_column", None) is not None:
        return {}
    if not cols:  # built from arrays: the features are the data, named x0, x1, ...
        cols = [f"x{j}" for j in range(ds.n_features)]
    if len(cols) != ds.n_features:
        if len(cols) == 1:  # one column of vectors (e.g. an ``embedding`` list column)
            return {cols[0]: list(ds.X.astype(np.float64))}
        raise DataError(
            f"cannot rebuild the columns {', '.join(cols)} of {ds.name} from its {ds.n_features} features; "
            "export from the file's own rows instead"
        )
    out: dict[str, Any] = {}
    for j, c in enumerate(cols):
        v = ds.X[:, j]
        if np.all(v == np.round(v)) and np.all(np.abs(v) < 2**24):
            out[c] = v.astype(np.int64)  # integers survive float32 exactly below 2**24
        else:
            out[c] = v.astype(str).astype(np.float64)  # float32's shortest repr: 0.1 stays 0.1, not 0.100000001
    return out


def export_frame(
    ds: Dataset,
    idx: Any,
    *,
    order: str = "input",
    scores: pd.DataFrame | None = None,
    label_column: str | None = None,
) -> pd.DataFrame:
    """The kept rows of ``ds`` as a table with their original columns (what :func:`export_rows` writes).

    Columns: ``id`` (the example ids; for a file without an id column, the row numbers, as
    ``datafactors score`` / ``select`` write them), the feature columns (``x0, x1, ...`` for
    data built from arrays; none for embedded text: the embeddings are not a column of the
    file), every column of ``ds.extra`` (text and
    metadata), then the label (named ``label_column``, default ``label``; its class names) and
    ``group`` when ``ds.extra`` does not hold them, then the score columns.

    Parameters
    ----------
    ds : the Dataset the selection was made on.
    idx : (k,) row indices from :func:`datafactors.select.select`.
    order : ``"input"`` (rows in file order, the default) or ``"pick"`` (the selector's order).
    scores : a scores table (an ``id`` column or an id index, one column per score), joined by id.
    label_column : the name of the label column in the output (the file's, e.g. ``category``).

    Examples
    --------
    >>> import numpy as np, datafactors as df
    >>> ds = df.Dataset.from_arrays(np.array([[0.5], [1.5], [2.5]]), [0, 1, 0], feature_columns=["x"])
    >>> export_frame(ds, np.array([2, 0]), order="pick").to_dict("list")
    {'id': [2, 0], 'x': [2.5, 0.5], 'label': ['0', '0']}
    """
    if not isinstance(ds, Dataset):
        raise DataError(f"export_rows expects a datafactors.Dataset, got {type(ds).__name__}")
    if order not in ORDERS:
        raise ConfigError(f"--order {order!r}: expected one of {', '.join(ORDERS)}")
    arr = _check_idx(idx, ds.n)
    if order == "input":
        arr = np.sort(arr)
    extra = ds.extra if ds.extra is not None else pd.DataFrame(index=range(ds.n))
    have = {str(c) for c in extra.columns}
    cols: dict[str, Any] = {}
    if "id" not in have:
        cols["id"] = ds.ids
    cols.update({c: v for c, v in _feature_frame(ds).items() if c not in have})
    frame = pd.DataFrame(cols, index=range(ds.n))
    frame = pd.concat([frame, extra.reset_index(drop=True)], axis=1)
    has_labels = getattr(ds, "has_labels", ds.y is not None)
    label_col = label_column or getattr(ds, "label_column", None) or "label"
    if has_labels and label_col not in have:
        frame[label_col] = np.asarray(ds.class_names, dtype=object)[np.asarray(ds.y)]
    if ds.groups is not None and "group" not in have:
        frame["group"] = ds.groups
    out = frame.iloc[arr].reset_index(drop=True)
    if scores is not None:
        out = _join_scores(out, ds, arr, scores)
    return out


def _join_scores(out: pd.DataFrame, ds: Dataset, arr: np.ndarray, scores: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(scores, pd.DataFrame):
        raise DataError(f"scores must be a pandas.DataFrame keyed by id, got {type(scores).__name__}")
    table = scores.set_index("id") if "id" in scores.columns else scores
    table = table.drop(columns=[c for c in ("label",) if c in table.columns])
    keys = table.index.astype(str)
    if keys.has_duplicates:
        raise DataError("--with-scores: the scores file has duplicated ids")
    table = table.set_axis(keys)
    want = pd.Index(ds.ids[arr].astype(str))
    missing = want.difference(keys)
    if len(missing):
        raise DataError(
            f"--with-scores: the scores file lacks {len(missing)} of the kept ids, e.g. {missing[0]!r}; "
            "score the same data the selection was made on"
        )
    clash = [str(c) for c in table.columns if str(c) in out.columns]
    if clash:
        raise DataError(f"--with-scores: score column {clash[0]!r} is also a column of the data; rename one")
    return pd.concat([out, table.reindex(want).reset_index(drop=True)], axis=1)


def _format(out: Path) -> str:
    suffix = out.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise DataError(
            f"--export {out}: unknown extension {suffix or '(none)'!r}; expected one of {', '.join(EXPORT_FORMATS)}"
        )
    return suffix


def _serialise(frame: pd.DataFrame, suffix: str, tmp: str) -> None:
    if suffix == ".parquet":
        frame.to_parquet(tmp, index=False)
    elif suffix == ".csv":
        frame.to_csv(tmp, index=False)
    else:
        frame.to_json(tmp, orient="records", lines=True, date_format="iso", force_ascii=False)


def _write_file(frame: pd.DataFrame, out: Path, suffix: str) -> None:
    """Write ``frame`` beside ``out`` and rename it into place: never a partial file."""
    import pyarrow as pa

    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        _serialise(frame, suffix, tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, out)
    except PermissionError:
        raise DataError(f"cannot write --export {out}: permission denied") from None
    except OSError as e:
        raise DataError(f"cannot write --export {out}: {e.strerror or e}") from None
    except (ValueError, TypeError, pa.ArrowException) as e:
        raise DataError(f"cannot write --export {out} as {suffix[1:]}: {str(e).splitlines()[0]}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_out(out: Any) -> Path:
    try:
        p = Path(os.fspath(out)).expanduser()
    except TypeError:
        raise DataError(f"--export must be a path, got {type(out).__name__} {out!r}") from None
    return p


def export_rows(
    ds: Dataset,
    idx: Any,
    out: str | os.PathLike[str],
    *,
    order: str = "input",
    scores: pd.DataFrame | None = None,
    label_column: str | None = None,
) -> Path:
    """Write the kept rows of ``ds`` with all their original columns to ``out`` (``.jsonl``, ``.parquet``, ``.csv``).

    The format follows the extension. The file is written beside ``out`` and renamed
    into place, so a failed write leaves no partial file and an existing ``out`` is only
    replaced once the new one is complete. Columns and ``order`` / ``scores`` as in
    :func:`export_frame`; every row carries its ``id``, so it joins back to scores and
    selections.

    Returns
    -------
    pathlib.Path of the written file.

    Examples
    --------
    >>> import numpy as np, pandas as pd, tempfile, os, datafactors as df
    >>> ds = df.Dataset.from_arrays(np.array([[0.5], [1.5], [2.5]]), [0, 1, 0], feature_columns=["x"])
    >>> p = export_rows(ds, np.array([2, 0]), os.path.join(tempfile.mkdtemp(), "kept.csv"))
    >>> pd.read_csv(p)["x"].tolist()
    [0.5, 2.5]
    """
    p = _check_out(out)
    suffix = _format(p)
    if p.is_dir():
        raise DataError(f"--export {p} is a folder; give a file name ending in {', '.join(EXPORT_FORMATS)}")
    frame = export_frame(ds, idx, order=order, scores=scores, label_column=label_column)
    _write_file(frame, p, suffix)
    return p


def export_shards(
    ds: Dataset,
    idx: Any,
    out: str | os.PathLike[str],
    shards: Sequence[tuple[str, int]],
    *,
    order: str = "input",
    scores: pd.DataFrame | None = None,
    label_column: str | None = None,
) -> Path:
    """Write the kept rows of a sharded corpus as one shard per input shard, under folder ``out``.

    ``shards`` lists ``(relative path, n_rows)`` of the input shards in the order their
    rows appear in ``ds``; output shard ``out / relative path`` holds the kept rows of that
    input shard (an empty file when none was kept), in the format of its extension. The
    shards are written into a hidden folder beside ``out`` that replaces ``out`` only
    once every shard is complete.

    Returns
    -------
    pathlib.Path of the folder.
    """
    p = _check_out(out)
    total = sum(int(n) for _, n in shards)
    if total != ds.n:
        raise DataError(f"the shards hold {total} rows but the data has {ds.n}")
    if p.exists() and not p.is_dir():
        raise DataError(f"--export {p}: the input is a folder of shards, so --export must name a folder, not a file")
    frame = export_frame(ds, idx, order=order, scores=scores, label_column=label_column)
    arr = _check_idx(idx, ds.n)
    kept_rows = np.sort(arr) if order == "input" else arr
    bounds = np.cumsum([0] + [int(n) for _, n in shards])
    shard_of = np.searchsorted(bounds, kept_rows, side="right") - 1
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=p.parent, prefix=f".{p.name}."))
    try:
        for i, (rel, _) in enumerate(shards):
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            part = frame[shard_of == i].reset_index(drop=True)
            if part.empty and Path(rel).suffix.lower() == ".jsonl":
                target.write_text("")
            else:
                _write_file(part, target, _format(target))
        os.chmod(tmp, 0o777 & ~_umask())
        old = None
        if p.exists():
            old = Path(tempfile.mkdtemp(dir=p.parent, prefix=f".{p.name}.old."))
            os.replace(p, old / "x")
        os.replace(tmp, p)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return p
