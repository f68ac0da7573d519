"""Text corpora in JSONL shards on Ray Data (experiment/sharded_text.py): the same kept ids as the local engine.

A generated corpus (no download): documents of 80-150 words from a small vocabulary with
stop words and sentences, 40 planted near-duplicates (one word edited in an earlier
document, exact Jaccard of word 5-gram shingles checked >= 0.85), 5 exact copies that
differ only in case and spacing, in three JSONL shards (one in a subfolder) plus an empty
shard. Every Ray result is compared with the local ``datafactors select`` on the same
folder: the selection tables must be identical and the export must hold the same rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors._errors import ConfigError, DataError

pytest.importorskip("ray")

from text_corpus import SHARDS, corpus_frame, write_jsonl_shards  # noqa: E402

from datafactors.experiment import commands, sharded  # noqa: E402  (after the importorskip)
from datafactors.select import minhash  # noqa: E402


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl_shards(tmp_path_factory.mktemp("corpus") / "corpus", corpus_frame())


def _selection(folder: Path) -> pd.DataFrame:
    parts = [pd.read_parquet(p) for p in sorted(folder.rglob("*.parquet"))]
    return pd.concat(parts, ignore_index=True).sort_values("index").reset_index(drop=True)


def _local(corpus: Path, strategy: str, tmp: Path, budget=None, **kw) -> pd.DataFrame:
    out = tmp / f"local-{strategy}.parquet"
    commands.select_command(str(corpus), strategy, budget, out, text="text", **kw)
    return pd.read_parquet(out).sort_values("index").reset_index(drop=True)


def _export_rows(folder: Path) -> pd.DataFrame:
    frames = [pd.read_json(folder / rel, lines=True) if (folder / rel).stat().st_size else None for rel in SHARDS]
    return pd.concat([f for f in frames if f is not None], ignore_index=True)


def test_minhash_on_ray_equals_local_and_groups_bands_on_the_workers(ray_instance, corpus, tmp_path, monkeypatch):
    local = _local(corpus, "minhash_dedup", tmp_path, clusters=tmp_path / "local-clusters.parquet")
    assert len(local) == 175  # 220 rows less the 40 planted near-duplicates and the 5 copies

    # The driver must not compute signatures or LSH buckets: only the Ray tasks (other processes) may.
    def refuse(*a, **k):
        raise AssertionError("the driver computed MinHash signatures or LSH candidates")

    monkeypatch.setattr(minhash, "minhash_signatures", refuse)
    monkeypatch.setattr(minhash, "candidate_pairs", refuse)
    res = sharded.select_shards(corpus, "minhash_dedup", None, tmp_path / "sel", text="text",
                                export=tmp_path / "kept", clusters=tmp_path / "clusters.parquet")  # fmt: skip
    monkeypatch.undo()
    assert res.distributed and res.n_rows == 220 and res.n_out == len(local)
    pd.testing.assert_frame_equal(_selection(tmp_path / "sel"), local, check_dtype=False)
    # The Ray Data group-by formed one group per distinct (band, key) of the whole corpus.
    texts = pd.concat([pd.read_json(corpus / r, lines=True) for r in SHARDS[:3]])["text"].tolist()
    keys = minhash.band_keys(minhash.minhash_signatures(texts), 16, 8)
    assert res.lsh_groups == sum(len(np.unique(k)) for k in keys)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "clusters.parquet"), pd.read_parquet(tmp_path / "local-clusters.parquet")
    )
    # Export: one JSONL shard per input shard (the empty one too), original columns, the kept rows in input order.
    assert sorted(p.relative_to(tmp_path / "kept").as_posix() for p in (tmp_path / "kept").rglob("*.jsonl")) == sorted(
        SHARDS
    )
    rows = _export_rows(tmp_path / "kept")
    assert list(rows.columns) == ["id", "text", "category"]
    assert rows["id"].tolist() == local["id"].tolist()
    full = pd.concat([pd.read_json(corpus / r, lines=True) for r in SHARDS[:3]], ignore_index=True).set_index("id")
    assert rows.set_index("id")["text"].equals(full.loc[rows["id"], "text"])


def test_minhash_budget_cuts_in_input_order_and_too_large_a_budget_names_both_counts(ray_instance, corpus, tmp_path):
    local = _local(corpus, "minhash_dedup", tmp_path, budget=50)
    sharded.select_shards(corpus, "minhash_dedup", 50, tmp_path / "sel", text="text")
    pd.testing.assert_frame_equal(_selection(tmp_path / "sel"), local, check_dtype=False)
    assert local["rank"].tolist() == list(range(50))
    with pytest.raises(DataError, match=r"only \d+ of 220 rows pass minhash_dedup; the budget asks for 219"):
        sharded.select_shards(corpus, "minhash_dedup", 219, tmp_path / "sel2", text="text")
    assert not (tmp_path / "sel2").exists()


def test_exact_text_dedup_on_ray_equals_local(ray_instance, corpus, tmp_path):
    local = _local(corpus, "exact_dedup", tmp_path)
    assert len(local) == 215  # the 5 case/space copies
    res = sharded.select_shards(corpus, "exact_dedup", None, tmp_path / "sel", text="text")
    assert res.distributed
    pd.testing.assert_frame_equal(_selection(tmp_path / "sel"), local, check_dtype=False)
    for order in ("random", "first"):  # with a budget: the first occurrences in the seeded (or input) order
        local = _local(corpus, "exact_dedup", tmp_path, budget=40, seed=7, params=[f"order={order}"])
        sharded.select_shards(corpus, "exact_dedup", 40, tmp_path / order, text="text", seed=7, order=order)
        pd.testing.assert_frame_equal(_selection(tmp_path / order), local, check_dtype=False)


def test_quality_rules_on_ray_equal_local(ray_instance, corpus, tmp_path):
    params = {"families": "gopher_quality,c4"}
    local = _local(corpus, "quality_rules", tmp_path, params=["families=gopher_quality,c4"])
    texts = pd.concat([pd.read_json(corpus / r, lines=True) for r in SHARDS[:3]]).set_index("id")["text"]
    assert 100 <= len(local) <= 205 and texts.loc[local["id"]].str.split().str.len().min() >= 50  # short docs fail
    res = sharded.select_shards(corpus, "quality_rules", None, tmp_path / "sel", text="text", **params)
    pd.testing.assert_frame_equal(_selection(tmp_path / "sel"), local, check_dtype=False)
    assert res.distributed


def test_quality_scores_per_shard_equal_local(ray_instance, corpus, tmp_path):
    res = sharded.score_shards(corpus, "gopher_quality,c4", tmp_path / "scores", text="text")
    got = _selection_like(tmp_path / "scores")
    ds = df.featurize.raw_text.read_text_rows(corpus, "text")
    want = df.scores.compute(ds, ["gopher_quality", "c4"]).reset_index()
    want["id"] = want["id"].astype(str)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert res.shards == ("a.parquet", "b.parquet", "sub/c.parquet", "sub/d.parquet")


def _selection_like(folder: Path) -> pd.DataFrame:
    rels = ("a.parquet", "b.parquet", "sub/c.parquet", "sub/d.parquet")
    return pd.concat([pd.read_parquet(folder / r) for r in rels], ignore_index=True)


def test_export_with_scores_in_pick_order(ray_instance, corpus, tmp_path):
    scores = pd.DataFrame({"id": [f"doc{i:03d}" for i in range(220)], "quality": np.arange(220.0)[::-1]})
    sharded.select_shards(corpus, "minhash_dedup", None, None, text="text", export=tmp_path / "kept",
                          scores=scores, with_scores=True, export_order="pick")  # fmt: skip
    rows = _export_rows(tmp_path / "kept")
    assert list(rows.columns) == ["id", "text", "category", "quality"]
    assert (rows["quality"] == 219 - rows["id"].str[3:].astype(int)).all()


def test_bad_text_inputs_name_the_shard_and_row(ray_instance, tmp_path):
    frame = corpus_frame().iloc[:30].copy()
    with pytest.raises(DataError, match="text column 'body' not found in corpus/a.jsonl"):
        sharded.select_shards(write_jsonl_shards(tmp_path / "corpus", frame), "minhash_dedup", None,
                              tmp_path / "o", text="body")  # fmt: skip
    frame.loc[25, "text"] = "   "
    bad = write_jsonl_shards(tmp_path / "bad", frame)
    with pytest.raises(DataError, match=r"text column 'text' in bad/a.jsonl has 1 empty strings \(first at row 25"):
        sharded.select_shards(bad, "minhash_dedup", None, tmp_path / "o2", text="text")
    assert not (tmp_path / "o2").exists()
    with pytest.raises(DataError, match="also the --label column"):
        sharded.select_shards(bad, "minhash_dedup", None, tmp_path / "o3", text="text", label="text")
    with pytest.raises(ConfigError, match="--clusters writes the clusters of minhash_dedup"):
        sharded.select_shards(bad, "exact_dedup", None, tmp_path / "o4", text="text", clusters=tmp_path / "c.parquet")
    with pytest.raises(ConfigError, match="give --out FOLDER"):
        sharded.select_shards(bad, "exact_dedup", None, None, text="text")
    with pytest.raises(ConfigError, match=r"threshold == 1.5, must be a number in \(0, 1\]"):
        sharded.select_shards(bad, "minhash_dedup", None, tmp_path / "o5", text="text", threshold=1.5)


@pytest.mark.slow
def test_geometric_selection_embeds_on_worker_actors_and_equals_local(ray_instance, corpus, tmp_path):
    """k-center on the texts: each shard embedded by an actor holding one encoder, the picks as local."""
    local = _local(corpus, "kcenter", tmp_path, budget=12)
    res = sharded.select_shards(corpus, "kcenter", 12, tmp_path / "sel", text="text", export=tmp_path / "kept")
    assert not res.distributed and res.n_out == 12
    got = _selection(tmp_path / "sel")
    assert got.sort_values("rank")["id"].tolist() == local.sort_values("rank")["id"].tolist()
    assert len(_export_rows(tmp_path / "kept")) == 12


@pytest.mark.slow
def test_cli_select_on_a_folder_of_jsonl_shards(ray_instance, corpus, tmp_path):
    from dfcli_helpers import assert_ok, run_cli

    proc = run_cli("select", corpus, "--text", "text", "--strategy", "minhash_dedup", "--engine", "ray",
                   "--out", tmp_path / "sel", "--export", tmp_path / "kept")  # fmt: skip
    assert_ok(proc)
    assert "kept 175 of 220 examples with 'minhash_dedup' in 4 shards" in proc.stdout
    assert sorted(p.relative_to(tmp_path / "kept").as_posix() for p in (tmp_path / "kept").rglob("*")
                  if p.is_file()) == sorted(SHARDS)  # fmt: skip
    assert_ok(run_cli("select", corpus, "--text", "text", "--strategy", "minhash_dedup", "--export", tmp_path / "lk"))
    assert _export_rows(tmp_path / "kept").equals(_export_rows(tmp_path / "lk"))
