"""MinHash near-duplicates: exact modular arithmetic, determinism, recall/precision vs exact Jaccard."""

import hashlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.featurize import normalize_text
from datafactors.select import minhash as mh
from datafactors.select import select
from datafactors.select.minhash import (
    MERSENNE_61,
    minhash_signatures,
    mod_mersenne_affine,
    near_duplicate_clusters,
)

VOCAB = [f"w{i}" for i in range(5000)]


def _doc(rng, n=200):
    return [VOCAB[i] for i in rng.integers(0, len(VOCAB), n)]


def _edit(rng, words, n_edits):
    w = list(words)
    for p in rng.choice(len(w), n_edits, replace=False):
        w[p] = f"edit{rng.integers(10**9)}"
    return w


def _shingles(words, n=5):
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)} if len(words) >= n else {" ".join(words)}


def _jaccard(a, b):
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb)


def _ds(texts, **kw):
    extra = pd.DataFrame({"text": texts})
    return df.Dataset.from_arrays(np.zeros((len(texts), 1)), None, extra=extra, text_column="text", **kw)


# ---------------------------------------------------------------- arithmetic


def test_mod_mersenne_matches_python_ints_on_random_and_edge_values():
    rng = np.random.default_rng(0)
    edge = [0, 1, 2, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**60, 2**61 - 2, 2**61 - 1]
    x = np.r_[np.array(edge, dtype=np.uint64), rng.integers(0, 2**61, 300, dtype=np.uint64)]
    a = np.r_[
        np.array([1, 2, 2**61 - 2, 2**32 + 1, 2**31 - 1], dtype=np.uint64),
        rng.integers(1, MERSENNE_61, 40, dtype=np.uint64),
    ]
    b = np.r_[np.array([0, 2**61 - 2, 1, 2**60, 7], dtype=np.uint64), rng.integers(0, MERSENNE_61, 40, dtype=np.uint64)]
    got = mod_mersenne_affine(x, a, b)
    want = [[(int(aa) * int(xx) + int(bb)) % MERSENNE_61 for aa, bb in zip(a, b, strict=True)] for xx in x]
    assert got.tolist() == want


def test_fast_signatures_equal_the_exact_tiles():
    rng = np.random.default_rng(3)
    docs = [" ".join(_doc(rng, int(rng.integers(1, 400)))) for _ in range(300)] + ["", "a", "a b c d e", "x" * 7]
    aff = mh._Affine(*mh._permutations(64, 5))
    norm = mh._normalised(docs)
    h, off = mh._block_shingles(norm, "word", 5)
    exact = mh._exact_signatures(h >> np.uint64(3), off, aff, 64)
    assert np.array_equal(mh._block_signatures(norm, "word", 5, aff, 64), exact)
    # a brute-force minimum over Python ints for a few documents
    for d in (0, 7, 300, 301):
        xs = [int(v) for v in h[off[d] : off[d + 1]] >> np.uint64(3)]
        for p in (0, 33, 63):
            a, b = int(aff.ah[p]) << 31 | int(aff.al[p]), int(aff.b[p])
            assert int(exact[d, p]) == min((a * v + b) % MERSENNE_61 for v in xs)


def test_normalisation_equals_normalize_text():
    texts = ["  The \ufb01nal\tANSWER:\n\n \uff14\uff12\u00a0 ", "a\u2028b\u3000c\x1cd", "", "   ", "ÉCOLE  École"]
    assert mh._normalised(texts) == [normalize_text(t) for t in texts]


def test_shingles_word_and_char_units():
    assert len(mh.shingle_hashes("a b c d e f g")) == 3
    assert len(mh.shingle_hashes("a b")) == 1  # shorter than n words: one shingle
    assert len(mh.shingle_hashes("abcdef", unit="char", ngram=3)) == 4
    # the same shingle text hashes alike wherever it sits
    assert mh.shingle_hashes("q a b c d e")[1] == mh.shingle_hashes("a b c d e z")[0]
    assert mh.shingle_hashes("")[0] != mh.shingle_hashes(" a ")[0]


def test_space_list_is_what_str_isspace_holds_for():
    assert list(mh._SPACES) == [c for c in range(0x110000) if chr(c).isspace()]


def _stream_docs(cp, start, end):
    if cp.dtype == np.uint8:
        return [bytes(cp[a:b]).decode("ascii") for a, b in zip(start, end, strict=True)]
    return [
        cp[a:b].astype("<u4").tobytes().decode("utf-32-le", "surrogatepass") for a, b in zip(start, end, strict=True)
    ]


@pytest.mark.parametrize(
    "texts",
    [
        ["a b", "  lead", "trail  ", "", "   ", "in \t\n side", "\x1c\x1dx\x1fy\x0b", "x"],  # ASCII: bytes path
        ["nul\x00 inside", "  ", "a\x00\x00b  c", ""],  # ASCII with NUL: the numpy path
        ["\u00e9t\u00e9  \u3000 x", "\u2028a\u2029", "", " \u00a0 ", "\ufb01n \U0001d400", "\ud800 x", "\u0301a"],
        [""],
        ["   "],
    ],
)
def test_block_stream_equals_normalised(texts):
    cp, start, end = mh._block_stream(texts)
    assert _stream_docs(cp, start, end) == mh._normalised(texts)
    assert (start[1:] >= end[:-1]).all()
    gap = cp[end[:-1][(end > start)[:-1] & (end < len(cp))[:-1]]]
    assert (gap == 32).all()  # a space closes every non-empty document but the last


def _reference_shingles(text, unit, n):
    """The shingle hashes from their definition, with Python ints (module notes, step 2)."""
    t = normalize_text(text)
    units = t.split(" ") if unit == "word" and t else ([] if unit == "word" else list(t))
    joiner = " " if unit == "word" else ""
    grams = [joiner.join(units[i : i + n]) for i in range(len(units) - n + 1)] or [t]
    out = []
    for g in grams:
        h = (sum((ord(c) + 1) * pow(mh._BASE, i, 1 << 64) for i, c in enumerate(g)) + len(g)) % (1 << 64)
        out.append(int(mh._splitmix(np.array([h], dtype=np.uint64))[0]))
    return out


@pytest.mark.parametrize("unit, n", [("word", 5), ("word", 1), ("char", 3), ("char", 1)])
def test_block_shingles_match_the_definition(unit, n):
    texts = [
        "The cat  sat on the mat, and then it slept",
        "",
        "a b",
        "\u00c9cole \ufb01ne  x",
        "one two three four five",
    ]
    cp, start, end = mh._block_stream(texts)
    h, off = mh._stream_shingles(cp, start, end, unit, n)
    for d, t in enumerate(texts):
        assert h[off[d] : off[d + 1]].tolist() == _reference_shingles(t, unit, n)


@pytest.mark.parametrize("num_perm", [7, 128, 256])
def test_screen_equals_exact_on_long_repeated_and_one_shingle_documents(num_perm):
    rng = np.random.default_rng(num_perm)
    docs = [
        " ".join(_doc(rng, 3000)),  # more shingles than a tile: cut into pieces
        " ".join(["same five words here now"] * 400),  # repeated shingles: every minimum is a tie
        "short",
        " ".join(VOCAB[i] for i in rng.integers(0, 20, 700)),  # small vocabulary: many repeats
    ] + [" ".join(_doc(rng, int(rng.integers(1, 60)))) for _ in range(50)]
    aff = mh._Affine(*mh._permutations(num_perm, 1))
    norm = mh._normalised(docs)
    h, off = mh._block_shingles(norm, "word", 5)
    assert np.array_equal(
        mh._block_signatures(norm, "word", 5, aff, num_perm),
        mh._exact_signatures(h >> np.uint64(3), off, aff, num_perm),
    )


# ---------------------------------------------------------------- determinism


def test_signatures_deterministic_per_seed_and_thread_count():
    rng = np.random.default_rng(1)
    docs = [" ".join(_doc(rng, int(rng.integers(1, 240)))) for _ in range(3100)]  # four blocks
    docs[5] = " ".join(_doc(rng, 2500))  # pieces
    docs[1500] = "caf\u00e9 " * 40  # a non-ASCII block
    a = minhash_signatures(docs, seed=4, n_jobs=1)
    assert a.shape == (3100, 128) and a.dtype == np.uint64 and int(a.max()) < MERSENNE_61
    for jobs in (2, 3):
        assert np.array_equal(a, minhash_signatures(docs, seed=4, n_jobs=jobs))
    assert np.array_equal(a[1024:2048], minhash_signatures(docs[1024:2048], seed=4))  # blocks do not matter
    assert not np.array_equal(a[:10], minhash_signatures(docs[:10], seed=5))


def test_overlapping_calls_agree_and_give_the_blas_threads_back():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from concurrent.futures import ThreadPoolExecutor

    def blas_threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    rng = np.random.default_rng(3)
    docs = [" ".join(_doc(rng, 150)) for _ in range(1500)]
    with ThreadPoolExecutor(3) as pool:
        outs = list(pool.map(lambda j: minhash_signatures(docs, n_jobs=1 + j % 2), range(4)))
    assert all(np.array_equal(outs[0], o) for o in outs[1:])
    assert blas_threads() == before


def _pinned_texts():
    rng = np.random.default_rng(2024)
    vocab = [f"w{i}" for i in range(300)] + ["\u00e9", "\ufb01n", "\u03a3\u0391\u03a3", "\u00a0", "tab\tbed", "\uff21"]
    texts = ["", "   ", "a", "a b c d", "The  cat\tsat on\nthe mat", "x" * 3000]
    for _ in range(200):
        texts.append(" ".join(vocab[i] for i in rng.integers(0, len(vocab), int(rng.integers(1, 400)))))
    texts.append(" ".join(["rep rep rep"] * 900))  # repeated shingles, longer than a tile
    return texts


@pytest.mark.parametrize(
    "unit, ngram, num_perm, seed, digest, doc4",
    [
        ("word", 5, 128, 0, "26f3cbcc8cb581ffe835fe8e", [1462512792307956233, 268944338386696118, 1009594058073364492]),
        ("char", 3, 64, 11, "2b431934878e3dadc70bc336", [59403692562568822, 125998854633439371, 59686879919868073]),
    ],
)
def test_signature_values_are_pinned(unit, ngram, num_perm, seed, digest, doc4):
    # values of the first implementation (per-document float screen): any speed-up must keep them
    sig = minhash_signatures(_pinned_texts(), unit=unit, ngram=ngram, num_perm=num_perm, seed=seed)
    assert sig[4, :3].tolist() == doc4
    assert hashlib.sha256(sig.astype("<u8").tobytes()).hexdigest()[:24] == digest


def test_signatures_equal_across_processes():
    code = (
        "from datafactors.select.minhash import minhash_signatures;"
        "print(minhash_signatures(['the cat sat on the mat again', 'zz top rules ok here now'], seed=9)"
        ".sum(axis=1, dtype='uint64').tolist())"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": str(s), "PATH": ""},
        ).stdout
        for s in (1, 2)
    }
    here = minhash_signatures(["the cat sat on the mat again", "zz top rules ok here now"], seed=9)
    assert outs == {str(here.sum(axis=1, dtype="uint64").tolist()) + "\n"}


# ---------------------------------------------------------------- quality vs exact Jaccard


def _planted(rng, n_base=300, n_dup=100):
    docs = [_doc(rng) for _ in range(n_base)]
    pairs = []
    for _ in range(n_dup):
        src = int(rng.integers(n_base))
        docs.append(_edit(rng, docs[src], int(rng.integers(1, 3))))
        pairs.append((src, len(docs) - 1))
    return docs, pairs


def test_recall_and_precision_against_exact_jaccard():
    rng = np.random.default_rng(7)
    docs, _ = _planted(rng)
    texts = [" ".join(d) for d in docs]
    cl = near_duplicate_clusters(texts)
    found = {}
    for _, g in cl.groupby("cluster_id"):
        m = sorted(int(i) for i in g["id"])
        for i in m:
            found[i] = set(m) - {i}
    # truth: every pair at exact Jaccard >= 0.9 (by Python sets); all others are random texts
    true_pairs = set()
    sets = [_shingles(d) for d in docs]
    index = {}
    for i, s in enumerate(sets):
        for sh in s:
            index.setdefault(sh, set()).add(i)
    for i, s in enumerate(sets):
        for j in set().union(*(index[sh] for sh in s)) - {i}:
            if i < j and len(s & sets[j]) / len(s | sets[j]) >= 0.9:
                true_pairs.add((i, j))
    assert len(true_pairs) >= 90
    found_pairs = {(i, j) for i, js in found.items() for j in js if i < j}
    recall = len(true_pairs & found_pairs) / len(true_pairs)
    # precision: a found pair must be a true near-duplicate (exact Jaccard >= 0.5 allows chains)
    precise = [p for p in found_pairs if _jaccard(docs[p[0]], docs[p[1]]) >= 0.8]
    assert recall >= 0.95
    assert len(precise) / max(1, len(found_pairs)) >= 0.95


def test_a_pair_at_jaccard_one_half_is_not_merged():
    rng = np.random.default_rng(2)
    base = _doc(rng, 300)
    other = base[:150] + _doc(rng, 150)
    j = _jaccard(base, other)
    assert 0.3 < j < 0.6
    assert near_duplicate_clusters([" ".join(base), " ".join(other)]).empty


def _reference_band_keys(sig, bands, rows):
    mult = mh._splitmix(np.arange(1, rows + 1, dtype=np.uint64)) | np.uint64(1)
    keys = np.empty((bands, len(sig)), dtype=np.uint64)
    for band in range(bands):
        k = np.zeros(len(sig), dtype=np.uint64)
        for j in range(rows):
            k = mh._splitmix(k ^ sig[:, band * rows + j] * mult[j])
        keys[band] = k
    return keys


def _reference_candidates(sig, bands, rows, between=None):
    out = set()
    for band in range(bands):
        buckets = {}
        for i, row in enumerate(map(tuple, sig[:, band * rows : (band + 1) * rows])):
            buckets.setdefault(row, []).append(i)
        for members in buckets.values():
            m = np.array(members)
            side = None if between is None else between[m]
            out.update(map(tuple, mh.bucket_pairs(m, side).tolist()))
    pairs = {(min(i, j), max(i, j)) for i, j in out if i != j}
    if between is not None:
        pairs = {(i, j) for i, j in pairs if between[i] != between[j]}
    return sorted(pairs)


def test_candidate_pairs_and_band_keys_match_references():
    rng = np.random.default_rng(8)
    base = [_doc(rng, 80) for _ in range(60)]
    texts = [" ".join(d) for d in base]
    texts += [" ".join(_edit(rng, base[i % 60], 1)) for i in range(120)]  # buckets of 2..4
    texts += [texts[3]] * 40 + [texts[4]] * 5  # a bucket above _ALL_PAIRS: chains
    sig = minhash_signatures(texts, num_perm=32, seed=2)
    assert np.array_equal(mh.band_keys(sig, 8, 4), _reference_band_keys(sig, 8, 4))
    side = rng.random(len(texts)) < 0.4
    for between in (None, side):
        got = mh.candidate_pairs(sig, 8, 4, between=between)
        assert got.dtype == np.int64 and got.shape[1] == 2
        assert [tuple(p) for p in got.tolist()] == _reference_candidates(sig, 8, 4, between)


def test_banding_probability_matches_the_empirical_candidate_rate():
    # pairs at exact Jaccard s; with b bands of r rows the candidate probability is 1 - (1 - s^r)^b
    rng = np.random.default_rng(11)
    bands, rows = 8, 4
    for n_edit, trials in ((6, 150), (12, 150)):
        docs, js = [], []
        for _ in range(trials):
            a = _doc(rng, 100)
            b = _edit(rng, a, n_edit)
            docs += [" ".join(a), " ".join(b)]
            js.append(_jaccard(a, b))
        sig = minhash_signatures(docs, num_perm=bands * rows, seed=int(rng.integers(1000)))
        cand = mh.candidate_pairs(sig, bands, rows)
        hit = {(int(i), int(j)) for i, j in cand}
        rate = np.mean([(2 * t, 2 * t + 1) in hit for t in range(trials)])
        want = np.mean([1 - (1 - s**rows) ** bands for s in js])
        se = np.sqrt(want * (1 - want) / trials)
        assert abs(rate - want) <= 4 * se + 0.03, (n_edit, rate, want)


def test_cluster_table_and_representative():
    t = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu"
    texts = ["unrelated words go here now please", t, t.upper(), t + " nu", "x y"]
    cl = near_duplicate_clusters(texts, ids=list("abcde"), threshold=0.7)
    assert cl.columns.tolist() == ["cluster_id", "id", "representative_id", "similarity"]
    assert cl["id"].tolist() == ["b", "c", "d"] and set(cl["representative_id"]) == {"b"}
    assert cl["similarity"].iloc[0] == 1.0 and cl["similarity"].iloc[1] == 1.0


def test_all_duplicates_keep_one_row_and_empty_texts_are_duplicates():
    ds = _ds(["same text here ok"] * 6)
    assert select(ds, "minhash_dedup").tolist() == [0]
    ds2 = _ds(["", "  ", "words words words words words"])
    assert select(ds2, "minhash_dedup").tolist() == [0, 2]


@pytest.mark.parametrize(
    "bad, msg",
    [
        ({"threshold": 0}, "threshold == 0"),
        ({"threshold": 1.5}, "threshold == 1.5"),
        ({"bands": 10}, "bands \\* rows"),
        ({"unit": "byte"}, "unit =="),
        ({"ngram": 0}, "ngram == 0"),
    ],
)
def test_bad_parameters_one_error(bad, msg):
    with pytest.raises(df.ConfigError, match=msg):
        near_duplicate_clusters(["a b c"], **bad)
    with pytest.raises(df.ConfigError, match=msg):
        select(_ds(["a b c", "d e f"]), "minhash_dedup", **bad)
    if "threshold" in bad:
        with pytest.raises(df.ConfigError, match=msg):
            df.select.check_strategy("minhash_dedup", None, 2, bad)


def test_minhash_dedup_keep_by_score_and_needs_text():
    rng = np.random.default_rng(5)
    base = _doc(rng, 60)
    texts = [" ".join(base), " ".join(_edit(rng, base, 1)), " ".join(_doc(rng, 60))]
    ds = _ds(texts, ids=["a", "b", "c"])
    assert select(ds, "minhash_dedup").tolist() == [0, 2]
    # confidence: higher = easier, so the member with the higher confidence is kept
    frame = pd.DataFrame({"confidence": [0.1, 0.9, 0.5]}, index=ds.ids)
    assert select(ds, "minhash_dedup", scores=frame, keep="confidence").tolist() == [1, 2]
    with pytest.raises(df.DataError, match="has no text column"):
        select(df.Dataset.from_arrays(np.zeros((3, 1)), [0, 1, 0]), "minhash_dedup")
    with pytest.raises(df.DataError, match="text at row 1 is missing"):
        minhash_signatures(["a", None])
