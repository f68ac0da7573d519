"""Every task generator is registered as a task and as a built-in dataset."""

import pytest

import datafactors as df
from datafactors.io import BUILTINS
from datafactors.tasks import GENERATORS, generate

SMALL = {
    "scan": {"n_train": 40, "n_test": 10, "n_ood": 10},
    "rewrite": {"n_rules": 4, "n_train": 40, "n_test": 10, "n_ood": 10},
    "skills": {"n_train": 40, "n_test": 10, "n_ood": 10},
    "spurious": {"base": "digits", "n_train": 40, "n_test": 10},
    "gcog": {"n_train": 40, "n_test": 10, "n_ood": 10},
}


def test_all_registered():
    assert set(GENERATORS.names()) == set(SMALL)
    assert set(SMALL) <= set(BUILTINS.names())


@pytest.mark.parametrize("name", sorted(SMALL))
def test_generators_deterministic_and_loadable(name):
    a = generate(name, seed=3, **SMALL[name])
    b = df.load(name, split=True, seed=3, **SMALL[name])
    for x, y in zip((a.train, a.test, a.ood), b, strict=True):
        assert x.n > 0 and x.n_features == a.train.n_features
        assert (x.X == y.X).all() and (x.y == y.y).all() and list(x.ids) == list(y.ids)
    assert a.ood_description


def test_unknown_generator_suggests():
    with pytest.raises(df.ConfigError, match="did you mean 'scan'|Did you mean 'scan'"):
        generate("sacn")


def test_unknown_knob_is_a_type_error_the_runner_reports():
    with pytest.raises(TypeError, match="n_primitivs"):
        generate("scan", n_primitivs=8)
