"""The one PyTorch training loop behind every built-in torch learner.

Every torch learner (``mlp`` and a user's module through ``TorchLearner``, ``divdis``,
``dbat``, ``adanpc``, ``prefix``, ``seq``) trains through these pieces, so that all of
them count steps and epochs, draw minibatches, seed and pin threads the same way:

- :func:`torch_threads` pins torch's thread count for a block and restores it, even on
  error; :func:`torch_seed` / :func:`seeded` seed torch inside ``fork_rng``, so no global
  generator is read or changed.
- :func:`plan_steps` / :func:`run_epochs`: whole-epoch shuffled minibatches (one
  ``rng.permutation(n)`` per epoch, the last batch of an epoch may be short); a fractional
  ``epochs`` trains ``ceil(epochs * ceil(n / batch_size))`` steps. With a
  :class:`ScheduleSampler` each batch is instead drawn with replacement from per-row
  weights that may change with the step; the step count and batch sizes stay the same.
- :class:`EpochRecorder`: the per-epoch record (softmax, loss, per-example gradient norm
  at initialisation and after each full epoch, minibatch correctness and which rows were
  presented) and the parameter checkpoints TracIn sums over (:func:`checkpoint_epochs`).
- :class:`TorchSettings`: the optimiser/runtime settings the learners share, their
  validation and the training-set standardization.

torch itself is imported inside the functions, so importing the learner registry stays light.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import ConfigError
from ..dataset import Dataset
from ..dynamics import TrainingDynamics
from ._common import Standardizer

__all__ = [
    "EpochRecorder",
    "ScheduleSampler",
    "StepPlan",
    "TorchSettings",
    "check_hidden",
    "check_torch_settings",
    "checkpoint_epochs",
    "mlp_module",
    "plan_steps",
    "run_epochs",
    "seeded",
    "torch_seed",
    "torch_threads",
    "train_cross_entropy",
    "trunk_module",
]


# ----------------------------------------------------------------------------- threads and seeds


@contextmanager
def torch_threads(n_threads: int) -> Iterator[Any]:
    """Run torch with ``n_threads`` threads (results must not depend on the machine); yields ``torch``.

    The previous thread count is restored on exit, also when the block raises.
    """
    import torch

    prev = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield torch
    finally:
        torch.set_num_threads(prev)


@contextmanager
def torch_seed(seed: int) -> Iterator[None]:
    """Seed torch's CPU generator with ``seed`` for a block, restoring the global generator afterwards."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def seeded(seed: int, factory: Callable[[], Any]) -> Any:
    """Call ``factory`` (a module constructor) under ``seed`` without touching torch's global generator."""
    with torch_seed(seed):
        return factory()


# ----------------------------------------------------------------------------- the epoch loop


@dataclass(frozen=True)
class StepPlan:
    """How many optimiser steps a fit takes.

    Attributes
    ----------
    batch_size : the minibatch size actually used, ``min(batch_size, n)``.
    steps_per_epoch : ``ceil(n / batch_size)``.
    total_steps : ``max(1, ceil(epochs * steps_per_epoch))``.
    n_full_epochs : full passes among them, ``total_steps // steps_per_epoch`` (the ones recorded).
    """

    batch_size: int
    steps_per_epoch: int
    total_steps: int
    n_full_epochs: int


def plan_steps(n: int, epochs: float, batch_size: int) -> StepPlan:
    """The step count of ``epochs`` passes over ``n`` rows in minibatches of ``batch_size``.

    Examples
    --------
    >>> plan_steps(10, 1.5, 4)
    StepPlan(batch_size=4, steps_per_epoch=3, total_steps=5, n_full_epochs=1)
    """
    bs = min(batch_size, n)
    steps_per_epoch = math.ceil(n / bs)
    # the 1e-9 keeps float noise (e.g. 0.1 * 30) from adding a step
    total = max(1, math.ceil(epochs * steps_per_epoch - 1e-9))
    return StepPlan(bs, steps_per_epoch, total, total // steps_per_epoch)


class ScheduleSampler:
    """Draws minibatch rows from a schedule's per-row weights; validates each new weight vector once.

    ``schedule(step, total_steps)`` returns (n,) non-negative weights over the rows of
    ``ds``; an object with ``bind(ds)`` is bound to the training set first (see
    :class:`datafactors.select.mixture.DomainSchedule`).
    """

    def __init__(self, schedule: Any, ds: Dataset) -> None:
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


def run_epochs(
    n: int,
    *,
    epochs: float,
    batch_size: int,
    rng: np.random.Generator,
    step: Callable[[np.ndarray, int], Any],
    on_epoch: Callable[[], None] | None = None,
    sampler: ScheduleSampler | None = None,
) -> StepPlan:
    """Train ``epochs`` passes over ``n`` rows in minibatches, as every torch learner counts them.

    Parameters
    ----------
    n : rows in the training set.
    epochs : passes; a fractional value trains ``ceil(epochs * ceil(n / batch_size))`` steps.
    batch_size : minibatch size (clipped to ``n``).
    rng : minibatch order; one ``rng.permutation(n)`` is drawn per epoch, or, with a
        ``sampler``, ``sampler.draw(...)`` draws each batch from it instead.
    step : ``step(idx, k)`` trains on rows ``idx`` (int64 array) as step ``k`` (0-based).
    on_epoch : called after each *full* epoch; the last, partial epoch is not followed by it.
    sampler : optional :class:`ScheduleSampler`; batches keep the sizes they have without it.

    Returns
    -------
    The :class:`StepPlan` that was run.
    """
    plan = plan_steps(n, epochs, batch_size)
    bs, total = plan.batch_size, plan.total_steps
    k = done = 0
    while k < total:
        if sampler is None:
            order = rng.permutation(n)
        for start in range(0, n, bs):
            if k >= total:
                break
            if sampler is None:
                idx = order[start : start + bs]
            else:
                idx = sampler.draw(k, total, min(bs, n - start), rng)
            step(idx, k)
            k += 1
        done += 1
        if on_epoch is not None and done <= plan.n_full_epochs:
            on_epoch()
    return plan


def train_cross_entropy(
    model: Any,
    opt: Any,
    X: Any,
    y: Any,
    recorder: EpochRecorder,
    *,
    epochs: float,
    batch_size: int,
    rng: np.random.Generator,
    inputs: Callable[[np.ndarray], Any] | None = None,
    sampler: ScheduleSampler | None = None,
) -> StepPlan:
    """Minimise the mean cross-entropy of ``model`` on rows of ``X`` through :func:`run_epochs`.

    ``recorder`` records at initialisation, during training and after each full epoch;
    ``inputs(idx)`` replaces ``X[idx]`` as the minibatch's input when given. The model is
    left in eval mode.
    """
    import torch

    recorder.start(model)
    model.train()

    def step(idx: np.ndarray, _: int) -> None:
        logits = model(X[idx] if inputs is None else inputs(idx))
        loss = torch.nn.functional.cross_entropy(logits, y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        recorder.mark(idx, logits)

    plan = run_epochs(
        len(y),
        epochs=epochs,
        batch_size=batch_size,
        rng=rng,
        step=step,
        on_epoch=lambda: recorder.epoch(model, opt),
        sampler=sampler,
    )
    model.eval()
    return plan


def checkpoint_epochs(n_epochs: int, k: int) -> set[int]:
    """At most ``k`` of the epochs 1..n_epochs, evenly spaced and always including the last.

    Examples
    --------
    >>> sorted(checkpoint_epochs(10, 3))
    [4, 7, 10]
    """
    if k <= 0 or n_epochs <= 0:
        return set()
    if k >= n_epochs:
        return set(range(1, n_epochs + 1))
    return {int(math.ceil(n_epochs * (j + 1) / k)) for j in range(k)}


# ----------------------------------------------------------------------------- dynamics


def _softmax_record(model: Any, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    import torch

    with torch.no_grad():
        logp = torch.log_softmax(model(X), dim=1)
    probs = logp.exp().numpy().astype(np.float32)
    losses = (-logp[torch.arange(len(y)), y]).numpy().astype(np.float32)
    return probs, losses


class EpochRecorder:
    """The standard per-epoch record of a module ``X -> logits``, and its checkpoints.

    ``start(model)`` records the gradient norms at initialisation; ``mark(idx, logits)``
    notes during training that each minibatch row was presented and whether it was right
    (the last presentation in an epoch counts); ``epoch(model, opt)``
    records the softmax, the loss and the exact per-example gradient norm of every
    train row (in eval mode; the model's mode is restored afterwards) and, at the epochs
    in ``checkpoint_epochs``, a CPU copy of the parameters with ``opt``'s step size;
    ``dynamics(...)`` assembles a :class:`TrainingDynamics`. Disabled, every call is a no-op.

    ``evaluate(model) -> (probs (n, C) float32, losses (n,) float32)`` replaces the
    default softmax of ``model(X)`` for a model whose probabilities are computed otherwise.
    """

    def __init__(
        self,
        X: Any,
        y: Any,
        enabled: bool,
        *,
        evaluate: Callable[[Any], tuple[np.ndarray, np.ndarray]] | None = None,
        checkpoint_epochs: Collection[int] = (),
    ) -> None:
        self.X, self.y, self.enabled = X, y, enabled
        self.n = int(y.shape[0])
        self.evaluate = evaluate
        self.checkpoint_epochs = frozenset(checkpoint_epochs)
        self.probs: list[np.ndarray] = []
        self.losses: list[np.ndarray] = []
        self.seen: list[np.ndarray] = []
        self.presented: list[np.ndarray] = []
        self.gnorms: list[np.ndarray] = []
        self.checkpoints: list[tuple[int, float, dict[str, Any]]] = []
        self._seen = np.zeros(self.n, dtype=bool)
        self._presented = np.zeros(self.n, dtype=bool)

    def start(self, model: Any) -> None:
        if self.enabled:
            from ._grad import per_sample_grad_norms

            self.gnorms.append(per_sample_grad_norms(model, self.X, self.y))

    def mark(self, idx: np.ndarray, logits: Any) -> None:
        if self.enabled:
            self._seen[idx] = (logits.detach().argmax(1) == self.y[idx]).numpy()
            self._presented[idx] = True

    def epoch(self, model: Any, opt: Any = None) -> None:
        if not self.enabled:
            return
        from ._grad import per_sample_grad_norms

        was_training = model.training
        model.eval()
        probs, losses = _softmax_record(model, self.X, self.y) if self.evaluate is None else self.evaluate(model)
        self.probs.append(probs)
        self.losses.append(losses)
        self.seen.append(self._seen.copy())
        self._seen[:] = False
        self.presented.append(self._presented.copy())
        self._presented[:] = False
        self.gnorms.append(per_sample_grad_norms(model, self.X, self.y))
        if len(self.probs) in self.checkpoint_epochs:
            state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            lr = float("nan") if opt is None else float(opt.param_groups[0]["lr"])
            self.checkpoints.append((len(self.probs), lr, state))
        model.train(was_training)

    def dynamics(
        self,
        ds: Dataset,
        seed: int,
        *,
        transform: Any = None,
        module_factory: Any = None,
        epochs: float | None = None,
        allow_empty: bool = False,
    ) -> TrainingDynamics | None:
        """The record as :class:`TrainingDynamics` (None when disabled).

        Without a full epoch it raises ConfigError, or with ``allow_empty`` returns a
        zero-epoch record (only the gradient norms at initialisation).
        """
        if not self.enabled:
            return None
        if not self.probs and not allow_empty:
            got = "" if epochs is None else f"; epochs == {epochs}"
            raise ConfigError(f"record_dynamics needs at least one full epoch{got}; raise epochs")
        n, C = self.n, ds.n_classes
        presented = np.stack(self.presented) if self.presented else None
        if presented is not None and presented.all():
            # epoch-wise shuffling presents every row every epoch: nothing to record
            presented = None
        return TrainingDynamics(
            ids=ds.ids.copy(),
            y=ds.y.copy(),
            probs=np.stack(self.probs) if self.probs else np.zeros((0, n, C), np.float32),
            losses=np.stack(self.losses) if self.losses else np.zeros((0, n), np.float32),
            seen_correct=np.stack(self.seen) if self.seen else np.zeros((0, n), bool),
            grad_norms=np.stack(self.gnorms).astype(np.float32),
            seed=int(seed),
            checkpoints=self.checkpoints or None,
            module_factory=module_factory,
            n_features=ds.n_features,
            transform=transform,
            presented=presented,
        )


# ----------------------------------------------------------------------------- networks


def check_hidden(hidden: Any, *, allow_empty: bool = False) -> tuple[int, ...]:
    """Hidden layer widths as a tuple of ints >= 1 (ConfigError naming ``hidden`` otherwise)."""
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        raise ConfigError(f"hidden == {hidden!r}, must be a list of layer widths, e.g. [128, 128]")
    out = tuple(hidden)
    if allow_empty and not out:
        return out
    if not out or not all(isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in out):
        raise ConfigError(f"hidden == {out!r}, must be a non-empty list of ints >= 1")
    return out


def trunk_module(n_features: int, hidden: Sequence[int]):
    """ReLU MLP without an output layer: ``Linear, ReLU`` per width in ``hidden``."""
    import torch

    layers: list[Any] = []
    d = n_features
    for h in hidden:
        layers += [torch.nn.Linear(d, int(h)), torch.nn.ReLU()]
        d = int(h)
    return torch.nn.Sequential(*layers)


def mlp_module(n_features: int, n_classes: int, hidden: Sequence[int] = (128, 128)):
    """Plain ReLU MLP: Linear layers only, so GraNd uses the exact batched identity."""
    import torch

    trunk = trunk_module(n_features, hidden)
    d = int(hidden[-1]) if len(hidden) else n_features
    return torch.nn.Sequential(*trunk, torch.nn.Linear(d, n_classes))


# ----------------------------------------------------------------------------- settings


def _is_int(v: object) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v: object) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def check_torch_settings(obj: Any) -> None:
    """Validate the settings every torch learner has: ``lr``, ``weight_decay``, ``batch_size``, ``n_threads``."""
    if not (_is_int(obj.batch_size) and obj.batch_size >= 1):
        raise ConfigError(f"batch_size == {obj.batch_size!r}, must be an int >= 1")
    if not (_is_real(obj.lr) and obj.lr > 0):
        raise ConfigError(f"lr == {obj.lr!r}, must be > 0")
    if not (_is_real(obj.weight_decay) and obj.weight_decay >= 0):
        raise ConfigError(f"weight_decay == {obj.weight_decay!r}, must be >= 0")
    if not (_is_int(obj.n_threads) and obj.n_threads >= 1):
        raise ConfigError(f"n_threads == {obj.n_threads!r}, must be an int >= 1")


class TorchSettings:
    """What the built-in torch learners share: Adam's ``lr`` and ``weight_decay``,
    ``batch_size``, ``standardize`` (scale features by the training set's mean and std)
    and ``n_threads`` (torch threads while fitting and predicting, fixed so that results
    are identical across processes and engines), plus the fitted state every learner has.
    """

    dynamics: TrainingDynamics | None

    def _init_settings(
        self, *, lr: float, weight_decay: float, batch_size: int, standardize: bool, n_threads: int
    ) -> None:
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.standardize = standardize
        self.n_threads = n_threads
        self.dynamics = None
        self.model_: Any = None
        self.n_features_: int | None = None
        self.n_classes_: int | None = None
        self._scaler: Standardizer | None = None

    def _fit_scaler(self, ds: Dataset) -> None:
        """Record the training set's shape and fit the standardizer (when ``standardize``)."""
        self.n_features_, self.n_classes_ = ds.n_features, ds.n_classes
        self._scaler = Standardizer(ds.X) if self.standardize else None

    def _scale(self, X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float32)
        return self._scaler(X) if self._scaler is not None else X
