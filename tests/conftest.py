"""Fixtures shared by every test directory."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest


@pytest.fixture
def cli() -> Callable[[Sequence[object]], int]:
    """Run the ``datafactors`` CLI in this process: ``cli(argv)`` is its exit code (0 on success).

    Each argument is passed as ``str(arg)`` (paths may be given as is); Typer's ``SystemExit``
    after a command is turned into its code, as the shell would see it.
    """
    from datafactors.cli import main

    def run(argv: Sequence[object]) -> int:
        try:
            return main([str(a) for a in argv]) or 0
        except SystemExit as e:  # Typer exits after a command; None / 0 means success
            return e.code or 0

    return run
