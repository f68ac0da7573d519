"""Recipe verdicts saved into a run folder (recipes.json), the CLI's --run, and the report section."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import datafactors.recipes as recipes_mod
from datafactors import DataError
from datafactors.cli import app
from datafactors.recipes import Effect, RecipeResult, load_verdicts, save_verdicts
from datafactors.report._load import RunData
from datafactors.report.sections.recipes import recipes_html


def _result(name: str = "data-diet", held: bool = True, **measured) -> RecipeResult:
    return RecipeResult(name, "Paul et al. (2021)", "EL2N <keeps> accuracy", measured or {"gap": 1.5}, held)


def test_save_then_load_round_trip(tmp_path):
    path = save_verdicts(_result(gap=np.float32(1.25), n=np.int64(3), ok=np.bool_(True)), tmp_path, seed=4, quick=True)
    assert path == tmp_path / "recipes.json"
    (entry,) = load_verdicts(tmp_path)
    assert entry["name"] == "data-diet" and entry["held"] is True and entry["seed"] == 4 and entry["quick"] is True
    assert entry["measured"] == {"gap": 1.25, "n": 3, "ok": True}
    assert entry["version"] and entry["date"].endswith("Z")


def test_same_name_replaces_and_others_are_kept(tmp_path):
    save_verdicts([_result("b", held=False), _result("a")], tmp_path)
    save_verdicts(_result("b", held=True, gap=9.0), tmp_path)
    entries = load_verdicts(tmp_path)
    assert [e["name"] for e in entries] == ["a", "b"]
    assert entries[1]["held"] is True and entries[1]["measured"] == {"gap": 9.0}


def test_non_finite_values_are_valid_json(tmp_path):
    save_verdicts(_result(inf=float("inf"), nan=float("nan"), arr=[1, np.float64(2.5)]), tmp_path)
    data = json.loads((tmp_path / "recipes.json").read_text())  # strict JSON: no NaN/Infinity tokens
    assert data["recipes"][0]["measured"] == {"inf": "inf", "nan": "nan", "arr": [1, 2.5]}


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(DataError, match="not a directory"):
        save_verdicts(_result(), tmp_path / "missing")
    with pytest.raises(DataError, match="RecipeResult"):
        save_verdicts(["not a result"], tmp_path)
    (tmp_path / "recipes.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="not a recipes verdict file"):
        load_verdicts(tmp_path)
    assert load_verdicts(tmp_path / "nowhere") == []


def test_report_section(tmp_path):
    html = recipes_html(RunData(run_dir=tmp_path))
    assert "No recipe verdicts" in html and "--run" in html
    save_verdicts([_result("a"), _result("b", held=False, big=float("inf"))], tmp_path, seed=0)
    html = recipes_html(RunData(run_dir=tmp_path))
    assert "1 of 2" in html and "badge held" in html and "badge not-held" in html
    assert "&lt;keeps&gt;" in html and "∞" in html
    (tmp_path / "recipes.json").write_text("{not json")
    assert "could not be read" in recipes_html(RunData(run_dir=tmp_path))


def test_report_shows_effects_intervals_and_control(tmp_path):
    eff = Effect("EL2N minus random (points)", 1.5, 0.4, 2.6, margin=0.5)
    res = RecipeResult("data-diet", "Paul et al. (2021)", "claim", {"n": 3}, effects=[eff], claim_part="part (a)")
    res.control = "EL2N scores shuffled"
    ctl = RecipeResult("data-diet", "p", "claim", {}, effects=[Effect("x", 0.1, -0.9, 1.1, margin=0.5)])
    save_verdicts(res, tmp_path, controls={"data-diet": ctl})
    (entry,) = load_verdicts(tmp_path)
    assert entry["control_held"] is False and entry["effects"][0]["lo"] == 0.4
    html = recipes_html(RunData(run_dir=tmp_path))
    assert "EL2N minus random (points): <b>1.5</b> [0.4, 2.6]" in html and "lower end &gt; 0.5" in html
    assert "negative control (EL2N scores shuffled): not held, as it should be" in html
    assert "checked: part (a)" in html


def test_cli_run_option_saves_verdicts_and_rebuilds_report(tmp_path, monkeypatch):
    calls = []

    def fake_run(name, *, seed=0, quick=False, control=False):
        calls.append((name, seed, quick, control))
        res = _result(name, held=not control)
        res.control, res.is_control = "EL2N scores shuffled", control
        return res

    monkeypatch.setattr(recipes_mod, "run", fake_run)
    (tmp_path / "manifest.json").write_text(json.dumps({"run_id": "r1", "status": "complete"}))
    res = CliRunner().invoke(app, ["recipes", "run", "data-diet", "--quick", "--quiet", "--run", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert calls == [("data-diet", 0, True, False), ("data-diet", 0, True, True)]
    assert [e["name"] for e in load_verdicts(tmp_path)] == ["data-diet"]
    assert load_verdicts(tmp_path)[0]["control_held"] is False
    assert load_verdicts(tmp_path)[0]["seconds"] >= 0
    assert "Recipe verdicts" in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "recipes.json" in res.output and "report.html" in res.output


def test_cli_run_option_rejects_missing_folder(tmp_path):
    res = CliRunner().invoke(app, ["recipes", "run", "data-diet", "--run", str(tmp_path / "nope")])
    assert res.exit_code != 0
    assert isinstance(res.exception, DataError) and "not a run folder" in str(res.exception)
