"""Rewrite generator: leftmost replacement by hand, rule counts and domains, unseen test rules."""

import numpy as np
import pytest

import datafactors as df
from datafactors.tasks.rewrite import LETTERS, make_rewrite, rewrite


@pytest.mark.parametrize(
    "s, lhs, rhs, out",
    [
        ("abcabc", "bc", "x", "axabc"),  # leftmost of two occurrences
        ("aaa", "aa", "b", "ba"),  # overlapping: the leftmost start wins
        ("cab", "ab", "ba", "cba"),
        ("abc", "d", "x", "abc"),  # no occurrence: unchanged
        ("dxd", "d", "ee", "eexd"),
    ],
)
def test_rewrite_by_hand(s, lhs, rhs, out):
    assert rewrite(s, lhs, rhs) == out


@pytest.fixture(scope="module")
def data():
    return make_rewrite(
        n_rules=12,
        n_domains=3,
        n_domains_total=4,
        domain_size=3,
        n_train=600,
        n_test=200,
        n_ood=200,
        noop_frac=0.25,
        seed=2,
    )


def _domain_of(letters: str, size: int) -> set[int]:
    return {LETTERS.index(c) // size for c in letters}


def test_rows_are_consistent(data):
    for ds in (data.train, data.test, data.ood):
        e = ds.extra
        for _, r in e.iterrows():
            assert r["result"] == rewrite(r["string"], r["lhs"], r["rhs"])
            assert r["input"] == f"{' '.join(r['lhs'])} -> {' '.join(r['rhs'])} | {' '.join(r['string'])}"
            assert r["output"] == " ".join(r["result"])
            assert r["applies"] == (r["lhs"] in r["string"])
        np.testing.assert_array_equal(ds.y, e["applies"].astype(int))
        # exactly round(0.75 n) rows where the rule applies
        assert e["applies"].sum() == round(0.75 * ds.n)


def test_training_rules_count_balance_and_domains(data):
    e = data.train.extra
    counts = e["rule"].value_counts()
    assert len(counts) == 12 and counts.max() - counts.min() <= 1
    doms = {r: _domain_of(lhs + rhs, 3) for r, lhs, rhs in zip(e["rule"], e["lhs"], e["rhs"], strict=True)}
    assert all(len(d) == 1 for d in doms.values())
    assert set().union(*doms.values()) == {0, 1, 2}  # round-robin over the first three domains
    # strings use the whole alphabet: every letter is seen in training inputs
    assert set("".join(e["string"])) == set(LETTERS[:12])


def test_test_rules_are_unseen_and_ood_rules_cross_domain(data):
    train_rules = set(data.train.extra["rule"])
    assert not set(data.test.extra["rule"]) & train_rules
    assert all(
        len(_domain_of(lhs + rhs, 3)) == 1
        for lhs, rhs in zip(data.test.extra["lhs"], data.test.extra["rhs"], strict=True)
    )
    assert set(data.test.groups) == {"d0", "d1", "d2", "d3"}  # unseen rules from every domain
    assert all(
        len(_domain_of(lhs + rhs, 3)) >= 2
        for lhs, rhs in zip(data.ood.extra["lhs"], data.ood.extra["rhs"], strict=True)
    )
    seen = make_rewrite(n_rules=5, n_train=50, n_test=40, n_ood=5, test_rules="seen", seed=0)
    assert set(seen.test.extra["rule"]) <= set(seen.train.extra["rule"])


def test_single_domain_rules_use_one_sub_alphabet():
    d = make_rewrite(n_rules=20, n_domains=1, n_train=100, n_test=10, n_ood=10, seed=0)
    assert set("".join(d.train.extra["lhs"] + d.train.extra["rhs"])) <= set(LETTERS[:4])
    assert set(d.train.groups) == {"d0"}


def test_deterministic_and_same_width():
    a, b = (make_rewrite(n_rules=8, n_train=80, n_test=20, n_ood=20, seed=9) for _ in range(2))
    np.testing.assert_array_equal(a.train.X, b.train.X)
    assert a.test.extra.equals(b.test.extra)
    assert a.train.n_features == a.test.n_features == a.ood.n_features
    c = make_rewrite(n_rules=8, n_train=80, n_test=20, n_ood=20, seed=10)
    assert not a.train.extra["input"].equals(c.train.extra["input"])


@pytest.mark.parametrize(
    "kw, knob",
    [
        ({"n_domains": 5}, "n_domains"),
        ({"noop_frac": 1.5}, "noop_frac"),
        ({"n_domains_total": 14}, "n_domains_total"),
        ({"n_rules": 2, "n_domains": 3}, "n_rules"),
        ({"n_rules": 10_000}, "n_rules"),
        ({"test_rules": "some"}, "test_rules"),
        ({"n_domains_total": 1, "n_domains": 1}, "n_domains_total"),
    ],
)
def test_bad_knobs(kw, knob):
    with pytest.raises(df.ConfigError, match=knob):
        make_rewrite(**{"n_rules": 8, "n_train": 50, "n_test": 5, "n_ood": 5, **kw})


def test_training_set_does_not_depend_on_the_test_knobs():
    a = make_rewrite(n_rules=6, n_train=60, n_test=10, n_ood=10, seed=1)
    b = make_rewrite(n_rules=6, n_train=60, n_test=30, n_ood=5, test_rules="seen", seed=1)
    assert a.train.extra.equals(b.train.extra)
