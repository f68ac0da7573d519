"""Rich renderings of what the commands return (closing summary, profile, query rows, recipes).

Printing only: every number shown here was computed by the library; nothing is derived.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table


def print_summary(summary: pd.DataFrame, name: str, console: Console) -> None:
    """The closing table of a run: one row per budget and eval set, full strategy names.

    ``summary`` has the columns of :func:`datafactors.analysis.closing_summary` (``budget,
    eval_set, best, accuracy, random``); a null ``best`` (no strategy differs from the rest)
    prints as "all equal". Names too long for the terminal are shown as short keys (S1,
    S2, ...) with a legend below, so nothing is cut.
    """
    s = summary
    names = sorted({str(b) for b in s["best"] if not pd.isna(b)}) if len(s) else []
    longest = max((len(n) for n in names), default=9)
    legend = longest > max(12, console.width - 36)
    keys = {n: f"S{i + 1}" for i, n in enumerate(names)} if legend else {n: n for n in names}
    table = Table(title=f"Mean accuracy over seeds — {name}", header_style="bold cyan")
    table.add_column("budget", justify="right", no_wrap=True)
    table.add_column("eval set", no_wrap=True)
    table.add_column("best", style="green", no_wrap=True, min_width=9 if legend else max(longest, 9))
    table.add_column("acc", justify="right", no_wrap=True)
    table.add_column("random", justify="right", style="dim", no_wrap=True)
    for r in s.itertuples(index=False):
        best = "[dim]all equal[/dim]" if pd.isna(r.best) else keys[str(r.best)]
        rnd = "-" if pd.isna(r.random) else f"{r.random:.3f}"
        table.add_row(f"{r.budget:.0%}", str(r.eval_set), best, f"{r.accuracy:.3f}", rnd)
    console.print(table)
    for n, k in keys.items() if legend else ():
        console.print(f"  {k} = {n}", highlight=False, soft_wrap=True)


def print_profile(prof: pd.DataFrame, name: str, console: Console) -> None:
    """The profile table grouped by family; the notes column only on a wide terminal (always in --out)."""
    with_notes = console.width >= 120
    with_text = bool((prof["text"] != "").any())
    table = Table(title=f"Profile of {name}", header_style="bold cyan")
    table.add_column("factor", no_wrap=True)
    table.add_column("key", overflow="fold", max_width=28)
    table.add_column("value", justify="right", no_wrap=True)
    if with_text:
        table.add_column("", overflow="fold", max_width=16)
    if with_notes:
        table.add_column("note", style="dim", overflow="fold")
    for fam, g in prof.groupby("family", sort=False):
        table.add_row(f"[bold magenta]{fam}[/bold magenta]")
        for r in g.itertuples(index=False):
            v = r.value
            cells = [f"  {r.factor}", r.key, "—" if (isinstance(v, float) and math.isnan(v)) else f"{v:.4g}"]
            cells += [r.text] if with_text else []
            cells += [r.note] if with_notes else []
            table.add_row(*cells)
    console.print(table)


def print_frame(frame: pd.DataFrame, console: Console) -> None:
    """Rows of a query result; floats to 4 significant digits."""
    table = Table(header_style="bold cyan")
    for c in frame.columns:
        table.add_column(str(c))
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)


def print_recipes(recipes: Sequence[Any], console: Console) -> None:
    """name / paper / claim of each registered recipe."""
    table = Table(header_style="bold cyan")
    table.add_column("name")
    table.add_column("paper")
    table.add_column("claim")
    for r in recipes:
        table.add_row(r.name, r.paper, r.claim)
    console.print(table)


def print_recipe_result(res: Any, console: Console) -> None:
    """One recipe's verdict, its claim and what it measured."""
    verdict = "[green]held[/green]" if res.held else "[red]not held[/red]"
    console.print(f"[bold]{res.name}[/bold] — {verdict}\n  claim: {res.claim}")
    for k, v in res.measured.items():
        console.print(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}")
