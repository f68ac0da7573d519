"""Prefix conditioning: the source embedding changes predictions, the general mode, source columns, errors."""

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.learners import make_learner


def _two_sources(seed=0, n=400):
    """Same inputs, opposite labels in the two sources: only the source can say which."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 1, (n, 2))
    src = rng.integers(0, 2, n)
    y = ((X[:, 0] > 0) ^ (src == 1)).astype(int)
    return df.Dataset.from_arrays(X, y, groups=np.where(src == 1, "flip", "plain")), X, y, src


def test_source_embedding_resolves_what_the_input_cannot():
    ds, X, y, src = _two_sources()
    lrn = make_learner("prefix", hidden=[32], lr=0.01).fit(ds, epochs=60, seed=0)
    assert [str(s) for s in lrn.sources_] == ["flip", "plain"]
    cond = lrn.predict_proba(X, source=np.where(src == 1, "flip", "plain"))
    assert (cond.argmax(1) == y).mean() > 0.95
    # the general embedding has seen both labelings equally: it cannot be confident
    gen = lrn.predict_proba(X)
    assert np.abs(gen[:, 1] - 0.5).mean() < np.abs(cond[:, 1] - 0.5).mean() - 0.2
    # one value conditions every row
    np.testing.assert_array_equal(
        lrn.predict_proba(X[:5], source="plain"), lrn.predict_proba(X[:5], source=["plain"] * 5)
    )


def test_general_mode_learns_the_shared_task():
    rng = np.random.default_rng(1)
    X = rng.normal(0, 1, (400, 2))
    y = (X[:, 0] > 0).astype(int)
    ds = df.Dataset.from_arrays(X, y, groups=rng.integers(0, 3, 400))
    lrn = make_learner("prefix", hidden=[16], lr=0.01, general_frac=0.3).fit(ds, epochs=30, seed=0)
    assert (lrn.predict_proba(X).argmax(1) == y).mean() > 0.95
    untrained = make_learner("prefix", hidden=[16], lr=0.01, general_frac=0.0).fit(ds, epochs=30, seed=0)
    # the general slot only ever gets its weights trained through general_frac > 0
    assert not np.allclose(untrained.predict_proba(X), lrn.predict_proba(X))


def test_source_from_extra_column_and_deterministic():
    ds, X, _, src = _two_sources(n=120)
    extra = pd.DataFrame({"origin": np.where(src == 1, "flip", "plain")})
    ds2 = df.Dataset.from_arrays(ds.X, ds.y, extra=extra)
    a = make_learner("prefix", hidden=[8], source="origin").fit(ds2, epochs=3, seed=4)
    b = make_learner("prefix", hidden=[8]).fit(ds, epochs=3, seed=4)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.predict_proba(X, source="flip"), b.predict_proba(X, source="flip"))


def test_dynamics_are_recorded_with_each_examples_own_source():
    ds, X, y, src = _two_sources(n=100)
    lrn = make_learner("prefix", hidden=[8]).fit(ds, epochs=2, seed=0, record_dynamics=True)
    own = lrn.predict_proba(X, source=np.where(src == 1, "flip", "plain"))
    np.testing.assert_allclose(lrn.dynamics.probs[-1], own, atol=1e-6)
    assert lrn.dynamics.grad_norms.shape == (3, 100)


def test_errors():
    ds, X, _, _ = _two_sources(n=60)
    lrn = make_learner("prefix", hidden=[8]).fit(ds, epochs=1, seed=0)
    with pytest.raises(df.DataError, match="not seen in training"):
        lrn.predict_proba(X, source="other")
    with pytest.raises(df.DataError, match="one per row"):
        lrn.predict_proba(X, source=["plain"] * 3)
    with pytest.raises(df.DataError, match="source column 'origin' not found"):
        make_learner("prefix", source="origin").fit(ds, epochs=1, seed=0)
    with pytest.raises(df.ConfigError, match="general_frac"):
        make_learner("prefix", general_frac=1.5).fit(ds, epochs=1, seed=0)
