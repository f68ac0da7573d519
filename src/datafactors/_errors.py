"""Exceptions raised for bad input. The CLI turns them into one line and exit code 2."""

from __future__ import annotations


class DatafactorsError(Exception):
    """Base class for every error datafactors raises on purpose."""


class DataError(DatafactorsError, ValueError):
    """Bad data: a file, column, array or argument that cannot be used as given."""


class ConfigError(DatafactorsError, ValueError):
    """Bad configuration: an unknown key, a wrong type or an impossible value."""
