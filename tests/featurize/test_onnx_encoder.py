"""The faster text-encoder backends (ONNX Runtime, torch bfloat16): agreement with fp32 torch, cache, bad input."""

import sys

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.featurize import (
    clear_cache,
    embed_dataset,
    embed_texts,
    embed_with_info,
    onnx_encoder,
    read_text_table,
)
from datafactors.featurize import text as text_mod

_WORDS = "data model corpus token quality duplicate language train eval selection".split()
_RNG = np.random.default_rng(0)
TEXTS = [
    "A cat sits on the mat.",
    "A kitten is lying on a rug.",
    "Quarterly tax forms are due in April.",
    "x",
    "OK",
    "?!",
    "",  # empty and whitespace-only: embedded as the encoder does ([CLS] [SEP])
    "   ",
    "\t\n",
    "Ünïcödé àccents, naïve café, façade, Zürich.",
    "日本語のテキストを埋め込みます。",
    "中文句子，用于测试编码器。",
    "Привет, как дела? Это тест.",
    "مرحبا بالعالم، هذا اختبار",
    "emoji 🙂🚀🔥 and ZWJ 👩‍👩‍👧 sequences",
    "def f(x):\n    return x ** 2  # code",
    '{"json": [1, 2, 3], "ok": true}',
    "https://example.org/path?q=1&r=2#frag",
    "3.14159 2.71828 1e-9 -42 0x1F",
    "ALL CAPS SENTENCE SHOUTING LOUDLY",
    "mIxEd CaSe tExT",
    "word " * 255,  # about max_seq_length word pieces
    "lorem ipsum dolor sit amet " * 120,  # far past max_seq_length: truncated
    "a" * 3000,  # one very long word
    "The quick brown fox jumps over the lazy dog. " * 40,
] + [" ".join(_RNG.choice(_WORDS, size=int(k))) for k in _RNG.integers(2, 120, 25)]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    """One cache for the module, so the model is exported once (about 10 s)."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATAFACTORS_CACHE", str(tmp_path_factory.mktemp("onnx-cache")))
        yield text_mod.cache_dir()


@pytest.fixture(scope="module")
def both(onnx_cache):
    E_torch, i_torch = embed_with_info(TEXTS, empty="keep", cache=False)
    E_onnx, i_onnx = embed_with_info(TEXTS, empty="keep", cache=False, backend="onnx")
    return E_torch, i_torch, E_onnx, i_onnx


def test_onnx_matches_torch_for_every_text(both):
    E_torch, i_torch, E_onnx, i_onnx = both
    assert len(TEXTS) >= 50
    assert E_onnx.shape == E_torch.shape == (len(TEXTS), 384) and E_onnx.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(E_onnx, axis=1), 1.0, atol=1e-5)
    cos = (E_onnx * E_torch).sum(1)
    assert cos.min() >= 0.999, [(TEXTS[i][:30], float(cos[i])) for i in np.argsort(cos)[:3]]
    assert (i_onnx["backend"], i_torch["backend"]) == ("onnx", "torch")
    assert i_onnx["n_truncated"] == i_torch["n_truncated"] >= 3 and i_onnx["max_seq_length"] == 256


def test_onnx_is_deterministic_and_batch_invariant(both):
    _, _, E_onnx, _ = both
    again = embed_texts(TEXTS, empty="keep", cache=False, backend="onnx")
    np.testing.assert_array_equal(again, E_onnx)
    # a text's vector barely depends on the batch around it (other padding, other batch size)
    alone = embed_texts([TEXTS[0]], cache=False, backend="onnx")
    mixed = embed_texts([TEXTS[22], TEXTS[0], "x"], cache=False, backend="onnx", batch_size=2)
    np.testing.assert_allclose(alone[0], E_onnx[0], atol=1e-5)
    np.testing.assert_allclose(mixed[1], E_onnx[0], atol=1e-5)


def test_cache_keeps_backends_apart(onnx_cache):
    clear_cache()
    texts = TEXTS[:6] + TEXTS[9:12]
    E_torch, i1 = embed_with_info(texts, empty="keep")
    assert (i1["n_encoded"], i1["n_cached"]) == (len(texts), 0)
    E_onnx, i2 = embed_with_info(texts, empty="keep", backend="onnx")
    assert (i2["n_encoded"], i2["n_cached"]) == (len(texts), 0)  # torch's vectors are not served for onnx
    assert not np.array_equal(E_onnx, E_torch)
    E_onnx2, i3 = embed_with_info(texts, empty="keep", backend="onnx")
    assert (i3["n_encoded"], i3["n_cached"]) == (0, len(texts))
    np.testing.assert_array_equal(E_onnx2, E_onnx)
    E_torch2, i4 = embed_with_info(texts, empty="keep")  # nor onnx's for torch
    assert (i4["n_encoded"], i4["n_cached"]) == (0, len(texts))
    np.testing.assert_array_equal(E_torch2, E_torch)
    # torch's keys are the ones the cache always used: prefix, settings, then the text
    assert text_mod._text_keys(["a"], True).tobytes() == text_mod._text_keys(["a"], True, "torch").tobytes()
    assert text_mod._text_keys(["a"], True, "onnx").tobytes() != text_mod._text_keys(["a"], True).tobytes()


def test_dataset_and_table_take_the_backend(onnx_cache, tmp_path):
    frame = pd.DataFrame({"body": TEXTS[:3], "cat": ["a", "b", "a"]})
    ds = read_text_table(frame, "body", label="cat", backend="onnx")
    assert ds.embedding["backend"] == "onnx" and ds.X.shape == (3, 384)
    pool = df.Dataset.from_arrays(np.zeros((3, 1)), extra=frame[["body"]])
    emb = embed_dataset(pool, "body", backend="onnx")
    np.testing.assert_array_equal(emb.X, ds.X)
    assert emb.embedding["backend"] == "onnx" and emb.embedding["n_cached"] == 3


def test_exported_model_lives_in_the_cache(onnx_cache, both):
    (model,) = (onnx_cache / "onnx-models").glob("*/*/model.onnx")
    assert model == onnx_encoder.model_path(onnx_cache, text_mod.MODEL_NAME, text_mod._revision())
    assert (model.parent / "settings.json").is_file()
    assert not [p for p in model.parent.iterdir() if p.name.startswith(".")]  # no temp files left


@pytest.mark.slow  # ~15 s: exports the model a second time
def test_corrupt_model_file_is_exported_again(onnx_cache, both):
    _, _, E_onnx, _ = both
    path = onnx_encoder.model_path(onnx_cache, text_mod.MODEL_NAME, text_mod._revision())
    path.write_bytes(b"not an onnx model")  # a killed export cannot leave this (atomic rename); a bad disk can
    onnx_encoder._session.cache_clear()
    E = embed_texts(TEXTS[:3], cache=False, backend="onnx")
    np.testing.assert_allclose(E, E_onnx[:3], atol=1e-6)
    assert path.stat().st_size > 1_000_000


@pytest.fixture(scope="module")
def bf16(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATAFACTORS_CACHE", str(tmp_path_factory.mktemp("bf16-cache")))
        E_torch, _ = embed_with_info(TEXTS, empty="keep", cache=False)
        E_bf16, info = embed_with_info(TEXTS, empty="keep", cache=False, backend="torch-bf16")
        yield E_torch, E_bf16, info


def test_bf16_matches_fp32_for_every_text(bf16):
    E_torch, E_bf16, info = bf16
    assert E_bf16.shape == E_torch.shape and E_bf16.dtype == np.float32 and info["backend"] == "torch-bf16"
    np.testing.assert_allclose(np.linalg.norm(E_bf16, axis=1), 1.0, atol=1e-5)  # renormalised in float32
    cos = (E_bf16 * E_torch).sum(1)
    assert cos.min() >= 0.999, [(TEXTS[i][:30], float(cos[i])) for i in np.argsort(cos)[:3]]
    np.testing.assert_array_equal(embed_texts(TEXTS, empty="keep", cache=False, backend="torch-bf16"), E_bf16)
    # the float32 model is untouched by the bfloat16 copy
    np.testing.assert_allclose(embed_texts(TEXTS[:5], empty="keep", cache=False), E_torch[:5], atol=1e-5)


def test_bf16_vectors_are_cached_apart(bf16, tmp_path, monkeypatch):
    E_torch, E_bf16, _ = bf16
    monkeypatch.setenv("DATAFACTORS_CACHE", str(tmp_path))
    E1, i1 = embed_with_info(TEXTS[:4], backend="torch-bf16")
    _, i2 = embed_with_info(TEXTS[:4])
    E3, i3 = embed_with_info(TEXTS[:4], backend="torch-bf16")
    assert (i1["n_encoded"], i2["n_encoded"], i2["n_cached"], i3["n_cached"]) == (4, 4, 0, 4)
    np.testing.assert_array_equal(E3, E1)  # read back, bit for bit
    # bfloat16 vectors move a little with the padding of their batch; always within the cosine bound
    assert ((E1 * E_bf16[:4]).sum(1) >= 0.9999).all() and ((E1 * E_torch[:4]).sum(1) >= 0.999).all()


def test_bad_backend_names_the_known_ones():
    msg = r"backend == 'tf', must be one of 'torch', 'onnx', 'torch-bf16'"
    with pytest.raises(df.ConfigError, match=msg):
        embed_with_info(["a text"], backend="tf")
    with pytest.raises(df.ConfigError, match=msg):
        embed_texts(["a text"], backend="tf")
    frame = pd.DataFrame({"body": ["a", "b"]})
    with pytest.raises(df.ConfigError, match=msg):
        read_text_table(frame, "body", backend="tf")
    with pytest.raises(df.ConfigError, match=msg):
        embed_dataset(df.Dataset.from_arrays(np.zeros((2, 1)), extra=frame), "body", backend="tf")
    with pytest.raises(df.ConfigError, match=r"backend == 'onnx' runs on the CPU only, got device == 'cuda'"):
        embed_with_info(["a text"], backend="onnx", device="cuda")


def test_missing_onnxruntime_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setenv("DATAFACTORS_CACHE", str(tmp_path))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(df.DataError, match=r"'onnxruntime': pip install 'datafactors\[onnx\]'"):
        embed_with_info(["a text never cached"], backend="onnx")


def test_unsupported_pipeline_is_a_config_error():
    class Transformer:
        auto_model = object()

    class Pooling:
        pooling_mode = "cls"

    with pytest.raises(df.ConfigError, match=r"this encoder is Transformer \+ Pooling: use backend='torch'"):
        onnx_encoder._pipeline([Transformer(), Pooling()])
