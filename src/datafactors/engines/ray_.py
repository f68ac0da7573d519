"""Run the same task functions as Ray tasks, locally or on a cluster.

Imported only when the ray engine is chosen. Results stream back to the driver as
tasks finish; the driver alone writes the store. Tasks are retried when a worker
dies (``max_retries``), and the large shared inputs are put in the object store once.

Connecting
----------
Without an address a local instance is started explicitly (``address="local"``), so a
``ray_current_cluster`` file left in Ray's temp folder by a cluster that was killed is
never joined. With an address the engine connects when it is built (before a run folder
exists) and fails fast, with one :class:`ConfigError` saying which of these it met:

- nothing listens at the address (a TCP connect is refused or times out);
- something else listens there (it does not answer as a gRPC server, as a Ray head's GCS does);
- the head refuses this driver's authentication token (Ray's token authentication);
- the head advertises an address this machine cannot use (start it with ``--node-ip-address``).

``ray.init`` itself would retry each of these for minutes. While the engine is connected,
SIGTERM and SIGINT print one line and raise ``KeyboardInterrupt`` in the main thread, so a
terminated command unwinds like Ctrl-C: the engine shuts Ray down and a run folder stays resumable.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .._errors import ConfigError

__all__ = ["RayEngine", "check_address", "connect_error", "interrupt_on_signals", "restore_signals"]

PROBE_TIMEOUT = 3.0  # seconds for the TCP connect and for the gRPC greeting
CONNECT_TIMEOUT = 45.0  # seconds for ray.init once the head has answered

# A client's HTTP/2 connection preface and an empty SETTINGS frame: any gRPC server (a Ray
# head's GCS) answers at once with its own SETTINGS frame (frame type 0x4).
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
_H2_SETTINGS = 0x4

_AUTH_HINT = (
    "Ray's token authentication is on and the head, every worker and this driver must share one token: "
    "export the cluster's token as RAY_AUTH_TOKEN (with RAY_AUTH_MODE=token) in the shell of `ray start --head`, "
    "of every `ray start --address` and of this command (`ray get-auth-token` on the head prints it)"
)
_ADVERTISED_HINT = (
    "Ray advertises the machine's own IP unless told otherwise; start the head and workers with "
    "`ray start ... --node-ip-address <an address every node and this driver can reach>` "
    "(127.0.0.1 for a cluster on one machine) and connect to that address"
)


def _run_task(fn: Callable[[Any, Any], Any], spec: Any, data: Any) -> Any:
    import torch

    # One thread per task, as in the local engine, so results match across engines.
    torch.set_num_threads(1)
    return fn(spec, data)


def _split(address: str) -> tuple[str, int]:
    hostport = address.removeprefix("ray://")
    host, sep, port_text = hostport.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"--address {address!r} must be HOST:PORT of a Ray cluster's head, e.g. 127.0.0.1:6379")
    return host, int(port_text)


def check_address(address: str, timeout: float = PROBE_TIMEOUT) -> None:
    """Fail fast with a ConfigError when ``HOST:PORT`` is malformed, nothing listens there, or
    what listens is not a gRPC server (a Ray head's GCS port is one).

    Both probes answer within ``timeout`` seconds each. ``auto`` is passed to Ray unchecked;
    ``ray://`` (Ray Client) addresses are checked for their form and a listener only.
    """
    if address == "auto":
        return
    host, port = _split(address)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as e:
        why = e.strerror or ("timed out" if isinstance(e, TimeoutError) else type(e).__name__)
        raise ConfigError(
            f"cannot reach a Ray cluster at {address}: nothing answers there ({why}); start one with "
            f"`ray start --head --port {port}`, or check the host and port"
        ) from None
    with sock:
        if address.startswith("ray://") or os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
            return  # Ray Client and TLS speak other greetings
        try:
            sock.sendall(_H2_PREFACE)
            reply = sock.recv(9)
        except OSError:
            reply = b""
    if len(reply) < 4 or reply[3] != _H2_SETTINGS:
        seen = f"it answered {reply[:9]!r}" if reply else "it gave no gRPC greeting"
        raise ConfigError(
            f"something other than a Ray head listens at {address} ({seen}); check the port: "
            f"`ray start --head --port PORT` prints the address to connect to (`ray status` on the head shows it)"
        )


def connect_error(error: BaseException | str, address: str) -> ConfigError:
    """The ConfigError for a refused connection to ``address``, from Ray's exception (or its text).

    Ray wraps the cause (``ConnectionError: Failed to connect to Ray cluster at ...`` over a
    ``RuntimeError`` over an ``AuthenticationError``); the whole chain is read.
    """
    if isinstance(error, BaseException):
        parts: list[str] = []
        seen: set[int] = set()
        stack: list[BaseException | None] = [error]
        while stack:
            x = stack.pop()
            if x is None or id(x) in seen:
                continue
            seen.add(id(x))
            parts.append(f"{type(x).__name__}: {x}")
            stack += [x.__cause__, x.__context__]
        text = "\n".join(parts)
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
    else:
        text = error
        first = error.splitlines()[0] if error else "unknown error"
    low = text.lower()
    if "authenticationerror" in low or "invalidauthtoken" in low or "unauthenticated" in low:
        return ConfigError(f"the Ray cluster at {address} refused this driver's authentication token. {_AUTH_HINT}")
    if (
        "cannot find a local raylet" in low
        or "found no raylet with this ip address" in low
        or "no node info found matching attributes" in low
        or "--node-ip-address" in low
    ):
        return ConfigError(
            f"the Ray head at {address} answered, but the node address it advertises cannot be used from this "
            f"machine. {_ADVERTISED_HINT}"
        )
    return ConfigError(f"cannot connect to Ray at {address}: {first}")


class _ConnectTimeout(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise _ConnectTimeout in the main thread after ``seconds`` (no limit elsewhere)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise _ConnectTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_told = threading.Event()


def _raise_interrupt(signum: int, frame: Any) -> None:
    # Typer turns KeyboardInterrupt into a silent exit 130, so the one line is said here.
    if not _told.is_set():
        _told.set()
        name = signal.Signals(signum).name
        print(f"interrupted ({name}): stopping Ray", file=sys.stderr, flush=True)
    raise KeyboardInterrupt(f"interrupted ({signal.Signals(signum).name})")


def interrupt_on_signals() -> dict[int, Any] | None:
    """Make SIGTERM and SIGINT print one line and raise ``KeyboardInterrupt`` in the main thread.

    The exception unwinds the command like Ctrl-C: ``finally`` blocks run (the engine shuts
    Ray down, the store closes, a run folder stays resumable). Returns the previous handlers
    by signal number (give them back with :func:`restore_signals`), or None outside the main
    thread (nothing is changed then).
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    _told.clear()
    return {sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}


def restore_signals(previous: dict[int, Any] | None) -> None:
    """Give back the handlers :func:`interrupt_on_signals` replaced (main thread only)."""
    if previous and threading.current_thread() is threading.main_thread():
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


class RayEngine:
    """Ray tasks (``num_cpus=1`` each).

    ``address`` is ``HOST:PORT`` of a running cluster: the engine connects when it is built
    and raises :class:`ConfigError` at once when it cannot (see the module notes). Without
    it a local instance with ``n_workers`` CPUs is started on first use and stopped by
    :meth:`close`. An instance already connected in this process is used and left running.
    """

    name = "ray"

    def __init__(
        self,
        n_workers: int | None = None,
        address: str | None = None,
        max_retries: int = 3,
        logging_level: int = logging.WARNING,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self.n_workers = n_workers
        self.address = address
        self.max_retries = max_retries
        self.logging_level = logging_level
        self.connect_timeout = connect_timeout
        self._ray: Any = None
        self._started = False
        self._signals: dict[int, Any] | None = None
        self._data: Any = None
        self._data_ref: Any = None
        if address is not None:
            self.connect()  # before any run folder exists

    def connect(self) -> Any:
        """The ``ray`` module, connected: to ``address``, to an instance already running in
        this process, or to a local instance started here (stopped by :meth:`close`)."""
        if self._ray is not None and self._ray.is_initialized():
            return self._ray
        if self.address is not None:
            check_address(self.address)
        try:
            import ray
        except ImportError:
            raise ConfigError("the ray engine needs Ray: pip install 'datafactors[ray]'") from None
        if not ray.is_initialized():
            opts: dict[str, Any] = {
                "log_to_driver": False,
                "include_dashboard": False,
                "logging_level": self.logging_level,
            }
            # ray.init replaces the SIGTERM handler with its own: keep the one to give back.
            previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
            try:
                if self.address:
                    self._check_gcs(self.address)
                    with _deadline(self.connect_timeout):
                        ray.init(address=self.address, **opts)
                else:
                    # "local": never join what a stale ray_current_cluster file names.
                    ray.init(address="local", num_cpus=self.n_workers, **opts)
            except _ConnectTimeout:
                ray.shutdown()
                raise ConfigError(
                    f"cannot connect to Ray at {self.address}: the head answered but ray.init did not finish "
                    f"within {self.connect_timeout:g} s. {_ADVERTISED_HINT}"
                ) from None
            except (ConnectionError, ValueError, RuntimeError) as e:
                ray.shutdown()
                raise connect_error(e, self.address or "a local instance") from None
            except BaseException:
                ray.shutdown()
                raise
            self._started = True
            if interrupt_on_signals() is not None:
                self._signals = previous
        self._ray = ray
        return ray

    @staticmethod
    def _check_gcs(address: str) -> None:
        """One GCS handshake (milliseconds): a refused token fails here instead of after 20 retries."""
        if address == "auto" or address.startswith("ray://"):
            return
        try:
            from ray._raylet import GcsClient
        except ImportError:  # another Ray layout: ray.init reports the same errors, slower
            return
        try:
            with _deadline(PROBE_TIMEOUT * 5):
                GcsClient(address=address)
        except _ConnectTimeout:
            return  # let ray.init (bounded) decide
        except Exception as e:
            err = connect_error(e, address)
            if "authentication" in str(err):
                raise err from None

    def close(self) -> None:
        """Stop the local instance this engine started (idempotent); a cluster keeps running."""
        if self._started and self._ray is not None and self._ray.is_initialized():
            self._ray.shutdown()
        restore_signals(self._signals)
        self._signals = None
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
                with contextlib.suppress(Exception):
                    ray.cancel(ref)
