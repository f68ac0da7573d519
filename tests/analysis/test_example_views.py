"""The example views (analysis.examples) on hand-built tables, and df.report.examples on a hand-built run folder."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from datafactors import ConfigError, DataError, Dataset
from datafactors.analysis import (
    CARTOGRAPHY_FRACTION,
    EXAMPLE_COLUMNS,
    VIEW_COLUMNS,
    cartography_regions,
    example_rows,
    example_views,
    write_examples,
)
from datafactors.store import RunStore


def _view(views: pd.DataFrame, key: str) -> pd.DataFrame:
    return views[views["view"] == key].sort_values("rank")


def _ids(views: pd.DataFrame, key: str) -> list[str]:
    return _view(views, key)["id"].tolist()


# ---------------------------------------------------------------- hardest / easiest


def test_hardest_and_easiest_follow_each_columns_declared_orientation():
    scores = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "el2n": [0.3, 0.9, np.nan, 0.1, 0.9],  # harder: high = hard; tie b/e keeps row order; NaN left out
            "margin": [0.5, -0.2, 0.8, 0.1, 0.0],  # easier: low = hard
            "aum": [1, 2, 3, 4, 5],  # no declared orientation: no view
        }
    )
    views = example_views({"scores": scores}, top=3)
    assert _ids(views, "hardest/el2n") == ["b", "e", "a"]
    assert _view(views, "hardest/el2n")["value"].tolist() == [0.9, 0.9, 0.3]
    assert _ids(views, "easiest/el2n") == ["d", "a", "b"]
    assert _ids(views, "hardest/margin") == ["b", "e", "d"]
    assert _ids(views, "easiest/margin") == ["c", "a", "d"]
    assert not views["view"].str.endswith("/aum").any()
    assert _view(views, "hardest/el2n")["rank"].tolist() == [0, 1, 2]
    assert _view(views, "hardest/el2n")["title"].iloc[0] == "Hardest by el2n"


def test_scores_indexed_by_id_and_integer_ids_give_string_ids():
    scores = pd.DataFrame({"el2n": [0.2, 0.7]}, index=pd.Index([10, 11], name="id"))
    views = example_views({"scores": scores})
    assert _ids(views, "hardest/el2n") == ["11", "10"]


def test_never_learned_lists_exactly_the_infinite_forgetting_rows():
    scores = pd.DataFrame({"id": list("abcdef"), "forgetting": [0, np.inf, 3, np.inf, np.nan, np.inf]})
    views = example_views({"scores": scores})
    assert _ids(views, "never_learned") == ["b", "d", "f"]
    assert np.isposinf(_view(views, "never_learned")["value"]).all()
    # +inf ranks hardest in the forgetting view too
    assert _ids(views, "hardest/forgetting")[:3] == ["b", "d", "f"]
    none_inf = example_views({"scores": scores.assign(forgetting=[0, 1, 2, 3, 4, 5])})
    assert "never_learned" not in set(none_inf["view"])


# ---------------------------------------------------------------- cartography


def test_cartography_regions_by_hand():
    conf = [0.1, 0.2, 0.5, 0.6, 0.9, 0.95]
    var = [0.01, 0.3, 0.25, 0.02, 0.03, 0.01]
    # k = ceil(6 / 3) = 2: ambiguous = the 2 highest variabilities (rows 1, 2); the 2 lowest
    # confidences are rows 0, 1 (row 1 is taken) and the 2 highest rows 5, 4; row 3 is in none.
    assert cartography_regions(conf, var).tolist() == ["hard-to-learn", "ambiguous", "ambiguous", "", "easy", "easy"]
    assert CARTOGRAPHY_FRACTION == pytest.approx(1 / 3)
    assert cartography_regions([0.5, np.nan], [0.1, 0.1]).tolist() == ["ambiguous", ""]


def test_cartography_views_rank_each_region():
    scores = pd.DataFrame(
        {
            "id": list("abcdef"),
            "confidence": [0.1, 0.2, 0.5, 0.6, 0.9, 0.95],
            "variability": [0.01, 0.3, 0.25, 0.02, 0.03, 0.01],
            "correctness": [0.0, 0.2, 0.5, 0.7, 1.0, 1.0],
        }
    )
    views = example_views({"scores": scores})
    assert _ids(views, "cartography/hard-to-learn") == ["a"]
    assert _ids(views, "cartography/ambiguous") == ["b", "c"]  # highest variability first
    assert _ids(views, "cartography/easy") == ["f", "e"]  # highest confidence first
    amb = _view(views, "cartography/ambiguous")
    assert amb["value"].tolist() == [0.3, 0.25]
    assert json.loads(amb["detail"].iloc[0]) == {"confidence": 0.2, "variability": 0.3, "correctness": 0.2}
    assert _view(views, "cartography/easy")["title"].iloc[0] == "Cartography: easy to learn"


# ---------------------------------------------------------------- label issues, outliers


def test_label_issues_show_given_and_predicted_labels():
    ds = Dataset.from_arrays(np.zeros((4, 1)), ["cat", "dog", "cat", "dog"], ids=list("abcd"))
    scores = pd.DataFrame({"id": list("abcd"), "label_quality": [0.9, 0.05, 0.4, 0.7], "label_issue": [0, 1, 1, 0]})
    predicted = pd.Series(["cat", "cat", "dog", "dog"], index=list("abcd"))
    views = example_views({"scores": scores}, ds, top=2, predicted=predicted)
    li = _view(views, "label_issues")
    assert li["id"].tolist() == ["b", "c"]
    assert json.loads(li["detail"].iloc[0]) == {
        "given": "dog",
        "predicted": "cat",
        "label_quality": 0.05,
        "label_issue": 1.0,
    }
    assert "label_issues" not in set(example_views({"scores": scores.drop(columns="label_quality")})["view"])


def test_outliers_by_knn_uniqueness_else_density():
    s = pd.DataFrame({"id": list("abc"), "knn_uniqueness": [0.5, 2.0, 1.0], "knn_density": [0.1, 0.9, 0.5]})
    assert _ids(example_views({"scores": s}), "outliers/knn") == ["b", "c", "a"]
    assert _ids(example_views({"scores": s.drop(columns="knn_uniqueness")}), "outliers/knn") == ["a", "c", "b"]


# ---------------------------------------------------------------- duplicates


def test_duplicates_list_whole_clusters_largest_first_representative_first():
    dups = pd.DataFrame(
        {
            "cluster_id": [0, 0, 1, 1, 1, 2, 2],
            "id": ["a", "b", "c", "d", "e", "f", "g"],
            "representative_id": ["a", "a", "d", "d", "d", "f", "f"],
            "similarity": [1.0, 0.9, 0.85, 1.0, 0.8, 1.0, 0.95],
            "strategy": "dedup",
        }
    )
    views = example_views({"duplicates": dups}, top=5)
    d = _view(views, "duplicates")
    assert d["id"].tolist() == ["d", "c", "e", "a", "b"]  # cluster 1 (3 members) then cluster 0; 2 does not fit
    assert d["value"].tolist() == [1.0, 0.85, 0.8, 1.0, 0.9]
    first = json.loads(d["detail"].iloc[1])
    assert first == {
        "cluster_id": 1,
        "representative_id": "d",
        "similarity": 0.85,
        "strategy": "dedup",
        "cluster_size": 3,
    }
    # a first cluster larger than top is cut, not skipped
    assert _ids(example_views({"duplicates": dups}, top=2), "duplicates") == ["d", "c"]
    assert "duplicates" not in set(example_views({"duplicates": dups.iloc[:0]})["view"])


# ---------------------------------------------------------------- dropped / kept vs random


def _selections() -> pd.DataFrame:
    rows = []
    picks = {
        ("random", 0): ["a", "b", "c"],
        ("random", 1): ["d", "e", "f"],
        ("el2n_hardest", 0): ["f", "e", "a"],
        ("el2n_hardest", 1): ["f", "e", "d"],
        ("kc", 0): ["d", "c", "b"],
    }
    for (st, seed), ids in picks.items():
        for r, i in enumerate(ids):
            rows.append({"strategy": st, "budget": 0.5, "seed": seed, "id": i, "rank": r})
        if st == "random":  # at 100% every strategy keeps everything: no view
            rows += [{"strategy": st, "budget": 1.0, "seed": seed, "id": i, "rank": r} for r, i in enumerate("abcdef")]
    rows += [{"strategy": "el2n_hardest", "budget": 1.0, "seed": 0, "id": i, "rank": r} for r, i in enumerate("abcdef")]
    return pd.DataFrame(rows)


def test_dropped_and_kept_vs_random_at_the_first_seed():
    scores = pd.DataFrame({"id": list("abcdef"), "el2n": [0.9, 0.1, 0.5, 0.3, 0.7, 0.8]})
    tables = {"scores": scores, "selections": _selections(), "strategy_scores": {"el2n_hardest": "el2n"}}
    views = example_views(tables)
    # seed 0: random kept a, b, c; el2n_hardest kept f, e, a
    dropped = _view(views, "dropped_vs_random/el2n_hardest/0.5")
    assert dropped["id"].tolist() == ["c", "b"]  # hardest first by el2n
    assert dropped["value"].tolist() == [0.5, 0.1]
    assert dropped["title"].iloc[0] == "Dropped by el2n_hardest at 50% that random kept"
    assert json.loads(dropped["detail"].iloc[0]) == {
        "strategy": "el2n_hardest", "budget": 0.5, "seed": 0, "score": "el2n", "random_rank": 2
    }  # fmt: skip
    assert _ids(views, "kept_vs_random/el2n_hardest/0.5") == ["f", "e"]
    # no score: pick order, NaN value
    kept = _view(views, "kept_vs_random/kc/0.5")
    assert kept["id"].tolist() == ["d"] and kept["value"].isna().all()
    assert _ids(views, "dropped_vs_random/kc/0.5") == ["a"]
    assert not views["view"].str.contains("/1$").any()  # identical at 100%
    assert not views["view"].str.contains("/random/").any()


def test_no_random_baseline_no_vs_random_views():
    sel = _selections()
    views = example_views({"selections": sel[sel["strategy"] != "random"]})
    assert not views["view"].str.contains("_vs_random").any()


def test_views_schema_and_empty_input():
    scores = pd.DataFrame({"id": list("ab"), "el2n": [0.1, 0.2], "forgetting": [np.inf, 1.0]})
    views = example_views({"scores": scores})
    assert list(views.columns) == VIEW_COLUMNS
    assert views["rank"].dtype == np.int64 and views["value"].dtype == np.float64
    assert all(isinstance(v, str) for v in views["view"]) and all(isinstance(v, str) for v in views["id"])
    empty = example_views({})
    assert list(empty.columns) == VIEW_COLUMNS and empty.empty
    with pytest.raises(DataError, match="top"):
        example_views({}, top=0)


# ---------------------------------------------------------------- example rows


def test_tabular_rows_keep_32_feature_values_extra_columns_and_scores():
    X = np.arange(3 * 40, dtype=float).reshape(3, 40)
    extra = pd.DataFrame({"source": ["web", "book", "web"], "kind": ["x", "y", "z"]})
    ds = Dataset.from_arrays(X, [0, 1, 0], ids=["r0", "r1", "r2"], class_names=["neg", "pos"], extra=extra)
    scores = pd.DataFrame({"id": ["r0", "r1", "r2"], "label": [0, 1, 0], "el2n": [0.1, 0.2, 0.3], "source": [1, 2, 3]})
    rows = example_rows(ds, ["r2", "r0", "r2"], scores)
    assert list(rows.columns[: len(EXAMPLE_COLUMNS)]) == EXAMPLE_COLUMNS
    assert list(rows.columns[len(EXAMPLE_COLUMNS) :]) == ["source", "extra_kind", "el2n", "score_source"]
    assert rows["id"].tolist() == ["r2", "r0"] and rows["label"].tolist() == ["neg", "neg"]
    assert set(rows["kind"]) == {"tabular"}
    feats = json.loads(rows["features"].iloc[0])
    assert list(feats) == [f"x{j}" for j in range(32)] and feats["x0"] == 80.0
    assert rows["pixels"].isna().all() and rows["signal"].isna().all() and rows["text"].isna().all()
    assert rows["el2n"].tolist() == [0.3, 0.1] and rows["source"].tolist() == ["web", "web"]


def test_image_rows_are_min_max_scaled_over_the_whole_dataset():
    X = np.zeros((3, 64))
    X[0, 0], X[1, 5], X[2, 63] = 16.0, 8.0, 4.0
    ds = Dataset.from_arrays(X, [0, 1, 1], ids=["d0", "d1", "d2"], name="digits", example_shape=(8, 8))
    rows = example_rows(ds, ["d1"])
    assert rows["kind"].tolist() == ["image"] and rows["shape"].iloc[0] == [8, 8]
    px = rows["pixels"].iloc[0]
    assert px.dtype == np.float32 and len(px) == 64
    assert px[5] == pytest.approx(0.5) and px.max() == pytest.approx(0.5)  # scaled by the dataset's 0..16
    assert rows["features"].isna().all()


def test_image_shape_declared_by_the_dataset():
    ds = Dataset.from_arrays(np.random.default_rng(0).random((2, 12)), [0, 1], name="photos", example_shape=(2, 2, 3))
    rows = example_rows(ds, [0])
    assert rows["kind"].tolist() == ["image"] and rows["shape"].iloc[0] == [2, 2, 3]


def test_signal_rows_keep_the_raw_values():
    X = np.linspace(-1, 1, 2 * 40).reshape(2, 40)
    ds = Dataset.from_arrays(X, [0, 1], ids=["s0", "s1"], name="mnist1d", example_shape=(40,))
    rows = example_rows(ds, ["s1"])
    assert rows["kind"].tolist() == ["signal"] and rows["shape"].iloc[0] == [40]
    np.testing.assert_allclose(rows["signal"].iloc[0], X[1].astype(np.float32))
    assert rows["pixels"].isna().all()


def test_text_rows_hold_the_full_text_not_the_text_column_again():
    extra = pd.DataFrame({"body": ["first text", "a second, longer text"], "site": ["x", "y"]})
    ds = Dataset.from_arrays(np.eye(2), [0, 1], ids=["t0", "t1"], extra=extra, text_column="body")
    rows = example_rows(ds, ["t1"])
    assert rows["kind"].tolist() == ["text"] and rows["text"].tolist() == ["a second, longer text"]
    assert "body" not in rows.columns and rows["site"].tolist() == ["y"]
    assert rows["features"].isna().all() and rows["pixels"].isna().all()


def test_unlabeled_rows_have_no_label():
    ds = Dataset.from_arrays(np.eye(2), ids=["u0", "u1"])
    assert example_rows(ds, ["u0"])["label"].tolist() == [None]


# ---------------------------------------------------------------- written through the store, read by the report


def _run_folder(tmp_path):
    X = np.arange(6 * 64, dtype=float).reshape(6, 64) % 17
    ds = Dataset.from_arrays(
        X, [0, 1, 0, 1, 0, 1], ids=[f"digit-{i}" for i in range(6)], name="digits", example_shape=(8, 8)
    )
    store = RunStore(tmp_path / "run")
    store.path.mkdir()
    store.write_manifest({"run_id": "run", "status": "complete"})
    store.write_parquet(
        "scores.parquet",
        pd.DataFrame(
            {
                "id": ds.ids,
                "label": ds.y,
                "el2n": [0.1, 0.9, 0.5, 0.7, 0.3, 0.2],
                "forgetting": [0, np.inf, 1, 2, 0, np.inf],
                "confidence": [0.9, 0.1, 0.5, 0.3, 0.8, 0.2],
                "variability": [0.01, 0.02, 0.3, 0.2, 0.05, 0.01],
            }
        ),
    )
    return store, ds


def test_write_examples_round_trips_through_parquet(tmp_path):
    store, ds = _run_folder(tmp_path)
    views = write_examples(store, ds, top=3)
    v = pd.read_parquet(store.path / "example_views.parquet")
    rows = pd.read_parquet(store.path / "examples.parquet")
    assert list(v.columns) == VIEW_COLUMNS and len(v) == len(views)
    assert v["rank"].dtype == np.int64 and v["value"].dtype == np.float64
    assert set(rows["id"]) == set(v["id"]) and rows["id"].is_unique
    assert list(rows.columns) == [*EXAMPLE_COLUMNS, "el2n", "forgetting", "confidence", "variability"]
    assert rows["pixels"].iloc[0].dtype == np.float32 and list(rows["shape"].iloc[0]) == [8, 8]
    assert np.isposinf(rows.set_index("id").loc["digit-1", "forgetting"])


def test_report_examples_returns_the_view_in_rank_order(tmp_path):
    import datafactors as df

    store, ds = _run_folder(tmp_path)
    write_examples(store, ds)
    out = df.report.examples(store.path, view="hardest", score="el2n", top=2)
    assert out["id"].tolist() == ["digit-1", "digit-3"] and out["rank"].tolist() == [0, 1]
    assert list(out.columns[:4]) == ["rank", "id", "value", "detail"]
    assert {"label", "kind", "pixels", "el2n"} <= set(out.columns)
    assert out.attrs["view"] == "hardest/el2n" and out.attrs["title"] == "Hardest by el2n"
    summary = out.attrs["summary"]  # every view: the frame, a one-row summary, an info dict
    assert len(summary) == 1 and summary.loc[0, "n_shown"] == 2
    assert summary.loc[0, "value_max"] == out["value"].max() and out.attrs["info"]["view"] == "hardest/el2n"
    nl = df.report.examples(store.path, view="never_learned")
    assert nl["id"].tolist() == ["digit-1", "digit-5"]
    amb = df.report.examples(store.path, view="cartography", region="ambiguous")
    assert amb["id"].tolist() == ["digit-2", "digit-3"]
    assert df.report.examples(store.path, view="easiest/el2n", top=1)["id"].tolist() == ["digit-0"]
    listed = df.report.list_views(store.path)
    assert {"hardest/el2n", "never_learned", "cartography/easy"} <= set(listed["view"])


def test_report_examples_bad_names_list_the_available_ones(tmp_path):
    import datafactors as df

    store, ds = _run_folder(tmp_path)
    write_examples(store, ds)
    with pytest.raises(ConfigError, match=r"unknown view 'hardst'\. Did you mean 'hardest'\?.*hardest/el2n"):
        df.report.examples(store.path, view="hardst")
    with pytest.raises(ConfigError, match=r"Did you mean 'el2n'\?.*el2n, forgetting"):
        df.report.examples(store.path, view="hardest", score="el2m")
    with pytest.raises(ConfigError, match=r"needs score=.*el2n"):
        df.report.examples(store.path, view="hardest")
    with pytest.raises(ConfigError, match="no label_quality score"):
        df.report.examples(store.path, view="label_issues")
    with pytest.raises(ConfigError, match="region"):
        df.report.examples(store.path, view="cartography", region="weird")
    with pytest.raises(ConfigError, match="top"):
        df.report.examples(store.path, top=0)


def test_report_examples_without_example_tables_or_outside_a_run(tmp_path):
    import datafactors as df

    store, _ = _run_folder(tmp_path)
    with pytest.raises(DataError, match=r"no examples\.parquet.*predates.*--resume"):
        df.report.examples(store.path, view="hardest", score="el2n")
    with pytest.raises(DataError, match="not a datafactors run folder"):
        df.report.examples(tmp_path, view="hardest")
    with pytest.raises(DataError, match="not a folder"):
        df.report.examples(tmp_path / "nope")


def test_strict_json_in_detail():
    scores = pd.DataFrame({"id": list("ab"), "confidence": [0.1, 0.9], "variability": [np.inf, 0.1]})
    views = example_views({"scores": scores})
    for d in views["detail"].dropna():
        json.loads(d, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert math.isinf(float(scores["variability"].iloc[0]))
