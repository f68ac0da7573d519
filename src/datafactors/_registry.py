"""One generic registry used by every family (scores, selectors, splits, learners, recipes)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from ._errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> object map with duplicate detection and "did you mean" suggestions.

    Examples
    --------
    >>> r = Registry("selector")
    >>> @r.register("random")
    ... def pick(): ...
    >>> r.get("random") is pick
    True
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        if not isinstance(name, str):
            raise ConfigError(f"{self.kind} name must be a string, got {type(name).__name__}")
        try:
            return self._items[name]
        except KeyError:
            raise ConfigError(self._unknown_message(name)) from None

    def _unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._items), n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return f"unknown {self.kind} {name!r}.{hint} Known: {', '.join(sorted(self._items))}"

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)


def import_submodules(package_name: str, package_path: list[str]) -> None:
    """Import every public module of a family package so each registers itself.

    A new method is then one new module (plus its tests): no list to edit.
    Modules must keep heavy imports inside functions so this stays cheap.
    """
    import importlib
    import pkgutil

    for m in sorted(pkgutil.iter_modules(package_path), key=lambda m: m.name):
        if not m.name.startswith("_"):
            importlib.import_module(f"{package_name}.{m.name}")
