"""AdaNPC (Zhang et al., 2023): a kNN classifier over a memory of features that grows at test time.

A ReLU MLP (trunk + linear head) is trained with cross-entropy on the training set; its
trunk's output, L2-normalised, is the feature. The memory starts as the features and
labels of the training set. A query ``z`` (normalised) is classified by its ``k`` most
cosine-similar memory entries ``j`` (k = 100, clipped to the memory size), weighted

    w_j = softmax_j(sim(z, m_j) / T),   p(c | z) = sum_{j in top-k, y_j = c} w_j,   T = 0.1.

:meth:`AdaNPCLearner.adapt` classifies one batch of a test stream and then adds the
points predicted with confidence ``max_c p(c | z) >= beta`` to the memory with their
predicted labels, so later batches (later, further-shifted domains) are classified
against neighbours from the domains already seen. ``predict_proba`` never changes the
memory; :meth:`reset` restores the training-set memory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._errors import ConfigError, DataError
from ..dataset import Dataset
from . import REGISTRY
from ._common import check_fit_args, check_predict_input
from ._torch import (
    EpochRecorder,
    TorchSettings,
    check_hidden,
    check_torch_settings,
    mlp_module,
    seeded,
    torch_threads,
    train_cross_entropy,
)

__all__ = ["AdaNPCLearner", "knn_memory_proba", "l2_normalize"]


def l2_normalize(Z: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (all-zero rows stay zero)."""
    Z = np.asarray(Z, dtype=np.float64)
    norm = np.linalg.norm(Z, axis=1, keepdims=True)
    return Z / np.where(norm > 0, norm, 1.0)


def _top_k(sims: np.ndarray, k: int) -> np.ndarray:
    """Columns of the k largest entries of each row, ties taken in column order (as a stable sort would)."""
    m = sims.shape[1]
    if k >= m:
        return np.argsort(-sims, axis=1, kind="stable")
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    kth = np.take_along_axis(sims, part, axis=1).min(1, keepdims=True)
    # argpartition picks arbitrarily among values tied with the k-th; redo those rows exactly
    ambiguous = np.flatnonzero((sims >= kth).sum(1) > k)
    vals = np.take_along_axis(sims, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    top = np.take_along_axis(part, order, axis=1)
    if len(ambiguous):
        top[ambiguous] = np.argsort(-sims[ambiguous], axis=1, kind="stable")[:, :k]
    return top


def knn_memory_proba(
    Z: np.ndarray, memory: np.ndarray, labels: np.ndarray, n_classes: int, *, k: int = 100, temperature: float = 0.1
) -> np.ndarray:
    """AdaNPC's class probabilities for queries ``Z`` from a feature memory.

    Parameters
    ----------
    Z : (n, d) query features; memory : (m, d) memory features (both are L2-normalised here).
    labels : (m,) int labels of the memory; n_classes : C.
    k : neighbours, clipped to m. temperature : T.

    Returns
    -------
    ndarray of shape (n, C), float64: ``p_c = sum_{j in top-k, y_j = c} softmax_j(cos_j / T)``.
    Neighbours tied in similarity are taken in memory order.

    Examples
    --------
    >>> mem = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> knn_memory_proba(np.array([[1.0, 0.0]]), mem, np.array([0, 1]), 2, k=2, temperature=1.0).round(4).tolist()
    [[0.7311, 0.2689]]
    """
    Zn, Mn = l2_normalize(Z), l2_normalize(memory)
    labels = np.asarray(labels, dtype=np.int64)
    if Zn.ndim != 2 or Mn.ndim != 2 or Zn.shape[1] != Mn.shape[1] or len(Mn) == 0 or labels.shape != (len(Mn),):
        raise DataError(f"need Z (n, d), memory (m >= 1, d), labels (m,); got {Zn.shape}, {Mn.shape}, {labels.shape}")
    kk = min(int(k), len(Mn))
    sims = Zn @ Mn.T
    top = _top_k(sims, kk)
    s = np.take_along_axis(sims, top, axis=1) / temperature
    w = np.exp(s - s.max(1, keepdims=True))
    w /= w.sum(1, keepdims=True)
    out = np.zeros((len(Zn), n_classes))
    np.add.at(out, (np.repeat(np.arange(len(Zn)), kk), labels[top].ravel()), w.ravel())
    return out


@REGISTRY.register("adanpc")
class AdaNPCLearner(TorchSettings):
    """AdaNPC: kNN over normalised features of a trained MLP trunk, with a memory that test points join.

    Parameters
    ----------
    hidden : widths of the feature trunk; a linear head on top is used only for training
        (and by :meth:`predict_proba_head`, the ERM baseline on the same features). An
        empty list makes the features the (standardized) inputs themselves — for inputs
        that already are embeddings; the linear head is then a softmax regression.
    k, temperature : neighbours (100, clipped to the memory size) and softmax temperature (0.1).
    beta : confidence threshold for adding an adapted test point to the memory (0.9).
    max_memory : cap on the memory size; once reached, no more points are added. None: no cap.
    lr, weight_decay, batch_size, standardize, n_threads : as for ``mlp``.

    Attributes
    ----------
    memory_size_ : entries in the memory now. n_added_ : test points added since fit / reset.
    dynamics : with ``record_dynamics=True``, the standard per-epoch record of the
        feature network's training (trunk + linear head).
    """

    def __init__(
        self,
        hidden: Sequence[int] = (128, 128),
        *,
        k: int = 100,
        temperature: float = 0.1,
        beta: float = 0.9,
        max_memory: int | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 128,
        standardize: bool = True,
        n_threads: int = 1,
    ) -> None:
        self.hidden = hidden
        self.k = k
        self.temperature = temperature
        self.beta = beta
        self.max_memory = max_memory
        self._init_settings(
            lr=lr, weight_decay=weight_decay, batch_size=batch_size, standardize=standardize, n_threads=n_threads
        )

    def check_params(self) -> None:
        """Validate the settings (called by fit, and by config validation before a run starts)."""
        check_torch_settings(self)
        self.hidden = check_hidden(self.hidden, allow_empty=True)
        if isinstance(self.k, bool) or not (isinstance(self.k, int) and self.k >= 1):
            raise ConfigError(f"k == {self.k!r}, must be an int >= 1")
        t = self.temperature
        if isinstance(t, bool) or not (isinstance(t, (int, float)) and math.isfinite(t) and t > 0):
            raise ConfigError(f"temperature == {t!r}, must be a finite number > 0")
        b = self.beta
        if isinstance(b, bool) or not (isinstance(b, (int, float)) and not math.isnan(b)):
            raise ConfigError(f"beta == {b!r}, must be a number (a confidence in [0, 1]; > 1 never adapts)")
        mm = self.max_memory
        if mm is not None and (isinstance(mm, bool) or not isinstance(mm, int) or mm < 1):
            raise ConfigError(f"max_memory == {mm!r}, must be None or an int >= 1")

    def fit(self, ds: Dataset, *, epochs: float, seed: int, record_dynamics: bool = False) -> AdaNPCLearner:
        check_fit_args(ds, epochs, seed)
        self.check_params()
        with torch_threads(self.n_threads) as torch:
            C = ds.n_classes
            self._fit_scaler(ds)
            X = torch.from_numpy(self._scale(ds.X))
            y = torch.from_numpy(ds.y)
            model = seeded(seed, lambda: mlp_module(ds.n_features, C, self.hidden))
            opt = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            rec = EpochRecorder(X, y, record_dynamics)
            rng = np.random.default_rng(int(seed))
            train_cross_entropy(model, opt, X, y, rec, epochs=float(epochs), batch_size=self.batch_size, rng=rng)
            self.model_ = model
            self.dynamics = rec.dynamics(ds, int(seed), transform=self._scaler)
        self._train_memory = (self.features(ds.X), ds.y.copy())
        self.reset()
        return self

    def features(self, X: np.ndarray) -> np.ndarray:
        """(n, hidden[-1]) L2-normalised trunk features (the inputs with ``hidden=[]``), float64."""
        Xa = check_predict_input(X, self.n_features_)
        with torch_threads(self.n_threads) as torch, torch.no_grad():
            Z = self.model_[:-1](torch.from_numpy(self._scale(Xa))).double().numpy()
        return l2_normalize(Z)

    def reset(self) -> AdaNPCLearner:
        """Restore the memory to the training set's features and labels."""
        if self.n_features_ is None:
            raise DataError("the learner is not fitted yet; call fit first")
        self.memory_, self.memory_labels_ = (a.copy() for a in self._train_memory)
        self.n_added_ = 0
        return self

    @property
    def memory_size_(self) -> int:
        return int(len(self.memory_labels_))

    def _proba(self, Z: np.ndarray) -> np.ndarray:
        return knn_memory_proba(
            Z, self.memory_, self.memory_labels_, self.n_classes_, k=self.k, temperature=self.temperature
        )

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """kNN probabilities from the current memory (the memory is not changed)."""
        return self._proba(self.features(X))

    def predict_proba_head(self, X: np.ndarray) -> np.ndarray:
        """The trained linear head's softmax on the same features (the ERM baseline)."""
        Xa = check_predict_input(X, self.n_features_)
        with torch_threads(self.n_threads) as torch, torch.no_grad():
            return torch.softmax(self.model_(torch.from_numpy(self._scale(Xa))).double(), dim=1).numpy()

    def adapt(self, X: np.ndarray) -> np.ndarray:
        """Classify one test batch, then add its points with confidence >= beta to the memory.

        Returns the (n, C) probabilities computed *before* the batch joins the memory.
        """
        Z = self.features(X)
        P = self._proba(Z)
        keep = np.flatnonzero(P.max(1) >= self.beta)
        if self.max_memory is not None:
            keep = keep[: max(0, self.max_memory - self.memory_size_)]
        if len(keep):
            self.memory_ = np.concatenate([self.memory_, Z[keep]])
            self.memory_labels_ = np.concatenate([self.memory_labels_, P[keep].argmax(1)])
            self.n_added_ += len(keep)
        return P
