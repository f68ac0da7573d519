"""Recipe verdicts stored next to a run: ``recipes.json`` in the run folder, read by the report.

One entry per recipe name; running a recipe again replaces its entry, so the file
always holds the latest verdict of every recipe that was run against the folder.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._atomic import atomic_write_json
from .._errors import DataError

if TYPE_CHECKING:
    from . import RecipeResult

VERDICTS_FILE = "recipes.json"
FORMAT_VERSION = 1


def _json_value(v: Any) -> Any:
    """A JSON-safe copy of a measured value: numpy scalars become Python, non-finite floats strings."""
    if hasattr(v, "item") and callable(v.item) and getattr(v, "ndim", 1) == 0:
        v = v.item()
    if isinstance(v, bool) or v is None or isinstance(v, int | str):
        return v
    if isinstance(v, float):
        if math.isfinite(v):
            return v
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_json_value(x) for x in v]
    return str(v)


def _entry(
    res: RecipeResult,
    *,
    seed: int | None,
    quick: bool | None,
    seconds: float | None,
    control: RecipeResult | None = None,
) -> dict[str, Any]:
    from .. import __version__

    effects = getattr(res, "effects", None) or []
    entry = {
        "name": str(res.name),
        "paper": str(res.paper),
        "claim": str(res.claim),
        "held": bool(res.held),
        "measured": {str(k): _json_value(v) for k, v in res.measured.items()},
        "effects": [e.to_dict() for e in effects],
        "claim_part": str(getattr(res, "claim_part", "") or ""),
        "control": str(getattr(res, "control", "") or ""),
        "seed": seed,
        "quick": quick,
        "seconds": None if seconds is None else round(float(seconds), 2),
        "version": __version__,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if control is not None:
        entry["control_held"] = bool(control.held)
        entry["control_effects"] = [e.to_dict() for e in (getattr(control, "effects", None) or [])]
    return entry


def load_verdicts(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The verdicts saved in ``run_dir/recipes.json`` (empty list when there is no such file).

    Raises
    ------
    DataError
        When the file exists but is not a verdicts file.
    """
    path = Path(run_dir) / VERDICTS_FILE
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DataError(f"{path} could not be read as JSON: {e}") from None
    entries = data.get("recipes") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "name" in e for e in entries):
        raise DataError(f"{path} is not a recipes verdict file: expected {{'recipes': [{{'name': ...}}, ...]}}")
    return entries


def save_verdicts(
    results: RecipeResult | Iterable[RecipeResult],
    run_dir: str | os.PathLike[str],
    *,
    seed: int | None = None,
    quick: bool | None = None,
    seconds: dict[str, float] | None = None,
    controls: dict[str, RecipeResult] | None = None,
) -> Path:
    """Add recipe verdicts to a run folder's ``recipes.json`` (the report shows them).

    An entry with the same recipe name is replaced; others are kept. The file is
    written to a temporary name and moved into place.

    Parameters
    ----------
    results : one :class:`RecipeResult` or several (from :func:`datafactors.recipes.run`).
    run_dir : the run folder, e.g. ``runs/<run-id>``; it must exist.
    seed, quick : the settings the recipes ran with, recorded with each verdict.
    seconds : wall time per recipe name, recorded when given (else the result's own).
    controls : the negative control's result per recipe name, recorded with its verdict.

    Returns
    -------
    Path of ``recipes.json``.

    Examples
    --------
    >>> import datafactors as df  # doctest: +SKIP
    >>> res = df.recipes.run("calibration-bins", quick=True)  # doctest: +SKIP
    >>> df.recipes.save_verdicts(res, "runs/my-run")  # doctest: +SKIP
    PosixPath('runs/my-run/recipes.json')
    """
    folder = Path(run_dir)
    if not folder.is_dir():
        raise DataError(f"run_dir {str(folder)!r} is not a directory; expected a run folder such as runs/<run-id>")
    items = [results] if hasattr(results, "held") else list(results)
    for r in items:
        if not all(hasattr(r, a) for a in ("name", "paper", "claim", "measured", "held")):
            raise DataError(f"save_verdicts expects RecipeResult objects, got {type(r).__name__}")
    seconds = seconds or {}
    controls = controls or {}
    new = [
        _entry(
            r,
            seed=seed,
            quick=quick,
            seconds=seconds.get(r.name, getattr(r, "seconds", None)),
            control=controls.get(r.name),
        )
        for r in items
    ]
    names = {e["name"] for e in new}
    kept = [e for e in load_verdicts(folder) if e.get("name") not in names]
    merged = sorted(kept + new, key=lambda e: str(e["name"]))
    path = folder / VERDICTS_FILE
    atomic_write_json(path, {"format": FORMAT_VERSION, "recipes": merged}, indent=2, allow_nan=False)
    return path
