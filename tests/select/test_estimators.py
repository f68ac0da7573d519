"""scikit-learn-style selector objects over the functional core."""

import numpy as np
import pytest
from sklearn.base import clone

import datafactors as df
from datafactors.select import ClusterBalanced, FacilityLocation, Herding, KCenter
from datafactors.select.facility import facility_location
from datafactors.select.kcenter import kcenter_greedy


def _X(n=50):
    return np.random.default_rng(0).normal(size=(n, 4)).astype(np.float32)


def test_kcenter_estimator_matches_functional_core():
    X = _X()
    sel = KCenter(8, start=3).fit(X)
    idx, gains = kcenter_greedy(X, 8, start=3)
    assert sel.ranking_.tolist() == idx.tolist()
    np.testing.assert_array_equal(sel.gains_, gains)
    assert sel.indices_.tolist() == sorted(idx.tolist())
    np.testing.assert_array_equal(sel.transform(X), X[idx])


def test_facility_estimator_fraction_budget_and_params():
    X = _X(40)
    sel = FacilityLocation(0.25, optimizer="naive")
    assert sel.get_params() == {
        "budget": 0.25,
        "metric": "euclidean",
        "optimizer": "naive",
        "n_neighbors": None,
        "epsilon": 0.01,
        "seed": 0,
    }
    sel.set_params(optimizer="lazy").fit(X)
    idx, gains = facility_location(X, 10)
    assert sel.ranking_.tolist() == idx.tolist()
    np.testing.assert_allclose(sel.gains_, gains)
    assert sel.fit_transform(X).shape == (10, 4)


def test_clone_and_other_estimators():
    X = _X()
    for est in (KCenter(5, seed=1), FacilityLocation(5), Herding(5, gamma=0.1), ClusterBalanced(6, n_clusters=3)):
        a = clone(est).fit(X)
        b = clone(est).fit(X)
        assert a.ranking_.tolist() == b.ranking_.tolist()
        assert len(set(a.ranking_.tolist())) == len(a.ranking_) == len(a.gains_)
    assert ClusterBalanced(6, n_clusters=3).fit(X).labels_.shape == (50,)


def test_constructor_only_stores_and_fit_validates():
    sel = KCenter(0)  # no validation at construction
    with pytest.raises(df.DataError, match="budget == 0"):
        sel.fit(_X())
    with pytest.raises(df.DataError, match="budget == 1.5"):
        KCenter(1.5).fit(_X())
    with pytest.raises(df.DataError, match="X contain 1 NaN or inf"):
        KCenter(2).fit(np.array([[0.0], [np.nan]]))
    with pytest.raises(Exception, match="not fitted"):
        KCenter(2).transform(_X())
