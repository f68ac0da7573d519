"""Group, cluster, easy-to-hard, compositional, length and crafted splits: contract and hand-checked values."""

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.augment.crafted import FAMILIES, apply_family, fold_families, infer_shape
from datafactors.splits import REGISTRY, split
from datafactors.splits.compositional import held_out_combinations
from datafactors.splits.crafted import crafted_validation_sets


@pytest.fixture(scope="module")
def ds():
    rng = np.random.default_rng(0)
    n = 240
    X = np.vstack([rng.normal(loc=c, size=(60, 4)) for c in (0, 6, 12, 18)])
    shape = np.array(["ball", "cube", "cone"])[np.arange(n) % 3]
    color = np.array(["red", "blue", "green", "grey"])[(np.arange(n) // 3) % 4]
    extra = pd.DataFrame(
        {
            "shape": shape,
            "color": color,
            "const": "x",
            "text": [" ".join(["w"] * (1 + i % 8)) for i in range(n)],
            "hard": rng.normal(size=n),
        }
    )
    return df.Dataset.from_arrays(
        X, np.arange(n) % 2, ids=[f"r{i}" for i in range(n)], groups=np.arange(n) // 40, extra=extra, name="toy"
    )


PARAMS = {
    "random": {},
    "stratified": {},
    "group": {},
    "cluster": {"n_clusters": 4},
    "easy_hard": {"score": "hard"},
    "compositional": {"attributes": ["shape", "color"]},
    "length": {"length": "text"},
    "crafted": {},
}


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_every_kind_partitions_rows_deterministically(ds, kind):
    assert kind in REGISTRY
    a = split(ds, kind, seed=3, **PARAMS[kind])
    parts = [a.train, a.test, *a.ood.values()]
    allidx = np.concatenate(parts)
    assert len(allidx) == len(np.unique(allidx)), "parts overlap"
    assert allidx.min() >= 0 and allidx.max() < ds.n and len(a.train) > 0
    if kind not in ("easy_hard",):
        assert len(allidx) == ds.n
    b = split(ds, kind, seed=3, **PARAMS[kind])
    for x, y in zip([b.train, b.test, *b.ood.values()], parts, strict=True):
        np.testing.assert_array_equal(x, y)


def test_group_holdout(ds):
    s = split(ds, "group", holdout=[2, 5], test_size=0.25)
    assert set(np.unique(ds.groups[s.ood["groups"]])) == {2, 5}
    assert not set(ds.groups[s.train]) & {2, 5}
    assert len(s.test) == 40 and len(s.train) == 120
    auto = split(ds, "group", ood_size=0.3, seed=1)
    held = np.unique(ds.groups[auto.ood["groups"]])
    assert len(held) == 2 and len(auto.ood["groups"]) == 80  # 40 per group: 2 groups reach 30%
    by_column = split(ds, "group", groups="color", holdout=["red"])
    assert set(ds.extra["color"].iloc[by_column.ood["groups"]]) == {"red"}
    with pytest.raises(df.DataError, match="not in toy"):
        split(ds, "group", holdout=["nope"])
    with pytest.raises(df.DataError, match="at least 2 groups"):
        split(ds, "group", groups="const")


def test_cluster_holdout_holds_out_whole_blobs(ds):
    s = split(ds, "cluster", n_clusters=4, ood_size=0.2, seed=0)
    blob = np.arange(ds.n) // 60
    held = np.unique(blob[s.ood["clusters"]])
    assert len(held) == 1 and len(s.ood["clusters"]) == 60
    assert not set(blob[s.train]) & set(held)
    with pytest.raises(df.ConfigError, match="n_clusters"):
        split(ds, "cluster", n_clusters=1)


def test_easy_hard_by_score(ds):
    h = ds.extra["hard"].to_numpy()
    s = split(ds, "easy_hard", score="hard", test_size=0.2)
    assert len(s.ood["hard"]) == 72 and len(s.ood["medium"]) == 96 and len(s.train) + len(s.test) == 72
    assert (
        h[np.r_[s.train, s.test]].max() < h[s.ood["medium"]].min() <= h[s.ood["medium"]].max() < h[s.ood["hard"]].min()
    )
    # "higher = easier" (a declared score such as cartography confidence) flips the ends
    conf = pd.Series(h, index=ds.ids, name="confidence")
    f = split(ds, "easy_hard", score=conf)
    assert h[f.ood["hard"]].max() < h[f.train].min()
    with pytest.raises(df.ConfigError, match="needs score"):
        split(ds, "easy_hard")


def test_compositional_keeps_every_value_seen(ds):
    s = split(ds, "compositional", attributes="shape,color", ood_size=0.25, seed=0)
    e = ds.extra
    train_pairs = set(zip(e["shape"].iloc[s.train], e["color"].iloc[s.train], strict=True))
    held_pairs = set(zip(e["shape"].iloc[s.ood["combinations"]], e["color"].iloc[s.ood["combinations"]], strict=True))
    assert held_pairs and not held_pairs & train_pairs
    assert {p[0] for p in train_pairs} == {"ball", "cube", "cone"}
    assert {p[1] for p in train_pairs} == {"red", "blue", "green", "grey"}
    assert len(s.ood["combinations"]) >= 0.25 * ds.n


def test_compositional_impossible_cases_say_so(ds):
    with pytest.raises(df.DataError, match="attribute 'const' in toy has a single value"):
        split(ds, "compositional", attributes=["shape", "const"])
    tied = pd.DataFrame({"a": ["x", "y", "z"] * 4, "b": ["1", "2", "3"] * 4})  # b is a function of a
    with pytest.raises(df.DataError, match="compositional split impossible"):
        held_out_combinations(tied)
    with pytest.raises(df.ConfigError, match="at least 2"):
        split(ds, "compositional", attributes=["shape"])
    # a 2x2 grid can lose a diagonal: the other diagonal still shows every value
    grid = pd.DataFrame({"a": ["x", "x", "y", "y"], "b": ["1", "2", "1", "2"]})
    held = held_out_combinations(grid, 0.9)
    kept = {("x", "1"), ("x", "2"), ("y", "1"), ("y", "2")} - set(held)
    assert len(held) == 2 and {k[0] for k in kept} == {"x", "y"} and {k[1] for k in kept} == {"1", "2"}


def test_length_split_is_strict(ds):
    s = split(ds, "length", length="text", ood_size=0.25)
    lens = ds.extra["text"].str.split().str.len().to_numpy()
    assert lens[s.train].max() < lens[s.ood["long"]].min()
    assert len(s.ood["long"]) == 60  # lengths 7 and 8: 2 of 8 equal groups
    t = split(ds, "length", length="text", threshold=4)
    assert lens[t.ood["long"]].min() == 5
    # padded sequences: the span up to the last non-zero feature
    X = np.zeros((6, 5))
    for i in range(6):
        X[i, : i % 5 + 1] = 1
    seq = df.Dataset.from_arrays(X, [0, 1] * 3)
    u = split(seq, "length", ood_size=0.3, test_size=1)
    assert set(u.ood["long"].tolist()) == {3, 4}
    with pytest.raises(df.DataError, match="same length"):
        split(ds, "length", length="const")


def test_crafted_split_and_folds(ds):
    s = split(ds, "crafted", val_size=0.2, test_size=0.25)
    assert {k: len(v) for k, v in s.ood.items()} == {"crafted-fold0": 24, "crafted-fold1": 24}
    assert fold_families(2) == [("noise", "shift", "quantize"), ("blur", "invert", "dropout")]
    assert sorted(sum(fold_families(3), ())) == sorted(FAMILIES)
    with pytest.raises(df.ConfigError, match="folds"):
        fold_families(7)


def test_augment_families_on_signals_and_images():
    rng = np.random.default_rng(0)
    sig = rng.normal(size=(20, 40))
    img = rng.uniform(0, 16, size=(20, 64))
    assert infer_shape(40) == (40,) and infer_shape(64) == (8, 8) and infer_shape(64, (64,)) == (64,)
    inv = apply_family(img, "invert")
    np.testing.assert_allclose(inv, img.min() + img.max() - img, rtol=1e-5)
    q = apply_family(img, "quantize")
    assert len(np.unique(np.round(q, 4))) <= 8
    drop = apply_family(sig, "dropout", seed=0)
    assert 0.2 < (drop == 0).mean() < 0.4
    noisy = apply_family(sig, "noise", seed=0)
    assert np.std(noisy - sig) == pytest.approx(0.5 * sig.std(), rel=0.1)
    blur = apply_family(sig, "blur")
    assert np.abs(np.diff(blur, axis=1)).mean() < np.abs(np.diff(sig, axis=1)).mean()
    shifted = apply_family(sig, "shift", seed=1)

    def translate(row, k):
        out = np.zeros_like(row)
        if k >= 0:
            out[k:] = row[: len(row) - k]
        else:
            out[:k] = row[-k:]
        return out

    for a, b in zip(shifted, sig, strict=True):  # each row is a zero-filled translation by at most 40/8
        assert any(np.allclose(a, translate(b, k), atol=1e-6) for k in range(-5, 6))
    rot = apply_family(img, "shift", seed=2)
    assert rot.shape == img.shape and not np.allclose(rot, img)
    with pytest.raises(df.ConfigError, match="unknown augmentation"):
        apply_family(sig, "sharpen")


def test_crafted_validation_sets_keep_labels_and_mark_ids(ds):
    sets = crafted_validation_sets(ds.subset(np.arange(10)), families=fold_families(2)[0], seed=0)
    assert list(sets) == ["noise", "shift", "quantize"]
    for fam, d in sets.items():
        np.testing.assert_array_equal(d.y, ds.y[:10])
        assert d.ids[0] == f"r0#{fam}" and d.X.shape == (10, 4)


def test_cli_split_options(tmp_path, ds):
    from datafactors.cli import main

    frame = pd.DataFrame(
        {
            "x1": ds.X[:, 0],
            "x2": ds.X[:, 1],
            "label": ds.y,
            "shape": ds.extra["shape"],
            "color": ds.extra["color"],
            "group": ds.groups,
        }
    )
    path = tmp_path / "toy.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "s.parquet"

    def cli(*args):
        try:
            return main(["split", str(path), "--out", str(out), *args])
        except SystemExit as e:
            return e.code or 0

    assert cli("--kind", "compositional", "--attributes", "shape,color", "--ood-size", "0.25") == 0
    parts = pd.read_parquet(out)["part"].value_counts()
    assert parts["ood:combinations"] >= 60
    assert cli("--kind", "group", "--holdout", "1,2") == 0
    assert pd.read_parquet(out)["part"].value_counts()["ood:groups"] == 80
    assert cli("--kind", "random", "--attributes", "shape") == 2  # not an option of random
    assert cli("--kind", "compositional", "--attributes", "shape") == 2
