"""The run folder's derived evaluation tables (calibration, crossings) and their report sections.

These wire the metrics and scaling functions to the stored predictions and fits; they live
in datafactors.analysis (calibration, crossings), are written by derive(), and the report
sections only render them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datafactors.analysis import derive
from datafactors.analysis.calibration import CALIBRATION_COLUMNS, calibration_table
from datafactors.analysis.crossings import CROSSING_COLUMNS, crossings_table, segments_table
from datafactors.metrics import calibration_report
from datafactors.report._load import RunData
from datafactors.report.sections.calibration import calibration_scaling_html
from datafactors.report.sections.comparison import strategy_comparison_html
from datafactors.store import RunStore


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _predictions(seed=0, sets=(("id_test", 500, 3.0), ("ood_test", 300, 1.0))):
    rng = np.random.default_rng(seed)
    frames = []
    for name, n, scale in sets:
        y = rng.integers(0, 3, n)
        z = rng.normal(size=(n, 3))
        z[np.arange(n), y] += 1.0
        p = _softmax(scale * z)  # id over-confident (x3)
        f = pd.DataFrame({"eval_set": name, "id": [f"{name}-{i}" for i in range(n)], "label": y})
        for k in range(3):
            f[f"prob_{k}"] = p[:, k]
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def _probs(pred, name):
    sub = pred[pred.eval_set == name]
    return sub[["prob_0", "prob_1", "prob_2"]].to_numpy(), sub["label"].to_numpy()


def test_calibration_table_fits_t_on_id_and_applies_it_to_ood():
    pred = _predictions()
    tab = calibration_table(pred)
    assert list(tab.columns) == CALIBRATION_COLUMNS
    p_id, y_id = _probs(pred, "id_test")
    ref = calibration_report(p_id, y_id, holdout=0.2, seed=0)
    head = tab[tab.source == "headline"].set_index(["eval_set", "metric"])
    assert head.loc[("id_test", "ece"), "temperature"] == pytest.approx(ref.temperature)
    assert ref.temperature > 2.0  # over-confident by 3x
    assert head.loc[("id_test", "ece"), "after"] == pytest.approx(ref.after["ece"])
    assert head.loc[("id_test", "ece"), "n_fit"] == 100 and head.loc[("id_test", "ece"), "n_eval"] == 400
    p_ood, y_ood = _probs(pred, "ood_test")
    ood = calibration_report(p_ood, y_ood, temperature=ref.temperature)
    assert head.loc[("ood_test", "nll"), "after"] == pytest.approx(ood.after["nll"])
    assert head.loc[("ood_test", "nll"), "fit_on"] == "id_test"
    assert head.loc[("ood_test", "nll"), "n_fit"] == 0 and head.loc[("ood_test", "nll"), "n_eval"] == 300
    sweep = tab[tab.source == "sweep"]
    assert sorted(sweep.n_bins.unique()) == [5, 10, 15, 20, 25, 50, 100, 200, 500]
    assert not tab[["before", "after", "temperature"]].isna().any().any()


def test_calibration_table_without_id_test_fits_each_set_and_drops_bad_labels():
    pred = _predictions(sets=(("val", 200, 2.0),))
    pred.loc[0, "label"] = 7  # not a class index: left out
    tab = calibration_table(pred)
    row = tab[(tab.source == "headline") & (tab.metric == "accuracy")].iloc[0]
    assert row.fit_on == "val" and row.n_fit + row.n_eval == 199


def _fit_rows():
    # ID: 4 n^-0.5 (steep) vs n^-0.25 (shallow) cross at n = 256; OOD: only one strategy fitted.
    return pd.DataFrame(
        [
            {
                "strategy": "steep",
                "eval_set": "id_test",
                "metric": "error",
                "alpha": 4.0,
                "beta": -0.5,
                "gamma": 0.0,
                "n_points": 8,
                "n_full": 1000,
                "status": "ok",
            },
            {
                "strategy": "shallow",
                "eval_set": "id_test",
                "metric": "error",
                "alpha": 1.0,
                "beta": -0.25,
                "gamma": 0.0,
                "n_points": 8,
                "n_full": 1000,
                "status": "ok",
            },
            {
                "strategy": "steep",
                "eval_set": "ood_test",
                "metric": "error",
                "alpha": 1.0,
                "beta": -0.2,
                "gamma": 0.1,
                "n_points": 8,
                "n_full": 1000,
                "status": "ok",
            },
            {
                "strategy": "shallow",
                "eval_set": "ood_test",
                "metric": "error",
                "alpha": None,
                "beta": None,
                "gamma": None,
                "n_points": 2,
                "n_full": 1000,
                "status": "n has 2 distinct values",
            },
        ]
    )


def _trials():
    return pd.DataFrame(
        {"strategy": ["steep", "shallow", "steep", "shallow"], "n_train": [100, 100, 1000, 1000], "status": ["ok"] * 4}
    )


def test_crossings_table_from_the_fits_table():
    cross = crossings_table(_fit_rows(), _trials())
    assert list(cross.columns) == CROSSING_COLUMNS
    assert len(cross) == 1
    r = cross.iloc[0]
    assert r.eval_set == "id_test"
    assert r.n_cross == pytest.approx(256.0, rel=1e-9) and r.err_cross == pytest.approx(0.25)
    assert (r.better_below, r.better_above, bool(r.extrapolated)) == ("shallow", "steep", False)
    # without trials there is no trained range: nothing to compare, typed empty table
    empty = crossings_table(_fit_rows(), None)
    assert empty.empty and list(empty.columns) == CROSSING_COLUMNS


def test_evaluation_tables_are_written_to_the_store(tmp_path: Path):
    with RunStore(tmp_path) as st:
        for t in _trials().itertuples():
            st.write_trial(
                {
                    "trial_id": f"{t.strategy}-{t.n_train}",
                    "strategy": t.strategy,
                    "budget": t.n_train / 1000,
                    "n_train": t.n_train,
                    "seed": 0,
                    "learner": "mlp",
                    "status": "ok",
                    "error": None,
                    "seconds": 0.1,
                },
                [("id_test", "accuracy", 0.5)],
            )
        st.replace_table("fits", _fit_rows())
        tables = ["crossings", "curve_segments", "calibration", "calibration_bins"]
        derive(st, tables=tables)  # no predictions yet: empty calibration table
        assert st.table("calibration").empty and st.table("calibration_bins").empty
        assert len(st.table("crossings")) == 1
        st.write_parquet("predictions.parquet", _predictions())
        derive(st, tables=tables)
        calib = st.query("SELECT * FROM calibration WHERE source = 'headline' AND metric = 'ks'").set_index("eval_set")
        assert set(calib.index) == {"id_test", "ood_test"}
        # the ID predictions are over-confident and scaling fixes them; the OOD ones were calibrated
        # already, so the ID temperature over-softens them
        assert calib.loc["id_test", "after"] < calib.loc["id_test", "before"]
        assert calib.loc["ood_test", "after"] > calib.loc["ood_test", "before"]


def test_report_sections(tmp_path: Path):
    pred, fits = _predictions(), _fit_rows()
    run = RunData(run_dir=tmp_path, predictions=pred, fits=fits, trials=_trials(), calibration=calibration_table(pred))
    run.crossings, run.curve_segments = crossings_table(fits, _trials()), segments_table(fits, _trials())
    html = calibration_scaling_html(run)
    t = calibration_table(run.predictions)["temperature"].iloc[0]
    assert f"T = <b>{t:.3f}</b>" in html and "over-confident" in html
    assert "KS error (no bins)" in html and "OOD test after" in html
    assert html.count('class="plotly-graph-div"') == 1
    comp = strategy_comparison_html(run)
    assert "cross at n ≈ 256" in comp and "shallow</b> is better below" not in comp
    assert "shallow is better below, steep above" in comp
    assert "needs fitted curves for &gt;= 2 strategies" in comp  # the OOD set has one fitted curve


def test_report_sections_say_what_is_missing(tmp_path: Path):
    run = RunData(
        run_dir=tmp_path,
        problems={"predictions": "predictions.parquet is missing.", "fits": "results.duckdb has no table 'fits' yet."},
    )
    run.calibration = calibration_table(_predictions().iloc[:0])  # computed, but from no prediction
    assert "predictions.parquet is missing" in calibration_scaling_html(run)
    assert "has no table" in strategy_comparison_html(run)
    failed = _fit_rows().assign(status="boom")
    segs = segments_table(failed, _trials())
    assert "No learning curve was fitted" in strategy_comparison_html(
        RunData(run_dir=tmp_path, fits=failed, curve_segments=segs)
    )
    # a run folder from before the analysis stage: the note says the table has not been computed
    no_table = RunData(run_dir=tmp_path, problems={"calibration": "results.duckdb has no table 'calibration' yet."})
    assert "has no table &#x27;calibration&#x27;" in calibration_scaling_html(no_table)
