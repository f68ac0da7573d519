"""The contamination family: planted test leaks are counted and listed; MinHash duplicate rate."""

import numpy as np
import pandas as pd

import datafactors as df

WORDS = [f"c{i}" for i in range(4000)]


def _texts(rng, n, length=120):
    return [" ".join(WORDS[i] for i in rng.integers(0, len(WORDS), length)) for _ in range(n)]


def _rows(prof, factor):
    return prof[(prof.family == "contamination") & (prof.factor == factor)]


def test_planted_leaks_are_counted_and_listed():
    rng = np.random.default_rng(0)
    train, test = _texts(rng, 30), _texts(rng, 8)
    train[4] = test[6].upper()  # leak of test row 6
    w = test[1].split()
    w[50] = "edited"
    train[20] = " ".join(w)  # leak of test row 1 with one edit (Jaccard ~0.92)
    train[25] = train[3]  # one duplicate inside the training set
    ds = df.Dataset.from_arrays(np.zeros((30, 1)), None, extra=pd.DataFrame({"text": train}), text_column="text")
    te = df.Dataset.from_arrays(
        np.zeros((8, 1)), None, ids=[f"t{i}" for i in range(8)], extra=pd.DataFrame({"text": test}), text_column="text"
    )
    prof = df.factors.profile(ds, test=te, families=["contamination"])
    assert _rows(prof, "contaminated_test_rows")["value"].item() == 2
    assert _rows(prof, "contamination_rate")["value"].item() == 2 / 8
    listed = _rows(prof, "contaminated_test_row")
    assert listed["key"].tolist() == ["t1", "t6"] and listed["text"].tolist() == ["20", "4"]
    assert listed["value"].iloc[1] == 1.0 and 0.8 <= listed["value"].iloc[0] < 1.0
    assert "t1, t6" in _rows(prof, "contaminated_test_rows")["note"].item()
    assert _rows(prof, "minhash_near_duplicate_rate")["value"].item() == 2 / 30
    assert _rows(prof, "minhash_removable_share")["value"].item() == 1 / 30


def test_cosine_without_text_and_no_test_set():
    rng = np.random.default_rng(1)
    X, T = rng.normal(size=(40, 6)), rng.normal(size=(5, 6))
    X[7] = T[2] * 2.0
    ds = df.Dataset.from_arrays(X, None)
    prof = df.factors.profile(ds, test=df.Dataset.from_arrays(T, None), families=["contamination"])
    assert _rows(prof, "contaminated_test_rows")["value"].item() == 1
    assert "cosine" in _rows(prof, "contaminated_test_rows")["note"].item()
    alone = df.factors.profile(ds, families=["contamination"])
    assert "no test set" in _rows(alone, "contaminated_test_rows")["note"].item()
    assert _rows(alone, "minhash_near_duplicate_rate").empty  # no text: no MinHash rate
