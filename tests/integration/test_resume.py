"""A run killed with SIGKILL part-way through its trials, then `datafactors run --resume RUN`.

The resumed run must hold every planned trial once, all ok, keep the trials that were
already finished, and have exactly the metrics of an uninterrupted run of the same config.

The kill point is chosen by watching the number of finished trials: a *copy* of
results.duckdb (and its WAL) is read every few milliseconds, since the live file is
locked by the running process. If a try ends up with no trial or every trial done
(a slow or fast machine), it is repeated.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dfcli_helpers import (
    assert_ok,
    only_run_dir,
    popen_cli,
    read_tables,
    run_cli,
    small_config_dict,
    sorted_metrics,
    write_yaml,
)

pytestmark = pytest.mark.slow

# The small config with longer trials (20 epochs; scoring keeps 5) so there is time to kill between trials.
RESUME_CONFIG = small_config_dict(
    epochs=20, scoring={"scores": ["el2n", "forgetting", "cartography"], "seeds": 2, "epochs": 5}
)
N_TRIALS = 12  # 2 strategies x 3 budgets x 2 seeds
MAX_TRIES = 4


def _count_trials_of_live_run(out: Path, scratch: Path) -> int:
    """Finished trials of the run being written under ``out`` (-1 if not readable yet)."""
    dirs = [p for p in out.iterdir() if p.is_dir()] if out.exists() else []
    if not dirs or not (dirs[0] / "results.duckdb").exists():
        return -1
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        for name in ("results.duckdb", "results.duckdb.wal"):
            if (dirs[0] / name).exists():
                shutil.copy(dirs[0] / name, scratch / name)
        con = duckdb.connect(str(scratch / "results.duckdb"))
        try:
            return int(con.execute("SELECT count(*) FROM trials").fetchone()[0])
        finally:
            con.close()
    except (OSError, duckdb.Error):
        return -1  # caught mid-write or before the schema exists: try again


def _finished(run_dir: Path) -> pd.DataFrame:
    con = duckdb.connect(str(run_dir / "results.duckdb"))  # the writer is dead; this also replays its WAL
    try:
        return con.execute("SELECT trial_id, status, seconds FROM trials").df()
    finally:
        con.close()


def _run_and_kill(cfg: Path, out: Path, kill_after: int, scratch: Path) -> Path:
    proc = popen_cli("run", cfg, "--out", out, "--quiet")
    try:
        deadline = time.monotonic() + 240
        while proc.poll() is None and time.monotonic() < deadline:
            if _count_trials_of_live_run(out, scratch) >= kill_after:
                break
            time.sleep(0.01)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return only_run_dir(out)


@pytest.fixture(scope="module")
def resume_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_yaml(tmp_path_factory.mktemp("resume_cfg") / "resume.yaml", RESUME_CONFIG)


@pytest.fixture(scope="module")
def reference(resume_config: Path, tmp_path_factory: pytest.TempPathFactory):
    """An uninterrupted run of the same config, started in the background; call it to wait for its folder."""
    out = tmp_path_factory.mktemp("resume_reference") / "out"
    proc = popen_cli("run", resume_config, "--out", out, "--quiet")

    def wait() -> Path:
        stdout, stderr = proc.communicate(timeout=300)
        assert_ok(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
        return only_run_dir(out)

    yield wait
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("kill_after", [2, 8], ids=["early", "late"])
def test_resume_after_kill(kill_after, resume_config, reference, tmp_path):
    for attempt in range(MAX_TRIES):
        out = tmp_path / f"out{attempt}"
        run_dir = _run_and_kill(resume_config, out, kill_after, tmp_path / "scratch")
        before = _finished(run_dir)
        print(f"kill_after={kill_after}: try {attempt + 1} stopped with {len(before)} of {N_TRIALS} trials done")
        if 0 < len(before) < N_TRIALS:
            break
    else:
        pytest.fail(f"could not stop the run part-way in {MAX_TRIES} tries (last: {len(before)} trials done)")
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "running"
    had_predictions = (run_dir / "predictions.parquet").exists()

    proc = run_cli("run", "--resume", run_dir, "--quiet")
    assert_ok(proc)
    assert [p for p in out.iterdir()] == [run_dir], "resume must finish the run in place, not make a new folder"

    trials = read_tables(run_dir, "trials")["trials"]
    assert len(trials) == N_TRIALS
    assert trials["trial_id"].is_unique
    assert (trials["status"] == "ok").all(), trials[trials.status != "ok"][["trial_id", "error"]]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert (run_dir / "report.html").is_file()

    # Trials finished before the kill were kept, not trained again (their recorded seconds are unchanged).
    # The group of the reference trial is re-trained once if its predictions were not saved yet.
    kept = before.merge(trials, on="trial_id", suffixes=("_before", "_after"))
    if not had_predictions:
        kept = kept[~kept.trial_id.str.contains("/b=1/s=0/")]
    assert len(kept) > 0
    assert (kept["seconds_before"] == kept["seconds_after"]).all()

    # Same metrics, to the last bit, as the uninterrupted run; same scores and selections.
    ref_dir = reference()
    pd.testing.assert_frame_equal(sorted_metrics(run_dir), sorted_metrics(ref_dir), check_exact=True)
    ref_trials = read_tables(ref_dir, "trials")["trials"]
    cols = ["trial_id", "strategy", "budget", "n_train", "seed", "learner", "status"]
    pd.testing.assert_frame_equal(
        trials[cols].sort_values("trial_id").reset_index(drop=True),
        ref_trials[cols].sort_values("trial_id").reset_index(drop=True),
    )
    for name in ("scores.parquet", "selections.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(run_dir / name), pd.read_parquet(ref_dir / name), check_exact=True
        )
