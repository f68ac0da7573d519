"""The example run configs in configs/ validate against the current schema and registries, and run."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from datafactors.experiment import run
from datafactors.experiment.config import load_config

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


@pytest.fixture
def one_thread():
    """One torch / faiss thread, as the local engine gives each worker (trials here run in-process)."""
    import faiss
    import torch

    before = torch.get_num_threads(), faiss.omp_get_max_threads()
    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)
    yield
    torch.set_num_threads(before[0])
    faiss.omp_set_num_threads(before[1])


def test_the_three_studies_exist():
    assert {p.stem for p in CONFIGS} == {"pruning", "dedup", "ood"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_validates(path):
    cfg = load_config(path)  # schema, selector / score / learner names
    assert len(cfg.strategies) >= 3 and "random" in {s.selector for s in cfg.strategies}


@pytest.mark.slow
@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_runs(path, tmp_path, one_thread):
    cfg = load_config(path)
    cfg.n_workers = 1  # in-process: no worker start-up, same results
    res = run(cfg, out=tmp_path, make_report=False)
    expected = len(cfg.strategies) * len(cfg.budgets) * len(cfg.seeds)
    assert res.n_trials == expected and res.n_failed == 0
    con = duckdb.connect(str(res.run_dir / "results.duckdb"), read_only=True)
    try:
        sets = {r[0] for r in con.execute("SELECT DISTINCT eval_set FROM metrics").fetchall()}
        ok_fits = con.execute("SELECT count(*) FROM fits WHERE status = 'ok'").fetchone()[0]
    finally:
        con.close()
    assert {"id_test", "ood_test"} <= sets
    assert ok_fits >= len(cfg.strategies)
