"""Run every benchmark and print its ratio against the target (`make bench`).

`make bench` unsets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for this command only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_aflite  # noqa: E402
import bench_default_run  # noqa: E402
import bench_grand  # noqa: E402
import bench_irt  # noqa: E402
import bench_metrics  # noqa: E402


def main() -> int:
    unset = not any(k in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"))
    print(f"OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for this command: {unset}")
    g = bench_grand.main()
    print(
        f"GraNd batched vs per-example loop: {g['loop_over_batched']:.1f}x faster (target >= 20x), "
        f"vs torch.func vmap: {g['vmap_over_batched']:.1f}x, max |diff| {g['max_abs_diff_batched']:.1e} (<= 1e-5) "
        f"-> {'OK' if g['ok'] else 'MISSED'}"
    )
    a = bench_aflite.main()  # prints its own lines
    i = bench_irt.main()
    m = bench_metrics.main()
    h = __import__("bench_minhash").main(20_000)  # prints its own lines (100k: bench_minhash.py --n 100000)
    __import__("bench_encode").main()  # prints its own lines (cache and length-bucketing speed-ups)
    r = bench_default_run.main()
    print(
        f"default run: {r['wall_s']:.1f} s wall (target <= {r['target_s']:.0f} s), {r['n_trials']} trials "
        f"-> {'OK' if r['ok'] else 'MISSED'}"
    )
    return 0 if all(x.get("ok", True) for x in (g, a, i, m, h, r)) else 1


if __name__ == "__main__":
    sys.exit(main())
