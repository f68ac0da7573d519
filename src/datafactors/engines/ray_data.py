"""Ray Data machinery for folders of shards (Parquet, JSONL, CSV): listing, output folders, the Ray session, mapping.

Imported only when the ray engine is chosen. This module knows nothing of scores or
selectors: it lists the shards of a folder in the order :func:`datafactors.io.read_path`
reads them, checks and stages output folders, opens a quiet Ray session and maps a
function over the shards, one Ray Data task per shard (rather than
``ray.data.read_parquet``'s own blocks), so each row keeps its position in the folder --
its default id and what "first occurrence" means. The drivers that score and select
shard by shard live in :mod:`datafactors.experiment.sharded`.

Output goes to a hidden sibling folder (:func:`staging`) and is renamed to ``out`` when
every shard is written, so ``out`` either holds a complete result or does not exist; an
``out`` folder that already holds files is refused. On a multi-machine cluster ``out``
must be on storage that every node sees (as for Ray Data's own writers).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DataError, DatafactorsError

__all__ = [
    "check_out_folder",
    "check_written",
    "input_folder",
    "list_shards",
    "map_shards",
    "ray_session",
    "row_counts",
    "shard_items",
    "staging",
]


# --------------------------------------------------------------------------- folders


def list_shards(folder: str | os.PathLike[str]) -> list[Path]:
    """The shards of ``folder`` in the order :func:`~datafactors.io.read_path` reads them.

    Parquet, JSONL, CSV or TSV files (one format per folder; :func:`datafactors.io.readers.shard_files`).
    """
    from ..io.readers import shard_files

    return shard_files(folder)


def input_folder(data: str | os.PathLike[str]) -> Path:
    """``data`` as a Path if it is an existing folder (the ray engine reads folders of shards)."""
    p = Path(os.fspath(data)).expanduser()
    if not p.exists():
        raise DataError(f"folder not found: {p}")
    if not p.is_dir():
        raise DataError(f"the ray engine reads a folder of shards; {p} is a file (use the local engine for one file)")
    return p


def row_counts(folder: Path, shards: Sequence[Path]) -> np.ndarray:
    """Rows per shard (Parquet footers, JSONL lines), (n_shards,) int64; a corrupt shard is a DataError."""
    from ..io.readers import shard_rows

    counts = []
    for s in shards:
        try:
            counts.append(shard_rows(s))
        except DataError as e:
            raise DataError(f"{e} (a shard of {folder})") from None
    return np.asarray(counts, dtype=np.int64)


def check_out_folder(out: str | os.PathLike[str], *, flag: str = "--out") -> Path:
    """``out`` as a Path if it can receive output shards: new (its parent a writable folder) or empty."""
    p = Path(os.fspath(out)).expanduser()
    if p.exists():
        if not p.is_dir():
            raise DataError(f"{flag} {p} is a file; the ray engine writes a folder of shards, give a folder")
        if any(p.iterdir()):
            raise DataError(f"{flag} {p} already holds files; give a new or empty folder (nothing is overwritten)")
    parent = p.parent
    if not parent.exists():
        raise DataError(f"{flag} {p}: folder {parent} does not exist")
    if not parent.is_dir():
        raise DataError(f"{flag} {p}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DataError(f"{flag} {p}: folder {parent} is not writable")
    return p


@contextlib.contextmanager
def staging(out: Path) -> Iterator[Path]:
    """A hidden sibling folder that becomes ``out`` only when the body finishes."""
    tmp = out.parent / f".{out.name}.tmp-{secrets.token_hex(6)}"
    try:
        tmp.mkdir()
    except OSError as e:
        raise DataError(f"--out {out}: cannot create a folder in {out.parent} ({e.strerror})") from None
    try:
        yield tmp
        if out.exists():
            out.rmdir()  # checked empty before the work started
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_written(tmp: Path, rels: Sequence[str]) -> None:
    """Every output shard ``rels`` is visible in ``tmp`` (workers on other machines may write elsewhere)."""
    missing = [r for r in rels if not (tmp / r).is_file()]
    if missing:
        raise DataError(
            f"{len(missing)} output shards (e.g. {missing[0]}) are not in {tmp}: the Ray workers wrote them "
            "where this machine cannot see; --out must be on storage shared by every node"
        )


# --------------------------------------------------------------------------- ray plumbing


@contextlib.contextmanager
def ray_session(address: str | None, n_workers: int | None) -> Iterator[Any]:
    """A connected RayEngine with Ray's and Ray Data's console chatter turned down."""
    from .ray_ import RayEngine

    engine = RayEngine(n_workers=n_workers, address=address, logging_level=logging.ERROR)
    loggers = [logging.getLogger(n) for n in ("ray", "ray.data")]
    levels = [lg.level for lg in loggers]
    try:
        engine.connect()
        import ray.data

        ctx = ray.data.DataContext.get_current()
        saved = ctx.enable_progress_bars, ctx.shuffle_strategy, ctx.raise_original_map_exception
        # A worker's DataError is the message; Ray Data would log it with stack traces too.
        for lg in loggers:
            lg.setLevel(logging.CRITICAL)
        ctx.enable_progress_bars = False
        ctx.raise_original_map_exception = True  # keep the DataError, not a UserCodeException
        # The hash shuffle starts aggregator actors (seconds per group-by); the sort shuffle
        # runs as plain tasks on the workers already up.
        ctx.shuffle_strategy = ray.data.context.ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
        try:
            yield engine
        finally:
            ctx.enable_progress_bars, ctx.shuffle_strategy, ctx.raise_original_map_exception = saved
    except Exception as e:
        cause = _datafactors_cause(e)
        if cause is not None and cause is not e:
            raise cause from None
        raise
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
        engine.close()


def _datafactors_cause(e: BaseException) -> DatafactorsError | None:
    """The DataError/ConfigError a worker raised, found under Ray's and Ray Data's wrappers.

    Ray re-raises a task's exception as a ``RayTaskError`` subclass of the original class
    (module ``ray.exceptions``) whose ``cause`` is the original; Ray Data chains its own.
    """
    seen: set[int] = set()
    stack: list[BaseException | None] = [e]
    while stack:
        x = stack.pop()
        if x is None or id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, DatafactorsError) and type(x).__module__.startswith("datafactors"):
            return x
        stack += [x.__context__, x.__cause__, getattr(x, "cause", None)]
    return None


def shard_items(folder: Path, shards: Sequence[Path], counts: np.ndarray) -> list[dict[str, Any]]:
    """One item per shard: ``shard`` (number), ``path``, ``rel`` (relative path) and its rows ``start:stop``."""
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return [
        {"shard": i, "path": str(s), "rel": s.relative_to(folder).as_posix(), "start": int(a), "stop": int(a + c)}
        for i, (s, a, c) in enumerate(zip(shards, starts, counts, strict=True))
    ]


def map_shards(items: list[dict[str, Any]], fn: Any, **fn_kwargs: Any) -> Any:
    """A Ray Dataset with one row per shard, mapped by ``fn`` one shard per task."""
    import ray.data

    rds = ray.data.from_items(items, override_num_blocks=len(items))
    return rds.map_batches(fn, batch_size=1, batch_format="pandas", num_cpus=1, fn_kwargs=fn_kwargs)
