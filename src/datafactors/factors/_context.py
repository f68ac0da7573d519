"""What every factor family reads: the dataset, its vectors, optional text, scores and test set."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..dataset import Dataset

PROFILE_COLUMNS = ("family", "factor", "key", "value", "text", "note")


def row(family: str, factor: str, value: float | None = None, *, key: Any = "", text: str = "", note: str = "") -> dict:
    """One row of the profile table (``value`` None or non-finite input stays as given, None -> NaN)."""
    v = math.nan if value is None else float(value)
    return {"family": family, "factor": factor, "key": str(key), "value": v, "text": str(text), "note": str(note)}


@dataclass
class ProfileContext:
    """Inputs of one :func:`datafactors.factors.profile` call, shared by every family.

    ``X`` is what the geometric factors use: the dataset's features, or given or
    computed embeddings. Expensive intermediate results (unit vectors, the
    intrinsic dimension) are cached in ``cache`` so families can share them.
    """

    ds: Dataset
    X: np.ndarray
    texts: list[str] | None = None
    text_col: str | None = None
    scores: pd.DataFrame | None = None
    test: Dataset | None = None
    test_X: np.ndarray | None = None
    licence_col: str | None = None
    source_col: str | None = None
    concepts: Sequence[str] | None = None
    concept_performance: Mapping[str, float] | None = None
    near_duplicate_threshold: float = 0.95
    minhash_threshold: float = 0.8  # estimated Jaccard, MinHash near-duplicates of text (contamination)
    contamination_cosine: float = 0.95  # cosine, test rows near a training row when a side has no text
    epsilon: float = 0.01
    seed: int = 0
    cache: dict[str, Any] = field(default_factory=dict)

    def rng(self, salt: str) -> np.random.Generator:
        """A generator for one family: independent of which other families run, and in what order."""
        return np.random.default_rng([self.seed, *salt.encode()])

    def unit(self) -> tuple[np.ndarray, np.ndarray]:
        """(L2-normalised X, mask of all-zero rows), computed once."""
        if "unit" not in self.cache:
            from .._neighbors import unit_rows

            U = unit_rows(self.X, reuse_unit=True)
            self.cache["unit"] = (U, ~U.any(axis=1))
        return self.cache["unit"]
