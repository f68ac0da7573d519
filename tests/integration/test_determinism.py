"""Same config + seeds -> identical scores, selections and metrics, whatever the folder,
the process or the number of workers; other seeds -> other random selections.

The shared small run (conftest ``small_run``) is the baseline; three more runs are
started together: the same config again, the same config on a 2-process pool, and
the same config with seeds [3, 4].
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest
from dfcli_helpers import assert_ok, only_run_dir, popen_cli, read_tables, small_config_dict, sorted_metrics, write_yaml

pytestmark = pytest.mark.slow

VARIANTS = {
    "again": small_config_dict(),
    "two_workers": small_config_dict(n_workers=2),
    "seeds_3_4": small_config_dict(seeds=[3, 4]),
}


@pytest.fixture(scope="module")
def runs(small_run, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("determinism")
    procs = {}
    for name, cfg in VARIANTS.items():
        path = write_yaml(base / f"{name}.yaml", cfg)
        procs[name] = (popen_cli("run", path, "--out", base / name, "--quiet"), base / name)
    out = {"baseline": small_run["run_dir"]}
    try:
        for name, (proc, folder) in procs.items():
            stdout, stderr = proc.communicate(timeout=300)
            assert_ok(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
            out[name] = only_run_dir(folder)
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return out


def _parquet(run_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(run_dir / name)


def _sorted_selections(run_dir: Path) -> pd.DataFrame:
    sel = _parquet(run_dir, "selections.parquet")
    return sel.sort_values(["strategy", "budget", "seed", "rank"]).reset_index(drop=True)


def _trials(run_dir: Path) -> pd.DataFrame:
    t = read_tables(run_dir, "trials")["trials"].drop(columns=["seconds"])
    return t.sort_values("trial_id").reset_index(drop=True)


def _fits(run_dir: Path) -> pd.DataFrame:
    return read_tables(run_dir, "fits")["fits"].sort_values(["strategy", "eval_set"]).reset_index(drop=True)


@pytest.mark.parametrize("other", ["again", "two_workers"])
def test_same_config_same_results(runs, other):
    a, b = runs["baseline"], runs[other]
    assert a.parent != b.parent
    pd.testing.assert_frame_equal(_parquet(a, "scores.parquet"), _parquet(b, "scores.parquet"), check_exact=True)
    pd.testing.assert_frame_equal(_sorted_selections(a), _sorted_selections(b), check_exact=True)
    pd.testing.assert_frame_equal(_trials(a), _trials(b), check_exact=True)
    pd.testing.assert_frame_equal(sorted_metrics(a), sorted_metrics(b), check_exact=True)


def test_same_config_same_fits_and_predictions(runs):
    a, b = runs["baseline"], runs["again"]
    pd.testing.assert_frame_equal(_fits(a), _fits(b), check_exact=True)
    pd.testing.assert_frame_equal(
        _parquet(a, "predictions.parquet"), _parquet(b, "predictions.parquet"), check_exact=True
    )


def test_selection_files_are_byte_identical(runs):
    # Parquet written from identical frames by the same library: the bytes match too.
    for name in ("scores.parquet", "selections.parquet"):
        assert (runs["baseline"] / name).read_bytes() == (runs["again"] / name).read_bytes(), name


def test_other_seeds_other_random_selections(runs):
    a, b = _sorted_selections(runs["baseline"]), _sorted_selections(runs["seeds_3_4"])
    assert set(a.seed) == {0, 1} and set(b.seed) == {3, 4}
    for budget in sorted(set(a.budget)):
        ids_a = {s: frozenset(g["id"]) for s, g in a[(a.strategy == "random") & (a.budget == budget)].groupby("seed")}
        ids_b = {s: frozenset(g["id"]) for s, g in b[(b.strategy == "random") & (b.budget == budget)].groupby("seed")}
        assert all(len(v) == len(ids_a[0]) for v in [*ids_a.values(), *ids_b.values()])
        if budget < 1.0:
            # every seed draws its own subset
            assert len(set(ids_a.values()) | set(ids_b.values())) == 4, budget
        else:
            # 100% keeps every example; only the order differs
            ra = a[(a.strategy == "random") & (a.budget == budget) & (a.seed == 0)]["id"].tolist()
            rb = b[(b.strategy == "random") & (b.budget == budget) & (b.seed == 3)]["id"].tolist()
            assert ra != rb
    # and the trials trained on them differ
    ma, mb = sorted_metrics(runs["baseline"]), sorted_metrics(runs["seeds_3_4"])
    assert set(ma.trial_id).isdisjoint(mb.trial_id)
    acc_a = ma[(ma.metric == "accuracy") & ma.trial_id.str.startswith("random/b=0.25")]["value"].tolist()
    acc_b = mb[(mb.metric == "accuracy") & mb.trial_id.str.startswith("random/b=0.25")]["value"].tolist()
    assert acc_a != acc_b
