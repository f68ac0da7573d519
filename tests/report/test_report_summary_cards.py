"""The two headline answers on top of the report: which data to keep, how much more data is needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from datafactors.analysis.summary import summary_table
from datafactors.report._load import RunData
from datafactors.report.sections.summary import keep_card, need_card


def _agg(means: dict[tuple[str, float], float], sem: float = 0.002, n: int = 3, eval_set: str = "id_test"):
    rows = [
        dict(
            strategy=s,
            budget=b,
            eval_set=eval_set,
            metric="accuracy",
            mean=m,
            std=sem * np.sqrt(n),
            sem=sem,
            n=n,
            n_train=b * 1000,
            min=m,
            max=m,
        )
        for (s, b), m in means.items()
    ]
    return pd.DataFrame(rows)


def test_keep_card_names_the_winner_when_it_clears_seed_noise():
    agg = _agg({("random", 0.5): 0.80, ("el2n", 0.5): 0.84, ("random", 1.0): 0.90, ("el2n", 1.0): 0.90})
    html = keep_card(summary_table(agg, None), "")
    assert "Keep the examples <b>el2n</b> picks" in html and "+4.0 pp" in html
    assert "50% of the training data (n = 500)" in html
    assert "gains 6.0 pp" in html  # full data vs the best at 50%


def test_keep_card_says_random_when_the_margin_is_noise():
    agg = _agg({("random", 0.5): 0.80, ("el2n", 0.5): 0.805}, sem=0.01)
    html = keep_card(summary_table(agg, None), "")
    assert "Keep a <b>random</b> subset" in html and "best other: el2n, +0.5 pp" in html


def test_keep_card_with_one_seed_says_there_is_no_noise_estimate():
    agg = _agg({("random", 0.3): 0.70, ("kcenter", 0.3): 0.72}, sem=float("nan"), n=1)
    assert "no estimate of seed noise" in keep_card(summary_table(agg, None), "")


def test_keep_card_without_results():
    assert "No answer yet" in keep_card(None, "results.duckdb is missing")


def _fits(**row) -> pd.DataFrame:
    base = dict(
        strategy="random",
        eval_set="id_test",
        metric="error",
        alpha=2.0,
        beta=-0.5,
        gamma=0.05,
        n_full=1000,
        target=0.10,
        n_needed=1600.0,
        n_needed_lo=1280.0,
        n_needed_hi=2400.0,
        reachable=True,
        status="ok",
        pred_2x=0.095,
        pred_2x_lo=0.085,
        pred_2x_hi=0.107,
    )
    base.update(row)
    return pd.DataFrame([base])


def test_need_card_reachable_enough_and_unreachable(tmp_path: Path):
    run = RunData(run_dir=tmp_path, fits=_fits(), summary=summary_table(None, _fits()))
    html = need_card(run)
    assert "About <b>1,600</b> examples" in html and "1.6×" in html and "600 more" in html
    assert "Bootstrap interval [1,280, 2,400]" in html
    run.fits = _fits(n_needed=700.0)
    assert "You have enough" in need_card(run)
    run.fits = _fits(gamma=0.2, reachable=False, n_needed=float("inf"))
    assert "will not reach <b>10.0%</b>" in need_card(run) and "γ = 20.0%" in need_card(run)
    run.fits = None
    run.problems["fits"] = "results.duckdb has no table 'fits' yet."
    assert "No learning curve has been fitted" in need_card(run)
