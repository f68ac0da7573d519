"""A strategy's ``augment:`` in the run config: trials train on the selected rows plus their augmented copies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datafactors._errors import ConfigError
from datafactors.augment import augment
from datafactors.cli import main
from datafactors.experiment import run
from datafactors.experiment.config import config_from_dict
from datafactors.experiment.runner import augment_label
from datafactors.learners import make_learner
from datafactors.tasks import make_spurious


def _cfg(**over) -> dict:
    cfg = {
        "dataset": "spurious",
        "dataset_params": {"base": "digits", "rho": 0.95, "n_train": 600, "n_test": 300},
        "learner": "logistic",
        "learner_params": {"C": 1.0},
        "epochs": 3,
        "seeds": [0],
        "budgets": [0.5, 1.0],
        "strategies": [
            {"name": "random", "selector": "random"},
            {"name": "random_targeted", "selector": "random", "augment": "targeted"},
        ],
        "scoring": {"scores": ["el2n"], "seeds": 1},
        "fit": {"n_boot": 0},
        "n_workers": 1,
    }
    cfg.update(over)
    return cfg


def test_augment_spec_and_label():
    cfg = config_from_dict(
        _cfg(strategies=[{"name": "g", "selector": "random", "augment": {"name": "generic", "params": {"scale": 0.5}}}])
    )
    assert cfg.strategies[0].augment_spec() == ("generic", {"scale": 0.5})
    assert augment_label(cfg.strategies[0].augment_spec()) == "generic(scale=0.5)"
    assert config_from_dict(_cfg()).strategies[1].augment_spec() == ("targeted", {})
    assert augment_label(None) is None


@pytest.mark.parametrize(
    "aug, message",
    [
        ("targetd", "Did you mean 'targeted'"),
        ({"name": "generic", "params": {"scael": 0.5}}, "unknown option(s) scael"),
        ({"name": "generic", "params": {"kind": "blur"}}, "kind"),
        ({"name": "dm", "params": {"ipc": 0}}, "ipc"),
    ],
)
def test_bad_augmentation_fails_before_a_run_folder_exists(tmp_path, capsys, aug, message):
    import yaml

    cfg = _cfg(strategies=[{"name": "rt", "selector": "random", "augment": aug}])
    p = tmp_path / "cfg.yaml"
    p.write_text(yaml.safe_dump(cfg))
    assert main(["run", str(p), "--out", str(tmp_path / "runs"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "strategy 'rt'" in err and message in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_targeted_needs_spurious_columns_on_data_that_has_none(tmp_path):
    cfg = config_from_dict(_cfg(dataset="digits", dataset_params={}))
    with pytest.raises(ConfigError, match="which columns are spurious"):
        run(cfg, out=tmp_path / "runs", make_report=False)


def test_trials_train_on_the_augmented_rows(tmp_path):
    res = run(config_from_dict(_cfg()), out=tmp_path / "runs", make_report=False)
    assert res.n_failed == 0 and res.n_trials == 4  # the 100% subsets are not shared: one is augmented
    d = Path(res.run_dir)
    sel = pd.read_parquet(d / "selections.parquet")
    assert sel.loc[sel["strategy"] == "random", "augment"].isna().all()
    assert set(sel.loc[sel["strategy"] == "random_targeted", "augment"]) == {"targeted"}
    import duckdb

    con = duckdb.connect(str(d / "results.duckdb"), read_only=True)
    acc = con.sql(
        "SELECT strategy, budget, eval_set, value FROM trials JOIN metrics USING (trial_id) WHERE metric = 'accuracy'"
    ).df()
    con.close()
    acc = acc.set_index(["strategy", "budget", "eval_set"])["value"]
    # the same trial built by hand: train + one targeted copy of every row, the trial's own augmentation stream
    data = make_spurious("digits", rho=0.95, n_train=600, n_test=300, seed=0)
    train = augment(data.train, "targeted", seed=np.random.default_rng((0, 7)), append=True)
    lrn = make_learner("logistic", C=1.0).fit(train, epochs=3, seed=0)
    ood = float((lrn.predict_proba(data.ood.X).argmax(axis=1) == data.ood.y).mean())
    assert acc[("random_targeted", 1.0, "ood_test")] == pytest.approx(ood, abs=1e-12)
    # breaking the shortcut pays where the cue is at chance (rho 0.95: the plain model leans on it)
    assert acc[("random_targeted", 1.0, "ood_test")] > acc[("random", 1.0, "ood_test")] + 0.05
    # and the closing table names the augmented strategy, although both selected every row
    cs = res.summary.set_index(["budget", "eval_set"])
    assert cs.loc[(1.0, "ood_test"), "best"] == "random_targeted"
