"""demonstration-retrieval: the domain maps, the bank, retrieval for a shifted target, the claim and its control."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

import datafactors as df
from datafactors.recipes import REGISTRY
from datafactors.recipes.demonstration_retrieval import (
    BUDGETS,
    DOMAINS,
    balanced_domains,
    domain_tv,
    map_rows,
    retrieval_experiment,
    to_domain,
)
from datafactors.select import select


def test_registered_with_paper_claim_and_control():
    r = REGISTRY.get("demonstration-retrieval")
    assert r.paper.startswith("Meta-training with Demonstration Retrieval") and "Mueller" in r.paper
    assert "random" in r.claim and "mixture" in r.control and "not shifted" in r.control


def test_domain_maps_move_one_pixel_by_hand():
    img = np.zeros((1, 64))
    img[0, 1 * 8 + 2] = 5.0  # row 1, column 2
    where = {
        d: np.argwhere(to_domain(img, d).reshape(8, 8) != 0).tolist() for d in ("clean", "mirror", "flip", "rot90")
    }
    assert where["clean"] == [[1, 2]]
    assert where["mirror"] == [[1, 5]]  # column 7 - 2
    assert where["flip"] == [[6, 2]]  # row 7 - 1
    assert where["rot90"] == [[5, 1]]  # counter-clockwise: (r, c) -> (7 - c, r)
    inv = to_domain(img, "invert").reshape(8, 8)
    assert inv[1, 2] == 11.0 and (np.delete(inv.ravel(), 10) == 16.0).all()
    inv_rot = to_domain(img, "invert-rot90").reshape(8, 8)
    assert inv_rot[5, 1] == 11.0 and (inv_rot == 16.0).sum() == 63
    with pytest.raises(ValueError, match="domain"):
        to_domain(img, "blur")


def test_domains_hold_the_same_images_and_differ_from_each_other():
    X = load_digits().data[:50]
    mapped = {d: to_domain(X, d) for d in DOMAINS}
    for d, A in mapped.items():
        assert A.dtype == np.float32 and A.shape == (50, 64)
        # a bijection: the multiset of pixel values (or of 16 - values) is kept per image
        vals = 16 - A if d.startswith("invert") else A
        np.testing.assert_array_equal(np.sort(vals, axis=1), np.sort(X, axis=1))
    for i, a in enumerate(DOMAINS):
        for b in DOMAINS[i + 1 :]:
            assert np.abs(mapped[a] - mapped[b]).mean() > 1.0


def test_balanced_domains_and_map_rows():
    codes = balanced_domains(1200, np.random.default_rng(0))
    assert np.bincount(codes).tolist() == [200] * 6
    odd = np.bincount(balanced_domains(497, np.random.default_rng(1)))
    assert odd.sum() == 497 and odd.max() - odd.min() == 1  # 497 = 6 * 82 + 5
    X = load_digits().data[:12]
    codes = np.array([0, 1, 2, 3, 4, 5, 5, 4, 3, 2, 1, 0])
    out = map_rows(X, codes)
    for i, c in enumerate(codes):
        np.testing.assert_array_equal(out[i], to_domain(X[i : i + 1], DOMAINS[c])[0])


def test_domain_tv_by_hand():
    assert domain_tv(np.array([0, 0, 1, 1]), np.array([0, 0, 0, 0])) == pytest.approx(0.5)
    # one domain against the uniform mixture of six: 1 - 1/6
    assert domain_tv(np.zeros(6, dtype=int), np.arange(6)) == pytest.approx(5 / 6)
    assert domain_tv(np.array([2, 3, 2, 3]), np.array([3, 2])) == 0.0


def test_retrieving_for_inverted_queries_finds_the_inverted_rows():
    # the mechanism on its own: a bank of clean and inverted digits, queries that are other
    # inverted digits -> every retrieved row is an inverted one; random takes about half
    X, y = load_digits(return_X_y=True)
    codes = np.r_[np.zeros(200, dtype=int), np.full(200, 4)]  # clean, invert
    bank = df.Dataset.from_arrays(map_rows(X[:400], codes), y[:400])
    got = select(bank, "retrieve", 60, target=to_domain(X[400:430], "invert"))
    assert len(np.unique(got)) == 60 and (codes[got] == 4).all()
    rand = select(bank, "random", 60, seed=0)
    assert 0.3 < (codes[rand] == 4).mean() < 0.7


def test_experiment_is_deterministic_and_shaped():
    kw = dict(control=False, budgets=(20,), epochs=3)
    d1, c1 = retrieval_experiment([3], **kw)
    d2, c2 = retrieval_experiment([3], **kw)
    assert d1.equals(d2)
    np.testing.assert_array_equal(c1[20]["retrieved"], c2[20]["retrieved"])
    assert c1[20]["random"].shape == (1, 1797 - 1200 - 100)
    assert d1["target"].tolist() == list(DOMAINS) and (d1["budget"] == 20).all()
    # one random draw per seed and budget, shared by the targets: the same rows whatever the target
    assert d1["random_in_target_domain"].sum() == pytest.approx(1.0)
    dc, _ = retrieval_experiment([3], **{**kw, "control": True})
    assert (dc["target"] == "mixture").all() and dc["retrieved_in_target_domain"].isna().all()
    # retrieval follows the target: one domain (claim) or the pool's mixture (control)
    assert d1["retrieved_tv_from_target"].max() < 0.3 and dc["retrieved_tv_from_target"].max() < 0.3
    assert (d1["random_tv_from_target"] > 0.5).all()


@pytest.mark.slow
def test_quick_retrieval_beats_random_for_a_shifted_target_and_control_vanishes():
    res = df.recipes.run("demonstration-retrieval", quick=True)
    assert res.held and res.seeds == [0, 1]
    assert res.sizes["pool"] == 1200 and res.sizes["evaluation images"] == 497
    e50, e150 = res.effects
    assert 30 < e50.estimate < 45 and e50.lo > 25  # measured 37.6 [33.2, 42.2]
    assert 15 < e150.estimate < 25 and e150.lo > 12  # measured 20.0 [18.0, 21.9]
    m = res.measured
    for k in BUDGETS:
        assert m[f"k={k}: retrieved rows in the target domain"] > 0.8  # measured 0.93 / 0.89
        # averaged over the six targets, random's share of each is exactly a sixth
        assert m[f"k={k}: random rows in the target domain"] == pytest.approx(1 / 6)
        assert m[f"k={k}: retrieved accuracy"] > 0.75
    d = res.details
    assert len(d) == 2 * len(BUDGETS) * len(DOMAINS)
    assert (d.groupby("target")["gain_points"].mean() > 5).all()  # every target gains

    ctl = df.recipes.run("demonstration-retrieval", quick=True, control=True)
    assert not ctl.held and ctl.is_control
    c50, c150 = ctl.effects
    assert not c50.held and not c150.held
    assert abs(c50.estimate) < 3  # measured 0.54 [-3.05, 4.46]
    assert c150.estimate < 0  # measured -7.2: the neighbours of 100 queries are a less diverse sample
    for k in BUDGETS:
        assert ctl.measured[f"k={k}: domain-mix TV from the target, retrieved"] < 0.2
        assert f"k={k}: retrieved rows in the target domain" not in ctl.measured
    # the pool and the random arm are the claim's: only the targets changed
    assert ctl.measured["k=50: random accuracy"] == pytest.approx(m["k=50: random accuracy"], abs=0.05)
