"""build_report on a synthetic run folder: structure, offline-ness, numbers, missing parts."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import plotly.offline
import pytest

from datafactors import DataError
from datafactors.analysis import derive
from datafactors.report import build_report
from datafactors.store import RunStore

STRATEGIES = ["random", "el2n", "kcenter"]
BUDGETS = [0.1, 0.25, 0.5, 1.0]
SEEDS = [0, 1]
N_FULL = 1000
TARGET = 0.10
SECTION_TITLES = [
    "Summary",
    "Learning curves",
    "Scaling fits",
    "Metrics by strategy and budget",
    "Data map (dataset cartography)",
    "Score distributions",
    "Score correlations",
    "Calibration of the full-data model",
    "Dataset profile",
    "Recipe verdicts",
    "Trials and configuration",
]
# err(n) = alpha * n**beta + gamma (datafactors.scaling convention, beta < 0) per eval set; OOD's floor is above the target so it is unreachable.
FIT_PARAMS = {"id_test": (2.0, -0.5, 0.05), "ood_test": (1.5, -0.4, 0.20)}
OFFSETS = {
    "id_test": {"random": 0.0, "el2n": -0.03, "kcenter": -0.01},
    "ood_test": {"random": 0.0, "el2n": 0.01, "kcenter": -0.02},
}
DERIVED = ("aggregates", "crossings", "curve_segments", "calibration", "calibration_bins", "summary", "backtest")
FAILED_ERROR = "RuntimeError: boom <script>alert(1)</script>"


def _trials_and_metrics(rng: np.random.Generator, *, failed: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    trials, metrics = [], []
    for s in STRATEGIES:
        for b in BUDGETS:
            for seed in SEEDS:
                tid = f"{s}-{b}-{seed}"
                n = int(b * N_FULL)
                trials.append(
                    dict(
                        trial_id=tid,
                        strategy=s,
                        budget=b,
                        n_train=n,
                        seed=seed,
                        learner="mlp",
                        status="ok",
                        error=None,
                        seconds=1.0 + rng.random(),
                    )
                )
                for es, (a, beta, g) in FIT_PARAMS.items():
                    err = a * n**beta + g + OFFSETS[es][s] * (1 - b) + rng.normal(0, 0.004)
                    acc = float(np.clip(1 - err, 0, 1))
                    for metric, value in (
                        ("accuracy", acc),
                        ("nll", 2 * err + 0.1),
                        ("brier", err * 0.8),
                        ("ece", 0.05 + rng.random() * 0.02),
                    ):
                        metrics.append(dict(trial_id=tid, eval_set=es, metric=metric, value=float(value)))
    if failed:
        trials.append(
            dict(
                trial_id="kcenter-0.1-9",
                strategy="kcenter",
                budget=0.1,
                n_train=100,
                seed=9,
                learner="mlp",
                status="failed",
                error=FAILED_ERROR,
                seconds=0.2,
            )
        )
    return pd.DataFrame(trials), pd.DataFrame(metrics)


def _fits_and_curves() -> tuple[pd.DataFrame, pd.DataFrame]:
    fits, curves = [], []
    grid = np.geomspace(BUDGETS[0] * N_FULL, 4 * N_FULL, 25)
    for s in STRATEGIES:
        for es, (a, beta, g) in FIT_PARAMS.items():
            a = a * (1 + 0.05 * STRATEGIES.index(s))

            def f(n, a=a, beta=beta, g=g):
                return a * np.asarray(n, float) ** beta + g

            reachable = g < TARGET
            needed = ((TARGET - g) / a) ** (1 / beta) if reachable else np.inf
            fits.append(
                dict(
                    strategy=s,
                    eval_set=es,
                    metric="error",
                    alpha=a,
                    beta=beta,
                    gamma=g,
                    alpha_lo=a * 0.9,
                    alpha_hi=a * 1.1,
                    beta_lo=beta - 0.05,
                    beta_hi=beta + 0.05,
                    gamma_lo=g - 0.01,
                    gamma_hi=g + 0.01,
                    n_points=len(BUDGETS),
                    n_full=N_FULL,
                    pred_2x=float(f(2 * N_FULL)),
                    pred_2x_lo=float(f(2 * N_FULL)) - 0.01,
                    pred_2x_hi=float(f(2 * N_FULL)) + 0.012,
                    pred_4x=float(f(4 * N_FULL)),
                    pred_4x_lo=float(f(4 * N_FULL)) - 0.015,
                    pred_4x_hi=float(f(4 * N_FULL)) + 0.02,
                    target=TARGET,
                    n_needed=needed,
                    n_needed_lo=needed * 0.8,
                    n_needed_hi=needed * 1.5 if reachable else np.inf,
                    reachable=reachable,
                    status="ok",
                )
            )
            pred = f(grid)
            curves += [
                dict(strategy=s, eval_set=es, n=n, pred=p, lo=p - 0.01, hi=p + 0.01)
                for n, p in zip(grid, pred, strict=True)
            ]
    return pd.DataFrame(fits), pd.DataFrame(curves)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def make_run(
    root: Path,
    *,
    predictions: bool = True,
    fits: bool = True,
    failed: bool = False,
    results: bool = True,
    status: str = "complete",
) -> Path:
    run = root / "run-2024-05-01"
    run.mkdir()
    rng = np.random.default_rng(0)
    manifest = {
        "run_id": "run-2024-05-01",
        "status": status,
        "version": "0.1.0",
        "git_rev": "abc1234",
        "created": "2024-05-01T12:00:00Z",
        "dataset": {
            "name": "mnist1d",
            "n_train": N_FULL,
            "n_test": 150,
            "n_ood": 100,
            "n_features": 40,
            "n_classes": 3,
        },
        "ood_description": "shifted copy <with noise>",
        "protocol": "fixed-samples-seen",
        "protocol_description": "Every subset sees 20,000 examples.",
        "learner": "mlp",
        "epochs": 20,
        "seeds": SEEDS,
        "target_error": TARGET,
    }
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "config.yaml").write_text("dataset: mnist1d\nstrategies: [random, el2n, kcenter]\nnote: '<b>x</b>'\n")
    if results:
        trials, metrics = _trials_and_metrics(rng, failed=failed)
        con = duckdb.connect(str(run / "results.duckdb"))
        con.execute(
            "CREATE TABLE trials(trial_id VARCHAR, strategy VARCHAR, budget DOUBLE, n_train INTEGER, seed INTEGER, "
            "learner VARCHAR, status VARCHAR, error VARCHAR, seconds DOUBLE)"
        )
        con.execute("CREATE TABLE metrics(trial_id VARCHAR, eval_set VARCHAR, metric VARCHAR, value DOUBLE)")
        con.register("t", trials)
        con.execute("INSERT INTO trials SELECT * FROM t")
        con.register("m", metrics)
        con.execute("INSERT INTO metrics SELECT * FROM m")
        if fits:
            fit_df, curve_df = _fits_and_curves()
            con.register("f", fit_df)
            con.execute("CREATE TABLE fits AS SELECT * FROM f")
            con.register("c", curve_df)
            con.execute("CREATE TABLE curve_points AS SELECT * FROM c")
        con.close()
    n = 200
    ids = [f"ex-{i:03d}" for i in range(n)]
    forgetting = rng.integers(0, 5, n).astype(float)
    forgetting[:7] = np.inf
    pd.DataFrame(
        {
            "id": ids,
            "label": rng.integers(0, 3, n),
            "el2n": rng.random(n),
            "grand": rng.random(n) * 3,
            "forgetting": forgetting,
            "confidence": rng.random(n),
            "variability": rng.random(n) * 0.4,
            "correctness": rng.integers(0, 6, n) / 5,
            "aum": rng.normal(size=n),
        }
    ).to_parquet(run / "scores.parquet")
    pd.DataFrame(
        [
            dict(strategy=s, budget=b, seed=seed, id=ids[i], rank=r)
            for s in STRATEGIES
            for b in BUDGETS
            for seed in SEEDS
            for r, i in enumerate(range(int(b * n)))
        ]
    ).to_parquet(run / "selections.parquet")
    if predictions:
        rows = []
        for es, m in (("id_test", 150), ("ood_test", 100)):
            labels = rng.integers(0, 3, m)
            logits = rng.normal(size=(m, 3)) * 1.5
            logits[np.arange(m), labels] += 1.5 if es == "id_test" else 0.3
            probs = _softmax(logits)
            for i in range(m):
                rows.append(
                    dict(
                        eval_set=es,
                        id=f"{es}-{i}",
                        label=int(labels[i]),
                        **{f"prob_{k}": float(probs[i, k]) for k in range(3)},
                    )
                )
        pd.DataFrame(rows).to_parquet(run / "predictions.parquet")
    if results:
        # What the analysis stage derives from these hand-made trials, fits and predictions.
        with RunStore(run) as st:
            derive(st, tables=[t for t in DERIVED if t not in ("fits", "fit_draws", "curve_points")])
    return run


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    p = _Tags()
    p.feed(html)
    return p.tags


def _n_figures(html: str) -> int:
    return html.count('class="plotly-graph-div"')


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> tuple[Path, str]:
    run = make_run(tmp_path_factory.mktemp("full"))
    out = build_report(run)
    return run, out.read_text(encoding="utf-8")


def test_writes_report_atomically(full):
    run, html = full
    assert (run / "report.html").is_file()
    assert html.startswith("<!DOCTYPE html>")
    assert [p.name for p in run.iterdir() if p.name.endswith(".tmp")] == []
    # Rebuilding replaces the file in place.
    assert build_report(str(run)) == run / "report.html"


def test_self_contained_offline(full):
    _, html = full
    js = plotly.offline.get_plotlyjs()
    assert html.count(js[:300]) == 1
    assert html.count(js[-300:]) == 1
    tags = _tags(html)
    for tag, attrs in tags:
        for key in ("src", "href"):
            value = (attrs.get(key) or "").strip().lower()
            assert not value.startswith(("http://", "https://", "//")), (tag, attrs)
    scripts = [a for t, a in tags if t == "script"]
    assert scripts and all("src" not in a for a in scripts)
    assert not [t for t, _ in tags if t == "link"]
    # Outside the inlined bundle (whose own defaults mention URLs it never loads here) no URL at all.
    rest = html.replace(js, "")
    assert "http://" not in rest and "https://" not in rest


def test_sections_and_figures(full):
    _, html = full
    positions = [html.index(f"<h2>{title}</h2>") for title in SECTION_TITLES]
    assert positions == sorted(positions)
    # learning curves (ID, OOD) + metrics small multiples (ID, OOD) + score histograms
    # + correlation heatmap + data map + reliability (ID, OOD) + temperature-scaling bin sweep
    assert _n_figures(html) == 10
    assert "<details" in html and "Resolved configuration (config.yaml)" in html
    metrics = html.split("<h2>Metrics by strategy and budget</h2>")[1].split("<h2>")[0]
    assert 'id="fig-metrics-0"' in metrics and 'id="fig-metrics-1"' in metrics  # plots first
    assert metrics.index('id="fig-metrics-0"') < metrics.index("<details><summary>Table:") < metrics.index("<table")


def test_header(full):
    _, html = full
    assert "run-2024-05-01" in html
    assert "DataComp" in html and "fixed samples seen" in html.lower()
    assert "shifted copy &lt;with noise&gt;" in html
    assert "abc1234" in html and "mnist1d" in html
    assert "banner" not in html.split("<nav")[0].split("</dl>")[1]


def _expected_acc(run: Path) -> pd.DataFrame:
    con = duckdb.connect(str(run / "results.duckdb"), read_only=True)
    df = con.execute(
        "SELECT t.strategy, t.budget, t.n_train, m.eval_set, m.value FROM trials t JOIN metrics m USING (trial_id) "
        "WHERE t.status = 'ok' AND m.metric = 'accuracy'"
    ).df()
    con.close()
    return df.groupby(["eval_set", "budget", "strategy"])["value"].mean()


def test_summary_which_data(full):
    run, html = full
    acc = _expected_acc(run)
    summary = html.split("<h2>Summary</h2>")[1].split("<h2>")[0]
    for es, label in (("id_test", "ID test"), ("ood_test", "OOD test")):
        for b in (0.1, 0.5):
            at = acc.loc[(es, b)]
            best = at.idxmax()
            text = f"<b>{best}</b> has the best mean {label} accuracy: {_pct(at[best])}"
            assert text in summary
            if best != "random":
                assert f"vs {_pct(at['random'])} for random ({(at[best] - at['random']) * 100:+.1f} pp" in summary


def test_summary_how_much(full):
    run, html = full
    acc = _expected_acc(run)
    best = acc.loc[("id_test", 1.0)].idxmax()
    fit_df, _ = _fits_and_curves()
    summary = html.split("<h2>Summary</h2>")[1].split("<h2>")[0]
    assert f"Extrapolations use the fits for <b>{best}</b>" in summary
    row = fit_df[(fit_df.strategy == best) & (fit_df.eval_set == "id_test")].iloc[0]
    assert f"{_pct(row.pred_2x)} [{_pct(row.pred_2x_lo)}, {_pct(row.pred_2x_hi)}]" in summary
    assert f"{_pct(row.pred_4x)} [{_pct(row.pred_4x_lo)}, {_pct(row.pred_4x_hi)}]" in summary
    # Next to the answer: how its own backtest went (refit on the small budgets, predict the largest).
    import duckdb

    with duckdb.connect(str(run / "results.duckdb"), read_only=True) as con:
        bt = con.execute("SELECT * FROM backtest WHERE eval_set = 'id_test' AND status = 'ok'").df()
    assert len(bt) and f"held the measured error for {int(bt['covered'].sum())} of {len(bt)} curves" in summary
    assert f"about {round(row.n_needed):,} examples needed" in summary
    assert "(n = 2,000)" in summary and "(n = 4,000)" in summary
    assert "unreachable: the fitted floor gamma" in summary  # OOD floor 0.20 > target 0.10


def test_tables(full):
    _, html = full
    fits = html.split("<h2>Scaling fits</h2>")[1].split("<h2>")[0]
    assert fits.count("<tr>") == 1 + len(STRATEGIES) * 2
    assert "∞" in fits  # unreachable n_needed
    metrics = html.split("<h2>Metrics by strategy and budget</h2>")[1].split("<h2>")[0]
    assert metrics.count("<tr") == 2 * (1 + len(STRATEGIES) * len(BUDGETS))
    assert " ± " in metrics and 'class="best"' in metrics


def test_scores_and_cartography(full):
    _, html = full
    scores = html.split("<h2>Score distributions</h2>")[1].split("<h2>")[0]
    assert "forgetting (7 never learned)" in scores
    assert "aum" in scores  # extra numeric score column is handled
    chunk = html.split('id="fig-cartography"')[1].split("</script>")[0]
    assert '"customdata"' in chunk
    for i in range(200):
        assert f'"ex-{i:03d}"' in chunk
    assert "+∞" in chunk or "+\\u221e" in chunk  # never-learned forgetting shows in hover


def _ece(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> float:
    conf, correct = probs.max(1), probs.argmax(1) == labels
    total = 0.0
    for k in range(n_bins):
        lo, hi = k / n_bins, (k + 1) / n_bins
        mask = (conf > lo) & (conf <= hi) if k else (conf <= hi)
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return total


def test_reliability_ece_in_title(full):
    run, html = full
    pred = pd.read_parquet(run / "predictions.parquet")
    for es in ("id_test", "ood_test"):
        sub = pred[pred.eval_set == es]
        ece = _ece(sub[["prob_0", "prob_1", "prob_2"]].to_numpy(), sub.label.to_numpy())
        assert f"ECE = {ece:.3f}" in html


def test_escapes_data_strings(tmp_path):
    run = make_run(tmp_path, failed=True)
    html = build_report(run).read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html  # config shown verbatim, escaped
    assert "1 of 25 trials failed" in html
    trials = html.split("<h2>Trials and configuration</h2>")[1]
    assert "<details open>" in trials
    first_row = trials.split("<tbody>")[1].split("</tr>")[0]
    assert 'class="failed"' in first_row and "kcenter-0.1-9" in first_row
    assert _n_figures(html) == 10


def test_missing_predictions(tmp_path):
    html = build_report(make_run(tmp_path, predictions=False)).read_text(encoding="utf-8")
    calib = html.split("<h2>Calibration of the full-data model</h2>")[1].split("<h2>")[0]
    assert "predictions.parquet is missing" in calib
    assert _n_figures(html) == 7  # no reliability diagrams and no bin sweep


def test_missing_fits(tmp_path):
    html = build_report(make_run(tmp_path, fits=False)).read_text(encoding="utf-8")
    summary = html.split("<h2>Summary</h2>")[1].split("<h2>")[0]
    assert "has no table &#x27;fits&#x27;" in summary
    assert "has the best mean ID test accuracy" in summary  # the rest of the summary still works
    assert "No fitted curves" in html
    assert _n_figures(html) == 10


def test_running_run_without_results(tmp_path):
    run = make_run(tmp_path, results=False, predictions=False, status="running")
    html = build_report(run).read_text(encoding="utf-8")
    assert "This run is not complete (status: running)" in html
    assert "results.duckdb is missing" in html
    for title in SECTION_TITLES:
        assert f"<h2>{title}</h2>" in html
    assert _n_figures(html) == 3  # only the score histograms and their correlation heatmap


def test_only_failed_trials(tmp_path):
    run = make_run(tmp_path, fits=False)
    con = duckdb.connect(str(run / "results.duckdb"))
    con.execute("UPDATE trials SET status = 'failed', error = 'boom'")
    con.close()
    html = build_report(run).read_text(encoding="utf-8")
    assert "No trial has finished successfully yet" in html
    assert "24 of 24 trials failed" in html


def test_empty_folder(tmp_path):
    html = build_report(tmp_path).read_text(encoding="utf-8")
    assert "manifest.json is missing" in html
    assert re.search(r"<h1>datafactors report: [^<]+</h1>", html)
    assert _n_figures(html) == 0


def test_not_a_directory(tmp_path):
    with pytest.raises(DataError, match="not a directory"):
        build_report(tmp_path / "nope")


def test_database_held_open_by_running_writer(tmp_path):
    run = make_run(tmp_path, status="running")
    con = duckdb.connect(str(run / "results.duckdb"))  # the runner keeps its read-write connection open
    try:
        con.execute("INSERT INTO trials VALUES ('late', 'random', 0.1, 100, 5, 'mlp', 'failed', 'late', 1.0)")
        html = build_report(run).read_text(encoding="utf-8")
    finally:
        con.close()
    assert "has the best mean ID test accuracy" in html
    assert "1 of 25 trials failed" in html  # the uncheckpointed row is seen too


def test_fit_strategy_falls_back_when_best_fit_failed():
    from datafactors.analysis.summary import choose_fit_strategy

    agg = pd.DataFrame(
        dict(
            strategy=["random", "el2n", "kcenter"],
            budget=[1.0] * 3,
            eval_set=["id_test"] * 3,
            metric=["accuracy"] * 3,
            mean=[0.80, 0.90, 0.85],
        )
    )
    fits = pd.DataFrame(
        dict(
            strategy=["random", "el2n", "kcenter"],
            eval_set=["id_test"] * 3,
            metric=["error"] * 3,
            status=["ok", "too few points", "ok"],
        )
    )
    choice = choose_fit_strategy(agg, fits)
    assert choice.strategy == "kcenter"
    assert "el2n came first but has no successful ID test fit" in choice.explanation
    assert choose_fit_strategy(agg, fits.assign(status="diverged")).strategy is None


def test_older_run_folder_gets_notes_then_a_full_report_from_rebuild_report(tmp_path):
    from datafactors.experiment import rebuild_report

    run = make_run(tmp_path)
    con = duckdb.connect(str(run / "results.duckdb"))
    for name in (*DERIVED, "fits", "curve_points"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    con.close()
    html = build_report(run).read_text(encoding="utf-8")
    assert "has no table &#x27;aggregates&#x27; yet. It is derived after the trials" in html
    assert "has no table &#x27;calibration_bins&#x27;" in html and _n_figures(html) == 3
    html = rebuild_report(run).read_text(encoding="utf-8")
    assert "has no table" not in html.replace(plotly.offline.get_plotlyjs(), "")
    assert "has the best mean ID test accuracy" in html and "Extrapolations use the fits for" in html
    assert _n_figures(html) == 10
