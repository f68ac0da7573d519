"""`datafactors run` end to end on the small digits config, then query/report, and score -> select, split."""

from __future__ import annotations

import json
import shutil
from itertools import product

import numpy as np
import pandas as pd
import pytest
from dfcli_helpers import SMALL_CONFIG, assert_ok, read_tables, run_cli

from datafactors.experiment import load_config
from datafactors.io import load

pytestmark = pytest.mark.slow

N_EXPECTED_TRIALS = len(SMALL_CONFIG["strategies"]) * len(SMALL_CONFIG["budgets"]) * len(SMALL_CONFIG["seeds"])
METRICS = {"accuracy", "nll", "brier", "ece"}


def _squash(text: str) -> str:
    """Output without whitespace: rich may fold a long path over several lines."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def digits_train():
    return load("digits")


def test_run_prints_the_report_path(small_run):
    proc, run_dir = small_run["proc"], small_run["run_dir"]
    assert "Report:" in proc.stdout
    assert _squash(str(run_dir / "report.html")) in _squash(proc.stdout)
    assert f"{N_EXPECTED_TRIALS} trials" in proc.stdout
    assert "failed" not in proc.stdout


def test_run_folder_files(small_run):
    run_dir = small_run["run_dir"]
    for name in [
        "config.yaml",
        "manifest.json",
        "results.duckdb",
        "scores.parquet",
        "selections.parquet",
        "report.html",
    ]:
        assert (run_dir / name).is_file(), name
    assert not list(run_dir.glob(".*.tmp")), "temporary files left behind"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["run_id"] == run_dir.name
    assert manifest.get("n_failed", 0) == 0
    # config.yaml is the fully resolved config that was run
    assert load_config(run_dir / "config.yaml") == load_config(small_run["config"])


def test_trials_table(small_run, digits_train):
    run_dir = small_run["run_dir"]
    trials = read_tables(run_dir, "trials")["trials"]
    n = digits_train.n
    assert json.loads((run_dir / "manifest.json").read_text())["dataset"]["n_train"] == n
    assert len(trials) == N_EXPECTED_TRIALS
    assert trials["trial_id"].is_unique
    assert (trials["status"] == "ok").all(), trials[trials.status != "ok"][["trial_id", "error"]]
    assert (trials["learner"] == "mlp").all()
    names = [s["name"] for s in SMALL_CONFIG["strategies"]]
    planned = set(product(names, SMALL_CONFIG["budgets"], SMALL_CONFIG["seeds"]))
    assert set(zip(trials.strategy, trials.budget, trials.seed, strict=True)) == planned
    for row in trials.itertuples():
        assert row.n_train == round(row.budget * n), row.trial_id


def test_metrics_table(small_run):
    tables = read_tables(small_run["run_dir"], "trials", "metrics")
    trials, metrics = tables["trials"], tables["metrics"]
    assert set(metrics["eval_set"]) == {"id_test", "ood_test"}
    assert set(metrics["trial_id"]) == set(trials["trial_id"])
    assert not metrics.duplicated(["trial_id", "eval_set", "metric"]).any()
    have = metrics.groupby(["trial_id", "eval_set"])["metric"].agg(set)
    assert len(have) == 2 * N_EXPECTED_TRIALS
    for key, ms in have.items():
        assert METRICS <= ms, (key, ms)
    assert np.isfinite(metrics["value"]).all()
    acc = metrics[metrics.metric == "accuracy"]
    assert acc["value"].between(0, 1).all()
    # the proxy learns digits: full-data in-distribution accuracy is far above chance
    full = acc.merge(trials, on="trial_id")
    assert full[(full.budget == 1.0) & (full.eval_set == "id_test")]["value"].min() > 0.5


def test_fits_table(small_run):
    fits = read_tables(small_run["run_dir"], "fits")["fits"]
    names = {s["name"] for s in SMALL_CONFIG["strategies"]}
    assert len(fits) == len(names) * 2
    assert set(zip(fits.strategy, fits.eval_set, strict=True)) == set(product(names, ["id_test", "ood_test"]))
    for c in ["alpha", "beta", "gamma", "status", "n_points"]:
        assert c in fits.columns
    assert (fits["n_points"] == len(SMALL_CONFIG["budgets"]) * len(SMALL_CONFIG["seeds"])).all()


def test_scores_parquet(small_run, digits_train):
    scores = pd.read_parquet(small_run["run_dir"] / "scores.parquet")
    assert scores["id"].is_unique
    assert set(scores["id"].astype(str)) == set(digits_train.ids.astype(str))
    assert len(scores) == digits_train.n
    for c in ["el2n", "forgetting", "confidence", "variability", "correctness"]:
        assert c in scores.columns, c
    assert np.isfinite(scores["el2n"]).all()


def test_selections_parquet(small_run, digits_train):
    sel = pd.read_parquet(small_run["run_dir"] / "selections.parquet")
    n = digits_train.n
    per_combo = [round(b * n) for b in SMALL_CONFIG["budgets"]]
    assert len(sel) == len(SMALL_CONFIG["strategies"]) * len(SMALL_CONFIG["seeds"]) * sum(per_combo)
    assert set(sel["id"].astype(str)) <= set(digits_train.ids.astype(str))
    for (strategy, budget, seed), g in sel.groupby(["strategy", "budget", "seed"]):
        assert len(g) == round(budget * n), (strategy, budget, seed)
        assert g["id"].is_unique, (strategy, budget, seed)
    trials = read_tables(small_run["run_dir"], "trials")["trials"]
    counts = sel.groupby(["strategy", "budget", "seed"]).size()
    for t in trials.itertuples():
        assert counts[(t.strategy, t.budget, t.seed)] == t.n_train


def test_report_html(small_run):
    html = (small_run["run_dir"] / "report.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html") or "<html" in html[:500].lower()
    assert "el2n_hardest" in html


def test_query_counts_trials(small_run):
    proc = run_cli("query", small_run["run_dir"], "SELECT count(*) AS n FROM trials")
    assert_ok(proc)
    assert "12" in proc.stdout.split()


def test_query_joins_trials_and_metrics(small_run):
    sql = (
        "SELECT t.strategy, count(*) AS k FROM trials t JOIN metrics m USING (trial_id) "
        "WHERE m.metric = 'accuracy' GROUP BY ALL ORDER BY t.strategy"
    )
    proc = run_cli("query", small_run["run_dir"], sql)
    assert_ok(proc)
    assert "el2n_hardest" in proc.stdout and "random" in proc.stdout
    assert "12" in proc.stdout  # 6 trials x 2 eval sets per strategy


def test_report_rebuilds(small_run):
    run_dir = small_run["run_dir"]
    report = run_dir / "report.html"
    report.unlink()
    proc = run_cli("report", run_dir)
    assert_ok(proc)
    assert report.is_file() and report.stat().st_size > 1000
    assert _squash(str(report)) in _squash(proc.stdout)


def test_long_report_path_is_printed_on_one_line(small_run, tmp_path):
    long_parent = tmp_path / ("a_long_folder_name_for_results_" * 3) / "runs"
    long_parent.mkdir(parents=True)
    run_dir = long_parent / small_run["run_dir"].name
    shutil.copytree(small_run["run_dir"], run_dir, ignore=shutil.ignore_patterns("report.html"))
    proc = run_cli("report", run_dir)
    assert_ok(proc)
    assert str(run_dir / "report.html") in proc.stdout.splitlines()[-1]


def test_score_select_split_commands(tmp_path, digits_train):
    n = digits_train.n
    s = tmp_path / "s.parquet"
    proc = run_cli(
        "score", "digits", "--scores", "el2n,forgetting", "--seeds", "2", "--epochs", "3", "--out", s, "--quiet"
    )
    assert_ok(proc)
    scores = pd.read_parquet(s)
    assert {"id", "el2n", "forgetting"} <= set(scores.columns)
    assert len(scores) == n and scores["id"].is_unique
    assert set(scores["id"]) == set(digits_train.ids.astype(str))

    k = tmp_path / "k.parquet"
    proc = run_cli(
        "select", "digits", "--strategy", "hardest", "--score", "el2n", "--scores", s, "--budget", "0.3", "--out", k
    )
    assert_ok(proc)
    keep = pd.read_parquet(k)
    assert len(keep) == round(0.3 * n)
    assert keep["id"].is_unique
    assert set(keep["id"]) <= set(scores["id"])
    assert {"id", "index", "rank"} <= set(keep.columns)
    assert (digits_train.ids[keep["index"].to_numpy()].astype(str) == keep["id"].to_numpy()).all()
    # hardest by el2n: nothing left out scores higher than anything kept
    kept = scores["id"].isin(keep["id"])
    assert scores.loc[kept, "el2n"].min() >= scores.loc[~kept, "el2n"].max()

    sp = tmp_path / "sp.parquet"
    proc = run_cli("split", "digits", "--kind", "stratified", "--out", sp)
    assert_ok(proc)
    parts = pd.read_parquet(sp)
    assert len(parts) == n and parts["id"].is_unique
    assert set(parts["part"]) == {"train", "test"}
    test_frac = (parts["part"] == "test").mean()
    assert abs(test_frac - 0.2) < 0.01
    # stratified: every class keeps (about) its share in the test part
    y = pd.Series(digits_train.y, index=digits_train.ids.astype(str))
    shares = parts.assign(y=y.loc[parts["id"]].to_numpy()).groupby("y")["part"].apply(lambda p: (p == "test").mean())
    assert (shares - 0.2).abs().max() < 0.05
