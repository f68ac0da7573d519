"""Domain mixtures: quotas by hand, the selector, DomainSchedule phases and upsampling switch steps."""

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.select import select
from datafactors.select.mixture import DomainSchedule, domains_of, mixture_quota, upsampling_schedule


def test_mixture_quota_by_hand():
    assert mixture_quota([100, 100, 100], [0.5, 0.3, 0.2], 10).tolist() == [5, 3, 2]
    # largest remainder: 7 * (1/3) each -> 2.33 each, one extra to the first
    assert mixture_quota([10, 10, 10], [1, 1, 1], 7).tolist() == [3, 2, 2]
    # a domain short of its share gives everything; the rest re-split by weight
    assert mixture_quota([2, 100, 100], [0.5, 0.25, 0.25], 10).tolist() == [2, 4, 4]
    assert mixture_quota([2, 3, 100], [0.4, 0.4, 0.2], 10).tolist() == [2, 3, 5]
    # a zero-weight domain gives nothing
    assert mixture_quota([5, 5], [1.0, 0.0], 5).tolist() == [5, 0]
    with pytest.raises(df.DataError, match="budget == 6, but the domains with positive weight hold only 5"):
        mixture_quota([5, 5], [1.0, 0.0], 6)


def _domain_ds(counts=(60, 30, 10), extra=False):
    names = np.repeat(["web", "code", "math"], counts)
    n = len(names)
    X = np.arange(n, dtype=float)[:, None]
    kw = {"extra": pd.DataFrame({"source": names})} if extra else {"groups": names}
    return df.Dataset.from_arrays(X, np.arange(n) % 2, **kw)


def test_mixture_selector_matches_the_weights_and_interleaves():
    ds = _domain_ds()
    idx = select(ds, "mixture", 20, weights={"web": 0.5, "code": 0.25, "math": 0.25}, seed=1)
    dom = ds.groups[idx]
    assert pd.Series(dom).value_counts().to_dict() == {"web": 10, "code": 5, "math": 5}
    # every prefix is close to the mix: the first 4 picks hold web twice, code and math once
    assert sorted(dom[:4].tolist()) == ["code", "math", "web", "web"]
    np.testing.assert_array_equal(
        idx, select(ds, "mixture", 20, weights={"web": 0.5, "code": 0.25, "math": 0.25}, seed=1)
    )
    # math has only 10 rows: asking it for half of 40 caps it and re-splits the rest
    idx = select(ds, "mixture", 40, weights={"math": 0.5, "web": 0.5}, seed=0)
    assert pd.Series(ds.groups[idx]).value_counts().to_dict() == {"web": 30, "math": 10}
    # None = equal weights; domain read from an extra column
    idx = select(_domain_ds(extra=True), "mixture", 9, domain="source", seed=0)
    assert sorted(pd.Series(_domain_ds(extra=True).extra["source"].to_numpy()[idx]).value_counts().tolist()) == [
        3,
        3,
        3,
    ]


def test_mixture_bad_inputs():
    ds = _domain_ds()
    with pytest.raises(df.DataError, match=r"unknown domain\(s\) \['news'\]"):
        select(ds, "mixture", 5, weights={"news": 1.0})
    with pytest.raises(df.ConfigError, match=r"weights\['web'\] == -1"):
        select(ds, "mixture", 5, weights={"web": -1})
    with pytest.raises(df.ConfigError, match="all zero"):
        select(ds, "mixture", 5, weights={"web": 0})
    with pytest.raises(df.DataError, match="hold only 10 rows"):
        select(ds, "mixture", 11, weights={"math": 1})
    no_groups = df.Dataset.from_arrays(np.zeros((4, 1)), [0, 1, 0, 1])
    with pytest.raises(df.DataError, match="has no groups"):
        select(no_groups, "mixture", 2)
    with pytest.raises(df.DataError, match="domain column 'src' is not in the dataset's extra columns"):
        domains_of(ds, "src")


def test_domain_schedule_row_weights_and_phase_steps():
    dom = np.array(["a", "a", "a", "b"])
    s = DomainSchedule([(0.0, None), (0.25, {"a": 1.0}), (0.75, {"a": 1, "b": 3})], domains=dom)
    np.testing.assert_allclose(s(0, 8), [0.25, 0.25, 0.25, 0.25])  # natural: every row alike
    np.testing.assert_allclose(s(2, 8), [1 / 3, 1 / 3, 1 / 3, 0.0])
    np.testing.assert_allclose(s(6, 8), [1 / 12, 1 / 12, 1 / 12, 0.75])
    assert s.switch_steps(8) == [0, 2, 6]
    assert [s.phase_at(t, 8) for t in range(8)] == [0, 0, 1, 1, 1, 1, 2, 2]
    # ceil: a phase starting at 25% of 10 steps starts at step 3
    assert s.switch_steps(10) == [0, 3, 8]


@pytest.mark.parametrize("f, total, switch", [(0.1, 100, 90), (0.2, 100, 80), (0.05, 30, 29), (0.3, 7, 5)])
def test_upsampling_switch_step(f, total, switch):
    dom = np.array(["web"] * 8 + ["math"] * 2)
    s = upsampling_schedule("math", f, factor=3.0, domains=dom)
    assert s.switch_steps(total) == [0, switch]
    base, final = s(switch - 1, total), s(switch, total)
    np.testing.assert_allclose(base, 0.1)  # natural mix before the switch
    # after: math's share 0.2 * 3 / (0.8 + 0.6)
    assert final[dom == "math"].sum() == pytest.approx(0.6 / 1.4)
    assert s(total - 1, total) is final


def test_upsampling_with_explicit_final_mix_and_f_zero():
    dom = np.array(["web"] * 6 + ["code"] * 4)
    s = upsampling_schedule(["code"], 0.5, target_weights={"code": 0.9, "web": 0.1}, domains=dom)
    assert s(5, 10)[dom == "code"].sum() == pytest.approx(0.9)
    base = upsampling_schedule(
        ["code"], 0.5, target_weights={"code": 0.9, "web": 0.1}, base_weights={"web": 0.5, "code": 0.5}, domains=dom
    )
    assert base(0, 10)[dom == "code"].sum() == pytest.approx(0.5)
    flat = upsampling_schedule("code", 0.0, domains=dom)
    assert flat.switch_steps(10) == [0]
    np.testing.assert_allclose(flat(9, 10), 0.1)


def test_schedule_bad_inputs():
    with pytest.raises(df.ConfigError, match="f == 1.0"):
        upsampling_schedule("math", 1.0)
    with pytest.raises(df.ConfigError, match="factor == 0"):
        upsampling_schedule("math", 0.1, factor=0)
    with pytest.raises(df.DataError, match=r"target domain\(s\) \['law'\] not among the domains"):
        upsampling_schedule("law", 0.1, domains=["web", "math"])
    with pytest.raises(df.ConfigError, match="first phase must start at 0"):
        DomainSchedule([(0.5, None)], domains=["a"])
    with pytest.raises(df.ConfigError, match="phase starts must increase"):
        DomainSchedule([(0.0, None), (0.5, None), (0.5, None)], domains=["a"])
    with pytest.raises(df.DataError, match=r"phases\[1\] weights name unknown domain"):
        DomainSchedule([(0.0, None), (0.5, {"z": 1})], domains=["a", "b"])
    with pytest.raises(df.DataError, match="has no domains yet"):
        DomainSchedule([(0.0, None)])(0, 10)
    sched = DomainSchedule([(0.0, None)], domains=["a", "b"])
    ds = df.Dataset.from_arrays(np.zeros((3, 1)), [0, 1, 0], groups=["a", "b", "a"])
    with pytest.raises(df.DataError, match="domains for 2 rows but the training set has 3"):
        sched.bind(ds)
