"""Vendi score, APS and cluster entropy against direct computations and the vendi-score package."""

import math

import numpy as np
import pytest

import datafactors as df
from datafactors.factors import aps, class_aps, cluster_entropy, vendi_score


def _direct_vendi(X, q=1.0):
    """Friedman & Dieng's definition on the n x n cosine kernel."""
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    w = np.linalg.eigvalsh(U @ U.T / len(U))
    w = w[w > 1e-15]
    if q == 1.0:
        return math.exp(-(w * np.log(w)).sum())
    return math.exp(np.log((w**q).sum()) / (1 - q))


def test_vendi_hand_values():
    assert vendi_score(np.eye(5)) == pytest.approx(5.0)
    assert vendi_score(np.ones((7, 3))) == pytest.approx(1.0)
    # two orthogonal directions, one with 3 copies and one with 1: eigenvalues 3/4 and 1/4
    X = np.array([[1.0, 0], [2.0, 0], [3.0, 0], [0, 1.0]])
    h = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert vendi_score(X) == pytest.approx(math.exp(h), rel=1e-6)
    assert vendi_score(X, q="inf") == pytest.approx(1 / 0.75, rel=1e-6)
    assert vendi_score(X, q=2) == pytest.approx(1 / (0.75**2 + 0.25**2), rel=1e-6)


@pytest.mark.parametrize("shape", [(300, 8), (40, 64), (700, 16)])
@pytest.mark.parametrize("q", [1.0, 0.5, 2.0])
def test_gram_and_kernel_match_direct_eigendecomposition(shape, q):
    rng = np.random.default_rng(0)
    X = rng.normal(size=shape) + 0.5
    direct = _direct_vendi(X, q)
    assert vendi_score(X, q=q, method="gram") == pytest.approx(direct, rel=1e-5)
    assert vendi_score(X, q=q, method="kernel") == pytest.approx(direct, rel=1e-5)
    assert vendi_score(X, q=q) == pytest.approx(direct, rel=1e-5)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_matches_vendi_score_package():
    vs = pytest.importorskip("vendi_score.vendi")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 20))
    X[:100] = X[0]  # a block of duplicates
    assert vendi_score(X) == pytest.approx(float(vs.score_dual(X)), rel=1e-5)
    assert vendi_score(X[:200]) == pytest.approx(float(vs.score_X(X[:200])), rel=1e-5)


def test_vendi_bad_input():
    with pytest.raises(df.DataError, match="all-zero rows"):
        vendi_score(np.array([[1.0, 0], [0, 0]]))
    with pytest.raises(df.ConfigError, match="method"):
        vendi_score(np.eye(2), method="fast")
    with pytest.raises(df.ConfigError, match="q =="):
        vendi_score(np.eye(2), q=0)


def _pairwise_cos(X):
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    return U @ U.T


def test_aps_matches_pairwise_mean():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 6)) + 1.0
    C = _pairwise_cos(X)
    off = C[~np.eye(50, dtype=bool)]
    assert aps(X) == pytest.approx(off.mean(), rel=1e-5)


def test_class_aps_matches_brute_force():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 5)) + 0.3
    y = np.repeat([0, 1, 2], [10, 20, 30])
    C = _pairwise_cos(X)
    per = {}
    for c in range(3):
        idx = np.flatnonzero(y == c)
        sub = C[np.ix_(idx, idx)]
        per[c] = sub[~np.eye(len(idx), dtype=bool)].mean()
    inter = np.mean([C[np.ix_(y == a, y == b)].mean() for a, b in [(0, 1), (0, 2), (1, 2)]])
    r = class_aps(X, y)
    assert r.per_class == pytest.approx(per, rel=1e-5)
    assert r.intra == pytest.approx(np.mean(list(per.values())), rel=1e-5)
    assert r.inter == pytest.approx(inter, rel=1e-5)


def test_cluster_entropy_separated_and_lopsided_clusters():
    rng = np.random.default_rng(4)
    centres = np.eye(6)[:3] * 10
    X = np.vstack([c + rng.normal(scale=0.01, size=(n, 6)) for c, n in zip(centres, (80, 15, 5), strict=True)])
    r = cluster_entropy(X, 3, seed=0)
    p = np.array([0.8, 0.15, 0.05])
    assert sorted(r.sizes.tolist()) == [5, 15, 80]
    assert r.entropy == pytest.approx(-(p * np.log(p)).sum(), rel=1e-9)
    assert r.normalized == pytest.approx(r.entropy / math.log(3))
    assert cluster_entropy(np.ones((10, 2)), 3).entropy == pytest.approx(0.0)


# ---------------------------------------------------------------- exact references (issue 15)

_EPS64 = np.finfo(np.float64).eps


def _renyi_exp(w, q):
    """exp of the order-q Renyi entropy of eigenvalues ``w`` (already cut to the non-zero ones)."""
    if q == "inf":
        return 1.0 / w.max()
    if q == 1.0:
        return math.exp(-(w * np.log(w)).sum())
    return math.exp(np.log((w**q).sum()) / (1 - q))


def _nonzero(w):
    # numpy.linalg.matrix_rank's tolerance: what float64 rounding leaves of the zero eigenvalues
    return w[w > w.max() * len(w) * _EPS64]


def _unit64(X):
    X = np.asarray(X, dtype=np.float64)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _kernel_reference(X, qs):
    """Vendi by definition: the eigenvalues of the n x n cosine kernel K / n, in float64."""
    U = _unit64(X)
    w = _nonzero(np.linalg.eigvalsh(U @ U.T / len(U)))
    return {q: _renyi_exp(w, q) for q in qs}


def _svd_reference(X, qs):
    """The same eigenvalues as squared singular values of the unit rows / n (no Gram product formed)."""
    U = _unit64(X)
    w = _nonzero(np.linalg.svd(U, compute_uv=False) ** 2 / len(U))
    return {q: _renyi_exp(w, q) for q in qs}


def _decaying(n, d, seed=0):
    """Gaussian rows with per-column scales 0.8**j: a spectrum decaying over ~12 orders of magnitude."""
    return np.random.default_rng(seed).standard_normal((n, d)) * 0.8 ** np.arange(d)


_QS = (0.5, 1.0, 2.0, "inf")


def test_vendi_matches_the_kernel_definition_on_digits():
    from sklearn.datasets import load_digits

    X = load_digits().data  # (1797, 64); constant pixels make the kernel rank-deficient
    ref = _kernel_reference(X, _QS)
    for q in _QS:
        assert vendi_score(X, q=q) == pytest.approx(ref[q], rel=1e-8), q
        assert vendi_score(X, q=q, method="kernel") == pytest.approx(ref[q], rel=1e-8), q


def test_vendi_matches_the_kernel_definition_with_a_decaying_spectrum():
    X = _decaying(2000, 40)
    ref = _kernel_reference(X, _QS)
    for q in _QS:
        assert vendi_score(X, q=q) == pytest.approx(ref[q], rel=1e-8), q


def test_vendi_large_n_is_not_underestimated():
    # The cut-off used to grow with n (n * 1e-7 * max), dropping real eigenvalues: -6.5% at 200k rows.
    X = _decaying(100_000, 64)
    ref = _svd_reference(X, _QS)
    from datafactors._neighbors import unit_rows

    U32 = unit_rows(X)  # the float32 unit rows the profile passes
    for q in _QS:
        assert vendi_score(X, q=q) == pytest.approx(ref[q], rel=1e-8), q
        assert vendi_score(U32, q=q) == pytest.approx(ref[q], rel=1e-6), q
