"""The run config: the default validates, bad configs raise one ConfigError naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from datafactors._errors import ConfigError
from datafactors.experiment import RunConfig, dump_config, load_config
from datafactors.experiment.config import config_from_dict

SMALL = {
    "dataset": "digits",
    "learner": "mlp",
    "learner_params": {"hidden": [32], "batch_size": 64, "lr": 0.005},
    "epochs": 5,
    "seeds": [0, 1],
    "budgets": [0.25, 0.5, 1.0],
    "strategies": [
        {"name": "random", "selector": "random"},
        {"name": "el2n_hardest", "selector": "hardest", "score": "el2n"},
    ],
    "scoring": {"scores": ["el2n", "forgetting", "cartography"], "seeds": 2},
    "fit": {"n_boot": 20},
    "n_workers": 1,
}


def _with(**changes):
    import copy

    d = copy.deepcopy(SMALL)
    d.update(changes)
    return d


def _write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _error(data) -> str:
    with pytest.raises(ConfigError) as ei:
        config_from_dict(data)
    return str(ei.value)


# ------------------------------------------------------------------ valid configs


def test_default_config_validates():
    cfg = load_config(None)
    assert isinstance(cfg, RunConfig)
    cfg.check_names()
    assert cfg.dataset == "mnist1d"
    assert cfg.budgets == sorted(cfg.budgets)
    assert len({s.name for s in cfg.strategies}) == len(cfg.strategies)


def test_small_config_validates(tmp_path):
    cfg = load_config(_write(tmp_path, yaml.safe_dump(SMALL)))
    assert cfg.dataset == "digits"
    assert cfg.seeds == [0, 1]
    assert [s.name for s in cfg.strategies] == ["random", "el2n_hardest"]
    assert cfg.strategies[1].score == "el2n"
    assert cfg.scoring.seeds == 2 and cfg.fit.n_boot == 20 and cfg.n_workers == 1


def test_empty_yaml_is_the_default(tmp_path):
    assert load_config(_write(tmp_path, "")) == load_config(None)


def test_budgets_are_sorted():
    assert config_from_dict(_with(budgets=[1.0, 0.25, 0.5])).budgets == [0.25, 0.5, 1.0]


# ------------------------------------------------------------------ unknown keys


def test_unknown_top_level_key_is_named():
    msg = _error(_with(epoch=5))
    assert "unknown key" in msg and "'epoch'" in msg


def test_unknown_nested_key_is_named():
    strategies = [{"name": "random", "selector": "random", "scroe": "el2n"}]
    msg = _error(_with(strategies=strategies))
    assert "scroe" in msg and "strategies" in msg


def test_unknown_key_in_scoring_is_named():
    msg = _error(_with(scoring={"scores": ["el2n"], "seed": 2}))
    assert "scoring" in msg and "seed" in msg


def test_unknown_key_message_names_the_file(tmp_path):
    p = _write(tmp_path, yaml.safe_dump(_with(epoch=5)))
    with pytest.raises(ConfigError, match="epoch") as ei:
        load_config(p)
    assert str(p) in str(ei.value)


# ------------------------------------------------------------------ wrong values


def test_wrong_type_names_the_key():
    msg = _error(_with(epochs="ten"))
    assert "epochs" in msg


@pytest.mark.parametrize("budget", [0, 0.0, 1.5, -0.1])
def test_budget_out_of_range(budget):
    msg = _error(_with(budgets=[0.5, budget]))
    assert "budget" in msg and str(float(budget)) in msg


def test_duplicate_budgets():
    assert "distinct" in _error(_with(budgets=[0.5, 0.5]))


def test_duplicate_seeds():
    msg = _error(_with(seeds=[0, 1, 0]))
    assert "seeds" in msg and "distinct" in msg


def test_negative_seed():
    assert "seeds" in _error(_with(seeds=[-1]))


def test_duplicate_strategy_names():
    strategies = [{"name": "a", "selector": "random"}, {"name": "a", "selector": "hardest", "score": "el2n"}]
    msg = _error(_with(strategies=strategies))
    assert "unique" in msg and "'a'" in msg


@pytest.mark.parametrize(
    ("key", "value"),
    [("seeds", []), ("budgets", []), ("strategies", []), ("epochs", 0), ("n_workers", 0), ("protocol", "fixed")],
)
def test_impossible_values_name_the_key(key, value):
    assert key in _error(_with(**{key: value}))


# ------------------------------------------------------------------ unknown registry names


def test_unknown_selector_did_you_mean():
    msg = _error(_with(strategies=[{"name": "h", "selector": "hardst", "score": "el2n"}]))
    assert "'hardst'" in msg and "Did you mean 'hardest'" in msg


def test_unknown_scorer_did_you_mean():
    msg = _error(_with(scoring={"scores": ["el2m", "forgetting"], "seeds": 2}))
    assert "'el2m'" in msg and "Did you mean 'el2n'" in msg


def test_unknown_learner_did_you_mean():
    msg = _error(_with(learner="mpl", learner_params={}))
    assert "'mpl'" in msg and "Did you mean 'mlp'" in msg


def test_unknown_strategy_score_column_did_you_mean():
    msg = _error(_with(strategies=[{"name": "h", "selector": "hardest", "score": "el2m"}]))
    assert "'el2m'" in msg and "Did you mean 'el2n'" in msg


def test_unknown_learner_param_is_named():
    msg = _error(_with(learner_params={"hidden": [32], "hiden": [8]}))
    assert "hiden" in msg


def test_learner_hidden_not_a_list_is_config_error():
    msg = _error(_with(learner_params={"hidden": 8}))
    assert "hidden" in msg


# ------------------------------------------------------------------ files


def test_invalid_yaml_names_the_line(tmp_path):
    p = _write(tmp_path, "dataset: digits\nepochs: [5\nseeds: [0]\n")
    with pytest.raises(ConfigError) as ei:
        load_config(p)
    msg = str(ei.value)
    assert "YAML" in msg and "line" in msg and str(p) in msg


def test_yaml_list_is_rejected(tmp_path):
    p = _write(tmp_path, "- dataset: digits\n- epochs: 5\n")
    with pytest.raises(ConfigError, match="mapping") as ei:
        load_config(p)
    assert "list" in str(ei.value)


def test_yaml_scalar_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="mapping"):
        load_config(_write(tmp_path, "just a string\n"))


def test_missing_config_file(tmp_path):
    p = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="not found") as ei:
        load_config(p)
    assert str(p) in str(ei.value)


def test_config_path_is_a_folder(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path)


def test_binary_config_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(ConfigError):
        load_config(p)


# ------------------------------------------------------------------ round trip


@pytest.mark.parametrize("data", [None, SMALL], ids=["default", "small"])
def test_dump_load_round_trip(tmp_path, data):
    cfg = load_config(None) if data is None else config_from_dict(data)
    text = dump_config(cfg)
    again = load_config(_write(tmp_path, text))
    assert again == cfg
    assert again.model_dump() == cfg.model_dump()
    assert dump_config(again) == text


def test_dump_is_fully_resolved():
    dumped = yaml.safe_load(dump_config(config_from_dict({"dataset": "digits"})))
    assert set(dumped) == set(RunConfig.model_fields)
    assert dumped["strategies"] and all("selector" in s for s in dumped["strategies"])


# ---------------------------------------------------------------- scorer parameters and split_seed


def test_scoring_specs_with_params_round_trip():
    scores = ["el2n", {"name": "aflite", "params": {"tau": 0.8}}, {"name": "grand", "params": {"epoch": 3}}]
    cfg = config_from_dict(_with(scoring={"scores": scores, "seeds": 2}))
    assert cfg.scoring.specs() == [("el2n", {}), ("aflite", {"tau": 0.8}), ("grand", {"epoch": 3})]
    assert cfg.scoring.names() == ["el2n", "aflite", "grand"]
    again = config_from_dict(yaml.safe_load(dump_config(cfg)))
    assert again == cfg
    assert yaml.safe_load(dump_config(cfg))["scoring"]["scores"] == scores


@pytest.mark.parametrize(
    "entry, expected",
    [
        ({"name": "aflite", "params": {"tua": 0.8}}, "scoring.scores[1]: unknown parameter 'tua' for score 'aflite'"),
        ({"name": "aflite", "params": {"tau": 2.0}}, "scoring.scores[1]: tau == 2.0, must be a number in [0, 1]"),
        ({"name": "el2n", "params": {"epoch": 3}}, "scoring.scores[1]: score 'el2n' named twice"),
        ({"name": "aflit"}, "scoring.scores[1]: unknown score 'aflit'"),
    ],
)
def test_bad_scorer_spec_is_one_error_naming_its_position(entry, expected):
    with pytest.raises(ConfigError) as ei:
        config_from_dict(_with(scoring={"scores": ["el2n", entry], "seeds": 2}))
    assert str(ei.value).startswith(expected)


def test_unknown_parameter_lists_known_ones():
    with pytest.raises(ConfigError) as ei:
        config_from_dict(_with(scoring={"scores": [{"name": "aflite", "params": {"tua": 0.8}}]}))
    assert "known: C, k, m, max_iter, n, n_threads, tau, tol" in str(ei.value)


def test_score_column_check_reads_spec_names():
    strategies = [{"name": "f", "selector": "hardest", "score": "forgetting"}]
    with pytest.raises(ConfigError, match=r"scoring.scores \(el2n, aflite\) does not compute it"):
        config_from_dict(
            _with(strategies=strategies, scoring={"scores": ["el2n", {"name": "aflite", "params": {"k": 3}}]})
        )


def test_split_seed_default_and_bounds():
    assert config_from_dict(SMALL).split_seed == 0
    assert config_from_dict(_with(split_seed=7)).split_seed == 7
    with pytest.raises(ConfigError, match="split_seed"):
        config_from_dict(_with(split_seed=-1))


# ------------------------------------------------------------------ image_size / image_shape


def test_image_keys_default_to_none_and_validate():
    cfg = config_from_dict(_with(dataset="photos/", image_size=[28, 28], image_shape=[28, 28]))
    assert cfg.image_size == [28, 28] and cfg.image_shape == [28, 28]
    assert config_from_dict(SMALL).image_size is None and config_from_dict(SMALL).image_shape is None
    assert config_from_dict(_with(image_shape=[8, 8, 1])).image_shape == [8, 8, 1]
    assert yaml.safe_load(dump_config(cfg))["image_size"] == [28, 28]


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"dataset": "photos/", "image_size": [28]}, "image_size: Value error, expected [height, width]"),
        ({"dataset": "photos/", "image_size": [0, 28]}, "image_size: Value error, expected [height, width]"),
        ({"dataset": "photos/", "image_size": [28.5, 28]}, "image_size.0"),
        ({"dataset": "photos/", "image_size": "28x28"}, "image_size"),
        ({"image_size": [28, 28]}, "image_size: Value error, applies to a folder of images; 'digits' is a built-in"),
        ({"dataset": "c.jsonl", "text": "t", "image_size": [8, 8]}, "image_size: Value error, applies to a folder"),
        (
            {"image_shape": [8, 8, 4]},
            "image_shape: Value error, expected [h, w], [h, w, 3] or [n]; (8, 8, 4) has 4 channels",
        ),
        (
            {"image_shape": [1, 8, 8, 1]},
            "image_shape: Value error, expected [h, w], [h, w, 3] or [n]; (1, 8, 8, 1) has 4",
        ),
        ({"image_shape": [0]}, "image_shape: Value error, expected [h, w], [h, w, 3] or [n]; (0,) must hold positive"),
        ({"image_shape": [True, 64]}, "image_shape.0"),
        (
            {"dataset": "c.jsonl", "text": "t", "image_shape": [8, 8]},
            "image_shape: Value error, declares pixel features",
        ),
    ],
)
def test_bad_image_keys_are_one_error_naming_the_key(changes, expected):
    assert expected in _error(_with(**changes))


def test_run_data_apply_image_shape_and_image_size(tmp_path):
    import numpy as np
    import pandas as pd
    from PIL import Image

    from datafactors.experiment.runner import load_run_data

    data = load_run_data(config_from_dict(_with(image_shape=[64])))
    assert data.train.example_shape == data.test.example_shape == data.ood.example_shape == (64,)
    assert load_run_data(config_from_dict(SMALL)).train.example_shape == (8, 8)

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.random((20, 12)), columns=[f"p{j}" for j in range(12)])
    frame["label"] = ["a", "b"] * 10
    frame.to_csv(tmp_path / "pixels.csv", index=False)
    cfg = config_from_dict(_with(dataset=str(tmp_path / "pixels.csv"), image_shape=[3, 4]))
    data = load_run_data(cfg)
    assert data.train.example_shape == data.test.example_shape == (3, 4)
    with pytest.raises(ConfigError, match=r"image_shape \(5, 5\) holds 25 values, but pixels.csv has 12 features"):
        load_run_data(config_from_dict(_with(dataset=str(tmp_path / "pixels.csv"), image_shape=[5, 5])))

    for c in ("cat", "dog"):
        (tmp_path / "photos" / c).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(rng.integers(0, 256, (6 + i, 9), dtype=np.uint8)).save(tmp_path / "photos" / c / f"{i}.png")
    cfg = config_from_dict(_with(dataset=str(tmp_path / "photos"), image_size=[4, 4]))
    data = load_run_data(cfg)
    assert data.train.example_shape == data.test.example_shape == (4, 4)
    assert data.train.class_names == ["cat", "dog"] and data.train.n + data.test.n == 10
    with pytest.raises(ConfigError, match="image_size applies to a folder of images; .*pixels.csv is not one"):
        load_run_data(config_from_dict(_with(dataset=str(tmp_path / "pixels.csv"), image_size=[4, 4])))
