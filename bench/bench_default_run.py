"""Wall time of the default run (`datafactors run`, MNIST-1D) after setup.

Run as::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/bench_default_run.py

Target: <= 60 s on the 2-core development machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 60.0


def main() -> dict:
    exe = Path(sys.executable).with_name("datafactors")
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        proc = subprocess.run([str(exe), "run", "--quiet", "--out", out], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"default run failed:\n{proc.stderr}")
        run_dir = next(Path(out).iterdir())
        import duckdb

        con = duckdb.connect(str(run_dir / "results.duckdb"), read_only=True)
        n_trials, trial_s = con.execute("SELECT count(*), sum(seconds) FROM trials").fetchone()
        con.close()
    return {
        "wall_s": wall,
        "target_s": TARGET_S,
        "n_trials": n_trials,
        "sum_trial_s": trial_s,
        "cpus": os.cpu_count(),
        "ok": wall <= TARGET_S,
    }


if __name__ == "__main__":
    unset = not any(k in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"))
    print(f"OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for this command: {unset}")
    r = main()
    print(
        f"default run: {r['wall_s']:.1f} s wall (target <= {TARGET_S:.0f} s, {r['wall_s'] / TARGET_S:.2f}x of target), "
        f"{r['n_trials']} trials, {r['sum_trial_s']:.1f} s summed trial time on {r['cpus']} CPUs -> "
        f"{'OK' if r['ok'] else 'MISSED'}"
    )
