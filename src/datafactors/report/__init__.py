"""Self-contained HTML report of a run folder: summary, learning curves, fits, scores, calibration.

>>> from datafactors.report import build_report
>>> build_report("runs/my-run")  # doctest: +SKIP
PosixPath('runs/my-run/report.html')
"""

from __future__ import annotations

from ._build import build_report

__all__ = ["build_report"]
