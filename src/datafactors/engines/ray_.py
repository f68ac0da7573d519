"""Run the same task functions as Ray tasks, locally or on a cluster.

Imported only when the ray engine is chosen. Results stream back to the driver as
tasks finish; the driver alone writes the store. Tasks are retried when a worker
dies (``max_retries``), and the large shared inputs are put in the object store once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .._errors import ConfigError


def _run_task(fn: Callable[[Any, Any], Any], spec: Any, data: Any) -> Any:
    import torch

    # One thread per task, as in the local engine, so results match across engines.
    torch.set_num_threads(1)
    return fn(spec, data)


class RayEngine:
    """Ray tasks (``num_cpus=1`` each). ``address`` is ``HOST:PORT`` of a running cluster;
    without it a local Ray instance with ``n_workers`` CPUs is started and stopped here."""

    name = "ray"

    def __init__(self, n_workers: int | None = None, address: str | None = None, max_retries: int = 3) -> None:
        self.n_workers = n_workers
        self.address = address
        self.max_retries = max_retries

    def _init(self):
        try:
            import ray
        except ImportError:
            raise ConfigError("the ray engine needs Ray: pip install 'ray[data]'") from None
        if ray.is_initialized():
            return ray, False
        try:
            if self.address:
                ray.init(address=self.address, log_to_driver=False, include_dashboard=False)
            else:
                ray.init(num_cpus=self.n_workers, log_to_driver=False, include_dashboard=False)
        except (ConnectionError, ValueError, RuntimeError) as e:
            where = self.address or "a local instance"
            raise ConfigError(f"cannot connect to Ray at {where}: {str(e).splitlines()[0]}") from None
        return ray, True

    def close(self) -> None:
        """Nothing to release: each map() starts and stops its own local Ray instance."""

    def map(self, fn: Callable[[Any, Any], Any], specs: Sequence[Any], data: Any) -> Iterator[tuple[Any, Any]]:
        specs = list(specs)
        if not specs:
            return
        ray, started = self._init()
        try:
            remote = ray.remote(num_cpus=1, max_retries=self.max_retries, retry_exceptions=False)(_run_task)
            data_ref = ray.put(data)
            pending = {remote.remote(fn, s, data_ref): s for s in specs}
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    spec = pending.pop(ref)
                    yield spec, ray.get(ref)
        finally:
            if started:
                ray.shutdown()
