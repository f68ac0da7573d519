"""The two answers a run gives: which data to keep, and how much more data is needed.

The ``summary`` table holds the numbers behind them, one row per finding, told apart by ``kind``:

``"best"``
    Per eval set at the smallest budget and at the budget nearest 50% (``role`` "smallest",
    "mid"; "mid" is exactly 50% or the nearest): the strategy with the best mean accuracy
    (``strategy``, ``mean``, ``n`` seeds, ``n_train``), how many strategies have results
    (``n_strategies``), the random baseline's mean (``baseline_mean``) and, where random is
    best, the best other strategy (``rival``, ``rival_mean``).
``"keep"``
    "Which data should I keep?", read on ID test (or the first eval set) at the budget nearest
    50% below the full set: ``strategy`` (best), ``rival`` (the best non-random strategy),
    ``diff`` (its mean accuracy minus random's), ``noise`` (1.96 x the standard error of that
    difference; 0 with one seed), ``ood_diff`` (the same difference on OOD test),
    ``baseline_mean`` (NaN without a random baseline), and the largest budget's best mean
    (``full_budget``, ``full_n``, ``full_gap`` = it minus the best mean at this budget).
``"need"``
    "How much more data?": the strategy whose ID fit is extrapolated (``strategy``, None when
    no strategy has a successful ID fit), chosen as the best mean ID accuracy at the largest
    budget (``role`` "accuracy", ``budget``) or, without ID accuracies, the first fitted
    strategy (``role`` "first"); ``skipped`` lists better-ranked strategies without an ok fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from ._tables import empty_table, typed

BASELINE = "random"
SUMMARY_COLUMNS = [
    "kind", "eval_set", "role", "budget", "n_train", "strategy", "mean", "n", "n_strategies", "rival", "rival_mean",
    "baseline_mean", "diff", "noise", "ood_diff", "full_budget", "full_n", "full_gap", "skipped",
]  # fmt: skip
_TEXT = ("kind", "eval_set", "role", "strategy", "rival", "skipped")
DTYPES: dict[str, object] = {c: (str if c in _TEXT else float) for c in SUMMARY_COLUMNS}
_KNOWN_SETS = ("id_test", "ood_test")


def _order(names) -> list[str]:
    names = sorted({str(n) for n in names})
    return ([BASELINE] if BASELINE in names else []) + [n for n in names if n != BASELINE]


def summary_budgets(budgets: list[float]) -> list[tuple[float, str]]:
    """The smallest budget and the one at (or nearest) 50%, with their role ("smallest", "mid", "near_mid")."""
    smallest = min(budgets)
    mid = min(budgets, key=lambda b: (abs(b - 0.5), b))
    out = [(smallest, "smallest")]
    if mid != smallest:
        out.append((mid, "mid" if math.isclose(mid, 0.5, abs_tol=1e-9) else "near_mid"))
    return out


def mid_budget(budgets: list[float]) -> float:
    """The budget a pruning verdict is read at: the one nearest 50%, below the full set when there is one."""
    below = [b for b in budgets if b < 1.0] or budgets
    return min(below, key=lambda b: (abs(b - 0.5), b))


def _at(acc: pd.DataFrame, eval_set: str, budget: float) -> pd.DataFrame:
    at = acc[(acc["eval_set"] == eval_set) & (acc["budget"] == budget)].set_index("strategy")
    return at.loc[_order(at.index)]


def best_rows(agg: pd.DataFrame) -> list[dict]:
    """The ``"best"`` rows (see the module docstring)."""
    acc = agg[agg["metric"] == "accuracy"]
    rows = []
    sets = [s for s in _KNOWN_SETS if s in set(acc["eval_set"])]
    for es in sets:
        budgets = sorted(acc.loc[acc["eval_set"] == es, "budget"].dropna().unique().tolist())
        for budget, role in summary_budgets(budgets):
            at = _at(acc, es, budget)
            best = str(at["mean"].idxmax())
            row = dict(kind="best", eval_set=es, role=role, budget=budget, strategy=best, mean=at.loc[best, "mean"],
                       n=at.loc[best, "n"], n_train=at.loc[best, "n_train"], n_strategies=len(at))  # fmt: skip
            if BASELINE in at.index:
                row["baseline_mean"] = at.loc[BASELINE, "mean"]
            if best == BASELINE and len(at) > 1:
                others = at.drop(index=BASELINE)
                row["rival"] = str(others["mean"].idxmax())
                row["rival_mean"] = others.loc[row["rival"], "mean"]
            rows.append(row)
    return rows


def _sem(x) -> float:
    return 0.0 if x is None or pd.isna(x) else float(x)


def keep_row(agg: pd.DataFrame) -> dict | None:
    """The ``"keep"`` row, or None without accuracies."""
    acc = agg[agg["metric"] == "accuracy"]
    if acc.empty:
        return None
    sets = [s for s in _KNOWN_SETS if s in set(acc["eval_set"])] or sorted(set(acc["eval_set"]))
    es = "id_test" if "id_test" in sets else sets[0]
    sub_es = acc[acc["eval_set"] == es]
    budget = mid_budget(sorted(sub_es["budget"].dropna().unique().tolist()))
    at = _at(acc, es, budget)
    best = str(at["mean"].idxmax())
    row = dict(kind="keep", eval_set=es, role="mid", budget=budget, strategy=best, mean=at.loc[best, "mean"],
               n=at.loc[best, "n"], n_train=at.loc[best, "n_train"], n_strategies=len(at))  # fmt: skip
    if BASELINE in at.index and len(at) > 1:
        others = at.drop(index=BASELINE)
        rival = best if best != BASELINE else str(others["mean"].idxmax())
        row.update(rival=rival, rival_mean=at.loc[rival, "mean"], baseline_mean=at.loc[BASELINE, "mean"])
        row["diff"] = float(at.loc[rival, "mean"] - at.loc[BASELINE, "mean"])
        row["noise"] = 1.96 * math.hypot(_sem(at.loc[rival, "sem"]), _sem(at.loc[BASELINE, "sem"]))
        ood = acc[(acc["eval_set"] == "ood_test") & (acc["budget"] == budget)].set_index("strategy")
        if rival != BASELINE and rival in ood.index and BASELINE in ood.index:
            row["ood_diff"] = float(ood.loc[rival, "mean"] - ood.loc[BASELINE, "mean"])
    elif BASELINE in at.index:
        row["baseline_mean"] = at.loc[BASELINE, "mean"]
    top = sub_es["budget"].max()
    if top > budget:
        full = sub_es[sub_es["budget"] == top]
        row.update(full_budget=top, full_n=full["n_train"].max(), full_gap=float(full["mean"].max() - row["mean"]))
    return row


@dataclass
class FitChoice:
    """Which strategy's fits the extrapolation uses, and why (``explanation`` is plain text)."""

    strategy: str | None
    rule: str  # "accuracy" (best mean ID accuracy at ``budget``) or "first"
    budget: float = float("nan")
    skipped: list[str] = field(default_factory=list)
    explanation: str = ""


def choose_fit_strategy(agg: pd.DataFrame | None, fits: pd.DataFrame) -> FitChoice:
    """The strategy with the best mean ID accuracy at the largest budget that has an ok ID fit."""
    ok_id = fits[(fits["eval_set"].astype(str) == "id_test") & (fits["status"].astype(str) == "ok")]
    ok_strategies = set(ok_id["strategy"].astype(str))
    ranking: list[str] = []
    rule, budget = "first", float("nan")
    if agg is not None:
        acc = agg[(agg["metric"] == "accuracy") & (agg["eval_set"] == "id_test")]
        if not acc.empty:
            budget = float(acc["budget"].max())
            at_top = acc[acc["budget"] == budget]
            at_top = at_top.set_index("strategy").loc[_order(at_top["strategy"])]
            ranking = at_top["mean"].sort_values(ascending=False, kind="stable").index.tolist()
            rule = "accuracy"
    if not ranking:
        ranking = _order(fits["strategy"])
    why = (
        f"the strategy with the best mean ID test accuracy at the largest budget ({budget:.0%})"
        if rule == "accuracy"
        else "the first strategy with a fit (no ID accuracy to rank strategies by)"
    )
    for i, strategy in enumerate(ranking):
        if strategy in ok_strategies:
            skipped = ranking[:i]
            text = f"Extrapolations use the fits for {strategy}, {why}."
            if skipped:
                text = (
                    f"Extrapolations use the fits for {strategy}: ranked by {why}, "
                    f"{', '.join(skipped)} came first but has no successful ID test fit."
                )
            return FitChoice(strategy, rule, budget, skipped, text)
    return FitChoice(
        None, rule, budget, [], "No strategy has a successful ID test fit, so nothing can be extrapolated."
    )


def summary_table(agg: pd.DataFrame | None, fits: pd.DataFrame | None) -> pd.DataFrame:
    """The ``summary`` table from the ``aggregates`` and ``fits`` tables (either may be None)."""
    rows: list[dict] = []
    if agg is not None and not agg.empty:
        rows += best_rows(agg)
        keep = keep_row(agg)
        if keep is not None:
            rows.append(keep)
    if fits is not None and not fits.empty:
        choice = choose_fit_strategy(agg if agg is not None and not agg.empty else None, fits)
        rows.append(dict(kind="need", eval_set="id_test", role=choice.rule, budget=choice.budget,
                         strategy=choice.strategy, skipped=", ".join(choice.skipped) or None))  # fmt: skip
    if not rows:
        return empty_table(SUMMARY_COLUMNS, DTYPES)
    return typed(pd.DataFrame(rows), SUMMARY_COLUMNS, DTYPES)
