"""The "Metrics by strategy and budget" section: mean ± std over seeds from the aggregates table."""

from __future__ import annotations

import math

import pandas as pd

from .._figures import fig_html, metrics_small_multiples
from .._html import esc, fmt_budget, fmt_int, fmt_num, is_missing, missing, note, table
from .._labels import HIGHER_IS_BETTER, eval_label, order_eval_sets, order_metrics, order_strategies


def _mean_std(row: pd.Series, digits: int = 3) -> str:
    if row["n"] >= 2 and not is_missing(row["std"]):
        return f"{fmt_num(row['mean'], digits)} ± {fmt_num(row['std'], digits)}"
    return fmt_num(row["mean"], digits)


def metrics_html(agg: pd.DataFrame | None, problem: str) -> str:
    if agg is None:
        return missing(problem)
    out = [
        note(
            "Each metric against the budget, one line per strategy (mean ± standard deviation over "
            "seeds); the numbers are in the table folded below each plot, where bold marks the best "
            "strategy at that budget (highest accuracy; lowest NLL, Brier and ECE)."
        )
    ]
    for k, es in enumerate(order_eval_sets(["id_test", "ood_test", *agg["eval_set"]])):
        sub = agg[agg["eval_set"] == es]
        out.append(f"<h3>{esc(eval_label(es))}</h3>")
        if sub.empty:
            out.append(missing(f"No {eval_label(es)} metrics have been recorded."))
            continue
        metrics = order_metrics(sub["metric"])
        wide = {m: sub[sub["metric"] == m].set_index(["budget", "strategy"]) for m in metrics}
        keys = sub[["budget", "strategy"]].drop_duplicates()
        s_order = {s: i for i, s in enumerate(order_strategies(keys["strategy"]))}
        keys = keys.assign(_s=keys["strategy"].map(s_order)).sort_values(["budget", "_s"])
        headers = ["Budget", "n train", "Strategy", "Seeds", *metrics]
        best: dict[tuple[float, str], float] = {}
        for m in metrics:
            if m in HIGHER_IS_BETTER:
                g = wide[m]["mean"].groupby(level="budget")
                best_vals = g.max() if HIGHER_IS_BETTER[m] else g.min()
                for b, v in best_vals.items():
                    best[(b, m)] = v
        rows, cell_cls = [], {}
        for r, (b, s) in enumerate(zip(keys["budget"], keys["strategy"], strict=True)):
            cells, n_train, seeds = [], "—", "—"
            for c, m in enumerate(metrics):
                w = wide[m]
                if (b, s) not in w.index:
                    cells.append("—")
                    continue
                row = w.loc[(b, s)]
                n_train, seeds = fmt_int(row["n_train"]), str(int(row["n"]))
                cells.append(_mean_std(row))
                if (b, m) in best and math.isclose(row["mean"], best[(b, m)], rel_tol=0, abs_tol=1e-12):
                    cell_cls[(r, 4 + c)] = "best"
            rows.append([fmt_budget(b), n_train, esc(s), seeds, *cells])
        out.append(fig_html(metrics_small_multiples(sub, metrics, es), f"fig-metrics-{k}"))
        out.append(
            f"<details><summary>Table: {esc(eval_label(es))} metrics by strategy and budget</summary>"
            + table(headers, rows, text_cols=(2,), cell_classes=cell_cls)
            + "</details>"
        )
    return "\n".join(out)
