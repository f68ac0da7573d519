"""A real two-node Ray cluster on this machine: runs, sharded scoring and dedup against it, a worker killed mid-grid.

The cluster is two ``ray start --block`` processes (a head and a second node, one CPU
each) with their own temp folder and a fresh auth token, reached at ``127.0.0.1:<port>``.
Ray advertises the machine's own interface address for multi-node clusters, so traffic
stays on this host. Teardown stops exactly the processes this module started (the two
``ray start`` processes, then any descendant still alive) -- never ``ray stop``, which
would also stop other Ray instances of the same user on a shared machine.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dfcli_helpers import CLI_PREFIX, SMALL_CONFIG, assert_ok, cli_env, read_tables, sorted_metrics, write_yaml

import datafactors as df

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")]

RAY = Path(sys.executable).with_name("ray")
START_TIMEOUT = 90
N_TRIALS = 12  # SMALL_CONFIG: 2 strategies x 3 budgets x 2 seeds


# ------------------------------------------------------------------ processes


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process readable in /proc."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        out[int(entry)] = (ppid, cmd)
    return out


def _descendants(roots: set[int], table: dict[int, tuple[int, str]]) -> set[int]:
    found = set(roots) & set(table)
    grew = True
    while grew:
        new = {p for p, (pp, _) in table.items() if pp in found and p not in found}
        found |= new
        grew = bool(new)
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    address: str
    env: dict[str, str]
    head: subprocess.Popen
    node: subprocess.Popen
    temp: Path

    def task_workers(self) -> list[int]:
        """Worker processes running a task now (their title is ``ray::<function>``), second node first."""
        table = _processes()
        on_node = _descendants({self.node.pid}, table)
        on_head = _descendants({self.head.pid}, table)
        running = [p for p in (*sorted(on_node), *sorted(on_head)) if table[p][1].startswith("ray::_run_task")]
        return running


def _wait_started(proc: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if "Ray runtime started" in text:
            return
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}:\n{text[-3000:]}")
        time.sleep(0.2)
    pytest.fail(f"{what} did not start within {START_TIMEOUT} s:\n{log.read_text(errors='replace')[-3000:]}")


def _wait_listening(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"ray head exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
    pytest.fail(f"nothing listens on 127.0.0.1:{port} after {START_TIMEOUT} s")


def _stop(procs: list[subprocess.Popen], temp: Path) -> None:
    """SIGTERM the ``ray start --block`` processes (they stop their children), then SIGKILL any survivor.

    The survivors are the processes found below the two ``ray start`` processes before the
    signal (gcs_server, raylets, agents, workers) and any process naming this module's temp folder.
    """
    table = _processes()
    mine = _descendants({p.pid for p in procs}, table)
    mine |= {pid for pid, (_, cmd) in table.items() if str(temp) in cmd and pid != os.getpid()}
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 3  # the head's `ray start` may linger once its node is gone
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    alive = mine & set(_processes())
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for p in procs:
        if p.poll() is None:
            p.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    if not RAY.is_file():
        pytest.skip("the ray command line is not installed")
    temp = Path(tempfile.mkdtemp(prefix="dfray"))  # short: Ray's socket paths must fit in 107 bytes
    port = _free_port()
    env = {
        **cli_env(),
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
        # One token for the head, the node and the drivers, whatever ~/.ray holds.
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
    }
    common = ["--num-cpus", "1", "--temp-dir", str(temp), "--object-store-memory", str(150 * 2**20), "--block"]
    procs: list[subprocess.Popen] = []
    try:
        with open(temp / "head.log", "w") as log:
            head = subprocess.Popen(
                [str(RAY), "start", "--head", "--port", str(port), "--node-ip-address", "127.0.0.1",
                 "--disable-usage-stats", "--include-dashboard", "false", *common],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        procs.append(head)
        address = f"127.0.0.1:{port}"
        _wait_listening(head, port, temp / "head.log")  # the node can join once the GCS answers
        with open(temp / "node.log", "w") as log:
            node = subprocess.Popen(
                [str(RAY), "start", "--address", address, *common],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        procs.append(node)
        _wait_started(head, temp / "head.log", "ray head")
        _wait_started(node, temp / "node.log", "second ray node")
        yield Cluster(address, env, head, node, temp)
    finally:
        _stop(procs, temp)
        shutil.rmtree(temp, ignore_errors=True)


def _popen_cli(cluster: Cluster, *args: object) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI_PREFIX, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cluster.env
    )


def _finish(proc: subprocess.Popen, timeout: float) -> subprocess.CompletedProcess:
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


# ------------------------------------------------------------------ tests


def test_cluster_has_two_nodes(cluster):
    proc = subprocess.run(
        [sys.executable, "-c", f"import ray; ray.init(address={cluster.address!r}, logging_level='ERROR'); "
         "print(len([n for n in ray.nodes() if n['Alive']]), int(ray.cluster_resources()['CPU']))"],
        capture_output=True, text=True, env=cluster.env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-2:] == ["2", "2"], proc.stdout


def test_grid_survives_a_worker_killed_mid_grid(cluster, small_run, tmp_path):
    cfg = write_yaml(tmp_path / "small.yaml", SMALL_CONFIG)
    out = tmp_path / "out"
    proc = _popen_cli(cluster, "run", cfg, "--engine", "ray", "--address", cluster.address, "--out", out, "--quiet")
    killed: list[int] = []
    try:
        deadline = time.monotonic() + 240
        # Kill the first task worker seen running (a scoring proxy or a trial): both go
        # through the same retried Ray tasks, and trials alone can finish too fast to catch.
        while proc.poll() is None and time.monotonic() < deadline and not killed:
            for pid in cluster.task_workers():
                os.kill(pid, signal.SIGKILL)  # a worker in the middle of a trial
                killed.append(pid)
                break
            time.sleep(0.005)
    finally:
        result = _finish(proc, timeout=240)
    assert_ok(result)
    if not killed:
        pytest.skip("every task finished before a worker could be killed (machine too fast); nothing to check")
    run_dir = next(p for p in out.iterdir() if p.is_dir())
    trials = read_tables(run_dir, "trials")["trials"]
    assert len(trials) == N_TRIALS and trials["trial_id"].is_unique
    assert (trials["status"] == "ok").all(), trials[trials.status != "ok"][["trial_id", "error"]]
    # Nothing lost, nothing changed: the metrics of the local engine, to the last bit.
    pd.testing.assert_frame_equal(sorted_metrics(run_dir), sorted_metrics(small_run["run_dir"]), check_exact=True)


def _pool(folder: Path) -> Path:
    """150 digit rows in 3 shards (one in a hive folder) plus 10 rows repeating earlier ones."""
    from sklearn.datasets import load_digits

    d = load_digits()
    frame = pd.DataFrame(d.data[:150], columns=[f"p{j}" for j in range(64)])
    frame["label"] = d.target[:150] % 3
    frame = pd.concat([frame, frame.iloc[[1, 2, 3, 60, 61, 62, 100, 120, 140, 149]]], ignore_index=True)
    frame.insert(0, "id", [f"r{i}" for i in range(len(frame))])
    for rel, lo, hi in (("a.parquet", 0, 60), ("b.parquet", 60, 110), ("k=v/c.parquet", 110, len(frame))):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        frame.iloc[lo:hi].to_parquet(folder / rel, index=False)
    return folder


def test_sharded_score_and_dedup_on_the_cluster(cluster, tmp_path):
    """The Python API behind `score/select --engine ray --address`, on the two-node cluster."""
    import torch

    from datafactors.experiment.tasks import dynamics_task

    pool = _pool(tmp_path / "pool")
    # One driver for both (each driver is a Ray job with its own workers to start).
    script = f"""
from datafactors.experiment.sharded import score_shards, select_shards
a = score_shards({str(pool)!r}, "el2n,loss,knn_density", {str(tmp_path / "scores")!r}, seeds=2, epochs=2,
                 address={cluster.address!r})
b = select_shards({str(pool)!r}, "exact_dedup", 150, {str(tmp_path / "keep")!r}, seed=5, address={cluster.address!r})
print(a.n_out, b.n_out, b.distributed)
"""
    driver = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cluster.env
    )
    done = _finish(driver, timeout=180)
    assert_ok(done)
    assert done.stdout.split()[-3:] == ["160", "150", "True"], done.stdout
    rels = ["a.parquet", "b.parquet", "k=v/c.parquet"]
    for out in (tmp_path / "scores", tmp_path / "keep"):
        assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet")) == rels

    ds = df.load(str(pool))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the Ray tasks train
    try:
        dyn = [
            dynamics_task({"learner": "mlp", "learner_params": {}, "epochs": 2, "seed": s}, {"train": ds})
            for s in (0, 1)
        ]
    finally:
        torch.set_num_threads(threads)
    want = df.scores.compute(ds, ["el2n", "loss", "knn_density"], dynamics=dyn).reset_index()
    want["id"] = want["id"].astype(str)
    got = pd.concat([pd.read_parquet(tmp_path / "scores" / r) for r in rels], ignore_index=True)
    pd.testing.assert_frame_equal(got, want, check_exact=True)

    idx = df.select.select(ds, "exact_dedup", 150, seed=5)
    kept = pd.concat([pd.read_parquet(tmp_path / "keep" / r) for r in rels]).sort_values("rank")
    np.testing.assert_array_equal(kept["index"].to_numpy(), idx)
    assert set(kept["index"]) == set(range(150))  # every repeat dropped, every first occurrence kept


def test_text_corpus_minhash_and_export_on_the_cluster(cluster, tmp_path):
    """`select FOLDER --text text --strategy minhash_dedup --engine ray --address`: LSH bands grouped by
    Ray Data on the two nodes, the kept ids and the exported JSONL shards as the local engine's."""
    from text_corpus import SHARDS, corpus_frame, write_jsonl_shards

    from datafactors.experiment import commands
    from datafactors.select import minhash

    corpus = write_jsonl_shards(tmp_path / "corpus", corpus_frame(seed=3))
    script = f"""
from datafactors.experiment.sharded import select_shards
r = select_shards({str(corpus)!r}, "minhash_dedup", None, {str(tmp_path / "sel")!r}, text="text",
                  export={str(tmp_path / "kept")!r}, address={cluster.address!r})
print(r.n_rows, r.n_out, r.distributed, r.lsh_groups)
"""
    driver = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cluster.env
    )
    done = _finish(driver, timeout=240)
    assert_ok(done)
    n_rows, n_out, distributed, groups = done.stdout.split()[-4:]
    texts = pd.concat([pd.read_json(corpus / r, lines=True) for r in SHARDS[:3]])["text"].tolist()
    keys = minhash.band_keys(minhash.minhash_signatures(texts), 16, 8)
    assert (n_rows, distributed, int(groups)) == ("220", "True", sum(len(np.unique(k)) for k in keys))

    commands.select_command(str(corpus), "minhash_dedup", None, tmp_path / "local.parquet", text="text")
    local = pd.read_parquet(tmp_path / "local.parquet")
    got = pd.concat([pd.read_parquet(p) for p in sorted((tmp_path / "sel").rglob("*.parquet"))])
    assert int(n_out) == len(local) == 175
    assert got.sort_values("index")["id"].tolist() == local.sort_values("index")["id"].tolist()
    exported = pd.concat([pd.read_json(tmp_path / "kept" / r, lines=True) for r in SHARDS[:3]])
    assert exported["id"].tolist() == local.sort_values("index")["id"].tolist()
    assert list(exported.columns) == ["id", "text", "category"]
