"""Synthetic task generators whose data factors are knobs.

Each generator is a function ``fn(*, seed=0, **knobs) -> BuiltinData`` (train, test,
OOD sets and a sentence describing the shift), deterministic for a seed: all of its
randomness comes from one ``numpy.random.Generator``. Every generator is registered
twice: in :data:`GENERATORS` here and as a built-in dataset, so ::

    train, test, ood = df.load("scan", split=True, split_kind="add_primitive")

and a run config with ``dataset: scan`` and ``dataset_params: {...}`` both work.

Sequence tasks (``scan``, ``rewrite``, ``skills``, ``gcog``) share one encoding,
described in :mod:`datafactors.tasks._seq`: ``X`` holds the input's token ids
(float32, 0 = padding, one fixed vocabulary per task so train / test / OOD agree),
``extra`` holds the raw ``input`` and ``output`` strings (tokens separated by single
spaces), and ``y`` is a class derived from the output, documented by each task. The
``seq`` learner (:mod:`datafactors.learners.seq`) reads ``X`` as its source and
``extra["output"]`` as its target.

Examples
--------
>>> from datafactors.tasks import generate
>>> data = generate("scan", n_train=50, n_test=20, n_ood=20, seed=0)
>>> data.train.extra[["input", "output"]].shape
(50, 2)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._registry import Registry, import_submodules
from ..io.builtins import BUILTINS, BuiltinData

GENERATORS: Registry[Callable[..., BuiltinData]] = Registry("task generator")


def task(name: str) -> Callable[[Callable[..., BuiltinData]], Callable[..., BuiltinData]]:
    """Register a generator under ``name`` as a task and as a built-in dataset."""

    def deco(fn: Callable[..., BuiltinData]) -> Callable[..., BuiltinData]:
        GENERATORS.register(name)(fn)
        BUILTINS.register(name)(fn)
        return fn

    return deco


def generate(name: str, **params: Any) -> BuiltinData:
    """Run the named generator with its knobs (unknown names fail with the known ones)."""
    return GENERATORS.get(name)(**params)


import_submodules(__name__, __path__)  # every task module registers itself

from .spurious import make_spurious  # noqa: E402

__all__ = ["GENERATORS", "BuiltinData", "generate", "make_spurious", "task"]
