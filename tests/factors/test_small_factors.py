"""Balance, difficulty, concepts, coverage, label noise and licences: hand-computed values."""

import math

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.factors import (
    ConceptIndex,
    class_balance,
    coverage,
    difficulty_profile,
    label_noise,
    licence_terms,
    provenance_audit,
    tokenize,
    vocabulary_size,
)
from datafactors.factors.concepts import frequency_fit


def test_class_balance_by_hand():
    h, hn, ratio = class_balance(np.array([30, 10, 0, 60]))
    p = np.array([0.3, 0.1, 0.6])
    assert h == pytest.approx(-(p * np.log(p)).sum())
    assert hn == pytest.approx(h / math.log(4))
    assert ratio == math.inf
    assert class_balance(np.array([5, 5, 5]))[1:] == pytest.approx((1.0, 1.0))
    assert class_balance(np.array([20, 5]))[2] == 4.0
    with pytest.raises(df.DataError):
        class_balance(np.array([-1, 2]))


def test_difficulty_profile_range_cuts_orientation_and_inf():
    v = np.array([0.0, 0.2, 0.29, 0.31, 0.5, 0.69, 0.71, 1.0, np.nan])
    p = difficulty_profile(v, low=0.0, high=1.0)
    assert (p.easy, p.medium, p.hard) == pytest.approx((3 / 8, 3 / 8, 2 / 8))
    assert (p.cut_easy, p.cut_hard) == pytest.approx((0.3, 0.7))
    assert p.n_missing == 1 and p.n_used == 8
    # "higher = easier" scores (e.g. confidence): the top of the range is easy
    q = difficulty_profile(v, higher_is_harder=False, low=0.0, high=1.0)
    assert (q.easy, q.hard) == pytest.approx((2 / 8, 3 / 8))
    assert (q.cut_easy, q.cut_hard) == pytest.approx((0.7, 0.3))
    # no declared range: observed finite min..max; +inf counts as hardest
    r = difficulty_profile(np.array([0.0, 1.0, 2.0, 10.0, np.inf]))
    assert (r.easy, r.medium, r.hard) == pytest.approx((0.6, 0.0, 0.4))
    assert r.quantiles["p50"] == 1.5  # quantiles of the finite values


def test_tokenize_and_concept_counts_match_brute_force():
    texts = ["A red car.", "The red apple", "green APPLES and a red car", "", "car car car"]
    assert tokenize("green APPLES and") == ["green", "apples", "and"]
    idx = ConceptIndex(texts)
    for concept in ("red car", "red", "car", "apple", "green red", "blue"):
        words = set(tokenize(concept))
        brute = sum(words <= set(tokenize(t)) for t in texts)
        assert idx.count(concept) == brute, concept
    assert ConceptIndex(texts, lemmatize=True).count("apple") == 2
    assert vocabulary_size(texts) == 8
    with pytest.raises(df.DataError, match="no words"):
        idx.count("!!")


def test_frequency_fit_is_log_linear():
    counts = pd.Series({"a": 0, "b": 9, "c": 99, "d": 999})
    perf = {k: 0.1 + 0.05 * math.log(1 + v) for k, v in counts.items()}
    (a, b, r), k = frequency_fit(counts, perf)
    assert (a, b, r, k) == pytest.approx((0.05, 0.1, 1.0, 4))


def test_coverage_threshold_and_shares():
    rng = np.random.default_rng(0)
    tr = rng.normal(size=(400, 3))
    te = np.vstack([tr[:10], rng.normal(size=(80, 3)), rng.normal(size=(10, 3)) + 20])
    c = coverage(tr, te)
    loo = np.sort(np.linalg.norm(tr[:, None] - tr[None], axis=2), axis=1)[:, 1]
    nn = np.linalg.norm(te[:, None] - tr[None], axis=2).min(axis=1)
    assert c.threshold == pytest.approx(np.quantile(loo, 0.95), rel=1e-5)
    assert c.novelty_share == pytest.approx((nn > c.threshold).mean())
    assert c.novelty_share >= 0.1  # the far-away block
    assert c.overlap_share == pytest.approx(0.1)


def test_label_noise_finds_planted_flips():
    rng = np.random.default_rng(0)
    n = 1500
    y = rng.integers(0, 3, n)
    X = np.eye(3)[y] * 4 + rng.normal(size=(n, 3))
    flip = rng.choice(n, 150, replace=False)
    noisy = y.copy()
    noisy[flip] = (noisy[flip] + 1) % 3
    r = label_noise(X, noisy, seed=0)
    assert r.noise_rate == pytest.approx(0.1, abs=0.03)
    found = np.flatnonzero(r.issues)
    assert len(np.intersect1d(found, flip)) / len(flip) > 0.8
    with pytest.raises(df.DataError, match="cross-validation needs at least 3"):
        label_noise(X[:5], np.array([0, 0, 0, 0, 1]))


@pytest.mark.parametrize(
    ("licence", "use", "attribution", "share_alike"),
    [
        ("CC-BY-4.0", "commercial", True, False),
        ("cc by-sa 3.0", "commercial", True, True),
        ("CC BY-NC 4.0", "non-commercial", True, False),
        ("Creative Commons Attribution-NonCommercial-ShareAlike 4.0", "non-commercial", True, True),
        ("cc-by-nc-nd-4.0", "non-commercial", True, False),
        ("CC0-1.0", "commercial", False, False),
        ("MIT", "commercial", True, False),
        ("Apache License 2.0", "commercial", True, False),
        ("GPL-3.0-only", "commercial", True, True),
        ("ODbL", "commercial", True, True),
        ("academic research only", "academic-only", True, False),
        ("", "unspecified", False, False),
        (None, "unspecified", False, False),
        (float("nan"), "unspecified", False, False),
        ("Proprietary — ask Bob", "unknown", False, False),
    ],
)
def test_licence_terms_table(licence, use, attribution, share_alike):
    t = licence_terms(licence)
    assert (t.use, t.attribution, t.share_alike) == (use, attribution, share_alike)


def test_provenance_takes_the_most_restrictive_terms():
    a = provenance_audit(["MIT", "CC-BY-SA-4.0", "MIT", None])
    assert (a.use, a.attribution, a.share_alike, a.non_commercial_share) == ("unspecified", True, True, 0.0)
    b = provenance_audit(["MIT", "research only", "CC-BY-NC-4.0", "zzz"], sources=["s1", "s2", "s2", "s3"])
    assert b.use == "academic-only" and b.non_commercial_share == 0.5 and b.unknown_share == 0.25
    assert set(b.table["source"]) == {"s1", "s2", "s3"} and b.table["n_examples"].sum() == 4
    assert provenance_audit(["weird"]).use == "unknown"
    with pytest.raises(df.DataError, match="empty"):
        provenance_audit([])
