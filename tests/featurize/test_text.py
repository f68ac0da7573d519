"""Text embedding with the offline all-MiniLM-L6-v2 encoder: values, cache by content hash, bad input."""

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.featurize import cache_dir, embed_dataset, embed_texts, read_text_table, standardize, text_column
from datafactors.featurize import text as text_mod

SENTENCES = ["A cat sits on the mat.", "A kitten is lying on a rug.", "Quarterly tax forms are due in April."]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DATAFACTORS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_cache_dir_default_and_env(monkeypatch, tmp_path):
    monkeypatch.delenv("DATAFACTORS_CACHE", raising=False)
    assert str(cache_dir()).endswith(".cache/datafactors")
    monkeypatch.setenv("DATAFACTORS_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path


@pytest.mark.slow
def test_real_encoder_offline_and_cached(cache, monkeypatch):
    E = embed_texts(SENTENCES)
    assert E.shape == (3, 384) and E.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-5)
    sim = E @ E.T
    assert sim[0, 1] > 0.5 > sim[0, 2]  # paraphrases are close, an unrelated sentence is not
    files = list((cache / "text-embeddings" / "all-MiniLM-L6-v2").glob("chunk-*.npz"))
    assert len(files) == 1
    # the second call reads the cache: the encoder is not touched
    monkeypatch.setattr(text_mod, "_encoder", lambda device: (_ for _ in ()).throw(AssertionError("encoder used")))
    np.testing.assert_array_equal(embed_texts(SENTENCES), E)
    # a text's vector does not depend on the batch around it
    np.testing.assert_array_equal(embed_texts(SENTENCES[::-1])[::-1], E)


class _FakeEncoder:
    calls = 0

    def encode(self, items, **kw):
        type(self).calls += 1
        rng = np.random.default_rng(len(items))
        v = rng.normal(size=(len(items), 384))
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_bad_text_input(cache, monkeypatch):
    monkeypatch.setattr(text_mod, "_encoder", lambda device: _FakeEncoder())
    with pytest.raises(df.DataError, match="2 texts are empty strings"):
        embed_texts(["a", "", " "])
    assert embed_texts(["a", "", " "], empty="keep").shape == (3, 384)
    with pytest.raises(df.DataError, match="every text is an empty string"):
        embed_texts(["", ""], empty="keep")
    with pytest.raises(df.DataError, match="nothing to embed"):
        embed_texts([])
    with pytest.raises(df.DataError, match="single string"):
        embed_texts("hello")
    with pytest.raises(df.DataError, match=r"texts\[1\] is int"):
        embed_texts(["a", 3])


def test_text_column_validation():
    X = np.zeros((3, 1))

    def ds(col):
        return df.Dataset.from_arrays(X, [0, 1, 0], extra=pd.DataFrame({"t": col}), name="d")

    assert text_column(ds(["a", "b", "c"]), "t") == ["a", "b", "c"]
    with pytest.raises(df.DataError, match="text column 'x' not found in d; its non-feature columns are: 't'"):
        text_column(ds(["a", "b", "c"]), "x")
    with pytest.raises(df.DataError, match="every value is missing"):
        text_column(ds([None, None, None]), "t")
    with pytest.raises(df.DataError, match="every value is an empty string"):
        text_column(ds(["", "  ", ""]), "t")
    with pytest.raises(df.DataError, match="1 empty strings"):
        text_column(ds(["a", "", "c"]), "t")
    assert text_column(ds(["a", "", "c"]), "t", allow_empty=True)[1] == ""
    with pytest.raises(df.DataError, match="non-text values"):
        text_column(ds(["a", 2.5, "c"]), "t")
    with pytest.raises(df.DataError, match="not found"):
        text_column(df.Dataset.from_arrays(X, [0, 1, 0]), "t")


def test_text_only_file_is_read_and_embedded(cache, monkeypatch, tmp_path):
    monkeypatch.setattr(text_mod, "_encoder", lambda device: _FakeEncoder())
    path = tmp_path / "reviews.csv"
    pd.DataFrame(
        {
            "id": [5, 6, 7, 8],
            "review": ["good", "bad", "fine", "meh"],
            "label": ["p", "n", "p", "n"],
            "license": ["MIT"] * 4,
        }
    ).to_csv(path, index=False)
    ds = read_text_table(path, "review", label="label")
    assert ds.X.shape == (4, 384) and ds.ids.tolist() == [5, 6, 7, 8] and ds.class_names == ["n", "p"]
    assert list(ds.extra.columns) == ["review", "license"]
    with pytest.raises(df.DataError, match="text column 'body' not found in reviews.csv"):
        read_text_table(path, "body")
    again = embed_dataset(ds, "review")
    np.testing.assert_array_equal(again.X, ds.X)
    prof = df.factors.profile(ds, text="review", embed=True, families=["size", "diversity"])
    assert prof.set_index("factor").loc["vocabulary_size", "value"] == 4


def test_standardize():
    Z = standardize(np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 2.0]]))
    np.testing.assert_allclose(Z[:, 0], [-1.2247449, 0.0, 1.2247449], rtol=1e-6)
    np.testing.assert_array_equal(Z[:, 1], 0.0)


def test_per_text_cache_encodes_only_new_texts(cache, monkeypatch):
    from datafactors.featurize import clear_cache, embed_with_info

    enc = _CountingEncoder()
    monkeypatch.setattr(text_mod, "_encoder", lambda device: enc)
    E1, info1 = embed_with_info(["one", "two", "three"])
    assert (info1["n_encoded"], info1["n_cached"]) == (3, 0)
    assert sorted(enc.seen) == ["one", "three", "two"]
    enc.seen.clear()
    E2, info2 = embed_with_info(["two", "four", "one", "four"])  # two cached, "four" new and repeated
    assert enc.seen == ["four"] and (info2["n_encoded"], info2["n_cached"]) == (1, 2)
    np.testing.assert_array_equal(E2[0], E1[1])
    np.testing.assert_array_equal(E2[2], E1[0])
    np.testing.assert_array_equal(E2[1], E2[3])
    # a corrupt chunk is a cache miss, never a crash
    for f in (cache / "text-embeddings" / "all-MiniLM-L6-v2").glob("chunk-*.npz"):
        f.write_bytes(f.read_bytes()[:20])
    enc.seen.clear()
    E3, info3 = embed_with_info(["one"])
    assert enc.seen == ["one"] and info3["n_cached"] == 0
    np.testing.assert_array_equal(E3[0], E1[0])
    assert clear_cache() >= 1
    assert not list((cache / "text-embeddings").glob("**/*.npz"))


def test_progress_and_truncation_count(cache, monkeypatch):
    from datafactors.featurize import embed_with_info

    enc = _CountingEncoder()
    monkeypatch.setattr(text_mod, "_encoder", lambda device: enc)
    calls = []
    _, info = embed_with_info(["w " * 300, "short"], progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (2, 2)
    # the fake tokenizer counts words + 2 special tokens: 302 > 256 is truncated, 3 is not
    assert info["n_truncated"] == 1 and info["max_seq_length"] == 256


class _CountingEncoder:
    max_seq_length = 256

    def __init__(self):
        self.seen = []

        def tok(texts, **kw):
            return {"input_ids": [[0] * (len(t.split()) + 2) for t in texts]}

        self.tokenizer = tok

    def encode(self, items, **kw):
        self.seen.extend(items)
        out = []
        for t in items:
            v = np.random.default_rng(abs(hash(t)) % 2**32).normal(size=384)
            out.append(v / np.linalg.norm(v))
        return np.array(out)
