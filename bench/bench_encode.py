"""Text encoding: cached re-run speed-up and length bucketing vs unsorted batches (issue 13).

Run with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (``make bench`` does; this script says whether
they are). ~2000 generated texts of mixed length (5 to 300 words); the encoder is all-MiniLM-L6-v2
through ``datafactors.featurize.embed_with_info`` with a fresh temporary cache.

    python bench/bench_encode.py [--n 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

WORDS = (
    "data model text curation filter corpus token sample quality duplicate language train eval "
    "selection score embed vector cluster label noise"
).split()


def make_texts(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    lengths = np.where(rng.random(n) < 0.8, rng.integers(5, 40, n), rng.integers(40, 300, n))
    return [f"{i} " + " ".join(rng.choice(WORDS, size=k)) for i, k in enumerate(lengths)]


def _unsorted_encode(texts: list[str], batch_size: int) -> float:
    """Batches in input order (no length sorting across the corpus): the padding-heavy baseline."""
    from datafactors.featurize.text import _encoder

    model = _encoder("cpu")
    t0 = time.perf_counter()
    for s in range(0, len(texts), batch_size):
        model.encode(
            texts[s : s + batch_size],
            batch_size=batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
    return time.perf_counter() - t0


def main(n: int = 2000, batch_size: int = 64) -> dict:
    unset = not any(k in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"))
    previous = os.environ.get("DATAFACTORS_CACHE")
    os.environ["DATAFACTORS_CACHE"] = tempfile.mkdtemp(prefix="df-bench-encode-")
    try:
        return _run(n, batch_size, unset)
    finally:
        if previous is None:
            os.environ.pop("DATAFACTORS_CACHE", None)
        else:
            os.environ["DATAFACTORS_CACHE"] = previous


def _run(n: int, batch_size: int, unset: bool) -> dict:
    import torch

    from datafactors.featurize import embed_with_info
    from datafactors.featurize.text import _encoder

    texts = make_texts(n)
    _encoder("cpu").encode(["warm up"], show_progress_bar=False)
    E, cold = embed_with_info(texts, batch_size=batch_size)
    _, warm = embed_with_info(texts, batch_size=batch_size)
    t_unsorted = _unsorted_encode(texts, batch_size)
    tps_cold = n / cold["seconds"]
    out = {
        "n": n,
        "threads": torch.get_num_threads(),
        "encode_s": cold["seconds"],
        "texts_per_s": tps_cold,
        "cached_s": warm["seconds"],
        "cache_speedup": cold["seconds"] / max(warm["seconds"], 1e-9),
        "unsorted_s": t_unsorted,
        "bucketing_speedup": t_unsorted / cold["seconds"],
        "n_cached_rerun": warm["n_cached"],
        "n_encoded_rerun": warm["n_encoded"],
    }
    out["ok"] = out["cache_speedup"] >= 100 and warm["n_encoded"] == 0
    print(f"OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for this command: {unset}; torch threads {out['threads']}")
    print(
        f"encode {n} texts (length-bucketed, batch {batch_size}): {cold['seconds']:.1f} s = {tps_cold:.0f} texts/s"
        f"; unsorted batches {t_unsorted:.1f} s -> bucketing {out['bucketing_speedup']:.2f}x"
    )
    print(
        f"cached re-run: {warm['seconds']:.3f} s ({warm['n_encoded']} encoded, {warm['n_cached']} cached) -> "
        f"{out['cache_speedup']:.0f}x faster (target >= 100x) -> {'OK' if out['ok'] else 'MISSED'}"
    )
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    sys.exit(0 if main(ap.parse_args().n)["ok"] else 1)
