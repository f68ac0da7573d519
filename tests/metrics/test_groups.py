"""Per-group and worst-group accuracy: hand-computed cases and validation."""

from __future__ import annotations

import numpy as np
import pytest

from datafactors import DataError
from datafactors.metrics import accuracy, group_accuracy, worst_group_accuracy

# predicted classes 0, 1, 0, 1, 1, 0 ; labels 0, 1, 1, 1, 0, 0
P = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9], [0.4, 0.6], [0.8, 0.2]])
Y = np.array([0, 1, 1, 1, 0, 0])
G = np.array(["water", "water", "land", "land", "land", "water"])


def test_group_accuracy_by_hand():
    t = group_accuracy(P, Y, G)
    assert list(t.index) == ["land", "water"]
    assert t["n"].tolist() == [3, 3]
    # land: wrong, right, wrong -> 1/3; water: right, right, right -> 1
    np.testing.assert_allclose(t["accuracy"], [1 / 3, 1.0])
    # the count-weighted mean of group accuracies is the overall accuracy
    assert float((t["n"] * t["accuracy"]).sum() / t["n"].sum()) == pytest.approx(accuracy(P, Y))


def test_worst_group_accuracy():
    assert worst_group_accuracy(P, Y, G) == pytest.approx(1 / 3)
    # integer groups; a singleton group is ignored with min_count=2
    g = np.array([0, 0, 0, 1, 1, 2])
    assert worst_group_accuracy(P, Y, g) == pytest.approx(0.5)  # group 1: right, wrong
    assert worst_group_accuracy(P, Y, g, min_count=3) == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("groups", "kwargs", "match"),
    [
        (G[:5], {}, "groups has 5 entries but probs has 6"),
        (G.reshape(2, 3), {}, "must be 1-D"),
        (np.array(["a", None, "b", "a", "b", "a"], dtype=object), {}, "missing value \\(first at position 1\\)"),
        (np.array([0, 1, np.nan, 0, 1, 0]), {}, "missing value"),
        (G, {"min_count": 0}, "min_count == 0"),
        (G, {"min_count": 10}, "no group has >= 10 examples"),
    ],
)
def test_bad_groups_raise(groups, kwargs, match):
    with pytest.raises(DataError, match=match):
        worst_group_accuracy(P, Y, groups, **kwargs)
