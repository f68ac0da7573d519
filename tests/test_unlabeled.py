"""Unlabeled pools (issue 13): label-free operators work, label-needing ones say so by name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors._errors import DataError
from datafactors.experiment.commands import columns_note
from datafactors.select import select

N, D, N_DUP = 300, 8, 50  # rows N - N_DUP .. N - 1 repeat rows 0 .. N_DUP - 1 exactly


def _features() -> np.ndarray:
    rng = np.random.default_rng(13)
    X = rng.normal(size=(N, D)).astype(np.float32)
    X[N - N_DUP :] = X[:N_DUP]
    return X


@pytest.fixture
def pool_path(tmp_path):
    frame = pd.DataFrame(_features(), columns=[f"f{j}" for j in range(D)])
    frame.insert(0, "id", [f"r{i}" for i in range(N)])
    path = tmp_path / "pool.parquet"
    frame.to_parquet(path)
    return path


@pytest.fixture
def pool(pool_path):
    return df.load(pool_path)


@pytest.fixture
def labeled(pool):
    """The same rows with labels: label-free results must not depend on them."""
    y = (pool.X[:, 0] > 0).astype(int)
    return df.Dataset.from_arrays(pool.X, y, ids=pool.ids, name="labeled")


def test_pool_loads_without_labels(pool):
    assert pool.y is None and not pool.has_labels and pool.n_classes == 0
    assert pool.n == N and pool.n_features == D and pool.ids[0] == "r0"
    assert columns_note(pool) == "no label column: an unlabeled pool"


@pytest.mark.parametrize("strategy", ["kcenter", "random", "facility_location"])
def test_geometric_selectors_ignore_labels(pool, labeled, strategy):
    got = select(pool, strategy, 50, seed=0)
    assert len(got) == 50 and len(np.unique(got)) == 50
    np.testing.assert_array_equal(got, select(labeled, strategy, 50, seed=0))


def test_kcenter_never_picks_both_copies_of_a_duplicate(pool):
    got = set(select(pool, "kcenter", 100, seed=0).tolist())
    both = [i for i in range(N_DUP) if i in got and i + N - N_DUP in got]
    assert both == []  # a copy is at distance 0 from its twin, so k-center never needs it


@pytest.mark.parametrize(("strategy", "params"), [("exact_dedup", {}), ("semdedup", {"eps": 0.001})])
def test_dedup_filters_drop_the_repeated_rows(pool, strategy, params):
    kept = select(pool, strategy, **params)
    # one row of each duplicated pair survives; the random rows are far from each other
    assert len(kept) == N - N_DUP
    pairs = np.isin(np.arange(N_DUP), kept).astype(int) + np.isin(np.arange(N - N_DUP, N), kept).astype(int)
    assert (pairs == 1).all()


def test_profile_of_a_pool_notes_the_label_families(pool, labeled):
    prof = df.factors.profile(pool)
    by_family = {f: g for f, g in prof.groupby("family")}
    for fam in ("balance", "label_noise", "inductive_bias"):
        notes = by_family[fam]["note"].tolist()
        assert any("needs labels" in n for n in notes), (fam, notes)
        assert by_family[fam]["value"].isna().all() or fam == "balance"
    size = by_family["size"].set_index("factor")["value"]
    assert size["n_examples"] == N and size["n_classes"] == 0
    exact = prof.set_index("factor")["value"]
    assert exact["exact_duplicate_rate"] == pytest.approx(N_DUP / N)
    ref = df.factors.profile(labeled, families=["diversity", "intrinsic_dimension"]).set_index("factor")["value"]
    assert exact["vendi_score"] == pytest.approx(ref["vendi_score"])
    assert exact["intrinsic_dimension"] == pytest.approx(ref["intrinsic_dimension"])
    assert "aps_class" not in set(prof.factor)


@pytest.mark.parametrize("kind", ["random", "cluster"])
def test_label_free_splits(pool, labeled, kind):
    sp = df.splits.split(pool, kind, seed=0)
    train, test = np.asarray(sp.train), np.asarray(sp.test)
    assert len(train) > 0 and len(test) > 0 and not np.intersect1d(train, test).size
    ref = df.splits.split(labeled, kind, seed=0)
    np.testing.assert_array_equal(train, ref.train)
    np.testing.assert_array_equal(test, ref.test)


def test_label_free_scores_work(pool):
    frame = df.scores.compute(pool, ["knn_density"])
    assert list(frame.index[:2]) == ["r0", "r1"] and frame["knn_density"].notna().all()


def _needs(what: str, fn, *args, **kwargs):
    with pytest.raises(DataError) as e:
        fn(*args, **kwargs)
    msg = str(e.value)
    assert what in msg and "--label" in msg and "pool.parquet" in msg and "\n" not in msg, msg


def test_label_needing_operators_say_so(pool):
    _needs("training a proxy model", df.learners.make_learner("logistic").fit, pool, epochs=1, seed=0)
    _needs("score 'el2n'", df.scores.compute, pool, ["el2n"])
    _needs("score 'label_quality'", df.scores.compute, pool, ["knn_density", "label_quality"])
    _needs("class_balanced selection", select, pool, "kcenter", 20, class_balanced=True)
    _needs("the aflite selector", select, pool, "aflite", 20)
    _needs("the dfn selector", select, pool, "dfn", 20, trusted=list(pool.ids[:20]))
    _needs("quad without scores", select, pool, "quad", 20)
    _needs("the stratified split", df.splits.split, pool, "stratified")
    domain = pd.DataFrame({"d": np.arange(N) % 3})
    grouped = df.Dataset.from_arrays(pool.X, ids=pool.ids, extra=domain, name=pool.name)
    _needs("equitable with allocation='adaptive'", select, grouped, "equitable", 30, domain="d")
    assert len(select(grouped, "equitable", 30, domain="d", allocation="equal")) == 30


def test_quad_with_scores_needs_no_labels(pool):
    scores = np.random.default_rng(0).random(N)
    got = select(pool, "quad", 30, scores=scores, seed=0)
    assert len(np.unique(got)) == 30


def test_cli_select_on_a_pool(pool_path, tmp_path, capsys, cli):
    out = tmp_path / "k.parquet"
    rc = cli(["select", str(pool_path), "--strategy", "kcenter", "--budget", "50", "--out", str(out)])
    assert rc == 0
    assert len(pd.read_parquet(out)) == 50
    captured = capsys.readouterr()
    assert "no label column: an unlabeled pool" in captured.out + captured.err


def test_cli_score_needing_labels_exits_2(pool_path, tmp_path, capsys, cli):
    out = tmp_path / "s.parquet"
    rc = cli(["score", str(pool_path), "--scores", "el2n", "--out", str(out)])
    assert rc == 2 and not out.exists()
    captured = capsys.readouterr()
    lines = [ln for ln in (captured.out + captured.err).splitlines() if "--label" in ln]
    assert len(lines) == 1 and "el2n" in lines[0], captured


def test_cli_run_on_a_pool_fails_before_a_run_folder(pool_path, tmp_path, monkeypatch, capsys, cli):
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"dataset: {pool_path}\nstrategies: [{{name: r, selector: random}}]\nbudgets: [0.5]\n")
    before = set(tmp_path.iterdir())
    assert cli(["run", str(cfg)]) == 2
    assert set(tmp_path.iterdir()) == before
    captured = capsys.readouterr()
    assert "datafactors run (proxy training) needs labels" in captured.out + captured.err
