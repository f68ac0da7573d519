"""MLPLearner.features: the last hidden layer, the layer the output head reads."""

import numpy as np
import pytest

import datafactors as df
from datafactors._errors import DataError
from datafactors.learners import make_learner


@pytest.fixture(scope="module")
def fitted():
    data = df.load("digits", split=True)
    train, test = data[0], data[1]
    lrn = make_learner("mlp", hidden=[32, 16], batch_size=64, lr=0.005).fit(train, epochs=5, seed=0)
    return lrn, train, test


def test_the_head_applied_to_the_features_gives_the_predictions(fitted):
    import torch

    lrn, _, test = fitted
    Z = lrn.features(test.X)
    assert Z.shape == (test.n, 16) and Z.dtype == np.float32 and (Z >= 0).all()  # after the last ReLU
    head = lrn.model_[-1]
    with torch.no_grad():
        logits = head(torch.from_numpy(Z)).double()
    np.testing.assert_allclose(torch.softmax(logits, 1).numpy(), lrn.predict_proba(test.X), atol=1e-5)


def test_features_as_embeddings_for_a_selector(fitted):
    lrn, train, _ = fitted
    E = lrn.features(train.X)
    a = df.select.select(train, "kcenter", 50, embeddings=E, seed=0)
    assert len(np.unique(a)) == 50
    assert not np.array_equal(np.sort(a), np.sort(df.select.select(train, "kcenter", 50, seed=0)))


def test_errors(fitted):
    lrn, _, test = fitted
    with pytest.raises(DataError, match="not fitted"):
        make_learner("mlp").features(test.X)
    with pytest.raises(DataError):
        lrn.features(test.X[:, :10])
