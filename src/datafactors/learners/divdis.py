"""DivDis (Lee et al., 2023, "Diversify and Disambiguate"): many heads that disagree off the training set.

A shared MLP trunk feeds ``heads`` linear heads. Every head fits the labeled data
(cross-entropy); on unlabeled data the heads are pushed apart by the mutual information
between their predictions and kept from collapsing onto one class by a KL term:

    L = mean_h CE(f_h(x), y) + mi_weight * mean_{h < g} I(f_h; f_g) + reg_weight * mean_h KL(m_h || prior)

where, on an unlabeled minibatch ``U``, ``I(f_h; f_g) = KL(P_hg || m_h m_g^T)`` with the
joint ``P_hg = mean_{x in U} f_h(x) f_g(x)^T`` and the marginal ``m_h = mean_{x in U} f_h(x)``
(the official code's ``mode="mi", reduction="mean"``). When the labeled data admit two
explanations (a core feature and a spurious one that agree on every labeled example),
different heads pick different explanations; a few labels from the target distribution
then pick the head ("disambiguate").

It trains through the shared loop of :mod:`datafactors.learners._torch`.
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
    run_epochs,
    seeded,
    torch_threads,
    trunk_module,
)

__all__ = ["DivDisLearner", "divdis_losses", "pairwise_mutual_information"]


# ----------------------------------------------------------------------------- the math


def _mi_grid(probs: Any, eps: float = 1e-12) -> Any:
    """(H, H) tensor of I(f_h; f_g) on one batch of probabilities ``probs`` (B, H, C)."""
    import torch

    marginal = probs.mean(0)  # (H, C)
    joint = torch.einsum("bhc,bgd->hgcd", probs, probs) / probs.shape[0]  # (H, H, C, C)
    indep = torch.einsum("hc,gd->hgcd", marginal, marginal)
    # joint <= marginal entrywise, so a zero in the product only meets a zero joint (0 log 0 = 0)
    return (joint * (torch.log(joint + eps) - torch.log(indep + eps))).sum((2, 3))


def divdis_losses(probs: Any, prior: Any) -> tuple[Any, Any]:
    """The two DivDis terms on an unlabeled batch.

    Parameters
    ----------
    probs : torch.Tensor of shape (B, H, C), each head's softmax on the batch.
    prior : torch.Tensor of shape (C,), the class prior the marginals are pulled to.

    Returns
    -------
    (mi, reg) : mean over head pairs h < g of I(f_h; f_g), and mean over heads of
    KL(m_h || prior) with ``m_h`` the head's mean prediction on the batch.
    """
    import torch

    H = probs.shape[1]
    if H > 1:
        grid = _mi_grid(probs)
        iu = torch.triu_indices(H, H, offset=1)
        mi = grid[iu[0], iu[1]].mean()
    else:
        mi = probs.new_zeros(())
    m = probs.mean(0)
    reg = (m * (torch.log(m + 1e-12) - torch.log(prior + 1e-12))).sum(1).mean()
    return mi, reg


def pairwise_mutual_information(probs: Any) -> np.ndarray:
    """Mutual information between every pair of heads' predictions, in nats.

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_heads, n_classes), rows are distributions.

    Returns
    -------
    ndarray of shape (n_heads, n_heads): ``I[h, g] = KL(P_hg || m_h m_g^T)`` with
    ``P_hg = mean_i p_ih p_ig^T`` and ``m_h = mean_i p_ih``; the diagonal is each head's
    own "self-information" (the entropy of a one-hot head's marginal).

    Examples
    --------
    >>> a = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], float)
    >>> b = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], float)
    >>> np.round(pairwise_mutual_information(np.stack([a, b, a], 1)), 4).tolist()[0]
    [0.6931, 0.0, 0.6931]
    """
    import torch

    P = np.asarray(probs, dtype=np.float64)
    if P.ndim != 3 or P.shape[0] == 0:
        raise DataError(f"probs must have shape (n_samples >= 1, n_heads, n_classes), got {P.shape}")
    if not np.isfinite(P).all() or (P < 0).any() or not np.allclose(P.sum(2), 1.0, atol=1e-6):
        raise DataError("probs must hold probability rows (non-negative, summing to 1)")
    return _mi_grid(torch.from_numpy(P)).numpy()


# ----------------------------------------------------------------------------- the learner


def _divdis_net(n_features: int, n_classes: int, hidden: Sequence[int], heads: int):
    import torch

    class DivDisNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.trunk = trunk_module(n_features, hidden)
            self.heads = torch.nn.ModuleList(torch.nn.Linear(int(hidden[-1]), n_classes) for _ in range(heads))

        def forward(self, x):  # (B, H, C) logits
            z = self.trunk(x)
            return torch.stack([h(z) for h in self.heads], dim=1)

        def head(self, h: int):
            return torch.nn.Sequential(self.trunk, self.heads[h])

    return DivDisNet()


@REGISTRY.register("divdis")
class DivDisLearner(TorchSettings):
    """DivDis: ``heads`` linear heads on a shared ReLU trunk, diversified on unlabeled data.

    Parameters
    ----------
    hidden : widths of the trunk's layers.
    heads : number of heads H (the paper's default for two-way ambiguity is 2; 4 here).
    mi_weight, reg_weight : weights of the mutual-information and KL terms (10 and 10).
    prior : ``"train"`` (default) pulls each head's mean prediction to the labeled class
        frequencies with add-one smoothing (uniform-ish, never zero); ``"uniform"`` to 1/C.
    select : which head ``predict_proba`` uses. ``"best_val"`` (default): the head most
        accurate on ``fit(..., val=...)`` — a few labeled examples from the target
        distribution, the paper's disambiguation step; without ``val`` the head most
        accurate on the labeled training set (ties -> the lower index), which does not
        disambiguate. ``"first"``: head 0. An int: that head. ``"mean"``: the average of
        all heads' probabilities.
    unlabeled : (m, d) array or Dataset of unlabeled inputs (the target distribution's);
        ``fit(..., unlabeled=...)`` overrides it; with neither, ``ds.X`` itself is used.
    lr, weight_decay, batch_size, standardize, n_threads : as for ``mlp``. Each step
        draws ``batch_size`` labeled rows (an epoch is one pass over them) and as many
        unlabeled rows (without replacement within the step).

    Attributes
    ----------
    selected_head_ : int or None (None with ``select="mean"``).
    head_scores_ : (H,) accuracy of every head on the selection data.
    dynamics : with ``record_dynamics=True``, the standard per-epoch record of the
        selected head (trunk + that head; head 0 with ``select="mean"``).

    Examples
    --------
    >>> import datafactors as df  # doctest: +SKIP
    >>> lrn = DivDisLearner().fit(train, epochs=50, seed=0, unlabeled=target_X, val=target_val)  # doctest: +SKIP
    >>> lrn.predict_proba_heads(test.X).shape  # (H, n, C)  # doctest: +SKIP
    """

    def __init__(
        self,
        hidden: Sequence[int] = (128, 128),
        *,
        heads: int = 4,
        mi_weight: float = 10.0,
        reg_weight: float = 10.0,
        prior: str = "train",
        select: str | int = "best_val",
        unlabeled: Any = None,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 128,
        standardize: bool = True,
        n_threads: int = 1,
    ) -> None:
        self.hidden = hidden
        self.heads = heads
        self.mi_weight = mi_weight
        self.reg_weight = reg_weight
        self.prior = prior
        self.select = select
        self.unlabeled = unlabeled
        self._init_settings(
            lr=lr, weight_decay=weight_decay, batch_size=batch_size, standardize=standardize, n_threads=n_threads
        )
        self.selected_head_: int | None = None
        self.head_scores_: np.ndarray | None = None

    def check_params(self) -> None:
        """Validate the settings (called by fit, and by config validation before a run starts)."""
        check_torch_settings(self)
        self.hidden = check_hidden(self.hidden)
        if isinstance(self.heads, bool) or not (isinstance(self.heads, int) and self.heads >= 1):
            raise ConfigError(f"heads == {self.heads!r}, must be an int >= 1")
        for name in ("mi_weight", "reg_weight"):
            v = getattr(self, name)
            if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ConfigError(f"{name} == {v!r}, must be a finite number >= 0")
        if self.prior not in ("train", "uniform"):
            raise ConfigError(f"prior == {self.prior!r}, must be 'train' or 'uniform'")
        s = self.select
        ok = s in ("best_val", "first", "mean") or (
            isinstance(s, int) and not isinstance(s, bool) and 0 <= s < self.heads
        )
        if not ok:
            raise ConfigError(
                f"select == {s!r}, must be 'best_val', 'first', 'mean' or a head index in [0, {self.heads})"
            )

    def fit(
        self,
        ds: Dataset,
        *,
        epochs: float,
        seed: int,
        record_dynamics: bool = False,
        unlabeled: Any = None,
        val: Dataset | None = None,
    ) -> DivDisLearner:
        check_fit_args(ds, epochs, seed)
        self.check_params()
        U = resolve_fit_inputs(ds, unlabeled if unlabeled is not None else self.unlabeled, val)
        with torch_threads(self.n_threads) as torch:
            self._fit(torch, ds, U, float(epochs), int(seed), record_dynamics)
            self._select(ds if val is None else val)
        return self

    def _fit(self, torch, ds: Dataset, U: np.ndarray, epochs: float, seed: int, record: bool) -> None:
        n, C, H = ds.n, ds.n_classes, self.heads
        self._fit_scaler(ds)
        X = torch.from_numpy(self._scale(ds.X))
        Xu = torch.from_numpy(self._scale(U))
        y = torch.from_numpy(ds.y)
        model = seeded(seed, lambda: _divdis_net(ds.n_features, C, self.hidden, H))
        if self.prior == "uniform":
            prior = torch.full((C,), 1.0 / C)
        else:
            counts = np.bincount(ds.y, minlength=C).astype(np.float64) + 1.0
            prior = torch.from_numpy((counts / counts.sum()).astype(np.float32))
        opt = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        rng = np.random.default_rng(seed)
        rng_u = np.random.default_rng([seed, 1])
        bs_u = min(self.batch_size, n, len(U))
        recs = [EpochRecorder(X, y, record) for _ in range(H)]
        for h, r in enumerate(recs):
            r.start(model.head(h))
        model.train()

        def step(idx: np.ndarray, k: int) -> None:
            logits = model(X[idx])  # (B, H, C)
            ce = torch.nn.functional.cross_entropy(logits.reshape(-1, C), y[idx].repeat_interleave(H))
            loss = ce
            if self.mi_weight > 0 or self.reg_weight > 0:
                u_idx = rng_u.choice(len(U), size=bs_u, replace=False)
                mi, reg = divdis_losses(torch.softmax(model(Xu[u_idx]), dim=2), prior)
                loss = loss + self.mi_weight * mi + self.reg_weight * reg
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            for h, r in enumerate(recs):
                r.mark(idx, logits[:, h])

        def on_epoch() -> None:
            for h, r in enumerate(recs):
                r.epoch(model.head(h))

        run_epochs(n, epochs=epochs, batch_size=self.batch_size, rng=rng, step=step, on_epoch=on_epoch)
        model.eval()
        self.model_ = model
        self._recs, self._ds, self._seed = recs, ds, seed

    def _select(self, sel: Dataset) -> None:
        P = self.predict_proba_heads(sel.X)
        self.head_scores_ = (P.argmax(2) == sel.y[None, :]).mean(1)
        s = self.select
        if s == "mean":
            self.selected_head_ = None
        elif s == "first":
            self.selected_head_ = 0
        elif s == "best_val":
            self.selected_head_ = int(np.argmax(self.head_scores_))
        else:
            self.selected_head_ = int(s)
        rec = self._recs[0 if self.selected_head_ is None else self.selected_head_]
        self.dynamics = rec.dynamics(self._ds, self._seed, transform=self._scaler)
        del self._recs, self._ds

    def predict_proba_heads(self, X: np.ndarray) -> np.ndarray:
        """(H, n, C) softmax of every head."""
        Xa = check_predict_input(X, self.n_features_)
        with torch_threads(self.n_threads) as torch, torch.no_grad():
            logits = self.model_(torch.from_numpy(self._scale(Xa)))
            return torch.softmax(logits.double(), dim=2).permute(1, 0, 2).numpy()

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        P = self.predict_proba_heads(X)
        return P.mean(0) if self.selected_head_ is None else P[self.selected_head_]
