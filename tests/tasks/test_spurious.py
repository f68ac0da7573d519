"""Spurious generator: exact alignment share, groups, same held-out images in test and OOD."""

import numpy as np
import pytest

import datafactors as df
from datafactors.tasks import make_spurious


@pytest.fixture(scope="module")
def digits():
    return make_spurious(base="digits", rho=0.9, seed=0)


def test_alignment_share_is_rho_per_class(digits):
    for ds, rho in ((digits.train, 0.9), (digits.test, 0.9), (digits.ood, 0.5)):
        e = ds.extra
        for c in (0, 1):
            m = ds.y == c
            assert e["aligned"][m].sum() == round(rho * m.sum())
        np.testing.assert_array_equal(ds.y, (e["base_label"] >= 5).astype(int))
        assert (e["aligned"] == (e["spurious"] == ds.y)).all()


def test_groups_are_label_and_spurious_value(digits):
    ds = digits.ood
    expected = [f"y={a},s={b}" for a, b in zip(ds.y, ds.extra["spurious"], strict=True)]
    assert list(ds.groups) == expected
    assert sorted(set(ds.groups)) == ["y=0,s=0", "y=0,s=1", "y=1,s=0", "y=1,s=1"]


def test_features_core_then_spurious(digits):
    assert digits.train.n_features == 64 + 8
    # the OOD set is the test images with the spurious attribute redrawn
    np.testing.assert_array_equal(digits.test.X[:, :64], digits.ood.X[:, :64])
    for ds in (digits.train, digits.ood):
        sign = np.sign(ds.X[:, 64:].mean(1))
        assert (sign == 2 * ds.extra["spurious"].to_numpy() - 1).mean() > 0.99


def test_mnist1d_base_and_sizes():
    d = make_spurious(base="mnist1d", rho=0.8, n_train=200, n_test=100, seed=1)
    assert (d.train.n, d.test.n, d.ood.n) == (200, 100, 100) and d.train.n_features == 40 + 8
    loaded = df.load("spurious", split=True, base="digits", rho=1.0, n_train=100)
    assert loaded[0].extra["aligned"].all()


def test_deterministic():
    a, b = (make_spurious(base="digits", rho=0.7, n_train=300, seed=3) for _ in range(2))
    np.testing.assert_array_equal(a.train.X, b.train.X)
    np.testing.assert_array_equal(a.ood.groups, b.ood.groups)


@pytest.mark.parametrize(
    "kw, knob",
    [
        ({"rho": 1.2}, "rho"),
        ({"rho": -0.1}, "rho"),
        ({"rho_ood": 2.0}, "rho_ood"),
        ({"base": "cifar"}, "base"),
        ({"n_train": 5000}, "n_train"),
        ({"spurious_dims": 0}, "spurious_dims"),
    ],
)
def test_bad_knobs(kw, knob):
    with pytest.raises(df.ConfigError, match=knob):
        make_spurious(**{"base": "digits", **kw})
