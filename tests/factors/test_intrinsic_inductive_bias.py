"""Intrinsic dimension on known manifolds; the Boopathy et al. formula against the paper and its code."""

import math

import numpy as np
import pytest
from scipy.special import binom, loggamma
from scipy.stats import ncx2

import datafactors as df
from datafactors.factors import (
    exact_inductive_bias,
    inductive_bias_bits,
    inductive_bias_from_errors,
    intrinsic_dimension,
    min_interclass_distance,
    task_inductive_bias_bits,
)
from datafactors.factors.inductive_bias import _sankaran_neg_log_cdf


def _subspace(n, m, D, seed):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(D, m)))
    return rng.uniform(size=(n, m)) @ Q.T


@pytest.mark.parametrize("m", [1, 3, 6])
def test_mle_recovers_dimension_of_linear_subspace(m):
    X = _subspace(3000, m, 20, seed=m)
    assert intrinsic_dimension(X) == pytest.approx(m, rel=0.15)
    assert intrinsic_dimension(X, aggregate="mean") == pytest.approx(m, rel=0.2)


def test_mle_matches_brute_force_formula():
    from sklearn.neighbors import NearestNeighbors

    X = _subspace(400, 3, 10, seed=0)
    d, _ = NearestNeighbors(n_neighbors=6).fit(X).kneighbors(X)
    logs = np.log(d[:, 5:6]) - np.log(d[:, 1:5])
    assert intrinsic_dimension(X, 5) == pytest.approx(1 / logs.mean(), rel=1e-4)
    assert intrinsic_dimension(X, 5, aggregate="mean") == pytest.approx(np.mean(3 / logs.sum(axis=1)), rel=1e-4)


def test_mle_collapses_duplicates_and_validates():
    X = _subspace(500, 2, 8, seed=1)
    assert intrinsic_dimension(np.vstack([X, X[:100]])) == pytest.approx(intrinsic_dimension(X), rel=1e-9)
    with pytest.raises(df.ConfigError, match="k =="):
        intrinsic_dimension(X, k=1)
    with pytest.raises(df.DataError, match="more than 5 distinct rows"):
        intrinsic_dimension(np.repeat(X[:3], 4, axis=0))


def _paper_difficulty(error, n, m, R, prod_d, delta, D, B):
    """The authors' task_difficulty.py, as published."""
    logW = (
        0.5 * np.log(m / 6)
        + (np.log(2) + (m + 1) / 2 * np.log(np.pi) + np.log(prod_d) - loggamma((m + 1) / 2)) / m
        + np.log(R)
        - np.log(n) / m
    )
    M = 2 * np.pi * R / delta
    K = (np.sqrt((m - 1) ** 2 + 4 * M * M) - (m - 1)) / 2
    n_eig = binom(m + K, m) + binom(m + K - 1, m)
    Lf = K * np.sqrt(D) / R
    log_ratio = np.log2(B) + 0.5 * np.log2(D) + 0.5 * np.log2(prod_d) - np.log2(error) + np.log2(Lf) + logW / np.log(2)
    return (2 * D * prod_d * n_eig - n * D) * log_ratio


def test_bits_reproduce_the_papers_mnist_and_cifar_values():
    # MNIST-like inputs (eps .001, m 14; R and delta from the authors' script): ~1.49e16 bits
    mnist = inductive_bias_bits(0.001, 60000, 14, 17.179045827183984, 10, 2.3987084824335305, 9)
    assert 1e15 < mnist < 1e17
    assert mnist == pytest.approx(1.49e16, rel=0.01)
    cifar = inductive_bias_bits(0.01, 50000, 27, 54.9156786783691, 10, 2.7506414616587023, 9)
    assert cifar == pytest.approx(3.44e32, rel=0.01)


@pytest.mark.parametrize(
    "args",
    [
        (0.1, 1000, 3, 5.0, 4, 0.5, 3, 1.0),
        (0.01, 1e6, 10, 30.0, 100, 2.0, 99, 2.0),
        (0.001, 500, 2, 1.0, 2, 0.01, 1, 1.0),
    ],
)
def test_bits_match_the_authors_code(args):
    assert inductive_bias_bits(*args) == pytest.approx(float(_paper_difficulty(*args)), rel=1e-9)


def test_bits_rise_with_dimension_and_fall_with_error():
    base = dict(n=10_000, R=10.0, prod_d=10, delta=1.0, D=9)
    bits = [inductive_bias_bits(0.01, m=m, **base) for m in (2, 4, 8, 16)]
    assert np.all(np.diff(bits) > 0)
    assert inductive_bias_bits(0.001, m=8, **base) > inductive_bias_bits(0.1, m=8, **base)
    with pytest.raises(df.ConfigError, match="delta"):
        inductive_bias_bits(0.01, 10, 2, 1.0, 2, 0.0, 1)


def test_min_interclass_distance_matches_brute_force():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = rng.integers(0, 3, 300)
    D = np.linalg.norm(X[:, None] - X[None], axis=2)
    D[y[:, None] == y[None, :]] = np.inf
    assert min_interclass_distance(X, y) == pytest.approx(D.min(), rel=1e-6)
    # identical inputs with different labels are skipped
    X2 = np.vstack([X, X[:1]])
    y2 = np.r_[y, (y[0] + 1) % 3]
    assert min_interclass_distance(X2, y2) == pytest.approx(D.min(), rel=1e-6)


def test_task_bits_fill_inputs_like_the_authors():
    X = _subspace(600, 3, 12, seed=2) * 4
    y = (X[:, 0] > np.median(X[:, 0])).astype(int)
    t = task_inductive_bias_bits(X, y, 0.01, seed=0)
    assert t["m"] == np.round(intrinsic_dimension(X, seed=0))
    assert t["R"] == pytest.approx(np.linalg.norm(X, axis=1).max())
    assert t["delta"] == pytest.approx(min_interclass_distance(X, y))
    assert t["bits"] == pytest.approx(inductive_bias_bits(0.01, 600, t["m"], t["R"], 2, t["delta"], 1), rel=1e-9)
    assert t["log10_bits"] == pytest.approx(math.log10(t["bits"]), rel=1e-9)


def test_ncx2_fit_recovers_known_tail_probability():
    e = ncx2.rvs(20, 5, scale=0.01, size=1000, random_state=0)
    target = 0.12
    fit = inductive_bias_from_errors(e, target)
    true = -ncx2.logcdf(target, 20, 5, scale=0.01)
    assert fit.nats == pytest.approx(true, abs=0.5)
    assert fit.nats == pytest.approx(-ncx2.logcdf(target, fit.df, fit.nc, scale=fit.scale))


def test_sankaran_fallback_approximates_lower_tail():
    # where scipy's logcdf is still finite, the approximation is close to it
    x, k, lam = 60.0, 100.0, 20.0
    assert _sankaran_neg_log_cdf(x, k, lam) == pytest.approx(-ncx2.logcdf(x, k, lam), rel=0.05)
    e = ncx2.rvs(200, 10, scale=0.01, size=500, random_state=1)
    far = inductive_bias_from_errors(e, 1e-6)  # logcdf underflows: the fallback answers
    assert np.isfinite(far.nats) and far.nats > 100


def test_exact_inductive_bias_grows_with_task_dimension():
    rng = np.random.default_rng(0)
    out = []
    for m in (2, 8):
        Q, _ = np.linalg.qr(rng.normal(size=(16, m)))
        Z = rng.uniform(size=(400, m))
        y = (Z[:, 0] + Z[:, 1] > 1).astype(int)
        X = Z @ Q.T
        ex = exact_inductive_bias(X[:300], y[:300], X[300:], y[300:], target_error=0.02, n_samples=300, seed=0)
        assert ex.errors.shape == (300,) and ex.n_train == 300 and ex.n_test == 100
        out.append(ex.nats)
    assert out[1] > out[0]
