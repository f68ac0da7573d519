"""The scoreboard: every recipe's verdict with its interval next to its negative control's.

One row per run — the paper setting, then its control (the mechanism removed) — with the
claim part checked, each effect with its interval and margin, the verdict, and seconds.
A control that comes out *held* is flagged: the experiment could not tell the mechanism
from its absence, so its claim row is not evidence.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._atomic import atomic_write_json

if TYPE_CHECKING:
    from . import RecipeResult

SCOREBOARD_FORMAT = 1
COLUMNS = ["recipe", "run", "claim_part", "effect", "verdict", "control_verdict", "seeds", "seconds"]


def _effects_text(res: RecipeResult) -> str:
    if not res.effects:
        return ""
    return "; ".join(f"{e.label} {e.interval_text()} (needs {e.requirement})" for e in res.effects)


def scoreboard(pairs: Sequence[tuple[RecipeResult, RecipeResult | None]]) -> pd.DataFrame:
    """The scoreboard table of ``(result, control_result)`` pairs (control may be None).

    ``control_verdict`` on a claim row is ``not held (ok)`` when the control failed as it
    should, ``HELD (control failed)`` when it did not, ``not run`` without one.
    """
    rows: list[dict[str, Any]] = []
    for res, ctl in pairs:
        if ctl is None:
            cv = "not run"
        else:
            cv = "not held (ok)" if not ctl.held else "HELD (control failed)"
        rows.append(
            {
                "recipe": res.name,
                "run": "paper setting",
                "claim_part": res.claim_part or res.claim,
                "effect": _effects_text(res),
                "verdict": res.verdict,
                "control_verdict": cv,
                "seeds": len(res.seeds),
                "seconds": None if res.seconds is None else round(float(res.seconds), 1),
            }
        )
        if ctl is not None:
            rows.append(
                {
                    "recipe": res.name,
                    "run": f"control: {ctl.control}",
                    "claim_part": ctl.claim_part or ctl.claim,
                    "effect": _effects_text(ctl),
                    "verdict": ctl.verdict,
                    "control_verdict": "",
                    "seeds": len(ctl.seeds),
                    "seconds": None if ctl.seconds is None else round(float(ctl.seconds), 1),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def _result_dict(res: RecipeResult) -> dict[str, Any]:
    from ._verdicts import _json_value

    return {
        "held": bool(res.held),
        "claim_part": res.claim_part,
        "effects": [e.to_dict() for e in res.effects],
        "measured": {str(k): _json_value(v) for k, v in res.measured.items()},
        "seeds": [int(s) for s in res.seeds],
        "sizes": {str(k): _json_value(v) for k, v in res.sizes.items()},
        "seconds": None if res.seconds is None else round(float(res.seconds), 2),
    }


def write_scoreboard(
    pairs: Sequence[tuple[RecipeResult, RecipeResult | None]],
    path: str | os.PathLike[str],
    *,
    seed: int,
    quick: bool,
) -> Path:
    """Write the scoreboard as JSON (written to a temporary name, then moved into place)."""
    from .. import __version__

    entries = []
    for res, ctl in pairs:
        entries.append(
            {
                "recipe": res.name,
                "paper": res.paper,
                "claim": res.claim,
                "control": res.control,
                "result": _result_dict(res),
                "control_result": None if ctl is None else _result_dict(ctl),
            }
        )
    out = Path(path)
    doc = {
        "format": SCOREBOARD_FORMAT,
        "version": __version__,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seed": int(seed),
        "quick": bool(quick),
        "recipes": entries,
        "table": scoreboard(pairs).to_dict(orient="records"),
    }
    atomic_write_json(out, doc, indent=2, allow_nan=False)
    return out


def run_all(
    names: Sequence[str],
    *,
    seed: int = 0,
    quick: bool = False,
    controls: bool = True,
    on_result: Callable[[RecipeResult], None] | None = None,
    running: Callable[[str], Any] | None = None,
) -> list[tuple[RecipeResult, RecipeResult | None]]:
    """Run each recipe and (with ``controls``) its negative control; ``on_result`` sees each result."""
    import contextlib
    import time

    from . import REGISTRY, run

    pairs = []
    for n in names:
        t0 = time.perf_counter()
        with running(n) if running is not None else contextlib.nullcontext():
            res = run(n, seed=seed, quick=quick)
        if getattr(res, "seconds", None) is None:
            res.seconds = time.perf_counter() - t0
        if on_result is not None:
            on_result(res)
        ctl = None
        if controls and REGISTRY.get(n).control:
            with running(f"{n} (control)") if running is not None else contextlib.nullcontext():
                ctl = run(n, seed=seed, quick=quick, control=True)
            if on_result is not None:
                on_result(ctl)
        pairs.append((res, ctl))
    return pairs
