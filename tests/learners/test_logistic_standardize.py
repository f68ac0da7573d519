"""The logistic proxy with and without its own standardization, against scikit-learn directly."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

import datafactors as df
from datafactors._errors import ConfigError
from datafactors.learners import make_learner


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=(60, 2)), 100 * rng.normal(size=(60, 1))].astype(np.float32)
    y = (X[:, 0] + X[:, 2] / 100 > 0).astype(int)
    return df.Dataset.from_arrays(X, y), rng.normal(size=(20, 3)).astype(np.float32)


def test_standardize_false_is_sklearn_on_the_raw_features(data):
    ds, Xq = data
    ours = make_learner("logistic", C=0.5, standardize=False).fit(ds, epochs=200, seed=0).predict_proba(Xq)
    ref = LogisticRegression(C=0.5, max_iter=200, random_state=0).fit(ds.X, ds.y).predict_proba(Xq)
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_default_standardizes_on_the_training_rows(data):
    ds, Xq = data
    ours = make_learner("logistic", C=0.5).fit(ds, epochs=200, seed=0).predict_proba(Xq)
    sc = StandardScaler().fit(ds.X.astype(np.float64))
    ref = LogisticRegression(C=0.5, max_iter=200, random_state=0).fit(sc.transform(ds.X), ds.y)
    np.testing.assert_allclose(ours, ref.predict_proba(sc.transform(Xq)), atol=1e-5)
    # the unscaled fit is a different model here: one feature is 100x the others
    raw = make_learner("logistic", C=0.5, standardize=False).fit(ds, epochs=200, seed=0).predict_proba(Xq)
    assert np.abs(raw - ours).max() > 0.01


@pytest.mark.parametrize("params", [{"standardize": "no"}, {"standardize": 1}, {"C": True}, {"C": 0}])
def test_bad_values(params):
    with pytest.raises(ConfigError):
        make_learner("logistic", **params)
