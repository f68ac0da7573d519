"""Group and cluster splits with near_duplicates="together": no planted pair straddles two parts."""

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.splits import split

WORDS = [f"s{i}" for i in range(4000)]


def _planted(n_base=60, n_pairs=30, seed=0):
    rng = np.random.default_rng(seed)
    texts = [" ".join(WORDS[i] for i in rng.integers(0, len(WORDS), 150)) for _ in range(n_base)]
    pairs = []
    for _ in range(n_pairs):
        src = int(rng.integers(n_base))
        w = texts[src].split()
        w[int(rng.integers(150))] = "edited"
        texts.append(" ".join(w))
        pairs.append((src, len(texts) - 1))
    n = len(texts)
    groups = np.array(list("abcdef"))[rng.integers(0, 6, n)]  # pairs land in different groups
    X = rng.normal(size=(n, 3))
    ds = df.Dataset.from_arrays(X, None, groups=groups, extra=pd.DataFrame({"text": texts}), text_column="text")
    return ds, pairs


def _part(s, n):
    return s.assignments(n)


@pytest.mark.parametrize("kind, kw", [("group", {"holdout": ["a", "b"]}), ("cluster", {"n_clusters": 3})])
def test_no_planted_pair_is_split(kind, kw):
    ds, pairs = _planted()
    together = split(ds, kind, seed=1, test_size=0.3, near_duplicates="together", **kw)
    part = _part(together, ds.n)
    assert (part != "").all()  # every row has a part
    assert all(part[a] == part[b] for a, b in pairs)
    assert len(together.test) > 0 and len(together.train) > 0
    # the plain split does cut some pairs (so the test above can fail)
    plain = _part(split(ds, kind, seed=1, test_size=0.3, **kw), ds.n)
    assert any(plain[a] != plain[b] for a, b in pairs)


def test_near_duplicates_option_checked_and_needs_text():
    ds, _ = _planted()
    with pytest.raises(df.ConfigError, match="near_duplicates == 'apart'"):
        split(ds, "group", holdout=["a"], near_duplicates="apart")
    plain = df.Dataset.from_arrays(np.zeros((6, 1)), None, groups=list("aabbcc"))
    with pytest.raises(df.DataError, match="has no text column"):
        split(plain, "group", holdout=["c"], test_size=0.25, near_duplicates="together")
