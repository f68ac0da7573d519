"""Run store: one transaction per trial, replacement on retry, atomic files."""

import duckdb
import pandas as pd
import pytest

import datafactors as df
from datafactors.store import RunStore


def _trial(tid, status="ok"):
    return {
        "trial_id": tid,
        "strategy": "random",
        "budget": 0.5,
        "n_train": 10,
        "seed": 0,
        "learner": "mlp",
        "status": status,
        "error": None,
        "seconds": 1.0,
    }


def test_write_trial_replaces_earlier_try(tmp_path):
    with RunStore(tmp_path) as st:
        st.write_trial(_trial("t1", "failed"), [])
        st.write_trial(_trial("t1"), [("id_test", "accuracy", 0.5), ("id_test", "nll", 1.0)])
        assert st.finished_trials() == {"t1"}
        assert len(st.table("trials")) == 1
        assert len(st.table("metrics")) == 2


def test_write_trial_is_atomic(tmp_path):
    with RunStore(tmp_path) as st:
        st.write_trial(_trial("t1"), [("id_test", "accuracy", 0.5)])
        with pytest.raises((ValueError, duckdb.Error)):
            # a metric value that cannot be stored aborts the whole trial
            st.write_trial(_trial("t2"), [("id_test", "accuracy", 0.5), ("id_test", "nll", "not-a-number")])
        assert st.finished_trials() == {"t1"}
        assert set(st.table("metrics")["trial_id"]) == {"t1"}


def test_manifest_and_parquet_round_trip(tmp_path):
    st = RunStore(tmp_path)
    with pytest.raises(df.DataError, match="not a datafactors run folder"):
        st.manifest()
    st.write_manifest({"status": "running"})
    assert st.update_manifest(status="complete")["status"] == "complete"
    st.write_parquet("x.parquet", pd.DataFrame({"a": [1, 2]}))
    assert st.read_parquet("x.parquet")["a"].tolist() == [1, 2]
    assert st.read_parquet("missing.parquet") is None
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    (tmp_path / "manifest.json").write_text("{broken")
    with pytest.raises(df.DataError, match="corrupt"):
        st.manifest()


def test_query_errors_are_data_errors(tmp_path):
    with RunStore(tmp_path) as st:
        st.connect()
        with pytest.raises(df.DataError, match="query failed"):
            st.query("SELECT * FROM nope")


def _run_folder(tmp_path):
    from datafactors.store import RunStore as _Store

    st = _Store(tmp_path)
    st.write_manifest({"status": "complete"})
    with st:
        st.write_trial(_trial("t1"), [("id_test", "accuracy", 0.5)])
        st.write_trial(_trial("t2"), [("id_test", "accuracy", 0.75)])
    st.write_parquet("scores.parquet", pd.DataFrame({"id": ["a", "b", "c"], "el2n": [0.1, 0.2, 0.3]}))
    st.write_parquet("later_stage.parquet", pd.DataFrame({"k": [1, 2]}))
    return tmp_path


def test_query_run_sees_the_database_and_every_parquet_file(tmp_path):
    from datafactors.store import query_run

    run = _run_folder(tmp_path)
    assert query_run(run, "SELECT count(*) AS n FROM scores")["n"].tolist() == [3]
    assert query_run(run, "SELECT sum(k) AS s FROM later_stage")["s"].tolist() == [3]
    got = query_run(run, "SELECT avg(value) AS v FROM trials JOIN metrics USING (trial_id)")
    assert got["v"].tolist() == [0.625]
    joined = query_run(run, "SELECT count(*) AS n FROM scores, trials")
    assert joined["n"].tolist() == [6]


@pytest.mark.parametrize(
    "sql",
    [
        "COPY (SELECT 1) TO '{tmp}/x.csv'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SET enable_external_access = true",
        "ATTACH '{tmp}/other.duckdb' AS other",
        "SELECT * FROM '{tmp}/scores.parquet'",
    ],
    ids=["copy-to", "read-csv", "unlock", "attach", "direct-file"],
)
def test_query_run_cannot_reach_outside_the_run(tmp_path, sql):
    from datafactors.store import query_run

    run = _run_folder(tmp_path / "run")
    with pytest.raises(df.DataError, match="query tried to reach outside the run folder") as e:
        query_run(run, sql.format(tmp=tmp_path))
    assert "\n" not in str(e.value)
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "other.duckdb").exists()


def test_query_run_is_read_only_and_names_bad_sql(tmp_path):
    from datafactors.store import query_run

    run = _run_folder(tmp_path)
    with pytest.raises(df.DataError, match="query failed: .*read-only"):
        query_run(run, "DROP TABLE trials")
    with pytest.raises(df.DataError, match="query failed: .*syntax"):
        query_run(run, "SELEC 1")
    with pytest.raises(df.DataError, match="not a datafactors run folder"):
        query_run(tmp_path / "gone", "SELECT 1")
    assert query_run(run, "SELECT count(*) AS n FROM trials")["n"].tolist() == [2]
