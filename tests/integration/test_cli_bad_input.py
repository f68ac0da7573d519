"""Bad input through the real console script: exit code 2, one clear message, no traceback.

Every case runs the CLI as a separate process. The processes are started together
(a few at a time) by one module fixture, and each test checks one case's result.
For ``run`` cases, the ``--out`` folder must be left exactly as it was: no new run
folder, and an existing run folder with the same files and mtimes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from dfcli_helpers import SMALL_CONFIG, run_cli, small_config_dict, write_yaml

EXISTING_RUN = "20200101-000000-abcdef"


# ------------------------------------------------------------------ fixture data


def _frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "f0": rng.normal(size=n),
            "f1": rng.normal(size=n),
            "f2": rng.normal(size=n),
            "label": [i % 2 for i in range(n)],
        }
    )


def good_csv(d: Path) -> None:
    _frame().to_csv(d / "good.csv", index=False)


def empty_csv(d: Path) -> None:
    (d / "empty.csv").write_bytes(b"")


def nan_csv(d: Path) -> None:
    f = _frame()
    f.loc[7, "f1"] = np.nan
    f.to_csv(d / "nan.csv", index=False)


def text_feature_csv(d: Path) -> None:
    f = _frame()
    f["f2"] = f["f2"].astype(object)
    f.loc[3, "f2"] = "abc"
    f.to_csv(d / "text.csv", index=False)


def one_class_csv(d: Path) -> None:
    f = _frame()
    f["label"] = 1
    f.to_csv(d / "oneclass.csv", index=False)


def dup_ids_csv(d: Path) -> None:
    f = _frame()
    f.loc[5, "id"] = "r2"
    f.to_csv(d / "dups.csv", index=False)


def scores_parquet(d: Path, column: str = "el2n", ids: list[str] | None = None) -> None:
    ids = ids if ids is not None else [f"r{i}" for i in range(40)]
    pd.DataFrame({"id": ids, column: np.linspace(0, 1, len(ids))}).to_parquet(d / "s.parquet")


def corrupt_parquet(d: Path) -> None:
    good_csv(d)
    (d / "s.parquet").write_bytes(b"PAR1" + os.urandom(200) + b"not really parquet")


def fake_run(d: Path, name: str = "fakerun", with_db: bool = True) -> Path:
    """A minimal run folder: manifest.json, config.yaml and (optionally) results.duckdb."""
    import duckdb

    run = d / name
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"run_id": name, "status": "complete"}))
    write_yaml(run / "config.yaml", SMALL_CONFIG)
    if with_db:
        con = duckdb.connect(str(run / "results.duckdb"))
        con.execute("CREATE TABLE trials (trial_id VARCHAR PRIMARY KEY, strategy VARCHAR, status VARCHAR)")
        con.execute("INSERT INTO trials VALUES ('random/b=1/s=0/mlp', 'random', 'ok')")
        con.execute("CREATE TABLE metrics (trial_id VARCHAR, eval_set VARCHAR, metric VARCHAR, value DOUBLE)")
        con.close()
    return run


def out_with_existing_run(d: Path) -> None:
    """--out folder already holding a (fake) run folder that must stay untouched."""
    fake_run(d / "out", EXISTING_RUN)
    (d / "out" / EXISTING_RUN / "report.html").write_text("<html>old</html>")


def config(name: str, data: Any = None, text: str | None = None, existing: bool = True) -> Callable[[Path], None]:
    def setup(d: Path) -> None:
        if text is not None:
            (d / name).write_text(text)
        else:
            write_yaml(d / name, data)
        if existing:
            out_with_existing_run(d)

    return setup


def strategies(*items: dict) -> list[dict]:
    return list(items)


def both(*fns: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(d: Path) -> None:
        for f in fns:
            f(d)

    return setup


# ------------------------------------------------------------------ cases


@dataclass
class Case:
    id: str
    args: list[str]  # "{d}" is replaced by the case's folder
    expect: list[str]  # each must appear in stderr
    setup: Callable[[Path], None] | None = None
    watch: str | None = None  # a folder (relative to the case's) that must be left exactly as it was
    absent: str | None = None  # a path that must still not exist afterwards
    xfail: str | None = None
    skip: str | None = None


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


CASES = [
    # ---------------------------------------------------------------- run
    Case(
        "run-missing-config",
        ["run", "{d}/nope.yaml", "--out", "{d}/out"],
        ["config file not found", "nope.yaml"],
        absent="out",
    ),
    Case(
        "run-invalid-yaml",
        ["run", "{d}/c.yaml", "--out", "{d}/out"],
        ["invalid YAML", "c.yaml", "at line"],
        setup=config("c.yaml", text="dataset: digits\nepochs: [5\nseeds: [0]\n"),
        watch="out",
    ),
    Case(
        "run-unknown-key",
        ["run", "{d}/c.yaml", "--out", "{d}/out"],
        ["unknown key", "'epoch'"],
        setup=config("c.yaml", small_config_dict(epoch=5)),
        watch="out",
    ),
    Case(
        "run-missing-data-file",
        ["run", "{d}/c.yaml", "--out", "{d}/out"],
        ["file not found", "missing.csv"],
        setup=lambda d: config("c.yaml", small_config_dict(dataset=str(d / "missing.csv")))(d),
        watch="out",
    ),
    Case(
        "run-resume-not-a-run",
        ["run", "--resume", "{d}/notrun", "--out", "{d}/out"],
        ["not a datafactors run folder", "notrun"],
        setup=lambda d: ((d / "notrun").mkdir(), (d / "notrun" / "notes.txt").write_text("hi")),
        watch="notrun",
        absent="out",
    ),
    Case(
        "run-out-is-a-file",
        ["run", "{d}/c.yaml", "--out", "{d}/out.txt"],
        ["out.txt", "not a folder"],
        setup=lambda d: (config("c.yaml", SMALL_CONFIG, existing=False)(d), (d / "out.txt").write_text("x")),
    ),
    Case(
        "run-learner-hidden-not-a-list",
        ["run", "{d}/c.yaml", "--out", "{d}/out"],
        ["hidden"],
        setup=config("c.yaml", small_config_dict(learner_params={"hidden": 8})),
        watch="out",
    ),
    Case(
        "run-score-not-computed",
        ["run", "{d}/c.yaml", "--out", "{d}/out"],
        ["forgetting"],
        setup=config(
            "c.yaml",
            small_config_dict(
                epochs=1,
                scoring={"scores": ["el2n"], "seeds": 1},
                strategies=strategies({"name": "f", "selector": "hardest", "score": "forgetting"}),
            ),
        ),
        watch="out",
    ),
    Case(
        "run-negative-lr",
        ["run", "{d}/c.yaml", "--out", "{d}/out"],
        ["lr"],
        setup=config("c.yaml", small_config_dict(epochs=1, learner_params={"hidden": [8], "lr": -1})),
        watch="out",
    ),
    # ---------------------------------------------------------------- score
    Case(
        "score-missing-file",
        ["score", "{d}/nope.csv", "--scores", "el2n", "--out", "{d}/s.parquet"],
        ["file not found", "nope.csv"],
        absent="s.parquet",
    ),
    Case(
        "score-empty-csv",
        ["score", "{d}/empty.csv", "--scores", "el2n", "--out", "{d}/s.parquet"],
        ["file is empty", "empty.csv"],
        setup=empty_csv,
        absent="s.parquet",
    ),
    Case(
        "score-nan-feature",
        ["score", "{d}/nan.csv", "--scores", "el2n", "--out", "{d}/s.parquet"],
        ["'f1'", "missing or non-finite", "r7"],
        setup=nan_csv,
        absent="s.parquet",
    ),
    Case(
        "score-text-feature",
        ["score", "{d}/text.csv", "--scores", "el2n", "--out", "{d}/s.parquet"],
        ["'f2'", "not numeric", "abc"],
        setup=text_feature_csv,
        absent="s.parquet",
    ),
    Case(
        "score-wrong-label",
        ["score", "{d}/good.csv", "--label", "lbl", "--scores", "el2n", "--out", "{d}/s.parquet"],
        ["label column 'lbl' not found", "did you mean 'label'"],
        setup=good_csv,
        absent="s.parquet",
    ),
    Case(
        "score-one-class",
        ["score", "{d}/oneclass.csv", "--scores", "el2n", "--out", "{d}/s.parquet"],
        ["only one class"],
        setup=one_class_csv,
        absent="s.parquet",
    ),
    Case(
        "score-duplicate-ids",
        ["score", "{d}/dups.csv", "--scores", "el2n", "--out", "{d}/s.parquet"],
        ["'id'", "duplicated", "r2"],
        setup=dup_ids_csv,
        absent="s.parquet",
    ),
    Case(
        "score-unknown-score",
        ["score", "{d}/good.csv", "--scores", "el2n,forgeting", "--out", "{d}/s.parquet"],
        ["'forgeting'", "Did you mean 'forgetting'"],
        setup=good_csv,
        absent="s.parquet",
    ),
    Case(
        "score-out-not-parquet",
        ["score", "{d}/good.csv", "--scores", "el2n", "--out", "{d}/s.csv"],
        ["must end in .parquet"],
        setup=good_csv,
        absent="s.csv",
    ),
    Case(
        "score-out-missing-folder",
        ["score", "{d}/good.csv", "--scores", "el2n", "--out", "{d}/nodir/s.parquet"],
        ["does not exist", "nodir"],
        setup=good_csv,
        absent="nodir",
    ),
    Case(
        "score-out-unwritable",
        ["score", "{d}/good.csv", "--scores", "el2n", "--out", "{d}/ro/s.parquet"],
        ["not writable"],
        setup=lambda d: (good_csv(d), (d / "ro").mkdir(mode=0o555)),
        absent="ro/s.parquet",
        skip="running as root: every folder is writable" if _is_root() else None,
    ),
    # ---------------------------------------------------------------- select
    Case(
        "select-budget-zero",
        ["select", "{d}/good.csv", "--strategy", "random", "--budget", "0", "--out", "{d}/k.parquet"],
        ["budget == 0"],
        setup=good_csv,
        absent="k.parquet",
    ),
    Case(
        "select-budget-negative",
        ["select", "{d}/good.csv", "--strategy", "random", "--budget", "-1", "--out", "{d}/k.parquet"],
        ["budget == -1"],
        setup=good_csv,
        absent="k.parquet",
    ),
    Case(
        "select-budget-1.5",
        ["select", "{d}/good.csv", "--strategy", "random", "--budget", "1.5", "--out", "{d}/k.parquet"],
        ["1.5", "(0, 1]"],
        setup=good_csv,
        absent="k.parquet",
    ),
    Case(
        "select-budget-over-n",
        ["select", "{d}/good.csv", "--strategy", "random", "--budget", "41", "--out", "{d}/k.parquet"],
        ["budget == 41", "number of examples (40)"],
        setup=good_csv,
        absent="k.parquet",
    ),
    Case(
        "select-budget-abc",
        ["select", "{d}/good.csv", "--strategy", "random", "--budget", "abc", "--out", "{d}/k.parquet"],
        ["'abc'", "neither a count"],
        setup=good_csv,
        absent="k.parquet",
    ),
    Case(
        "select-unknown-strategy",
        ["select", "{d}/good.csv", "--strategy", "hardst", "--budget", "5", "--out", "{d}/k.parquet"],
        ["'hardst'", "Did you mean 'hardest'"],
        setup=good_csv,
        absent="k.parquet",
    ),
    Case(
        "select-corrupt-scores",
        [
            "select",
            "{d}/good.csv",
            "--strategy",
            "hardest",
            "--score",
            "el2n",
            "--scores",
            "{d}/s.parquet",
            "--budget",
            "5",
            "--out",
            "{d}/k.parquet",
        ],
        ["cannot read scores file", "s.parquet"],
        setup=corrupt_parquet,
        absent="k.parquet",
    ),
    Case(
        "select-unknown-score-column",
        [
            "select",
            "{d}/good.csv",
            "--strategy",
            "hardest",
            "--score",
            "el2m",
            "--scores",
            "{d}/s.parquet",
            "--budget",
            "5",
            "--out",
            "{d}/k.parquet",
        ],
        ["'el2m'"],
        setup=both(good_csv, scores_parquet),
        absent="k.parquet",
    ),
    Case(
        "select-scores-of-other-ids",
        [
            "select",
            "{d}/good.csv",
            "--strategy",
            "hardest",
            "--score",
            "el2n",
            "--scores",
            "{d}/s.parquet",
            "--budget",
            "5",
            "--out",
            "{d}/k.parquet",
        ],
        ["lack", "ids"],
        setup=both(good_csv, lambda d: scores_parquet(d, ids=[f"x{i}" for i in range(40)])),
        absent="k.parquet",
    ),
    # ---------------------------------------------------------------- split
    Case(
        "split-unknown-kind",
        ["split", "{d}/good.csv", "--kind", "stratifed", "--out", "{d}/sp.parquet"],
        ["'stratifed'", "Did you mean 'stratified'"],
        setup=good_csv,
        absent="sp.parquet",
    ),
    # ---------------------------------------------------------------- report / query
    Case(
        "report-not-a-run",
        ["report", "{d}/notrun"],
        ["not a datafactors run folder", "notrun"],
        setup=lambda d: ((d / "notrun").mkdir(), (d / "notrun" / "x.txt").write_text("x")),
        watch="notrun",
    ),
    Case(
        "query-bad-sql",
        ["query", "{d}/fakerun", "SELEC count(*) FROM trials"],
        ["query failed", "syntax"],
        setup=fake_run,
        watch="fakerun",
    ),
    Case(
        "query-is-read-only",
        ["query", "{d}/fakerun", "DROP TABLE trials"],
        ["query failed"],
        setup=fake_run,
        watch="fakerun",
    ),
    Case(
        "query-missing-folder",
        ["query", "{d}/gone", "SELECT 1"],
        ["not a datafactors run folder", "gone"],
        absent="gone",
    ),
    # ---------------------------------------------------------------- recipes
    Case("recipes-unknown", ["recipes", "run", "data-dite"], ["unknown recipe", "Did you mean 'data-diet'"]),
]


def _snapshot(root: Path) -> dict[str, tuple[int, int]] | None:
    if not root.exists():
        return None
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    base = tmp_path_factory.mktemp("bad_input")
    prepared = []
    for case in CASES:
        if case.skip:
            continue
        d = base / case.id
        d.mkdir()
        if case.setup is not None:
            case.setup(d)
        before = _snapshot(d / case.watch) if case.watch else None
        prepared.append((case, d, before))

    def go(item):
        case, d, before = item
        proc = run_cli(*[a.replace("{d}", str(d)) for a in case.args], cwd=d, timeout=120)
        return case.id, {"proc": proc, "dir": d, "before": before}

    with ThreadPoolExecutor(max_workers=min(4, (os.cpu_count() or 1) + 1)) as pool:
        return dict(pool.map(go, prepared))


def _params():
    for c in CASES:
        marks = []
        if c.xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=c.xfail))
        if c.skip:
            marks.append(pytest.mark.skip(reason=c.skip))
        yield pytest.param(c, id=c.id, marks=marks)


@pytest.mark.parametrize("case", list(_params()))
def test_bad_input(case: Case, results: dict[str, dict[str, Any]]) -> None:
    r = results[case.id]
    proc, d = r["proc"], r["dir"]
    shown = f"\nexit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stdout and "Traceback" not in proc.stderr, shown
    assert proc.returncode == 2, shown
    err = proc.stderr.strip()
    # One clear message: a single "error:" line that names the key fact.
    assert err.startswith("error:"), shown
    assert len(err.splitlines()) == 1, shown
    for fact in case.expect:
        assert fact in err, f"{fact!r} missing{shown}"
    if case.watch is not None:
        assert _snapshot(d / case.watch) == r["before"], f"{case.watch} changed{shown}"
    if case.absent is not None:
        assert not (d / case.absent).exists(), f"{case.absent} was created{shown}"


def test_every_command_is_covered() -> None:
    commands = {c.args[0] for c in CASES}
    assert {"run", "score", "select", "split", "report", "query", "recipes"} <= commands
    assert len(CASES) >= 25


def test_query_of_a_run_in_progress(tmp_path: Path) -> None:
    import duckdb

    run = fake_run(tmp_path)
    con = duckdb.connect(str(run / "results.duckdb"))  # this process holds the write lock, as a live run does
    try:
        proc = run_cli("query", run, "SELECT count(*) FROM trials", timeout=120)
    finally:
        con.close()
    shown = f"\nexit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, shown
    assert proc.returncode == 2, shown
    assert proc.stderr.startswith("error:") and "results.duckdb" in proc.stderr, shown
