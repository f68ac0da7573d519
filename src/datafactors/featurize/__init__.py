"""Raw data -> vectors: standardisation, and text through an offline sentence encoder.

Heavy packages (sentence-transformers, torch, onnxruntime) are imported only when text is
embedded. ``BACKENDS`` names the encoder backends ``embed_*(..., backend=...)`` accepts.
"""

from __future__ import annotations

import numpy as np

from .._errors import DataError
from .normalize import normalize_text
from .text import (
    BACKENDS,
    EMBEDDING_DIM,
    MODEL_NAME,
    cache_dir,
    clear_cache,
    embed_dataset,
    embed_texts,
    embed_with_info,
    read_text_table,
    text_column,
)


def standardize(X: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per column (constant columns are only centred).

    Examples
    --------
    >>> standardize(np.array([[1.0, 5.0], [3.0, 5.0]])).tolist()
    [[-1.0, 0.0], [1.0, 0.0]]
    """
    A = np.asarray(X, dtype=np.float64)
    if A.ndim != 2 or len(A) == 0:
        raise DataError(f"X must be a non-empty 2-D array, got shape {A.shape}")
    sd = A.std(axis=0)
    return (A - A.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


__all__ = [
    "BACKENDS",
    "EMBEDDING_DIM",
    "MODEL_NAME",
    "clear_cache",
    "embed_with_info",
    "cache_dir",
    "embed_dataset",
    "embed_texts",
    "normalize_text",
    "read_text_table",
    "standardize",
    "text_column",
]
