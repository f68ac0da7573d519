"""The ``crafted`` augmentation: crafted-shift families applied to a Dataset, with ids that name the family."""

import numpy as np
import pytest

import datafactors as df
from datafactors._errors import ConfigError
from datafactors.augment import augment
from datafactors.augment.crafted import apply_family


@pytest.fixture
def signals():
    X = np.tile(np.arange(8, dtype=np.float32), (3, 1))  # three ramps 0..7
    return df.Dataset.from_arrays(X, [0, 1, 0], ids=["a", "b", "c"], name="ramps")


def test_invert_by_hand_ids_name_the_family(signals):
    out = augment(signals, "crafted", family="invert")
    assert out.ids.tolist() == ["a~crafted-invert:0", "b~crafted-invert:0", "c~crafted-invert:0"]
    np.testing.assert_array_equal(out.X, np.tile(np.arange(7, -1, -1), (3, 1)))  # 0 + 7 - x
    assert out.y.tolist() == [0, 1, 0]
    assert out.extra["parent"].tolist() == ["a", "b", "c"]
    assert out.extra["augmentation"].unique().tolist() == ["crafted-invert"]
    assert out.extra["family"].unique().tolist() == ["invert"]


def test_copies_come_copy_major_and_differ(signals):
    out = augment(signals, "crafted", family="shift", copies=2, seed=3)
    assert out.n == 6 and out.ids[3] == "a~crafted-shift:1"
    # a shift keeps the ramp's values in order, filling with zeros: each row is the ramp moved by s
    for row in out.X:
        nz = row[row > 0]
        assert np.all(np.diff(nz) == 1)
    assert not np.array_equal(out.X[:3], out.X[3:])  # the copies draw their shifts independently


def test_same_seed_same_rows_and_equal_to_the_array_function(signals):
    a = augment(signals, "crafted", family="noise", seed=5)
    b = augment(signals, "crafted", family="noise", seed=5)
    np.testing.assert_array_equal(a.X, b.X)
    ref = apply_family(signals.X, "noise", seed=np.random.default_rng(5))
    np.testing.assert_array_equal(a.X, ref)
    assert not np.array_equal(a.X, augment(signals, "crafted", family="noise", seed=6).X)


def test_append_keeps_the_originals_first(signals):
    out = augment(signals, "crafted", family="quantize", append=True)
    assert out.ids[:3].tolist() == ["a", "b", "c"] and out.n == 6
    np.testing.assert_array_equal(out.X[:3], signals.X)


def test_images_use_the_datasets_example_shape():
    digits = df.load("digits")
    small = digits.subset(np.arange(5))
    rot = augment(small, "crafted", family="blur")
    # blurring an 8x8 image spreads ink into neighbours across rows as well: compare with a 1-D blur
    ref2d = apply_family(small.X, "blur", shape=(8, 8))
    np.testing.assert_allclose(rot.X, ref2d)
    assert not np.allclose(rot.X, apply_family(small.X, "blur", shape=(64,)))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"family": "sharpen"}, "unknown augmentation families"),
        ({"copies": 0}, "copies"),
        ({"severity": -1.0}, "severity"),
        ({"familly": "noise"}, "unknown option"),
    ],
)
def test_bad_options_are_one_clear_error(signals, params, match):
    with pytest.raises(ConfigError, match=match):
        augment(signals, "crafted", **params)
