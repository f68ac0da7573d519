"""Rich renderings of what the commands return (closing summary, profile, query rows, recipes, examples).

Printing only: every number shown here was computed by the library; nothing is derived.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
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
    if s.attrs.get("backtest"):
        console.print(s.attrs["backtest"], highlight=False, soft_wrap=True)


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
    """name / paper / claim / negative control of each registered recipe."""
    table = Table(header_style="bold cyan")
    table.add_column("name")
    table.add_column("paper")
    table.add_column("claim")
    table.add_column("negative control")
    for r in recipes:
        table.add_row(escape(r.name), escape(r.paper), escape(r.claim), escape(getattr(r, "control", "") or "-"))
    console.print(table)


def print_recipe_result(res: Any, console: Console) -> None:
    """One recipe's verdict, its claim, each effect with its interval, and what it measured."""
    verdict = "[green]held[/green]" if res.held else "[red]not held[/red]"
    if getattr(res, "is_control", False):
        console.print(f"[bold]{escape(res.name)}[/bold] negative control ({escape(str(res.control))}) — {verdict}")
    else:
        console.print(f"[bold]{escape(res.name)}[/bold] — {verdict}\n  claim: {escape(str(res.claim))}")
        if getattr(res, "claim_part", ""):
            console.print(f"  checked: {escape(str(res.claim_part))}")
    for e in getattr(res, "effects", None) or []:
        console.print(f"  {e}", markup=False)
    for k, v in res.measured.items():
        console.print(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}", markup=False)
    seeds = getattr(res, "seeds", None)
    secs = getattr(res, "seconds", None)
    tail = []
    if seeds:
        tail.append(f"seeds {', '.join(map(str, seeds))}")
    if secs is not None:
        tail.append(f"{secs:.1f} s")
    if tail:
        console.print(f"  ({'; '.join(tail)})")


def print_scoreboard(board: Any, console: Console) -> None:
    """The recipes scoreboard: each claim row with its control row, effect with interval, verdicts, seconds."""
    if board is None or len(board) == 0:
        return
    table = Table(title="Scoreboard", header_style="bold cyan")
    for col in ("recipe", "run", "claim part", "effect [90% interval]", "verdict", "control", "seeds", "s"):
        table.add_column(col, overflow="fold")
    for r in board.itertuples():
        verdict = "[green]held[/green]" if r.verdict == "held" else "[red]not held[/red]"
        cv = r.control_verdict
        if cv.startswith("HELD"):
            cv = f"[red]{cv}[/red]"
        secs = "" if r.seconds is None or r.seconds != r.seconds else f"{r.seconds:.0f}"
        table.add_row(
            r.recipe, r.run, escape(str(r.claim_part)), escape(str(r.effect)), verdict, cv, str(r.seeds), secs
        )
    console.print(table)


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


# ---------------------------------------------------------------- examples (datafactors show)

SHADES = " ░▒▓█"
SPARKS = "▁▂▃▄▅▆▇█"
THUMB_WIDTH = 16  # characters of an image thumbnail
SPARK_WIDTH = 24  # characters of a signal's sparkline (at most)


def _pool(a: Any, by: int, bx: int) -> Any:
    """Mean over ``by`` x ``bx`` blocks of a 2-D array (edge blocks over the pixels they hold)."""
    import numpy as np

    h, w = a.shape
    H, W = -(-h // by) * by, -(-w // bx) * bx
    padded = np.full((H, W), np.nan)
    padded[:h, :w] = a
    return np.nanmean(padded.reshape(H // by, by, W // bx, bx), axis=(1, 3))


def thumbnail(pixels: Any, shape: Sequence[int], width: int = THUMB_WIDTH) -> str:
    """An image (values in [0, 1]) as lines of grey-level blocks, at most ``width`` characters wide.

    A terminal cell is about twice as tall as wide, so an image up to ``width / 2`` pixels wide
    gets two characters per pixel and one line per pixel row; a wider one is averaged over
    blocks of ``b`` x ``2b`` pixels per character.

    Examples
    --------
    >>> thumbnail([0, 1, 1, 0], (2, 2)).splitlines()
    ['  ██', '██  ']
    """
    import numpy as np

    a = np.asarray(pixels, dtype=np.float64).reshape(tuple(int(s) for s in shape))
    if a.ndim == 3:
        a = a[..., :3] @ np.array([0.299, 0.587, 0.114]) if a.shape[2] >= 3 else a[..., 0]
    h, w = a.shape
    if 2 * w <= width:
        cells, repeat = a, 2
    else:
        b = -(-w // width)
        cells, repeat = _pool(a, 2 * b, b), 1
    idx = np.clip(np.rint(np.nan_to_num(cells) * (len(SHADES) - 1)), 0, len(SHADES) - 1).astype(int)
    return "\n".join("".join(SHADES[i] * repeat for i in row) for row in idx)


def sparkline(values: Any, width: int = SPARK_WIDTH) -> str:
    """A 1-D signal as one line of ``▁▂▃▄▅▆▇█``, averaged into at most ``width`` characters.

    Examples
    --------
    >>> sparkline([0, 1, 2, 3])
    '▁▃▆█'
    """
    import numpy as np

    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return ""
    if v.size > width:
        v = _pool(v[None, :], 1, -(-v.size // width))[0]
    lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
    scaled = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    idx = np.clip(np.rint(np.nan_to_num(scaled) * (len(SPARKS) - 1)), 0, len(SPARKS) - 1).astype(int)
    return "".join(SPARKS[i] for i in idx)


def _short_value(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, float):
        return "+∞" if v == math.inf else "-∞" if v == -math.inf else f"{v:.4g}"
    return str(v)


def _pairs(text: Any) -> str:
    """``k=v  k=v`` of a JSON object (None values left out); "" for None."""
    import json

    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    try:
        obj = json.loads(text)
    except (TypeError, ValueError):
        return str(text)
    if not isinstance(obj, dict):
        return str(obj)
    return "  ".join(f"{k}={_short_value(v)}" for k, v in obj.items() if v is not None)


def _present(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def draw_example(row: Any) -> str:
    """What an example looks like in a terminal cell: its text, thumbnail, sparkline or feature values."""
    kind = getattr(row, "kind", None)
    if kind == "text" and _present(getattr(row, "text", None)):
        return " ".join(str(row.text).split())
    if kind == "image" and _present(getattr(row, "pixels", None)) and _present(getattr(row, "shape", None)):
        return thumbnail(row.pixels, row.shape)
    if kind == "signal" and _present(getattr(row, "signal", None)):
        return sparkline(row.signal)
    if _present(getattr(row, "features", None)):
        return _pairs(row.features)
    return "(not drawn)"


def print_examples(frame: pd.DataFrame, console: Console, title: str | None = None) -> None:
    """The rows of ``df.report.examples``: rank, id, label, value, the example drawn, and its detail.

    Texts stay on one line, cut to the terminal width with an ellipsis; images are block
    thumbnails (:func:`thumbnail`), 1-D signals sparklines (:func:`sparkline`), other rows
    ``column=value`` pairs.
    """
    title = title or frame.attrs.get("title") or frame.attrs.get("view")
    key = frame.attrs.get("view")
    table = Table(
        title=f"{title}  [dim]({key})[/dim]" if key and key != title else title,
        header_style="bold cyan",
        show_lines="image" in (set(frame["kind"].dropna()) if "kind" in frame.columns else set()),
    )
    table.add_column("rank", justify="right", no_wrap=True)
    table.add_column("id", no_wrap=True, overflow="ellipsis", max_width=24)
    table.add_column("label", no_wrap=True, overflow="ellipsis", max_width=16)
    table.add_column("value", justify="right", no_wrap=True)
    kinds = set(frame["kind"].dropna()) if "kind" in frame.columns else set()
    one_line = not ({"image"} & kinds)
    rows = list(frame.itertuples(index=False))
    drawn = [draw_example(r) for r in rows]
    # thumbnails and sparklines are never cut; texts and feature values are
    whole = [
        len(line)
        for d, r in zip(drawn, rows, strict=True)
        if getattr(r, "kind", None) in ("image", "signal")
        for line in d.split("\n")
    ]
    # a wrapable column, so Rich narrows it to the terminal; each one-line cell then ends in an ellipsis
    table.add_column("example", overflow="ellipsis" if one_line else "fold", ratio=3, min_width=max([16, *whole]))
    details = [_pairs(d) for d in frame["detail"]] if "detail" in frame.columns else []
    with_detail = any(details)
    if with_detail:
        table.add_column("detail", style="dim", overflow="fold", ratio=2, max_width=36)
    for i, row in enumerate(rows):
        label = getattr(row, "label", None)
        cells = [
            str(row.rank),
            str(row.id),
            _short_value(label) if _present(label) else "—",
            _short_value(row.value),
            Text(drawn[i], no_wrap=one_line, overflow="ellipsis" if one_line else "fold"),
        ]
        if with_detail:
            cells.append(details[i])
        table.add_row(*cells)
    console.print(table)


def print_views(views: pd.DataFrame, console: Console) -> None:
    """The example views of a run (``df.report.list_views``): key, title, examples listed."""
    table = Table(title="Example views (datafactors show RUN --view KEY)", header_style="bold cyan")
    table.add_column("view", no_wrap=True)
    table.add_column("title")
    table.add_column("n", justify="right", no_wrap=True)
    for r in views.itertuples(index=False):
        table.add_row(str(r.view), str(r.title), str(r.n))
    console.print(table)
