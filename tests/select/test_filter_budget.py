"""Filters' optional budget (budget None / int / fraction / too large) and decontamination."""

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.select import REGISTRY, check_strategy, select
from datafactors.select.decontaminate import contaminated_rows

WORDS = [f"t{i}" for i in range(3000)]


def _text(rng, n=40):
    return " ".join(WORDS[i] for i in rng.integers(0, len(WORDS), n))


def _corpus():
    """12 rows: 9 distinct texts; rows 3, 7 repeat row 0 / row 1 exactly, row 10 is row 2 with one edit."""
    rng = np.random.default_rng(0)
    texts = [_text(rng, 120) for _ in range(12)]
    texts[3] = texts[0]
    texts[7] = texts[1]
    w = texts[2].split()
    w[20] = "changed"
    texts[10] = " ".join(w)
    X = np.random.default_rng(1).normal(size=(12, 4))
    X[3], X[7], X[10] = X[0], X[1], X[2] + 1e-4
    extra = pd.DataFrame({"text": texts})
    return df.Dataset.from_arrays(X, None, ids=[f"r{i}" for i in range(12)], extra=extra, text_column="text")


PASS = [0, 1, 2, 4, 5, 6, 8, 9, 11]  # rows every dedup filter keeps on _corpus()

KWARGS = {
    "exact_dedup": {},
    "semdedup": {"eps": 0.001, "n_clusters": 1},
    "minhash_dedup": {},
    "quality": {"scores": np.r_[np.ones(3), 0, np.ones(3), 0, np.ones(2), 0, 1.0], "threshold": 0.5},
    "decontaminate": {"target": ["an unrelated evaluation text of many words for sure"]},
}


def _filters():
    return sorted(n for n in REGISTRY.names() if getattr(REGISTRY.get(n), "is_filter", False))


def test_the_filters_are_marked():
    assert {"exact_dedup", "semdedup", "minhash_dedup", "quality", "decontaminate"} <= set(_filters())
    assert not getattr(REGISTRY.get("random"), "is_filter", False)


@pytest.mark.parametrize("name", _filters())
def test_every_filter_budget_none_int_fraction_too_large(name):
    if name not in KWARGS:
        pytest.skip(f"{name}: its inputs are tested with its own module")
    ds = _corpus()
    kw = KWARGS[name]
    every = select(ds, name, None, **kw)
    want = {"decontaminate": list(range(12)), "exact_dedup": sorted(PASS + [10])}.get(name, PASS)
    assert every.tolist() == want  # every passing row, in input order
    assert np.array_equal(every, select(ds, name, **kw))  # None is the default
    if name in ("exact_dedup", "quality"):  # their own ranking with a budget: random order / best score first
        got = select(ds, name, 4, **kw)
        assert len(got) == 4 and set(got.tolist()) <= set(want)
    else:  # the first passing rows in input order
        assert select(ds, name, 4, **kw).tolist() == want[:4]
        assert select(ds, name, 0.25, **kw).tolist() == want[:3]
    m = len(want)
    if m < 12:
        with pytest.raises(df.DataError, match=f"only {m} of 12 rows pass {name}; the budget asks for {m + 1}"):
            select(ds, name, m + 1, **kw)
    with pytest.raises(df.DataError, match="budget == 13"):
        select(ds, name, 13, **kw)
    assert check_strategy(name, None, 12, {k: v for k, v in kw.items() if k != "scores"}) is None


def test_exact_dedup_budget_orders():
    ds = _corpus()
    assert select(ds, "exact_dedup", 5, order="first").tolist() == PASS[:5]
    r = select(ds, "exact_dedup", 5, seed=2)
    assert set(r.tolist()) <= set(PASS) and len(r) == 5


def test_exact_dedup_hashes_the_normalised_text_column():
    texts = ["A cat", "a  CAT ", "a dog", "\uff41 cat"]  # the full-width a is NFKC "a"
    extra = pd.DataFrame({"text": texts})
    ds = df.Dataset.from_arrays(np.arange(4.0)[:, None], None, extra=extra, text_column="text")
    assert select(ds, "exact_dedup").tolist() == [0, 2]
    # without a text column the feature rows (all distinct here) are compared
    plain = df.Dataset.from_arrays(np.arange(4.0)[:, None], None, extra=extra)
    assert select(plain, "exact_dedup").tolist() == [0, 1, 2, 3]


def test_non_filters_need_a_budget_and_balanced_filters_too():
    ds = _corpus()
    with pytest.raises(df.ConfigError, match="strategy 'random' needs a budget"):
        select(ds, "random")
    with pytest.raises(df.ConfigError, match="strategy 'kcenter' needs a budget"):
        check_strategy("kcenter", None, 12)
    with pytest.raises(df.ConfigError, match="give 'exact_dedup' a budget"):
        select(ds, "exact_dedup", None, group_balanced=True)


def test_filters_that_need_a_setting_without_a_budget():
    ds = _corpus()
    with pytest.raises(df.ConfigError, match="semdedup without a budget needs eps="):
        select(ds, "semdedup")
    with pytest.raises(df.ConfigError, match="quality without a budget needs threshold="):
        select(ds, "quality", scores=np.ones(12))
    # with a budget and no eps semdedup keeps its ranking by M
    assert len(select(ds, "semdedup", 5, n_clusters=1)) == 5


# ---------------------------------------------------------------- decontamination


def _leaky():
    rng = np.random.default_rng(4)
    train = [_text(rng, 200) for _ in range(40)]
    evals = [_text(rng, 200) for _ in range(10)]
    # plant: train rows 5 and 17 copy eval rows 2 and 8 with two word edits; train row 30 copies eval 2 exactly
    for t, e in ((5, 2), (17, 8)):
        w = evals[e].split()
        w[10], w[40] = "leak", "leaked"
        train[t] = " ".join(w)
    train[30] = evals[2].upper()
    return train, evals


def test_decontaminate_removes_the_planted_leaks_and_nothing_else():
    train, evals = _leaky()
    extra = pd.DataFrame({"text": train})
    ds = df.Dataset.from_arrays(np.zeros((40, 1)), None, extra=extra, text_column="text")
    kept = select(ds, "decontaminate", target=evals)
    assert kept.tolist() == [i for i in range(40) if i not in (5, 17, 30)]
    ev = df.Dataset.from_arrays(
        np.zeros((10, 1)),
        None,
        ids=[f"e{i}" for i in range(10)],
        extra=pd.DataFrame({"text": evals}),
        text_column="text",
    )
    assert np.array_equal(select(ds, "decontaminate", target=ev), kept)
    rows = contaminated_rows(ds, ev)
    assert rows.columns.tolist() == ["eval_id", "train_id", "similarity", "method"]
    assert list(zip(rows["eval_id"], rows["train_id"], strict=True)) == [("e2", "5"), ("e2", "30"), ("e8", "17")]
    assert (rows["method"] == "minhash").all() and rows["similarity"].min() >= 0.8
    # ids of rows of ds as the target: those rows are the evaluation set and leave the training set
    both = df.Dataset.from_arrays(
        np.zeros((50, 1)), None, extra=pd.DataFrame({"text": train + evals}), text_column="text"
    )
    kept2 = select(both, "decontaminate", target=[str(i) for i in range(40, 50)])
    assert kept2.tolist() == [i for i in range(40) if i not in (5, 17, 30)]
    assert len(select(both, "decontaminate", 10, target=[str(i) for i in range(40, 50)])) == 10


def test_decontaminate_by_cosine_without_text():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 8))
    E = rng.normal(size=(5, 8))
    X[4] = E[1] * 3.0  # same direction: cosine 1
    X[9] = E[3] + 1e-3
    ds = df.Dataset.from_arrays(X, None)
    ev = df.Dataset.from_arrays(E, None, ids=[f"e{i}" for i in range(5)])
    assert select(ds, "decontaminate", target=ev).tolist() == [i for i in range(30) if i not in (4, 9)]
    rows = contaminated_rows(ds, ev, cosine_threshold=0.99)
    assert rows["train_id"].tolist() == ["4", "9"] and (rows["method"] == "cosine").all()
    with pytest.raises(df.ConfigError, match="cosine_threshold == 1.5"):
        contaminated_rows(ds, ev, cosine_threshold=1.5)
    with pytest.raises(df.ConfigError, match="threshold == 0"):
        contaminated_rows(["a b"], ["a b"], threshold=0)
    with pytest.raises(df.DataError, match="needs target="):
        select(ds, "decontaminate")
