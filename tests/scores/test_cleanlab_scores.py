"""cleanlab-backed scores: planted label flips, outliers, degenerate input."""

import numpy as np
import pytest

import datafactors as df
from datafactors.scores import compute
from datafactors.scores.cleanlab_scores import label_issue_mask, label_quality, ood_scores, out_of_sample_probs


@pytest.fixture(scope="module")
def noisy_digits():
    train = df.load("digits")
    rng = np.random.default_rng(0)
    y = train.y.copy()
    flip = rng.choice(train.n, size=train.n // 10, replace=False)
    y[flip] = (y[flip] + rng.integers(1, 10, size=len(flip))) % 10
    is_noisy = np.zeros(train.n, bool)
    is_noisy[flip] = True
    return df.Dataset.from_arrays(train.X, y, ids=train.ids), is_noisy


def test_planted_flips_found(noisy_digits):
    from sklearn.metrics import roc_auc_score

    ds, is_noisy = noisy_digits
    s = compute(ds, ["label_issue", "label_quality"], seed=0)
    flagged = s["label_issue"].to_numpy() == 1.0
    precision = (flagged & is_noisy).sum() / flagged.sum()
    recall = (flagged & is_noisy).sum() / is_noisy.sum()
    assert precision > 0.6 and recall > 0.6, (precision, recall)
    assert roc_auc_score(is_noisy, -s["label_quality"]) > 0.9
    assert set(np.unique(s["label_issue"])) <= {0.0, 1.0}


def test_pure_functions_are_cleanlab():
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(3), size=40)
    y = rng.integers(0, 3, 40)
    np.testing.assert_allclose(label_quality(y, p), get_label_quality_scores(y, p))
    np.testing.assert_array_equal(label_issue_mask(y, p), find_label_issues(y, p, n_jobs=1))
    np.testing.assert_allclose(label_quality(y, p), p[np.arange(40), y])  # self-confidence


def test_absent_class_is_dropped_before_cleanlab():
    p = np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.6, 0.2, 0.2], [0.3, 0.1, 0.6]])
    y = np.array([0, 2, 0, 2])  # class 1 never occurs
    q = label_quality(y, p)
    np.testing.assert_allclose(q, [0.8 / 0.9, 0.8 / 0.9, 0.6 / 0.8, 0.6 / 0.9])


def test_out_of_sample_probs():
    ds = df.load("digits").subset(np.arange(300))
    p = out_of_sample_probs(ds.X, ds.y, seed=0)
    assert p.shape == (300, 10)
    np.testing.assert_allclose(p.sum(1), 1.0)
    np.testing.assert_array_equal(p, out_of_sample_probs(ds.X, ds.y, seed=0))
    assert out_of_sample_probs(np.zeros((3, 1)), np.array([0, 0, 1])) is None
    with pytest.raises(df.ConfigError, match="n_folds"):
        out_of_sample_probs(ds.X, ds.y, n_folds=1)


def test_ood_flags_planted_outliers():
    rng = np.random.default_rng(2)
    # 3 dimensions: cleanlab uses Euclidean distance (cosine above 3, which ignores this shift)
    X = np.r_[rng.normal(size=(200, 3)), rng.normal(size=(5, 3)) + 12.0]
    s = ood_scores(X)
    assert set(np.argsort(s)[:5]) == set(range(200, 205))
    assert np.all((s >= 0) & (s <= 1))
    ds = df.Dataset.from_arrays(X, rng.integers(0, 2, 205))
    np.testing.assert_allclose(compute(ds, ["ood_score"])["ood_score"], ood_scores(ds.X))


def test_smallest_input_is_documented_neutral():
    ds = df.Dataset.from_arrays(np.array([[0.0, 1.0], [1.0, 0.0]]), [0, 1], ids=["p", "q"])
    with pytest.warns(UserWarning, match="neutral"):
        s = compute(ds, ["label_quality", "label_issue"])
    assert s["label_quality"].tolist() == [1.0, 1.0]
    assert s["label_issue"].tolist() == [0.0, 0.0]
    o = compute(ds, ["ood_score"])["ood_score"]
    assert o.notna().all() and ((o >= 0) & (o <= 1)).all()


def test_bad_input():
    with pytest.raises(df.DataError, match="pred_probs"):
        label_quality(np.array([0, 3]), np.full((2, 2), 0.5))
    with pytest.raises(df.DataError, match="NaN"):
        ood_scores(np.array([[np.nan], [1.0]]))
