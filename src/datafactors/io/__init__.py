"""Loading data: built-in names, files by path, and in-memory tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._errors import DataError
from ..dataset import Dataset
from .builtins import BUILTINS, BuiltinData
from .readers import check_out_path, read_embeddings, read_scores


def load_builtin(name: str, **params: Any) -> BuiltinData:
    """The train / test / OOD sets of a built-in dataset."""
    return BUILTINS.get(name)(**params)


def load(source: Any, *, label: str | None = None, text: str | None = None, split: bool = False, **kwargs: Any) -> Any:
    """Load a dataset.

    Parameters
    ----------
    source : a built-in name ("mnist1d", "digits"), a path (.csv .tsv .parquet .jsonl .npz,
        or a folder of Parquet shards), or a table object (pandas, polars, Arrow,
        Hugging Face ``datasets.Dataset``).
    label : the label column of a file or table (default: "label", "y" or "target"; with
        none of them the data are an unlabeled pool).
    text : a text column: the examples are its texts, embedded offline with the sentence
        encoder (cached per text; see :mod:`datafactors.featurize`); the raw text stays in
        ``ds.extra`` (``ds.text_column``) for text-aware operators and ``ds.embedding``
        says which encoder, its revision, max sequence length and how many texts were
        truncated or came from the cache. ``kwargs`` may then hold ``progress`` (a callable
        ``(done, total)``) and ``batch_size``.
    split : for built-ins, return ``(train, test, ood)`` instead of the train set.
    **kwargs : passed to the reader (``id_col``, ``group_col``, ``features``) or the
        built-in's generator (e.g. ``n_train``).

    Examples
    --------
    >>> import datafactors as df  # doctest: +SKIP
    >>> train, test, ood = df.load("mnist1d", split=True)  # doctest: +SKIP
    """
    from . import readers

    if isinstance(source, Dataset):
        return source
    if isinstance(source, str) and source in BUILTINS and text is None:
        data = load_builtin(source, **kwargs)
        return (data.train, data.test, data.ood) if split else data.train
    if text is not None:
        from ..featurize import read_text_table

        if isinstance(source, str) and source in BUILTINS:
            raise DataError(f"--text needs a file with a text column; {source!r} is a built-in without text")
        return read_text_table(source, text, label=label, **kwargs)
    if split:
        raise DataError(f"split=True is only for built-in datasets ({', '.join(BUILTINS.names())}); got {source!r}")
    if isinstance(source, (str, Path)):
        p = Path(source)
        if not p.exists() and isinstance(source, str) and not any(c in source for c in "/\\."):
            raise DataError(
                f"unknown dataset {source!r}: not a built-in ({', '.join(BUILTINS.names())}) and no such file"
            )
        return readers.read_path(p, label=label, **kwargs)
    return readers.from_table(source, label=label, **kwargs)


__all__ = ["BUILTINS", "BuiltinData", "check_out_path", "load", "load_builtin", "read_embeddings", "read_scores"]

from .. import tasks as _tasks  # noqa: E402, F401  (task generators register themselves as built-ins)
