"""Rich renderings of what the commands return (closing summary, profile, query rows, recipes).

Printing only: every number shown here was computed by the library; nothing is derived.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, SpinnerColumn, Task, TextColumn
from rich.table import Table
from rich.text import Text


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


class _IfTotal(ProgressColumn):
    """Render ``column`` only for tasks with a total (the encoding bar), nothing for the spinner line."""

    def __init__(self, column: ProgressColumn) -> None:
        super().__init__()
        self.column = column

    def render(self, task: Task) -> Any:
        return self.column.render(task) if task.total is not None else Text("")


class _Rate(ProgressColumn):
    """Texts per second of a counted task."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if task.total is None or speed is None:
            return Text("")
        return Text(f"{speed:,.0f} texts/s", style="cyan")


class Activity:
    """A spinner line for a command, plus a bar with texts/s while text is encoded.

    ``progress(done, total)`` is the callback the featurize stage calls; one Rich display
    holds both lines (Rich allows one live display at a time). Silent with ``quiet`` or when
    the console is not a terminal.

    Examples
    --------
    >>> with Activity(Console(quiet=True), "scoring", quiet=True) as act:
    ...     act.progress(5, 10)
    """

    def __init__(self, console: Console, text: str, *, quiet: bool = False) -> None:
        self.text = text
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            _IfTotal(BarColumn()),
            _IfTotal(MofNCompleteColumn()),
            _Rate(),
            console=console,
            disable=quiet or not console.is_terminal,  # no bar frames in a log file
            transient=True,
        )
        self._encode: Any = None

    def __enter__(self) -> Activity:
        self._progress.start()
        self._progress.add_task(self.text, total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def progress(self, done: int, total: int) -> None:
        if self._encode is None:
            self._encode = self._progress.add_task("encoding texts", total=total)
        self._progress.update(self._encode, completed=done, total=total)
