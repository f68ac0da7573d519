"""Assemble report.html from a run folder, one section at a time."""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.offline

from .._errors import DataError
from ._calibration_extra import calibration_scaling_html, strategy_comparison_html
from ._figures import (
    CARTOGRAPHY_COLUMNS,
    band_description,
    cartography_figure,
    fig_html,
    learning_curve_figure,
    reliability_bins,
    reliability_figure,
    score_columns,
    score_histograms,
    score_stats,
    strategy_colors,
)
from ._html import (
    esc,
    fmt_budget,
    fmt_ci,
    fmt_int,
    fmt_num,
    is_missing,
    missing,
    note,
    page,
    section,
    table,
)
from ._load import RunData, load_run
from ._profile_extra import profile_html
from ._recipes_extra import recipes_html, verdict_counts
from ._scores_extra import correlations_html
from ._summary import (
    HIGHER_IS_BETTER,
    aggregate,
    eval_label,
    order_eval_sets,
    order_metrics,
    order_strategies,
    summary_html,
    trial_metrics,
)

# (id, title, short label in the table of contents), in the order a reader asks the questions.
SECTIONS = (
    ("summary", "Summary", "Summary"),
    ("learning-curves", "Learning curves", "Learning curves"),
    ("fits", "Scaling fits", "Fits"),
    ("strategy-comparison", "Strategy comparison by fitted curves", "Strategy comparison"),
    ("metrics", "Metrics by strategy and budget", "Metrics"),
    ("cartography", "Data map (dataset cartography)", "Data map"),
    ("scores", "Score distributions", "Scores"),
    ("correlations", "Score correlations", "Correlations"),
    ("calibration", "Calibration of the full-data model", "Reliability"),
    ("calibration-scaling", "Calibration before and after temperature scaling", "Temperature scaling"),
    ("profile", "Dataset profile", "Profile"),
    ("recipes", "Recipe verdicts", "Recipes"),
    ("trials", "Trials and configuration", "Trials"),
)
RUN_FILES = (
    "manifest.json",
    "config.yaml",
    "results.duckdb",
    "scores.parquet",
    "selections.parquet",
    "predictions.parquet",
)
RUN_FILES_OPTIONAL = ("profile.parquet", "recipes.json")


# ---------------------------------------------------------------- header


def protocol_sentence(manifest: dict[str, Any]) -> str:
    """Say plainly whether training used fixed epochs or DataComp's fixed samples seen (safe HTML)."""
    protocol = manifest.get("protocol")
    epochs = manifest.get("epochs")
    desc = manifest.get("protocol_description")
    if protocol == "fixed-epochs":
        n = f" ({esc(epochs)})" if epochs is not None else ""
        short = f"<b>Fixed epochs</b>{n}, not DataComp's fixed samples seen."
        long = "Every subset was trained for the same number of epochs, so smaller subsets got fewer gradient steps."
    elif protocol == "fixed-samples-seen":
        short = "<b>Fixed samples seen</b> (DataComp's protocol), not fixed epochs."
        long = (
            "Every subset was trained on the same total number of examples seen, so smaller subsets were repeated "
            "for more epochs and compute is equal across budgets."
        )
    elif protocol is None:
        return "The manifest does not say which training protocol was used." + (f" {esc(desc)}" if desc else "")
    else:
        short, long = f"Training protocol: {esc(protocol)}.", ""
    return f"{short} {esc(desc) if desc else long}".strip()


def _dataset_text(ds: Any) -> str:
    if not isinstance(ds, dict):
        return esc(ds) if ds is not None else "—"
    parts = []
    for key, word in (
        ("n_train", "train"),
        ("n_test", "ID test"),
        ("n_ood", "OOD test"),
        ("n_features", "features"),
        ("n_classes", "classes"),
    ):
        if ds.get(key) is not None:
            parts.append(f"{fmt_int(ds[key])} {word}")
    name = f"<b>{esc(ds.get('name', 'unnamed'))}</b>"
    return name + (f" ({', '.join(parts)})" if parts else "")


def _lede(run: RunData) -> str:
    """One line under the title: dataset, learner, protocol, seeds, trials (safe HTML)."""
    m = run.manifest or {}
    parts = []
    ds = m.get("dataset")
    if ds is not None:
        parts.append(_dataset_text(ds))
    if m.get("learner"):
        parts.append(f"learner <b>{esc(m['learner'])}</b>")
    protocol = m.get("protocol")
    if protocol == "fixed-epochs":
        parts.append(f"fixed epochs ({esc(m['epochs'])})" if m.get("epochs") is not None else "fixed epochs")
    elif protocol:
        parts.append(esc(str(protocol).replace("-", " ")))
    seeds = m.get("seeds") or []
    if seeds:
        parts.append(f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''}")
    if run.trials is not None:
        n_failed = int((run.trials["status"].astype(str) != "ok").sum())
        parts.append(f"{fmt_int(len(run.trials))} trials" + (f", {n_failed} failed" if n_failed else ""))
    if m.get("created"):
        parts.append(esc(m["created"]))
    return " · ".join(parts)


def header_html(run: RunData) -> str:
    m = run.manifest or {}
    run_id = m.get("run_id") or run.run_dir.name
    rows: list[tuple[str, str]] = [
        ("Date", esc(m.get("created", "—"))),
        ("Dataset", _dataset_text(m.get("dataset"))),
        ("Learner", esc(m.get("learner", "—"))),
        ("Training protocol", protocol_sentence(m)),
        ("OOD test set", esc(m.get("ood_description") or "—")),
        ("Seeds", esc(", ".join(str(s) for s in m.get("seeds", [])) or "—")),
        ("Target error", fmt_num(m.get("target_error")) if m.get("target_error") is not None else "none set"),
        ("datafactors version", esc(m.get("version", "—"))),
        ("Git revision", f"<code>{esc(m.get('git_rev', '—'))}</code>"),
        ("Run folder", f"<code>{esc(run.run_dir)}</code>"),
        ("Report built", esc(dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))),
    ]
    absent = [f for f in RUN_FILES if not (run.run_dir / f).exists()]
    if absent:
        rows.append(("Missing files", esc(", ".join(absent))))
    meta = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in rows)
    banners = []
    if run.manifest is None:
        banners.append(f'<div class="banner error">{esc(run.why("manifest"))}</div>')
    elif m.get("status") != "complete":
        banners.append(
            f'<div class="banner warn">This run is not complete (status: {esc(m.get("status", "unknown"))}); '
            "the report shows what has been recorded so far.</div>"
        )
    if run.trials is not None:
        n_failed = int((run.trials["status"].astype(str) != "ok").sum())
        if n_failed:
            banners.append(
                f'<div class="banner error">{n_failed} of {len(run.trials)} trials failed; '
                'see <a href="#trials">Trials</a> for their errors.</div>'
            )
    lede = _lede(run)
    return (
        f'<header class="run"><h1>datafactors report: {esc(run_id)}</h1>'
        + (f'<p class="lede">{lede}</p>' if lede else "")
        + "".join(banners)
        + f'<details class="meta"><summary>Run details (protocol, OOD set, seeds, version)</summary>'
        f'<dl class="meta">{meta}</dl></details></header>'
    )


def nav_html() -> str:
    """The sticky table of contents; it wraps onto a second line on narrow screens."""
    links = "".join(f'<a href="#{sid}">{esc(short)}</a>' for sid, _, short in SECTIONS)
    return f'<nav class="toc" aria-label="Sections">{links}</nav>'


# ---------------------------------------------------------------- sections


def _n_full(run: RunData) -> float | None:
    if run.fits is not None and "n_full" in run.fits.columns:
        v = pd.to_numeric(run.fits["n_full"], errors="coerce").dropna()
        if not v.empty:
            return float(v.max())
    ds = (run.manifest or {}).get("dataset")
    if isinstance(ds, dict) and ds.get("n_train") is not None:
        return float(ds["n_train"])
    return None


def learning_curves_html(run: RunData, agg: pd.DataFrame | None, problem: str) -> str:
    if agg is None:
        return missing(problem)
    acc = agg[agg["metric"] == "accuracy"]
    if acc.empty:
        return missing("No accuracy metric has been recorded, so there are no learning curves.")
    colors = strategy_colors(order_strategies(agg["strategy"]))
    curves = run.curve_points
    n_full = _n_full(run)
    out = [
        note(
            f"Points: mean error over seeds; shaded band: {esc(band_description(acc))}. "
            "Dashed lines: the fitted power law with its bootstrap band, extended to 4× the full training set "
            "(shaded, right of the dotted line: extrapolation)."
        )
    ]
    if curves is None:
        out.append(missing(f"No fitted curves: {run.why('curve_points')}"))
    figs = []
    for es in order_eval_sets(["id_test", "ood_test", *acc["eval_set"]]):
        fig = learning_curve_figure(agg, curves, es, colors, n_full)
        if fig is None:
            figs.append(missing(f"No {eval_label(es)} accuracy has been recorded."))
        else:
            figs.append(fig_html(fig, f"fig-learning-{es}"))
    out.append(f'<div class="grid2">{"".join(figs)}</div>')
    return "\n".join(out)


def _ci_cell(row: pd.Series, key: str, fmt=fmt_num) -> str:
    lo = row.get(f"{key}_lo")
    hi = row.get(f"{key}_hi")
    return fmt_ci(row.get(key), lo, hi, fmt)


def fits_html(run: RunData) -> str:
    if run.fits is None:
        return missing(run.why("fits"))
    fits = run.fits
    if fits.empty:
        return missing("The fits table is empty: no learning curve has been fitted yet.")
    out = [
        note(
            "Power law err(n) = α·n<sup>β</sup> + γ (β &lt; 0) fitted to the measured errors; brackets are "
            "bootstrap intervals. γ is the error floor the curve approaches with unlimited data of this kind."
        )
    ]
    headers = [
        "Strategy",
        "Eval set",
        "Metric",
        "α",
        "β",
        "γ (floor)",
        "Points",
        "n full",
        "Error at 2×",
        "Error at 4×",
        "Target",
        "n needed",
        "Reachable",
        "Status",
    ]
    e_order = {e: i for i, e in enumerate(order_eval_sets(fits["eval_set"]))}
    s_order = {s: i for i, s in enumerate(order_strategies(fits["strategy"]))}
    fits = fits.assign(_e=fits["eval_set"].astype(str).map(e_order), _s=fits["strategy"].astype(str).map(s_order))
    rows, cell_cls = [], {}
    for r, (_, row) in enumerate(fits.sort_values(["_e", "_s"], kind="stable").iterrows()):
        reach = row.get("reachable")
        status = str(row["status"])
        rows.append(
            [
                esc(row["strategy"]),
                esc(eval_label(str(row["eval_set"]))),
                esc(row["metric"]),
                _ci_cell(row, "alpha"),
                _ci_cell(row, "beta"),
                _ci_cell(row, "gamma"),
                fmt_int(row.get("n_points")),
                fmt_int(row.get("n_full")),
                _ci_cell(row, "pred_2x"),
                _ci_cell(row, "pred_4x"),
                fmt_num(row.get("target")),
                _ci_cell(row, "n_needed", fmt_int),
                "—" if is_missing(reach) else ("yes" if bool(reach) else "no"),
                esc(status),
            ]
        )
        if status != "ok":
            cell_cls[(r, len(headers) - 1)] = "err"
    out.append(table(headers, rows, text_cols=(0, 1, 2), cell_classes=cell_cls))
    return "\n".join(out)


def _mean_std(row: pd.Series, digits: int = 3) -> str:
    if row["n"] >= 2 and not is_missing(row["std"]):
        return f"{fmt_num(row['mean'], digits)} ± {fmt_num(row['std'], digits)}"
    return fmt_num(row["mean"], digits)


def metrics_html(agg: pd.DataFrame | None, problem: str) -> str:
    if agg is None:
        return missing(problem)
    out = [
        note(
            "Mean ± standard deviation over seeds (one value when a cell has a single seed). "
            "Bold: the best strategy at that budget (highest accuracy; lowest NLL, Brier and ECE)."
        )
    ]
    for es in order_eval_sets(["id_test", "ood_test", *agg["eval_set"]]):
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
        out.append(table(headers, rows, text_cols=(2,), cell_classes=cell_cls))
    return "\n".join(out)


def scores_html(run: RunData) -> str:
    if run.scores is None:
        return missing(run.why("scores"))
    cols = score_columns(run.scores)
    if not cols:
        return missing("scores.parquet has no numeric score column besides id and label.")
    stats = score_stats(run.scores, cols)
    rows = []
    for _, r in stats.iterrows():
        inf = fmt_int(r["n_posinf"]) + (" (never learned)" if r["score"] == "forgetting" and r["n_posinf"] else "")
        rows.append(
            [
                esc(r["score"]),
                fmt_int(r["n_finite"]),
                inf,
                fmt_int(r["n_nan"]),
                fmt_num(r["min"]),
                fmt_num(r["median"]),
                fmt_num(r["max"]),
            ]
        )
    return "\n".join(
        [
            note(
                f"{len(run.scores):,} examples. Histograms show finite values; +∞ (for forgetting: examples the "
                "model never learned) is counted in each subplot title and in the table."
            ),
            fig_html(score_histograms(run.scores, cols), "fig-score-histograms"),
            table(["Score", "Finite", "+∞", "Missing", "Min", "Median", "Max"], rows),
        ]
    )


def cartography_html(run: RunData) -> str:
    if run.scores is None:
        return missing(run.why("scores"))
    lacking = [c for c in CARTOGRAPHY_COLUMNS if c not in run.scores.columns]
    if lacking:
        return missing(f"scores.parquet lacks the cartography column(s) {', '.join(lacking)}, so there is no data map.")
    fig, dropped = cartography_figure(run.scores, score_columns(run.scores))
    text = (
        "Each point is a training example (Swayamdipta et al., 2020): high confidence and low variability = "
        "easy to learn; low confidence and low variability = hard to learn (often mislabeled); high variability = "
        "ambiguous. Hover for the example's id, label and every score."
    )
    if dropped:
        text += f" {dropped} example(s) without a finite variability or confidence are not drawn."
    return note(esc(text)) + "\n" + fig_html(fig, "fig-cartography")


def calibration_html(run: RunData) -> str:
    if run.predictions is None:
        return missing(f"No reliability diagram: {run.why('predictions')}")
    pred = run.predictions
    prob_cols = sorted((c for c in pred.columns if c.startswith("prob_") and c[5:].isdigit()), key=lambda c: int(c[5:]))
    if not prob_cols:
        return missing("predictions.parquet has no prob_0 ... prob_{C-1} columns.")
    out = [
        note(
            "Predictions of the model trained on the full training set (seed 0). Bars: accuracy of the examples whose "
            "top-class confidence falls in each of 15 equal-width bins; diamonds: their mean confidence; a calibrated "
            "model's bars meet the diagonal. ECE is the count-weighted mean gap."
        )
    ]
    figs = []
    for es in order_eval_sets(pred["eval_set"].astype(str)):
        sub = pred[pred["eval_set"].astype(str) == es]
        labels = pd.to_numeric(sub["label"], errors="coerce").to_numpy(float)
        ok = np.isfinite(labels) & (labels >= 0) & (labels < len(prob_cols))
        if not ok.any():
            figs.append(missing(f"{eval_label(es)}: no label is a class index in 0..{len(prob_cols) - 1}."))
            continue
        bins = reliability_bins(sub[prob_cols].to_numpy(float)[ok], labels[ok].astype(int))
        figs.append(fig_html(reliability_figure(bins, es), f"fig-reliability-{es}"))
        if (~ok).any():
            figs.append(missing(f"{eval_label(es)}: {int((~ok).sum())} row(s) with an invalid label were left out."))
    out.append(f'<div class="grid2">{"".join(figs)}</div>')
    return "\n".join(out)


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


# ---------------------------------------------------------------- entry point


def render(run: RunData) -> str:
    """The complete report document for a loaded run."""
    tm, problem = trial_metrics(run)
    agg = aggregate(tm) if tm is not None else None
    counts = verdict_counts(run)
    recipes_line = (
        note(
            f'Paper findings re-checked for this run: <b>{counts[0]} of {counts[1]}</b> held (<a href="#recipes">Recipe verdicts</a>).'
        )
        if counts
        else ""
    )
    bodies = {
        "summary": summary_html(run, agg, problem, recipes_line),
        "learning-curves": learning_curves_html(run, agg, problem),
        "fits": fits_html(run),
        "strategy-comparison": strategy_comparison_html(run),
        "metrics": metrics_html(agg, problem),
        "profile": profile_html(run),
        "scores": scores_html(run),
        "correlations": correlations_html(run),
        "cartography": cartography_html(run),
        "calibration": calibration_html(run),
        "calibration-scaling": calibration_scaling_html(run),
        "recipes": recipes_html(run),
        "trials": trials_html(run),
    }
    run_id = (run.manifest or {}).get("run_id") or run.run_dir.name
    return page(
        f"datafactors report: {run_id}",
        plotly.offline.get_plotlyjs(),
        header_html(run),
        [section(sid, title, bodies[sid]) for sid, title, _ in SECTIONS],
        nav_html(),
    )


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build_report(run_dir: str | os.PathLike[str]) -> Path:
    """Write ``run_dir/report.html``: one self-contained page that opens offline.

    Reads what the run folder holds (manifest.json, config.yaml, results.duckdb,
    scores.parquet, predictions.parquet); a missing or unreadable
    part becomes a note in its section, so an unfinished or partly failed run still
    gets a report. The file is written to a temporary name and moved into place.

    Parameters
    ----------
    run_dir : path of a run folder, such as ``runs/<run-id>``.

    Returns
    -------
    Path of the written ``report.html``.

    Examples
    --------
    >>> from datafactors.report import build_report
    >>> build_report("runs/2024-05-01-mnist1d")  # doctest: +SKIP
    PosixPath('runs/2024-05-01-mnist1d/report.html')
    """
    run_path = Path(run_dir)
    if not run_path.is_dir():
        raise DataError(f"run_dir {str(run_path)!r} is not a directory; expected a run folder such as runs/<run-id>")
    doc = render(load_run(run_path))
    out = run_path / "report.html"
    _write_atomic(out, doc)
    return out
