"""A JSONL text corpus end to end: `datafactors run` with `text:`, the embedding cache, a curated export."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dfcli_helpers import CLI_PREFIX, cli_env, only_run_dir, write_yaml

pytestmark = pytest.mark.slow

TOPICS = {
    "sports": "goal match team player coach league score season stadium referee pitch striker keeper final",
    "food": "recipe oven flour butter garlic pasta sauce salt pepper bake simmer onion cheese dough",
    "tech": "server kernel compiler network database cache thread memory socket driver binary cloud query",
}
COMMON = "the a of and to in with on for is was it this that"
N_DUP = 8  # planted near-duplicates: a copy of an earlier text with its last word changed


def _corpus(path: Path) -> list[int]:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(300 - N_DUP):
        cat = list(TOPICS)[i % 3]
        words = rng.choice(TOPICS[cat].split() + COMMON.split(), size=60)
        rows.append({"text": " ".join(words), "category": cat, "source": f"site{i % 7}"})
    originals = list(range(0, 8 * N_DUP, 8))
    for j in originals:
        words = rows[j]["text"].split()
        rows.append({**rows[j], "text": " ".join(words[:-1] + ["zebra"]), "source": "copy"})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return originals


def _run(*args, cache: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**cli_env(), "DATAFACTORS_CACHE": str(cache)}
    proc = subprocess.run([*CLI_PREFIX, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc


def test_run_on_a_jsonl_corpus_then_cache_then_export(tmp_path):
    originals = _corpus(tmp_path / "corpus.jsonl")
    cache = tmp_path / "cache"
    cfg = write_yaml(
        tmp_path / "cfg.yaml",
        {
            "dataset": "corpus.jsonl",
            "text": "text",
            "label": "category",
            "learner": "mlp",
            "learner_params": {"hidden": [16], "batch_size": 64, "lr": 0.01},
            "epochs": 3,
            "seeds": [0],
            "budgets": [0.5, 1.0],
            "strategies": [{"name": "random", "selector": "random"}, {"name": "kcenter", "selector": "kcenter"}],
            "scoring": {"scores": ["el2n"], "seeds": 1},
            "fit": {"n_boot": 10},
            "n_workers": 1,
        },
    )
    first = _run("run", cfg, "--out", "runs", cache=cache, cwd=tmp_path)  # not --quiet: the encoder line shows
    run_dir = only_run_dir(tmp_path / "runs")
    assert (run_dir / "report.html").is_file()
    meta = json.loads((run_dir / "manifest.json").read_text())["embedding"]
    assert meta["encoder"] == "all-MiniLM-L6-v2" and meta["max_seq_length"] > 0
    assert meta["n_encoded"] == 300 and meta["n_cached"] == 0 and meta["n_truncated"] == 0
    assert "encoder all-MiniLM-L6-v2" in first.stderr

    # the same file again: every text comes from the cache
    _run("run", cfg, "--out", "runs2", "--quiet", cache=cache, cwd=tmp_path)
    again = json.loads((only_run_dir(tmp_path / "runs2") / "manifest.json").read_text())["embedding"]
    assert again["n_encoded"] == 0 and again["n_cached"] == 300

    pytest.importorskip("datafactors.select.minhash")
    argv = ["select", "corpus.jsonl", "--text", "text", "--strategy", "minhash_dedup"]
    _run(*argv, "--export", "kept.jsonl", "--clusters", "c.parquet", cache=cache, cwd=tmp_path)
    kept = pd.read_json(tmp_path / "kept.jsonl", lines=True)
    assert set(kept.columns) == {"id", "text", "category", "source"}
    planted = set(range(300 - N_DUP, 300))
    assert len(kept) == 300 - N_DUP
    assert planted.isdisjoint(kept["id"]) and set(originals) <= set(kept["id"])
    assert "copy" not in set(kept["source"])
    clusters = pd.read_parquet(tmp_path / "c.parquet")
    assert {"cluster_id", "id", "representative_id", "similarity"} <= set(clusters.columns)
    dupes = clusters[clusters["id"] != clusters["representative_id"]]
    assert set(dupes["id"].astype(int)) == planted
    assert set(dupes["representative_id"].astype(int)) == set(originals)
