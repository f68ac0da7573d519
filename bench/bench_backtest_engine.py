"""Backtest coverage over the run engine's own proxies and dynamics-score strategies.

`bench/bench_backtest.py` measures the 90% backtest intervals on logistic-regression curves;
this bench runs the real `datafactors run` loop instead: the mlp learner, strategies that
pick by EL2N and forgetting scores (recorded from the engine's own proxy runs), k-center and
random, 6 budgets x 3 seeds, on scikit-learn's digits (two train/test splits), its
breast-cancer set (a CSV, two stratified splits) and MNIST-1D (two generator seeds), with
their ID test and — where the built-in has one — OOD sets. Each run's `backtest` table
(written by `analysis.derive` into results.duckdb) is read back; the bench prints every
backtest, the coverage of the ok ones overall and per strategy, and how many were too short
or flat. ``--blocks 5`` (five splits / generator seeds per dataset) gives the >= 40 checked
backtests the issue asks for.

``--keep FILE`` saves every trial's error point (Parquet, with its run); ``--from FILE``
re-evaluates the backtests on kept points with the current
:func:`~datafactors.analysis.backtest.backtest_table` (the engine's settings: 200 bootstrap
refits, seed 0) without training anything, so a change to the interval is measured on the
same curves; ``--no-shape-check`` gives the bootstrap interval alone.

Run (OPENBLAS settings unset in the command, as for every bench):
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/bench_backtest_engine.py [--blocks 2] \
        [--keep points.parquet | --from points.parquet] [--no-shape-check]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

import datafactors as df
from datafactors.analysis.backtest import backtest_table
from datafactors.experiment.config import config_from_dict

BUDGETS = [0.0625, 0.125, 0.25, 0.375, 0.5, 1.0]
STRATEGIES = [
    {"name": "random", "selector": "random"},
    {"name": "el2n_hardest", "selector": "hardest", "score": "el2n"},
    {"name": "el2n_easiest", "selector": "easiest", "score": "el2n"},
    {"name": "forgetting_hardest", "selector": "hardest", "score": "forgetting"},
    {"name": "kcenter", "selector": "kcenter"},
]


def _breast_cancer_csv(folder: Path) -> str:
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    b = load_breast_cancer()
    frame = pd.DataFrame(StandardScaler().fit_transform(b.data), columns=[f"f{i}" for i in range(b.data.shape[1])])
    frame["label"] = b.target
    path = folder / "breast_cancer.csv"
    frame.to_csv(path, index=False)
    return str(path)


def _configs(folder: Path, blocks: int, first_block: int = 0) -> list[tuple[str, dict]]:
    base = {
        "learner": "mlp",
        "learner_params": {"hidden": [64], "batch_size": 64, "lr": 0.005},
        "epochs": 20,
        "seeds": [0, 1, 2],
        "budgets": BUDGETS,
        "strategies": STRATEGIES,
        "scoring": {"scores": ["el2n", "forgetting"], "seeds": 2},
        "fit": {"n_boot": 200},
        "n_workers": 2,
    }
    csv = _breast_cancer_csv(folder)
    out = []
    for b in range(first_block, first_block + blocks):
        out.append((f"digits/b{b}", {**base, "dataset": "digits", "dataset_params": {"seed": b}}))
        out.append((f"breast_cancer/b{b}", {**base, "dataset": csv, "label": "label", "split_seed": b}))
        out.append(
            (
                f"mnist1d/b{b}",
                {**base, "dataset": "mnist1d", "dataset_params": {"seed": 42 + b, "n_train": 2000}, "epochs": 15},
            )
        )
    return out


def _engine(blocks: int, keep: str | None, first_block: int = 0) -> pd.DataFrame:
    frames, points = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for label, cfg in _configs(folder, blocks, first_block):
            t1 = time.perf_counter()
            res = df.experiment.run(config_from_dict(cfg), out=folder / "runs", make_report=False)
            with duckdb.connect(str(res.run_dir / "results.duckdb"), read_only=True) as con:
                bt = con.execute("SELECT * FROM backtest").df()
                pts = con.execute(
                    "SELECT t.strategy, m.eval_set, t.n_train, t.seed, 1 - m.value AS err FROM trials t "
                    "JOIN metrics m USING (trial_id) WHERE t.status = 'ok' AND m.metric = 'accuracy'"
                ).df()
            bt.insert(0, "run", label)
            pts.insert(0, "run", label)
            frames.append(bt)
            points.append(pts)
            if keep is not None:  # after every run, so an interrupted bench keeps what finished
                pd.concat(points, ignore_index=True).to_parquet(keep)
            print(f"{label}: {res.n_trials} trials, {len(bt)} backtests, {time.perf_counter() - t1:.0f} s", flush=True)
    if keep is not None:
        print(f"error points of every trial saved to {keep}")
    return pd.concat(frames, ignore_index=True)


def _offline(source: str, shape_check: bool, floor_free: bool, anchor: bool) -> pd.DataFrame:
    points = pd.read_parquet(source)
    print(f"error points read from {source} ({len(points)} points, {points['run'].nunique()} runs), nothing trained")
    frames = []
    for label, g in points.groupby("run", sort=False):
        # Every config's largest budget is 1.0, so the largest size is the whole pool (the run's n_pool).
        bt = backtest_table(
            g.drop(columns="run"), n_boot=200, seed=0, shape_check=shape_check, floor_free=floor_free,
            anchor="random" if anchor else None, n_pool=float(g["n_train"].max()),
        )  # fmt: skip
        bt.insert(0, "run", label)
        frames.append(bt)
    return pd.concat(frames, ignore_index=True)


def main(
    blocks: int = 2,
    keep: str | None = None,
    source: str | None = None,
    shape_check: bool = True,
    floor_free: bool = True,
    anchor: bool = True,
    first_block: int = 0,
) -> pd.DataFrame:
    unset = [v for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ]
    print(f"OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset: {'no, still set: ' + ', '.join(unset) if unset else 'yes'}")
    t0 = time.perf_counter()
    if source is not None:
        table = _offline(source, shape_check, floor_free, anchor)
    else:
        if not (shape_check and floor_free and anchor):
            raise SystemExit("--no-shape-check / --no-floor-free / --no-anchor need --from: the engine's own runs "
                             "use the current backtest_table")  # fmt: skip
        table = _engine(blocks, keep, first_block)
    ok = table[table["status"] == "ok"]
    with pd.option_context("display.width", 200, "display.max_rows", 400):
        cols = ["run", "strategy", "eval_set", "n_fit_max", "n_pred", "pred", "lo", "hi", "shape_error", "measured"]
        cols = [c for c in cols if c in table]  # a run from before the shape term has no shape_error
        print(table[[*cols, "covered", "status"]].to_string(index=False))
    cov = float(ok["covered"].astype(bool).mean()) if len(ok) else float("nan")
    per = ok.groupby("strategy")["covered"].agg(lambda c: f"{c.astype(bool).mean():.2f} of {len(c)}")
    print("coverage per strategy:", ", ".join(f"{k} {v}" for k, v in per.items()))
    per_set = ok.groupby("eval_set")["covered"].agg(lambda c: f"{c.astype(bool).mean():.2f} of {len(c)}")
    print("coverage per eval set:", ", ".join(f"{k} {v}" for k, v in per_set.items()))
    if "shape_error" in ok:
        width = float(((ok["hi"] - ok["lo"]) / ok["pred"]).median()) if len(ok) else float("nan")
        print(f"shape check: {'on' if shape_check else 'off'}; {int(ok['shape_error'].isna().sum())} of {len(ok)} "
              f"intervals without one; median interval width {width:.1%} of the prediction")  # fmt: skip
    print(
        f"{len(ok)} backtests checked ({len(table) - len(ok)} too short / flat); "
        f"90% interval coverage {cov:.2f} (target 0.80-0.97); {time.perf_counter() - t0:.1f} s"
    )
    return table


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=2, help="splits / generator seeds per dataset (5 strategies each)")
    ap.add_argument("--keep", default=None, help="save every trial's error point to this Parquet file")
    ap.add_argument("--from", dest="source", default=None, help="re-evaluate kept error points, train nothing")
    ap.add_argument("--first-block", type=int, default=0, help="first split / generator seed (fresh curves: 5)")
    ap.add_argument("--no-shape-check", dest="shape_check", action="store_false", help="no shape-error term")
    ap.add_argument("--no-floor-free", dest="floor_free", action="store_false", help="no floor-free fit in the span")
    ap.add_argument("--no-anchor", dest="anchor", action="store_false", help="no whole-pool anchor to random")
    a = ap.parse_args()
    main(a.blocks, a.keep, a.source, a.shape_check, a.floor_free, a.anchor, a.first_block)
