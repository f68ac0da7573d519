"""Helpers for the integration tests: the small fast config, the real CLI as a subprocess, run folders.

The CLI is always driven as a separate process (the installed console script when it
exists, else ``python -m datafactors.cli``), so exit codes, stderr and tracebacks are
exactly what a user sees.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

# dataset digits, 2 strategies x 3 budgets x 2 seeds = 12 trials (10 distinct: the 100% subsets coincide).
SMALL_CONFIG: dict[str, Any] = {
    "dataset": "digits",
    "learner": "mlp",
    "learner_params": {"hidden": [32], "batch_size": 64, "lr": 0.005},
    "epochs": 5,
    "seeds": [0, 1],
    "budgets": [0.25, 0.5, 1.0],
    "strategies": [
        {"name": "random", "selector": "random"},
        {"name": "el2n_hardest", "selector": "hardest", "score": "el2n"},
    ],
    "scoring": {"scores": ["el2n", "forgetting", "cartography"], "seeds": 2},
    "fit": {"n_boot": 20},
    "n_workers": 1,
}

_SCRIPT = Path(sys.executable).with_name("datafactors")
CLI_PREFIX: list[str] = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "datafactors.cli"]


def small_config_dict(**overrides: Any) -> dict[str, Any]:
    """A deep copy of SMALL_CONFIG with top-level keys replaced."""
    cfg = copy.deepcopy(SMALL_CONFIG)
    cfg.update(copy.deepcopy(overrides))
    return cfg


def write_yaml(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def cli_env() -> dict[str, str]:
    # Leave every BLAS setting as it is; only drop a terminal width inherited from a shell.
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    return env


def run_cli(*args: Any, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI_PREFIX, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(),
    )


def popen_cli(*args: Any, cwd: Path | None = None, **kw: Any) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI_PREFIX, *map(str, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        **kw,
    )


def only_run_dir(out: Path) -> Path:
    dirs = [p for p in out.iterdir() if p.is_dir()]
    assert len(dirs) == 1, f"expected one run folder under {out}, found {sorted(p.name for p in dirs)}"
    return dirs[0]


def assert_ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stdout + proc.stderr


def read_tables(run_dir: Path, *names: str) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(str(run_dir / "results.duckdb"), read_only=True)
    try:
        return {n: con.execute(f"SELECT * FROM {n}").df() for n in names}
    finally:
        con.close()


def sorted_metrics(run_dir: Path):
    m = read_tables(run_dir, "metrics")["metrics"]
    return m.sort_values(["trial_id", "eval_set", "metric"]).reset_index(drop=True)


CliRunner = Callable[..., subprocess.CompletedProcess]
