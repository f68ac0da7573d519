"""Self-contained HTML report of a run folder: summary, learning curves, fits, scores, calibration.

:func:`examples` returns the examples behind one view of a run (the hardest by a score, the
never learned, a cartography region, ...) as a DataFrame; :func:`list_views` lists the views.
``datafactors show RUN`` prints the same.

>>> from datafactors.report import build_report
>>> build_report("runs/my-run")  # doctest: +SKIP
PosixPath('runs/my-run/report.html')
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pandas as pd

from .._errors import ConfigError, DataError
from ._build import build_report

__all__ = ["VIEW_NAMES", "build_report", "examples", "list_views"]

# Short view names; each stands for one or more stored view keys (hardest -> hardest/<score>, ...).
VIEW_NAMES = (
    "hardest",
    "easiest",
    "never_learned",
    "cartography",
    "label_issues",
    "duplicates",
    "outliers",
    "dropped",
    "kept",
)
_PARAM = {"hardest": "score", "easiest": "score", "cartography": "region", "outliers": "method"}
_WHY_ABSENT = {
    "never_learned": "no example has forgetting = +inf (or the run has no forgetting score)",
    "label_issues": "the run has no label_quality score",
    "duplicates": "the run has no duplicates.parquet (no minhash_dedup strategy) or no cluster",
}


def _example_tables(run: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(example_views, examples) of a run folder; DataError when it is not one or predates them."""
    import pyarrow as pa

    from ..store import RunStore

    path = Path(run)
    if not path.is_dir():
        raise DataError(f"run {str(path)!r} is not a folder; expected a run folder such as runs/<run-id>")
    RunStore(path).manifest()  # DataError when it is not a run folder
    files = [path / "example_views.parquet", path / "examples.parquet"]
    if not all(f.is_file() for f in files):
        raise DataError(
            f"{path} has no examples.parquet: the run predates the example views or could not build them; "
            f"`datafactors run --resume {path}` adds them"
        )
    try:
        views, rows = (pd.read_parquet(f) for f in files)
    except (OSError, ValueError, pa.ArrowException) as e:
        raise DataError(f"cannot read the example tables of {path}: {e}") from None
    return views, rows


def list_views(run: str | Path) -> pd.DataFrame:
    """The example views a run has: columns ``view`` (key), ``title`` and ``n`` (examples listed).

    Examples
    --------
    >>> import datafactors as df
    >>> df.report.list_views("runs/my-run").head(1)  # doctest: +SKIP
               view            title   n
    0  hardest/el2n  Hardest by el2n  50
    """
    views, _ = _example_tables(run)
    g = views.groupby("view", sort=False)
    return pd.DataFrame({"view": list(g.groups), "title": g["title"].first().to_numpy(), "n": g.size().to_numpy()})


def _suggest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(str(name), options, n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""


def _budget_value(budget: Any) -> float:
    text = str(budget).strip()
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ConfigError(f"budget == {budget!r}, must be a number such as 0.25, 25% or 3000") from None


def _pick(view: str, param: str, value: Any, options: list[str], keys: list[str]) -> str:
    """The option ``value`` names (or the only option); else ConfigError listing the options."""
    if value is not None:
        if str(value) in options:
            return str(value)
        listed = ", ".join(options) if options else "(none in this run)"
        raise ConfigError(
            f"no {view!r} view for {param} {value!r}.{_suggest(str(value), options)} Available {param}s: {listed}"
        )
    if len(options) == 1:
        return options[0]
    if not options:
        raise ConfigError(f"this run has no {view!r} view. Available views: {', '.join(keys)}")
    raise ConfigError(f"view {view!r} needs {param}= (--{param}); available: {', '.join(options)}")


def _resolve(keys: list[str], view: str, score: Any, region: Any, strategy: Any, budget: Any) -> str:
    """The stored view key that ``view`` and its options name."""
    if view in keys:
        return view
    if view in _PARAM:
        value = {"score": score, "region": region}.get(_PARAM[view])
        options = [k.split("/", 1)[1] for k in keys if k.startswith(f"{view}/")]
        return f"{view}/{_pick(view, _PARAM[view], value, options, keys)}"
    if view in ("dropped", "kept"):
        prefix = f"{view}_vs_random/"
        pairs = [k[len(prefix) :].rsplit("/", 1) for k in keys if k.startswith(prefix)]
        st = _pick(view, "strategy", strategy, list(dict.fromkeys(p[0] for p in pairs)), keys)
        budgets = [b for s, b in pairs if s == st]
        if budget is not None:
            want = _budget_value(budget)
            same = [b for b in budgets if abs(float(b) - want) < 1e-12]
            budget = same[0] if same else budget
        return f"{prefix}{st}/{_pick(view, 'budget', budget, budgets, keys)}"
    if view in _WHY_ABSENT:
        raise ConfigError(f"this run has no {view!r} view: {_WHY_ABSENT[view]}. Available views: {', '.join(keys)}")
    raise ConfigError(
        f"unknown view {view!r}.{_suggest(view, list(VIEW_NAMES) + keys)} Views: {', '.join(VIEW_NAMES)}; "
        f"in this run: {', '.join(keys) or '(none)'}"
    )


def examples(
    run: str | Path,
    view: str = "hardest",
    score: str | None = None,
    top: int = 10,
    *,
    region: str | None = None,
    strategy: str | None = None,
    budget: float | str | None = None,
) -> pd.DataFrame:
    """The examples behind one view of a run, in rank order, with everything known about each.

    Parameters
    ----------
    run : a run folder (``runs/<run-id>``) written with its example tables (examples.parquet).
    view : "hardest", "easiest" (with ``score``), "never_learned", "cartography" (with
        ``region``: "hard-to-learn", "ambiguous", "easy"), "label_issues", "duplicates",
        "outliers", "dropped" / "kept" (what ``strategy`` at ``budget`` dropped / kept that
        random kept / dropped), or a stored key such as ``"hardest/el2n"`` (see :func:`list_views`).
        An option the run has only one value for (one strategy, one budget) need not be named.
    score, region, strategy, budget : which view of that name (``budget`` as stored: 0.25, 3000, "25%").
    top : how many examples (at most those stored: the top 200 by default).

    Returns
    -------
    DataFrame with ``rank``, ``id``, ``value`` (what ranks it), ``detail`` (JSON or None) and
    the columns of examples.parquet (label, kind, text, pixels, shape, signal, features, the
    data's own columns, every score); ``attrs`` hold ``view`` (the key), ``title``, ``summary``
    (a one-row frame: view, title, n_listed, n_shown, value_min, value_max) and ``info``
    (a dict: view, title, run, top_stored, the run's view keys) -- the same shape for every view.

    Raises
    ------
    ConfigError
        For an unknown view, score, region, strategy or budget (the available ones are listed).
    DataError
        When ``run`` is not a run folder or has no example tables (written before they existed).

    Examples
    --------
    >>> import datafactors as df
    >>> df.report.examples("runs/my-run", view="hardest", score="el2n", top=3)[["rank", "id", "value"]]  # doctest: +SKIP
       rank        id     value
    0     0  digit-17  1.201934
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ConfigError(f"top == {top!r}, must be an int >= 1")
    if not isinstance(view, str) or not view:
        raise ConfigError(f"view == {view!r}, must be one of {', '.join(VIEW_NAMES)} or a view key")
    views, rows = _example_tables(run)
    keys = list(dict.fromkeys(views["view"].astype(str)))
    key = _resolve(keys, view, score, region, strategy, budget)
    sub = views[views["view"].astype(str) == key].sort_values("rank", kind="stable").head(top)
    out = sub[["rank", "id", "value", "detail"]].astype({"id": str}).reset_index(drop=True)
    rows = rows.assign(id=rows["id"].astype(str)).drop_duplicates("id")
    out = out.merge(rows, on="id", how="left", validate="many_to_one")
    title = str(sub["title"].iloc[0]) if len(sub) else key
    n_listed = int((views["view"].astype(str) == key).sum())
    values = pd.to_numeric(out["value"], errors="coerce")
    summary = pd.DataFrame(
        {"view": [key], "title": [title], "n_listed": [n_listed], "n_shown": [len(out)],
         "value_min": [values.min()], "value_max": [values.max()]}
    )  # fmt: skip
    info = {"view": key, "title": title, "run": str(run), "top_stored": n_listed, "views": keys}
    # One shape for every view (STYLE.md): the frame, a one-row summary and an info dict.
    out.attrs = {"view": key, "title": title, "summary": summary, "info": info}
    return out
