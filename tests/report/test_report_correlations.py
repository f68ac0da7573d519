"""The report's "Score correlations" section: Spearman values, strongest pairs, missing data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from datafactors.report import build_report
from datafactors.report.sections.correlations import spearman_matrix, strongest_pairs


def _scores(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    el2n = rng.random(n)
    forgetting = np.round(el2n * 5 + rng.normal(0, 0.5, n))
    forgetting[:10] = np.inf  # never learned: ranks highest
    return pd.DataFrame(
        {
            "id": [f"ex-{i}" for i in range(n)],
            "label": rng.integers(0, 3, n),
            "el2n": el2n,
            "confidence": 1 - el2n + rng.normal(0, 0.05, n),  # easier-oriented: negative rho, agrees on hardness
            "forgetting": forgetting,
            "noise <b>": rng.random(n),  # undeclared, with markup in its name
            "flat": np.ones(n),  # constant: undefined correlation
            "label_issue": (el2n > 0.9).astype(float),
        }
    )


def _run(tmp_path: Path, scores: pd.DataFrame | None) -> str:
    run = tmp_path / "run-1"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"run_id": "run-1", "status": "complete"}))
    if scores is not None:
        scores.to_parquet(run / "scores.parquet")
    html = build_report(run).read_text(encoding="utf-8")
    return html.split("<h2>Score correlations</h2>")[1].split("<h2>")[0]


def test_matrix_matches_scipy():
    s = _scores()
    cols = ["el2n", "confidence", "forgetting", "label_issue"]
    rho, n = spearman_matrix(s, cols)
    for a in cols:
        for b in cols:
            assert rho.loc[a, b] == pytest.approx(spearmanr(s[a], s[b]).statistic)
    assert (n.to_numpy() == len(s)).all()
    huge = pd.DataFrame({"a": [1e300, 2e300, np.inf, 3.0], "b": [2.0, 3.0, 4.0, 1.0]})
    assert spearman_matrix(huge, ["a", "b"])[0].loc["a", "b"] == pytest.approx(1.0)  # inf above the finite max
    with_nan = s.assign(el2n=s["el2n"].where(np.arange(len(s)) >= 50))
    rho2, n2 = spearman_matrix(with_nan, ["el2n", "confidence"])
    assert n2.loc["el2n", "confidence"] == len(s) - 50
    tail = with_nan.iloc[50:]
    assert rho2.loc["el2n", "confidence"] == pytest.approx(spearmanr(tail["el2n"], tail["confidence"]).statistic)


def test_strongest_pairs_and_hardness_alignment():
    s = _scores()
    cols = ["el2n", "confidence", "forgetting", "noise <b>", "flat"]
    rho, n = spearman_matrix(s, cols)
    pairs = strongest_pairs(rho, n)
    top = pairs.iloc[0]
    assert {top.a, top.b} == {"el2n", "confidence"} and top.rho < -0.9
    assert top.aligned == pytest.approx(-top.rho)  # harder x easier: sign flips
    assert "flat" not in set(pairs.a) | set(pairs.b)
    assert np.isnan(pairs[(pairs.a == "noise <b>") | (pairs.b == "noise <b>")].aligned).all()
    assert list(pairs.rho.abs()) == sorted(pairs.rho.abs(), reverse=True)


def test_section_in_report(tmp_path):
    body = _run(tmp_path, _scores())
    assert 'id="fig-score-correlations"' in body
    assert body.count('class="plotly-graph-div"') == 1
    assert "Strongest pairs" in body
    assert "noise &lt;b&gt;" in body and "noise <b>" not in body
    s = _scores()
    r = spearmanr(s["el2n"], s["confidence"]).statistic
    assert f"<td>{r:.3f}</td>" in body and f"<td>{-r:.3f}</td>" in body  # rho and its hardness-aligned value
    rows = body.split("<tbody>")[1].split("</tbody>")[0].count("<tr>")
    assert rows == 10  # 6 numeric score columns, one constant: 10 defined pairs


def test_section_when_scores_missing_or_single(tmp_path):
    (tmp_path / "a").mkdir()
    assert "scores.parquet is missing" in _run(tmp_path / "a", None)
    body = _run(tmp_path, _scores()[["id", "label", "el2n"]])
    assert "at least two" in body and "plotly-graph-div" not in body
