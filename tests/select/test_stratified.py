"""Coverage-centric (stratified-by-score) selection and the group-balanced option."""

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.select import select
from datafactors.select.stratified import _strata, coverage_centric


def test_ccs_allocation_follows_algorithm_1():
    # strata of sizes 2, 3, 10, 20 (values 0..3 with 4 strata); k = 12:
    # smallest first: min(2, 12 // 4) = 2, min(3, 10 // 3) = 3, min(10, 7 // 2) = 3, then 4
    h = np.repeat([3.0, 2.0, 1.0, 0.0], [2, 3, 10, 20])
    idx = coverage_centric(h, 12, n_strata=4, seed=0)
    assert len(set(idx.tolist())) == 12
    counts = {v: int((h[idx] == v).sum()) for v in (3.0, 2.0, 1.0, 0.0)}
    assert counts == {3.0: 2, 2.0: 3, 1.0: 3, 0.0: 4}
    assert h[idx[:2]].tolist() == [3.0, 3.0]  # pick order: smallest stratum first


def test_ccs_covers_every_stratum_and_prunes_the_hardest():
    rng = np.random.default_rng(0)
    h = rng.exponential(size=1000)  # most mass easy, a long hard tail
    idx = coverage_centric(h, 100, n_strata=10, hard_prune=0.1, seed=1)
    kept = np.sort(h)[:900]
    strata = _strata(kept, 10)
    assert set(_strata(h[idx], 10).tolist()) <= set(strata.tolist())
    # after dropping the hardest 10%, every stratum of the rest is represented
    lo, hi = kept.min(), kept.max()
    got = np.clip(np.floor((h[idx] - lo) / (hi - lo) * 10), 0, 9).astype(int)
    assert set(got.tolist()) == set(strata.tolist())
    assert h[idx].max() <= kept.max()


def test_ccs_prune_is_capped_so_budget_is_met_and_inf_is_hardest():
    h = np.array([0.0, 1.0, np.inf, 2.0, 3.0])
    idx = coverage_centric(h, 4, hard_prune=3, seed=0)  # only 1 can go
    assert sorted(idx.tolist()) == [0, 1, 3, 4]
    assert _strata(np.array([-np.inf, 0.0, 1.0, np.inf]), 5).tolist() == [0, 0, 4, 4]


def test_ccs_selector_reads_orientation():
    ds = df.Dataset.from_arrays(np.zeros((20, 1)), np.arange(20) % 2, ids=[f"e{i}" for i in range(20)])
    conf = pd.DataFrame({"confidence": np.linspace(0.05, 1.0, 20)}, index=ds.ids)
    # hardest by confidence = lowest confidence; pruning 5 drops rows 0..4
    idx = select(ds, "ccs", 10, scores=conf, score="confidence", hard_prune=5, n_strata=3, seed=0)
    assert min(idx.tolist()) >= 5


@pytest.mark.parametrize(
    "kwargs, err, msg",
    [
        ({"n_strata": 0}, df.ConfigError, "n_strata == 0"),
        ({"hard_prune": 1.5}, df.ConfigError, "hard_prune == 1.5"),
        ({"hard_prune": -1}, df.ConfigError, "hard_prune == -1"),
    ],
)
def test_ccs_bad_options(kwargs, err, msg):
    with pytest.raises(err, match=msg):
        coverage_centric(np.arange(10.0), 3, **kwargs)


def test_ccs_bad_scores():
    with pytest.raises(df.DataError, match="NaN"):
        coverage_centric(np.array([0.0, np.nan]), 1)
    with pytest.raises(df.DataError, match="k == 3"):
        coverage_centric(np.array([0.0, 1.0]), 3)


def _grouped(n=60):
    rng = np.random.default_rng(0)
    y = np.arange(n) % 3
    groups = np.array(["a"] * 40 + ["b"] * 15 + ["c"] * 5)
    return df.Dataset.from_arrays(rng.normal(size=(n, 2)), y, groups=groups)


def test_group_balanced_splits_over_groups():
    ds = _grouped()
    for name in ("random", "kcenter", "cluster_balanced"):
        idx = select(ds, name, 24, group_balanced=True, seed=1)
        counts = pd.Series(ds.groups[idx]).value_counts().to_dict()
        assert counts == {"a": 10, "b": 9, "c": 5}  # 24 over sizes 40/15/5, water-filled


def test_class_and_group_balanced_use_the_cells():
    ds = _grouped()
    idx = select(ds, "random", 18, class_balanced=True, group_balanced=True, seed=0)
    cells = pd.Series(list(zip(ds.y[idx], ds.groups[idx], strict=True))).value_counts()
    # 9 cells; (0, "c") holds a single row, so it gives 1 and the other eight share the rest
    assert len(cells) == 9 and cells[(0, "c")] == 1
    assert sorted(cells.drop((0, "c")).tolist()) == [2] * 7 + [3]


def test_group_balanced_needs_groups():
    ds = df.Dataset.from_arrays(np.zeros((6, 1)), [0, 1] * 3)
    with pytest.raises(df.DataError, match="group_balanced=True needs group labels"):
        select(ds, "random", 3, group_balanced=True)
