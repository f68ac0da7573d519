"""TracIn (Pruthi et al., 2020): influence of each training example traced through checkpoints.

The influence of train example ``z`` on a validation set ``V`` is

    TracIn(z, V) = sum_c lr_c * < grad L(z; w_c), sum_{v in V} grad L(v; w_c) >

over saved checkpoints ``w_c`` with step sizes ``lr_c``; ``L`` is the example's own
cross-entropy. Positive = ``z`` pushed the loss on ``V`` down (a proponent), negative
= it pushed it up (an opponent, often a mislabeled example). Self-influence
``sum_c lr_c ||grad L(z; w_c)||^2`` needs no validation set and is the usual
data-quality score: examples the model had to bend for (mislabeled, atypical) rank first.

Gradients are exact over every trainable parameter. For models of ``nn.Linear`` and
row-wise modules the validation side is summed first, per layer, into the full
validation gradient ``G_V = sum_v delta_v a_v^T`` (and ``sum_v delta_v`` for the bias),
and each train example's inner product with it is ``a_z^T G_V^T delta_z`` from the
factors of :func:`~datafactors.learners.per_sample_linear_grads` — O(n + |V|) work,
never an n x |V| matrix. Any other model uses one forward-mode JVP of the per-example
losses along the validation gradient, which gives the same inner products.

The learners train with Adam, so ``lr_c`` is Adam's base step size; as Pruthi et al.
note for adaptive optimizers, TracIn is then a heuristic, not the exact first-order
change of the loss.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from ..dataset import Dataset
from ..dynamics import TrainingDynamics
from .base import ScoreColumn, Scorer, register

__all__ = ["checkpoints_from_dynamics", "tracin_influence", "tracin_self_influence"]

Checkpoints = Sequence[tuple[float, Any]]  # (lr, torch.nn.Module)


# ---------------------------------------------------------------- pure functions


def _check_checkpoints(checkpoints: Checkpoints) -> list[tuple[float, Any]]:
    import torch

    out = []
    for k, item in enumerate(checkpoints):
        if not (isinstance(item, tuple | list) and len(item) == 2):
            raise DataError(f"checkpoints[{k}] must be a (lr, torch.nn.Module) pair, got {type(item).__name__}")
        lr, model = item
        if not isinstance(model, torch.nn.Module):
            raise DataError(f"checkpoints[{k}] model must be a torch.nn.Module, got {type(model).__name__}")
        if isinstance(lr, bool) or not isinstance(lr, int | float | np.floating) or not np.isfinite(lr) or lr < 0:
            raise DataError(f"checkpoints[{k}] lr == {lr!r}, must be a finite number >= 0")
        out.append((float(lr), model))
    if not out:
        raise DataError("checkpoints is empty; TracIn needs at least one (lr, model) pair")
    return out


def _val_gradient(model: Any, X_val: Any, y_val: Any) -> dict[str, Any]:
    """Gradient of the summed validation cross-entropy w.r.t. every trainable parameter (eval mode)."""
    import torch
    import torch.nn.functional as F

    from ..learners import check_grad_inputs as _check_inputs
    from ..learners import eval_mode as _eval_mode

    Xv, yv, _ = _check_inputs(model, X_val, y_val, 1)
    names = [k for k, p in model.named_parameters() if p.requires_grad]
    params = [p for p in model.parameters() if p.requires_grad]
    with _eval_mode(model), torch.enable_grad():
        loss = F.cross_entropy(model(Xv), yv, reduction="sum")
        grads = torch.autograd.grad(loss, params, allow_unused=True)
    return {k: (torch.zeros_like(p) if g is None else g.detach()) for k, p, g in zip(names, params, grads, strict=True)}


def _dot_jvp(model: Any, X: Any, y: Any, direction: dict[str, Any], batch_size: int) -> np.ndarray:
    """``<grad L(x_i), direction>`` for every row, by forward-mode differentiation of the losses."""
    import torch
    import torch.nn.functional as F
    from torch.func import functional_call, jvp

    from ..learners import check_grad_inputs as _check_inputs
    from ..learners import eval_mode as _eval_mode

    X_t, y_t, _ = _check_inputs(model, X, y, batch_size)
    named = dict(model.named_parameters())
    params = {k: p.detach() for k, p in named.items() if p.requires_grad}
    frozen = {k: p.detach() for k, p in named.items() if not p.requires_grad}
    frozen.update({k: b.detach() for k, b in model.named_buffers()})
    tangent = {k: direction[k].to(params[k].dtype) for k in params}
    out = np.zeros(X_t.shape[0], dtype=np.float64)
    with _eval_mode(model):
        for start in range(0, X_t.shape[0], batch_size):
            xb, yb = X_t[start : start + batch_size], y_t[start : start + batch_size]

            def losses(p: dict[str, torch.Tensor], xb=xb, yb=yb) -> torch.Tensor:
                return F.cross_entropy(functional_call(model, (p, frozen), (xb,)), yb, reduction="none")

            with warnings.catch_warnings():
                # torch's own JVP decompositions still call the deprecated torch.jit.script on first use
                warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=DeprecationWarning)
                _, d = jvp(losses, (params,), (tangent,))
            out[start : start + len(xb)] = d.detach().to(torch.float64).cpu().numpy()
    return out


def _dot_factors(model: Any, X: Any, y: Any, X_val: Any, y_val: Any, batch_size: int) -> np.ndarray | None:
    """The same inner products from Linear-layer factors, or None when the model cannot be factored."""
    from ..learners import ghost_linears as _ghost_linears
    from ..learners import per_sample_linear_grads

    if isinstance(_ghost_linears(model), str):
        return None
    try:
        ft = per_sample_linear_grads(model, X, y, batch_size=batch_size)
        fv = per_sample_linear_grads(model, X_val, y_val, batch_size=batch_size)
    except DataError:
        return None
    out = np.zeros(len(y), dtype=np.float64)
    for lt, lv in zip(ft, fv, strict=True):
        d_v = np.asarray(lv.delta, np.float64)
        d_t = np.asarray(lt.delta, np.float64)
        if lt.weight:
            g_w = d_v.T @ np.asarray(lv.a, np.float64)  # (out, in): the layer's full validation gradient
            out += ((d_t @ g_w) * np.asarray(lt.a, np.float64)).sum(axis=1)
        if lt.bias:
            out += d_t @ d_v.sum(axis=0)
    return out


def _check_xy(X: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    Xa = np.asarray(X)
    ya = np.asarray(y)
    if Xa.ndim < 1 or ya.ndim != 1 or len(Xa) != len(ya):
        raise DataError(f"{what}: X and y must have matching first dimensions, got {Xa.shape} and {ya.shape}")
    if ya.dtype.kind not in "iu":
        raise DataError(f"{what}: y must hold integer class indices, got dtype {ya.dtype}")
    return Xa, ya.astype(np.int64)


def tracin_influence(
    checkpoints: Checkpoints,
    X: Any,
    y: Any,
    X_val: Any,
    y_val: Any,
    *,
    batch_size: int = 4096,
) -> np.ndarray:
    """TracIn influence of each training example on a whole validation set.

    ``sum_c lr_c * <grad L(x_i, y_i; w_c), sum_v grad L(x_v, y_v; w_c)>``, exact over all
    trainable parameters, computed without an n x |V| matrix (see the module docstring).

    Parameters
    ----------
    checkpoints : sequence of (lr, torch.nn.Module) pairs, one per saved checkpoint.
    X : (n, ...) train inputs, as the model takes them (already standardized).
    y : (n,) int train labels.
    X_val : (m, ...) validation inputs; y_val : (m,) int validation labels.
    batch_size : rows per forward/backward pass; the result does not depend on it.

    Returns
    -------
    (n,) float64. Positive = the example lowered the validation loss (proponent),
    negative = it raised it (opponent).

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    >>> X, y = torch.randn(6, 3), torch.tensor([0, 1, 0, 1, 1, 0])
    >>> tracin_influence([(0.1, model)], X, y, X[:2], y[:2]).shape
    (6,)
    """
    import torch

    ckpts = _check_checkpoints(checkpoints)
    X, y = _check_xy(X, y, "train")
    X_val, y_val = _check_xy(X_val, y_val, "validation")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise DataError(f"batch_size == {batch_size!r}, must be an int >= 1")
    total = np.zeros(len(y), dtype=np.float64)
    if len(y) == 0 or len(y_val) == 0:
        return total
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    Xv, yv = torch.as_tensor(X_val), torch.as_tensor(y_val)
    for lr, model in ckpts:
        dots = _dot_factors(model, Xt, yt, Xv, yv, batch_size)
        if dots is None:
            dots = _dot_jvp(model, Xt, yt, _val_gradient(model, Xv, yv), batch_size)
        total += lr * dots
    return total


def tracin_self_influence(checkpoints: Checkpoints, X: Any, y: Any, *, batch_size: int = 4096) -> np.ndarray:
    """TracIn self-influence ``sum_c lr_c * ||grad L(x_i, y_i; w_c)||^2`` over all parameters.

    Parameters
    ----------
    checkpoints : sequence of (lr, torch.nn.Module) pairs.
    X : (n, ...) inputs as the model takes them; y : (n,) int labels.

    Returns
    -------
    (n,) float64 >= 0. Higher = harder (likely mislabeled or atypical).

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Linear(3, 2)
    >>> tracin_self_influence([(1.0, model)], torch.randn(4, 3), torch.tensor([0, 1, 0, 1])).shape
    (4,)
    """
    import torch

    from ..learners import per_sample_grad_norms

    ckpts = _check_checkpoints(checkpoints)
    X, y = _check_xy(X, y, "train")
    total = np.zeros(len(y), dtype=np.float64)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    for lr, model in ckpts:
        total += lr * per_sample_grad_norms(model, Xt, yt, batch_size=batch_size) ** 2
    return total


def checkpoints_from_dynamics(dyn: TrainingDynamics, module_factory: Any = None) -> list[tuple[float, Any]]:
    """The (lr, model) pairs a PyTorch learner saved in ``dyn.checkpoints``."""
    return [(lr, model) for _, lr, model in dyn.checkpoint_models(module_factory)]


def reference_split(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Row indices of a class-stratified ``fraction`` of ``y`` (at least one row), sorted.

    Rows are ordered by class, randomly within a class, and every ``1/fraction``-th is
    taken, so each class contributes in proportion to its size.

    Examples
    --------
    >>> reference_split(np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1]), 0.5, seed=0).size
    5
    """
    if not (isinstance(fraction, int | float) and 0 < fraction <= 1):
        raise ConfigError(f"val_fraction == {fraction!r}, must be in (0, 1]")
    n = len(y)
    k = min(n, max(1, int(round(fraction * n))))
    order = np.lexsort((np.random.default_rng(seed).random(n), y))
    pos = np.floor((np.arange(k) + 0.5) * n / k).astype(np.int64)
    return np.sort(order[pos])


# ---------------------------------------------------------------- registered scorers


def _require(dynamics: Sequence[TrainingDynamics] | None, name: str) -> Sequence[TrainingDynamics]:
    if not dynamics:
        raise DataError(f"score {name!r} needs training dynamics; pass dynamics= or let compute() train a proxy")
    return dynamics


@register
class TracInSelfScorer(Scorer):
    """TracIn self-influence over the saved checkpoints, mean over seeds.

    The squared gradient norms at the checkpoints are the ones the learner already
    recorded (``dynamics.grad_norms`` at those epochs), weighted by each checkpoint's
    step size. Dynamics without checkpoints (e.g. the ``logistic`` learner, which has no
    step size) sum every epoch's squared norm with unit weight instead.
    """

    name = "tracin_self"
    columns = (
        ScoreColumn(
            "tracin_self",
            "harder",
            0.0,
            np.inf,
            "TracIn self-influence sum_c lr_c ||grad loss||^2 over checkpoints, mean over seeds",
        ),
    )
    needs_dynamics = True
    row_wise = True

    def score(self, ds, *, dynamics=None, embeddings=None, seed=0) -> pd.DataFrame:
        dyn = _require(dynamics, self.name)
        runs = []
        for d in dyn:
            if d.checkpoints and d.grad_norms is not None:
                runs.append(sum(lr * d.grad_norms[e].astype(np.float64) ** 2 for e, lr, _ in d.checkpoints))
            elif d.checkpoints:
                runs.append(tracin_self_influence(checkpoints_from_dynamics(d), d.model_inputs(ds.X), ds.y))
            elif d.grad_norms is not None:
                runs.append((d.grad_norms[1:].astype(np.float64) ** 2).sum(axis=0))
            else:
                raise DataError("score 'tracin_self' needs dynamics with checkpoints or per-example gradient norms")
        return self._frame(ds, {"tracin_self": np.mean(runs, axis=0)})


@register
class TracInScorer(Scorer):
    """TracIn influence of every example on a validation set, mean over seeds.

    Parameters
    ----------
    val : Dataset or None
        The validation set (same features and classes as the scored data). When None, a
        class-stratified ``val_fraction`` of the scored data itself, drawn with ``seed``,
        serves as the reference set; it was part of the proxy's training (the dynamics
        are shared by every score), so examples in it also carry their own self-term.
    val_fraction : float, default 0.2
    """

    name = "tracin"
    columns = (
        ScoreColumn(
            "tracin",
            "easier",
            -np.inf,
            np.inf,
            "TracIn influence on a validation set (default: a stratified 20% reference subset), mean over seeds",
        ),
    )
    needs_dynamics = True

    def __init__(self, val: Dataset | None = None, val_fraction: float = 0.2) -> None:
        self.val, self.val_fraction = val, val_fraction

    def score(self, ds, *, dynamics=None, embeddings=None, seed=0) -> pd.DataFrame:
        dyn = _require(dynamics, self.name)
        if self.val is None:
            ref = reference_split(ds.y, self.val_fraction, seed)
            Xv_raw, yv = ds.X[ref], ds.y[ref]
        else:
            if self.val.n_features != ds.n_features:
                raise DataError(f"val has {self.val.n_features} features but the scored data has {ds.n_features}")
            if self.val.n_classes != ds.n_classes:
                raise DataError(f"val has {self.val.n_classes} classes but the scored data has {ds.n_classes}")
            Xv_raw, yv = self.val.X, self.val.y
        runs = [
            tracin_influence(checkpoints_from_dynamics(d), d.model_inputs(ds.X), ds.y, d.model_inputs(Xv_raw), yv)
            for d in dyn
        ]
        return self._frame(ds, {"tracin": np.mean(runs, axis=0)})
