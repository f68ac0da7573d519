"""Atomic file writes: write a temp file beside the target, then rename it into place.

A reader (another process, a crashed run resumed later) therefore sees either the old file or the
new one, never half of one. Used by the run store, the report, the recipes' verdicts file and the
embedding cache.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["atomic_write_bytes", "atomic_write_json", "atomic_write_parquet", "atomic_write_text"]


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _replace_into(path: Path, write: Callable[[str], None], *, suffix: str = ".tmp") -> None:
    """Create a temp file beside ``path``, let ``write(tmp)`` fill it, then rename it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, _umask_mode())  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, fsync: bool = False) -> None:
    """Write ``data`` to ``path`` atomically (parent folders are created).

    Parameters
    ----------
    path : path-like
        Target file; replaced in one rename.
    data : bytes
        The whole new content.
    fsync : bool, default False
        Flush the temp file to disk before the rename (for files that must survive a power cut).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a" / "b.bin"
    >>> atomic_write_bytes(p, b"hi")
    >>> p.read_bytes()
    b'hi'
    """

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())

    _replace_into(Path(path), write)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", fsync: bool = False) -> None:
    """Write ``text`` to ``path`` atomically, encoded with ``encoding`` (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode(encoding), fsync=fsync)


def atomic_write_json(
    path: str | os.PathLike[str],
    obj: Any,
    *,
    indent: int | None = 2,
    default: Callable[[Any], Any] | None = None,
    allow_nan: bool = True,
    fsync: bool = False,
) -> None:
    """Write ``obj`` as JSON (plus a final newline) to ``path`` atomically.

    ``allow_nan=False`` makes a NaN or infinity a ``ValueError`` instead of writing JSON that strict
    parsers reject.
    """
    text = json.dumps(obj, indent=indent, default=default, allow_nan=allow_nan)
    atomic_write_text(path, text + "\n", fsync=fsync)


def atomic_write_parquet(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``frame`` (without its index) as Parquet to ``path`` atomically."""
    _replace_into(Path(path), lambda tmp: frame.to_parquet(tmp, index=False))
