"""No "zero-shot" without exponential data (Udandarao et al., 2024): zero-shot accuracy is log-linear in frequency.

The abstract: "We consistently find that, far from exhibiting "zero-shot" generalization,
multimodal models require exponentially more data to achieve linear improvements in
downstream "zero-shot" performance, following a sample inefficient log-linear scaling
trend." In the paper's terms: a concept's zero-shot performance rises linearly in the
log of how often the concept occurs in the pretraining data, so each further point of
accuracy costs a constant *factor* more pretraining examples.

The small experiment. A synthetic image-caption "pretraining" corpus: each pair's
concept (one of ``K`` nouns) is drawn from a Zipf distribution over a random ranking of
the concepts; its image is the concept's prototype (orthogonal prototypes in ``D``
dimensions) plus Gaussian noise; its caption is a web-like template that names the
concept (singular or plural), names none (10%), or names a wrong concept (3%), among
filler words. Concept frequency is *counted* in those captions with the project's
concept inverted index (:class:`datafactors.factors.ConceptIndex`, plural-folding
unigram index, as the paper counts concepts in pretraining captions), never read back
from the generator. The proxy model is a linear image-text model trained on the pairs:
every caption word gets the direction of the mean (centred) image of the pairs whose
caption contains it (the image-text cross-covariance, which is what one step of linear
contrastive training moves along), an image is embedded by its projections on those
directions and a text by its bag of words. It is evaluated zero-shot — prompts "a photo
of a <concept>", cosine similarity — on a separate, balanced evaluation set (the same
number of fresh images per concept, no captions). Per-concept accuracy is regressed on
ln(1 + counted frequency), pooled over seeds.

What it can check: that zero-shot accuracy per concept rises with the log of the counted
pretraining frequency (slope above a margin), and that it is log-linear rather than
linear in the raw count (ln-frequency explains accuracy better than frequency does: the
sample-inefficient trend). It cannot check the paper's scale (34 models, five web
corpora), its controls for image similarity, or the "Let it Wag!" long-tail benchmark.

Margins, fixed before the runs: the slope must exceed 0.02 accuracy per unit of
ln-frequency (2 points per e-fold, about 4.6 points per ten-fold more pretraining
data — less would not be a trend worth the name); ln-frequency must explain at least 5
points more of the variance of per-concept accuracy (R^2) than raw frequency does.
Intervals: 90% bootstrap over seeds and concepts jointly.

Negative control: the frequencies are counted in an *unrelated* corpus (same generator,
independent concept ranking) instead of the model's own pretraining corpus; the model
and its accuracies are unchanged. Counted frequency then carries no information about
how much training signal a concept got, so the slope and the R^2 advantage must vanish.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import RecipeResult, recipe
from ._evidence import Effect, bootstrap, seeds_for

NAME = "zero-shot-frequency"
PAPER = 'No "Zero-Shot" Without Exponential Data (Udandarao et al., 2024)'
CLAIM = (
    "a concept's zero-shot accuracy grows linearly in the log of its pretraining frequency (slope > 0.02 per "
    "ln-frequency), and ln-frequency explains it better than raw frequency (R^2 gap > 0.05): exponentially more "
    "data for linear gains"
)
CLAIM_PART = (
    "per-concept zero-shot accuracy of a linear image-text proxy vs concept frequency counted in its synthetic "
    "Zipf pretraining captions, on a balanced independent evaluation set"
)
CONTROL = "frequencies counted in an unrelated corpus (independent concept ranking), so they carry no training signal"

CONCEPTS = (
    "apple", "bird", "boat", "bottle", "car", "cat", "chair", "clock", "cloud", "cup",
    "desk", "dog", "door", "drum", "duck", "flower", "frog", "guitar", "hat", "horse",
    "kite", "lamp", "lion", "pen", "piano", "plane", "rabbit", "ring", "river", "road",
    "rock", "shoe", "spoon", "star", "table", "tiger", "tower", "train", "tree", "truck",
)  # fmt: skip
_ADJ = ("red", "blue", "small", "big", "old", "new", "bright", "dark", "wooden", "shiny", "green", "tiny")
_PLACE = ("garden", "street", "kitchen", "beach", "park", "room", "field", "city", "forest", "shop")
_NUMBER = ("two", "three", "four", "many", "several")
_PROMPT = "a photo of a {}"

DIM = 256
PROTO_NORM = 8.0
NOISE = 2.0
ZIPF_S = 1.6
P_NO_CONCEPT = 0.10
P_WRONG_CONCEPT = 0.03
SLOPE_MARGIN = 0.02
R2_MARGIN = 0.05


@dataclass(frozen=True)
class Corpus:
    """Image-caption pairs: ``X`` (n, DIM) images, ``concept`` (n,) the concept each image shows."""

    X: np.ndarray
    concept: np.ndarray
    captions: list[str]


def zipf_weights(k: int, s: float = ZIPF_S) -> np.ndarray:
    """Probability of the concept at each rank 1..k, proportional to ``rank**-s``.

    Examples
    --------
    >>> zipf_weights(3, 1.0).round(3).tolist()
    [0.545, 0.273, 0.182]
    """
    w = np.arange(1, k + 1, dtype=np.float64) ** -float(s)
    return w / w.sum()


def concept_prototypes(k: int, rng: np.random.Generator, *, dim: int = DIM) -> np.ndarray:
    """(k, dim) orthogonal prototypes of norm ``PROTO_NORM``: every concept equally hard to tell apart."""
    q, _ = np.linalg.qr(rng.normal(size=(dim, k)))
    return q.T * PROTO_NORM


def _caption(rng: np.random.Generator, word: str | None) -> str:
    adj, place = _ADJ[rng.integers(len(_ADJ))], _PLACE[rng.integers(len(_PLACE))]
    if word is None:
        return f"a {adj} view of the {place}"
    form = rng.integers(4)
    if form == 0:
        return _PROMPT.format(word)
    if form == 1:
        return f"a {adj} {word} in the {place}"
    if form == 2:
        return f"{_NUMBER[rng.integers(len(_NUMBER))]} {adj} {word}s near the {place}"
    return f"the {place} with a {word}, {adj} light"


def pretraining_corpus(
    prototypes: np.ndarray, n: int, rng: np.random.Generator, *, concepts: tuple[str, ...] = CONCEPTS
) -> Corpus:
    """``n`` pairs; concepts Zipf-distributed over a random ranking, captions web-like and noisy.

    A caption names its image's concept, no concept (``P_NO_CONCEPT``) or a random wrong
    one (``P_WRONG_CONCEPT``), so counted frequency tracks, but is not, the number of images.
    """
    k = len(prototypes)
    rank = rng.permutation(k)  # concept c has rank rank[c] + 1
    c = rng.choice(k, size=n, p=zipf_weights(k)[rank])
    X = prototypes[c] + rng.normal(0.0, NOISE, size=(n, prototypes.shape[1]))
    u = rng.random(n)
    wrong = rng.integers(k, size=n)
    captions = [
        _caption(
            rng, None if u[i] < P_NO_CONCEPT else concepts[wrong[i] if u[i] < P_NO_CONCEPT + P_WRONG_CONCEPT else ci]
        )
        for i, ci in enumerate(c)
    ]
    return Corpus(X, c, captions)


def count_concepts(captions: list[str], concepts: tuple[str, ...]) -> np.ndarray:
    """Number of captions mentioning each concept (plural-folded inverted index)."""
    from ..factors import ConceptIndex

    return ConceptIndex(captions, lemmatize=True).frequencies(list(concepts)).to_numpy()


class LinearImageText:
    """Linear image-text proxy: each word's direction is the mean centred image of its captions.

    ``fit(X, captions)`` learns the word directions; ``predict(X, prompts)`` returns the
    index of the prompt whose bag of words is most cosine-similar to each image's
    embedding (its projections on the word directions).
    """

    def fit(self, X: np.ndarray, captions: list[str]) -> LinearImageText:
        from ..factors.concepts import tokenize

        tokens = [set(tokenize(t, lemmatize=True)) for t in captions]
        self.vocab_ = {w: i for i, w in enumerate(sorted(set().union(*tokens)))}
        T = np.zeros((len(captions), len(self.vocab_)))
        for i, ws in enumerate(tokens):
            T[i, [self.vocab_[w] for w in ws]] = 1.0
        self.mean_ = X.mean(axis=0)
        M = T.T @ (X - self.mean_) / np.maximum(T.sum(axis=0), 1.0)[:, None]
        norms = np.linalg.norm(M, axis=1, keepdims=True)
        # a word in (nearly) every caption has no direction; keep it at zero, not roundoff / 0
        self.directions_ = np.where(norms > 1e-9, M / np.maximum(norms, 1e-9), 0.0)
        return self

    def encode_text(self, texts: list[str]) -> np.ndarray:
        from ..factors.concepts import tokenize

        E = np.zeros((len(texts), len(self.vocab_)))
        for i, t in enumerate(texts):
            for w in tokenize(t, lemmatize=True):
                if w in self.vocab_:
                    E[i, self.vocab_[w]] = 1.0
        return E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-12)

    def encode_image(self, X: np.ndarray) -> np.ndarray:
        Z = (X - self.mean_) @ self.directions_.T
        return Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)

    def predict(self, X: np.ndarray, prompts: list[str]) -> np.ndarray:
        return (self.encode_image(X) @ self.encode_text(prompts).T).argmax(axis=1)


def _slope_r2(f: np.ndarray, acc: np.ndarray) -> tuple[float, float, float]:
    """Slope of acc on ln(1 + f), its R^2, and the R^2 of acc on raw f (pooled points)."""
    lf = np.log1p(f)
    if np.ptp(lf) == 0 or np.ptp(acc) == 0:
        return float("nan"), float("nan"), float("nan")
    slope = float(np.polyfit(lf, acc, 1)[0])
    return slope, float(np.corrcoef(lf, acc)[0, 1] ** 2), float(np.corrcoef(f, acc)[0, 1] ** 2)


def run_experiment(
    seeds: list[int], *, n_concepts: int, n_pretrain: int, eval_per_concept: int, control: bool
) -> pd.DataFrame:
    """One row per (seed, concept): counted frequency, images in the corpus, zero-shot accuracy."""
    concepts = CONCEPTS[:n_concepts]
    prompts = [_PROMPT.format(c) for c in concepts]
    rows = []
    for s in seeds:
        rng = np.random.default_rng([s, 0])
        protos = concept_prototypes(n_concepts, rng)
        corpus = pretraining_corpus(protos, n_pretrain, rng, concepts=concepts)
        model = LinearImageText().fit(corpus.X, corpus.captions)
        erng = np.random.default_rng([s, 1])  # the evaluation set: balanced, drawn apart from the corpus
        ce = np.repeat(np.arange(n_concepts), eval_per_concept)
        Xe = protos[ce] + erng.normal(0.0, NOISE, size=(len(ce), protos.shape[1]))
        correct = model.predict(Xe, prompts) == ce
        freq = count_concepts(corpus.captions, concepts)
        if control:
            other = pretraining_corpus(protos, n_pretrain, np.random.default_rng([s, 2]), concepts=concepts)
            freq = count_concepts(other.captions, concepts)
        images = np.bincount(corpus.concept, minlength=n_concepts)
        for k, c in enumerate(concepts):
            rows.append(
                {
                    "seed": s,
                    "concept": c,
                    "frequency": int(freq[k]),
                    "images_in_corpus": int(images[k]),
                    "accuracy": float(correct[ce == k].mean()),
                }
            )
    return pd.DataFrame(rows)


def sizes_for(quick: bool) -> dict[str, int]:
    return (
        {"n_concepts": 30, "n_pretrain": 4000, "eval_per_concept": 60}
        if quick
        else {"n_concepts": 40, "n_pretrain": 6000, "eval_per_concept": 100}
    )


@recipe(NAME, paper=PAPER, claim=CLAIM, control=CONTROL)
def zero_shot_frequency(*, seed: int = 0, quick: bool = False, control: bool = False) -> RecipeResult:
    seeds = seeds_for(seed, quick, full=5)
    sizes = sizes_for(quick)
    res = run_experiment(seeds, control=control, **sizes)
    k = sizes["n_concepts"]
    F = res["frequency"].to_numpy(float).reshape(len(seeds), k)
    A = res["accuracy"].to_numpy().reshape(len(seeds), k)

    def stat(which: int):
        def f(si: np.ndarray, ci: np.ndarray) -> float:
            slope, r2_log, r2_raw = _slope_r2(F[np.ix_(si, ci)].ravel(), A[np.ix_(si, ci)].ravel())
            return slope if which == 0 else r2_log - r2_raw

        return f

    method = f"bootstrap over {len(seeds)} seeds x {k} concepts"
    effects = []
    for which, label, margin in (
        (0, "slope of zero-shot accuracy on ln(1 + counted frequency) (per e-fold)", SLOPE_MARGIN),
        (1, "R^2 of accuracy on ln-frequency minus R^2 on raw frequency", R2_MARGIN),
    ):
        est, lo, hi = bootstrap(stat(which), [len(seeds), k], seed=seed)
        effects.append(Effect(label, est, lo, hi, margin=margin, above=True, method=method))
    slope, r2_log, r2_raw = _slope_r2(F.ravel(), A.ravel())
    lf = np.log1p(F.ravel())
    tail, head = lf <= np.quantile(lf, 0.2), lf >= np.quantile(lf, 0.8)
    measured = {
        "slope (accuracy per ln frequency)": slope,
        "R^2 with ln(frequency)": r2_log,
        "R^2 with raw frequency": r2_raw,
        "accuracy, rarest 20% of concepts": float(A.ravel()[tail].mean()),
        "accuracy, most frequent 20% of concepts": float(A.ravel()[head].mean()),
        "counted frequency range": f"{int(F.min())}-{int(F.max())}",
        "Pearson r(counted frequency, images in own corpus)": float(
            np.corrcoef(res["frequency"], res["images_in_corpus"])[0, 1]
        ),
    }
    return RecipeResult(
        NAME,
        PAPER,
        CLAIM,
        measured,
        details=res,
        effects=effects,
        claim_part=CLAIM_PART,
        seeds=seeds,
        sizes={"seeds": len(seeds), **sizes},
    )
