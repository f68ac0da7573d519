"""Recipes: one module per paper finding — a small experiment and the claim it checks.

``run(name)`` returns a :class:`RecipeResult` whose ``held`` is computed from the
measurements, never written down in advance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .._registry import Registry, import_submodules
from ._verdicts import VERDICTS_FILE, load_verdicts, save_verdicts


@dataclass
class RecipeResult:
    """What a recipe measured and whether the paper's claim held at this scale."""

    name: str
    paper: str
    claim: str
    measured: dict[str, Any]
    held: bool
    details: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __str__(self) -> str:
        lines = [f"{self.name} ({self.paper})", f"claim: {self.claim}"]
        lines += [f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}" for k, v in self.measured.items()]
        lines.append("held" if self.held else "NOT held")
        return "\n".join(lines)


@dataclass(frozen=True)
class Recipe:
    name: str
    paper: str
    claim: str
    fn: Callable[..., RecipeResult]


REGISTRY: Registry[Recipe] = Registry("recipe")


def recipe(
    name: str, *, paper: str, claim: str
) -> Callable[[Callable[..., RecipeResult]], Callable[..., RecipeResult]]:
    def deco(fn: Callable[..., RecipeResult]) -> Callable[..., RecipeResult]:
        REGISTRY.register(name)(Recipe(name, paper, claim, fn))
        return fn

    return deco


def run(name: str, *, seed: int = 0, quick: bool = False) -> RecipeResult:
    """Run the named recipe.

    Examples
    --------
    >>> import datafactors as df  # doctest: +SKIP
    >>> print(df.recipes.run("data-diet"))  # doctest: +SKIP
    """
    return REGISTRY.get(name).fn(seed=seed, quick=quick)


import_submodules(__name__, __path__)  # every module registers itself

__all__ = ["REGISTRY", "VERDICTS_FILE", "Recipe", "RecipeResult", "load_verdicts", "recipe", "run", "save_verdicts"]
