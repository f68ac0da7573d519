"""profile(): the long table, each family's rows equal to the pure functions, bad input, the CLI command."""

import math

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.factors import (
    PROFILE_COLUMNS,
    REGISTRY,
    aps,
    exact_duplicates,
    family_names,
    near_duplicate_rate,
    profile,
    vendi_score,
)

ALL = [
    "size",
    "balance",
    "duplication",
    "diversity",
    "difficulty",
    "intrinsic_dimension",
    "inductive_bias",
    "concept_frequency",
    "coverage",
    "label_noise",
    "provenance",
    "contamination",
    "text",
]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 240
    y = np.repeat([0, 1, 2], [120, 80, 40])
    X = np.eye(3)[y] * 3 + rng.normal(size=(n, 3))
    X = np.hstack([X, rng.normal(size=(n, 3))])
    X[200:210] = X[0:10]  # 10 exact duplicates
    words = np.array(["cat", "dog", "bird"])
    extra = pd.DataFrame(
        {
            "text": [f"a {words[c]} photo number {i % 5}" for i, c in enumerate(y)],
            "licence": np.where(np.arange(n) % 4 == 0, "CC-BY-NC-4.0", "MIT"),
            "source": np.where(np.arange(n) % 2 == 0, "web", "books"),
        }
    )
    ds = df.Dataset.from_arrays(
        X,
        y,
        ids=[f"e{i}" for i in range(n)],
        groups=np.arange(n) % 3,
        extra=extra,
        class_names=["cat", "dog", "bird"],
        name="toy",
    )
    t = np.arange(0, n, 4)
    test = df.Dataset.from_arrays(X[t] + 0.01, y[t], class_names=["cat", "dog", "bird"], name="toy-test")
    scores = pd.DataFrame({"id": ds.ids, "el2n": np.linspace(0, math.sqrt(2), n), "label": y})
    return ds, test, scores


@pytest.fixture(scope="module")
def prof(data):
    ds, test, scores = data
    return profile(ds, text="text", test=test, scores=scores, seed=0)


def _value(prof, factor, key=""):
    sub = prof[(prof.factor == factor) & (prof.key == key)]
    assert len(sub) == 1, (factor, key, sub)
    return sub["value"].iloc[0]


def test_table_shape_and_every_family(prof):
    assert tuple(prof.columns) == PROFILE_COLUMNS
    assert prof["value"].dtype == np.float64
    assert all(prof[c].map(type).eq(str).all() for c in ("family", "factor", "key", "text", "note"))
    assert list(dict.fromkeys(prof["family"])) == ALL == family_names()
    assert set(ALL) <= set(REGISTRY.names())


def test_rows_equal_the_pure_functions(data, prof):
    ds, test, _ = data
    assert _value(prof, "n_examples") == 240 and _value(prof, "n_classes") == 3 and _value(prof, "n_groups") == 3
    assert _value(prof, "class_count", "bird") == 40
    assert _value(prof, "class_imbalance_ratio") == 3.0
    # rows 200-209 repeat the features of rows 0-9 but not their text
    assert _value(prof, "exact_duplicate_rate") == 0.0
    features_only = profile(ds, families="duplication")
    assert _value(features_only, "exact_duplicate_rate") == pytest.approx(10 / 240)
    assert _value(features_only, "repetition_histogram", "2") == 10
    assert _value(prof, "near_duplicate_rate", "0.95") == pytest.approx(near_duplicate_rate(ds.X, 0.95).rate)
    assert _value(prof, "vendi_score") == pytest.approx(vendi_score(ds.X), rel=1e-6)
    assert _value(prof, "aps") == pytest.approx(aps(ds.X), rel=1e-6)
    assert _value(prof, "vocabulary_size") == 11  # a, cat, dog, bird, photo, number, 0..4
    assert _value(prof, "concept_count", "dog") == 80
    assert _value(prof, "difficulty_share", "el2n:easy") == pytest.approx(72 / 240)
    assert _value(prof, "licence_examples", "web: CC-BY-NC-4.0") == 60
    row = prof[prof.factor == "combined_use"].iloc[0]
    assert row["text"] == "non-commercial" and math.isnan(row["value"])
    assert _value(prof, "non_commercial_share") == pytest.approx(0.25)
    assert _value(prof, "test_train_overlap") == 0.0
    assert 0.0 <= _value(prof, "novelty_share") <= 1.0
    assert np.isfinite(_value(prof, "inductive_bias_log10_bits"))
    assert _value(prof, "exact_inductive_bias_nats") >= 0.0
    assert 0.0 <= _value(prof, "label_noise_rate") < 0.5


def test_deterministic_and_family_selection(data, prof):
    ds, test, scores = data
    seeded = ["duplication", "diversity", "intrinsic_dimension", "inductive_bias"]  # the families that sample
    again = profile(ds, text="text", test=test, scores=scores, families=seeded, seed=0)
    pd.testing.assert_frame_equal(prof[prof.family.isin(seeded)].reset_index(drop=True), again)
    only = profile(ds, families="size,balance")
    assert set(only["family"]) == {"size", "balance"}
    with pytest.raises(df.ConfigError, match="Did you mean 'diversity'"):
        profile(ds, families=["diversty"])


def test_families_that_do_not_apply_say_why():
    rng = np.random.default_rng(1)
    ds = df.Dataset.from_arrays(rng.normal(size=(50, 4)), np.arange(50) % 2)
    p = profile(ds, families=["difficulty", "concept_frequency", "coverage", "provenance", "balance"])
    for factor, why in (
        ("difficulty", "no scores"),
        ("concept_count", "no text"),
        ("novelty_share", "no test set"),
        ("combined_use", "no licence"),
        ("group_entropy_normalized", "no groups"),
    ):
        r = p[p.factor == factor].iloc[0]
        assert math.isnan(r["value"]) and why in r["note"], factor


def test_difficulty_is_skipped_on_an_unlabeled_pool(data):
    ds, _, scores = data
    pool = df.Dataset.from_arrays(ds.X, None, ids=ds.ids, name="pool")
    label_free = pd.DataFrame({"id": ds.ids, "knn_density": np.linspace(0.0, 1.0, ds.n)})
    for given in (None, scores, label_free, np.arange(240.0)):
        p = profile(pool, scores=given, families=["difficulty", "size"])
        d = p[p.family == "difficulty"]
        assert len(d) == 1, d  # one row saying why, no shares or quantiles
        r = d.iloc[0]
        assert r["factor"] == "difficulty" and math.isnan(r["value"])
        assert r["note"] == "not computed: needs labels, and pool has none (pass --label COL, or label= in Python)"
        assert _value(p, "n_examples") == 240  # the other families still run
    # the same rows with labels: computed
    labeled = profile(ds, scores=label_free, families="difficulty")
    assert _value(labeled, "difficulty_share", "knn_density:easy") > 0
    # the family function itself refuses a pool, called directly
    from datafactors.factors import ProfileContext

    ctx = ProfileContext(ds=pool, X=pool.X, scores=pd.DataFrame({"el2n": np.arange(240.0)}))
    rows = REGISTRY.get("difficulty").fn(ctx)
    assert [r["factor"] for r in rows] == ["difficulty"] and "needs labels" in rows[0]["note"]


def test_text_column_bad_input(data):
    ds, _, _ = data
    with pytest.raises(df.DataError, match="text column 'body' not found in toy"):
        profile(ds, text="body", families="size")
    empty = df.Dataset.from_arrays(ds.X[:3], [0, 1, 0], extra=pd.DataFrame({"text": ["", " ", ""]}), name="e")
    with pytest.raises(df.DataError, match="every value is an empty string"):
        profile(empty, text="text", families="size")
    holes = df.Dataset.from_arrays(ds.X[:3], [0, 1, 0], extra=pd.DataFrame({"text": ["a", None, "b"]}), name="h")
    with pytest.raises(df.DataError, match="1 missing values"):
        profile(holes, text="text", families="size")
    # some empty strings are fine: they add no words and are counted
    some = df.Dataset.from_arrays(ds.X[:3], [0, 1, 0], extra=pd.DataFrame({"text": ["a b", "", "b"]}), name="s")
    p = profile(some, text="text", families=["size", "diversity"])
    assert _value(p, "empty_texts") == 1 and _value(p, "vocabulary_size") == 2
    with pytest.raises(df.ConfigError, match="embed=True needs text"):
        profile(ds, embed=True)


def test_scores_and_vectors_validated(data):
    ds, test, _ = data
    with pytest.raises(df.DataError, match="share no id"):
        profile(ds, scores=pd.Series([1.0, 2.0], index=["x", "y"], name="el2n"), families="difficulty")
    with pytest.raises(df.DataError, match=r"embeddings must have shape \(240, d\)"):
        profile(ds, embeddings=np.zeros((3, 2)), families="size")
    with pytest.raises(df.DataError, match="test vectors have 2 dimensions"):
        profile(ds, test=df.Dataset.from_arrays(np.zeros((4, 2)), [0, 1, 0, 1]), families="size")
    p = profile(ds, scores=np.arange(240.0), families="difficulty")
    assert set(p["key"]) >= {"score:easy", "score:hard"}


def test_cli_profile_prints_and_writes(tmp_path, capsys, data, cli):
    ds, _, _ = data
    frame = pd.DataFrame(
        {"x1": ds.X[:, 0], "x2": ds.X[:, 1], "label": ds.y, "text": ds.extra["text"], "license": ds.extra["licence"]}
    )
    path = tmp_path / "toy.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "prof.parquet"
    families = ["--families", "size,balance,provenance"]
    rc = cli(["profile", str(path), "--text", "text", "--no-embed", "--out", str(out), *families, "-q"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "Profile of toy.csv" in printed and "combined_use" in printed
    written = pd.read_parquet(out)
    assert tuple(written.columns) == PROFILE_COLUMNS
    assert written.set_index("factor").loc["n_examples", "value"] == 240
    assert cli(["profile", str(path), "--text", "nope", "-q"]) == 2
    assert "text column 'nope' not found" in capsys.readouterr().err
    assert cli(["profile", "mnist1d", "--embed", "text", "-q"]) == 2
    assert "built-in without text" in capsys.readouterr().err


def test_exact_duplicates_helper_used_by_profile_counts_text(data):
    ds, _, _ = data
    assert len(np.unique(exact_duplicates(ds.X))) == 230
