"""The run folder: DuckDB results database, Parquet tables, manifest and config.

Only the driver writes here. Each finished trial goes in one transaction, so a
killed run loses at most the trials in flight.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from ._errors import DataError

SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    trial_id VARCHAR PRIMARY KEY, strategy VARCHAR, budget DOUBLE, n_train INTEGER, seed INTEGER,
    learner VARCHAR, status VARCHAR, error VARCHAR, seconds DOUBLE
);
CREATE TABLE IF NOT EXISTS metrics (trial_id VARCHAR, eval_set VARCHAR, metric VARCHAR, value DOUBLE);
"""

TRIAL_COLUMNS = ["trial_id", "strategy", "budget", "n_train", "seed", "learner", "status", "error", "seconds"]


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temp file beside ``path`` then rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, _umask_mode())  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_parquet(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        frame.to_parquet(tmp, index=False)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class RunStore:
    """Reads and writes one ``runs/<run-id>/`` folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._con = None

    # -- files
    @property
    def db_path(self) -> Path:
        return self.path / "results.duckdb"

    def write_text(self, name: str, text: str) -> None:
        atomic_write_bytes(self.path / name, text.encode())

    def write_parquet(self, name: str, frame: pd.DataFrame) -> None:
        atomic_write_parquet(frame, self.path / name)

    def read_parquet(self, name: str) -> pd.DataFrame | None:
        p = self.path / name
        return pd.read_parquet(p) if p.exists() else None

    def manifest(self) -> dict[str, Any]:
        p = self.path / "manifest.json"
        if not p.exists():
            raise DataError(f"{self.path} is not a datafactors run folder (no manifest.json)")
        try:
            return json.loads(p.read_text())
        except json.JSONDecodeError:
            raise DataError(f"{p} is corrupt (not valid JSON)") from None

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        self.write_text("manifest.json", json.dumps(manifest, indent=2, default=str))

    def update_manifest(self, **changes: Any) -> dict[str, Any]:
        m = self.manifest()
        m.update(changes)
        self.write_manifest(m)
        return m

    # -- database
    def connect(self, read_only: bool = False):
        import duckdb

        if self._con is None:
            if read_only and not self.db_path.exists():
                raise DataError(f"{self.path} has no results.duckdb yet")
            try:
                self._con = duckdb.connect(str(self.db_path), read_only=read_only)
            except duckdb.Error as e:
                raise DataError(
                    f"cannot open {self.db_path}: {str(e).splitlines()[0]} (is a run still writing it?)"
                ) from None
            if not read_only:
                self._con.execute(SCHEMA)
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def finished_trials(self) -> set[str]:
        con = self.connect()
        return {r[0] for r in con.execute("SELECT trial_id FROM trials WHERE status = 'ok'").fetchall()}

    def write_trial(self, trial: dict[str, Any], metrics: list[tuple[str, str, float]]) -> None:
        """Insert one trial and its metrics rows in a single transaction (replacing an earlier try)."""
        con = self.connect()
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM metrics WHERE trial_id = ?", [trial["trial_id"]])
            con.execute("DELETE FROM trials WHERE trial_id = ?", [trial["trial_id"]])
            con.execute(
                f"INSERT INTO trials VALUES ({', '.join('?' * len(TRIAL_COLUMNS))})",
                [trial.get(c) for c in TRIAL_COLUMNS],
            )
            if metrics:
                con.executemany(
                    "INSERT INTO metrics VALUES (?, ?, ?, ?)", [(trial["trial_id"], s, m, float(v)) for s, m, v in metrics]
                )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def replace_table(self, name: str, frame: pd.DataFrame) -> None:
        """Replace a whole derived table (fits, curve_points) in one transaction."""
        con = self.connect()
        con.execute("BEGIN TRANSACTION")
        try:
            con.register("_incoming", frame)
            con.execute(f"DROP TABLE IF EXISTS {name}")
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM _incoming")
            con.unregister("_incoming")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def table(self, name: str) -> pd.DataFrame:
        return self.connect().execute(f"SELECT * FROM {name}").df()

    def query(self, sql: str) -> pd.DataFrame:
        import duckdb

        try:
            return self.connect().execute(sql).df()
        except duckdb.Error as e:
            raise DataError(f"query failed: {str(e).splitlines()[0]}") from None
