"""Shared fixtures for the integration tests: a small fast config and one shared CLI run.

Helpers (the CLI as a subprocess, config writing, table reading) live in dfcli_helpers.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dfcli_helpers import SMALL_CONFIG, assert_ok, only_run_dir, run_cli, write_yaml


@pytest.fixture
def small_config(tmp_path: Path) -> Path:
    """The small fast config (digits, 12 trials) written as YAML under tmp_path."""
    return write_yaml(tmp_path / "small.yaml", SMALL_CONFIG)


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One completed CLI run of the small config, shared by the end-to-end and determinism tests.

    Tests may read it; only ``report`` (which rewrites report.html) writes to it.
    """
    base = tmp_path_factory.mktemp("small_run")
    cfg = write_yaml(base / "small.yaml", SMALL_CONFIG)
    out = base / "out"
    proc = run_cli("run", cfg, "--out", out, "--quiet")
    assert_ok(proc)
    return {"config": cfg, "out": out, "run_dir": only_run_dir(out), "proc": proc}


@pytest.fixture(scope="module")
def ray_instance():
    """A local Ray instance (2 CPUs) with its session files in a temp folder removed afterwards."""
    import os
    import shutil
    import tempfile

    ray = pytest.importorskip("ray")
    had_stats = "RAY_USAGE_STATS_ENABLED" in os.environ
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    started = not ray.is_initialized()
    temp = tempfile.mkdtemp(prefix="dfray")  # short: Ray's socket paths must fit in 107 bytes
    if started:
        ray.init(num_cpus=2, log_to_driver=False, include_dashboard=False, logging_level="ERROR", _temp_dir=temp)
    yield ray
    if started:
        ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)
    if not had_stats:
        os.environ.pop("RAY_USAGE_STATS_ENABLED", None)
