"""Helpers every selector module uses: the side-input marker and the embeddings a selector runs on."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._arrays import check_embeddings


def requires(*names: str):
    """Mark a selector with the side inputs a caller must supply (``scores``, ``target``, ``groups`` ...).

    Sets ``fn.requires``, so generic callers (a contract test over the registry, a config
    validator) can tell which selectors cannot run on a bare dataset.
    """

    def deco(fn):
        fn.requires = tuple(names)
        return fn

    return deco


def embeddings_of(ds: Any, embeddings: Any) -> np.ndarray:
    """``embeddings`` (or the dataset's features when None), checked to be finite (ds.n, d) float32."""
    return check_embeddings(ds.X if embeddings is None else embeddings, ds.n)
