"""Proxy models behind one protocol.

A learner has ``fit(ds, *, epochs, seed, record_dynamics=False) -> self``,
``predict_proba(X) -> (n, C)`` and a ``dynamics`` attribute. Built-ins are looked up
by name in :data:`REGISTRY`; a user's own PyTorch module plugs in through
:class:`~datafactors.learners.mlp.TorchLearner`.

The exact per-example gradients every torch learner records (and TracIn / GraNd read)
are public here too: :func:`per_sample_grad_norms`, :func:`per_sample_linear_grads`,
:func:`grad_dot`, :class:`LinearFactors`, and the helpers :func:`check_grad_inputs`,
:func:`eval_mode`, :func:`ghost_linears`; they import torch on first use.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from .._errors import ConfigError
from .._registry import Registry, import_submodules
from ..dataset import Dataset
from ..dynamics import TrainingDynamics
from ._common import Standardizer

REGISTRY: Registry[Any] = Registry("learner")


@runtime_checkable
class Learner(Protocol):
    dynamics: TrainingDynamics | None

    def fit(self, ds: Dataset, *, epochs: int, seed: int, record_dynamics: bool = False) -> Learner: ...

    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...


def make_learner(name: str, **params: Any) -> Learner:
    """Build a registered learner by name with its parameters (unknown parameters -> ConfigError)."""
    import inspect

    cls = REGISTRY.get(name)
    accepted = set(inspect.signature(cls).parameters)
    unknown = set(params) - accepted
    if unknown:
        raise ConfigError(
            f"learner {name!r} got unknown parameter(s) {', '.join(sorted(unknown))}; "
            f"it accepts: {', '.join(sorted(accepted))}"
        )
    return cls(**params)


_GRAD_NAMES = frozenset(
    {
        "LinearFactors",
        "check_grad_inputs",
        "eval_mode",
        "ghost_linears",
        "grad_dot",
        "per_sample_grad_norms",
        "per_sample_linear_grads",
    }
)


def __getattr__(name: str) -> Any:
    # the gradient code imports torch at module level; load it only when asked for
    if name in _GRAD_NAMES:
        from . import _grad

        return getattr(_grad, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


import_submodules(__name__, __path__)  # every module registers itself

# the shared PyTorch training loop's pieces, for code that trains its own module the same way
# (a frozen trunk, synthesis under random networks): seeding, thread limits, the loop itself
from ._torch import (  # noqa: E402
    EpochRecorder,
    check_hidden,
    mlp_module,
    seeded,
    torch_seed,
    torch_threads,
    train_cross_entropy,
    trunk_module,
)

__all__ = [
    "REGISTRY",
    "EpochRecorder",
    "Learner",
    "Standardizer",
    "check_hidden",
    "make_learner",
    "mlp_module",
    "seeded",
    "torch_seed",
    "torch_threads",
    "train_cross_entropy",
    "trunk_module",
    *sorted(_GRAD_NAMES),
]
