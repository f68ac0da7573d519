"""The "Summary" section: the two answers (which data to keep, how much more data) and the findings behind them.

Renders the ``summary`` table the analysis stage writes (see :mod:`datafactors.analysis.summary`)
and the ``fits`` rows it points at; nothing here picks a strategy or computes a margin.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .._html import esc, fmt_budget, fmt_int, fmt_pct, is_missing, missing
from .._labels import BASELINE, eval_label, order_eval_sets
from .._load import RunData


def _rows(summary: pd.DataFrame | None, kind: str) -> pd.DataFrame:
    if summary is None or summary.empty:
        return pd.DataFrame(columns=["kind"])
    return summary[summary["kind"].astype(str) == kind]


def _val(row: pd.Series, key: str) -> Any:
    v = row.get(key)
    return None if is_missing(v) else v


# ---------------------------------------------------------------- which data to keep


def _budget_phrase(budget: float, role: str) -> str:
    if role == "smallest":
        return f"the smallest budget, {fmt_budget(budget)} of the training data"
    if role == "mid":
        return f"{fmt_budget(budget)} of the training data"
    return f"{fmt_budget(budget)} of the training data, the budget closest to 50%"


def _pp(diff: float) -> str:
    return f"{diff * 100:+.1f} pp"


def which_data_findings(summary: pd.DataFrame | None) -> list[str]:
    """One sentence (safe HTML) per (budget, eval set) of the summary's "best" rows."""
    findings: list[str] = []
    best = _rows(summary, "best")
    for es in ("id_test", "ood_test"):
        label = eval_label(es)
        sub = best[best["eval_set"].astype(str) == es] if not best.empty else best
        if sub.empty:
            findings.append(f"No {esc(label)} accuracy has been recorded.")
            continue
        for _, r in sub.iterrows():
            head = (
                f"At {_budget_phrase(float(r['budget']), str(r['role']))} (n = {fmt_int(r['n_train'])}), "
                f"<b>{esc(r['strategy'])}</b> has the best mean {esc(label)} accuracy: {fmt_pct(r['mean'])}"
            )
            n = int(r["n"])
            seeds = f"{n} seed{'s' if n != 1 else ''}"
            if int(r["n_strategies"]) == 1:
                findings.append(f"{head} (the only strategy with results here; {seeds}).")
            elif str(r["strategy"]) == BASELINE:
                gap = float(r["rival_mean"]) - float(r["mean"])
                findings.append(
                    f"{head}; no strategy beats random here — the best other, <b>{esc(r['rival'])}</b>, "
                    f"is {fmt_pct(r['rival_mean'])} ({_pp(gap)}; {seeds})."
                )
            elif _val(r, "baseline_mean") is not None:
                base = float(r["baseline_mean"])
                findings.append(f"{head} vs {fmt_pct(base)} for random ({_pp(float(r['mean']) - base)}; {seeds}).")
            else:
                findings.append(f"{head} (no random baseline in this run to compare with; {seeds}).")
    return findings


def keep_card(summary: pd.DataFrame | None, problem: str) -> str:
    """'Which data should I keep?' in one sentence (safe HTML), from the summary's "keep" row."""
    head = "<h3>Which data should I keep?</h3>"
    if summary is None:
        return f'<div class="card keep">{head}<p class="answer">No answer yet.</p>{missing(problem)}</div>'
    rows = _rows(summary, "keep")
    if rows.empty:
        return f'<div class="card keep">{head}<p class="answer">No accuracy has been recorded yet.</p></div>'
    r = rows.iloc[0]
    es, best = str(r["eval_set"]), str(r["strategy"])
    where = f"{fmt_budget(r['budget'])} of the training data (n = {fmt_int(r['n_train'])})"
    fine = []
    rival = _val(r, "rival")
    if rival is None:
        answer = f"Keep <b>{esc(best)}</b>: the best {esc(eval_label(es))} accuracy at {where}."
        if _val(r, "baseline_mean") is None:
            fine.append("There is no random baseline in this run to compare with.")
    else:
        diff, noise = float(r["diff"]), float(r["noise"])
        ood_diff = _val(r, "ood_diff")
        ood = f" and {_pp(float(ood_diff))} OOD" if ood_diff is not None else ""
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
    if _val(r, "full_gap") is not None:
        gap = float(r["full_gap"])
        fine.append(
            f"Training on {fmt_budget(r['full_budget'])} instead (n = {fmt_int(r['full_n'])}) "
            f"{'gains' if gap >= 0 else 'loses'} {abs(gap) * 100:.1f} pp."
        )
    fine_html = f'<p class="fine">{" ".join(fine)}</p>' if fine else ""
    return f'<div class="card keep">{head}<p class="answer">{answer}</p>{fine_html}</div>'


# ---------------------------------------------------------------- how much more data


def fit_choice(summary: pd.DataFrame | None) -> tuple[str | None, str]:
    """The strategy whose fits are extrapolated and the sentence saying why (safe HTML)."""
    rows = _rows(summary, "need")
    if rows.empty:
        return None, "No strategy has been chosen for extrapolation (the summary table has no such row)."
    r = rows.iloc[0]
    strategy = _val(r, "strategy")
    if strategy is None:
        return None, "No strategy has a successful ID test fit, so nothing can be extrapolated."
    rule = (
        f"the strategy with the best mean ID test accuracy at the largest budget ({fmt_budget(r['budget'])})"
        if str(r["role"]) == "accuracy"
        else "the first strategy with a fit (no ID accuracy to rank strategies by)"
    )
    skipped = _val(r, "skipped")
    if not skipped:
        return str(strategy), f"Extrapolations use the fits for <b>{esc(strategy)}</b>, {rule}."
    return str(strategy), (
        f"Extrapolations use the fits for <b>{esc(strategy)}</b>: ranked by {rule}, "
        f"{esc(skipped)} came first but has no successful ID test fit."
    )


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


def need_card(run: RunData) -> str:
    """'How much more data do I need?' in one sentence (safe HTML), from the chosen strategy's ID fit."""
    head = "<h3>How much more data do I need?</h3>"
    fits = run.fits
    if fits is None or fits.empty:
        why = run.why("fits") if fits is None else "The fits table is empty."
        return f'<div class="card">{head}<p class="answer">No learning curve has been fitted.</p>{missing(why)}</div>'
    strategy, _ = fit_choice(run.summary)
    if strategy is None:
        return f'<div class="card">{head}<p class="answer">No successful fit to extrapolate.</p></div>'
    row = _fit_row(fits, strategy, "id_test")
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
    fine = [f"From the fitted ID learning curve of {esc(strategy)}."]
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


def cards_html(run: RunData, summary: pd.DataFrame | None, agg_problem: str, extra: str = "") -> str:
    """The two headline answers side by side (stacked on a narrow screen)."""
    return f'<div class="cards">{keep_card(summary, agg_problem)}{need_card(run)}</div>{extra}'


def summary_html(run: RunData, agg_problem: str, extra: str = "") -> str:
    """The two answers as cards, then the findings behind them (safe HTML); ``extra`` goes under the cards.

    ``agg_problem`` is why there are no aggregated results ("" when there are).
    """
    if agg_problem:
        summary, problem = None, agg_problem
    elif run.summary is None:
        summary, problem = None, run.why("summary")
    else:
        summary, problem = run.summary, ""
    out = [cards_html(run, summary, problem, extra), "<h3>Best strategy by budget and test set</h3>"]
    if summary is None:
        out.append(missing(problem))
    else:
        items = "".join(f"<li>{f}</li>" for f in which_data_findings(summary))
        out.append(f'<ul class="findings">{items}</ul>')
    out.append("<h3>Extrapolation of the fitted learning curves</h3>")
    if run.fits is None:
        out.append(missing(run.why("fits")))
        return "\n".join(out)
    if run.fits.empty:
        out.append(missing("The fits table is empty: no learning curve has been fitted yet."))
        return "\n".join(out)
    strategy, explanation = fit_choice(run.summary)
    out.append(f"<p>{explanation}</p>")
    if strategy is None:
        return "\n".join(out)
    items = []
    for es in order_eval_sets(run.fits["eval_set"]):
        row = _fit_row(run.fits, strategy, es)
        if row is not None:
            items.append(f"<li>{how_much_findings(row, es, run.manifest)}</li>")
    out.append(f'<ul class="findings">{"".join(items)}</ul>')
    from ...analysis.backtest import backtest_summary

    for es in order_eval_sets(run.backtest["eval_set"]) if run.backtest is not None else ():
        line = backtest_summary(run.backtest, es)
        if line:
            out.append(f'<p class="backtest">{esc(eval_label(es))}. {esc(line)}</p>')
    return "\n".join(out)
