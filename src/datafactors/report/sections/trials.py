"""The "Trials and configuration" section: every trial, failed ones first, and config.yaml."""

from __future__ import annotations

from .._html import esc, fmt_budget, fmt_int, fmt_num, is_missing, missing, table
from .._labels import order_strategies
from .._load import RunData


def trials_html(run: RunData) -> str:
    out = []
    if run.trials is None:
        out.append(missing(run.why("trials")))
    else:
        t = run.trials
        status = t["status"].astype(str)
        n_failed = int((status != "ok").sum())
        s_order = {s: i for i, s in enumerate(order_strategies(t["strategy"]))}
        t = t.assign(_ok=(status == "ok"), _s=t["strategy"].astype(str).map(s_order))
        t = t.sort_values(["_ok", "_s", "budget", "seed"], kind="stable")
        cols = [c for c in t.columns if not c.startswith("_") and c != "error"]
        cols += ["error"] if "error" in t.columns else []
        fmts = {"budget": fmt_budget, "n_train": fmt_int, "seed": fmt_int, "seconds": lambda v: fmt_num(v, 1)}
        rows = [
            [fmts.get(c, lambda v: "" if is_missing(v) else esc(v))(row[c]) for c in cols] for _, row in t.iterrows()
        ]
        cell_cls = {(r, len(cols) - 1): "err" for r in range(len(rows))} if "error" in cols else {}
        row_cls = ["failed" if not ok else "" for ok in t["_ok"]]
        text_cols = [i for i, c in enumerate(cols) if c not in fmts]
        opened = " open" if n_failed else ""
        out.append(
            f"<details{opened}><summary>Trials: {len(t)} recorded, {n_failed} failed</summary>"
            + table(cols, rows, text_cols=text_cols, row_classes=row_cls, cell_classes=cell_cls)
            + "</details>"
        )
    if run.config_text is None:
        out.append(missing(run.why("config")))
    else:
        out.append(
            "<details><summary>Resolved configuration (config.yaml)</summary>"
            f'<pre class="config">{esc(run.config_text)}</pre></details>'
        )
    return "\n".join(out)
