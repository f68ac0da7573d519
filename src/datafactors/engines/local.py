"""Run task functions in a pool of worker processes on this machine."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

_WORKER_DATA: Any = None


def _init_worker(data: Any) -> None:
    global _WORKER_DATA
    _WORKER_DATA = data
    # One BLAS / torch thread per worker: the pool supplies the parallelism, and a
    # fixed thread count keeps results identical to the in-process path.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


def _call(fn: Callable[[Any, Any], Any], spec: Any) -> Any:
    return fn(spec, _WORKER_DATA)


class LocalEngine:
    """Process pool sized to the machine (``n_workers`` defaults to the CPU count).

    With one worker, or one task, tasks run in this process (no start-up cost).
    Worker processes are started with ``spawn`` so they never inherit torch state.
    """

    name = "local"

    def __init__(self, n_workers: int | None = None) -> None:
        self.n_workers = n_workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None
        self._pool_data: Any = None

    def _get_pool(self, data: Any, workers: int) -> ProcessPoolExecutor:
        # Reuse the workers across stages of a run (starting one imports torch, ~2 s)
        # as long as the shared data is the same object.
        if self._pool is None or self._pool_data is not data:
            self.close()
            ctx = mp.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(data,)
            )
            self._pool_data = data
        return self._pool

    def close(self) -> None:
        """Stop the worker processes (idempotent)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._pool_data = None

    def map(self, fn: Callable[[Any, Any], Any], specs: Sequence[Any], data: Any) -> Iterator[tuple[Any, Any]]:
        specs = list(specs)
        if not specs:
            return
        workers = self.n_workers
        if workers <= 1 or (len(specs) == 1 and self._pool is None):
            for s in specs:
                yield s, fn(s, data)
            return
        pool = self._get_pool(data, workers)
        pending = {pool.submit(_call, fn, s): s for s in specs}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    spec = pending.pop(fut)
                    yield spec, fut.result()
        finally:
            for fut in pending:
                fut.cancel()
