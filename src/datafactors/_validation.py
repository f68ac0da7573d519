"""Validation helpers shared by every module: messages name the parameter and the value."""

from __future__ import annotations

import numbers

import numpy as np

from ._errors import DataError

SeedLike = int | tuple[int, ...] | np.random.Generator | None


def check_random_state(seed: SeedLike) -> np.random.Generator:
    """Return a Generator for ``seed`` (an int, a tuple of ints, a Generator, or None meaning 0).

    None maps to seed 0 rather than fresh entropy so that results never depend on
    hidden state. A tuple such as ``(seed, 3)`` names an independent stream per purpose
    (``np.random.default_rng((seed, 3))``).

    Examples
    --------
    >>> int(check_random_state((0, 3)).integers(100)) == int(np.random.default_rng((0, 3)).integers(100))
    True
    """
    if seed is None:
        return np.random.default_rng(0)
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, tuple):
        if not seed or not all(isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) for v in seed):
            raise DataError(f"seed tuple must hold one or more ints, got {seed!r}")
        if min(int(v) for v in seed) < 0:
            raise DataError(f"seed == {seed}, its ints must be >= 0")
        return np.random.default_rng(tuple(int(v) for v in seed))
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise DataError(f"seed must be an int, a tuple of ints or a numpy Generator, got {seed!r}")
    if int(seed) < 0:
        raise DataError(f"seed == {seed}, must be >= 0")
    return np.random.default_rng(int(seed))


def seed_int(seed: SeedLike) -> int:
    """An integer seed derived from ``seed`` (for libraries that want an int)."""
    if isinstance(seed, (np.random.Generator, tuple)):
        return int(check_random_state(seed).integers(0, 2**31 - 1))
    check_random_state(seed)
    return 0 if seed is None else int(seed)


def resolve_budget(budget: object, n: int, name: str = "budget") -> int:
    """Turn a count or a fraction into a count in [1, n].

    An int (or integral float such as 3000.0 given as int) is a count; a float in
    (0, 1] is a fraction of ``n``, rounded to the nearest count and at least 1.
    """
    if isinstance(budget, (bool, np.bool_)) or not isinstance(budget, numbers.Real):
        raise DataError(f"{name} must be an int count or a float fraction, got {budget!r}")
    if isinstance(budget, numbers.Integral):
        k = int(budget)
        if k < 1:
            raise DataError(f"{name} == {k}, must be >= 1")
        if k > n:
            raise DataError(f"{name} == {k}, must be <= the number of examples ({n})")
        return k
    b = float(budget)
    if not np.isfinite(b):
        raise DataError(f"{name} == {b}, must be finite")
    if b <= 0 or b > 1:
        raise DataError(f"{name} == {b}, a fraction must be in (0, 1] (or pass an int count)")
    return max(1, min(n, int(round(b * n))))


def parse_budget(text: str) -> int | float:
    """Parse a CLI budget: '3000' is a count, '0.3' a fraction."""
    t = str(text).strip()
    try:
        if any(c in t for c in ".eE"):
            v = float(t)
            # "3000.0" or "1e3" mean a count; only values in (0, 1] are fractions
            return int(v) if v > 1 and v.is_integer() else v
        return int(t)
    except ValueError:
        raise DataError(f"budget {text!r} is neither a count (e.g. 3000) nor a fraction (e.g. 0.3)") from None


def parse_param_value(text: str) -> object:
    """Type a textual parameter value: none/null -> None, true/false -> bool, then int, float, else the str."""
    low = str(text).strip().lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse_param_items(items: list[str], flag: str = "--param") -> dict:
    """``KEY=VALUE`` strings to a dict, values typed by :func:`parse_param_value`."""
    out: dict = {}
    for item in items:
        key, sep, text = str(item).partition("=")
        if not sep or not key.strip():
            raise DataError(f"{flag} {item!r} must look like KEY=VALUE")
        out[key.strip()] = parse_param_value(text)
    return out
