"""Loading data: built-in names, files by path, and in-memory tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._errors import ConfigError, DataError
from ..dataset import Dataset
from .builtins import BUILTINS, BuiltinData
from .images import apply_image_shape, read_image_folder
from .readers import check_out_path, read_embeddings, read_scores


def load_builtin(name: str, **params: Any) -> BuiltinData:
    """The train / test / OOD sets of a built-in dataset."""
    return BUILTINS.get(name)(**params)


def load(
    source: Any,
    *,
    label: str | None = None,
    text: str | None = None,
    split: bool = False,
    image_size: Any = None,
    image_mode: str | None = None,
    image_shape: Any = None,
    **kwargs: Any,
) -> Any:
    """Load a dataset.

    Parameters
    ----------
    source : a built-in name ("mnist1d", "digits"), a path (.csv .tsv .parquet .jsonl .npz,
        a folder of table shards, or a folder of images in one subfolder per class, see
        :func:`datafactors.io.images.read_image_folder`), or a table object (pandas, polars,
        Arrow, Hugging Face ``datasets.Dataset``).
    label : the label column of a file or table (default: "label", "y" or "target"; with
        none of them the data are an unlabeled pool).
    text : a text column: the examples are its texts, embedded offline with the sentence
        encoder (cached per text; see :mod:`datafactors.featurize`); the raw text stays in
        ``ds.extra`` (``ds.text_column``) for text-aware operators and ``ds.embedding``
        says which encoder, its revision, max sequence length and how many texts were
        truncated or came from the cache. ``kwargs`` may then hold ``progress`` (a callable
        ``(done, total)``) and ``batch_size``.
    split : for built-ins, return ``(train, test, ood)`` instead of the train set.
    image_size : (height, width) for a folder of images: resize every image (bilinear).
        ConfigError for any other source.
    image_mode : "auto" (default), "L" or "RGB" for a folder of images. ConfigError for any
        other source.
    image_shape : declare ``example_shape`` (``(h, w)``, ``(h, w, 3)`` or ``(n,)``) of data
        whose features are pixels or a signal in row-major order (a table, an ``.npz``, a
        built-in); its product must equal the number of features (ConfigError naming
        ``image_shape`` otherwise).
    **kwargs : passed to the reader (``id_col``, ``group_col``, ``features``) or the
        built-in's generator (e.g. ``n_train``).

    Examples
    --------
    >>> import datafactors as df  # doctest: +SKIP
    >>> train, test, ood = df.load("mnist1d", split=True)  # doctest: +SKIP
    >>> photos = df.load("photos/", image_size=(28, 28))  # doctest: +SKIP
    """
    from . import readers

    is_path = isinstance(source, (str, Path)) and not (isinstance(source, str) and source in BUILTINS)
    for key, value in (("image_size", image_size), ("image_mode", image_mode)):
        if value is not None and (not is_path or text is not None):
            what = "text is embedded" if text is not None else f"{_what(source)} is not a path"
            raise ConfigError(f"{key} applies to a folder of images; {what}")
    if image_shape is not None and text is not None:
        raise ConfigError("image_shape declares pixel features; with text= the features are text embeddings")
    if isinstance(source, Dataset):
        return apply_image_shape(source, image_shape)
    if isinstance(source, str) and source in BUILTINS and text is None:
        data = load_builtin(source, **kwargs)
        sets = tuple(apply_image_shape(d, image_shape) for d in (data.train, data.test, data.ood))
        return sets if split else sets[0]
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
        ds = readers.read_path(p, label=label, image_size=image_size, image_mode=image_mode, **kwargs)
    else:
        ds = readers.from_table(source, label=label, **kwargs)
    return apply_image_shape(ds, image_shape)


def _what(source: Any) -> str:
    return repr(source) if isinstance(source, str) else f"a {type(source).__name__}"


__all__ = [
    "BUILTINS",
    "BuiltinData",
    "apply_image_shape",
    "check_out_path",
    "load",
    "load_builtin",
    "read_embeddings",
    "read_image_folder",
    "read_scores",
]

from .. import tasks as _tasks  # noqa: E402, F401  (task generators register themselves as built-ins)
