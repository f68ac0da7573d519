"""Per-epoch record of how a proxy model saw every training example."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._errors import DataError


@dataclass
class TrainingDynamics:
    """What one training run recorded about each train example.

    Attributes
    ----------
    ids : ndarray (n,) ids of the train examples, in row order.
    y : ndarray (n,) int labels.
    probs : ndarray (n_epochs, n, n_classes) float32, softmax outputs on the full
        train set after each epoch (evaluation mode).
    losses : ndarray (n_epochs, n) float32, cross-entropy of the gold label after each epoch.
    seen_correct : ndarray (n_epochs, n) bool, whether the example was classified
        correctly in its minibatch when it was seen during the epoch (before the
        update; its last presentation in the epoch) — what Toneva et al. count
        forgetting events on. Meaningful only where ``presented`` is true.
    grad_norms : ndarray (n_epochs + 1, n) float32 or None, exact per-example
        gradient norm over all parameters at initialization (row 0) and after each epoch.
    seed : int, the training seed.
    checkpoints : list of (epoch, lr, state_dict) or None. Model parameters saved by a
        PyTorch learner at up to ``max_checkpoints`` evenly spaced full epochs (always
        the last), each with the step size in use then; what TracIn sums over. A state
        dict holds detached CPU copies of the model's parameters and buffers.
    module_factory : callable (n_features, n_classes) -> torch.nn.Module or None; rebuilds
        the architecture the checkpoints belong to. Dropped when the dynamics are pickled
        (e.g. sent back from a worker process) if it cannot be pickled itself, such as
        a lambda; pass the factory to :meth:`checkpoint_models` then.
    n_features : int or None, the model's input width.
    transform : callable or None, maps raw features ``ds.X`` to the model's inputs (the
        learner's standardization); ``None`` means identity.
    presented : ndarray (n_epochs, n) bool or None, whether the example was in a
        minibatch during each epoch. ``None`` means every example in every epoch (epoch-wise
        shuffling); a sampling schedule leaves some rows out of an epoch, and the scores that
        follow an example over its presentations (forgetting, cartography) skip those epochs.
    """

    ids: np.ndarray
    y: np.ndarray
    probs: np.ndarray
    losses: np.ndarray
    seen_correct: np.ndarray
    grad_norms: np.ndarray | None = None
    seed: int = 0
    checkpoints: list[tuple[int, float, dict[str, Any]]] | None = None
    module_factory: Callable[[int, int], Any] | None = None
    n_features: int | None = None
    transform: Callable[[np.ndarray], np.ndarray] | None = None
    presented: np.ndarray | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if state.get("module_factory") is not None:
            try:
                pickle.dumps(state["module_factory"])
            except (pickle.PicklingError, AttributeError, TypeError):
                # A lambda factory must not make the whole record unpicklable.
                state["module_factory"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def model_inputs(self, X: np.ndarray) -> np.ndarray:
        """``X`` as the recorded model sees it (after the learner's standardization), float32."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        return X if self.transform is None else np.ascontiguousarray(self.transform(X), dtype=np.float32)

    def checkpoint_models(
        self, module_factory: Callable[[int, int], Any] | None = None
    ) -> list[tuple[int, float, Any]]:
        """Rebuild every saved checkpoint as ``(epoch, lr, torch.nn.Module in eval mode)``.

        Parameters
        ----------
        module_factory : overrides the recorded factory (needed when it was dropped in pickling).
        """
        if not self.checkpoints:
            raise DataError(
                "these training dynamics hold no model checkpoints; record them with a PyTorch learner "
                "(learner='mlp' or TorchLearner) and max_checkpoints >= 1"
            )
        factory = module_factory or self.module_factory
        if factory is None or self.n_features is None:
            raise DataError("cannot rebuild the checkpointed model: no module_factory was recorded; pass one")
        import torch

        out = []
        for epoch, lr, state in self.checkpoints:
            with torch.random.fork_rng(devices=[]):
                model = factory(self.n_features, int(self.probs.shape[2]))
            model.load_state_dict(state)
            model.eval()
            out.append((int(epoch), float(lr), model))
        return out

    @property
    def n_epochs(self) -> int:
        return int(self.probs.shape[0])

    @property
    def n(self) -> int:
        return int(self.probs.shape[1])

    def gold_probs(self) -> np.ndarray:
        """(n_epochs, n) probability of the gold label after each epoch."""
        return np.take_along_axis(self.probs, self.y[None, :, None], axis=2)[..., 0]

    def correct(self) -> np.ndarray:
        """(n_epochs, n) whether the argmax equals the gold label after each epoch."""
        return self.probs.argmax(axis=2) == self.y[None, :]

    def presented_mask(self) -> np.ndarray:
        """(n_epochs, n) bool, whether each example was presented in each epoch (all true when not recorded)."""
        if self.presented is None:
            return np.ones((self.n_epochs, self.n), dtype=bool)
        return np.asarray(self.presented, dtype=bool)

    def epoch_index(self, epoch: int) -> int:
        """Row of ``probs`` for 1-based ``epoch``, clipped to the recorded range."""
        if epoch < 1:
            raise DataError(f"epoch == {epoch}, must be >= 1")
        return min(epoch, self.n_epochs) - 1


def stack_dynamics(runs: list[TrainingDynamics]) -> list[TrainingDynamics]:
    """Check that several runs describe the same examples (same ids, same order)."""
    if not runs:
        raise DataError("no training dynamics given")
    first = runs[0]
    for r in runs[1:]:
        if r.n != first.n or not np.array_equal(r.ids, first.ids):
            raise DataError("training dynamics from different datasets cannot be combined")
    return runs
