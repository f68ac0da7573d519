"""Assemble report.html from a run folder, one section at a time (each drawn by its module in ``sections/``).

The report renders what the run folder holds; every number shown was derived by the
analysis stage (``datafactors.analysis``) and stored, never recomputed here.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import plotly.offline

from .._atomic import atomic_write_text
from .._errors import DataError
from ._html import esc, fmt_int, fmt_num, note, page, section
from ._load import RunData, load_run, successful_aggregates
from .sections.calibration import calibration_html, calibration_scaling_html
from .sections.cartography import cartography_html
from .sections.comparison import strategy_comparison_html
from .sections.correlations import correlations_html
from .sections.curves import learning_curves_html
from .sections.examples import examples_html
from .sections.fits import fits_html
from .sections.metrics import metrics_html
from .sections.profile import profile_html
from .sections.recipes import recipes_html, verdict_counts
from .sections.scores import scores_html
from .sections.summary import summary_html
from .sections.trials import trials_html

# (id, title, short label in the table of contents), in the order a reader asks the questions.
SECTIONS = (
    ("summary", "Summary", "Summary"),
    ("learning-curves", "Learning curves", "Learning curves"),
    ("fits", "Scaling fits", "Fits"),
    ("strategy-comparison", "Strategy comparison by fitted curves", "Strategy comparison"),
    ("metrics", "Metrics by strategy and budget", "Metrics"),
    ("cartography", "Data map (dataset cartography)", "Data map"),
    ("examples", "Examples", "Examples"),
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


def nav_html(absent: frozenset[str] = frozenset()) -> str:
    """The sticky table of contents (without the ``absent`` sections); it wraps onto a second line on narrow screens."""
    links = "".join(f'<a href="#{sid}">{esc(short)}</a>' for sid, _, short in SECTIONS if sid not in absent)
    return f'<nav class="toc" aria-label="Sections">{links}</nav>'


# ---------------------------------------------------------------- entry point


def render(run: RunData) -> str:
    """The complete report document for a loaded run."""
    agg, problem = successful_aggregates(run)
    counts = verdict_counts(run)
    recipes_line = (
        note(
            f'Paper findings re-checked for this run: <b>{counts[0]} of {counts[1]}</b> held (<a href="#recipes">Recipe verdicts</a>).'
        )
        if counts
        else ""
    )
    bodies = {
        "summary": summary_html(run, problem, recipes_line),
        "learning-curves": learning_curves_html(run, agg, problem),
        "fits": fits_html(run),
        "strategy-comparison": strategy_comparison_html(run),
        "metrics": metrics_html(agg, problem),
        "profile": profile_html(run),
        "scores": scores_html(run),
        "correlations": correlations_html(run),
        "cartography": cartography_html(run),
        "examples": examples_html(run),
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
        # A section whose body is None has nothing to show for this run (no examples.parquet) and is left out.
        [section(sid, title, bodies[sid]) for sid, title, _ in SECTIONS if bodies[sid] is not None],
        nav_html(frozenset(sid for sid, body in bodies.items() if body is None)),
    )


def build_report(run_dir: str | os.PathLike[str]) -> Path:
    """Write ``run_dir/report.html``: one self-contained page that opens offline.

    Reads what the run folder holds (manifest.json, config.yaml, results.duckdb with the
    tables the analysis stage derived, scores.parquet, predictions.parquet); a missing,
    unreadable or not yet computed part becomes a note in its section, so an unfinished or partly failed run still
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
    atomic_write_text(out, doc, fsync=True)
    return out
