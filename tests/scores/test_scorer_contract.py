"""One contract over every registered scorer: declarations, output columns, ranges, parameters."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

import datafactors as df
from datafactors._errors import ConfigError
from datafactors.scores import COLUMNS, REGISTRY, Scorer, compute, parse_score_params, score_specs
from datafactors.scores.base import ORIENTATIONS

NAMES = REGISTRY.names()
ROW_WISE = {"el2n", "el2n_l1", "grand", "forgetting", "cartography", "loss", "margin", "entropy",
            "least_confidence", "tracin_self", "gopher_quality", "gopher_repetition", "c4"}  # fmt: skip


def _small() -> df.Dataset:
    rng = np.random.default_rng(0)
    y = np.arange(24) % 2
    text = __import__("pandas").DataFrame({"text": [f"Row {i} of the set. It has {i % 5} words!" for i in range(24)]})
    return df.Dataset.from_arrays(rng.normal(size=(24, 3)) + y[:, None], y, extra=text, text_column="text")


@pytest.mark.parametrize("name", NAMES)
def test_declarations(name):
    cls = REGISTRY.get(name)
    assert issubclass(cls, Scorer) and cls.name == name
    assert cls.columns
    for c in cls.columns:
        assert c.orientation in ORIENTATIONS and c.low <= c.high and c.description
        assert COLUMNS[c.name] is c
    assert isinstance(cls.needs_dynamics, bool) and cls.row_wise is (name in ROW_WISE)
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert all(p.default is not inspect.Parameter.empty for p in params), name
    assert all(p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in params), name


@pytest.mark.parametrize("name", NAMES)
def test_output_columns_and_ranges(name):
    ds = _small()
    out = compute(ds, [name], seeds=1, epochs=3, learner="mlp", learner_params={"hidden": [8]})
    assert tuple(out.columns) == REGISTRY.get(name).column_names()
    assert list(out.index) == list(ds.ids)
    for c in REGISTRY.get(name).columns:
        v = out[c.name].to_numpy()
        assert np.all((v >= c.low - 1e-6) & (v <= c.high + 1e-6)), (c.name, v)


@pytest.mark.parametrize("name", NAMES)
def test_unknown_parameter_rejected_by_name(name):
    known = ", ".join(sorted(REGISTRY.get(name).param_defaults())) or "(none: it takes no parameters)"
    with pytest.raises(ConfigError, match=re.escape(f"unknown parameter 'bogus' for score '{name}'; known: {known}")):
        score_specs([(name, {"bogus": 1})])


def test_column_table_is_read_only_and_complete():
    assert "el2n" in COLUMNS and "aflite_predictability" in COLUMNS
    assert len(COLUMNS) == sum(len(REGISTRY.get(n).columns) for n in NAMES)
    with pytest.raises(TypeError):
        COLUMNS["x"] = None  # type: ignore[index]


def test_spec_forms_and_duplicates():
    assert score_specs("el2n, loss") == [("el2n", {}), ("loss", {})]
    assert score_specs(["el2n", ("aflite", {"tau": 0.8}), {"name": "knn_density", "params": {"k": 5}}]) == [
        ("el2n", {}),
        ("aflite", {"tau": 0.8}),
        ("knn_density", {"k": 5}),
    ]
    with pytest.raises(ConfigError, match="^score 'aflite' named twice$"):
        score_specs(["aflite", ("aflite", {"tau": 0.8})])
    with pytest.raises(ConfigError, match="tau == 2, must be a number in"):
        score_specs([("aflite", {"tau": 2})])
    with pytest.raises(ConfigError, match="k == 0, must be an int >= 1"):
        score_specs([("knn_density", {"k": 0})])


def test_parameters_change_values():
    ds = _small()
    a = compute(ds, ["knn_uniqueness"])["knn_uniqueness"].to_numpy()
    b = compute(ds, [{"name": "knn_uniqueness", "params": {"k": 1}}])["knn_uniqueness"].to_numpy()
    # distance to the 1st neighbour never exceeds distance to the 10th, and differs somewhere
    assert np.all(b <= a + 1e-9) and np.any(b < a - 1e-9)
    d = np.linalg.norm(ds.X[:, None] - ds.X[None], axis=2)
    np.fill_diagonal(d, np.inf)
    np.testing.assert_allclose(b, d.min(axis=1), rtol=1e-5)


def test_parse_score_params():
    assert parse_score_params(["aflite"], ["tau=0.8", "n=8"]) == [("aflite", {"tau": 0.8, "n": 8})]
    assert parse_score_params(["el2n", "aflite"], ["aflite.tau=0.8", "el2n.epoch=none"]) == [
        ("el2n", {"epoch": None}),
        ("aflite", {"tau": 0.8}),
    ]
    with pytest.raises(ConfigError, match=r"names no score, but several are computed \(el2n, aflite\)"):
        parse_score_params(["el2n", "aflite"], ["tau=0.8"])
    with pytest.raises(ConfigError, match="score 'knn', which is not among the scores computed: el2n"):
        parse_score_params(["el2n"], ["knn.k=5"])
    with pytest.raises(df.DataError, match="--param 'tau' must look like KEY=VALUE"):
        parse_score_params(["aflite"], ["tau"])


@pytest.mark.parametrize(
    "text, value",
    [("none", None), ("NULL", None), ("True", True), ("false", False), ("3", 3), ("-2", -2), ("0.5", 0.5),
     ("1e-3", 1e-3), ("l2", "l2"), ("", "")],
)  # fmt: skip
def test_parse_param_value(text, value):
    from datafactors._validation import parse_param_value

    got = parse_param_value(text)
    assert got == value and type(got) is type(value)


def test_parse_param_items():
    from datafactors._validation import parse_param_items

    assert parse_param_items(["k=5", " tau = 0.8"]) == {"k": 5, "tau": 0.8}
    with pytest.raises(df.DataError, match="--score-param '=3' must look like KEY=VALUE"):
        parse_param_items(["=3"], flag="--score-param")
