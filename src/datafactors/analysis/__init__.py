"""Analysis: every number derived from a run's stored trials and predictions, written back as tables.

One module per derived thing: :mod:`.curves` (power-law fits, their bootstrap draws and curve
points), :mod:`.crossings` (where strategies' fitted curves cross), :mod:`.calibration`
(before/after temperature scaling, the bin sweep, reliability bins), :mod:`.aggregates`
(mean/std/n over seeds) and :mod:`.summary` (which data to keep, how much more data).
:func:`derive` (re)writes them all; the report only reads them. Nothing here plots.
:mod:`.examples` lists the examples behind every score (hardest, never learned, cartography
regions, label issues, duplicates, outliers, what a strategy dropped): :func:`write_examples`.

>>> from datafactors.analysis import derive
>>> from datafactors.store import RunStore
>>> derive(RunStore("runs/my-run"))  # doctest: +SKIP
{'id_test': 0.081, 'ood_test': 0.27}
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from ._run_info import pool_size, run_config
from ._tables import empty_table
from .aggregates import AGGREGATE_COLUMNS, aggregates_table
from .calibration import BIN_COLUMNS, CALIBRATION_COLUMNS, calibration_bins_table, calibration_table
from .crossings import CROSSING_COLUMNS, SEGMENT_COLUMNS, compare_strategies, crossings_frame, segments_frame
from .curves import CURVE_COLUMNS, DRAW_COLUMNS, FIT_COLUMNS, fit_curves
from .examples import (
    CARTOGRAPHY_FRACTION,
    CARTOGRAPHY_REGIONS,
    EXAMPLE_COLUMNS,
    VIEW_COLUMNS,
    cartography_regions,
    example_rows,
    example_views,
    predicted_labels,
    write_examples,
)
from .summary import SUMMARY_COLUMNS, summary_table

__all__ = [
    "AGGREGATE_COLUMNS",
    "BIN_COLUMNS",
    "CALIBRATION_COLUMNS",
    "CARTOGRAPHY_FRACTION",
    "CARTOGRAPHY_REGIONS",
    "CLOSING_COLUMNS",
    "CROSSING_COLUMNS",
    "CURVE_COLUMNS",
    "DRAW_COLUMNS",
    "EXAMPLE_COLUMNS",
    "FIT_COLUMNS",
    "SEGMENT_COLUMNS",
    "SUMMARY_COLUMNS",
    "TABLES",
    "VIEW_COLUMNS",
    "cartography_regions",
    "closing_summary",
    "derive",
    "example_rows",
    "example_views",
    "predicted_labels",
    "write_examples",
]

# Every table derive() writes, in the order it writes them.
TABLES = (
    "fits",
    "backtest",
    "fit_draws",
    "curve_points",
    "aggregates",
    "crossings",
    "curve_segments",
    "calibration",
    "calibration_bins",
    "summary",
)
DEFAULT_N_BOOT = 200
CLOSING_COLUMNS = ["budget", "eval_set", "best", "accuracy", "random"]


def _fit_defaults(store: Any) -> dict[str, Any]:
    """``fit:`` of the run's config.yaml (n_boot, target_error); empty when absent."""
    fit = run_config(store).get("fit")
    if fit is None:
        return {}
    if not isinstance(fit, dict):
        raise ConfigError(
            f"fit in {store.path / 'config.yaml'} is {fit!r}, expected a mapping with n_boot and/or target_error"
        )
    return fit


def _check(n_boot: Any, target_error: Any, source: str) -> tuple[int, float | None]:
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ConfigError(f"n_boot == {n_boot!r} ({source}), must be an int >= 0")
    if target_error is not None:
        ok = isinstance(target_error, (int, float)) and not isinstance(target_error, bool) and 0 < target_error < 1
        if not ok:
            raise ConfigError(f"target_error == {target_error!r} ({source}), must be a number in (0, 1)")
        target_error = float(target_error)
    return int(n_boot), target_error


def _n_full(store: Any, trials: pd.DataFrame) -> float:
    ok = trials[trials["status"].astype(str) == "ok"]
    return pool_size(store, float(ok["n_train"].max()) if len(ok) else float("nan"))


def _existing(store: Any, name: str) -> pd.DataFrame | None:
    con = store.connect()
    present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    return store.table(name) if name in present else None


def _targets_of(fits: pd.DataFrame | None) -> dict[str, float]:
    if fits is None or fits.empty or "target" not in fits:
        return {}
    t = fits.dropna(subset=["target"]).groupby(fits["eval_set"].astype(str))["target"].first()
    return {str(k): float(v) for k, v in t.items()}


def derive(
    store: Any,
    *,
    n_boot: int | None = None,
    target_error: float | None = None,
    seed: int = 0,
    tables: Iterable[str] | None = None,
) -> dict[str, float]:
    """Compute every derived table of a run from its trials, metrics and predictions, and store them.

    Reads the store's ``trials`` and ``metrics`` tables and ``predictions.parquet``;
    (re)writes the tables ``fits``, ``backtest`` (:mod:`datafactors.analysis.backtest`),
    ``fit_draws``, ``curve_points``, ``aggregates``,
    ``crossings``, ``curve_segments``, ``calibration``, ``calibration_bins`` and ``summary``
    with :meth:`RunStore.replace_table`. A table that cannot be computed (no successful
    trial, no predictions, fewer than two fitted strategies) is written empty, with its columns.

    Parameters
    ----------
    store : RunStore
    n_boot : int, optional
        Bootstrap refits per learning curve; default: ``fit.n_boot`` of the run's
        ``config.yaml``, else 200.
    target_error : float, optional
        Target of the data-needed estimates; default: ``fit.target_error`` of the run's
        config, else per eval set 10% (relative) below its best full-data error.
    seed : int, default 0
        Seed of the bootstraps and of the temperature-scaling holdout.
    tables : iterable of str, optional
        Only (re)compute these tables (names from :data:`TABLES`); the others are read
        from the store where a later table needs them (e.g. ``summary`` reads ``fits``).

    Returns
    -------
    dict
        The data-needed target per eval set (``{"id_test": 0.08, ...}``), for the run's manifest.
    """
    wanted = set(TABLES if tables is None else tables)
    unknown = sorted(wanted - set(TABLES))
    if unknown:
        raise DataError(f"tables == {unknown}, must be among {list(TABLES)}")
    fit_cfg = _fit_defaults(store)
    source = "argument" if n_boot is not None else "fit.n_boot of config.yaml"
    nb = n_boot if n_boot is not None else fit_cfg.get("n_boot", DEFAULT_N_BOOT)
    te = target_error if target_error is not None else fit_cfg.get("target_error")
    nb, te = _check(nb, te, source)
    trials = (
        store.table("trials")
        if _existing(store, "trials") is not None
        else pd.DataFrame({"strategy": [], "n_train": [], "status": []})
    )

    if wanted & {"fits", "fit_draws", "curve_points"}:
        cf = fit_curves(store, n_full=_n_full(store, trials), n_boot=nb, target_error=te, seed=seed)
        for name, frame in (("fits", cf.fits), ("fit_draws", cf.draws), ("curve_points", cf.curve_points)):
            if name in wanted:
                store.replace_table(name, frame)
    if "backtest" in wanted:
        from .backtest import backtest_table

        store.replace_table("backtest", backtest_table(store, n_boot=nb, seed=seed))
    fits = _existing(store, "fits")
    draws = _existing(store, "fit_draws")

    agg = aggregates_table(store) if "aggregates" in wanted else _existing(store, "aggregates")
    if "aggregates" in wanted:
        store.replace_table("aggregates", agg)

    if wanted & {"crossings", "curve_segments"}:
        comparisons = compare_strategies(fits, trials, draws) if fits is not None and not fits.empty else []
        if "crossings" in wanted:
            store.replace_table("crossings", crossings_frame(comparisons))
        if "curve_segments" in wanted:
            store.replace_table("curve_segments", segments_frame(comparisons))

    if wanted & {"calibration", "calibration_bins"}:
        pred = store.read_parquet("predictions.parquet")
        from .calibration import DTYPES as CAL_DTYPES

        for name, build, cols in (
            ("calibration", lambda p: calibration_table(p, seed=seed), CALIBRATION_COLUMNS),
            ("calibration_bins", calibration_bins_table, BIN_COLUMNS),
        ):
            if name not in wanted:
                continue
            try:
                frame = build(pred) if pred is not None else empty_table(cols, CAL_DTYPES)
            except DataError:
                frame = empty_table(cols, CAL_DTYPES)
            store.replace_table(name, frame)

    if "summary" in wanted:
        store.replace_table("summary", summary_table(agg, fits))
    return _targets_of(fits)


def _same_rows_budgets(selections: pd.DataFrame | None) -> set[float]:
    """Budgets at which every strategy selected the same rows (and augmented them alike) for every seed."""
    if selections is None or selections.empty:
        return set()
    out = set()
    for budget, g in selections.groupby("budget"):
        same = True
        for _, gs in g.groupby("seed"):
            # a strategy that augments its rows (column ``augment``) trains other data than one that does not
            sets = {
                (frozenset(rows["id"].astype(str)), str(rows["augment"].iloc[0]) if "augment" in rows else "")
                for _, rows in gs.groupby("strategy")
            }
            if len(sets) > 1:
                same = False
                break
        if same and g["strategy"].nunique() > 1:
            out.add(float(budget))
    return out


def closing_summary(store: Any) -> pd.DataFrame:
    """Per budget and eval set: the best strategy's mean accuracy over seeds, and random's.

    ``best`` names a strategy only where one differs from the rest: it is None where every
    strategy trained the same rows (identical selections in ``selections.parquet``, e.g. at
    100%) or where all strategies' means are equal.

    Returns
    -------
    pandas.DataFrame with columns ``budget`` (float), ``eval_set`` (str), ``best`` (str or
    None), ``accuracy`` (float, the best mean), ``random`` (float, NaN without a random
    strategy), sorted by budget and eval set; ``attrs["backtest"]`` is the backtest sentence
    for the ID test set (:func:`datafactors.analysis.backtest.backtest_summary`) or None.
    """
    agg = _existing(store, "aggregates")
    if agg is None:
        agg = aggregates_table(store)
    acc = agg[agg["metric"].astype(str) == "accuracy"]
    same = _same_rows_budgets(store.read_parquet("selections.parquet"))
    rows = []
    for (budget, es), g in acc.groupby(["budget", "eval_set"], sort=True):
        means = g.set_index(g["strategy"].astype(str))["mean"].astype(float)
        top = float(means.max())
        tie = all(math.isclose(v, top, rel_tol=0, abs_tol=1e-12) for v in means)
        best = None if (float(budget) in same or tie) else str(means.idxmax())
        rows.append(dict(budget=float(budget), eval_set=str(es), best=best, accuracy=top,
                         random=float(means["random"]) if "random" in means.index else float("nan")))  # fmt: skip
    if not rows:
        return empty_table(CLOSING_COLUMNS, {"budget": float, "accuracy": float, "random": float, "best": object})
    out = pd.DataFrame(rows, columns=CLOSING_COLUMNS)
    out["best"] = out["best"].astype(object).where(out["best"].notna(), None)
    from .backtest import backtest_summary

    out.attrs["backtest"] = backtest_summary(_existing(store, "backtest"), "id_test")
    return out
