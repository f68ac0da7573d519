"""Config schema, planning and the runner."""

from __future__ import annotations

from .config import RunConfig, dump_config, load_config
from .runner import RunResult, rebuild_report, run

__all__ = ["RunConfig", "RunResult", "dump_config", "load_config", "rebuild_report", "run"]
