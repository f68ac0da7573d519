"""Uniform random selection (the baseline every paper compares against)."""

from __future__ import annotations

import numpy as np

from . import REGISTRY


@REGISTRY.register("random")
def random_select(ds, k, *, scores=None, embeddings=None, rng: np.random.Generator) -> np.ndarray:
    """``k`` rows drawn uniformly without replacement."""
    return rng.permutation(ds.n)[:k]
