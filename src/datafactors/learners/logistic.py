"""Multinomial logistic regression proxy (scikit-learn)."""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._errors import ConfigError
from ..dataset import Dataset
from ..dynamics import TrainingDynamics
from . import REGISTRY
from ._common import Standardizer, check_fit_args, check_predict_input


def _identity(X: np.ndarray) -> np.ndarray:
    return np.asarray(X, dtype=np.float32)


@REGISTRY.register("logistic")
class LogisticLearner:
    """scikit-learn ``LogisticRegression`` (lbfgs, L2 with strength ``C``) on standardized features.

    ``standardize=False`` fits on the features as given: for training sets too small to
    estimate a scale from (a few condensed or exemplar rows per class), standardize them
    beforehand with statistics of the data they stand for.

    An "epoch" is one lbfgs iteration over the full training set, so ``epochs`` caps
    the iterations. With ``record_dynamics=True`` the model is fitted one iteration
    at a time (warm start) and, after each, records every example's softmax, loss
    and exact per-example gradient norm — for a linear softmax model that norm is
    ``||p - onehot(y)||_2 * sqrt(||x||^2 + 1)`` (weights and bias).
    """

    def __init__(self, C: float = 1.0, standardize: bool = True) -> None:
        if isinstance(C, (bool, np.bool_)) or not (isinstance(C, (int, float)) and C > 0):
            raise ConfigError(f"C == {C!r}, must be > 0")
        if not isinstance(standardize, (bool, np.bool_)):
            raise ConfigError(f"standardize == {standardize!r}, must be True or False")
        self.C = float(C)
        self.standardize = bool(standardize)
        self.dynamics: TrainingDynamics | None = None
        self.model_ = None
        self.n_features_: int | None = None
        self.n_classes_: int | None = None

    def _new_model(self, seed: int, max_iter: int, warm: bool):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, max_iter=max_iter, warm_start=warm, random_state=seed)

    def fit(self, ds: Dataset, *, epochs: float, seed: int, record_dynamics: bool = False) -> LogisticLearner:
        check_fit_args(ds, epochs, seed)
        self.n_features_, self.n_classes_ = ds.n_features, ds.n_classes
        self._scaler = Standardizer(ds.X) if self.standardize else _identity
        Xs = self._scaler(ds.X)
        iters = max(1, math.ceil(epochs))
        self.dynamics = None
        present = np.unique(ds.y)
        if len(present) < 2:
            # One class in a tiny subset: predict it with certainty rather than fail the trial.
            self.model_ = ("constant", int(present[0]))
            return self
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if not record_dynamics:
                self.model_ = self._new_model(seed, iters, False).fit(Xs, ds.y)
                return self
            model = self._new_model(seed, 1, True)
            probs, losses, seen, gnorms = [], [], [], []
            xnorm = np.sqrt((Xs.astype(np.float64) ** 2).sum(1) + 1.0)
            # Before the first step coef = 0, so every class ties and argmax picks class 0.
            prev_correct = ds.y == 0
            for _ in range(iters):
                model.fit(Xs, ds.y)
                self.model_ = model
                p = self.predict_proba(ds.X)
                onehot = np.eye(ds.n_classes)[ds.y]
                probs.append(p.astype(np.float32))
                losses.append((-np.log(np.clip(p[np.arange(ds.n), ds.y], 1e-12, None))).astype(np.float32))
                seen.append(prev_correct)
                gnorms.append(np.linalg.norm(p - onehot, axis=1) * xnorm)
                prev_correct = p.argmax(1) == ds.y
        p0 = np.full((ds.n, ds.n_classes), 1.0 / ds.n_classes)
        g0 = np.linalg.norm(p0 - np.eye(ds.n_classes)[ds.y], axis=1) * xnorm
        self.dynamics = TrainingDynamics(
            ids=ds.ids.copy(),
            y=ds.y.copy(),
            probs=np.stack(probs),
            losses=np.stack(losses),
            seen_correct=np.stack(seen),
            grad_norms=np.stack([g0, *gnorms]).astype(np.float32),
            seed=seed,
        )
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        Xa = check_predict_input(X, self.n_features_)
        out = np.zeros((Xa.shape[0], self.n_classes_), dtype=np.float64)
        if isinstance(self.model_, tuple):
            out[:, self.model_[1]] = 1.0
            return out
        out[:, self.model_.classes_] = self.model_.predict_proba(self._scaler(Xa))
        return out
