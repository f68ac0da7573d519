"""Model-based IRT difficulty: an ensemble of cheap models answers every example, then IRT.

:func:`ensemble_responses` builds the items x respondents matrix for a
:class:`~datafactors.dataset.Dataset` (items = examples, respondents = K diverse cheap
models, each answering only folds it never trained on: model-based hardness, as in
Easy2Hard and Hase et al.); :func:`irt_ensemble` fits :func:`~datafactors.scores.irt.irt`
to it; the registered ``irt`` scorer wires that to a Dataset.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from .._validation import SeedLike, check_random_state, seed_int
from ..dataset import Dataset
from .base import ScoreColumn, Scorer, register
from .irt import IRTResult, irt


def _fold_ids(y: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """Stratified fold per example: shuffle, stable-sort by class, deal round-robin."""
    order = np.argsort(y[(perm := rng.permutation(len(y)))], kind="stable")
    out = np.empty(len(y), dtype=np.int64)
    out[perm[order]] = np.arange(len(y)) % folds
    return out


_ENSEMBLE = (
    ("logistic_C0.01", "logistic", {"C": 0.01}),
    ("logistic_C1", "logistic", {"C": 1.0}),
    ("logistic_C100", "logistic", {"C": 100.0}),
    ("knn_1", "knn", {"k": 1}),
    ("knn_5", "knn", {"k": 5}),
    ("knn_25", "knn", {"k": 25}),
    ("tree_depth2", "tree", {"max_depth": 2}),
    ("tree_depth4", "tree", {"max_depth": 4}),
    ("tree_depth8", "tree", {"max_depth": 8}),
    ("naive_bayes", "nb", {}),
    ("mlp_32", "mlp", {"hidden": [32]}),
    ("mlp_128x2", "mlp", {"hidden": [128, 128]}),
)


def _fit_predict(kind: str, params: dict, train: Dataset, X_test: np.ndarray, seed: int) -> np.ndarray:
    """Predicted labels of one cheap model; a one-class training fold predicts that class."""
    classes = np.unique(train.y)
    if len(classes) == 1:
        return np.full(len(X_test), classes[0])
    if kind in ("logistic", "mlp"):
        from ..learners import make_learner

        lrn = make_learner(kind, **params)
        epochs = 100 if kind == "logistic" else 30
        return lrn.fit(train, epochs=epochs, seed=seed).predict_proba(X_test).argmax(1)
    from ..learners import Standardizer

    scale = Standardizer(train.X)
    Xtr, Xte = scale(train.X), scale(X_test)
    if kind == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        est: Any = KNeighborsClassifier(n_neighbors=min(params["k"], train.n))
    elif kind == "tree":
        from sklearn.tree import DecisionTreeClassifier

        est = DecisionTreeClassifier(max_depth=params["max_depth"], random_state=seed)
    elif kind == "nb":
        from sklearn.naive_bayes import GaussianNB

        est = GaussianNB()
    else:  # pragma: no cover - guarded by _ENSEMBLE
        raise ConfigError(f"unknown ensemble model kind {kind!r}")
    return est.fit(Xtr, train.y).predict(Xte)


def ensemble_responses(
    ds: Dataset,
    *,
    k_models: int = 12,
    folds: int = 5,
    embeddings: np.ndarray | None = None,
    seed: SeedLike = 0,
) -> tuple[np.ndarray, list[str]]:
    """Held-out correctness of K diverse cheap models on every example.

    Examples are split into ``folds`` stratified folds; each model is trained on all
    folds but one and answers the held-out fold, so every example is answered only by
    models that never trained on it. The models, in order (the first ``k_models`` are
    used): logistic regression with C in {0.01, 1, 100}, kNN with k in {1, 5, 25},
    decision trees of depth 2, 4, 8, Gaussian naive Bayes, and MLPs (32) and (128, 128)
    trained 30 epochs.

    Returns
    -------
    responses : (n_examples, k_models) float64 0/1, items = examples, respondents = models.
    names : the model names, one per column.
    """
    if not isinstance(ds, Dataset):
        raise DataError(f"irt_ensemble expects a datafactors.Dataset, got {type(ds).__name__}")
    if isinstance(k_models, bool) or not isinstance(k_models, numbers.Integral) or not 1 <= k_models <= len(_ENSEMBLE):
        raise ConfigError(f"k_models == {k_models!r}, must be an int in [1, {len(_ENSEMBLE)}]")
    if isinstance(folds, bool) or not isinstance(folds, numbers.Integral) or folds < 2:
        raise ConfigError(f"folds == {folds!r}, must be an int >= 2")
    X = ds.X if embeddings is None else _check_embeddings(embeddings, ds.n)
    rng = check_random_state(seed)
    base = seed_int(rng)
    n_folds = min(int(folds), ds.n)
    fold = _fold_ids(ds.y, n_folds, rng)
    feats = Dataset(X, ds.y, ds.ids, None, None, list(ds.class_names), ds.name)
    models = _ENSEMBLE[:k_models]
    out = np.zeros((ds.n, len(models)))
    import sklearn.linear_model  # noqa: F401 - load scipy's BLAS so the limit below reaches it
    from threadpoolctl import threadpool_limits

    # Cheap models on small matrices: BLAS / OpenMP threads cost more than they save.
    with threadpool_limits(limits=1):
        for f in range(n_folds):
            test = np.flatnonzero(fold == f)
            train = feats.subset(np.flatnonzero(fold != f))
            for m, (_, kind, params) in enumerate(models):
                pred = _fit_predict(kind, params, train, X[test], base + 1000 * f + m)
                out[test, m] = pred == ds.y[test]
    return out, [name for name, _, _ in models]


def _check_embeddings(embeddings: Any, n: int) -> np.ndarray:
    E = np.asarray(embeddings, dtype=np.float32)
    if E.ndim != 2 or E.shape[0] != n:
        raise DataError(f"embeddings must have shape ({n}, d), got {E.shape}")
    if not np.isfinite(E).all():
        raise DataError("embeddings contain NaN or inf")
    return E


def irt_ensemble(
    ds: Dataset,
    *,
    k_models: int = 12,
    folds: int = 5,
    model: str = "2pl",
    embeddings: np.ndarray | None = None,
    seed: SeedLike = 0,
    **irt_kwargs: Any,
) -> IRTResult:
    """Model-based IRT difficulty: :func:`ensemble_responses` then :func:`irt`.

    Returns the :class:`IRTResult` with items = examples of ``ds`` (in row order),
    ``responses`` and ``respondents`` (model names) filled in.

    Examples
    --------
    >>> import datafactors as df  # doctest: +SKIP
    >>> res = irt_ensemble(df.load("digits"), k_models=8)  # doctest: +SKIP
    >>> res.difficulty.shape  # doctest: +SKIP
    (1797,)
    """
    R, names = ensemble_responses(ds, k_models=k_models, folds=folds, embeddings=embeddings, seed=seed)
    res = irt(R, model, **irt_kwargs)
    res.responses, res.respondents = R, names
    return res


# ---------------------------------------------------------------- registered scorer


@register
class IRTScorer(Scorer):
    """IRT difficulty and discrimination from :func:`irt_ensemble` (no training dynamics).

    Parameters
    ----------
    k_models : the first ``k_models`` models of the ensemble answer (1 to 12).
    folds : stratified folds; every model answers only folds it never trained on.
    model : "2pl" (difficulty and discrimination) or "1pl" (discrimination fixed at 1).

    On the smallest inputs (a handful of examples) every held-out model may be right or
    wrong on every example; those examples get difficulty ``-inf`` / ``+inf`` and
    discrimination 0, as :func:`irt` documents.
    """

    name = "irt"
    columns = (
        ScoreColumn(
            "irt_difficulty",
            "harder",
            -np.inf,
            np.inf,
            "2PL difficulty b from held-out answers of a model ensemble (-inf: every model right, +inf: none)",
        ),
        ScoreColumn(
            "irt_discrimination",
            "ambiguous",
            0.0,
            np.inf,
            "2PL discrimination a: how sharply the example separates strong from weak models, not a hardness "
            "(0 when every model answered it the same way)",
        ),
    )

    def __init__(self, k_models: int = 12, folds: int = 5, model: str = "2pl") -> None:
        self.k_models, self.folds, self.model = k_models, folds, model

    def check(self) -> None:
        k = self.k_models
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= len(_ENSEMBLE):
            raise ConfigError(f"k_models == {k!r}, must be an int in [1, {len(_ENSEMBLE)}]")
        if isinstance(self.folds, bool) or not isinstance(self.folds, numbers.Integral) or self.folds < 2:
            raise ConfigError(f"folds == {self.folds!r}, must be an int >= 2")
        if self.model not in ("1pl", "2pl"):
            raise ConfigError(f"model == {self.model!r}, must be '1pl' or '2pl'")

    def score(self, ds, *, dynamics=None, embeddings=None, seed=0) -> pd.DataFrame:
        res = irt_ensemble(
            ds, k_models=self.k_models, folds=self.folds, model=self.model, embeddings=embeddings, seed=seed
        )
        return self._frame(ds, {"irt_difficulty": res.difficulty, "irt_discrimination": res.discrimination})


__all__ = ["IRTScorer", "ensemble_responses", "irt_ensemble"]
