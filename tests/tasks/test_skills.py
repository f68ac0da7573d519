"""Skills generator: hand-computed skills, unseen test combinations, every skill seen in every position."""

import itertools

import pytest

import datafactors as df
from datafactors.tasks.skills import SKILLS, apply_skills, make_skills


@pytest.mark.parametrize(
    "skills, digits, out",
    [
        (("rev",), [1, 2, 3], [3, 2, 1]),
        (("inc",), [1, 2, 9], [2, 3, 0]),
        (("sort",), [3, 1, 2], [1, 2, 3]),
        (("rotl",), [1, 2, 3], [2, 3, 1]),
        (("swap",), [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]),
        (("neg",), [1, 2, 9], [8, 7, 0]),
        (("cmax",), [1, 3, 1, 2], [1, 3, 3, 3]),
        (("dbl",), [1, 5, 7], [2, 0, 4]),
        (("rev", "inc"), [3, 1, 9], [0, 2, 4]),
        (("inc", "rev"), [3, 1, 9], [0, 2, 4]),
        (("sort", "rotl"), [3, 1, 2], [2, 3, 1]),
        (("rotl", "sort"), [3, 1, 2], [1, 2, 3]),
    ],
)
def test_skills_by_hand(skills, digits, out):
    assert apply_skills(skills, digits) == out


@pytest.fixture(scope="module")
def data():
    return make_skills(n_skills=5, combo_size=2, heldout_frac=0.3, n_train=400, n_test=100, n_ood=100, seed=4)


def test_outputs_and_labels(data):
    for ds in (data.train, data.test, data.ood):
        for inp, out, yi in zip(ds.extra["input"], ds.extra["output"], ds.y, strict=True):
            skills, digits = inp.split(" | ")
            expected = apply_skills(skills.split(), [int(c) for c in digits.split()])
            assert out.split() == [str(v) for v in expected]
            assert yi == expected[0]


def test_test_combinations_unseen_and_every_skill_in_every_position(data):
    train_groups = set(data.train.groups)
    test_groups = set(data.test.groups)
    assert test_groups and not train_groups & test_groups
    combos = [g.split("+") for g in train_groups if "+" in g]
    names = list(SKILLS)[:5]
    for pos in range(2):
        assert {c[pos] for c in combos} == set(names)
    # singles are in training, held-out combinations cover the rest of the 5 * 4 ordered pairs
    assert {g for g in train_groups if "+" not in g} == set(names)
    assert len(test_groups | {g for g in train_groups if "+" in g}) == len(list(itertools.permutations(names, 2)))
    assert (data.ood.extra["n_skills"] == 3).all()


def test_deterministic():
    a, b = (make_skills(n_train=60, n_test=10, n_ood=10, seed=1) for _ in range(2))
    assert a.train.extra.equals(b.train.extra) and a.ood.extra.equals(b.ood.extra)


@pytest.mark.parametrize(
    "kw, knob",
    [
        ({"n_skills": 9}, "n_skills"),
        ({"combo_size": 6}, "combo_size"),
        ({"heldout_frac": 0.0}, "heldout_frac"),
        ({"n_digits": 1}, "n_digits"),
        ({"single_frac": 2.0}, "single_frac"),
    ],
)
def test_bad_knobs(kw, knob):
    with pytest.raises(df.ConfigError, match=knob):
        make_skills(**kw)
