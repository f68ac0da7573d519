"""Connecting the ray engine: fail fast and say why, never join a stale cluster, stop cleanly on SIGTERM.

The address checks need no Ray instance: a plain TCP server (started here with ``socket``)
stands for "something else listens", a closed port for "nothing listens". The tests that
start Ray are marked slow and give it its own temp folder (``RAY_TMPDIR``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dfcli_helpers import CLI_PREFIX, SMALL_CONFIG, assert_ok, cli_env, read_tables, small_config_dict, write_yaml

from datafactors._errors import ConfigError
from datafactors.engines import make_engine
from datafactors.engines.ray_ import check_address, connect_error

TINY = small_config_dict(
    budgets=[0.5, 1.0], seeds=[0], strategies=[{"name": "random", "selector": "random"}],
    scoring={"scores": ["el2n"], "seeds": 1}, epochs=2,
)  # fmt: skip

# What Ray 2.60 raises when the head refuses the driver's token (ray.init -> ConnectionError
# over the RuntimeError of node.py's GCS connect over ray.exceptions.AuthenticationError).
AUTH_TEXT = (
    "RPC error: InvalidAuthToken: Authentication token is missing or incorrect. Note: RAY_AUTH_MODE is currently "
    "'disabled' (not 'token'). Ensure that the token for the cluster is available in a local file (e.g., "
    "~/.ray/auth_token or via RAY_AUTH_TOKEN_PATH) or as the `RAY_AUTH_TOKEN` environment variable."
)
# What Ray's core worker reports when no raylet has the address the driver resolves to
# (src/ray/gcs_rpc_client/accessor.cc), and services.get_node_to_connect_for_driver's error.
ADVERTISED_TEXT = (
    "This node has an IP address of 10.0.0.5, but we cannot find a local Raylet with the same address. "
    "This can happen when you connect to the Ray cluster with a different IP address or when connecting to a "
    "container. Also, Ray expects this IP address to be either the GCS address or one of the Raylet addresses. "
    "Connected to GCS at 10.0.0.1:6379, and found no Raylet with this IP address. You might need to provide "
    "--node-ip-address to specify the IP address that the head should use when sending to this node."
)
NO_NODE_TEXT = "No node info found matching attributes: '10.0.0.5' when trying to resolve node to connect to."


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield int(srv.getsockname()[1])
    stop.set()
    t.join(timeout=2)
    for c in conns:
        c.close()
    srv.close()


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens


# ------------------------------------------------------------------ the error classifier


def test_auth_refusal_names_the_token():
    try:
        try:
            try:
                raise RuntimeError(f"Failed to connect to GCS. Last connection error: ...\n{AUTH_TEXT}")
            except RuntimeError as inner:
                raise RuntimeError("Failed to connect to GCS.") from inner
        except RuntimeError as mid:
            raise ConnectionError("Failed to connect to Ray cluster at 192.0.2.2:6391") from mid
    except ConnectionError as e:
        err = connect_error(e, "127.0.0.1:6391")
    text = str(err)
    assert text.startswith("the Ray cluster at 127.0.0.1:6391 refused this driver's authentication token")
    assert "RAY_AUTH_TOKEN" in text and "--node-ip-address" not in text
    assert "\n" not in text


@pytest.mark.parametrize("ray_text", [ADVERTISED_TEXT, NO_NODE_TEXT])
def test_unusable_advertised_address_names_node_ip_address(ray_text):
    err = connect_error(RuntimeError(ray_text), "10.0.0.1:6379")
    text = str(err)
    assert "the node address it advertises cannot be used from this machine" in text
    assert "--node-ip-address" in text and "RAY_AUTH_TOKEN" not in text


def test_other_refusals_keep_rays_first_line():
    err = connect_error(ConnectionError("Failed to connect to Ray cluster at 10.0.0.1:6379\nmore"), "10.0.0.1:6379")
    assert str(err) == "cannot connect to Ray at 10.0.0.1:6379: Failed to connect to Ray cluster at 10.0.0.1:6379"
    assert "authentication" in str(connect_error(AUTH_TEXT, "h:1"))


# ------------------------------------------------------------------ address probes (no Ray started)


def test_something_else_listening_fails_fast(silent_server):
    t0 = time.monotonic()
    with pytest.raises(ConfigError, match=f"something other than a Ray head listens at 127.0.0.1:{silent_server}"):
        make_engine("ray", address=f"127.0.0.1:{silent_server}")
    assert time.monotonic() - t0 < 10


def test_an_http_server_is_not_a_ray_head():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def answer() -> None:
        c, _ = srv.accept()
        c.recv(64)
        c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        c.close()

    threading.Thread(target=answer, daemon=True).start()
    port = srv.getsockname()[1]
    try:
        with pytest.raises(ConfigError, match=r"something other than a Ray head.*it answered b'HTTP/1.1 "):
            check_address(f"127.0.0.1:{port}")
    finally:
        srv.close()


def test_nothing_listening_and_malformed_addresses():
    port = _closed_port()
    with pytest.raises(ConfigError, match=f"cannot reach a Ray cluster at 127.0.0.1:{port}: nothing answers"):
        check_address(f"127.0.0.1:{port}")
    for bad in ("127.0.0.1", "host:port", ":6379", "h:70000"):
        with pytest.raises(ConfigError, match="must be HOST:PORT"):
            check_address(bad)


def _run_cli(*args: object, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI_PREFIX, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env or cli_env()
    )


def test_run_against_a_wrong_port_fails_fast_without_a_run_folder(silent_server, tmp_path):
    cfg = write_yaml(tmp_path / "tiny.yaml", TINY)
    out = tmp_path / "out"
    t0 = time.monotonic()
    proc = _run_cli("run", cfg, "--engine", "ray", "--address", f"127.0.0.1:{silent_server}", "--out", out, "--quiet")
    took = time.monotonic() - t0
    assert proc.returncode == 2, proc.stderr
    assert took < 30, f"took {took:.1f} s"
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "something other than a Ray head listens" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists() or not any(out.iterdir())


def test_run_where_nothing_listens_fails_fast_without_a_run_folder(tmp_path):
    cfg = write_yaml(tmp_path / "tiny.yaml", TINY)
    out = tmp_path / "out"
    port = _closed_port()
    t0 = time.monotonic()
    proc = _run_cli("run", cfg, "--engine", "ray", "--address", f"127.0.0.1:{port}", "--out", out, "--quiet")
    assert proc.returncode == 2, proc.stderr
    assert time.monotonic() - t0 < 30
    assert "nothing answers there" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists() or not any(out.iterdir())


# ------------------------------------------------------------------ local instances (start Ray)


@pytest.fixture
def ray_tmpdir() -> Iterator[Path]:
    """A short private RAY_TMPDIR (Ray's socket paths must fit in 107 bytes)."""
    temp = Path(tempfile.mkdtemp(prefix="dfray"))
    yield temp
    shutil.rmtree(temp, ignore_errors=True)


def _ray_env(tmpdir: Path) -> dict[str, str]:
    env = {**cli_env(), "RAY_TMPDIR": str(tmpdir), "RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}
    env.pop("RAY_ADDRESS", None)
    return env


@pytest.mark.slow
def test_no_address_never_joins_a_stale_cluster(ray_tmpdir, tmp_path):
    # What a cluster killed (not stopped) leaves: Ray's auto-detection would try this address for good.
    (ray_tmpdir / "ray").mkdir()
    (ray_tmpdir / "ray" / "ray_current_cluster").write_text(f"127.0.0.1:{_closed_port()}")
    cfg = write_yaml(tmp_path / "tiny.yaml", TINY)
    out = tmp_path / "out"
    proc = _run_cli("run", cfg, "--engine", "ray", "--out", out, "--quiet", env=_ray_env(ray_tmpdir), timeout=240)
    assert_ok(proc)
    run_dir = next(p for p in out.iterdir() if p.is_dir())
    trials = read_tables(run_dir, "trials")["trials"]
    assert len(trials) == 2 and (trials["status"] == "ok").all()


def _descendants(root: int) -> dict[int, str]:
    """pid -> command line of every live process below ``root`` (from /proc)."""
    table: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, IndexError, ValueError):
            continue
        table[int(entry)] = (ppid, cmd)
    found = {root}
    grew = True
    while grew:
        new = {p for p, (pp, _) in table.items() if pp in found and p not in found}
        found |= new
        grew = bool(new)
    return {p: table[p][1] for p in found - {root} if p in table}


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_stops_a_ray_run_cleanly_and_resume_finishes_it(ray_tmpdir, tmp_path):
    cfg = write_yaml(tmp_path / "small.yaml", SMALL_CONFIG)
    out = tmp_path / "out"
    env = _ray_env(ray_tmpdir)
    proc = subprocess.Popen(
        [*CLI_PREFIX, "run", str(cfg), "--engine", "ray", "--out", str(out), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    seen: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 180
        while proc.poll() is None and time.monotonic() < deadline:
            below = _descendants(proc.pid)
            seen.update(below)
            if any(cmd.startswith("ray::_run_task") for cmd in below.values()):
                break  # a proxy or a trial is running as a Ray task
            time.sleep(0.05)
        if proc.poll() is not None:
            pytest.skip("the run finished before a Ray task was seen running (machine too fast)")
        proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        try:
            _, stderr = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("the run did not stop within 20 s of SIGTERM")
        assert time.monotonic() - t0 < 20
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert stderr.count("interrupted (SIGTERM): stopping Ray") == 1 and "Traceback" not in stderr, stderr
    # The local instance went with the command: none of its processes outlives it for long.
    deadline = time.monotonic() + 15
    while True:
        left = [p for p in seen if _state(p) not in ("Z", "gone")]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not left, [seen[p] for p in left]

    run_dir = next(p for p in out.iterdir() if p.is_dir())
    resumed = _run_cli("run", "--resume", run_dir, "--engine", "ray", "--quiet", env=env, timeout=300)
    assert_ok(resumed)
    trials = read_tables(run_dir, "trials")["trials"]
    assert len(trials) == 12 and trials["trial_id"].is_unique and (trials["status"] == "ok").all()


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0].decode()
    except OSError:
        return "gone"
