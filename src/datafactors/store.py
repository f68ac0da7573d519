"""The run folder: DuckDB results database, Parquet tables, manifest and config.

Only the driver writes here. Each finished trial goes in one transaction, so a
killed run loses at most the trials in flight.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

# the atomic writers are re-exported here: the CLI and the engines import them from the store
from ._atomic import atomic_write_bytes, atomic_write_json, atomic_write_parquet, atomic_write_text  # noqa: F401
from ._errors import DataError

SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    trial_id VARCHAR PRIMARY KEY, strategy VARCHAR, budget DOUBLE, n_train INTEGER, seed INTEGER,
    learner VARCHAR, status VARCHAR, error VARCHAR, seconds DOUBLE
);
CREATE TABLE IF NOT EXISTS metrics (trial_id VARCHAR, eval_set VARCHAR, metric VARCHAR, value DOUBLE);
"""

TRIAL_COLUMNS = ["trial_id", "strategy", "budget", "n_train", "seed", "learner", "status", "error", "seconds"]


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
                    "INSERT INTO metrics VALUES (?, ?, ?, ?)",
                    [(trial["trial_id"], s, m, float(v)) for s, m, v in metrics],
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


def _run_parquet_files(folder: Path) -> list[Path]:
    """The run folder's own Parquet tables (``scores``, ``selections``, ...), hidden and temporary files skipped."""
    return sorted(p for p in folder.glob("*.parquet") if p.is_file() and not p.name.startswith("."))


def _outside_run(e: Exception) -> bool:
    import duckdb

    return isinstance(e, duckdb.PermissionException) or "configuration has been locked" in str(e)


def query_run(run_dir: str | Path, sql: str) -> pd.DataFrame:
    """Rows of ``sql`` over one run folder, in a session that can reach nothing else.

    The session sees the tables of ``results.duckdb`` (trials, metrics, fits,
    curve_points, ...; attached read-only) and every ``*.parquet`` file of the folder
    as a view named by its stem (``scores``, ``selections``, ``predictions``,
    ``profile``, ...; read lazily through Arrow). File access, extension loading and
    configuration changes are switched off before ``sql`` runs.

    Raises
    ------
    DataError
        If ``run_dir`` is not a run folder, its database is locked by a running run,
        the query fails, or it tries to reach outside the run (files, ``ATTACH``,
        ``COPY ... TO``, ``SET``).

    Examples
    --------
    >>> query_run("runs/20261126-101500-ab12cd", "SELECT count(*) FROM scores")  # doctest: +SKIP
    """
    import duckdb
    import pyarrow.dataset as pds

    store = RunStore(run_dir)
    store.manifest()
    con = duckdb.connect(":memory:")
    try:
        tables: set[str] = set()
        if store.db_path.exists():
            path = str(store.db_path.resolve()).replace("'", "''")
            try:
                con.execute(f"ATTACH '{path}' AS results (READ_ONLY)")
            except duckdb.Error as e:
                raise DataError(
                    f"cannot open {store.db_path}: {str(e).splitlines()[0]} (is a run still writing it?)"
                ) from None
            con.execute("USE results")
            listed = con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'results'")
            tables = {r[0] for r in listed.fetchall()}
        for p in _run_parquet_files(store.path):
            if p.stem in tables:  # the database's own table of that name wins
                continue
            try:
                con.register(p.stem, pds.dataset(str(p), format="parquet"))
            except Exception as e:  # pyarrow raises many types for corrupt files
                raise DataError(f"cannot read {p} to query it: {type(e).__name__}") from None
        con.execute("SET python_enable_replacements = false")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        try:
            return con.execute(sql).df()
        except duckdb.Error as e:
            first = str(e).splitlines()[0]
            if _outside_run(e):
                raise DataError(
                    f"query tried to reach outside the run folder {store.path}, which is not allowed: {first}"
                ) from None
            raise DataError(f"query failed: {first}") from None
    finally:
        con.close()
