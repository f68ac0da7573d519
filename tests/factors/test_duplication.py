"""Exact and near duplicates against brute force; the repetition histogram by hand."""

import numpy as np
import pytest

import datafactors as df
from datafactors.factors import exact_duplicates, near_duplicate_rate, repetition_histogram


def test_exact_duplicates_ids_and_histogram():
    X = np.array([[1.0, 2.0], [0.0, 0.0], [1.0, 2.0], [-0.0, 0.0], [5.0, 5.0], [1.0, 2.0]])
    ids = exact_duplicates(X)
    assert ids.tolist() == [0, 1, 0, 1, 2, 0]  # -0.0 == 0.0
    assert repetition_histogram(ids).to_dict() == {"1": 1, "2": 1, "3-4": 1}
    # the text must match too
    ids_t = exact_duplicates(X, ["a", "b", "c", "b", "e", "a"])
    assert ids_t.tolist() == [0, 1, 2, 1, 3, 0]


def test_repetition_histogram_bins():
    ids = np.repeat(np.arange(5), [1, 1, 2, 5, 9])
    h = repetition_histogram(ids)
    assert h.to_dict() == {"1": 2, "2": 1, "3-4": 0, "5-8": 1, "9-16": 1}


def _brute_near(X, t):
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    C = U @ U.T
    np.fill_diagonal(C, -np.inf)
    return (C.max(axis=1) >= t - 1e-6).mean(), C.max(axis=1)


@pytest.mark.parametrize("t", [0.9, 0.95, 0.99, 1.0])
def test_near_duplicate_rate_matches_brute_force(t):
    rng = np.random.default_rng(0)
    base = rng.normal(size=(300, 16))
    X = np.vstack([base, base[:40] + rng.normal(scale=0.05, size=(40, 16)), base[:10]])
    nd = near_duplicate_rate(X, t)
    expected, best = _brute_near(X.astype(np.float32), t)
    assert nd.exact and nd.n_queries == len(X) and nd.stderr == 0.0
    assert nd.rate == pytest.approx(expected)
    np.testing.assert_allclose(nd.nearest_cosine, best, atol=1e-5)


def test_sampled_near_duplicate_rate_is_unbiased_with_its_standard_error():
    rng = np.random.default_rng(1)
    base = rng.normal(size=(3000, 8))
    X = np.vstack([base, base[:1000] + rng.normal(scale=0.01, size=(1000, 8))])
    true, _ = _brute_near(X.astype(np.float32), 0.95)  # 2000 of 4000 rows = 0.5
    nd = near_duplicate_rate(X, 0.95, exact_max=1000, max_queries=800, seed=3)
    assert not nd.exact and nd.n_queries == 800
    assert nd.stderr == pytest.approx(np.sqrt(nd.rate * (1 - nd.rate) / 800 * (1 - 800 / 4000)))
    assert abs(nd.rate - true) < 4 * nd.stderr
    assert near_duplicate_rate(X, 0.95, exact_max=1000, max_queries=800, seed=3).rate == nd.rate


def test_near_duplicates_skip_zero_rows_and_check_threshold():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.01], [0.0, 1.0]])
    nd = near_duplicate_rate(X, 0.99)
    assert nd.n_queries == 3 and nd.rate == pytest.approx(2 / 3)
    assert nd.query_index.tolist() == [1, 2, 3]
    with pytest.raises(df.ConfigError, match="threshold"):
        near_duplicate_rate(X, 1.5)
    with pytest.raises(df.DataError, match="at least 2 non-zero rows"):
        near_duplicate_rate(np.array([[0.0, 0.0], [1.0, 1.0]]))
