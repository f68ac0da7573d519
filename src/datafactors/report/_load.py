"""Read a run folder into memory, recording (not raising) what is missing or unreadable.

A report is most needed when a run is unfinished or broken, so every piece here is
optional: a loader returns ``None`` and puts a one-line reason in ``RunData.problems``.
The derived tables (fits, aggregates, calibration, ...) are written by the analysis stage;
the report reads them and never recomputes them, so one that is absent becomes a
"not computed" note (``datafactors report RUN`` derives them for an older run folder).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "trials": ("trial_id", "strategy", "budget", "n_train", "seed", "status"),
    "metrics": ("trial_id", "eval_set", "metric", "value"),
    "fits": ("strategy", "eval_set", "metric", "alpha", "beta", "gamma", "status"),
    "curve_points": ("strategy", "eval_set", "n", "pred"),
    "aggregates": ("strategy", "budget", "eval_set", "metric", "n_train", "mean", "std", "sem", "min", "max", "n"),
    "crossings": ("eval_set", "a", "b", "n_cross", "err_cross", "better_below", "better_above"),
    "curve_segments": ("eval_set", "n_lo", "n_hi", "best", "err_lo", "err_hi", "margin", "n_full"),
    "calibration": ("eval_set", "metric", "binning", "n_bins", "source", "before", "after", "temperature"),
    "calibration_bins": ("eval_set", "bin_lower", "bin_upper", "confidence", "accuracy", "count", "n_bins", "n", "ece"),
    "summary": ("kind", "eval_set", "role", "budget", "strategy"),
    "backtest": ("strategy", "eval_set", "n_fit_max", "n_pred", "pred", "lo", "hi", "measured", "covered", "status"),
}
# Tables the analysis stage writes (absent in a run folder from before it existed).
DERIVED = (
    "fits",
    "curve_points",
    "aggregates",
    "crossings",
    "curve_segments",
    "calibration",
    "calibration_bins",
    "summary",
    "backtest",
)
PARQUET_COLUMNS: dict[str, tuple[str, ...]] = {
    "scores": ("id",),
    "predictions": ("eval_set", "label"),
    "examples": ("id", "kind"),
    "example_views": ("view", "title", "rank", "id"),
}


@dataclass
class RunData:
    """Everything the report reads from one run folder; ``None`` where it was unavailable."""

    run_dir: Path
    manifest: dict[str, Any] | None = None
    config_text: str | None = None
    trials: pd.DataFrame | None = None
    metrics: pd.DataFrame | None = None
    fits: pd.DataFrame | None = None
    curve_points: pd.DataFrame | None = None
    aggregates: pd.DataFrame | None = None
    crossings: pd.DataFrame | None = None
    curve_segments: pd.DataFrame | None = None
    calibration: pd.DataFrame | None = None
    calibration_bins: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    backtest: pd.DataFrame | None = None
    scores: pd.DataFrame | None = None
    predictions: pd.DataFrame | None = None
    examples: pd.DataFrame | None = None
    example_views: pd.DataFrame | None = None
    problems: dict[str, str] = field(default_factory=dict)

    def why(self, key: str) -> str:
        return self.problems.get(key, f"{key} is not available.")


def _missing_columns(df: pd.DataFrame, required: tuple[str, ...]) -> list[str]:
    return [c for c in required if c not in df.columns]


def _read_manifest(run: RunData) -> None:
    path = run.run_dir / "manifest.json"
    if not path.is_file():
        run.problems["manifest"] = "manifest.json is missing from the run folder."
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        run.problems["manifest"] = f"manifest.json could not be read: {e}"
        return
    if not isinstance(data, dict):
        run.problems["manifest"] = f"manifest.json holds a {type(data).__name__}, expected a JSON object."
        return
    run.manifest = data


def _read_config(run: RunData) -> None:
    path = run.run_dir / "config.yaml"
    if not path.is_file():
        run.problems["config"] = "config.yaml is missing from the run folder."
        return
    try:
        run.config_text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as e:
        run.problems["config"] = f"config.yaml could not be read: {e}"


def _connect(path: Path, tmpdir: str) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        # A running writer holds DuckDB's file lock; read a snapshot copy instead.
        copy = Path(tmpdir) / path.name
        shutil.copy2(path, copy)
        wal = path.with_name(path.name + ".wal")
        if wal.exists():
            shutil.copy2(wal, copy.with_name(copy.name + ".wal"))
        return duckdb.connect(str(copy), read_only=True)


def _read_results(run: RunData) -> None:
    path = run.run_dir / "results.duckdb"
    if not path.is_file():
        for name in TABLE_COLUMNS:
            run.problems[name] = "results.duckdb is missing (the run may not have finished any trial yet)."
        return
    with tempfile.TemporaryDirectory(prefix="datafactors-report-") as tmpdir:
        try:
            con = _connect(path, tmpdir)
        except (duckdb.Error, OSError) as e:
            for name in TABLE_COLUMNS:
                run.problems[name] = f"results.duckdb could not be opened: {e}"
            return
        try:
            present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            for name, required in TABLE_COLUMNS.items():
                if name not in present:
                    run.problems[name] = f"results.duckdb has no table '{name}' yet." + (
                        f" It is derived after the trials; datafactors report {run.run_dir} computes it."
                        if name in DERIVED
                        else ""
                    )
                    continue
                try:
                    df = con.execute(f'SELECT * FROM "{name}"').df()
                except duckdb.Error as e:
                    run.problems[name] = f"table '{name}' could not be read: {e}"
                    continue
                lacking = _missing_columns(df, required)
                if lacking:
                    run.problems[name] = f"table '{name}' lacks column(s) {', '.join(lacking)}."
                    continue
                setattr(run, name, df)
        finally:
            con.close()


def _read_parquets(run: RunData) -> None:
    for name, required in PARQUET_COLUMNS.items():
        path = run.run_dir / f"{name}.parquet"
        if not path.is_file():
            run.problems[name] = f"{name}.parquet is missing from the run folder."
            continue
        try:
            df = pd.read_parquet(path)
        except (OSError, ValueError, pa.ArrowException) as e:
            run.problems[name] = f"{name}.parquet could not be read: {e}"
            continue
        if "id" in required and "id" not in df.columns and df.index.name == "id":
            df = df.reset_index()
        lacking = _missing_columns(df, required)
        if lacking:
            run.problems[name] = f"{name}.parquet lacks column(s) {', '.join(lacking)}."
            continue
        setattr(run, name, df)


def successful_aggregates(run: RunData) -> tuple[pd.DataFrame | None, str]:
    """The ``aggregates`` table when there are successful trials, or ``None`` and why not."""
    if run.trials is None:
        return None, run.why("trials")
    status = run.trials["status"].astype(str)
    if not (status == "ok").any():
        n_failed = int((status == "failed").sum())
        return None, f"No trial has finished successfully yet ({len(run.trials)} recorded, {n_failed} failed)."
    if run.aggregates is None:
        return None, run.why("aggregates")
    if run.aggregates.empty:
        return None, "The aggregates table holds no rows for the successful trials."
    agg = run.aggregates.assign(
        strategy=run.aggregates["strategy"].astype(str),
        eval_set=run.aggregates["eval_set"].astype(str),
        metric=run.aggregates["metric"].astype(str),
    )
    return agg, ""


def load_run(run_dir: Path) -> RunData:
    """Read every part of a run folder that exists; never raises for a missing part."""
    run = RunData(run_dir=run_dir)
    _read_manifest(run)
    _read_config(run)
    _read_results(run)
    _read_parquets(run)
    return run
