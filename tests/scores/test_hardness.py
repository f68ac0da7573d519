"""Model-based hardness (out-of-fold ensemble) and the 30/40/30 buckets."""

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

import datafactors as df
from datafactors.scores import compute
from datafactors.scores.hardness import buckets, ensemble_gold_probs, model_hardness


def test_buckets_hand_case():
    s = [5, 1, 9, 3, 7, 2, 8, 4, 6, 0]
    assert buckets(s).tolist() == [
        "medium", "easy", "hard", "medium", "hard", "easy", "hard", "medium", "medium", "easy",
    ]  # fmt: skip
    # higher = easier flips the cut
    flipped = buckets(s, "easier")
    assert [flipped[i] for i in (1, 5, 9)] == ["hard"] * 3 and [flipped[i] for i in (2, 4, 6)] == ["easy"] * 3
    assert buckets(s, "confidence").tolist() == flipped.tolist()  # a declared column's orientation


def test_buckets_counts_and_ties():
    out = buckets(np.zeros(7))  # all tied: by position, first rows easiest
    assert out.tolist() == ["easy", "easy", "medium", "medium", "medium", "hard", "hard"]
    assert buckets(np.zeros(7), "easier").tolist() == out.tolist()  # ties keep row order either way
    for n in (1, 2, 3, 11, 100):
        b = buckets(np.random.default_rng(n).random(n))
        k = int(np.floor(0.3 * n + 0.5))
        assert (b == "easy").sum() == k and (b == "hard").sum() == min(k, n - k)
    assert buckets([0.0, np.inf, 1.0]).tolist() == ["easy", "hard", "medium"]
    assert buckets([3.0, 1.0, 2.0, 0.0], fractions=(0.5, 0.0, 0.5)).tolist() == ["hard", "easy", "hard", "easy"]


def test_buckets_bad_input():
    with pytest.raises(df.DataError, match="NaN"):
        buckets([1.0, np.nan])
    with pytest.raises(df.ConfigError, match="orientation"):
        buckets([1.0], "up")
    with pytest.raises(df.ConfigError, match="fractions"):
        buckets([1.0], fractions=(0.5, 0.5, 0.5))


def test_hardness_hand_case():
    X = np.array([[0.0], [0.1], [0.2], [1.0], [1.1], [1.2]])
    y = np.array([0, 0, 1, 1, 1, 1])
    one_nn = KNeighborsClassifier(1)
    h = model_hardness(X, y, models=[one_nn], n_folds=3)
    assert h.tolist() == [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    # two models: the mean of their out-of-fold gold probabilities
    p = ensemble_gold_probs(X, y, models=[one_nn, KNeighborsClassifier(3)], n_folds=3)
    np.testing.assert_allclose(model_hardness(X, y, models=[one_nn, KNeighborsClassifier(3)], n_folds=3), 1 - p.mean(0))


def test_hardness_is_out_of_fold():
    """A model that memorises (1-NN) would give every example 0 hardness in sample; out of fold it cannot."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = rng.integers(0, 2, 60)  # labels independent of X
    h = model_hardness(X, y, models=[KNeighborsClassifier(1)], n_folds=5)
    assert 0.3 < h.mean() < 0.7


def test_single_class_training_fold():
    h = model_hardness(np.array([[0.0], [1.0]]), np.array([0, 1]))
    assert h.tolist() == [1.0, 1.0]


def test_hardness_ranks_planted_noise_and_scorer():
    from sklearn.metrics import roc_auc_score

    train = df.load("digits").subset(np.arange(600))
    rng = np.random.default_rng(0)
    y = train.y.copy()
    flip = rng.choice(train.n, size=60, replace=False)
    y[flip] = (y[flip] + rng.integers(1, 10, size=60)) % 10
    ds = df.Dataset.from_arrays(train.X, y, ids=train.ids)
    s = compute(ds, ["model_hardness"], seed=1)
    assert s["model_hardness"].between(0, 1).all()
    is_noisy = np.zeros(ds.n, bool)
    is_noisy[flip] = True
    assert roc_auc_score(is_noisy, s["model_hardness"]) > 0.9
    assert (buckets(s["model_hardness"].to_numpy())[is_noisy] == "hard").mean() > 0.8


def test_bad_models():
    X, y = np.zeros((4, 1)), np.array([0, 1, 0, 1])
    with pytest.raises(df.ConfigError, match="unknown hardness model"):
        model_hardness(X, y, models=["svm"])
    with pytest.raises(df.ConfigError, match="n_folds"):
        model_hardness(X, y, n_folds=1)
