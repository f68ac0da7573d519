"""Tables derived from the results database, and the two answers the summary gives.

"Which data should I keep?" compares strategies at the smallest budget and at 50%;
"how much more data do I need?" reads the scaling fits. Everything is computed from
the run's tables; nothing here is hard-coded to a dataset or strategy list except the
name of the baseline, ``random``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._html import esc, fmt_budget, fmt_int, fmt_pct, is_missing, missing
from ._load import RunData

BASELINE = "random"
EVAL_LABELS = {"id_test": "ID test", "ood_test": "OOD test"}
METRIC_ORDER = ("accuracy", "nll", "brier", "ece")
HIGHER_IS_BETTER = {"accuracy": True, "nll": False, "brier": False, "ece": False}


def eval_label(eval_set: str) -> str:
    return EVAL_LABELS.get(eval_set, str(eval_set))


def order_eval_sets(names: Any) -> list[str]:
    names = [str(n) for n in pd.unique(pd.Series(list(names), dtype=object))]
    known = [n for n in EVAL_LABELS if n in names]
    return known + sorted(n for n in names if n not in EVAL_LABELS)


def order_strategies(names: Any) -> list[str]:
    """The baseline first, then the others alphabetically, so colors and rows are stable."""
    names = sorted({str(n) for n in names})
    return ([BASELINE] if BASELINE in names else []) + [n for n in names if n != BASELINE]


def order_metrics(names: Any) -> list[str]:
    names = {str(n) for n in names}
    return [m for m in METRIC_ORDER if m in names] + sorted(names - set(METRIC_ORDER))


def trial_metrics(run: RunData) -> tuple[pd.DataFrame | None, str]:
    """Successful trials joined to their metrics (long format), or ``None`` and why not."""
    if run.trials is None:
        return None, run.why("trials")
    if run.metrics is None:
        return None, run.why("metrics")
    ok = run.trials[run.trials["status"].astype(str) == "ok"]
    if ok.empty:
        n_failed = int((run.trials["status"].astype(str) == "failed").sum())
        return None, f"No trial has finished successfully yet ({len(run.trials)} recorded, {n_failed} failed)."
    cols = ["trial_id", "strategy", "budget", "n_train", "seed"]
    m = run.metrics[["trial_id", "eval_set", "metric", "value"]]
    tm = ok[cols].merge(m, on="trial_id", how="inner")
    if tm.empty:
        return None, "The metrics table holds no rows for the successful trials."
    tm = tm.assign(
        strategy=tm["strategy"].astype(str),
        eval_set=tm["eval_set"].astype(str),
        metric=tm["metric"].astype(str),
        budget=pd.to_numeric(tm["budget"], errors="coerce"),
        n_train=pd.to_numeric(tm["n_train"], errors="coerce"),
        value=pd.to_numeric(tm["value"], errors="coerce").astype(float),
    )
    return tm, ""


def aggregate(tm: pd.DataFrame) -> pd.DataFrame:
    """Mean, std, SEM, min, max and seed count per strategy x budget x eval_set x metric."""
    g = tm.groupby(["strategy", "budget", "eval_set", "metric"], sort=True)
    agg = g["value"].agg(mean="mean", std="std", min="min", max="max", n="count").reset_index()
    agg["n_train"] = g["n_train"].mean().to_numpy()
    agg["sem"] = agg["std"] / np.sqrt(agg["n"])
    return agg


# ---------------------------------------------------------------- which data to keep


def _summary_budgets(budgets: list[float]) -> list[tuple[float, str]]:
    """The smallest budget and the one at (or nearest) 50%, with how to name them."""
    smallest = min(budgets)
    mid = min(budgets, key=lambda b: (abs(b - 0.5), b))
    out = [(smallest, f"the smallest budget, {fmt_budget(smallest)} of the training data")]
    if mid != smallest:
        if math.isclose(mid, 0.5, abs_tol=1e-9):
            out.append((mid, f"{fmt_budget(mid)} of the training data"))
        else:
            out.append((mid, f"{fmt_budget(mid)} of the training data, the budget closest to 50%"))
    return out


def _pp(diff: float) -> str:
    return f"{diff * 100:+.1f} pp"


def which_data_findings(agg: pd.DataFrame) -> list[str]:
    """One sentence (safe HTML) per (budget, eval set): best strategy and its margin over random."""
    findings: list[str] = []
    acc = agg[agg["metric"] == "accuracy"]
    for es in ("id_test", "ood_test"):
        sub_es = acc[acc["eval_set"] == es]
        label = eval_label(es)
        if sub_es.empty:
            findings.append(f"No {esc(label)} accuracy has been recorded.")
            continue
        for budget, phrase in _summary_budgets(sorted(sub_es["budget"].dropna().unique().tolist())):
            sub = sub_es[sub_es["budget"] == budget]
            order = order_strategies(sub["strategy"])
            sub = sub.set_index("strategy").loc[order]
            best = str(sub["mean"].idxmax())
            row = sub.loc[best]
            head = (
                f"At {phrase} (n = {fmt_int(row['n_train'])}), <b>{esc(best)}</b> has the best mean "
                f"{esc(label)} accuracy: {fmt_pct(row['mean'])}"
            )
            seeds = f"{int(row['n'])} seed{'s' if int(row['n']) != 1 else ''}"
            if len(sub) == 1:
                findings.append(f"{head} (the only strategy with results here; {seeds}).")
            elif best == BASELINE:
                others = sub.drop(index=BASELINE)
                runner = str(others["mean"].idxmax())
                gap = others.loc[runner, "mean"] - row["mean"]
                findings.append(
                    f"{head}; no strategy beats random here — the best other, <b>{esc(runner)}</b>, "
                    f"is {fmt_pct(others.loc[runner, 'mean'])} ({_pp(gap)}; {seeds})."
                )
            elif BASELINE in sub.index:
                base = sub.loc[BASELINE, "mean"]
                findings.append(f"{head} vs {fmt_pct(base)} for random ({_pp(row['mean'] - base)}; {seeds}).")
            else:
                findings.append(f"{head} (no random baseline in this run to compare with; {seeds}).")
    return findings


# ---------------------------------------------------------------- how much more data


@dataclass
class FitChoice:
    strategy: str | None
    explanation: str  # safe HTML


def choose_fit_strategy(agg: pd.DataFrame | None, fits: pd.DataFrame) -> FitChoice:
    """The strategy with the best mean ID accuracy at the largest budget that has an ok ID fit."""
    ok_id = fits[(fits["eval_set"].astype(str) == "id_test") & (fits["status"].astype(str) == "ok")]
    ok_strategies = set(ok_id["strategy"].astype(str))
    ranking: list[str] = []
    rule = ""
    if agg is not None:
        acc = agg[(agg["metric"] == "accuracy") & (agg["eval_set"] == "id_test")]
        if not acc.empty:
            top = acc["budget"].max()
            at_top = acc[acc["budget"] == top]
            at_top = at_top.set_index("strategy").loc[order_strategies(at_top["strategy"])]
            ranking = at_top["mean"].sort_values(ascending=False, kind="stable").index.tolist()
            rule = f"the strategy with the best mean ID test accuracy at the largest budget ({fmt_budget(top)})"
    if not ranking:
        ranking = order_strategies(fits["strategy"])
        rule = "the first strategy with a fit (no ID accuracy to rank strategies by)"
    for i, strategy in enumerate(ranking):
        if strategy in ok_strategies:
            if i == 0:
                return FitChoice(strategy, f"Extrapolations use the fits for <b>{esc(strategy)}</b>, {rule}.")
            skipped = ", ".join(esc(s) for s in ranking[:i])
            return FitChoice(
                strategy,
                f"Extrapolations use the fits for <b>{esc(strategy)}</b>: ranked by {rule}, "
                f"{skipped} came first but has no successful ID test fit.",
            )
    return FitChoice(None, "No strategy has a successful ID test fit, so nothing can be extrapolated.")


def _fit_row(fits: pd.DataFrame, strategy: str, eval_set: str) -> pd.Series | None:
    sub = fits[(fits["strategy"].astype(str) == strategy) & (fits["eval_set"].astype(str) == eval_set)]
    if sub.empty:
        return None
    err = sub[sub["metric"].astype(str) == "error"]
    return (err if not err.empty else sub).iloc[0]


def _get(row: pd.Series, key: str) -> Any:
    return row[key] if key in row.index and not is_missing(row[key]) else None


def _pct_ci(row: pd.Series, key: str) -> str:
    v, lo, hi = _get(row, key), _get(row, f"{key}_lo"), _get(row, f"{key}_hi")
    if lo is None and hi is None:
        return fmt_pct(v)
    return f"{fmt_pct(v)} [{fmt_pct(lo)}, {fmt_pct(hi)}]"


def how_much_findings(row: pd.Series, eval_set: str, manifest: dict[str, Any] | None) -> str:
    """One paragraph (safe HTML) on predicted error at 2x/4x and data needed for the target."""
    manifest = manifest or {}
    label = esc(eval_label(eval_set))
    status = str(row["status"])
    if status != "ok":
        return f"<b>{label}</b>: the fit failed ({esc(status)}), so there is no extrapolation."
    n_full = _get(row, "n_full")
    if n_full is None:
        n_full = (manifest.get("dataset") or {}).get("n_train")
    n_full = float(n_full) if n_full is not None else None
    at2 = f" (n = {fmt_int(2 * n_full)})" if n_full else ""
    at4 = f" (n = {fmt_int(4 * n_full)})" if n_full else ""
    parts = [
        f"<b>{label} error</b>: at 2× the full training set{at2} the fit predicts {_pct_ci(row, 'pred_2x')}; "
        f"at 4×{at4} {_pct_ci(row, 'pred_4x')}."
    ]
    target = _get(row, "target")
    if target is None:
        target = manifest.get("target_error")
    if target is None:
        parts.append("No target_error was set for this run, so there is no data-needed estimate.")
        return " ".join(parts)
    target = float(target)
    gamma = _get(row, "gamma")
    reachable = _get(row, "reachable")
    n_needed = _get(row, "n_needed")
    if gamma is not None and float(gamma) >= target:
        parts.append(
            f"Target error {fmt_pct(target)}: unreachable: the fitted floor gamma (γ = {fmt_pct(gamma)}) "
            f"is above the target."
        )
    elif (reachable is not None and not bool(reachable)) or n_needed is None or math.isinf(float(n_needed)):
        gamma_lo = _get(row, "gamma_lo")
        why = (
            f"the target is below the lower end of the fitted floor's interval (γ ≥ {fmt_pct(gamma_lo)})"
            if gamma_lo is not None and target < float(gamma_lo)
            else "the fitted curve never gets there (examples needed: ∞)"
        )
        parts.append(f"Target error {fmt_pct(target)}: unreachable: {why}.")
    else:
        lo, hi = _get(row, "n_needed_lo"), _get(row, "n_needed_hi")
        ci = f" [{fmt_int(lo)}, {fmt_int(hi)}]" if lo is not None or hi is not None else ""
        ratio = ""
        if n_full:
            r = float(n_needed) / n_full
            ratio = (
                f" ({r:.1f}× the current {fmt_int(n_full)})"
                if r < 100
                else f" ({fmt_int(r)}× the current {fmt_int(n_full)})"
            )
        parts.append(f"Target error {fmt_pct(target)}: about {fmt_int(n_needed)} examples needed{ci}{ratio}.")
        if n_full and float(n_needed) > 4 * n_full:
            parts.append(
                "That is beyond 4× the full training set, far outside the measured range: a rough guess at best."
            )
    return " ".join(parts)


def summary_html(run: RunData, agg: pd.DataFrame | None, agg_problem: str, extra: str = "") -> str:
    """The two answers as cards, then the findings behind them (safe HTML); ``extra`` goes under the cards."""
    out = [cards_html(run, agg, agg_problem, extra), "<h3>Best strategy by budget and test set</h3>"]
    if agg is None:
        out.append(missing(agg_problem))
    else:
        items = "".join(f"<li>{f}</li>" for f in which_data_findings(agg))
        out.append(f'<ul class="findings">{items}</ul>')
    out.append("<h3>Extrapolation of the fitted learning curves</h3>")
    if run.fits is None:
        out.append(missing(run.why("fits")))
        return "\n".join(out)
    if run.fits.empty:
        out.append(missing("The fits table is empty: no learning curve has been fitted yet."))
        return "\n".join(out)
    choice = choose_fit_strategy(agg, run.fits)
    out.append(f"<p>{choice.explanation}</p>")
    if choice.strategy is None:
        return "\n".join(out)
    items = []
    for es in order_eval_sets(run.fits["eval_set"]):
        row = _fit_row(run.fits, choice.strategy, es)
        if row is not None:
            items.append(f"<li>{how_much_findings(row, es, run.manifest)}</li>")
    out.append(f'<ul class="findings">{"".join(items)}</ul>')
    return "\n".join(out)


# ---------------------------------------------------------------- the two answers, in one line each


def _mid_budget(budgets: list[float]) -> float:
    """The budget a pruning verdict is read at: the one nearest 50%, below the full set when there is one."""
    below = [b for b in budgets if b < 1.0] or budgets
    return min(below, key=lambda b: (abs(b - 0.5), b))


def _sem(x: Any) -> float:
    return 0.0 if is_missing(x) else float(x)


def keep_card(agg: pd.DataFrame | None, problem: str) -> str:
    """'Which data should I keep?' in one sentence (safe HTML), read at the budget nearest 50%."""
    head = "<h3>Which data should I keep?</h3>"
    if agg is None:
        return f'<div class="card keep">{head}<p class="answer">No answer yet.</p>{missing(problem)}</div>'
    acc = agg[agg["metric"] == "accuracy"]
    es = "id_test" if (acc["eval_set"] == "id_test").any() else (order_eval_sets(acc["eval_set"]) or [None])[0]
    sub_es = acc[acc["eval_set"] == es]
    if sub_es.empty:
        return f'<div class="card keep">{head}<p class="answer">No accuracy has been recorded yet.</p></div>'
    budget = _mid_budget(sorted(sub_es["budget"].dropna().unique().tolist()))
    at = sub_es[sub_es["budget"] == budget].set_index("strategy")
    at = at.loc[order_strategies(at.index)]
    best = str(at["mean"].idxmax())
    n_train = fmt_int(at.loc[best, "n_train"])
    where = f"{fmt_budget(budget)} of the training data (n = {n_train})"
    fine = []
    if BASELINE not in at.index or len(at) == 1:
        answer = f"Keep <b>{esc(best)}</b>: the best {esc(eval_label(es))} accuracy at {where}."
        if BASELINE not in at.index:
            fine.append("There is no random baseline in this run to compare with.")
    else:
        others = at.drop(index=BASELINE)
        rival = best if best != BASELINE else str(others["mean"].idxmax())
        diff = float(at.loc[rival, "mean"] - at.loc[BASELINE, "mean"])
        noise = 1.96 * math.hypot(_sem(at.loc[rival, "sem"]), _sem(at.loc[BASELINE, "sem"]))
        ood = _ood_margin(acc, rival, budget)
        if diff > noise and diff > 0:
            answer = (
                f"Keep the examples <b>{esc(rival)}</b> picks: at {where} it beats random by "
                f"<b>{_pp(diff)}</b> {esc(eval_label(es))} accuracy{ood}."
            )
        else:
            answer = (
                f"Keep a <b>random</b> subset: at {where} no strategy beats random by more than seed noise "
                f"(best other: {esc(rival)}, {_pp(diff)} {esc(eval_label(es))}{ood})."
            )
        if noise > 0:
            fine.append(f"± seed noise here: {noise * 100:.1f} pp (1.96 × the standard error of the difference).")
        else:
            fine.append("One seed per point: no estimate of seed noise, so read small margins with caution.")
    full = sub_es[sub_es["budget"] == sub_es["budget"].max()]
    if not full.empty and sub_es["budget"].max() > budget:
        gap = float(full["mean"].max() - at.loc[best, "mean"])
        fine.append(
            f"Training on {fmt_budget(full['budget'].iloc[0])} instead (n = {fmt_int(full['n_train'].max())}) "
            f"{'gains' if gap >= 0 else 'loses'} {abs(gap) * 100:.1f} pp."
        )
    fine_html = f'<p class="fine">{" ".join(fine)}</p>' if fine else ""
    return f'<div class="card keep">{head}<p class="answer">{answer}</p>{fine_html}</div>'


def _ood_margin(acc: pd.DataFrame, strategy: str, budget: float) -> str:
    ood = acc[(acc["eval_set"] == "ood_test") & (acc["budget"] == budget)].set_index("strategy")
    if strategy == BASELINE or strategy not in ood.index or BASELINE not in ood.index:
        return ""
    return f" and {_pp(float(ood.loc[strategy, 'mean'] - ood.loc[BASELINE, 'mean']))} OOD"


def need_card(run: RunData, agg: pd.DataFrame | None) -> str:
    """'How much more data do I need?' in one sentence (safe HTML), from the chosen strategy's ID fit."""
    head = "<h3>How much more data do I need?</h3>"
    fits = run.fits
    if fits is None or fits.empty:
        why = run.why("fits") if fits is None else "The fits table is empty."
        return f'<div class="card">{head}<p class="answer">No learning curve has been fitted.</p>{missing(why)}</div>'
    choice = choose_fit_strategy(agg, fits)
    if choice.strategy is None:
        return f'<div class="card">{head}<p class="answer">No successful fit to extrapolate.</p></div>'
    row = _fit_row(fits, choice.strategy, "id_test")
    if row is None:
        return f'<div class="card">{head}<p class="answer">No ID test fit to extrapolate.</p></div>'
    manifest = run.manifest or {}
    n_full = _get(row, "n_full") or (manifest.get("dataset") or {}).get("n_train")
    n_full = float(n_full) if n_full is not None else None
    target = _get(row, "target")
    target = float(target) if target is not None else manifest.get("target_error")
    n_needed = _get(row, "n_needed")
    reachable = _get(row, "reachable")
    gamma = _get(row, "gamma")
    fine = [f"From the fitted ID learning curve of {esc(choice.strategy)}."]
    if _get(row, "pred_2x") is not None:
        fine.append(
            f"Twice the data{f' (n = {fmt_int(2 * n_full)})' if n_full else ''}: error {_pct_ci(row, 'pred_2x')}."
        )
    if target is None:
        answer = "No target error was set, so there is no data-needed estimate; see the extrapolations below."
    elif (gamma is not None and float(gamma) >= float(target)) or (
        (reachable is not None and not bool(reachable)) or n_needed is None or math.isinf(float(n_needed))
    ):
        answer = (
            f"More of the same data will not reach <b>{fmt_pct(target)}</b> ID error: the fitted curve levels off "
            f"above it{f' (floor γ = {fmt_pct(gamma)})' if gamma is not None else ''}."
        )
    elif n_full and float(n_needed) <= n_full:
        answer = (
            f"You have enough: about <b>{fmt_int(n_needed)}</b> examples reach <b>{fmt_pct(target)}</b> ID error, "
            f"and you have {fmt_int(n_full)}."
        )
    else:
        ratio = (
            f" (<b>{float(n_needed) / n_full:.1f}×</b> the current {fmt_int(n_full)}: "
            f"{fmt_int(float(n_needed) - n_full)} more)"
            if n_full
            else ""
        )
        answer = f"About <b>{fmt_int(n_needed)}</b> examples{ratio} to reach <b>{fmt_pct(target)}</b> ID error."
        lo, hi = _get(row, "n_needed_lo"), _get(row, "n_needed_hi")
        if lo is not None or hi is not None:
            fine.append(f"Bootstrap interval [{fmt_int(lo)}, {fmt_int(hi)}].")
        if n_full and float(n_needed) > 4 * n_full:
            fine.append("Beyond 4× the data you have: a rough extrapolation.")
    return f'<div class="card">{head}<p class="answer">{answer}</p><p class="fine">{" ".join(fine)}</p></div>'


def cards_html(run: RunData, agg: pd.DataFrame | None, agg_problem: str, extra: str = "") -> str:
    """The two headline answers side by side (stacked on a narrow screen)."""
    return f'<div class="cards">{keep_card(agg, agg_problem)}{need_card(run, agg)}</div>{extra}'
