"""Scoring and selection over a folder of Parquet shards with Ray Data (experiment/sharded.py, engines/ray_data.py).

One local Ray instance (2 CPUs) serves the whole module. Every sharded result is
compared with the local path on the same folder: the values must be identical, and the
output must hold one shard per input shard at the same relative path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors._errors import ConfigError, DataError

ray = pytest.importorskip("ray")

from datafactors.engines import ray_data  # noqa: E402  (after the importorskip)
from datafactors.experiment import sharded  # noqa: E402

N_PER_SHARD = (70, 60, 50)  # + duplicated rows below
SHARDS = ("a.parquet", "b.parquet", "part=x/c.parquet")  # a hive folder too: its key becomes a text column


def _digits_frame() -> pd.DataFrame:
    from sklearn.datasets import load_digits

    d = load_digits()
    n = sum(N_PER_SHARD)
    X, y = d.data[:n].astype(np.float64), d.target[:n] % 3
    frame = pd.DataFrame(X, columns=[f"p{j}" for j in range(X.shape[1])])
    frame["label"] = y
    return frame


def write_shards(folder: Path, frame: pd.DataFrame, with_ids: bool = True) -> Path:
    """Three shards of ``frame`` (in order), the last one in a ``part=x`` folder, plus a _SUCCESS marker."""
    frame = frame.copy()
    if with_ids:
        frame.insert(0, "id", [f"r{i:04d}" for i in range(len(frame))])
    bounds = np.cumsum([0, *N_PER_SHARD[:-1], len(frame) - sum(N_PER_SHARD[:-1])])
    for rel, lo, hi in zip(SHARDS, bounds[:-1], bounds[1:], strict=True):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        frame.iloc[lo:hi].to_parquet(folder / rel, index=False)
    (folder / "_SUCCESS").write_text("")
    return folder


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """180 digit rows in 3 shards, the last shard ending with 12 rows that repeat earlier rows of every shard."""
    frame = _digits_frame()
    dup_rows = [0, 5, 5, 71, 100, 150, 3, 3, 179, 64, 65, 66]
    frame = pd.concat([frame, frame.iloc[dup_rows]], ignore_index=True)
    assert frame["p0"].eq(0).all()
    frame.loc[len(frame) - 1, "p0"] = -0.0  # equal to 0.0 for exact dedup
    return write_shards(tmp_path_factory.mktemp("pool") / "pool", frame)


def _read_out(folder: Path) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(folder / rel) for rel in SHARDS], ignore_index=True)


def _no_leftovers(parent: Path) -> None:
    hidden = [p.name for p in parent.iterdir() if p.name.startswith(".") and ".tmp-" in p.name]
    assert not hidden, f"staging folders left behind: {hidden}"


# ------------------------------------------------------------------ no Ray needed


def test_list_shards_is_the_reader_order(pool):
    shards = ray_data.list_shards(pool)
    assert [s.relative_to(pool).as_posix() for s in shards] == list(SHARDS)
    ds = df.load(str(pool))
    first_ids = [pd.read_parquet(s)["id"].iloc[0] for s in shards]
    starts = np.cumsum([0, *[len(pd.read_parquet(s)) for s in shards[:-1]]])
    assert [str(ds.ids[i]) for i in starts] == first_ids


def test_rowwise_scores_are_registered_dynamics_scores():
    for name in sharded.ROWWISE_SCORES:
        assert df.scores.REGISTRY.get(name).needs_dynamics, name


def test_out_folder_rules(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.parquet").write_text("x")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(DataError, match="already holds files"):
        ray_data.check_out_folder(tmp_path / "full")
    with pytest.raises(DataError, match="is a file"):
        ray_data.check_out_folder(tmp_path / "afile")
    with pytest.raises(DataError, match="is not a folder"):
        ray_data.check_out_folder(tmp_path / "afile" / "out")
    with pytest.raises(DataError, match="does not exist"):
        ray_data.check_out_folder(tmp_path / "nodir" / "out")
    (tmp_path / "empty").mkdir()
    assert ray_data.check_out_folder(tmp_path / "empty") == tmp_path / "empty"


def test_bad_inputs_fail_before_ray_starts(pool, tmp_path):
    was_up = ray.is_initialized()
    with pytest.raises(DataError, match="is a file"):
        sharded.select_shards(pool / "a.parquet", "exact_dedup", 5, tmp_path / "o")
    with pytest.raises(DataError, match="holds no .parquet, .jsonl"):
        (tmp_path / "nothing").mkdir()
        sharded.select_shards(tmp_path / "nothing", "exact_dedup", 5, tmp_path / "o")
    with pytest.raises(ConfigError, match="Did you mean 'exact_dedup'"):
        sharded.select_shards(pool, "exact_dedp", 5, tmp_path / "o")
    with pytest.raises(ConfigError, match="Did you mean 'forgetting'"):
        sharded.score_shards(pool, "forgeting", tmp_path / "o")
    with pytest.raises(DataError, match="budget == 0"):
        sharded.select_shards(pool, "exact_dedup", 0, tmp_path / "o")
    with pytest.raises(ConfigError, match="order"):
        sharded.select_shards(pool, "exact_dedup", 5, tmp_path / "o", order="last")
    assert ray.is_initialized() == was_up
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ on a local Ray instance


def test_scores_match_the_local_path(ray_instance, pool, tmp_path):
    import torch

    from datafactors.experiment.tasks import dynamics_task

    names = ["el2n", "forgetting", "knn_density", "cartography"]
    res = sharded.score_shards(pool, ",".join(names), tmp_path / "scores", seeds=[4, 5], epochs=2, seed=1)
    assert res.shards == SHARDS and res.n_rows == res.n_out == sum(N_PER_SHARD) + 12
    assert res.columns == ("id", "el2n", "forgetting", "knn_density", "confidence", "variability", "correctness")
    for rel in SHARDS:
        assert (tmp_path / "scores" / rel).is_file()
    assert sorted(
        p.relative_to(tmp_path / "scores").as_posix() for p in (tmp_path / "scores").rglob("*.parquet")
    ) == sorted(SHARDS)
    got = _read_out(tmp_path / "scores")

    ds = df.load(str(pool))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the Ray tasks train
    try:
        dyn = [
            dynamics_task({"learner": "mlp", "learner_params": {}, "epochs": 2, "seed": s}, {"train": ds})
            for s in (4, 5)
        ]
    finally:
        torch.set_num_threads(threads)
    ref = df.scores.compute(ds, names, dynamics=dyn, seed=1).reset_index()
    ref["id"] = ref["id"].astype(str)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    _no_leftovers(tmp_path)


def test_scorer_parameters_reach_the_shards(ray_instance, pool, tmp_path):
    """(name, params) specs: a row-wise score (per shard) and a driver-side one, each with a parameter."""
    import torch

    from datafactors.experiment.tasks import dynamics_task

    specs = [("el2n", {"epoch": 3}), ("knn_density", {"k": 3})]
    sharded.score_shards(pool, specs, tmp_path / "scores", seeds=[2], epochs=3, seed=0)
    got = _read_out(tmp_path / "scores")
    ds = df.load(str(pool))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        dyn = [dynamics_task({"learner": "mlp", "learner_params": {}, "epochs": 3, "seed": 2}, {"train": ds})]
    finally:
        torch.set_num_threads(threads)
    ref = df.scores.compute(ds, specs, dynamics=dyn, seed=0).reset_index()
    ref["id"] = ref["id"].astype(str)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    default = df.scores.compute(ds, ["el2n", "knn_density"], dynamics=dyn, seed=0)
    for col in ("el2n", "knn_density"):  # the parameters changed the values
        assert not np.allclose(got[col].to_numpy(), default[col].to_numpy()), col


@pytest.mark.parametrize("order", ["first", "random"])
def test_exact_dedup_matches_the_local_selector(ray_instance, pool, tmp_path, order):
    ds = df.load(str(pool))
    n_distinct = sum(N_PER_SHARD)  # the 12 extra rows repeat earlier ones (one as -0.0 for 0.0)
    budget = n_distinct if order == "first" else 50
    res = sharded.select_shards(pool, "exact_dedup", budget, tmp_path / "keep", seed=7, order=order)
    assert res.distributed and res.shards == SHARDS and res.n_out == budget
    got = _read_out(tmp_path / "keep")
    for rel in SHARDS:  # each shard's rows in row order
        part = pd.read_parquet(tmp_path / "keep" / rel)
        assert part["index"].is_monotonic_increasing
    idx = df.select.select(ds, "exact_dedup", budget, seed=7, order=order)
    want = pd.DataFrame({"id": ds.ids[idx].astype(str), "index": idx, "rank": np.arange(len(idx))})
    pd.testing.assert_frame_equal(got.sort_values("rank").reset_index(drop=True), want, check_exact=True)
    if order == "first":
        assert set(got["index"]) == set(range(n_distinct))


def test_exact_dedup_budget_over_the_distinct_rows(ray_instance, pool, tmp_path):
    with pytest.raises(DataError, match="only 180 distinct feature rows"):
        sharded.select_shards(pool, "exact_dedup", 181, tmp_path / "keep")
    assert not (tmp_path / "keep").exists()
    _no_leftovers(tmp_path)


def test_exact_dedup_without_an_id_column(ray_instance, tmp_path):
    folder = write_shards(tmp_path / "noid", _digits_frame(), with_ids=False)
    res = sharded.select_shards(folder, "exact_dedup", 40, tmp_path / "keep", seed=3)
    got = _read_out(tmp_path / "keep").sort_values("rank").reset_index(drop=True)
    idx = df.select.select(df.load(str(folder)), "exact_dedup", 40, seed=3)
    assert res.n_out == 40
    np.testing.assert_array_equal(got["index"].to_numpy(), idx)
    assert got["id"].tolist() == [str(i) for i in idx]  # default ids are positions in the folder


def test_global_selector_runs_on_the_driver(ray_instance, pool, tmp_path):
    res = sharded.select_shards(pool, "kcenter", 0.2, tmp_path / "keep", seed=2, class_balanced=True)
    assert not res.distributed
    ds = df.load(str(pool))
    idx = df.select.select(ds, "kcenter", 0.2, seed=2, class_balanced=True)
    got = _read_out(tmp_path / "keep").sort_values("rank").reset_index(drop=True)
    np.testing.assert_array_equal(got["index"].to_numpy(), idx)


def test_cli_on_a_folder(ray_instance, pool, tmp_path, capsys):
    from datafactors.cli import main as cli_main

    def main(argv: list[str]) -> int:
        try:
            return cli_main(argv)
        except SystemExit as e:  # Typer exits 0 after a command that succeeded
            return int(e.code or 0)

    args = ["--engine", "ray", "--seed", "7", "--quiet"]
    assert main(["score", str(pool), "--scores", "margin", "--seeds", "1", "--epochs", "1", "--out",
                 str(tmp_path / "s"), *args]) == 0  # fmt: skip
    assert main(["select", str(pool), "--strategy", "exact_dedup", "--budget", "0.5", "--param", "order=first",
                 "--out", str(tmp_path / "k"), *args[:-1]]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "wrote 192 rows x 1 scores in 3 shards" in out and "kept 96 of 192 examples with 'exact_dedup'" in out
    got = _read_out(tmp_path / "k").sort_values("rank")
    np.testing.assert_array_equal(got["index"], np.arange(96))  # no repeats among the first 96 rows
    assert list(_read_out(tmp_path / "s").columns) == ["id", "margin"]


def test_worker_errors_come_back_as_data_errors(ray_instance, tmp_path):
    frame = _digits_frame()
    frame.loc[150, "p3"] = np.nan  # in the third shard
    folder = write_shards(tmp_path / "nan", frame)
    with pytest.raises(DataError, match=r"'p3'.*part=x/c.parquet.*non-finite") as info:
        sharded.select_shards(folder, "exact_dedup", 10, tmp_path / "keep")
    assert type(info.value) is DataError
    assert not (tmp_path / "keep").exists()

    frame = _digits_frame()
    frame.insert(0, "id", [f"r{i % 100}" for i in range(len(frame))])  # ids repeat across shards
    folder = write_shards(tmp_path / "dups", frame, with_ids=False)
    with pytest.raises(DataError, match="duplicated values across shards"):
        sharded.select_shards(folder, "exact_dedup", 10, tmp_path / "keep2")
    assert not (tmp_path / "keep2").exists()
    _no_leftovers(tmp_path)
