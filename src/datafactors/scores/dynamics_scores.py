"""Scores read from recorded training dynamics: EL2N, GraNd, forgetting, cartography, loss,
margin, entropy and least confidence.

Pure functions on arrays first (``el2n(probs, y)``), then the registered scorers that
wire them to a Dataset and a list of :class:`~datafactors.dynamics.TrainingDynamics`
(one per seed), averaging over seeds as Paul et al. and Swayamdipta et al. do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from ..dynamics import TrainingDynamics
from .base import ScoreColumn, Scorer, register

# ---------------------------------------------------------------- pure functions


def el2n(probs: np.ndarray, y: np.ndarray, *, norm: str = "l2") -> np.ndarray:
    """Error L2-norm of Paul et al.: ``|| softmax(f(x)) - onehot(y) ||``.

    Parameters
    ----------
    probs : (n, C) predicted probabilities.
    y : (n,) int labels.
    norm : "l2" (the paper) or "l1" (a variant in the authors' code).

    Returns
    -------
    (n,) float64; range [0, sqrt(2)] for l2, [0, 2] for l1. Higher = harder.

    Examples
    --------
    >>> el2n(np.array([[0.5, 0.5]]), np.array([0]))
    array([0.70710678])
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or len(p) != len(y):
        raise DataError(f"probs must have shape (n, C) with n == len(y), got {p.shape} and {len(y)}")
    diff = p.copy()
    diff[np.arange(len(y)), y] -= 1.0
    if norm == "l2":
        return np.sqrt((diff**2).sum(axis=1))
    if norm == "l1":
        return np.abs(diff).sum(axis=1)
    raise ConfigError(f"norm == {norm!r}, must be 'l2' or 'l1'")


def _check_presented(presented: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    if presented is None:
        return None
    pm = np.asarray(presented, dtype=bool)
    if pm.shape != shape:
        raise DataError(f"presented must have shape {shape} (epochs, n), got {pm.shape}")
    return pm


def forgetting_counts(seen_correct: np.ndarray, presented: np.ndarray | None = None) -> np.ndarray:
    """Forgetting events of Toneva et al. from (n_presentations, n) minibatch correctness.

    An event is a transition correct -> incorrect between consecutive presentations;
    an example never classified correctly gets ``+inf`` (ranked hardest).

    Parameters
    ----------
    seen_correct : (n_epochs, n) bool, correctness at the example's presentation in each epoch.
    presented : (n_epochs, n) bool or None, whether the example was presented in that epoch
        (a sampling schedule leaves rows out); epochs it was not presented in are skipped,
        so transitions are counted between its consecutive presentations. ``None``: every
        example in every epoch. An example never presented was never learned: ``+inf``.

    Returns
    -------
    (n,) float64 in [0, inf]. Higher = harder.

    Examples
    --------
    >>> forgetting_counts(np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]], bool))
    array([ 1.,  0., inf])
    >>> forgetting_counts(np.array([[1, 1], [0, 0], [1, 0]], bool), np.array([[1, 1], [0, 1], [1, 1]], bool))
    array([0., 1.])
    """
    sc = np.asarray(seen_correct, dtype=bool)
    if sc.ndim != 2:
        raise DataError(f"seen_correct must be 2-D (presentations, n), got shape {sc.shape}")
    pm = _check_presented(presented, sc.shape)
    if pm is None:
        events = (sc[:-1] & ~sc[1:]).sum(axis=0).astype(np.float64)
        events[~sc.any(axis=0)] = np.inf
        return events
    # Carry each example's correctness at its latest presentation forward over the epochs it missed.
    E, n = sc.shape
    last = np.maximum.accumulate(np.where(pm, np.arange(E)[:, None], -1), axis=0)
    held = np.where(last >= 0, sc[np.maximum(last, 0), np.arange(n)[None, :]], False)
    events = (held[:-1] & pm[1:] & ~sc[1:]).sum(axis=0).astype(np.float64)
    events[~(sc & pm).any(axis=0)] = np.inf
    return events


def cartography(
    gold_probs: np.ndarray, correct: np.ndarray, presented: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dataset cartography (Swayamdipta et al.) from per-epoch gold-label probabilities.

    Parameters
    ----------
    gold_probs : (n_epochs, n) probability of the gold label after each epoch.
    correct : (n_epochs, n) whether the prediction was right after each epoch.
    presented : (n_epochs, n) bool or None, whether the example was presented in that epoch;
        each example's statistics are then over the epochs it was presented in (its
        training dynamics). ``None``: every epoch. An example never presented has no
        training dynamics and is measured over every epoch, as a held-out example.

    Returns
    -------
    confidence (mean over epochs), variability (population std over epochs),
    correctness (fraction of epochs correct), each (n,).
    """
    gp = np.asarray(gold_probs, dtype=np.float64)
    pm = _check_presented(presented, gp.shape)
    if pm is None:
        return gp.mean(axis=0), gp.std(axis=0), np.asarray(correct, dtype=np.float64).mean(axis=0)
    pm = pm | ~pm.any(axis=0)
    cnt = pm.sum(axis=0)
    conf = np.where(pm, gp, 0.0).sum(axis=0) / cnt
    var = np.sqrt(np.where(pm, (gp - conf) ** 2, 0.0).sum(axis=0) / cnt)
    corr = (np.asarray(correct, dtype=bool) & pm).sum(axis=0) / cnt
    return conf, var, corr.astype(np.float64)


def _check_probs(probs: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or (y is not None and len(p) != len(y)):
        n = "" if y is None else f" with n == len(y) == {len(y)}"
        raise DataError(f"probs must have shape (n, C){n}, got {p.shape}")
    return p


def margin(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gold-label probability minus the largest other-class probability.

    Parameters
    ----------
    probs : (n, C) predicted probabilities, C >= 2.
    y : (n,) int labels.

    Returns
    -------
    (n,) float64 in [-1, 1]. Higher = easier (confidently right); negative = misclassified.

    Examples
    --------
    >>> margin(np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]]), np.array([0, 0]))
    array([ 0.5, -0.5])
    """
    p = _check_probs(probs, y)
    if p.shape[1] < 2:
        raise DataError(f"margin needs at least 2 classes, got probs of shape {p.shape}")
    rows = np.arange(len(p))
    gold = p[rows, y]
    other = p.copy()
    other[rows, y] = -np.inf
    return gold - other.max(axis=1)


def entropy(probs: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) of each predictive distribution, with ``0 log 0 = 0``.

    Returns
    -------
    (n,) float64 in [0, log C]. Higher = harder (the model is unsure).

    Examples
    --------
    >>> entropy(np.array([[0.5, 0.5], [1.0, 0.0]]))
    array([0.69314718, 0.        ])
    """
    p = np.clip(_check_probs(probs), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return terms.sum(axis=1)


def least_confidence(probs: np.ndarray) -> np.ndarray:
    """One minus the largest predicted probability (the uncertainty-sampling score).

    Returns
    -------
    (n,) float64 in [0, 1 - 1/C]. Higher = harder.

    Examples
    --------
    >>> least_confidence(np.array([[0.7, 0.2, 0.1], [0.5, 0.5, 0.0]]))
    array([0.3, 0.5])
    """
    return 1.0 - _check_probs(probs).max(axis=1)


def early_epoch(n_epochs: int, fraction: float = 0.1) -> int:
    """The early checkpoint Paul et al. use (epoch 20 of 200): ``ceil(fraction * n_epochs)``, >= 1."""
    return max(1, min(n_epochs, math.ceil(fraction * n_epochs)))


# ---------------------------------------------------------------- registered scorers


def _require(dynamics: Sequence[TrainingDynamics] | None, name: str) -> Sequence[TrainingDynamics]:
    if not dynamics:
        raise DataError(f"score {name!r} needs training dynamics; pass dynamics= or let compute() train a proxy")
    return dynamics


def _check_epoch(epoch: int | None, dyn: TrainingDynamics, allow_zero: bool = False) -> int:
    if epoch is None:
        return early_epoch(dyn.n_epochs)
    lo = 0 if allow_zero else 1
    if not isinstance(epoch, int) or epoch < lo:
        raise ConfigError(f"epoch == {epoch!r}, must be an int >= {lo}")
    return min(epoch, dyn.n_epochs)


def _epoch_ok(epoch: object, allow_zero: bool = False) -> None:
    lo = 0 if allow_zero else 1
    if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < lo):
        raise ConfigError(f"epoch == {epoch!r}, must be None (early epoch) or an int >= {lo}")


class _DynamicsScorer(Scorer):
    """Reads recorded training dynamics; each row's value comes from that row's own dynamics."""

    needs_dynamics = True
    row_wise = True


_SQRT2 = math.sqrt(2)


@register
class EL2NScorer(_DynamicsScorer):
    """EL2N at an early epoch (default ``ceil(0.1 * epochs)``), averaged over seeds.

    Parameters
    ----------
    epoch : int or None
        The 1-based epoch whose outputs are read (clipped to the epochs recorded).
    """

    name = "el2n"
    columns = (ScoreColumn("el2n", "harder", 0.0, _SQRT2, "||p - onehot(y)||_2 early in training, mean over seeds"),)
    norm = "l2"

    def __init__(self, epoch: int | None = None) -> None:
        self.epoch = epoch

    def check(self) -> None:
        _epoch_ok(self.epoch)

    def score(self, ds, *, dynamics=None, embeddings=None, seed=0) -> pd.DataFrame:
        dyn = _require(dynamics, self.name)
        e = _check_epoch(self.epoch, dyn[0])
        vals = np.mean([el2n(d.probs[e - 1], d.y, norm=self.norm) for d in dyn], axis=0)
        return self._frame(ds, {self.columns[0].name: vals})


@register
class EL2NL1Scorer(EL2NScorer):
    """The L1 variant of EL2N from the authors' code, ``||p - onehot(y)||_1``, early in training."""

    name = "el2n_l1"
    columns = (ScoreColumn("el2n_l1", "harder", 0.0, 2.0, "||p - onehot(y)||_1 early in training, mean over seeds"),)
    norm = "l1"


@register
class GraNdScorer(_DynamicsScorer):
    """GraNd: exact per-example gradient norm over all parameters at an early epoch
    (default ``ceil(0.1 * epochs)``; 0 = at initialization), averaged over seeds."""

    name = "grand"
    columns = (
        ScoreColumn("grand", "harder", 0.0, np.inf, "||grad_theta loss||_2 over all parameters, mean over seeds"),
    )

    def __init__(self, epoch: int | None = None) -> None:
        self.epoch = epoch

    def check(self) -> None:
        _epoch_ok(self.epoch, allow_zero=True)

    def score(self, ds, *, dynamics=None, embeddings=None, seed=0) -> pd.DataFrame:
        dyn = _require(dynamics, self.name)
        if any(d.grad_norms is None for d in dyn):
            raise DataError("score 'grand' needs dynamics with per-example gradient norms")
        e = _check_epoch(self.epoch, dyn[0], allow_zero=True)
        return self._frame(ds, {"grand": np.mean([d.grad_norms[e] for d in dyn], axis=0).astype(np.float64)})


@register
class ForgettingScorer(_DynamicsScorer):
    """Forgetting events counted on minibatch presentations, mean over seeds; an example
    never learned (or never presented) in some seed's run counts as +inf (hardest)."""

    name = "forgetting"
    columns = (
        ScoreColumn("forgetting", "harder", 0.0, np.inf, "forgetting events (inf = never learned), mean over seeds"),
    )

    def score(self, ds, *, dynamics=None, embeddings=None, seed=0) -> pd.DataFrame:
        dyn = _require(dynamics, self.name)
        counts = np.stack([forgetting_counts(d.seen_correct, d.presented) for d in dyn])
        return self._frame(ds, {"forgetting": counts.mean(axis=0)})


@register
class CartographyScorer(_DynamicsScorer):
    """Confidence, variability and correctness over the epochs each example was presented in
    (all epochs without a sampling schedule), mean over seeds."""

    name = "cartography"
    columns = (
        ScoreColumn("confidence", "easier", 0.0, 1.0, "mean gold-label probability over epochs"),
        ScoreColumn("variability", "ambiguous", 0.0, 0.5, "std of gold-label probability over epochs"),
        ScoreColumn("correctness", "easier", 0.0, 1.0, "fraction of epochs predicted correctly"),
    )

    def score(self, ds, *, dynamics=None, embeddings=None, seed=0) -> pd.DataFrame:
        dyn = _require(dynamics, self.name)
        parts = np.array([cartography(d.gold_probs(), d.correct(), d.presented) for d in dyn])  # (seeds, 3, n)
        conf, var, corr = parts.mean(axis=0)
        return self._frame(ds, {"confidence": conf, "variability": var, "correctness": corr})


@register
class LossScorer(_DynamicsScorer):
    """Cross-entropy of the gold label at the last recorded epoch, mean over seeds."""

    name = "loss"
    columns = (ScoreColumn("loss", "harder", 0.0, np.inf, "cross-entropy at the last epoch, mean over seeds"),)

    def score(self, ds, *, dynamics=None, embeddings=None, seed=0) -> pd.DataFrame:
        dyn = _require(dynamics, self.name)
        return self._frame(ds, {"loss": np.mean([d.losses[-1] for d in dyn], axis=0).astype(np.float64)})


class _LastEpochScorer(_DynamicsScorer):
    """A function of the last epoch's softmax outputs, averaged over seeds."""

    def _values(self, probs: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def score(self, ds, *, dynamics=None, embeddings=None, seed=0) -> pd.DataFrame:
        dyn = _require(dynamics, self.name)
        vals = np.mean([self._values(d.probs[-1], d.y) for d in dyn], axis=0)
        return self._frame(ds, {self.name: vals})


@register
class MarginScorer(_LastEpochScorer):
    """Gold-label probability minus the largest other probability at the last epoch, mean over seeds."""

    name = "margin"
    columns = (
        ScoreColumn("margin", "easier", -1.0, 1.0, "gold prob minus max other prob at the last epoch, mean over seeds"),
    )

    def _values(self, probs, y):
        return margin(probs, y)


@register
class EntropyScorer(_LastEpochScorer):
    """Entropy of the predictive distribution at the last epoch, mean over seeds."""

    name = "entropy"
    columns = (
        ScoreColumn(
            "entropy", "harder", 0.0, np.inf, "predictive entropy (nats, <= log C) at the last epoch, mean over seeds"
        ),
    )

    def _values(self, probs, y):
        return entropy(probs)


@register
class LeastConfidenceScorer(_LastEpochScorer):
    """One minus the top predicted probability at the last epoch, mean over seeds."""

    name = "least_confidence"
    columns = (
        ScoreColumn(
            "least_confidence", "harder", 0.0, 1.0, "1 - max prob (<= 1 - 1/C) at the last epoch, mean over seeds"
        ),
    )

    def _values(self, probs, y):
        return least_confidence(probs)
