"""GraNd per-example gradient norms: naive backward loop vs torch.func vmap(grad) vs ghost norms.

Run as::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/bench_grand.py

``main()`` returns the measured numbers (bench/run_all.py calls it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from datafactors.learners import per_sample_grad_norms

N, D_IN, HIDDEN, N_CLASSES = 4000, 40, (128, 128), 10
TARGET_RATIO = 20.0
MAX_ABS_DIFF = 1e-5


def _model(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    sizes = (D_IN, *HIDDEN)
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], N_CLASSES)).eval()


def _loop(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    params = list(model.parameters())
    out = np.empty(len(X))
    for i in range(len(X)):
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(X[i : i + 1]), y[i : i + 1], reduction="sum").backward()
        out[i] = torch.sqrt(sum(p.grad.double().square().sum() for p in params)).item()
    model.zero_grad(set_to_none=True)
    return out


def _vmap(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    params = {k: p.detach() for k, p in model.named_parameters()}

    def loss(p: dict[str, torch.Tensor], xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        logits = functional_call(model, p, (xi.unsqueeze(0),))
        return nn.functional.cross_entropy(logits, yi.unsqueeze(0), reduction="sum")

    grads = vmap(grad(loss), in_dims=(None, 0, 0))(params, X, y)
    sq = sum(g.reshape(len(X), -1).double().square().sum(1) for g in grads.values())
    return torch.sqrt(sq).numpy()


def _time(fn: Callable[[], np.ndarray], repeats: int) -> tuple[float, np.ndarray]:
    best, result = float("inf"), np.empty(0)
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> dict[str, Any]:
    """Time the three methods on a 40-128-128-10 MLP and 4000 random examples."""
    unset = {k: k not in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    for k, was_unset in unset.items():
        print(f"{k}: {'unset' if was_unset else 'SET to ' + repr(os.environ[k])}")
    threads = torch.get_num_threads()
    print(
        f"torch {torch.__version__}, {threads} threads (torch default), n={N}, MLP {D_IN}-{'-'.join(map(str, HIDDEN))}-{N_CLASSES}"
    )

    g = torch.Generator().manual_seed(0)
    X = torch.randn(N, D_IN, generator=g)
    y = torch.randint(0, N_CLASSES, (N,), generator=g)
    model = _model()

    t_loop, ref = _time(lambda: _loop(model, X, y), repeats=1)
    t_vmap, r_vmap = _time(lambda: _vmap(model, X, y), repeats=5)
    t_batch, r_batch = _time(lambda: per_sample_grad_norms(model, X, y), repeats=5)

    diff_vmap = float(np.max(np.abs(r_vmap - ref)))
    diff_batch = float(np.max(np.abs(r_batch - ref)))
    rows = [
        ("naive loop", t_loop, float("nan")),
        ("torch.func vmap(grad)", t_vmap, diff_vmap),
        ("batched (ghost norms)", t_batch, diff_batch),
    ]
    print(f"\n{'method':<24}{'seconds':>10}{'max |diff| to loop':>22}")
    for name, t, d in rows:
        print(f"{name:<24}{t:>10.4f}{'-' if np.isnan(d) else f'{d:.2e}':>22}")
    result = {
        "n": N,
        "threads": threads,
        "openblas_vars_unset": all(unset.values()),
        "loop_s": t_loop,
        "vmap_s": t_vmap,
        "batched_s": t_batch,
        "loop_over_batched": t_loop / t_batch,
        "vmap_over_batched": t_vmap / t_batch,
        "max_abs_diff_vmap": diff_vmap,
        "max_abs_diff_batched": diff_batch,
    }
    result["ok"] = bool(result["loop_over_batched"] >= TARGET_RATIO and diff_batch <= MAX_ABS_DIFF)
    print(
        f"\nloop/batched = {result['loop_over_batched']:.1f}x (target >= {TARGET_RATIO:.0f}x), "
        f"vmap/batched = {result['vmap_over_batched']:.1f}x, "
        f"max |diff| batched = {diff_batch:.2e} (must be <= {MAX_ABS_DIFF:g}) -> {'OK' if result['ok'] else 'FAIL'}"
    )
    return result


if __name__ == "__main__":
    main()
