"""Rich progress bars for the runner's stages (a Reporter); silent with quiet=True."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RichReporter:
    def __init__(self, console: Console | None = None, quiet: bool = False) -> None:
        self.console = console or Console(stderr=True)
        self.quiet = quiet
        self._progress: Progress | None = None
        self._task = None

    def _ensure(self) -> Progress:
        if self._progress is None:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=self.console,
                disable=self.quiet,
            )
            self._progress.start()
        return self._progress

    def stage(self, name: str, total: int | None = None) -> None:
        p = self._ensure()
        if self._task is not None:
            t = p.tasks[-1]
            if t.total is None:
                p.update(self._task, total=1, completed=1)
        self._task = p.add_task(name, total=total)

    def advance(self, n: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)

    def log(self, msg: str) -> None:
        if not self.quiet:
            self.console.print(msg)

    def done(self) -> None:
        if self._progress is not None:
            if self._task is not None and self._progress.tasks[-1].total is None:
                self._progress.update(self._task, total=1, completed=1)
            self._progress.stop()
            self._progress = None
            self._task = None
