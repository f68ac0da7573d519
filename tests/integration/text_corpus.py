"""A generated text corpus in JSONL shards, for the Ray text tests (no download).

Documents of 80-150 words from a small vocabulary with stop words and sentences, 15 short
documents, 40 planted near-duplicates (one word edited in an earlier document, exact
Jaccard of word 5-gram shingles checked >= 0.85) and 5 copies that differ only in case and
spacing: 220 rows in three JSONL shards (one in a subfolder) plus an empty shard.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

import datafactors as df

SHARDS = ("a.jsonl", "b.jsonl", "sub/c.jsonl", "sub/d.jsonl")  # d is empty
_WORDS = ("the", "and", "of", "to", "with", "that", "have", "be") + tuple(f"word{i}" for i in range(400))


def _sentence(rng: np.random.Generator) -> str:
    return " ".join(rng.choice(_WORDS, int(rng.integers(8, 14)))).capitalize() + "."


def _doc(rng: np.random.Generator, n_sent: int) -> str:
    return "\n".join(_sentence(rng) for _ in range(n_sent))


def _jaccard(a: str, b: str, n: int = 5) -> float:
    def sh(t: str) -> set:
        w = df.featurize.normalize_text(t).split()
        return {tuple(w[i : i + n]) for i in range(max(1, len(w) - n + 1))}

    x, y = sh(a), sh(b)
    return len(x & y) / len(x | y)


def corpus_frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    docs = [_doc(rng, int(rng.integers(8, 12))) for _ in range(160)]
    docs += [" ".join(rng.choice(_WORDS, 12)) for _ in range(15)]  # too short for Gopher and C4
    for j in rng.choice(160, 40, replace=False):
        w = docs[j].split(" ")
        w[int(rng.integers(len(w)))] = "edited"
        docs.append(" ".join(w))
        assert _jaccard(docs[j], docs[-1]) >= 0.85
    for j in (3, 9, 27, 50, 81):
        docs.append("  " + docs[j].upper().replace(" ", "  "))  # equal after normalisation
    order = rng.permutation(len(docs))
    docs = [docs[i] for i in order]
    return pd.DataFrame(
        {
            "id": [f"doc{i:03d}" for i in range(len(docs))],
            "text": docs,
            "category": [["news", "blog", "forum"][i % 3] for i in range(len(docs))],
        }  # fmt: skip
    )


def write_jsonl_shards(folder: Path, frame: pd.DataFrame) -> Path:
    bounds = [0, 80, 150, len(frame), len(frame)]
    for rel, lo, hi in zip(SHARDS, bounds[:-1], bounds[1:], strict=True):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        with open(folder / rel, "w", encoding="utf-8") as fh:
            for rec in frame.iloc[lo:hi].to_dict("records"):
                fh.write(json.dumps(rec) + "\n")
    return folder
