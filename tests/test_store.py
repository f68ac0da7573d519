"""Run store: one transaction per trial, replacement on retry, atomic files."""

import duckdb
import pandas as pd
import pytest

import datafactors as df
from datafactors.store import RunStore


def _trial(tid, status="ok"):
    return {"trial_id": tid, "strategy": "random", "budget": 0.5, "n_train": 10, "seed": 0, "learner": "mlp",
            "status": status, "error": None, "seconds": 1.0}


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
