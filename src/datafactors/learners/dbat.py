"""D-BAT (Pagliardini et al., 2023, "Agree to Disagree"): models trained in turn to disagree off the training set.

Model 0 is plain ERM. Model k >= 1 minimises, with the earlier models frozen,

    CE(q_k(x), y) on labeled x  +  alpha * mean_{m < k} mean_{u in U} A(p_m(u), q_k(u))

on unlabeled (out-of-distribution) inputs ``U``, where the agreement penalty is the
paper's ``A(p, q) = -log(p_1 q_0 + p_0 q_1)`` for two classes — minus the log of the
probability that the two models disagree — and, for C classes, its generalisation in the
official code: with ``c = argmax p`` the earlier model's predicted class,
``A(p, q) = -log(p_c (1 - q_c) + (1 - p_c) q_c)``, the same expression for the
one-vs-rest problem "class c or not". For C = 2 the two forms coincide.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._errors import ConfigError, DataError
from ..dataset import Dataset
from . import REGISTRY
from ._common import check_fit_args, check_predict_input, resolve_fit_inputs
from ._torch import (
    EpochRecorder,
    TorchSettings,
    check_hidden,
    check_torch_settings,
    mlp_module,
    run_epochs,
    seeded,
    torch_threads,
)

__all__ = ["DBATLearner", "agreement_penalty"]

_EPS = 1e-7


def _penalty(p: Any, q: Any) -> Any:
    """Torch form of :func:`agreement_penalty`: ``p`` fixed (earlier model), ``q`` trained."""
    import torch

    c = p.argmax(1, keepdim=True)
    pc = p.gather(1, c)[:, 0]
    qc = q.gather(1, c)[:, 0]
    return -torch.log(pc * (1 - qc) + (1 - pc) * qc + _EPS)


def agreement_penalty(p: Any, q: Any) -> np.ndarray:
    """D-BAT's per-example agreement penalty between an earlier model ``p`` and the model trained now ``q``.

    Parameters
    ----------
    p, q : array-like of shape (n_samples, n_classes), probability rows.

    Returns
    -------
    ndarray of shape (n_samples,): ``-log(p_c (1 - q_c) + (1 - p_c) q_c + 1e-7)`` with
    ``c = argmax_j p_j`` — for two classes exactly ``-log(p_1 q_0 + p_0 q_1 + 1e-7)``.
    Low when the models disagree, high when they agree.

    Examples
    --------
    >>> float(np.round(agreement_penalty([[0.8, 0.2]], [[0.3, 0.7]])[0], 4))  # -log(.2*.3 + .8*.7)
    0.478
    """
    import torch

    P, Q = (np.asarray(a, dtype=np.float64) for a in (p, q))
    if P.ndim != 2 or P.shape != Q.shape or P.shape[0] == 0:
        raise DataError(f"p and q must share one (n_samples, n_classes) shape, got {P.shape} and {Q.shape}")
    for name, A in (("p", P), ("q", Q)):
        if not np.isfinite(A).all() or (A < 0).any() or not np.allclose(A.sum(1), 1.0, atol=1e-6):
            raise DataError(f"{name} must hold probability rows (non-negative, summing to 1)")
    return _penalty(torch.from_numpy(P), torch.from_numpy(Q)).numpy()


@REGISTRY.register("dbat")
class DBATLearner(TorchSettings):
    """D-BAT: ``n_models`` MLPs trained one after another, each to disagree with the earlier ones off-distribution.

    Parameters
    ----------
    n_models : ensemble size (2 in the paper's two-model experiments).
    hidden : widths of each MLP's hidden layers.
    alpha : weight of the agreement penalty (1.0).
    combine : what ``predict_proba`` returns. ``"ensemble"`` (default): the mean of the
        models' probabilities. ``"last"``: the last model. ``"best_val"``: the model most
        accurate on ``fit(..., val=...)`` (a few target-distribution labels); without
        ``val``, on the labeled training set. An int: that model.
    unlabeled : (m, d) array or Dataset of unlabeled, ideally out-of-distribution, inputs;
        ``fit(..., unlabeled=...)`` overrides it; with neither, ``ds.X`` itself is used.
    lr, weight_decay, batch_size, standardize, n_threads : as for ``mlp``. Each model
        trains ``epochs`` epochs; each step draws ``batch_size`` unlabeled rows as well.

    Attributes
    ----------
    models_ : list of torch modules. selected_ : the index used (None for "ensemble").
    model_scores_ : (n_models,) accuracy on the selection data.
    dynamics : the standard per-epoch record of the selected model (the last one
        for ``"ensemble"``: the one trained against all the others).
    """

    def __init__(
        self,
        n_models: int = 2,
        hidden: Sequence[int] = (128, 128),
        *,
        alpha: float = 1.0,
        combine: str | int = "ensemble",
        unlabeled: Any = None,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 128,
        standardize: bool = True,
        n_threads: int = 1,
    ) -> None:
        self.n_models = n_models
        self.hidden = hidden
        self.alpha = alpha
        self.combine = combine
        self.unlabeled = unlabeled
        self._init_settings(
            lr=lr, weight_decay=weight_decay, batch_size=batch_size, standardize=standardize, n_threads=n_threads
        )
        self.models_: list[Any] = []
        self.selected_: int | None = None
        self.model_scores_: np.ndarray | None = None

    def check_params(self) -> None:
        """Validate the settings (called by fit, and by config validation before a run starts)."""
        check_torch_settings(self)
        self.hidden = check_hidden(self.hidden)
        k = self.n_models
        if isinstance(k, bool) or not (isinstance(k, int) and k >= 1):
            raise ConfigError(f"n_models == {k!r}, must be an int >= 1")
        a = self.alpha
        if isinstance(a, bool) or not (isinstance(a, (int, float)) and math.isfinite(a) and a >= 0):
            raise ConfigError(f"alpha == {a!r}, must be a finite number >= 0")
        c = self.combine
        ok = c in ("ensemble", "last", "best_val") or (isinstance(c, int) and not isinstance(c, bool) and 0 <= c < k)
        if not ok:
            raise ConfigError(f"combine == {c!r}, must be 'ensemble', 'last', 'best_val' or a model index in [0, {k})")

    def fit(
        self,
        ds: Dataset,
        *,
        epochs: float,
        seed: int,
        record_dynamics: bool = False,
        unlabeled: Any = None,
        val: Dataset | None = None,
    ) -> DBATLearner:
        check_fit_args(ds, epochs, seed)
        self.check_params()
        U = resolve_fit_inputs(ds, unlabeled if unlabeled is not None else self.unlabeled, val)
        with torch_threads(self.n_threads) as torch:
            recs = self._fit(torch, ds, U, float(epochs), int(seed), record_dynamics)
            sel = ds if val is None else val
            P = self.predict_proba_models(sel.X)
            self.model_scores_ = (P.argmax(2) == sel.y[None, :]).mean(1)
            c = self.combine
            self.selected_ = {"ensemble": None, "last": self.n_models - 1}.get(c) if isinstance(c, str) else int(c)
            if c == "best_val":
                self.selected_ = int(np.argmax(self.model_scores_))
            rec = recs[-1 if self.selected_ is None else self.selected_]
            self.dynamics = rec.dynamics(ds, int(seed), transform=self._scaler)
        return self

    def _fit(self, torch, ds: Dataset, U: np.ndarray, epochs: float, seed: int, record: bool) -> list[EpochRecorder]:
        self._fit_scaler(ds)
        X = torch.from_numpy(self._scale(ds.X))
        Xu = torch.from_numpy(self._scale(U))
        y = torch.from_numpy(ds.y)
        self.models_ = []
        recs: list[EpochRecorder] = []
        prev_probs: list[Any] = []  # earlier models' softmax on all of U, fixed while the next one trains
        for k in range(self.n_models):
            model, rec = self._fit_one(torch, k, X, y, Xu, tuple(prev_probs), epochs, seed, record)
            model.eval()
            with torch.no_grad():
                prev_probs.append(torch.softmax(model(Xu), dim=1))
            self.models_.append(model)
            recs.append(rec)
        return recs

    def _fit_one(self, torch, k: int, X, y, Xu, prev: tuple, epochs: float, seed: int, record: bool):
        """Train model ``k`` against the earlier models' fixed softmax ``prev`` on the unlabeled inputs."""
        n, m = len(y), len(Xu)
        bs_u = min(self.batch_size, n, m)
        model = seeded(seed * 1009 + k, lambda: mlp_module(X.shape[1], self.n_classes_, self.hidden))
        opt = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        rng = np.random.default_rng([seed, k])
        rng_u = np.random.default_rng([seed, k, 1])
        rec = EpochRecorder(X, y, record)
        rec.start(model)
        model.train()

        def step(idx: np.ndarray, _: int) -> None:
            logits = model(X[idx])
            loss = torch.nn.functional.cross_entropy(logits, y[idx])
            if prev and self.alpha > 0:
                u = rng_u.choice(m, size=bs_u, replace=False)
                q = torch.softmax(model(Xu[u]), dim=1)
                pen = torch.stack([_penalty(p[u], q).mean() for p in prev]).mean()
                loss = loss + self.alpha * pen
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            rec.mark(idx, logits)

        run_epochs(n, epochs=epochs, batch_size=self.batch_size, rng=rng, step=step, on_epoch=lambda: rec.epoch(model))
        return model, rec

    def predict_proba_models(self, X: np.ndarray) -> np.ndarray:
        """(n_models, n, C) softmax of every model."""
        Xa = check_predict_input(X, self.n_features_)
        with torch_threads(self.n_threads) as torch, torch.no_grad():
            Xt = torch.from_numpy(self._scale(Xa))
            return np.stack([torch.softmax(m(Xt).double(), dim=1).numpy() for m in self.models_])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        P = self.predict_proba_models(X)
        return P.mean(0) if self.selected_ is None else P[self.selected_]
