"""Optional dependencies: import one, or say which extra of datafactors installs it."""

from __future__ import annotations

import importlib
from types import ModuleType

from ._errors import DataError


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature``, or raise one DataError naming the extra that installs it.

    Examples
    --------
    >>> require("numpy", "core", "arrays").__name__
    'numpy'
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise DataError(
            f"{feature} needs the optional package {module.split('.')[0]!r}: pip install 'datafactors[{extra}]'"
        ) from None
