"""`datafactors show RUN`: the examples behind a score, printed by the real CLI on the shared small run.

The drawing helpers (thumbnails, sparklines, one-line texts, feature pairs) are checked in-process.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from dfcli_helpers import assert_ok, run_cli
from rich.console import Console

from datafactors._printing import SHADES, SPARKS, print_examples, sparkline, thumbnail

BLOCKS = set(SHADES.strip())


def _rank_lines(out: str) -> list[str]:
    """Table lines that start a row: a rank number in the first cell."""
    return [line for line in out.splitlines() if re.match(r"^[│┃|]\s*\d+\s*[│┃|]", line)]


def test_the_small_run_writes_its_example_tables(small_run):
    run_dir = small_run["run_dir"]
    views = pd.read_parquet(run_dir / "example_views.parquet")
    rows = pd.read_parquet(run_dir / "examples.parquet")
    keys = set(views["view"])
    assert {"hardest/el2n", "easiest/el2n", "cartography/ambiguous", "hardest/forgetting"} <= keys
    assert "dropped_vs_random/el2n_hardest/0.25" in keys and "kept_vs_random/el2n_hardest/0.5" in keys
    assert not any(k.endswith("/1") for k in keys if "_vs_random/" in k)  # every strategy keeps all at 100%
    assert set(views["id"]) == set(rows["id"])
    assert set(rows["kind"]) == {"image"} and list(rows["shape"].iloc[0]) == [8, 8]
    assert {"el2n", "forgetting", "confidence", "variability", "correctness"} <= set(rows.columns)


def test_show_hardest_prints_block_thumbnails(small_run):
    run_dir = small_run["run_dir"]
    proc = run_cli("show", run_dir, "--view", "hardest", "--score", "el2n", "--top", "5")
    assert_ok(proc)
    out = proc.stdout
    ranks = _rank_lines(out)
    assert [int(re.search(r"\d+", r).group()) for r in ranks] == [0, 1, 2, 3, 4], out
    assert "Hardest by el2n" in out and "digit-" in out
    assert len(set(out) & BLOCKS) >= 2, out  # grey levels of the 8x8 digits
    expected = pd.read_parquet(run_dir / "example_views.parquet").query("view == 'hardest/el2n'")
    for i in expected.sort_values("rank")["id"].head(5):
        assert i in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_show_list_and_other_views(small_run):
    run_dir = small_run["run_dir"]
    proc = run_cli("show", run_dir, "--list")
    assert_ok(proc)
    assert "hardest/el2n" in proc.stdout and "cartography/easy" in proc.stdout
    proc = run_cli("show", run_dir, "--view", "dropped", "--strategy", "el2n_hardest", "--budget", "25%", "--top", "3")
    assert_ok(proc)
    assert "Dropped by el2n_hardest at 25% that random kept" in proc.stdout
    assert len(_rank_lines(proc.stdout)) == 3


def test_show_bad_input_is_one_message_and_exit_2(small_run, tmp_path):
    run_dir = small_run["run_dir"]
    proc = run_cli("show", run_dir, "--view", "hardst", "--score", "el2n")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    err = " ".join(proc.stderr.split())
    assert "unknown view 'hardst'" in err and "Did you mean 'hardest'" in err and "hardest/el2n" in err
    proc = run_cli("show", run_dir, "--view", "hardest", "--score", "grand")
    assert proc.returncode == 2 and "el2n" in proc.stderr
    proc = run_cli("show", tmp_path, "--view", "hardest")
    assert proc.returncode == 2 and "not a datafactors run folder" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_show_an_old_run_without_example_tables(small_run, tmp_path):
    import shutil

    old = tmp_path / "old"
    old.mkdir()
    shutil.copy(small_run["run_dir"] / "manifest.json", old / "manifest.json")
    proc = run_cli("show", old, "--view", "hardest", "--score", "el2n")
    assert proc.returncode == 2
    err = " ".join(proc.stderr.split())
    assert "no examples.parquet" in err and "--resume" in err and "Traceback" not in err


# ---------------------------------------------------------------- drawing, in-process


def _render(frame: pd.DataFrame, width: int = 80) -> str:
    console = Console(width=width, record=True, color_system=None)
    print_examples(frame, console)
    return console.export_text()


def _frame(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base = {"rank": list(range(n)), "id": [f"e{i}" for i in range(n)], "value": [0.5] * n, "detail": [None] * n}
    base.update({"label": ["a"] * n, "text": [None] * n, "pixels": [None] * n, "shape": [None] * n})
    base.update({"signal": [None] * n, "features": [None] * n})
    base.update(columns)
    return pd.DataFrame(base)


def test_thumbnail_of_an_8x8_digit_is_16_wide_and_8_tall():
    img = np.zeros((8, 8))
    img[1:7, 3:5] = 1.0  # a "1"
    t = thumbnail(img.ravel(), (8, 8)).splitlines()
    assert len(t) == 8 and all(len(line) == 16 for line in t)
    assert t[3] == "      ████      " and t[0].strip() == ""


def test_thumbnail_of_a_28x28_image_stays_within_16_characters():
    t = thumbnail(np.random.default_rng(0).random(28 * 28 * 3), (28, 28, 3)).splitlines()
    assert len(t) == 7 and max(len(line) for line in t) <= 16


def test_sparkline_rises_with_the_signal_and_is_at_most_24_wide():
    s = sparkline(np.linspace(0, 1, 80))
    assert len(s) == 20 and s[0] == SPARKS[0] and s[-1] == SPARKS[-1]  # 4 samples a character
    assert list(s) == sorted(s)
    assert len(sparkline(np.arange(40.0))) == 20 and len(sparkline(np.arange(12.0))) == 12
    assert sparkline([1.0, 1.0]) == SPARKS[0] * 2


def test_text_is_one_line_cut_with_an_ellipsis():
    long = "word " * 200
    out = _render(_frame(kind=["text"], text=[long + "\nsecond line"]))
    rows = _rank_lines(out)
    assert len(rows) == 1 and "…" in rows[0] and "second line" not in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_signals_tabular_rows_and_details_are_drawn():
    out = _render(
        _frame(
            kind=["signal", "tabular"],
            signal=[np.linspace(0, 1, 40), None],
            features=[None, '{"age": 31.0, "income": 5200.5}'],
            detail=[None, '{"given": "3", "predicted": "5", "label_quality": 0.12}'],
            value=[float("inf"), float("nan")],
        )
    )
    assert SPARKS[0] in out and SPARKS[-1] in out
    assert "age=31" in out and "income=5200" in out
    assert "given=3" in out and "predicted=5" in out
    assert "+∞" in out and "—" in out
