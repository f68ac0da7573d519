"""PyTorch proxies: the built-in ``mlp`` and a wrapper for a user's own module."""

from __future__ import annotations

import functools
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
        max_checkpoints: int = 10,
    ) -> None:
        self.module_factory = module_factory
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.standardize = standardize
        self.n_threads = n_threads
        self.max_checkpoints = max_checkpoints
        self.dynamics: TrainingDynamics | None = None
        self.model_ = None
        self.n_features_: int | None = None
        self.n_classes_: int | None = None
        self._scaler: Standardizer | None = None

    def check_params(self) -> None:
        """Validate the settings (called by fit, and by config validation before a run starts)."""
        if not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise ConfigError(f"batch_size == {self.batch_size!r}, must be an int >= 1")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ConfigError(f"lr == {self.lr!r}, must be > 0")
        if not (isinstance(self.n_threads, int) and self.n_threads >= 1):
            raise ConfigError(f"n_threads == {self.n_threads!r}, must be an int >= 1")
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
        import torch

        check_fit_args(ds, epochs, seed)
        self.check_params()
        sampler = None if schedule is None else _ScheduleSampler(schedule, ds)
        prev_threads = torch.get_num_threads()
        torch.set_num_threads(self.n_threads)
        try:
            self._fit(torch, ds, float(epochs), int(seed), record_dynamics, sampler)
        finally:
            torch.set_num_threads(prev_threads)
        return self

    def _fit(self, torch, ds: Dataset, epochs: float, seed: int, record: bool, sampler=None) -> None:
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
        ckpt_l: list[tuple[int, float, dict]] = []
        ckpt_epochs = _checkpoint_epochs(n_full_epochs, self.max_checkpoints) if record else set()
        if record:
            gn_l.append(per_sample_grad_norms(model, X, y))
        step = 0
        while step < total_steps:
            if sampler is None:
                order = torch.from_numpy(rng.permutation(n))
            seen = np.zeros(n, dtype=bool)
            model.train()
            for start in range(0, n, bs):
                if step >= total_steps:
                    break
                if sampler is None:
                    idx = order[start : start + bs]
                else:
                    idx = torch.from_numpy(sampler.draw(step, total_steps, min(bs, n - start), rng))
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
                if len(probs_l) in ckpt_epochs:
                    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                    ckpt_l.append((len(probs_l), float(opt.param_groups[0]["lr"]), state))
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
                checkpoints=ckpt_l or None,
                module_factory=self.module_factory,
                n_features=ds.n_features,
                transform=self._scaler,
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


class _ScheduleSampler:
    """Draws minibatch rows from a schedule's per-row weights; validates each new weight vector once."""

    def __init__(self, schedule, ds: Dataset) -> None:
        if hasattr(schedule, "bind"):
            schedule = schedule.bind(ds)
        if not callable(schedule):
            raise ConfigError(
                f"schedule must be callable (step, total_steps) -> (n,) weights, got {type(schedule).__name__}"
            )
        self.schedule, self.n = schedule, ds.n
        self._w: object = None
        self._cdf: np.ndarray | None = None

    def draw(self, step: int, total_steps: int, size: int, rng: np.random.Generator) -> np.ndarray:
        w = self.schedule(step, total_steps)
        if w is not self._w or self._cdf is None:
            wa = np.asarray(w, dtype=np.float64)
            if wa.shape != (self.n,):
                raise ConfigError(f"schedule returned weights of shape {wa.shape} at step {step}, expected ({self.n},)")
            if not np.isfinite(wa).all() or (wa < 0).any() or wa.sum() <= 0:
                raise ConfigError(f"schedule weights at step {step} must be finite, >= 0 and not all zero")
            cdf = np.cumsum(wa)
            self._w, self._cdf = w, cdf / cdf[-1]
        idx = np.searchsorted(self._cdf, rng.random(size), side="right")
        return np.minimum(idx, self.n - 1).astype(np.int64)


def _checkpoint_epochs(n_epochs: int, k: int) -> set[int]:
    """At most ``k`` of the epochs 1..n_epochs, evenly spaced and always including the last."""
    if k <= 0 or n_epochs <= 0:
        return set()
    if k >= n_epochs:
        return set(range(1, n_epochs + 1))
    return {int(math.ceil(n_epochs * (j + 1) / k)) for j in range(k)}


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
        max_checkpoints: int = 10,
    ) -> None:
        if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
            raise ConfigError(f"hidden == {hidden!r}, must be a list of layer widths, e.g. [128, 128]")
        hidden = tuple(hidden)
        if not hidden or not all(isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in hidden):
            raise ConfigError(f"hidden == {hidden!r}, must be a non-empty list of ints >= 1")
        self.hidden = hidden
        super().__init__(
            # a partial, not a lambda, so recorded dynamics (which keep the factory) pickle
            functools.partial(mlp_module, hidden=hidden),
            lr=lr,
            weight_decay=weight_decay,
            batch_size=batch_size,
            standardize=standardize,
            n_threads=n_threads,
            max_checkpoints=max_checkpoints,
        )
