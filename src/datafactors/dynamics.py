"""Per-epoch record of how a proxy model saw every training example."""

from __future__ import annotations

from dataclasses import dataclass

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
        correctly in its minibatch when it was seen during training (before the
        update) — what Toneva et al. count forgetting events on.
    grad_norms : ndarray (n_epochs + 1, n) float32 or None, exact per-example
        gradient norm over all parameters at initialization (row 0) and after each epoch.
    seed : int, the training seed.
    """

    ids: np.ndarray
    y: np.ndarray
    probs: np.ndarray
    losses: np.ndarray
    seen_correct: np.ndarray
    grad_norms: np.ndarray | None = None
    seed: int = 0

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
