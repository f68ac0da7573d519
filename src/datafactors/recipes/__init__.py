"""Recipes: one module per paper finding — a small experiment and the claim it checks.

``run(name)`` returns a :class:`RecipeResult` whose ``held`` is computed from its
:class:`Effect` objects (an estimate, an interval over seeds and items, and the margin the
claim needs), never written down in advance. Every recipe also has a *negative control*:
the same experiment with the mechanism removed (``run(name, control=True)``), which must
come out ``not held``. :func:`run_all` runs recipes and their controls and
:func:`scoreboard` tabulates them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .._errors import ConfigError
from .._registry import Registry, import_submodules
from ._evidence import LEVEL, Effect, bootstrap, paired_bootstrap, seeds_for, t_interval
from ._verdicts import VERDICTS_FILE, load_verdicts, save_verdicts


@dataclass
class RecipeResult:
    """What a recipe measured and whether the paper's claim held at this scale.

    With ``effects``, ``held`` is computed from them (every effect's interval clears its
    margin) and must not be passed. ``control`` names the recipe's negative control and
    ``is_control`` says this result is that control's run. ``seeds``, ``sizes`` and
    ``seconds`` record how it ran.
    """

    name: str
    paper: str
    claim: str
    measured: dict[str, Any]
    held: bool | None = None
    details: pd.DataFrame = field(default_factory=pd.DataFrame)
    effects: list[Effect] = field(default_factory=list)
    claim_part: str = ""
    control: str = ""
    is_control: bool = False
    seeds: list[int] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.effects:
            if self.held is not None:
                raise ValueError(f"recipe {self.name!r}: held is computed from the effects; do not pass it")
            self.held = all(e.held for e in self.effects)
        elif self.held is None:
            raise ValueError(f"recipe {self.name!r}: give effects (or an explicit held)")
        self.held = bool(self.held)

    @property
    def verdict(self) -> str:
        return "held" if self.held else "not held"

    def __str__(self) -> str:
        title = f"{self.name} [negative control: {self.control}]" if self.is_control else self.name
        lines = [f"{title} ({self.paper})", f"claim: {self.claim}"]
        if self.claim_part:
            lines.append(f"checked: {self.claim_part}")
        lines += [f"  {e}" for e in self.effects]
        lines += [f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}" for k, v in self.measured.items()]
        if self.seeds:
            lines.append(f"  seeds: {', '.join(map(str, self.seeds))}")
        lines.append("held" if self.held else "NOT held")
        return "\n".join(lines)


@dataclass(frozen=True)
class Recipe:
    name: str
    paper: str
    claim: str
    fn: Callable[..., RecipeResult]
    control: str = ""


REGISTRY: Registry[Recipe] = Registry("recipe")


def recipe(
    name: str, *, paper: str, claim: str, control: str = ""
) -> Callable[[Callable[..., RecipeResult]], Callable[..., RecipeResult]]:
    """Register a recipe; ``control`` names its negative control (the mechanism it removes).

    A recipe with a control is called ``fn(seed=, quick=, control=)``.
    """

    def deco(fn: Callable[..., RecipeResult]) -> Callable[..., RecipeResult]:
        REGISTRY.register(name)(Recipe(name, paper, claim, fn, control))
        return fn

    return deco


def one_blas_thread(fn: Callable[..., RecipeResult]) -> Callable[..., RecipeResult]:
    """``fn`` run with BLAS on one thread (many small scikit-learn fits: spinning threads cost more than they save)."""
    import functools

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> RecipeResult:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapped


def run(name: str, *, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    """Run the named recipe (or, with ``control=True``, its negative control).

    The result records the wall time; at full size a recipe must use at least 3 seeds.

    Examples
    --------
    >>> import datafactors as df  # doctest: +SKIP
    >>> print(df.recipes.run("data-diet"))  # doctest: +SKIP
    >>> df.recipes.run("data-diet", control=True).held  # doctest: +SKIP
    False
    """
    rec = REGISTRY.get(name)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"seed must be an integer, got {seed!r}")
    t0 = time.perf_counter()
    if rec.control:
        res = rec.fn(seed=seed, quick=quick, control=control)
    elif control:
        raise ConfigError(f"recipe {name!r} has no negative control")
    else:
        res = rec.fn(seed=seed, quick=quick)
    res.seconds = time.perf_counter() - t0
    res.control = rec.control
    res.is_control = bool(control)
    if res.effects and not quick and 0 < len(res.seeds) < 3:
        raise RuntimeError(f"recipe {name!r} decided its full-size verdict from {len(res.seeds)} seeds (needs >= 3)")
    return res


from ._scoreboard import run_all, scoreboard, write_scoreboard  # noqa: E402

import_submodules(__name__, __path__)  # every module registers itself

__all__ = [
    "LEVEL",
    "REGISTRY",
    "VERDICTS_FILE",
    "Effect",
    "Recipe",
    "RecipeResult",
    "bootstrap",
    "load_verdicts",
    "one_blas_thread",
    "paired_bootstrap",
    "recipe",
    "run",
    "run_all",
    "save_verdicts",
    "scoreboard",
    "seeds_for",
    "t_interval",
    "write_scoreboard",
]
