"""datafactors: which training data to keep, how much more you need, and whether it generalizes.

>>> import datafactors as df
>>> ds = df.Dataset.from_arrays([[0.0], [1.0]], [0, 1])
>>> ds.n
2
"""

from __future__ import annotations

import importlib
from typing import Any

from ._errors import ConfigError, DataError, DatafactorsError
from .dataset import Dataset

__version__ = "0.1.0"

# Families are imported on first use so `import datafactors` stays fast (torch is heavy).
_SUBMODULES = {
    "scores",
    "select",
    "splits",
    "augment",
    "metrics",
    "scaling",
    "learners",
    "recipes",
    "report",
    "io",
    "experiment",
    "engines",
    "store",
    "dynamics",
    "factors",
    "tasks",
    "featurize",
}


def load(source: Any, *, label: str | None = None, split: bool = False, **kwargs: Any) -> Any:
    """Load a built-in dataset by name, a file by path, or a table object.

    See :func:`datafactors.io.load`.
    """
    from .io import load as _load

    return _load(source, label=label, split=split, **kwargs)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'datafactors' has no attribute {name!r}")


__all__ = ["ConfigError", "DataError", "DatafactorsError", "Dataset", "load", "__version__"]
