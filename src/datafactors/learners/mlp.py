"""PyTorch proxies: the built-in ``mlp`` and a wrapper for a user's own module."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

from .._errors import ConfigError, DataError
from ..dataset import Dataset
from . import REGISTRY
from ._common import check_fit_args, check_predict_input
from ._torch import (
    EpochRecorder,
    ScheduleSampler,
    TorchSettings,
    check_hidden,
    check_torch_settings,
    checkpoint_epochs,
    mlp_module,
    plan_steps,
    seeded,
    torch_threads,
    train_cross_entropy,
)

__all__ = ["MLPLearner", "TorchLearner", "mlp_module"]


class TorchLearner(TorchSettings):
    """Train any ``torch.nn.Module`` classifier through the Learner protocol.

    Parameters
    ----------
    module_factory : callable (n_features, n_classes) -> torch.nn.Module producing logits.
    lr, weight_decay : Adam settings.
    batch_size : minibatch size.
    standardize : scale features by the training set's mean and std first.
    n_threads : torch threads used while fitting and predicting; fixed so that
        results are identical across processes and engines.
    max_checkpoints : with ``record_dynamics=True``, keep the parameters of at most this
        many full epochs (evenly spaced, always the last) in ``dynamics.checkpoints``
        for TracIn; 0 keeps none. One checkpoint costs one copy of the parameters.

    ``fit(ds, epochs=E)`` accepts a fractional E: it trains ceil(E * ceil(n / batch_size))
    steps, which is how DataComp's fixed-samples-seen protocol is expressed.
    ``fit(..., schedule=S)`` replaces the epoch-wise shuffled minibatches by batches drawn
    with replacement from per-row sampling weights that may change with training progress
    (a domain mix, end-of-training upsampling): ``S(step, total_steps)`` returns (n,)
    non-negative weights over the rows of ``ds``; an object with ``bind(ds)`` is bound to
    the training set first (see :class:`datafactors.select.mixture.DomainSchedule`). The
    number of steps, the batch sizes and the recorded epochs are the same as without it.
    With ``record_dynamics=True`` it records, after each full epoch, the softmax of
    every train example, its loss, its per-example gradient norm over all parameters
    (exact, one backward pass per chunk) and, during training, whether each example
    was right in its minibatch. A schedule leaves some rows out of an epoch and draws
    others more than once: ``dynamics.presented`` then marks the rows each epoch drew
    (its last presentation sets ``seen_correct``), and forgetting and cartography follow
    each example over its own presentations only.

    Examples
    --------
    >>> import torch, numpy as np
    >>> from datafactors import Dataset
    >>> lrn = TorchLearner(lambda d, c: torch.nn.Linear(d, c))
    >>> ds = Dataset.from_arrays(np.r_[np.zeros((8, 2)), np.ones((8, 2))], [0] * 8 + [1] * 8)
    >>> lrn.fit(ds, epochs=5, seed=0).predict_proba(ds.X).shape
    (16, 2)
    """

    def __init__(
        self,
        module_factory: Callable[[int, int], object],
        *,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 128,
        standardize: bool = True,
        n_threads: int = 1,
        max_checkpoints: int = 10,
    ) -> None:
        self.module_factory = module_factory
        self.max_checkpoints = max_checkpoints
        self._init_settings(
            lr=lr, weight_decay=weight_decay, batch_size=batch_size, standardize=standardize, n_threads=n_threads
        )

    def check_params(self) -> None:
        """Validate the settings (called by fit, and by config validation before a run starts)."""
        check_torch_settings(self)
        mc = self.max_checkpoints
        if isinstance(mc, bool) or not isinstance(mc, int) or mc < 0:
            raise ConfigError(f"max_checkpoints == {mc!r}, must be an int >= 0")

    def fit(
        self,
        ds: Dataset,
        *,
        epochs: float,
        seed: int,
        record_dynamics: bool = False,
        schedule: Callable[[int, int], np.ndarray] | None = None,
    ) -> TorchLearner:
        check_fit_args(ds, epochs, seed)
        self.check_params()
        sampler = None if schedule is None else ScheduleSampler(schedule, ds)
        with torch_threads(self.n_threads) as torch:
            self._fit(torch, ds, float(epochs), int(seed), record_dynamics, sampler)
        return self

    def _fit(self, torch, ds: Dataset, epochs: float, seed: int, record: bool, sampler) -> None:
        self._fit_scaler(ds)
        X = torch.from_numpy(self._scale(ds.X))
        y = torch.from_numpy(ds.y)
        model = seeded(seed, lambda: self.module_factory(ds.n_features, ds.n_classes))
        if not isinstance(model, torch.nn.Module):
            raise ConfigError(f"module_factory must return a torch.nn.Module, got {type(model).__name__}")
        opt = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        n_full = plan_steps(ds.n, epochs, self.batch_size).n_full_epochs
        ckpts = checkpoint_epochs(n_full, self.max_checkpoints) if record else set()
        rec = EpochRecorder(X, y, record, checkpoint_epochs=ckpts)
        rng = np.random.default_rng(seed)
        train_cross_entropy(model, opt, X, y, rec, epochs=epochs, batch_size=self.batch_size, rng=rng, sampler=sampler)
        self.model_ = model
        self.dynamics = rec.dynamics(
            ds, seed, transform=self._scaler, module_factory=self.module_factory, epochs=epochs
        )

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        Xa = check_predict_input(X, self.n_features_)
        with torch_threads(self.n_threads) as torch, torch.no_grad():
            logits = self.model_(torch.from_numpy(self._scale(Xa)))
            return torch.softmax(logits.double(), dim=1).numpy()


@REGISTRY.register("mlp")
class MLPLearner(TorchLearner):
    """Multi-layer perceptron proxy (ReLU, Adam). ``hidden`` lists the layer widths.

    After ``fit``, :meth:`features` gives the last hidden layer's activations: a learned
    embedding for geometric selectors (``select(ds, "kcenter", k, embeddings=...)``, as
    DeepCore's selectors use the proxy's penultimate features) or a frozen trunk for a
    linear probe.
    """

    def __init__(
        self,
        hidden: Sequence[int] = (128, 128),
        *,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 128,
        standardize: bool = True,
        n_threads: int = 1,
        max_checkpoints: int = 10,
    ) -> None:
        self.hidden = check_hidden(hidden)
        super().__init__(
            # a partial, not a lambda, so recorded dynamics (which keep the factory) pickle
            functools.partial(mlp_module, hidden=self.hidden),
            lr=lr,
            weight_decay=weight_decay,
            batch_size=batch_size,
            standardize=standardize,
            n_threads=n_threads,
            max_checkpoints=max_checkpoints,
        )

    def features(self, X: np.ndarray) -> np.ndarray:
        """(n, hidden[-1]) float32 activations of the last hidden layer (after ReLU) for rows ``X``.

        The inputs are standardized as in training. DataError before ``fit`` or for rows of
        another width.
        """
        if self.model_ is None:
            raise DataError("the learner is not fitted yet; call fit first")
        Xa = check_predict_input(X, self.n_features_)
        with torch_threads(self.n_threads) as torch, torch.no_grad():
            return self.model_[:-1](torch.from_numpy(self._scale(Xa))).numpy().astype(np.float32)
