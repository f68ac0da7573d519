"""Exact per-example gradients of the cross-entropy loss, for a whole batch at once.

Two paths compute the same numbers:

- **Ghost norms** for models built only from ``nn.Linear`` layers and parameter-free
  elementwise modules. A Linear layer's per-example weight gradient is the outer
  product ``delta_i a_i^T`` (``a_i`` its input, ``delta_i`` the gradient of the summed
  loss w.r.t. its output), so its squared norm is ``||delta_i||^2 ||a_i||^2`` and the
  bias adds ``||delta_i||^2``. One forward and one backward per chunk give every
  example's norm without materialising a per-example gradient.
- **torch.func** (``functional_call`` + ``vmap(grad)``) for every other model, chunked
  so that the per-example gradients of one chunk fit in a fixed memory budget.

Both run the model in eval mode (dropout off, batch norm on running statistics) so
that an example's gradient does not depend on the other examples in its chunk, and
both leave the model exactly as they found it: train/eval flags, ``requires_grad``
flags, ``.grad`` fields and parameter values.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._errors import DataError

__all__ = [
    "LinearFactors",
    "check_grad_inputs",
    "eval_mode",
    "ghost_linears",
    "grad_dot",
    "per_sample_grad_norms",
    "per_sample_linear_grads",
]

# Modules that hold no parameters and act on each example's row on its own; a model
# made of these and nn.Linear layers takes the ghost-norm path.
_ROWWISE_MODULES: tuple[type[nn.Module], ...] = (
    nn.Identity,
    nn.Flatten,
    nn.Dropout,
    nn.AlphaDropout,
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Tanh,
    nn.Sigmoid,
    nn.Hardtanh,
    nn.Hardsigmoid,
    nn.Hardswish,
    nn.Softplus,
    nn.Softsign,
    nn.Tanhshrink,
    nn.LogSigmoid,
)

# Per-example gradients of one fallback chunk are kept under this many bytes.
_FALLBACK_BYTES = 256 * 2**20


class LinearFactors(NamedTuple):
    """The factors of one ``nn.Linear`` layer's per-example gradients.

    The per-example gradient of the layer's weight is ``outer(delta[i], a[i])`` and
    that of its bias is ``delta[i]``.

    Attributes
    ----------
    a : ndarray of shape (n_samples, in_features)
        The layer's input for each example.
    delta : ndarray of shape (n_samples, out_features)
        The gradient of the example's loss with respect to the layer's output.
    name : str
        The layer's qualified name in the model (``""`` for a bare Linear model).
    weight : bool
        Whether the weight is trainable (counted in gradients).
    bias : bool
        Whether the layer has a trainable bias.
    """

    a: np.ndarray
    delta: np.ndarray
    name: str
    weight: bool
    bias: bool


class _NotGhostable(Exception):
    """Raised inside a forward pass when the ghost-norm identity does not apply."""


# ----------------------------------------------------------------------------- helpers


def check_grad_inputs(model: Any, X: Any, y: Any, batch_size: Any) -> tuple[torch.Tensor, torch.Tensor, torch.dtype]:
    """``(X, y, dtype)`` as tensors on the model's device and dtype, after checking model, shapes and batch size."""
    if not isinstance(model, nn.Module):
        raise DataError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise DataError(f"batch_size == {batch_size!r}, must be an int >= 1")
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise DataError("model has no trainable parameters (every requires_grad is False)")
    ref = trainable[0]
    if not ref.is_floating_point():
        raise DataError(f"model parameters must be floating point, got dtype {ref.dtype}")
    X_t = torch.as_tensor(X).detach().to(device=ref.device, dtype=ref.dtype)
    y_t = torch.as_tensor(y).detach()
    if y_t.is_floating_point() or y_t.is_complex() or y_t.dtype == torch.bool:
        raise DataError(f"y must hold integer class indices, got dtype {y_t.dtype}")
    y_t = y_t.to(device=ref.device, dtype=torch.long)
    if y_t.ndim != 1:
        raise DataError(f"y must have shape (n_samples,), got {tuple(y_t.shape)}")
    if X_t.ndim < 1 or X_t.shape[0] != y_t.shape[0]:
        raise DataError(f"X has {X_t.shape[0] if X_t.ndim else 0} rows but y has {y_t.shape[0]}; they must match")
    return X_t, y_t, ref.dtype


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Put every submodule in eval mode; afterwards restore each one's flag and tensors.

    The tensors are restored too because ``functional_call`` swaps parameters in and
    out of their modules, and fails to swap them back when one module object is
    registered under two names (its parameters would be left as plain tensors).
    """
    state = [(m, m.training, dict(m._parameters), dict(m._buffers)) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, flag, params, buffers in state:
            m.training = flag
            m._parameters.update(params)
            m._buffers.update(buffers)


def _loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if logits.ndim != 2 or logits.shape[0] != y.shape[0]:
        raise DataError(
            f"model output has shape {tuple(logits.shape)}, expected logits of shape ({y.shape[0]}, n_classes)"
        )
    return F.cross_entropy(logits, y, reduction="sum")


def ghost_linears(model: nn.Module) -> list[tuple[str, nn.Linear]] | str:
    """The model's Linear layers in call order, or why the ghost-norm path cannot be used."""
    linears: list[tuple[str, nn.Linear]] = []
    unknown: list[str] = []
    for name, m in model.named_modules(remove_duplicate=False):
        if type(m) is nn.Linear:
            linears.append((name, m))
            continue
        if any(True for _ in m.parameters(recurse=False)):
            return f"module {name or '<root>'!r} ({type(m).__name__}) holds parameters and is not nn.Linear"
        if type(m) is not nn.Sequential and type(m) not in _ROWWISE_MODULES:
            unknown.append(f"module {name or '<root>'!r} is a {type(m).__name__}, not Linear or a row-wise module")
    if unknown:
        return unknown[0]
    ids = [id(m) for _, m in linears]
    if len(set(ids)) != len(ids):
        return "a Linear module is used more than once"
    tensors = [id(p) for _, m in linears for p in m.parameters()]
    if len(set(tensors)) != len(tensors):
        return "Linear layers share parameters"
    return [(n, m) for n, m in linears if any(p.requires_grad for p in m.parameters())]


def _linear_chunk(
    model: nn.Module, linears: Sequence[tuple[str, nn.Linear]], x: torch.Tensor, y: torch.Tensor
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(input, output gradient) of each trainable Linear layer for one chunk of rows.

    Uses ``torch.autograd.grad`` with respect to the layer outputs, so no parameter's
    ``.grad`` is touched and no parameter gradient is computed.
    """
    records: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {id(m): [] for _, m in linears}

    def hook(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        records[id(module)].append((inputs[0], output))

    handles = [m.register_forward_hook(hook) for _, m in linears]
    try:
        with torch.enable_grad():
            loss = _loss(model(x), y)
            pairs = []
            for name, m in linears:
                rec = records[id(m)]
                if len(rec) != 1:
                    raise _NotGhostable(f"Linear {name!r} ran {len(rec)} times in one forward pass")
                a, out = rec[0]
                if a.ndim != 2 or a.shape[0] != x.shape[0]:
                    raise _NotGhostable(f"Linear {name!r} got input of shape {tuple(a.shape)}, not (rows, features)")
                pairs.append((a, out))
            if not pairs:
                return []
            deltas = torch.autograd.grad(loss, [out for _, out in pairs], allow_unused=True)
    finally:
        for h in handles:
            h.remove()
    return [
        (a.detach(), torch.zeros_like(out) if d is None else d.detach())
        for (a, out), d in zip(pairs, deltas, strict=True)
    ]


def _ghost_norms(
    model: nn.Module, linears: Sequence[tuple[str, nn.Linear]], X: torch.Tensor, y: torch.Tensor, batch_size: int
) -> np.ndarray:
    sq = np.zeros(X.shape[0], dtype=np.float64)
    for start in range(0, X.shape[0], batch_size):
        stop = start + batch_size
        chunk = torch.zeros(min(stop, X.shape[0]) - start, dtype=torch.float64, device=X.device)
        for (_, m), (a, d) in zip(linears, _linear_chunk(model, linears, X[start:stop], y[start:stop]), strict=True):
            dn = d.to(torch.float64).square().sum(1)
            if m.weight.requires_grad:
                chunk += dn * a.to(torch.float64).square().sum(1)
            if m.bias is not None and m.bias.requires_grad:
                chunk += dn
        sq[start:stop] = chunk.cpu().numpy()
    return sq


def _func_norms(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int) -> np.ndarray:
    from torch.func import functional_call, grad, vmap

    named = dict(model.named_parameters())
    params = {k: p.detach() for k, p in named.items() if p.requires_grad}
    frozen = {k: p.detach() for k, p in named.items() if not p.requires_grad}
    frozen.update({k: b.detach() for k, b in model.named_buffers()})
    n_params = sum(p.numel() for p in params.values())
    itemsize = next(iter(params.values())).element_size()
    chunk_rows = max(1, min(batch_size, _FALLBACK_BYTES // max(1, n_params * itemsize)))

    def example_loss(p: dict[str, torch.Tensor], xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        return _loss(functional_call(model, (p, frozen), (xi.unsqueeze(0),)), yi.unsqueeze(0))

    per_example_grad = vmap(grad(example_loss), in_dims=(None, 0, 0))
    sq = np.zeros(X.shape[0], dtype=np.float64)
    with torch.enable_grad():
        for start in range(0, X.shape[0], chunk_rows):
            stop = start + chunk_rows
            grads = per_example_grad(params, X[start:stop], y[start:stop])
            total = sum(g.reshape(g.shape[0], -1).to(torch.float64).square().sum(1) for g in grads.values())
            sq[start:stop] = torch.as_tensor(total).cpu().numpy()
    return sq


# ----------------------------------------------------------------------------- public


def per_sample_grad_norms(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, batch_size: int = 4096) -> np.ndarray:
    """L2 norm of each example's loss gradient over every trainable parameter (GraNd).

    The loss is the example's own cross-entropy ``CE(model(x_i), y_i)`` (not divided by
    any batch size). The model runs in eval mode; it is left exactly as found.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch ``X`` of shape (n_samples, ...) to logits of shape (n_samples, n_classes).
        Models made of ``nn.Linear`` layers and row-wise parameter-free modules (ReLU,
        Tanh, GELU, Dropout, Flatten, nested ``nn.Sequential``, ...) use the ghost-norm
        identity (one forward and one backward per chunk); any other model uses
        ``torch.func.vmap(grad)``.
    X : torch.Tensor of shape (n_samples, ...)
        Inputs; cast to the model's dtype and device.
    y : torch.Tensor of shape (n_samples,)
        Integer class indices.
    batch_size : int, default 4096
        Rows per forward/backward pass. The result does not depend on it.

    Returns
    -------
    ndarray of shape (n_samples,), float64

    Examples
    --------
    >>> import torch
    >>> from datafactors.learners import per_sample_grad_norms
    >>> model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    >>> per_sample_grad_norms(model, torch.randn(5, 3), torch.tensor([0, 1, 0, 1, 1])).shape
    (5,)
    """
    X_t, y_t, _ = check_grad_inputs(model, X, y, batch_size)
    if X_t.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    linears = ghost_linears(model)
    with eval_mode(model):
        sq = None
        if not isinstance(linears, str):
            try:
                sq = _ghost_norms(model, linears, X_t, y_t, batch_size)
            except _NotGhostable:
                sq = None
        if sq is None:
            sq = _func_norms(model, X_t, y_t, batch_size)
    return np.sqrt(sq)


def per_sample_linear_grads(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, batch_size: int = 4096
) -> list[LinearFactors]:
    """The factors of every example's gradient, one :class:`LinearFactors` per Linear layer.

    For layer ``l`` the per-example gradient is ``outer(delta_i, a_i)`` for the weight
    and ``delta_i`` for the bias, so inner products of whole gradients follow from the
    factors alone (see :func:`grad_dot`). Layers without a trainable parameter are left
    out. Only models that take the ghost-norm path of :func:`per_sample_grad_norms` are
    accepted. The model runs in eval mode; it is left exactly as found.

    Parameters
    ----------
    model : torch.nn.Module
        ``nn.Linear`` layers and row-wise parameter-free modules only.
    X : torch.Tensor of shape (n_samples, n_features)
    y : torch.Tensor of shape (n_samples,)
        Integer class indices.
    batch_size : int, default 4096
        Rows per forward/backward pass. The result does not depend on it.

    Returns
    -------
    list of LinearFactors
        In the order the layers run; ``a`` has shape (n_samples, in_features) and
        ``delta`` (n_samples, out_features), both in the model's dtype.

    Examples
    --------
    >>> import torch
    >>> from datafactors.learners import grad_dot, per_sample_linear_grads
    >>> model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    >>> f = per_sample_linear_grads(model, torch.randn(5, 3), torch.tensor([0, 1, 0, 1, 1]))
    >>> [layer.a.shape for layer in f], grad_dot(f, f).shape
    ([(5, 3), (5, 4)], (5, 5))
    """
    X_t, y_t, _ = check_grad_inputs(model, X, y, batch_size)
    linears = ghost_linears(model)
    if isinstance(linears, str):
        raise DataError(f"per_sample_linear_grads needs a model of Linear and row-wise modules only: {linears}")
    chunks: list[list[tuple[torch.Tensor, torch.Tensor]]] = []
    with eval_mode(model):
        for start in range(0, X_t.shape[0], batch_size):
            try:
                chunks.append(
                    _linear_chunk(model, linears, X_t[start : start + batch_size], y_t[start : start + batch_size])
                )
            except _NotGhostable as err:
                raise DataError(f"per_sample_linear_grads cannot factor this model: {err}") from None
    out = []
    for j, (name, m) in enumerate(linears):
        if chunks:
            a = torch.cat([c[j][0] for c in chunks]).cpu().numpy()
            d = torch.cat([c[j][1] for c in chunks]).cpu().numpy()
        else:
            dtype = torch.empty(0, dtype=m.weight.dtype).numpy().dtype
            a = np.zeros((0, m.in_features), dtype=dtype)
            d = np.zeros((0, m.out_features), dtype=dtype)
        out.append(
            LinearFactors(
                a=a,
                delta=d,
                name=name,
                weight=bool(m.weight.requires_grad),
                bias=m.bias is not None and bool(m.bias.requires_grad),
            )
        )
    return out


def grad_dot(
    factors_a: Sequence[LinearFactors], factors_b: Sequence[LinearFactors], *, block_size: int = 2048
) -> np.ndarray:
    """Inner products ``<g_i, g_j>`` of whole per-example gradients, from their factors.

    ``<g_i, g_j> = sum_l w_l (a_i . a_j)(delta_i . delta_j) + b_l (delta_i . delta_j)``
    where ``w_l``/``b_l`` say whether layer ``l``'s weight/bias is trainable. Computed
    in float64, ``block_size`` rows of ``factors_a`` at a time; no per-example
    gradient vector is ever formed.

    Parameters
    ----------
    factors_a, factors_b : list of LinearFactors
        From :func:`per_sample_linear_grads` on the same model (e.g. train and validation
        examples, as in TracIn).
    block_size : int, default 2048

    Returns
    -------
    ndarray of shape (n_a, n_b), float64

    Examples
    --------
    >>> import numpy as np
    >>> f = [LinearFactors(np.ones((2, 3)), np.ones((2, 1)), "", True, True)]
    >>> grad_dot(f, f)
    array([[4., 4.],
           [4., 4.]])
    """
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise DataError(f"block_size == {block_size!r}, must be an int >= 1")
    if len(factors_a) != len(factors_b):
        raise DataError(
            f"factors_a has {len(factors_a)} layers but factors_b has {len(factors_b)}; same model expected"
        )
    if not factors_a:
        raise DataError("factors_a is empty, expected one LinearFactors per Linear layer")
    fa = [LinearFactors(*f) for f in factors_a]
    fb = [LinearFactors(*f) for f in factors_b]
    n_a, n_b = len(fa[0].a), len(fb[0].a)
    for k, (la, lb) in enumerate(zip(fa, fb, strict=True)):
        for side, f, n in (("factors_a", la, n_a), ("factors_b", lb, n_b)):
            if np.ndim(f.a) != 2 or np.ndim(f.delta) != 2 or len(f.a) != n or len(f.delta) != n:
                raise DataError(f"{side}[{k}] must hold a (n, in) and delta (n, out) with n == {n}")
        if np.shape(la.a)[1] != np.shape(lb.a)[1] or np.shape(la.delta)[1] != np.shape(lb.delta)[1]:
            raise DataError(
                f"layer {k}: factors_a has shapes {np.shape(la.a)[1:]}/{np.shape(la.delta)[1:]} but factors_b "
                f"{np.shape(lb.a)[1:]}/{np.shape(lb.delta)[1:]}; same model expected"
            )
        if (la.weight, la.bias) != (lb.weight, lb.bias):
            raise DataError(f"layer {k}: trainable weight/bias flags differ between factors_a and factors_b")
    out = np.zeros((n_a, n_b), dtype=np.float64)
    b_side = [(np.asarray(f.a, np.float64), np.asarray(f.delta, np.float64)) for f in fb]
    for start in range(0, n_a, block_size):
        stop = min(start + block_size, n_a)
        block = out[start:stop]
        for f, (a_b, d_b) in zip(fa, b_side, strict=True):
            dd = np.asarray(f.delta[start:stop], np.float64) @ d_b.T
            if f.weight:
                block += (np.asarray(f.a[start:stop], np.float64) @ a_b.T) * dd
            if f.bias:
                block += dd
    return out
