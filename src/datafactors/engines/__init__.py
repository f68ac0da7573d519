"""Where trials execute. ``local`` is a process pool; ``ray`` submits the same task
functions to a Ray cluster. Both yield ``(spec, result)`` pairs as tasks finish and
never write the store themselves: the driver alone does."""

from __future__ import annotations

from typing import Any

from .._errors import ConfigError
from .local import LocalEngine

ENGINES = ("local", "ray")


def make_engine(name: str = "local", *, n_workers: int | None = None, address: str | None = None) -> Any:
    if name == "local":
        if address is not None:
            raise ConfigError("--address is only for the ray engine")
        return LocalEngine(n_workers=n_workers)
    if name == "ray":
        from .ray_ import RayEngine  # imported only when chosen

        return RayEngine(n_workers=n_workers, address=address)
    raise ConfigError(f"unknown engine {name!r}. Known: {', '.join(ENGINES)}")


__all__ = ["ENGINES", "LocalEngine", "make_engine"]
