"""Readers: files and table objects in, a validated :class:`~datafactors.Dataset` out.

Every way in ends in ``_frame_to_dataset`` (one set of column rules) and then
:meth:`Dataset.from_arrays` (one set of array checks). Errors from pandas, pyarrow
and numpy are caught where they are raised and turned into one :class:`DataError`
that names the file, the column and what was expected.

Column rules (files and tables alike)
-------------------------------------
- label: ``label=`` or the first of ``label``, ``y``, ``target`` (exact name, then
  any case); with none of them (and no ``label=``) the table is an unlabeled pool
  (``Dataset.y is None``). A ``label=`` column that is missing is an error.
- ids: ``id_col=`` or a column ``id``; groups: ``group_col=`` or a column ``group``.
- features: ``features=[...]`` or every other numeric column; a column holding
  lists/arrays of numbers (an ``embedding``) is expanded into one feature per item.
- every other column (text, dates, metadata) is kept in ``Dataset.extra``.

Row numbers in messages count data rows from 0, as :meth:`Dataset.subset` does.
"""

from __future__ import annotations

import difflib
import gzip
import json
import numbers
import os
import secrets
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from ..dataset import Dataset

__all__ = [
    "SUPPORTED",
    "check_out_path",
    "from_table",
    "read_embeddings",
    "read_path",
    "read_scores",
    "read_shard",
    "shard_files",
    "shard_rows",
    "write_table",
]

LABEL_DEFAULTS = ("label", "y", "target")
ID_DEFAULT = "id"
GROUP_DEFAULT = "group"

_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".npz": "npz",
}
_GZIP_OK = {"csv", "tsv", "jsonl"}
SUPPORTED = ".csv, .tsv, .parquet, .jsonl, .ndjson, .npz (.csv/.tsv/.jsonl/.ndjson may add .gz), or a folder of shards in one of these table formats, or a folder of images (one subfolder per class)"
_WRITE_SUFFIXES = (".parquet", ".csv", ".tsv", ".jsonl")

# np.savez key names, tried in order.
_NPZ_X = ("X", "x", "features")
_NPZ_Y = ("y", "labels", "label", "Y", "target")
_NPZ_IDS = ("ids", "id")
_NPZ_GROUPS = ("groups", "group")

PathLike = str | os.PathLike[str]


# --------------------------------------------------------------------------- public


def read_path(
    path: PathLike,
    *,
    label: str | None = None,
    id_col: str | None = None,
    group_col: str | None = None,
    features: Sequence[str] | None = None,
    image_size: Sequence[int] | None = None,
    image_mode: str | None = None,
) -> Dataset:
    """Read a data file, a folder of table shards or a folder of images into a validated Dataset.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.csv``, ``.tsv``, ``.parquet``, ``.jsonl``/``.ndjson`` or ``.npz`` file, or a
        folder, read by what it holds: table shards (:func:`shard_files`; ``key=value``
        folders become columns), or images in one subfolder per class
        (:func:`datafactors.io.images.read_image_folder`). A folder holding both, or
        neither, is an error.
    label : str, optional
        Label column (for ``.npz``: array name). Default (None): ``label``, ``y`` or ``target``
        if present, else the data load as an unlabeled pool (``ds.y is None``).
    id_col : str, optional
        Column of unique example ids (``.npz``: ``ids``). Default: ``id`` if present.
    group_col : str, optional
        Column of group keys (``.npz``: ``groups``). Default: ``group`` if present.
    features : sequence of str, optional
        Feature columns (``.npz``: array names). Default: every other numeric column,
        list-of-number columns expanded; for ``.npz`` the array ``X``.
    image_size : (height, width), optional
        For a folder of images: resize every image to this size. ConfigError for other data.
    image_mode : "auto", "L" or "RGB", optional
        For a folder of images: the colour mode (default "auto"). ConfigError for other data.

    Returns
    -------
    Dataset
        ``name`` is the file name; text and other unused columns are in ``extra``.

    Raises
    ------
    DataError
        One message naming the file, the column and what was expected.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> frame = pd.DataFrame({"id": [1, 2], "x": [0.5, 1.5], "label": ["a", "b"]})
    >>> p = write_table(frame, os.path.join(d, "toy.csv"))
    >>> ds = read_path(p)
    >>> ds.name, ds.n, ds.class_names
    ('toy.csv', 2, ['a', 'b'])
    """
    try:
        p = Path(os.fspath(path)).expanduser()
    except TypeError:
        raise DataError(f"path must be a str or os.PathLike, got {type(path).__name__} {path!r}") from None
    if not p.exists():
        raise DataError(_not_found(p))
    name = p.name or str(p)
    images = p.is_dir() and _folder_kind(p) == "images"
    if not images and (image_size is not None or image_mode is not None):
        key = "image_size" if image_size is not None else "image_mode"
        raise ConfigError(f"{key} applies to a folder of images; {p} is not one")
    if images:
        from .images import read_image_folder

        given = {"label": label, "id_col": id_col, "group_col": group_col, "features": features}
        for key, value in given.items():
            if value is not None:
                raise DataError(
                    f"{key}={value!r} applies to tables; the folder of images {p} takes its labels from its "
                    "class subfolders, its ids from the image paths and its features from the pixels"
                )
        return read_image_folder(p, size=image_size, mode=image_mode or "auto")
    if p.is_dir():
        frame = _read_folder(p)
        return _frame_to_dataset(frame, name=name, label=label, id_col=id_col, group_col=group_col, features=features)
    fmt, compression = _format_of(p)
    if not os.access(p, os.R_OK):
        raise DataError(f"cannot read {p}: permission denied")
    if p.stat().st_size == 0:
        raise DataError(f"file is empty: {p} (0 bytes)")
    if fmt == "npz":
        return _read_npz(p, label=label, id_col=id_col, group_col=group_col, features=features)
    if fmt == "parquet":
        frame = read_parquet_file(p)
    elif fmt == "jsonl":
        frame = _read_jsonl(p, compression)
    else:
        frame = _read_delimited(p, "\t" if fmt == "tsv" else ",", compression)
    return _frame_to_dataset(frame, name=name, label=label, id_col=id_col, group_col=group_col, features=features)


def from_table(
    obj: Any,
    *,
    label: str | None = None,
    id_col: str | None = None,
    group_col: str | None = None,
    features: Sequence[str] | None = None,
    name: str = "table",
) -> Dataset:
    """Build a validated Dataset from an in-memory table.

    Accepts a ``pandas.DataFrame``, ``pyarrow.Table``/``RecordBatch``,
    ``polars.DataFrame``/``LazyFrame``, a Hugging Face ``datasets.Dataset`` (its
    ``ClassLabel`` names become ``class_names``), or any object with ``to_pandas()``
    or the ``__dataframe__`` interchange protocol. Column rules are those of
    :func:`read_path`; a named pandas index (e.g. after ``set_index("id")``) counts
    as a column.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": [0, 1, 1], "note": ["a", "b", "c"]})
    >>> ds = from_table(frame, name="toy")
    >>> ds.X.shape, list(ds.extra.columns)
    ((3, 1), ['note'])
    """
    frame, class_names_by_col = _table_to_pandas(obj, name)
    return _frame_to_dataset(
        frame,
        name=name,
        label=label,
        id_col=id_col,
        group_col=group_col,
        features=features,
        class_names_by_col=class_names_by_col,
    )


def write_table(frame: pd.DataFrame, path: PathLike) -> Path:
    """Write ``frame`` to ``.parquet``, ``.csv``, ``.tsv`` or ``.jsonl`` atomically.

    The data goes to a hidden temporary file in the target folder and is moved into
    place with ``os.replace``, so a reader never sees a half-written file. A named
    index is written as a column; a default range index is dropped. CSV/TSV cannot
    hold list columns (they are written as text); use Parquet or JSONL for those.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    DataError
        If the folder does not exist or is not writable, the extension is not one
        of the above, or the frame cannot be stored in that format.
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"write_table needs a pandas.DataFrame, got {_type_name(frame)}")
    try:
        p = Path(os.fspath(path)).expanduser()
    except TypeError:
        raise DataError(f"path must be a str or os.PathLike, got {type(path).__name__} {path!r}") from None
    suffix = p.suffix.lower()
    if suffix not in _WRITE_SUFFIXES:
        raise DataError(
            f"cannot write {p}: unknown extension {suffix or '(none)'!r}; write_table supports {', '.join(_WRITE_SUFFIXES)}"
        )
    folder = p.parent
    if not folder.exists():
        raise DataError(f"cannot write {p}: folder {folder} does not exist")
    if not folder.is_dir():
        raise DataError(f"cannot write {p}: {folder} is not a folder")
    if p.is_dir():
        raise DataError(f"cannot write {p}: a folder of that name exists")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DataError(f"cannot write {p}: folder {folder} is not writable")
    if _has_named_index(frame):
        frame = frame.reset_index()
    # A plain (non-mkstemp) name so the final file gets the usual umask permissions.
    tmp = folder / f".{p.name}.{secrets.token_hex(6)}.tmp"
    try:
        if suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        elif suffix in (".csv", ".tsv"):
            frame.to_csv(tmp, index=False, sep="\t" if suffix == ".tsv" else ",")
        else:
            frame.to_json(tmp, orient="records", lines=True, date_format="iso", force_ascii=False)
        os.replace(tmp, p)
    except PermissionError:
        raise DataError(f"cannot write {p}: permission denied") from None
    except OSError as e:
        raise DataError(f"cannot write {p}: {e.strerror or _first_line(e)}") from None
    except (ValueError, TypeError, _arrow_error()) as e:
        raise DataError(f"cannot write {p} as {suffix[1:]}: {_first_line(e)}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return p


def read_scores(path: PathLike) -> pd.DataFrame:
    """A scores Parquet table (as ``datafactors score`` writes it), ids as strings.

    Returns
    -------
    pandas.DataFrame
        One row per example: an ``id`` column (str) and one column per score.

    Raises
    ------
    DataError
        If the file is missing, cannot be read as Parquet or has no ``id`` column.

    Examples
    --------
    >>> sc = read_scores("scores.parquet")  # doctest: +SKIP
    """
    p = Path(os.fspath(path))
    if not p.is_file():
        raise DataError(f"scores file not found: {p}")
    try:
        frame = pd.read_parquet(p)
    except Exception as e:  # pyarrow raises many types for corrupt files
        raise DataError(f"cannot read scores file {p}: {type(e).__name__}") from None
    if "id" not in frame.columns:
        raise DataError(f"scores file {p} has no 'id' column; columns are: {name_list(list(frame.columns))}")
    frame["id"] = frame["id"].astype(str)
    return frame


def read_embeddings(path: PathLike, ds: Dataset) -> np.ndarray:
    """Vectors for the rows of ``ds``: ``.npy`` in row order, or ``.parquet`` aligned by its ``id`` column.

    A Parquet file without an ``id`` column is taken in row order. Its numeric
    columns are the vector's dimensions.

    Returns
    -------
    ndarray of shape (ds.n, d), float32

    Raises
    ------
    DataError
        If the file is missing, corrupt, of another format, lacks ids of ``ds``,
        has no numeric columns or does not hold ``ds.n`` rows.
    """
    p = Path(os.fspath(path))
    if not p.is_file():
        raise DataError(f"embeddings file not found: {p}")
    suffix = p.suffix.lower()
    if suffix == ".npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise DataError(f"cannot read embeddings file {p}: {_first_line(e)}") from None
    elif suffix == ".parquet":
        try:
            frame = pd.read_parquet(p)
        except Exception as e:  # pyarrow raises many types for corrupt files
            raise DataError(f"cannot read embeddings file {p}: {type(e).__name__}") from None
        if "id" in frame.columns:
            frame = frame.assign(id=frame["id"].astype(str)).set_index("id")
            wanted = pd.Index(ds.ids.astype(str))
            missing = wanted.difference(frame.index)
            if len(missing):
                raise DataError(f"embeddings file {p} lacks {len(missing)} ids of the data, e.g. {missing[0]!r}")
            frame = frame.loc[wanted]
        numeric = frame.select_dtypes("number")
        if numeric.shape[1] == 0:
            raise DataError(f"embeddings file {p} has no numeric columns")
        arr = numeric.to_numpy(dtype=np.float32)
    else:
        raise DataError(f"embeddings file {p} must be .npy or .parquet, got {suffix or 'no suffix'!r}")
    if arr.ndim != 2 or len(arr) != ds.n:
        raise DataError(f"embeddings file {p} must hold a ({ds.n}, d) array to match the data, got {arr.shape}")
    if arr.dtype.kind not in "fiub":
        raise DataError(f"embeddings file {p} must hold numbers, got dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.float32)


def check_out_path(path: PathLike, suffix: str, *, flag: str = "--out") -> Path:
    """Check that a file ending in ``suffix`` can be written at ``path`` before any work starts.

    Raises
    ------
    DataError
        Naming ``flag`` and the path, if the suffix differs, the path is a folder, or
        its folder is missing, a file or not writable.
    """
    p = Path(os.fspath(path))
    if p.suffix.lower() != suffix:
        raise DataError(f"{flag} {p} must end in {suffix}")
    if p.is_dir():
        raise DataError(f"{flag} {p} is a folder; give a file name")
    folder = p.parent
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{flag} {p}: {folder} is a file, not a folder")
    if not folder.exists():
        raise DataError(f"{flag} {p}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise DataError(f"{flag} {p}: folder {folder} is not writable")
    return p


# --------------------------------------------------------------------------- files


def read_frame(path: PathLike, *, what: str = "a table") -> pd.DataFrame:
    """Every column of a table file (or a folder of Parquet shards) as a DataFrame, unvalidated.

    For readers that need the raw columns (a text column to embed, rows to export);
    errors as :func:`read_path` gives them (file not found, empty, bad UTF-8 with the line).
    """
    p = Path(os.fspath(path)).expanduser()
    if not p.exists():
        raise DataError(_not_found(p))
    if p.is_dir():
        if _folder_kind(p) == "images":
            raise DataError(f"{what} is needed; {p} is a folder of images")
        return pd.DataFrame(_read_folder(p))
    fmt, compression = _format_of(p)
    if fmt == "npz":
        raise DataError(f"{what} is needed; {p} is an .npz archive")
    if p.stat().st_size == 0:
        raise DataError(f"file is empty: {p} (0 bytes)")
    if fmt == "parquet":
        return pd.DataFrame(read_parquet_file(p))
    if fmt == "jsonl":
        return pd.DataFrame(_read_jsonl(p, compression))
    return pd.DataFrame(_read_delimited(p, "\t" if fmt == "tsv" else ",", compression))


def _folder_kind(folder: Path) -> str:
    """What a folder holds: ``"shards"`` (table files) or ``"images"``; DataError for both or neither.

    Paths with a part starting with ``_`` or ``.`` are skipped, as :func:`shard_files` does.
    """
    from .images import IMAGE_SUFFIXES, is_image_file

    shards, images = [], []
    for q in sorted(folder.rglob("*")):
        rel = q.relative_to(folder)
        if any(part.startswith(("_", ".")) for part in rel.parts) or not q.is_file():
            continue
        if _shard_format(q) is not None:
            shards.append(rel)
        elif is_image_file(q):
            images.append(rel)
    if shards and images:
        raise DataError(
            f"folder {folder} holds both table shards ({len(shards)}, e.g. {shards[0].as_posix()}) and images "
            f"({len(images)}, e.g. {images[0].as_posix()}); a folder is read as one or the other, "
            "so keep the shards and the images in separate folders"
        )
    if shards:
        return "shards"
    if images:
        return "images"
    listing = sorted(q.name for q in folder.iterdir())[:8]
    held = f" (it holds: {', '.join(listing)})" if listing else " (it is empty)"
    raise DataError(
        f"folder {folder} holds no .parquet, .jsonl, .csv or .tsv shards and no images "
        f"({', '.join(IMAGE_SUFFIXES)}, in one subfolder per class){held}"
    )


def _not_found(p: Path) -> str:
    msg = f"file not found: {p}"
    parent = p.parent
    if not parent.exists():
        return f"{msg} (folder {parent} does not exist)"
    try:
        siblings = [q.name for q in parent.iterdir()]
    except OSError:
        return msg
    close = difflib.get_close_matches(p.name, siblings, n=3, cutoff=0.6)
    if close:
        msg += f"; did you mean {', '.join(repr(c) for c in close)}?"
    return msg


def _format_of(p: Path) -> tuple[str, str | None]:
    suffixes = [s.lower() for s in p.suffixes]
    compression = None
    if suffixes and suffixes[-1] == ".gz":
        compression = "gzip"
        suffixes = suffixes[:-1]
    fmt = _FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None or (compression and fmt not in _GZIP_OK):
        ext = "".join(p.suffixes[-2:] if compression else p.suffixes[-1:]) or "(none)"
        raise DataError(f"cannot read {p}: unknown file extension {ext!r}; supported: {SUPPORTED}")
    return fmt, compression


def _not_utf8(p: Path, compression: str | None) -> str:
    """The message for a text file that is not UTF-8: the first bad line, column and byte."""
    opener: Callable[..., Any] = gzip.open if compression == "gzip" else open
    try:
        with opener(p, "rb") as fh:
            for lineno, raw in enumerate(fh, 1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    return (
                        f"cannot read {p}: not UTF-8 text (invalid byte {raw[e.start]:#04x} on line {lineno}, "
                        f"byte {e.start + 1} of the line); save it as UTF-8"
                    )
    except (OSError, EOFError, zlib.error):
        pass
    return f"cannot read {p}: not UTF-8 text; save it as UTF-8"


def _read_delimited(p: Path, sep: str, compression: str | None) -> pd.DataFrame:
    kind = "TSV" if sep == "\t" else "CSV"
    try:
        return pd.read_csv(p, sep=sep, compression=compression, low_memory=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"file is empty: {p} (no header row)") from None
    except pd.errors.ParserError as e:
        raise DataError(f"cannot parse {p} as {kind}: {_first_line(e)}") from None
    except UnicodeDecodeError:
        raise DataError(_not_utf8(p, compression)) from None
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"cannot read {p}: {_first_line(e)}") from None


def _read_jsonl(p: Path, compression: str | None, *, allow_empty: bool = False) -> pd.DataFrame:
    records: list[dict[str, Any]] = []
    opener: Callable[..., Any] = gzip.open if compression == "gzip" else open
    try:
        with opener(p, "rt", encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                text = line.strip()
                if not text:
                    continue
                try:
                    rec = json.loads(text)
                except json.JSONDecodeError as e:
                    raise DataError(
                        f"invalid JSON on line {lineno} of {p}: {e.msg} at column {e.colno}: {_short(text, 60)}"
                    ) from None
                if not isinstance(rec, dict):
                    raise DataError(
                        f"line {lineno} of {p} is a JSON {type(rec).__name__}, expected an object like "
                        '{"label": ..., "x1": ...}'
                    )
                records.append(rec)
    except UnicodeDecodeError:
        raise DataError(_not_utf8(p, compression)) from None
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"cannot read {p}: {_first_line(e)}") from None
    if not records and not allow_empty:
        raise DataError(f"file is empty: {p} (no JSON lines)")
    return pd.DataFrame.from_records(records)


def _arrow_error() -> type[Exception]:
    import pyarrow as pa

    return pa.ArrowException


def read_parquet_file(p: Path, *, shard_of: Path | None = None) -> Any:
    import pyarrow.parquet as pq

    what = f"shard {p} of {shard_of}" if shard_of else str(p)
    if shard_of is not None and p.stat().st_size == 0:
        raise DataError(f"cannot read {what}: file is empty (0 bytes)")
    try:
        table = pq.read_table(p)
    except (_arrow_error(), OSError) as e:
        raise DataError(f"cannot read {what}: not a valid Parquet file ({_first_line(e)})") from None
    return table if shard_of is not None else arrow_to_pandas(table, str(p))


def _shard_format(q: Path) -> str | None:
    """The table format of a shard file (``parquet``, ``jsonl``, ``csv``, ``tsv``), or None for other files."""
    try:
        fmt, _ = _format_of(q)
    except DataError:
        return None
    return None if fmt == "npz" else fmt


def shard_files(folder: PathLike) -> list[Path]:
    """The data shards of ``folder``, in the order their rows are read: sorted relative paths.

    A shard is a ``.parquet``, ``.jsonl`` / ``.ndjson``, ``.csv`` or ``.tsv`` file (the text
    formats may add ``.gz``) below ``folder``; a path with a part starting with ``_`` or
    ``.`` is not data (``_SUCCESS``, ``.crc``, hidden folders), as for Spark and pyarrow
    datasets, and other files (``README.md``) are ignored. One folder holds one format:
    Parquet and JSONL shards mixed are refused, naming one of each.
    """
    root = Path(os.fspath(folder)).expanduser()
    if not root.is_dir():
        raise DataError(f"{root} is not a folder of shards")

    def visible(q: Path) -> bool:
        return not any(part.startswith(("_", ".")) for part in q.relative_to(root).parts)

    found = sorted((q for q in root.rglob("*") if q.is_file() and visible(q)), key=lambda q: q.relative_to(root).parts)
    shards = [(q, f) for q in found if (f := _shard_format(q)) is not None]
    if not shards:
        listing = sorted(q.name for q in root.iterdir())[:8]
        held = f" (it holds: {', '.join(listing)})" if listing else " (it is empty)"
        raise DataError(f"folder {root} holds no .parquet, .jsonl, .csv or .tsv files{held}")
    formats = {}
    for q, f in shards:
        formats.setdefault(f, q)
    if len(formats) > 1:
        shown = ", ".join(f"{f} ({q.relative_to(root).as_posix()})" for f, q in formats.items())
        raise DataError(f"folder {root} mixes shard formats: {shown}; keep one format per folder")
    return [q for q, _ in shards]


def _hive_columns(frame: pd.DataFrame, rel: Path) -> pd.DataFrame:
    """Hive-style ``key=value`` folders of a shard as constant string columns (e.g. group=3/part-0.parquet)."""
    for part in rel.parts[:-1]:
        key, sep, value = part.partition("=")
        if sep and key and key not in frame.columns:
            frame[key] = pd.Series([value] * len(frame), dtype=object)
    return frame


def read_shard(folder: PathLike, shard: PathLike, *, hive: bool = True) -> pd.DataFrame:
    """Every column of one shard of ``folder``, plus (``hive``) its ``key=value`` folder columns, unvalidated.

    An empty text shard (0 bytes or blank lines only) is a table of no rows, so a folder
    written by ``--export`` (which writes an empty shard where nothing was kept) reads back;
    an empty Parquet file is corrupt and raises DataError.
    """
    root, q = Path(os.fspath(folder)), Path(os.fspath(shard))
    fmt, compression = _format_of(q)
    rel = q.relative_to(root)
    if fmt == "parquet":
        frame = arrow_to_pandas(read_parquet_file(q, shard_of=root), f"shard {q} of {root}")
    elif q.stat().st_size == 0:
        frame = pd.DataFrame()
    elif fmt == "jsonl":
        frame = _read_jsonl(q, compression, allow_empty=True)
    else:
        frame = _read_delimited(q, "\t" if fmt == "tsv" else ",", compression)
    return _hive_columns(frame, rel) if hive else frame


def shard_rows(shard: PathLike) -> int:
    """Rows of one shard without building its table (the Parquet footer; non-blank JSONL lines; CSV records)."""
    q = Path(os.fspath(shard))
    fmt, compression = _format_of(q)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        if q.stat().st_size == 0:
            raise DataError(f"cannot read shard {q}: file is empty (0 bytes)")
        try:
            return int(pq.ParquetFile(q).metadata.num_rows)
        except Exception as e:  # pyarrow raises several types for a corrupt footer
            raise DataError(f"cannot read shard {q}: not a valid Parquet file ({_first_line(e)})") from None
    if q.stat().st_size == 0:
        return 0
    if fmt == "jsonl":
        opener: Callable[..., Any] = gzip.open if compression == "gzip" else open
        try:
            with opener(q, "rb") as fh:
                return sum(1 for line in fh if line.strip())
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"cannot read shard {q}: {_first_line(e)}") from None
    return len(_read_delimited(q, "\t" if fmt == "tsv" else ",", compression))


def _read_folder(folder: Path) -> pd.DataFrame:
    """Every row of a folder of shards (:func:`shard_files`), in shard order."""
    import pyarrow as pa

    shards = shard_files(folder)
    if _shard_format(shards[0]) != "parquet":
        frames = [read_shard(folder, q) for q in shards]
        frames = [f for f in frames if len(f.columns)] or frames[:1]
        frame = pd.concat(frames, ignore_index=True, sort=False)
        if frame.empty:
            raise DataError(f"folder {folder} has no rows (every shard is empty)")
        return frame
    tables = []
    for shard in shards:
        table = read_parquet_file(shard, shard_of=folder)
        # Hive-style key=value folders become constant columns (e.g. group=3/part-0.parquet).
        for part in shard.relative_to(folder).parts[:-1]:
            key, sep, value = part.partition("=")
            if sep and key and key not in table.column_names:
                table = table.append_column(key, pa.array([value] * table.num_rows, pa.string()))
        tables.append(table)
    try:
        table = pa.concat_tables(tables, promote_options="default")
    except (pa.ArrowException, ValueError) as e:
        raise DataError(
            f"cannot combine the {len(shards)} Parquet shards in {folder}: {_first_line(e)} "
            f"(do all shards share one schema?)"
        ) from None
    return arrow_to_pandas(table, str(folder))


def arrow_to_pandas(table: Any, where: str) -> pd.DataFrame:
    try:
        return table.to_pandas()
    except (_arrow_error(), ValueError, TypeError) as e:
        raise DataError(f"cannot convert {where} to a table of columns: {_first_line(e)}") from None


def _read_npz(
    p: Path,
    *,
    label: str | None,
    id_col: str | None,
    group_col: str | None,
    features: Sequence[str] | None,
) -> Dataset:
    name = p.name
    if not zipfile.is_zipfile(p):
        raise DataError(
            f"cannot read {p}: not a valid .npz archive (not a zip file: truncated, or written by np.save "
            "instead of np.savez?)"
        )
    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(p, allow_pickle=False) as archive:
            for key in archive.files:
                try:
                    arrays[key] = archive[key]
                except ValueError as e:
                    if "allow_pickle" in str(e):
                        raise DataError(
                            f"array {key!r} in {p} holds Python objects (dtype=object); .npz files are read "
                            "without unpickling, so save strings as a str array (np.asarray(values, dtype=str))"
                        ) from None
                    raise DataError(f"cannot read array {key!r} in {p}: {_first_line(e)}") from None
    except DataError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error, ValueError) as e:
        raise DataError(f"cannot read {p}: corrupt .npz archive ({_first_line(e)})") from None
    if not arrays:
        raise DataError(f"{p} holds no arrays; save with np.savez(path, X=features, y=labels)")

    def pick(explicit: str | None, defaults: tuple[str, ...], what: str) -> str | None:
        if explicit is not None:
            if str(explicit) not in arrays:
                raise DataError(_missing_message(f"{what} array", str(explicit), list(arrays), name, noun="arrays"))
            return str(explicit)
        return next((k for k in defaults if k in arrays), None)

    yk = pick(label, _NPZ_Y, "label")  # None: an unlabeled pool
    if features is not None:
        fkeys = _feature_names_arg(features)
        for k in fkeys:
            if k not in arrays:
                raise DataError(_missing_message("feature array", k, list(arrays), name, noun="arrays"))
    else:
        xk = next((k for k in _NPZ_X if k in arrays), None)
        if xk is None:
            raise DataError(
                f"no feature array in {name}: looked for {name_list(_NPZ_X)}; arrays are: {name_list(arrays)}. "
                "Pass features=['<array>'] or save with np.savez(path, X=..., y=...)"
            )
        fkeys = [xk]
    ik = pick(id_col, _NPZ_IDS, "id")
    gk = pick(group_col, _NPZ_GROUPS, "group")
    _check_distinct({"label": yk, "id_col": ik, "group_col": gk}, fkeys, name, noun="array")

    blocks = []
    n: int | None = None
    for k in fkeys:
        a = arrays[k]
        if a.ndim == 0:
            raise DataError(
                f"array {k!r} in {name} is a single value (shape ()); expected features of shape (n_samples, n_features)"
            )
        if a.dtype.kind not in "biuf":
            raise DataError(f"array {k!r} in {name} is not numeric (dtype {a.dtype}); features must be numbers")
        if n is None:
            n = a.shape[0]
        elif a.shape[0] != n:
            raise DataError(f"array {k!r} in {name} has {a.shape[0]} rows but {fkeys[0]!r} has {n}")
        # Images and other (n, h, w, ...) arrays become one feature per element.
        blocks.append(a.reshape(a.shape[0], -1))
    assert n is not None
    if n == 0:
        raise DataError(f"{name} has no rows (array {fkeys[0]!r} has shape {arrays[fkeys[0]].shape})")

    def column(k: str, role: str) -> pd.Series:
        a = arrays[k]
        if a.ndim != 1 or a.shape[0] != n:
            hint = (
                " (one-hot labels? pass y.argmax(axis=1))"
                if role == "label" and a.ndim == 2 and a.shape[0] == n
                else ""
            )
            raise DataError(
                f"{role} array {k!r} in {name} has shape {a.shape}, expected ({n},) to match the features{hint}"
            )
        return pd.Series(a)

    ids = id_values(column(ik, "id"), ik, name, "array") if ik else None
    y = _label_values(column(yk, "label"), yk, name, "array", ids) if yk else None
    groups = _group_values(column(gk, "group"), gk, name, "array", ids) if gk else None
    used = {yk, ik, gk, *fkeys}
    rest = {k: a for k, a in arrays.items() if k not in used and a.ndim == 1 and a.shape[0] == n}
    extra = pd.DataFrame(rest) if rest else None
    X = np.hstack(blocks) if len(blocks) > 1 else blocks[0]
    return Dataset.from_arrays(X, y, ids, groups, extra=extra, name=name)


# --------------------------------------------------------------------------- tables


def _type_name(obj: Any) -> str:
    t = type(obj)
    mod = t.__module__
    return t.__qualname__ if mod == "builtins" else f"{mod}.{t.__qualname__}"


def _table_to_pandas(obj: Any, name: str) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    if isinstance(obj, pd.DataFrame):
        return obj, {}
    expected = "a pandas.DataFrame, pyarrow.Table, polars.DataFrame or datasets.Dataset"
    if isinstance(obj, pd.Series):
        raise DataError(f"{name} is a pandas.Series; expected {expected} (try series.to_frame())")
    if isinstance(obj, (str, os.PathLike)):
        raise DataError(f"{name} is a path ({obj!s}); use read_path for files")
    mod = type(obj).__module__ or ""
    if mod.startswith("pyarrow"):
        import pyarrow as pa

        if isinstance(obj, (pa.Table, pa.RecordBatch)):
            return arrow_to_pandas(obj, name), {}
    if mod.startswith("polars"):
        try:
            import polars as pl
        except ImportError:
            pass  # no polars here: obj.to_pandas() below still works by duck typing
        else:
            if isinstance(obj, pl.LazyFrame):
                obj = obj.collect()
    columns = getattr(obj, "column_names", None)
    if isinstance(columns, dict):  # a datasets.DatasetDict: one table per split
        raise DataError(
            f"{name} holds several splits ({name_list(columns)}); pass one of them, e.g. obj[{next(iter(columns), 'train')!r}]"
        )
    if not hasattr(obj, "to_pandas") and not hasattr(obj, "__dataframe__"):
        raise DataError(f"cannot read {name}: got {_type_name(obj)}; expected {expected}")
    try:
        frame = obj.to_pandas() if hasattr(obj, "to_pandas") else pd.api.interchange.from_dataframe(obj)
    except Exception as e:  # foreign code: any failure becomes one readable message
        raise DataError(f"cannot convert {name} ({_type_name(obj)}) to pandas: {_first_line(e)}") from None
    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            f"cannot read {name}: {_type_name(obj)}.to_pandas() returned {_type_name(frame)}, not a DataFrame"
        )
    return frame, (_hf_class_names(obj) if isinstance(columns, list) else {})


def _hf_class_names(obj: Any) -> dict[str, list[str]]:
    """ClassLabel names of a Hugging Face dataset, by column (duck-typed)."""
    feats = getattr(obj, "features", None)
    out: dict[str, list[str]] = {}
    if not hasattr(feats, "items"):
        return out
    for col, feat in feats.items():
        names = getattr(feat, "names", None)
        if isinstance(names, list) and names and all(isinstance(s, str) for s in names):
            out[str(col)] = names
    return out


# --------------------------------------------------------------------------- column rules


def _frame_to_dataset(
    frame: pd.DataFrame,
    *,
    name: str,
    label: str | None,
    id_col: str | None,
    group_col: str | None,
    features: Sequence[str] | None,
    class_names_by_col: dict[str, list[str]] | None = None,
) -> Dataset:
    frame = normalize_frame(frame, name)
    cols = list(frame.columns)
    if len(cols) == 0:
        raise DataError(f"{name} has no columns")
    if len(frame) == 0:
        raise DataError(f"{name} has no rows (columns: {name_list(cols)})")
    lab = resolve_column(cols, label, LABEL_DEFAULTS, "label", name)  # None: an unlabeled pool
    idc = resolve_column(cols, id_col, (ID_DEFAULT,), "id", name)
    grp = resolve_column(cols, group_col, (GROUP_DEFAULT,), "group", name)
    feature_arg = _feature_names_arg(features) if features is not None else None
    _check_distinct({"label": lab, "id_col": idc, "group_col": grp}, feature_arg or [], name, noun="column")

    class_names = (class_names_by_col or {}).get(lab) if lab else None
    ids = id_values(frame[idc], idc, name, "column") if idc else None
    y = _label_values(frame[lab], lab, name, "column", ids, class_names) if lab else None
    groups = _group_values(frame[grp], grp, name, "column", ids) if grp else None
    used = {c for c in (lab, idc, grp) if c}

    blocks: list[np.ndarray] = []
    feature_cols: list[str] = []
    if feature_arg is not None:
        for c in feature_arg:
            if c not in cols:
                raise DataError(_missing_message("feature column", c, cols, name))
        for c in feature_arg:
            block = feature_block(frame[c], c, name, explicit=True)
            assert block is not None
            blocks.append(block)
            feature_cols.append(c)
        if not blocks:
            raise DataError(f"features=[] selects no columns in {name}; columns are: {name_list(cols)}")
    else:
        skipped: list[str] = []
        for c in cols:
            if c in used:
                continue
            block = feature_block(frame[c], c, name, explicit=False)
            if block is None:
                skipped.append(c)
            else:
                blocks.append(block)
                feature_cols.append(c)
        if not blocks:
            shown = ", ".join(f"{c!r} ({_not_numeric_example(frame[c])})" for c in skipped[:3])
            verb = "is" if len(skipped) == 1 else "are"
            why = f": {shown}{' ...' if len(skipped) > 3 else ''} {verb} not numeric" if skipped else ""
            raise DataError(
                f"no numeric feature columns in {name}{why}; columns are: {name_list(cols)}. "
                "Encode text as numbers first or pass features=[...]"
            )
    for c, block in zip(feature_cols, blocks, strict=True):
        check_finite(block, c, name, ids)

    leftover = [c for c in cols if c not in used and c not in feature_cols]
    extra = frame[leftover].reset_index(drop=True) if leftover else None
    X = np.hstack(blocks) if len(blocks) > 1 else blocks[0]
    return Dataset.from_arrays(
        X,
        y,
        ids,
        groups,
        extra=extra,
        class_names=class_names,
        name=name,
        feature_columns=feature_cols,
        left_out_columns=leftover,
        label_column=lab,
    )


def _has_named_index(frame: pd.DataFrame) -> bool:
    return any(n is not None for n in frame.index.names)


def normalize_frame(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    if _has_named_index(frame) and not any(str(n) in map(str, frame.columns) for n in frame.index.names):
        frame = frame.reset_index()
    frame = frame.set_axis([str(c) for c in frame.columns], axis=1).reset_index(drop=True)
    dup = frame.columns[frame.columns.duplicated()].unique().tolist()
    if dup:
        raise DataError(f"column names in {name} are not unique; duplicated: {name_list(dup)}")
    return frame


def resolve_column(
    cols: list[str], explicit: str | None, defaults: tuple[str, ...], role: str, name: str
) -> str | None:
    if explicit is not None:
        explicit = str(explicit)
        if explicit not in cols:
            raise DataError(_missing_message(f"{role} column", explicit, cols, name))
        return explicit
    for d in defaults:
        if d in cols:
            return d
    lower = {c.lower(): c for c in cols}
    return next((lower[d] for d in defaults if d in lower), None)


def _feature_names_arg(features: Any) -> list[str]:
    if isinstance(features, str):
        features = [features]
    try:
        names = [str(f) for f in features]
    except TypeError:
        raise DataError(f"features must be a list of column names, got {features!r}") from None
    dup = sorted({f for f in names if names.count(f) > 1})
    if dup:
        raise DataError(f"features lists {name_list(dup)} more than once")
    return names


def _check_distinct(roles: dict[str, str | None], features: list[str], name: str, *, noun: str) -> None:
    seen: dict[str, str] = {}
    for option, col in roles.items():
        if col is None:
            continue
        if col in seen:
            raise DataError(f"{seen[col]} and {option} both name {noun} {col!r} in {name}; they must differ")
        seen[col] = option
        if col in features:
            raise DataError(f"features=[...] includes {noun} {col!r} in {name}, which is the {option}; leave it out")


def _missing_message(what: str, col: str, cols: Sequence[str], name: str, *, noun: str = "columns") -> str:
    msg = f"{what} {col!r} not found in {name}"
    close = difflib.get_close_matches(col, list(cols), n=1, cutoff=0.6)
    lower = [c for c in cols if c.lower() == col.lower()]
    guess = lower[0] if lower else (close[0] if close else None)
    if guess is not None:
        msg += f" (did you mean {guess!r}?)"
    return f"{msg}; {noun} are: {name_list(cols)}"


def _row(r: int, ids: np.ndarray | None) -> str:
    return f"row {r}" if ids is None else f"row {r}, id {_show(ids[r])}"


def _first_missing(s: pd.Series, col: str, name: str, role: str, noun: str, ids: np.ndarray | None) -> None:
    miss = s.isna().to_numpy()
    if miss.any():
        r = int(np.argmax(miss))
        k = int(miss.sum())
        raise DataError(
            f"{role} {noun} {col!r} in {name} has {k} missing value{'s' if k > 1 else ''} "
            f"(first at {_row(r, ids)}); every example needs one"
        )


def _is_numeric(s: pd.Series) -> bool:
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype) or pd.api.types.is_complex_dtype(dt):
        return False
    return bool(pd.api.types.is_bool_dtype(dt) or pd.api.types.is_numeric_dtype(dt))


def _objects(s: pd.Series) -> np.ndarray:
    return np.asarray(
        s.astype(object) if isinstance(s.dtype, pd.CategoricalDtype) else s.to_numpy(dtype=object), dtype=object
    )


def _integral(
    s: pd.Series, col: str, name: str, role: str, noun: str, ids: np.ndarray | None, expected: str
) -> np.ndarray:
    """Numbers of a numeric column as int64, or a DataError naming a non-integer."""
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.to_numpy(dtype=np.int64)
    f = s.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(f)
    if bad.any():
        r = int(np.argmax(bad))
        raise DataError(f"{role} {noun} {col!r} in {name} holds {f[r]} at {_row(r, ids)}; expected {expected}")
    frac = f != np.round(f)
    if frac.any():
        r = int(np.argmax(frac))
        raise DataError(
            f"{role} {noun} {col!r} in {name} holds non-integer numbers (e.g. {f[r]} at {_row(r, ids)}); expected {expected}"
        )
    return f.astype(np.int64)


def _no_containers(values: np.ndarray, col: str, name: str, role: str, noun: str, ids: np.ndarray | None) -> None:
    for r, v in enumerate(values):
        if isinstance(v, (list, tuple, dict, set, np.ndarray)):
            raise DataError(
                f"{role} {noun} {col!r} in {name} holds a {type(v).__name__} at {_row(r, ids)} ({_short(v)}); expected one value per row"
            )


def id_values(s: pd.Series, col: str, name: str, noun: str) -> np.ndarray:
    _first_missing(s, col, name, "id", noun, None)
    if _is_numeric(s) and not pd.api.types.is_bool_dtype(s.dtype):
        ids = _integral(s, col, name, "id", noun, None, "integer or string ids")
    else:
        ids = _objects(s)
        _no_containers(ids, col, name, "id", noun, None)
        if any(isinstance(v, (bool, np.bool_)) for v in ids):
            raise DataError(f"id {noun} {col!r} in {name} holds booleans; expected integer or string ids")
        ids = np.array([str(v) for v in ids], dtype=object)
    keys = pd.Series(ids.astype(str) if ids.dtype == object else ids)
    dup = keys.duplicated(keep=False).to_numpy()
    if dup.any():
        first = keys[dup].iloc[0]
        rows = np.flatnonzero((keys == first).to_numpy())
        n_dup = int(keys[dup].nunique())
        more = f", and {n_dup - 1} more duplicated value{'s' if n_dup > 2 else ''}" if n_dup > 1 else ""
        raise DataError(
            f"id {noun} {col!r} in {name} has duplicated values: {_show(ids[rows[0]])} at rows "
            f"{', '.join(map(str, rows[:5]))}{more}; ids must be unique"
        )
    return ids


def _label_values(
    s: pd.Series, col: str, name: str, noun: str, ids: np.ndarray | None, class_names: list[str] | None = None
) -> np.ndarray:
    _first_missing(s, col, name, "label", noun, ids)
    if pd.api.types.is_bool_dtype(s.dtype):
        y = s.to_numpy(dtype=bool)
    elif _is_numeric(s):
        y = _integral(
            s, col, name, "label", noun, ids, "class labels (integers or names); is this a regression target?"
        )
    else:
        y = _objects(s)
        _no_containers(y, col, name, "label", noun, ids)
        is_str = np.array([isinstance(v, str) for v in y])
        if is_str.any() and not is_str.all():
            r_s, r_n = int(np.argmax(is_str)), int(np.argmin(is_str))
            raise DataError(
                f"label {noun} {col!r} in {name} mixes strings and other values ({_show(y[r_s])} at row {r_s}, "
                f"{_show(y[r_n])} at row {r_n}); use one type"
            )
    if class_names is not None:
        _check_class_indices(y, class_names, col, name, ids)
    classes = pd.unique(y)
    if len(classes) < 2:
        raise DataError(
            f"label {noun} {col!r} in {name} has only one class ({_show(classes[0])}); need at least 2 classes"
        )
    return y


def _group_values(s: pd.Series, col: str, name: str, noun: str, ids: np.ndarray | None) -> np.ndarray:
    _first_missing(s, col, name, "group", noun, ids)
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=bool)
    if _is_numeric(s):
        f = s.to_numpy(dtype=np.float64)
        if pd.api.types.is_integer_dtype(s.dtype) or np.all(f == np.round(f)):
            return _integral(s, col, name, "group", noun, ids, "group keys")
        return f
    g = _objects(s)
    _no_containers(g, col, name, "group", noun, ids)
    return g


def _check_class_indices(y: np.ndarray, names: list[str], col: str, name: str, ids: np.ndarray | None) -> None:
    if y.dtype.kind not in "iu":
        return
    bad = (y < 0) | (y >= len(names))
    if bad.any():
        r = int(np.argmax(bad))
        hint = " (-1 marks an unlabeled example in Hugging Face datasets; drop those rows)" if y[r] == -1 else ""
        raise DataError(
            f"label column {col!r} in {name} holds {int(y[r])} at {_row(r, ids)}, outside its {len(names)} "
            f"class names{hint}"
        )


def feature_block(s: pd.Series, col: str, name: str, *, explicit: bool) -> np.ndarray | None:
    """(n, k) float64 for a numeric or list-of-numbers column; None for a column that
    is not numeric (kept in ``extra``) unless ``explicit``, where it is an error."""
    if _is_numeric(s):
        return s.to_numpy(dtype=np.float64, na_value=np.nan).reshape(-1, 1)
    values = _objects(s)
    present = ~s.isna().to_numpy()
    if not present.any():
        if explicit:
            raise DataError(f"column {col!r} in {name} is not numeric (every value is missing)")
        return None
    first = values[int(np.argmax(present))]
    if isinstance(first, (list, tuple, np.ndarray)):
        return _expand_lists(values, present, col, name, explicit=explicit)
    if isinstance(first, (str, numbers.Number)):
        parsed = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = present & np.isnan(parsed)
        if bad.any():
            mostly_numbers = int((present & ~bad).sum()) > int(bad.sum())
            if explicit or mostly_numbers:
                r = int(np.argmax(bad))
                fix = (
                    "remove it from features=[...]"
                    if explicit
                    else "fix that value, drop the column or pass features=[...]"
                )
                raise DataError(f"column {col!r} in {name} is not numeric (e.g. {_show(values[r])} at row {r}); {fix}")
            return None
        has_text = any(isinstance(v, str) for v in values[present])
        # Quoted numbers ("02139") are kept as text unless asked for.
        if has_text and not explicit:
            return None
        return parsed.reshape(-1, 1)
    if explicit:
        raise DataError(
            f"column {col!r} in {name} is not numeric ({_not_numeric_example(s)}); remove it from features=[...]"
        )
    return None


def _not_numeric_example(s: pd.Series) -> str:
    """'e.g. <first value> at row r' for a column that is not numeric."""
    values = _objects(s)
    present = ~s.isna().to_numpy()
    if not present.any():
        return "every value is missing"
    r = int(np.argmax(present))
    return f"e.g. {_show(values[r])} at row {r}"


def _expand_lists(values: np.ndarray, present: np.ndarray, col: str, name: str, *, explicit: bool) -> np.ndarray | None:
    r0 = int(np.argmax(present))
    try:
        sample_kind = np.asarray(values[r0]).dtype.kind
    except (ValueError, TypeError):
        sample_kind = "O"
    if sample_kind not in "biuf":
        if explicit:
            raise DataError(
                f"column {col!r} in {name} holds lists that are not all numbers (e.g. {_short(values[r0])} at row {r0}); "
                "remove it from features=[...]"
            )
        return None
    if not present.all():
        r = int(np.argmin(present))
        raise DataError(f"column {col!r} in {name} has a missing value at row {r}; every row needs a list of numbers")
    try:
        stacked = np.stack(list(values))
    except (ValueError, TypeError):
        stacked = None  # ragged or mixed: the row-by-row pass below says where
    if stacked is not None and stacked.dtype.kind in "biuf" and stacked.ndim >= 2 and stacked[0].size:
        return stacked.reshape(len(values), -1).astype(np.float64, copy=False)
    rows = []
    shape0: tuple[int, ...] | None = None
    for r, v in enumerate(values):
        try:
            a = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(
                f"column {col!r} in {name} holds a list that is not all numbers at row {r} ({_short(v)}); "
                "expected lists of numbers of one length"
            ) from None
        if shape0 is None:
            shape0 = a.shape
        elif a.shape != shape0:
            raise DataError(
                f"column {col!r} in {name} holds lists of different lengths: {_shape(shape0)} at row 0 but "
                f"{_shape(a.shape)} at row {r}; every row needs the same length"
            )
        rows.append(a.reshape(-1))
    assert shape0 is not None
    if int(np.prod(shape0)) == 0:
        raise DataError(f"column {col!r} in {name} holds empty lists")
    return np.stack(rows)


def check_finite(block: np.ndarray, col: str, name: str, ids: np.ndarray | None) -> None:
    bad = ~np.isfinite(block)
    if bad.any():
        r, j = (int(v) for v in np.argwhere(bad)[0])
        kind = "NaN/missing" if np.isnan(block[r, j]) else str(block[r, j])
        elem = f", item {j}" if block.shape[1] > 1 else ""
        k = int(bad.sum())
        raise DataError(
            f"column {col!r} in {name} has {k} missing or non-finite value{'s' if k > 1 else ''} "
            f"({kind} first at {_row(r, ids)}{elem}); fill or drop them"
        )


# --------------------------------------------------------------------------- message helpers


def _show(v: Any) -> str:
    if isinstance(v, np.generic):
        v = v.item()
    return _short(v)


def _short(v: Any, limit: int = 40) -> str:
    text = repr(v.tolist() if isinstance(v, np.ndarray) else v)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shape(shape: tuple[int, ...]) -> str:
    return f"length {shape[0]}" if len(shape) == 1 else f"shape {shape}"


def name_list(items: Any, limit: int = 20) -> str:
    items = list(items)
    shown = ", ".join(repr(str(i)) for i in items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__
