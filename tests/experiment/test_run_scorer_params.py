"""Scorer parameters in a run config reach the stored scores; resume reads stored selections."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import datafactors.select as select_pkg
from datafactors.cli import main
from datafactors.experiment import run
from datafactors.experiment.config import config_from_dict

AFLITE_FAST = {"n": 8, "k": 4, "m": 0.5}


def _csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 60
    y = np.arange(n) % 2
    X = rng.normal(size=(n, 4)) + y[:, None] * 0.8
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(4)])
    frame.insert(0, "id", [f"r{i}" for i in range(n)])
    frame["label"] = y
    p = tmp_path / "tiny.csv"
    frame.to_csv(p, index=False)
    return p


def _cfg(data: Path, scores: list) -> dict:
    return {
        "dataset": str(data),
        "label": "label",
        "learner": "logistic",
        "learner_params": {},
        "epochs": 4,
        "seeds": [0],
        "budgets": [0.5, 1.0],
        "strategies": [
            {"name": "random", "selector": "random"},
            {"name": "el2n_hardest", "selector": "hardest", "score": "el2n"},
        ],
        "scoring": {"scores": scores, "seeds": 1},
        "fit": {"n_boot": 0},
        "n_workers": 1,
    }


def _scores(run_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(run_dir / "scores.parquet").set_index("id")


def test_run_config_scorer_params_change_exactly_their_columns(tmp_path):
    data = _csv(tmp_path)
    base = ["el2n", "loss", "cartography", {"name": "aflite", "params": AFLITE_FAST}]
    tuned = [
        {"name": "el2n", "params": {"epoch": 4}},
        "loss",
        "cartography",
        {"name": "aflite", "params": {**AFLITE_FAST, "tau": 0.3}},
    ]
    a = run(config_from_dict(_cfg(data, base)), out=tmp_path / "a", make_report=False)
    b = run(config_from_dict(_cfg(data, tuned)), out=tmp_path / "b", make_report=False)
    sa, sb = _scores(a.run_dir), _scores(b.run_dir)
    assert list(sa.columns) == list(sb.columns)
    for col in ["label", "loss", "confidence", "variability", "correctness"]:
        pd.testing.assert_series_equal(sa[col], sb[col])  # same proxies, same dynamics
    for col in ["el2n", "aflite_predictability"]:
        assert not np.allclose(sa[col].to_numpy(), sb[col].to_numpy()), col
    # the default epoch is ceil(0.1 * 4) = 1; epoch 4 is the last, whose loss the loss column holds:
    # EL2N at the last epoch and the loss must rank the examples alike
    assert np.corrcoef(sb["el2n"], sb["loss"])[0, 1] > 0.9
    manifest = yaml.safe_load((a.run_dir / "manifest.json").read_text())
    assert manifest["seeds_used"] == {
        "trials": [0],
        "selections": [0],
        "scoring_proxies": [10_000],
        "scores": 0,
        "split": 0,
        "profile": 0,
        "fit_bootstrap": 0,
    }


def test_misspelt_scorer_parameter_exits_2_before_any_run_folder(tmp_path, capsys):
    data = _csv(tmp_path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(_cfg(data, ["el2n", {"name": "aflite", "params": {"tua": 0.8}}])))
    assert main(["run", str(cfg), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "scoring.scores[1]" in err and "unknown parameter 'tua' for score 'aflite'" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_split_seed_changes_the_test_split(tmp_path):
    data = _csv(tmp_path)
    from datafactors.experiment.runner import load_run_data

    one = load_run_data(config_from_dict(_cfg(data, ["el2n"])))
    two = load_run_data(config_from_dict({**_cfg(data, ["el2n"]), "split_seed": 1}))
    assert set(one.test.ids) != set(two.test.ids)
    assert one.test.n == two.test.n


def test_resume_reads_stored_selections(tmp_path, monkeypatch):
    data = _csv(tmp_path)
    res = run(config_from_dict(_cfg(data, ["el2n"])), out=tmp_path / "out", make_report=False)
    sel_path = res.run_dir / "selections.parquet"
    before = pd.read_parquet(sel_path)
    trials_before = res.n_trials

    def boom(*args, **kwargs):
        raise AssertionError("select was called on resume although selections.parquet holds every selection")

    monkeypatch.setattr(select_pkg, "select", boom)
    again = run(resume=res.run_dir, make_report=False)
    assert again.n_trials == trials_before
    pd.testing.assert_frame_equal(pd.read_parquet(sel_path), before)

    # drop one combination: only that one is selected again, and the table is complete afterwards
    calls = []
    monkeypatch.undo()
    real = select_pkg.select

    def counting(*args, **kwargs):
        calls.append(args[1:3])
        return real(*args, **kwargs)

    monkeypatch.setattr(select_pkg, "select", counting)
    keep = ~((before["strategy"] == "el2n_hardest") & (before["budget"] == 0.5))
    before[keep].to_parquet(sel_path, index=False)
    run(resume=res.run_dir, make_report=False)
    assert calls == [("hardest", 0.5)]
    after = pd.read_parquet(sel_path)
    key = ["strategy", "budget", "seed", "rank"]
    pd.testing.assert_frame_equal(
        after.sort_values(key).reset_index(drop=True), before.sort_values(key).reset_index(drop=True)
    )


@pytest.mark.parametrize("bad", [{"offset": 0.1}, {"scroe": "el2n"}])
def test_plan_check_rejects_unknown_strategy_options(tmp_path, bad):
    from datafactors._errors import ConfigError

    data = _csv(tmp_path)
    d = _cfg(data, ["el2n"])
    d["strategies"] = [{"name": "r", "selector": "random", "params": bad}]
    with pytest.raises(ConfigError, match="in strategy 'r' of the config: strategy 'random' got unknown option"):
        run(config_from_dict(d), out=tmp_path / "out", make_report=False)
    assert not (tmp_path / "out").exists()
