"""Run the same task functions as Ray tasks, locally or on a cluster.

Imported only when the ray engine is chosen. Results stream back to the driver as
tasks finish; the driver alone writes the store. Tasks are retried when a worker
dies (``max_retries``), and the large shared inputs are put in the object store once.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .._errors import ConfigError


def _run_task(fn: Callable[[Any, Any], Any], spec: Any, data: Any) -> Any:
    import torch

    # One thread per task, as in the local engine, so results match across engines.
    torch.set_num_threads(1)
    return fn(spec, data)


def check_address(address: str, timeout: float = 5.0) -> None:
    """Fail fast with a ConfigError when ``HOST:PORT`` is malformed or nothing listens there.

    ``ray.init`` itself retries an unreachable address for minutes; a plain TCP connect
    to the cluster's GCS port answers in milliseconds. ``auto`` and ``ray://`` (Ray
    Client) addresses are passed to Ray unchecked apart from their form.
    """
    if address == "auto":
        return
    hostport = address.removeprefix("ray://")
    host, sep, port_text = hostport.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"--address {address!r} must be HOST:PORT of a Ray cluster's head, e.g. 127.0.0.1:6379")
    try:
        with socket.create_connection((host, int(port_text)), timeout=timeout):
            pass
    except OSError as e:
        why = e.strerror or type(e).__name__
        raise ConfigError(
            f"cannot reach a Ray cluster at {address}: {why}; start one with "
            f"`ray start --head --port {port_text}` or check the address"
        ) from None


class RayEngine:
    """Ray tasks (``num_cpus=1`` each). ``address`` is ``HOST:PORT`` of a running cluster;
    without it a local Ray instance with ``n_workers`` CPUs is started on first use and
    stopped by :meth:`close`. An instance that was already connected is left running."""

    name = "ray"

    def __init__(
        self,
        n_workers: int | None = None,
        address: str | None = None,
        max_retries: int = 3,
        logging_level: int = logging.WARNING,
    ) -> None:
        if address is not None:
            check_address(address)  # before any run folder exists
        self.n_workers = n_workers
        self.address = address
        self.max_retries = max_retries
        self.logging_level = logging_level
        self._ray: Any = None
        self._started = False
        self._data: Any = None
        self._data_ref: Any = None

    def connect(self) -> Any:
        """The ``ray`` module, connected: to ``address``, to an instance already running in
        this process, or to a local instance started here (stopped by :meth:`close`)."""
        if self._ray is not None and self._ray.is_initialized():
            return self._ray
        try:
            import ray
        except ImportError:
            raise ConfigError("the ray engine needs Ray: pip install 'datafactors[ray]'") from None
        if not ray.is_initialized():
            try:
                opts = {"log_to_driver": False, "include_dashboard": False, "logging_level": self.logging_level}
                if self.address:
                    ray.init(address=self.address, **opts)
                else:
                    ray.init(num_cpus=self.n_workers, **opts)
            except (ConnectionError, ValueError, RuntimeError) as e:
                where = self.address or "a local instance"
                raise ConfigError(f"cannot connect to Ray at {where}: {str(e).splitlines()[0]}") from None
            self._started = True
        self._ray = ray
        return ray

    def close(self) -> None:
        """Stop the local instance this engine started (idempotent); a cluster keeps running."""
        if self._started and self._ray is not None and self._ray.is_initialized():
            self._ray.shutdown()
        self._ray = None
        self._started = False
        self._data = self._data_ref = None

    def put(self, data: Any) -> Any:
        """``data`` in the object store, once per object (stages of a run share one copy)."""
        ray = self.connect()
        if self._data_ref is None or self._data is not data:
            self._data_ref = ray.put(data)
            self._data = data
        return self._data_ref

    def map(self, fn: Callable[[Any, Any], Any], specs: Sequence[Any], data: Any) -> Iterator[tuple[Any, Any]]:
        specs = list(specs)
        if not specs:
            return
        ray = self.connect()
        remote = ray.remote(num_cpus=1, max_retries=self.max_retries, retry_exceptions=False)(_run_task)
        data_ref = self.put(data)
        pending = {remote.remote(fn, s, data_ref): s for s in specs}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    spec = pending.pop(ref)
                    yield spec, ray.get(ref)
        finally:
            for ref in pending:  # the consumer stopped early (error, interrupt): leave no work queued
                ray.cancel(ref)
