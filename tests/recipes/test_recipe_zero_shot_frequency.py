"""zero-shot-frequency: a Zipf image-caption corpus, counted concept frequency, a linear image-text proxy."""

import numpy as np
import pytest

import datafactors as df
from datafactors.recipes import REGISTRY
from datafactors.recipes.zero_shot_frequency import (
    CONCEPTS,
    LinearImageText,
    concept_prototypes,
    count_concepts,
    pretraining_corpus,
    run_experiment,
    zipf_weights,
)


def test_registered_with_a_control():
    r = REGISTRY.get("zero-shot-frequency")
    assert r.paper.startswith('No "Zero-Shot"') and "unrelated corpus" in r.control


def test_zipf_weights_by_hand():
    np.testing.assert_allclose(zipf_weights(3, 1.0), np.array([6, 3, 2]) / 11)
    assert zipf_weights(40).sum() == pytest.approx(1.0)


def test_corpus_is_zipfian_and_counts_are_measured_in_its_captions():
    rng = np.random.default_rng(0)
    protos = concept_prototypes(20, rng)
    # orthogonal prototypes of equal norm
    G = protos @ protos.T
    np.testing.assert_allclose(G, np.eye(20) * G[0, 0], atol=1e-9)
    corpus = pretraining_corpus(protos, 3000, rng, concepts=CONCEPTS[:20])
    images = np.bincount(corpus.concept, minlength=20)
    assert images.max() / images.min() > 30  # a long tail over a ~100x range
    freq = count_concepts(corpus.captions, CONCEPTS[:20])
    # the index sees plurals ("two red cats") and misses concept-free captions: counts track images, not equal them
    assert any("s near the" in c for c in corpus.captions)
    assert np.corrcoef(freq, images)[0, 1] > 0.99 and not np.array_equal(freq, images)
    assert 0.85 < freq.sum() / len(corpus.captions) < 0.92  # 10% of captions name no concept
    assert count_concepts(["two cats", "a cat", "a dog"], ("cat", "dog")).tolist() == [2, 1]


def test_proxy_learns_word_directions_and_classifies_zero_shot():
    rng = np.random.default_rng(1)
    protos = concept_prototypes(5, rng, dim=16)
    c = np.repeat(np.arange(5), 40)
    X = protos[c] + rng.normal(0, 0.5, size=(200, 16))
    model = LinearImageText().fit(X, [f"a photo of a {CONCEPTS[k]}" for k in c])
    # "a photo of" is in every caption: it has no direction
    assert np.all(model.directions_[model.vocab_["photo"]] == 0)
    prompts = [f"a photo of a {w}" for w in CONCEPTS[:5]]
    Xe = protos[c] + rng.normal(0, 0.5, size=(200, 16))
    assert (model.predict(Xe, prompts) == c).mean() == 1.0


def test_evaluation_is_balanced_and_apart_from_the_corpus():
    res = run_experiment([0], n_concepts=10, n_pretrain=600, eval_per_concept=20, control=False)
    assert len(res) == 10 and res["concept"].tolist() == list(CONCEPTS[:10])
    assert np.all(np.isclose(res["accuracy"] * 20, np.round(res["accuracy"] * 20)))  # 20 images per concept
    ctl = run_experiment([0], n_concepts=10, n_pretrain=600, eval_per_concept=20, control=True)
    # the control changes only where frequencies are counted, not the model or its accuracies
    np.testing.assert_array_equal(ctl["accuracy"], res["accuracy"])
    assert not np.array_equal(ctl["frequency"], res["frequency"])


@pytest.mark.slow
def test_quick_log_linear_and_control_vanishes():
    res = df.recipes.run("zero-shot-frequency", quick=True)
    ctl = df.recipes.run("zero-shot-frequency", quick=True, control=True)
    assert res.held and not ctl.held
    slope, r2gap = res.effects
    assert 0.06 < slope.estimate < 0.16 and slope.lo > 0.05  # measured 0.107 [0.070, 0.174]
    assert 0.25 < r2gap.estimate < 0.5  # measured 0.39: ln(frequency) explains accuracy, raw frequency does not
    m = res.measured
    assert m["accuracy, most frequent 20% of concepts"] - m["accuracy, rarest 20% of concepts"] > 0.3
    assert m["Pearson r(counted frequency, images in own corpus)"] > 0.99
    # control: frequencies from another corpus, no relation to the model's own training signal
    c_slope, c_gap = ctl.effects
    assert abs(c_slope.estimate) < 0.03 and c_slope.lo < 0 < c_slope.hi  # measured -0.007 [-0.045, 0.032]
    assert abs(c_gap.estimate) < 0.05
    assert abs(ctl.measured["Pearson r(counted frequency, images in own corpus)"]) < 0.3
    assert res.seeds == ctl.seeds == [0, 1] and res.sizes["n_concepts"] == 30
    assert len(res.details) == 60 and set(res.details.columns) >= {"frequency", "images_in_corpus", "accuracy"}
