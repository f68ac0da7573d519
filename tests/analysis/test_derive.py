"""derive() on small hand-built run stores: every table, with values computed by hand."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from datafactors import ConfigError
from datafactors.analysis import (
    AGGREGATE_COLUMNS,
    BIN_COLUMNS,
    CROSSING_COLUMNS,
    FIT_COLUMNS,
    SUMMARY_COLUMNS,
    TABLES,
    closing_summary,
    derive,
)
from datafactors.analysis.calibration import calibration_bins_table
from datafactors.store import RunStore

# accuracy[strategy][budget] = (seed 0, seed 1); at 100% every strategy trains the same rows
# (the small differences stand for nondeterministic training), so no strategy is "best" there.
ACC = {
    "random": {0.5: (0.70, 0.72), 1.0: (0.900, 0.900)},
    "el2n": {0.5: (0.80, 0.84), 1.0: (0.901, 0.899)},
    "kcenter": {0.5: (0.74, 0.78), 1.0: (0.902, 0.900)},
}
N_FULL = 10


def _trial(st: RunStore, strategy: str, budget: float, seed: int, metrics: list[tuple[str, str, float]]) -> None:
    st.write_trial(
        {"trial_id": f"{strategy}/{budget}/{seed}", "strategy": strategy, "budget": budget,
         "n_train": int(budget * N_FULL), "seed": seed, "learner": "mlp", "status": "ok", "error": None,
         "seconds": 0.1},
        metrics,
    )  # fmt: skip


def _hand_store(path) -> RunStore:
    st = RunStore(path)
    path.mkdir(exist_ok=True)
    st.write_manifest({"run_id": "hand", "status": "complete", "dataset": {"n_train": N_FULL}})
    sel = []
    ids = [f"x{i}" for i in range(N_FULL)]
    for s_i, (strategy, by_budget) in enumerate(ACC.items()):
        for budget, accs in by_budget.items():
            for seed, acc in enumerate(accs):
                _trial(st, strategy, budget, seed, [("id_test", "accuracy", acc), ("ood_test", "accuracy", acc - 0.2)])
                k = int(budget * N_FULL)
                # below 100% each strategy picks other rows; at 100% all pick every row
                chosen = ids if k == N_FULL else ids[s_i : s_i + k]
                sel += [dict(strategy=strategy, budget=budget, seed=seed, id=i, rank=r) for r, i in enumerate(chosen)]
    # one failed trial: left out of every table
    st.write_trial(
        {"trial_id": "el2n/failed", "strategy": "el2n", "budget": 0.5, "n_train": 5, "seed": 9, "learner": "mlp",
         "status": "failed", "error": "boom", "seconds": 0.1},
        [("id_test", "accuracy", 0.0)],
    )  # fmt: skip
    st.write_parquet("selections.parquet", pd.DataFrame(sel))
    return st


def _predictions(n_id: int = 120, n_ood: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frames = []
    for name, n in (("id_test", n_id), ("ood_test", n_ood)):
        p = rng.dirichlet(np.ones(3), size=n)
        frames.append(
            pd.DataFrame({"eval_set": name, "id": [f"{name}{i}" for i in range(n)], "label": rng.integers(0, 3, n),
                          **{f"prob_{k}": p[:, k] for k in range(3)}})
        )  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def test_aggregates_are_the_hand_computed_means(tmp_path):
    with _hand_store(tmp_path / "run") as st:
        derive(st, n_boot=0)
        agg = st.table("aggregates")
    assert list(agg.columns) == AGGREGATE_COLUMNS
    acc = agg[(agg.metric == "accuracy") & (agg.eval_set == "id_test")].set_index(["strategy", "budget"])
    assert len(acc) == 6
    for strategy, by_budget in ACC.items():
        for budget, (a, b) in by_budget.items():
            row = acc.loc[(strategy, budget)]
            assert row["mean"] == pytest.approx((a + b) / 2)
            assert row["std"] == pytest.approx(abs(a - b) / np.sqrt(2))  # sample std of two values
            assert row["n"] == 2 and row["n_train"] == budget * N_FULL
    assert acc.loc[("el2n", 0.5), "min"] == pytest.approx(0.80)  # the failed trial's 0.0 is not counted


def test_closing_summary_names_a_best_only_where_strategies_differ(tmp_path):
    with _hand_store(tmp_path / "run") as st:
        derive(st, n_boot=0)
        cs = closing_summary(st)
    assert list(cs.columns) == ["budget", "eval_set", "best", "accuracy", "random"]
    by = cs.set_index(["budget", "eval_set"])
    assert by.loc[(0.5, "id_test"), "best"] == "el2n"
    assert by.loc[(0.5, "id_test"), "accuracy"] == pytest.approx(0.82)
    assert by.loc[(0.5, "id_test"), "random"] == pytest.approx(0.71)
    assert by.loc[(0.5, "ood_test"), "accuracy"] == pytest.approx(0.62)
    # identical selections at 100%: no best, although kcenter's mean (0.901) is a hair higher
    assert by.loc[(1.0, "id_test"), "best"] is None
    assert by.loc[(1.0, "id_test"), "accuracy"] == pytest.approx(0.901)


def test_closing_summary_without_selections_uses_equal_means(tmp_path):
    with _hand_store(tmp_path / "run") as st:
        (st.path / "selections.parquet").unlink()
        derive(st, n_boot=0, tables=["aggregates"])
        cs = closing_summary(st).set_index(["budget", "eval_set"])
        assert cs.loc[(1.0, "id_test"), "best"] == "kcenter"  # means 0.901 vs 0.900 vs 0.900, rows unknown
        _trial(st, "kcenter", 1.0, 0, [("id_test", "accuracy", 0.900)])  # now every mean is 0.900
        derive(st, n_boot=0, tables=["aggregates"])
        cs = closing_summary(st).set_index(["budget", "eval_set"])
    assert cs.loc[(1.0, "id_test"), "best"] is None
    assert cs.loc[(1.0, "id_test"), "random"] == pytest.approx(0.9)
    assert cs.loc[(0.5, "id_test"), "best"] == "el2n"


def test_summary_table_answers_which_data(tmp_path):
    with _hand_store(tmp_path / "run") as st:
        derive(st, n_boot=0)
        summary = st.table("summary")
    assert list(summary.columns) == SUMMARY_COLUMNS
    keep = summary[summary.kind == "keep"].iloc[0]
    assert (keep.eval_set, keep.budget, keep.strategy, keep.rival) == ("id_test", 0.5, "el2n", "el2n")
    assert keep["diff"] == pytest.approx(0.82 - 0.71)
    # 1.96 * sqrt(sem_el2n^2 + sem_random^2), sem = |a - b| / 2 for two seeds
    assert keep.noise == pytest.approx(1.96 * np.hypot(0.04 / 2, 0.02 / 2))
    assert keep.ood_diff == pytest.approx(0.11)
    assert keep.full_gap == pytest.approx(0.901 - 0.82)
    best = summary[summary.kind == "best"].set_index(["eval_set", "role"])
    assert best.loc[("id_test", "smallest"), "strategy"] == "el2n"


def _power_law_store(path) -> RunStore:
    # ID error: steep 4 n^-0.5 and shallow n^-0.25 cross at n = 256 (inside 100 ... 4000)
    st = RunStore(path)
    path.mkdir(exist_ok=True)
    st.write_manifest({"run_id": "pl", "status": "complete", "dataset": {"n_train": 1000}})
    rng = np.random.default_rng(0)
    for strategy, (a, b) in {"steep": (4.0, -0.5), "shallow": (1.0, -0.25)}.items():
        for n in (100, 200, 400, 700, 1000):
            for seed in (0, 1, 2):
                err = a * n**b + rng.normal(0, 0.002)
                st.write_trial(
                    {"trial_id": f"{strategy}/{n}/{seed}", "strategy": strategy, "budget": n / 1000, "n_train": n,
                     "seed": seed, "learner": "mlp", "status": "ok", "error": None, "seconds": 0.1},
                    [("id_test", "accuracy", 1 - err)],
                )  # fmt: skip
    return st


def test_fits_and_crossings_carry_bootstrap_intervals(tmp_path):
    with _power_law_store(tmp_path / "run") as st:
        targets = derive(st, n_boot=40)
        fits, draws, cross = st.table("fits"), st.table("fit_draws"), st.table("crossings")
        segs = st.table("curve_segments")
    assert list(fits.columns) == FIT_COLUMNS and set(fits.status) == {"ok"}
    assert (fits.n_boot == 40).all() and len(draws) == 2 * 40
    assert list(cross.columns) == CROSSING_COLUMNS and len(cross) == 1
    r = cross.iloc[0]
    assert r.n_cross == pytest.approx(256, rel=0.1)
    assert r.n_cross_lo <= r.n_cross <= r.n_cross_hi and 0 < r.boot_fraction <= 1
    assert (r.better_below, r.better_above, bool(r.extrapolated)) == ("shallow", "steep", False)
    assert list(segs.best) == ["shallow", "steep"]
    # default target: 10% below the best full-data mean error (steep: 4 / sqrt(1000))
    assert targets["id_test"] == pytest.approx(0.9 * 4 * 1000**-0.5, rel=0.02)


def test_calibration_bins_count_every_prediction(tmp_path):
    pred = _predictions()
    with _hand_store(tmp_path / "run") as st:
        st.write_parquet("predictions.parquet", pred)
        derive(st, n_boot=0)
        bins, calib = st.table("calibration_bins"), st.table("calibration")
    assert list(bins.columns) == BIN_COLUMNS
    assert bins.groupby("eval_set")["count"].sum().to_dict() == {"id_test": 120, "ood_test": 80}
    assert set(calib.eval_set) == {"id_test", "ood_test"} and (calib.temperature > 0).all()


def test_reliability_bins_hand_computed():
    probs = np.array([[0.95, 0.05], [0.9, 0.1], [0.4, 0.6], [0.55, 0.45]])
    pred = pd.DataFrame({"eval_set": "id_test", "label": [0, 1, 1, 0], "prob_0": probs[:, 0], "prob_1": probs[:, 1]})
    b = calibration_bins_table(pred, n_bins=2)
    # bin (0, .5] empty; bin (.5, 1]: all four, accuracy 3/4, mean confidence 0.75
    assert b["count"].tolist() == [4] and b["ece"].iloc[0] == pytest.approx(0.0)
    b = calibration_bins_table(pred, n_bins=10)
    assert b["count"].sum() == 4 and b["n"].iloc[0] == 4
    assert b["ece"].iloc[0] == pytest.approx((abs(1 - 0.95) + abs(0 - 0.9) + abs(1 - 0.6) + abs(1 - 0.55)) / 4)


def test_empty_store_writes_every_table_empty_with_columns(tmp_path):
    with RunStore(tmp_path) as st:
        assert derive(st, n_boot=0) == {}
        for name in TABLES:
            t = st.table(name)
            assert t.empty and len(t.columns) > 0, name
        assert closing_summary(st).empty


def test_defaults_come_from_config_yaml(tmp_path):
    with _power_law_store(tmp_path / "run") as st:
        st.write_text("config.yaml", "fit:\n  n_boot: 7\n  target_error: 0.05\n")
        targets = derive(st, tables=["fits", "fit_draws"])
        assert targets == {"id_test": 0.05}
        assert (st.table("fits").n_boot == 7).all() and len(st.table("fit_draws")) == 14
        st.write_text("config.yaml", "fit:\n  n_boot: -1\n")
        with pytest.raises(ConfigError, match="n_boot == -1"):
            derive(st)
        with pytest.raises(Exception, match="tables =="):
            derive(st, n_boot=0, tables=["fitz"])
    json.dumps(targets)
