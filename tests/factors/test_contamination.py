"""The contamination family: planted test leaks are counted and listed; MinHash duplicate rate."""

import re

import numpy as np
import pandas as pd
import pytest

import datafactors as df

WORDS = [f"c{i}" for i in range(4000)]


def _texts(rng, n, length=120):
    return [" ".join(WORDS[i] for i in rng.integers(0, len(WORDS), length)) for _ in range(n)]


def _rows(prof, factor):
    return prof[(prof.family == "contamination") & (prof.factor == factor)]


def _leaky():
    """30 training texts and 8 test texts with two planted leaks and one duplicate inside the training set."""
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
    return ds, te


def test_planted_leaks_are_counted_and_listed():
    ds, te = _leaky()
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


def test_minhash_threshold_both_sides():
    ds, te = _leaky()
    base = df.factors.profile(ds, test=te, families=["contamination"])
    thr = _rows(base, "contamination_threshold")
    assert thr["key"].item() == "minhash" and thr["value"].item() == 0.8  # the default, recorded
    edited = _rows(base, "contaminated_test_row").set_index("key").loc["t1", "value"]  # estimated Jaccard
    assert 0.8 <= edited < 1.0
    at = df.factors.profile(ds, test=te, families=["contamination"], minhash_threshold=edited)
    assert _rows(at, "contaminated_test_rows")["value"].item() == 2  # exactly at the threshold: counted
    assert _rows(at, "contamination_threshold")["value"].item() == edited
    above = df.factors.profile(ds, test=te, families=["contamination"], minhash_threshold=edited + 0.005)
    assert _rows(above, "contaminated_test_rows")["value"].item() == 1  # 1/128 steps: the edit drops out
    assert _rows(above, "contaminated_test_row")["key"].tolist() == ["t6"]
    note = _rows(above, "contaminated_test_rows")["note"].item()
    assert f"Jaccard >= {edited + 0.005:g}" in note
    assert f"Jaccard >= {edited + 0.005:g}" in _rows(above, "contamination_rate")["note"].item()
    # the cosine threshold does not apply when both sides have text
    same = df.factors.profile(ds, test=te, families=["contamination"], minhash_threshold=edited, contamination_cosine=1)
    assert _rows(same, "contaminated_test_rows")["value"].item() == 2


def test_cosine_threshold_both_sides():
    X = np.array([[1.0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    T = np.array([[0.9, np.sqrt(0.19), 0, 0], [0, -1.0, 0, 0]])  # cosine 0.9 to training row 0, 0 to the rest
    ds, te = df.Dataset.from_arrays(X, None), df.Dataset.from_arrays(T, None)

    def count(**kw):
        prof = df.factors.profile(ds, test=te, families=["contamination"], **kw)
        return _rows(prof, "contaminated_test_rows")["value"].item(), prof

    assert count()[0] == 0  # default: the profile's near_duplicate_threshold, 0.95
    assert count(near_duplicate_threshold=0.9)[0] == 1  # followed when contamination_cosine is not given
    n, prof = count(contamination_cosine=0.9)
    assert n == 1
    assert _rows(prof, "contaminated_test_row")["value"].item() == pytest.approx(0.9, abs=1e-6)
    thr = _rows(prof, "contamination_threshold")
    assert thr["key"].item() == "cosine" and thr["value"].item() == 0.9
    assert "contamination_cosine" in thr["note"].item()
    assert count(contamination_cosine=0.89)[0] == 1
    assert count(contamination_cosine=0.91)[0] == 0
    assert count(contamination_cosine=0.91, near_duplicate_threshold=0.5)[0] == 0  # the explicit one wins


@pytest.mark.parametrize(
    "param, value",
    [("minhash_threshold", 0), ("minhash_threshold", 1.5), ("minhash_threshold", -0.2), ("minhash_threshold", True),
     ("minhash_threshold", "0.8"), ("contamination_cosine", 0.0), ("contamination_cosine", 2),
     ("contamination_cosine", float("nan")), ("near_duplicate_threshold", 1.01)],
)  # fmt: skip
def test_thresholds_outside_the_unit_interval_are_one_error(param, value):
    ds = df.Dataset.from_arrays(np.zeros((4, 2)), None)
    with pytest.raises(df.ConfigError, match=rf"^{param} == {re.escape(repr(value))}, must be a number in \(0, 1\]$"):
        df.factors.profile(ds, test=ds, families=["contamination"], **{param: value})
    assert df.factors.profile(ds, families=["size"], **{param: 1.0}) is not None  # 1 is allowed
