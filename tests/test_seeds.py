"""Seeds: an int, a tuple of ints (one stream per purpose), a Generator or None; never global state."""

import numpy as np
import pytest

import datafactors as df
from datafactors._errors import DataError
from datafactors._validation import check_random_state, seed_int


def test_every_seed_form_gives_numpys_own_stream():
    assert check_random_state(None).integers(1000) == np.random.default_rng(0).integers(1000)
    assert check_random_state(7).integers(1000) == np.random.default_rng(7).integers(1000)
    assert check_random_state((7, 2)).integers(1000) == np.random.default_rng((7, 2)).integers(1000)
    g = np.random.default_rng(3)
    assert check_random_state(g) is g
    # a tuple is its own stream, not the first int's
    assert check_random_state((7, 2)).integers(2**31) != check_random_state(7).integers(2**31)


def test_seed_int_is_deterministic_for_tuples():
    assert seed_int(5) == 5 and seed_int(None) == 0
    assert seed_int((5, 1)) == seed_int((5, 1)) == int(np.random.default_rng((5, 1)).integers(0, 2**31 - 1))


def test_a_tuple_seed_selects_like_the_generator_it_names():
    ds = df.Dataset.from_arrays(np.arange(40.0).reshape(20, 2), [0, 1] * 10)
    a = df.select.select(ds, "random", 5, seed=(1, 2))
    b = df.select.select(ds, "random", 5, seed=np.random.default_rng((1, 2)))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "bad, message",
    [((), "one or more ints"), ((1, -1), ">= 0"), ((1.5,), "one or more ints"), ((True,), "one or more ints"),
     (-3, ">= 0"), ("0", "must be an int"), (1.0, "must be an int"), ([1, 2], "must be an int")],
)  # fmt: skip
def test_bad_seeds_are_one_clear_error(bad, message):
    with pytest.raises(DataError, match=message):
        check_random_state(bad)
