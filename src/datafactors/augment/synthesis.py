"""Distribution-matching synthesis (Zhao & Bilen) and directed weight adjustment (Du et al.).

**DM** (Zhao & Bilen, *Dataset Condensation with Distribution Matching*, WACV 2023):
learn ``ipc`` synthetic examples per class so that, under a randomly initialised
feature network drawn afresh at every step, the mean embedding of each class's
synthetic examples matches the mean embedding of a batch of its real examples::

    loss = sum_c || mean_i f(real_c,i) - mean_j f(syn_c,j) ||^2,   f ~ random ReLU MLP

minimised over the synthetic examples by SGD with momentum 0.5 (as in the paper). Their
feature networks are ConvNets on images; here they are small ReLU MLPs
(:func:`datafactors.learners.trunk_module`, PyTorch's default initialisation),
so any feature vector works. Features are standardised by the real data's mean and
standard deviation while synthesising; with ``clip=True`` every synthetic value stays
inside the real data's range for its column (constant columns stay constant).

**Directed weight adjustment** (Du et al., *Diversity-Driven Synthesis: Enhancing
Dataset Distillation through Directed Weight Adjustment*, NeurIPS 2024; their code:
``distillation/perterb.py``): the synthetic set is made of ``ipc`` *batches*, batch
``j`` holding the ``j``-th example of every class, and each batch is synthesised with
its own copy of the feature network whose weights are moved by ``Δθ_j`` in the
direction that *increases* the matching loss of a random subset of the real data
(the real rows batch ``j`` started from)::

    Δθ_j = ρ ||θ|| ∇θ ℓ_j(θ) / ||∇θ ℓ_j(θ)||,  ℓ_j(θ) = sum_c || mean f_θ(real_c) - f_θ(subset_j,c) ||^2

taken in ``rho_steps`` steps of ``ρ / rho_steps`` (their ``--steps``, ``--rho``). Each
batch therefore matches the data under a differently tilted network and the batches
stop converging to the same points. Two adaptations, because DM's networks are random:
the perturbation is recomputed for every step's fresh network (theirs is computed once
for a trained teacher), and ``ρ`` is relative to the network's weight norm (theirs is
absolute, 0.015 for a ResNet-18).

``mode`` says how the batches share the objective. ``"joint"`` is DM's: the class
means are over all ``ipc`` examples, and with ``directed=True`` batch ``j``'s gradient
is that joint loss under its own perturbed network. ``"isolated"`` is the
"parallelizable yet isolated" synthesis the DWA paper improves: each batch matches the
class means on its own (the loss is the mean over batches), which without the
perturbation pulls every batch to the same point. Measured on scikit-learn's digits
(ipc 10, 200 steps, 3 seeds; the numbers are in docs/augment.md): isolated synthesis
collapses each class to a near-point (mean pairwise distance 0.44 in standardised
units, from 8.1 at the real initialisation) and the directed perturbation triples it
(1.39 at ρ = 0.2) while lowering the matching loss; in joint mode the classes keep
their spread anyway (8.3) and the perturbation changes it by less than 0.1.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import ConfigError, DataError
from .._validation import SeedLike, check_random_state
from ..dataset import Dataset
from . import REGISTRY, NewRows

MODES = ("joint", "isolated")
INITS = ("real", "noise")


@dataclass(frozen=True)
class Synthesis:
    """Synthetic examples and how they were made.

    Attributes
    ----------
    X : (n_classes_present * ipc, n_features) float32 in the real data's units, class-major:
        class ``classes[a]``'s slot ``j`` is row ``a * ipc + j``.
    y : (m,) int64 class of each row.
    slot : (m,) int64 the row's index ``j`` within its class (its batch under DWA).
    init_rows : (m,) int64 the real row each synthetic row started from (``init="real"``),
        -1 for ``init="noise"``.
    losses : (steps,) float64 the training matching loss at each step (on that step's
        random network and real batch; noisy, see :func:`matching_loss` for a fixed yardstick).
    classes : (n_classes_present,) the classes synthesized (those with at least one real row).
    """

    X: np.ndarray
    y: np.ndarray
    slot: np.ndarray
    init_rows: np.ndarray
    losses: np.ndarray
    classes: np.ndarray


def _is_int(v: object) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _is_real(v: object) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and bool(np.isfinite(float(v)))


def check_synthesis_params(
    *,
    ipc: Any,
    steps: Any,
    lr: Any,
    init: Any,
    directed: Any,
    mode: Any,
    rho: Any,
    rho_steps: Any,
    hidden: Any,
    batch_real: Any,
    momentum: Any,
    clip: Any,
    n_threads: Any,
) -> tuple[int, ...]:
    """Validate the synthesis options (ConfigError naming the option and the value); returns ``hidden`` as a tuple."""
    for name, v, low in (("ipc", ipc, 1), ("steps", steps, 0), ("rho_steps", rho_steps, 1)):
        if not _is_int(v) or v < low:
            raise ConfigError(f"{name} == {v!r}, must be an int >= {low}")
    for name, v in (("batch_real", batch_real), ("n_threads", n_threads)):
        if not _is_int(v) or v < 1:
            raise ConfigError(f"{name} == {v!r}, must be an int >= 1")
    if not _is_real(lr) or lr <= 0:
        raise ConfigError(f"lr == {lr!r}, must be a number > 0")
    if not _is_real(rho) or rho < 0:
        raise ConfigError(f"rho == {rho!r}, must be a number >= 0 (the perturbation's norm relative to the weights')")
    if not _is_real(momentum) or not 0 <= momentum < 1:
        raise ConfigError(f"momentum == {momentum!r}, must be in [0, 1)")
    if init not in INITS:
        raise ConfigError(f"init == {init!r}, must be one of {', '.join(INITS)}")
    if mode not in MODES:
        raise ConfigError(f"mode == {mode!r}, must be one of {', '.join(MODES)}")
    for name, v in (("directed", directed), ("clip", clip)):
        if not isinstance(v, (bool, np.bool_)):
            raise ConfigError(f"{name} == {v!r}, must be True or False")
    from ..learners import check_hidden

    return check_hidden(hidden)


def _class_rows(y: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    classes = np.unique(y)
    return classes, [np.flatnonzero(y == c) for c in classes]


def _embed(params: list[Any], x: Any) -> Any:
    """ReLU MLP forward from a flat [W0, b0, W1, b1, ...] list; a leading batch dim on W, b stacks networks."""
    import torch

    for W, b in zip(params[0::2], params[1::2], strict=True):
        x = torch.relu(torch.matmul(x, W.transpose(-1, -2)) + b.unsqueeze(-2))
    return x


def _random_net(d: int, hidden: tuple[int, ...]) -> list[Any]:
    from ..learners import trunk_module

    net = trunk_module(d, hidden)
    return [t.detach() for layer in net if hasattr(layer, "weight") for t in (layer.weight, layer.bias)]


def _perturbed(params: list[Any], R: Any, subset: Any, rho: float, rho_steps: int) -> list[Any]:
    """One copy of the network per batch j, each moved up the gradient of its real subset's matching loss.

    R: (C, b, d) real batch; subset: (J, C, d) the real rows of batch j. Returns the
    stacked parameters (leading dim J), detached.
    """
    import torch

    J, C, b = subset.shape[0], R.shape[0], R.shape[1]
    P = [p.unsqueeze(0).repeat(J, *([1] * p.dim())).requires_grad_(True) for p in params]
    norm0 = torch.sqrt(sum((p**2).sum() for p in params))
    flat_R = R.reshape(C * b, -1)
    for _ in range(rho_steps):
        real = _embed(P, flat_R).reshape(J, C, b, -1).mean(2)
        loss = ((real - _embed(P, subset)) ** 2).sum()
        grads = torch.autograd.grad(loss, P)
        gnorm = torch.sqrt(sum((g.reshape(J, -1) ** 2).sum(1) for g in grads)) + 1e-12
        step = (rho / rho_steps) * norm0 / gnorm
        with torch.no_grad():
            for p, g in zip(P, grads, strict=True):
                p.add_(g * step.reshape(J, *([1] * (p.dim() - 1))))
    return [p.detach() for p in P]


def distribution_matching(
    X: np.ndarray,
    y: np.ndarray,
    *,
    ipc: int = 10,
    steps: int = 200,
    lr: float = 0.5,
    init: str = "real",
    directed: bool = False,
    mode: str = "joint",
    rho: float = 0.2,
    rho_steps: int = 1,
    hidden: Any = (128,),
    batch_real: int = 64,
    momentum: float = 0.5,
    clip: bool = True,
    seed: SeedLike = 0,
    n_threads: int = 1,
) -> Synthesis:
    """Learn ``ipc`` synthetic examples per class whose random-network mean embeddings match the real ones.

    Parameters
    ----------
    X : (n, d) real features; y : (n,) class labels (non-negative ints).
    ipc : synthetic examples per class.
    steps : optimisation steps; each draws a fresh random network and a real batch.
    lr, momentum : SGD on the synthetic examples (in standardised units).
    init : ``"real"`` (start from ``ipc`` random real rows of the class) or ``"noise"``
        (standard normal in standardised units, i.e. the real mean plus one sd of noise).
    directed : directed weight adjustment per batch (module notes).
    mode : ``"joint"`` (DM: class means over all ``ipc``) or ``"isolated"`` (each batch alone).
    rho, rho_steps : the perturbation's norm relative to the network's, and in how many steps.
    hidden : widths of the random ReLU MLP; its last layer's output is the embedding.
    batch_real : real rows per class per step (drawn with replacement from a smaller class).
    clip : keep every synthetic value inside the real data's range for its column.
    seed : int or Generator; real batches, initialisation and networks depend only on it.
    n_threads : torch threads (fixed so that results do not depend on the machine).

    Returns
    -------
    :class:`Synthesis`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (50, 4)), rng.normal(3, 1, (50, 4))]
    >>> s = distribution_matching(X, np.repeat([0, 1], 50), ipc=2, steps=20, seed=0)
    >>> s.X.shape, s.y.tolist(), s.slot.tolist()
    ((4, 4), [0, 0, 1, 1], [0, 1, 0, 1])
    """
    widths = check_synthesis_params(
        ipc=ipc,
        steps=steps,
        lr=lr,
        init=init,
        directed=directed,
        mode=mode,
        rho=rho,
        rho_steps=rho_steps,
        hidden=hidden,
        batch_real=batch_real,
        momentum=momentum,
        clip=clip,
        n_threads=n_threads,
    )
    Xa = np.asarray(X, dtype=np.float32)
    ya = np.asarray(y)
    if Xa.ndim != 2 or ya.shape != (len(Xa),) or len(Xa) == 0:
        raise DataError(f"X must be (n, d) and y (n,) with n >= 1, got {Xa.shape} and {ya.shape}")
    if not np.isfinite(Xa).all():
        raise DataError("X contains NaN or inf")
    rng = check_random_state(seed)
    classes, rows = _class_rows(ya)
    small = [(c, len(r)) for c, r in zip(classes, rows, strict=True) if len(r) < ipc]
    if init == "real" and small:
        c, k = small[0]
        raise DataError(
            f"class {c} has {k} rows; init='real' starts from ipc={ipc} distinct real rows per class "
            "(use a smaller ipc, or init='noise')"
        )
    # the real subset each batch starts from (init="real") or is directed by (both inits)
    subset_rows = np.stack([rng.choice(r, ipc, replace=len(r) < ipc) for r in rows])  # (C, ipc)
    from ..learners import Standardizer, torch_seed, torch_threads

    std = Standardizer(Xa)
    Zn = std(Xa).astype(np.float32)
    C, d = len(classes), Xa.shape[1]
    S0 = Zn[subset_rows] if init == "real" else rng.standard_normal((C, ipc, d)).astype(np.float32)
    lo_n, hi_n = Zn.min(0), Zn.max(0)
    if clip:
        S0 = np.clip(S0, lo_n, hi_n)
    torch_seed_value = int(rng.integers(0, 2**31 - 1))
    losses = np.zeros(steps, dtype=np.float64)
    with torch_threads(n_threads) as torch, torch_seed(torch_seed_value):
        Z = torch.from_numpy(Zn)
        lo, hi = torch.from_numpy(lo_n), torch.from_numpy(hi_n)
        subset = Z[torch.from_numpy(subset_rows.T.copy())]  # (ipc, C, d): batch j's real rows
        S = torch.from_numpy(np.ascontiguousarray(S0)).requires_grad_(True)
        opt = torch.optim.SGD([S], lr=float(lr), momentum=float(momentum))
        own = torch.eye(ipc, dtype=torch.bool).reshape(ipc, 1, ipc, 1)  # batch j's rows under net j
        for t in range(steps):
            params = _random_net(d, widths)
            pick = np.stack([rng.choice(r, batch_real, replace=len(r) < batch_real) for r in rows])
            R = Z[torch.from_numpy(pick)]  # (C, b, d)
            opt.zero_grad()
            scale = float(ipc)
            if not directed:
                real = _embed(params, R).mean(1)  # (C, h)
                emb = _embed(params, S)  # (C, ipc, h)
                if mode == "joint":
                    loss = ((real - emb.mean(1)) ** 2).sum()
                else:
                    loss = ((real.unsqueeze(1) - emb) ** 2).sum() / ipc
            else:
                P = _perturbed(params, R, subset, float(rho), int(rho_steps))
                real = _embed(P, R.reshape(C * batch_real, d)).reshape(ipc, C, batch_real, -1).mean(2)  # (J, C, h)
                if mode == "joint":
                    emb = _embed(P, S.reshape(C * ipc, d)).reshape(ipc, C, ipc, -1)  # (J, C, i, h)
                    emb = torch.where(own, emb, emb.detach())
                    # batch j's joint loss under its own network; the reported loss is their mean,
                    # and each example's gradient comes from its own batch's term alone
                    loss = ((real - emb.mean(2)) ** 2).sum() / ipc
                    scale *= ipc
                else:
                    emb = _embed(P, S.transpose(0, 1))  # (J, C, h): batch j under net j
                    loss = ((real - emb) ** 2).sum() / ipc
            # scaled so that each example's step does not shrink as 1/ipc: one lr fits every ipc
            (loss * scale).backward()
            opt.step()
            if clip:
                with torch.no_grad():
                    S.copy_(torch.maximum(torch.minimum(S, hi), lo))
            losses[t] = float(loss.detach())
        Sn = S.detach().numpy().reshape(C * ipc, d)
    out = (Sn * std.scale + std.mean).astype(np.float32)
    init_rows = subset_rows.reshape(-1) if init == "real" else np.full(C * ipc, -1)
    return Synthesis(
        X=out,
        y=np.repeat(classes, ipc).astype(np.int64),
        slot=np.tile(np.arange(ipc), C).astype(np.int64),
        init_rows=init_rows.astype(np.int64),
        losses=losses,
        classes=classes,
    )


def matching_loss(
    X_real: np.ndarray,
    y_real: np.ndarray,
    X_syn: np.ndarray,
    y_syn: np.ndarray,
    *,
    n_nets: int = 20,
    hidden: Any = (128,),
    seed: SeedLike = 0,
    n_threads: int = 1,
) -> float:
    """DM's objective as a fixed yardstick: mean over ``n_nets`` random networks of
    ``sum_c || mean f(real_c) - mean f(syn_c) ||^2`` over the synthetic classes, with all real rows
    of each class, in the real data's standardised units.

    Use the same ``seed`` to compare two synthetic sets under the same networks.

    Examples
    --------
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 3.0]])
    >>> y = np.array([0, 0, 1, 1])
    >>> matching_loss(X, y, X, y)
    0.0
    """
    from ..learners import Standardizer, check_hidden, torch_seed, torch_threads

    widths = check_hidden(hidden)
    if not _is_int(n_nets) or n_nets < 1:
        raise ConfigError(f"n_nets == {n_nets!r}, must be an int >= 1")
    Xr, Xs = np.asarray(X_real, dtype=np.float32), np.asarray(X_syn, dtype=np.float32)
    yr, ys = np.asarray(y_real), np.asarray(y_syn)
    if Xr.ndim != 2 or Xs.ndim != 2 or Xr.shape[1] != Xs.shape[1] or len(yr) != len(Xr) or len(ys) != len(Xs):
        raise DataError(f"real {Xr.shape} / {yr.shape} and synthetic {Xs.shape} / {ys.shape} arrays do not fit")
    missing = sorted(set(np.unique(ys).tolist()) - set(np.unique(yr).tolist()))
    if missing:
        raise DataError(f"synthetic classes {missing} have no real rows to match")
    std = Standardizer(Xr)
    classes = np.unique(ys)
    rng = check_random_state(seed)
    total = 0.0
    with torch_threads(n_threads) as torch, torch_seed(int(rng.integers(0, 2**31 - 1))), torch.no_grad():
        Zr, Zs = torch.from_numpy(std(Xr)), torch.from_numpy(std(Xs))
        masks = [(torch.from_numpy(yr == c), torch.from_numpy(ys == c)) for c in classes]
        for _ in range(n_nets):
            params = _random_net(Xr.shape[1], widths)
            er, es = _embed(params, Zr), _embed(params, Zs)
            total += sum(float(((er[mr].mean(0) - es[ms].mean(0)) ** 2).sum()) for mr, ms in masks)
    return total / n_nets


def _synthesize(ds: Dataset, rng: np.random.Generator, **options: Any) -> NewRows:
    ds.require_labels("distribution-matching synthesis")
    s = distribution_matching(ds.X, ds.y, seed=rng, **options)
    init = [None if r < 0 else str(ds.ids[r]) for r in s.init_rows]
    tags = [f"class{c}:{j}" for c, j in zip(s.y, s.slot, strict=True)]
    name = "dwa" if options["directed"] else "dm"
    return NewRows(s.X, np.full(len(s.y), -1, dtype=np.int64), tags, y=s.y, columns={"init": init}, name=name)


@REGISTRY.register("dm")
def dm(
    ds: Dataset,
    *,
    rng: np.random.Generator,
    ipc: int = 10,
    steps: int = 200,
    lr: float = 0.5,
    init: str = "real",
    directed: bool = False,
    mode: str = "joint",
    rho: float = 0.2,
    rho_steps: int = 1,
    hidden: Any = (128,),
    batch_real: int = 64,
    momentum: float = 0.5,
    clip: bool = True,
    n_threads: int = 1,
):
    """Distribution-matching synthesis (Zhao & Bilen): ``ipc`` synthetic rows per class.

    Options as :func:`distribution_matching`. Ids ``synthetic~dm:class<c>:<j>``
    (``synthetic~dwa:...`` with ``directed=True``); ``extra["init"]`` is the id of the
    real row a synthetic row started from (None for ``init="noise"``).
    """
    return _synthesize(
        ds,
        rng,
        ipc=ipc,
        steps=steps,
        lr=lr,
        init=init,
        directed=directed,
        mode=mode,
        rho=rho,
        rho_steps=rho_steps,
        hidden=hidden,
        batch_real=batch_real,
        momentum=momentum,
        clip=clip,
        n_threads=n_threads,
    )


@REGISTRY.register("dwa")
def dwa(
    ds: Dataset,
    *,
    rng: np.random.Generator,
    ipc: int = 10,
    steps: int = 200,
    lr: float = 0.5,
    init: str = "real",
    mode: str = "isolated",
    rho: float = 0.2,
    rho_steps: int = 1,
    hidden: Any = (128,),
    batch_real: int = 64,
    momentum: float = 0.5,
    clip: bool = True,
    n_threads: int = 1,
):
    """Diversity-driven synthesis (Du et al.): each batch synthesized with a directed weight adjustment.

    The paper's setting by default: isolated batches (``mode="isolated"``), each under
    its own perturbed network. ``mode="joint"`` keeps DM's joint class means. Ids
    ``synthetic~dwa:class<c>:<j>``; options as :func:`distribution_matching`.
    """
    return _synthesize(
        ds,
        rng,
        ipc=ipc,
        steps=steps,
        lr=lr,
        init=init,
        directed=True,
        mode=mode,
        rho=rho,
        rho_steps=rho_steps,
        hidden=hidden,
        batch_real=batch_real,
        momentum=momentum,
        clip=clip,
        n_threads=n_threads,
    )
