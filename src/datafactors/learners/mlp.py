"""PyTorch proxies: the built-in ``mlp`` and a wrapper for a user's own module."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .._errors import ConfigError
from ..dataset import Dataset
from ..dynamics import TrainingDynamics
from . import REGISTRY
from ._common import Standardizer, check_fit_args, check_predict_input


class TorchLearner:
    """Train any ``torch.nn.Module`` classifier through the Learner protocol.

    Parameters
    ----------
    module_factory : callable (n_features, n_classes) -> torch.nn.Module producing logits.
    lr, weight_decay : Adam settings.
    batch_size : minibatch size.
    standardize : scale features by the training set's mean and std first.
    n_threads : torch threads used while fitting and predicting; fixed so that
        results are identical across processes and engines.

    ``fit(ds, epochs=E)`` accepts a fractional E: it trains ceil(E * ceil(n / batch_size))
    steps, which is how DataComp's fixed-samples-seen protocol is expressed.
    With ``record_dynamics=True`` it records, after each full epoch, the softmax of
    every train example, its loss, its per-example gradient norm over all parameters
    (exact, one backward pass per chunk) and, during training, whether each example
    was right in its minibatch.

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
    ) -> None:
        self.module_factory = module_factory
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.standardize = standardize
        self.n_threads = n_threads
        self.dynamics: TrainingDynamics | None = None
        self.model_ = None
        self.n_features_: int | None = None
        self.n_classes_: int | None = None
        self._scaler: Standardizer | None = None

    def _check_params(self) -> None:
        if not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise ConfigError(f"batch_size == {self.batch_size!r}, must be an int >= 1")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ConfigError(f"lr == {self.lr!r}, must be > 0")
        if not (isinstance(self.n_threads, int) and self.n_threads >= 1):
            raise ConfigError(f"n_threads == {self.n_threads!r}, must be an int >= 1")

    def fit(self, ds: Dataset, *, epochs: float, seed: int, record_dynamics: bool = False) -> TorchLearner:
        import torch

        check_fit_args(ds, epochs, seed)
        self._check_params()
        prev_threads = torch.get_num_threads()
        torch.set_num_threads(self.n_threads)
        try:
            self._fit(torch, ds, float(epochs), int(seed), record_dynamics)
        finally:
            torch.set_num_threads(prev_threads)
        return self

    def _fit(self, torch, ds: Dataset, epochs: float, seed: int, record: bool) -> None:
        from ..scores._grad import per_sample_grad_norms

        n, C = ds.n, ds.n_classes
        self.n_features_, self.n_classes_ = ds.n_features, C
        self._scaler = Standardizer(ds.X) if self.standardize else None
        X = torch.from_numpy(self._scale(ds.X))
        y = torch.from_numpy(ds.y)
        # Initialise from the seed without touching torch's global generator.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = self.module_factory(ds.n_features, C)
        if not isinstance(model, torch.nn.Module):
            raise ConfigError(f"module_factory must return a torch.nn.Module, got {type(model).__name__}")
        opt = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        loss_fn = torch.nn.CrossEntropyLoss()
        rng = np.random.default_rng(seed)
        bs = min(self.batch_size, n)
        steps_per_epoch = math.ceil(n / bs)
        # An epoch is one pass in minibatches (the last one may be short); fractional
        # epochs (fixed samples seen) round up to whole steps.
        total_steps = max(1, math.ceil(epochs * steps_per_epoch - 1e-9))
        n_full_epochs = total_steps // steps_per_epoch
        probs_l, losses_l, seen_l, gn_l = [], [], [], []
        if record:
            gn_l.append(per_sample_grad_norms(model, X, y))
        step = 0
        while step < total_steps:
            order = torch.from_numpy(rng.permutation(n))
            seen = np.zeros(n, dtype=bool)
            model.train()
            for start in range(0, n, bs):
                if step >= total_steps:
                    break
                idx = order[start : start + bs]
                logits = model(X[idx])
                loss = loss_fn(logits, y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if record:
                    seen[idx.numpy()] = (logits.detach().argmax(1) == y[idx]).numpy()
                step += 1
            if record and len(probs_l) < n_full_epochs:
                model.eval()
                with torch.no_grad():
                    logp = torch.log_softmax(model(X), dim=1)
                probs_l.append(logp.exp().numpy().astype(np.float32))
                losses_l.append((-logp[torch.arange(n), y]).numpy().astype(np.float32))
                seen_l.append(seen)
                gn_l.append(per_sample_grad_norms(model, X, y))
        model.eval()
        self.model_ = model
        if record:
            if not probs_l:
                raise ConfigError(f"record_dynamics needs at least one full epoch; epochs == {epochs}")
            self.dynamics = TrainingDynamics(
                ids=ds.ids.copy(),
                y=ds.y.copy(),
                probs=np.stack(probs_l),
                losses=np.stack(losses_l),
                seen_correct=np.stack(seen_l),
                grad_norms=np.stack(gn_l).astype(np.float32),
                seed=seed,
            )
        else:
            self.dynamics = None

    def _scale(self, X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float32)
        return self._scaler(X) if self._scaler is not None else X

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        import torch

        Xa = check_predict_input(X, self.n_features_)
        prev = torch.get_num_threads()
        torch.set_num_threads(self.n_threads)
        try:
            with torch.no_grad():
                logits = self.model_(torch.from_numpy(self._scale(Xa)))
                return torch.softmax(logits.double(), dim=1).numpy()
        finally:
            torch.set_num_threads(prev)


def mlp_module(n_features: int, n_classes: int, hidden: Sequence[int] = (128, 128)):
    """Plain ReLU MLP: Linear layers only, so GraNd uses the exact batched identity."""
    import torch

    layers: list[torch.nn.Module] = []
    d = n_features
    for h in hidden:
        layers += [torch.nn.Linear(d, int(h)), torch.nn.ReLU()]
        d = int(h)
    layers.append(torch.nn.Linear(d, n_classes))
    return torch.nn.Sequential(*layers)


@REGISTRY.register("mlp")
class MLPLearner(TorchLearner):
    """Multi-layer perceptron proxy (ReLU, Adam). ``hidden`` lists the layer widths."""

    def __init__(
        self,
        hidden: Sequence[int] = (128, 128),
        *,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 128,
        standardize: bool = True,
        n_threads: int = 1,
    ) -> None:
        hidden = tuple(hidden)
        if not hidden or not all(isinstance(h, int) and h >= 1 for h in hidden):
            raise ConfigError(f"hidden == {hidden!r}, must be a non-empty list of ints >= 1")
        self.hidden = hidden
        super().__init__(
            lambda d, c: mlp_module(d, c, hidden),
            lr=lr,
            weight_decay=weight_decay,
            batch_size=batch_size,
            standardize=standardize,
            n_threads=n_threads,
        )
