"""Effects, intervals and the scoreboard: hand-computed cases and independent references."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

import datafactors.recipes as recipes_mod
from datafactors.cli import app
from datafactors.recipes import Effect, Recipe, RecipeResult, bootstrap, paired_bootstrap, scoreboard, t_interval


def test_effect_decides_by_the_interval_end_not_the_estimate():
    # estimate well above the margin, but the interval reaches below it: not held
    assert not Effect("gain", 2.0, -0.1, 4.1, margin=0.0).held
    assert Effect("gain", 2.0, 0.3, 4.1, margin=0.0).held
    assert not Effect("gain", 2.0, 0.3, 4.1, margin=0.5).held
    # "stays below": decided by the upper end
    assert Effect("gap", 0.5, -0.2, 1.5, margin=2.0, above=False).held
    assert not Effect("gap", 0.5, -0.2, 2.5, margin=2.0, above=False).held
    # an interval that could not be computed never holds
    assert not Effect("gain", 2.0, math.nan, math.nan).held
    text = str(Effect("gain (points)", 2.0, 0.3, 4.1, margin=0.5))
    assert "2 [0.3, 4.1]" in text and "lower end > 0.5" in text and "not held" in text


def test_t_interval_matches_scipy():
    x = np.array([0.8, 2.1, 1.4, 3.0])
    est, lo, hi = t_interval(x, level=0.9)
    ref = stats.t.interval(0.9, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert est == pytest.approx(x.mean())
    assert (lo, hi) == pytest.approx(ref, rel=1e-12)
    assert math.isnan(t_interval([1.0])[1])


def test_paired_bootstrap_width_matches_the_normal_approximation():
    # one seed, 4000 paired Bernoulli items: the interval of the mean difference is about
    # mean +- 1.645 * sd(d) / sqrt(n)
    rng = np.random.default_rng(3)
    n = 4000
    a = (rng.random(n) < 0.80).astype(float)
    b = np.where(rng.random(n) < 0.7, a, (rng.random(n) < 0.75).astype(float))
    d = a - b
    est, lo, hi = paired_bootstrap(a, b, seed=0, n_boot=4000)
    assert est == pytest.approx(d.mean())
    half = 1.645 * d.std(ddof=1) / math.sqrt(n)
    assert (hi - lo) / 2 == pytest.approx(half, rel=0.08)
    assert lo < d.mean() < hi


def test_paired_bootstrap_counts_seed_variation():
    # items agree perfectly within a seed, seeds disagree: an items-only interval would be
    # a point; the seed axis must widen it
    a = np.array([[1.0] * 50, [0.0] * 50, [1.0] * 50])
    b = np.full((3, 50), 0.5)
    est, lo, hi = paired_bootstrap(a, b, seed=1)
    assert est == pytest.approx(1 / 6)
    # 5% of draws fall at or below two "0"-seeds out of three (mean -1/6); 30% are all "1"-seeds
    assert lo == pytest.approx(-1 / 6) and hi == pytest.approx(0.5)


def test_bootstrap_two_axes_and_reproducible():
    x = np.random.default_rng(0).normal(size=(3, 200))

    def stat(s, i):
        return float(x[np.ix_(s, i)].mean())

    r1 = bootstrap(stat, [3, 200], seed=5)
    r2 = bootstrap(stat, [3, 200], seed=5)
    assert r1 == r2
    assert r1[0] == pytest.approx(x.mean())
    assert r1[1] < r1[0] < r1[2]
    with pytest.raises(ValueError, match="at least one unit"):
        bootstrap(stat, [0], seed=0)


def test_result_held_comes_from_effects():
    ok = Effect("a", 1.0, 0.5, 1.5)
    bad = Effect("b", 1.0, -0.5, 1.5)
    assert RecipeResult("r", "p", "c", {}, effects=[ok]).held is True
    assert RecipeResult("r", "p", "c", {}, effects=[ok, bad]).held is False
    with pytest.raises(ValueError, match="computed from the effects"):
        RecipeResult("r", "p", "c", {}, True, effects=[ok])


def _fake(*, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    # a planted effect of 1.0 that the control removes; 3 seeds of noise around it
    rng = np.random.default_rng(seed)
    seeds = [seed + k for k in range(2 if quick else 3)]
    diffs = (0.0 if control else 1.0) + rng.normal(scale=0.05, size=len(seeds))
    est, lo, hi = t_interval(diffs)
    eff = Effect("planted gain", est, lo, hi, margin=0.2, method="t over seeds")
    return RecipeResult("fake", "Fake (2026)", "planted gain > 0.2", {"n": 10}, effects=[eff], seeds=seeds)


@pytest.fixture
def fake_recipe(monkeypatch):
    monkeypatch.setitem(
        recipes_mod.REGISTRY._items, "fake", Recipe("fake", "Fake (2026)", "gain", _fake, "gain removed")
    )
    return "fake"


def test_run_records_control_and_seconds(fake_recipe):
    res = recipes_mod.run(fake_recipe, seed=2)
    ctl = recipes_mod.run(fake_recipe, seed=2, control=True)
    assert res.held and not ctl.held
    assert ctl.is_control and not res.is_control and ctl.control == "gain removed"
    assert res.seconds is not None and res.seconds >= 0
    board = scoreboard([(res, ctl)])
    assert list(board["run"]) == ["paper setting", "control: gain removed"]
    assert list(board["verdict"]) == ["held", "not held"]
    assert board["control_verdict"].iloc[0] == "not held (ok)"
    assert (
        "planted gain 0.988 [0.955, 1.02]" in board["effect"].iloc[0]
        and "needs lower end > 0.2" in board["effect"].iloc[0]
    )


def test_full_size_with_fewer_than_three_seeds_is_refused(monkeypatch):
    def two_seeds(*, seed=0, quick=False, control=False):
        res = _fake(seed=seed, quick=True, control=control)
        return res

    monkeypatch.setitem(recipes_mod.REGISTRY._items, "two", Recipe("two", "p", "c", two_seeds, "x"))
    with pytest.raises(RuntimeError, match="needs >= 3"):
        recipes_mod.run("two")
    assert recipes_mod.run("two", quick=True).held


def test_cli_prints_scoreboard_and_writes_json(fake_recipe, tmp_path):
    out = tmp_path / "scoreboard.json"
    r = CliRunner().invoke(app, ["recipes", "run", "fake", "--out", str(out)], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "Scoreboard" in r.output and "control: gain removed" in r.output
    assert "1 of 1 claims held; 1 of 1 negative controls not held" in r.output
    doc = json.loads(out.read_text())
    (entry,) = doc["recipes"]
    assert entry["result"]["held"] is True and entry["control_result"]["held"] is False
    assert entry["result"]["effects"][0]["margin"] == 0.2 and entry["result"]["seeds"] == [0, 1, 2]
    assert [row["run"] for row in doc["table"]] == ["paper setting", "control: gain removed"]


def test_cli_bad_out_and_unknown_recipe_exit_2(fake_recipe, tmp_path, capsys, cli):
    assert cli(["recipes", "run", "fake", "--out", str(tmp_path / "board.txt")]) == 2
    assert ".json" in capsys.readouterr().err
    assert cli(["recipes", "run", "fake", "--out", str(tmp_path / "nope" / "b.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli(["recipes", "run", "no-such-recipe"]) == 2
    assert "unknown recipe" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_every_recipe_names_its_control_and_quotes_its_paper():
    import sys

    from datafactors.recipes import REGISTRY

    for name in REGISTRY.names():
        rec = REGISTRY.get(name)
        assert rec.control.strip(), f"{name} has no negative control"
        doc = sys.modules[rec.fn.__module__].__doc__ or ""
        assert any(q in doc for q in ('"', "“")), f"{name}'s docstring quotes no sentence of its paper"
        assert "control" in doc.lower(), f"{name}'s docstring does not describe its negative control"
