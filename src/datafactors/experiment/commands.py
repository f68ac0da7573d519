"""The library calls behind the ``datafactors`` commands: one function per command.

Each takes what the command line gives (paths, names, numbers), loads and checks the
inputs, runs the method on the right engine and writes the output, returning a small
result object the CLI prints. ``engine="ray"`` on score / select runs the sharded
Ray Data path (a folder of Parquet shards in, a folder of shards out).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from ..dataset import Dataset

Notify = Callable[[str], None]

__all__ = [
    "ProfileResult",
    "ScoreResult",
    "SelectResult",
    "SplitResult",
    "columns_note",
    "load_data",
    "profile_command",
    "query_command",
    "RecipesResult",
    "recipes_command",
    "report_command",
    "score_command",
    "select_command",
    "split_command",
]


@dataclass(frozen=True)
class ScoreResult:
    """What ``score_command`` wrote: ``n_rows`` examples x ``n_scores`` score columns (``n_shards`` on Ray)."""

    out: Path
    n_rows: int
    n_scores: int
    n_shards: int | None = None


@dataclass(frozen=True)
class SelectResult:
    """What ``select_command`` kept: ``n_kept`` of ``n_rows`` examples (``n_shards`` on Ray)."""

    out: Path
    strategy: str
    n_kept: int
    n_rows: int
    n_shards: int | None = None


@dataclass(frozen=True)
class SplitResult:
    """Part sizes (``{"train": 80, "test": 20, ...}``) of the split written to ``out``."""

    out: Path
    counts: dict[str, int]


@dataclass(frozen=True)
class ProfileResult:
    """The profile table (family, factor, key, value, text, note) of dataset ``name``."""

    profile: pd.DataFrame
    name: str
    out: Path | None = None


def columns_note(ds: Dataset) -> str | None:
    """One line saying which table columns became features and which were left out, or None.

    None for data that did not come from a table, or where every column was used.

    Examples
    --------
    >>> ds = Dataset.from_arrays(np.zeros((2, 2)), [0, 1], feature_columns=["a", "b"], left_out_columns=["text"])
    >>> columns_note(ds)
    'features: 2 columns (a, b); left out: text'
    """
    if not ds.left_out_columns or not ds.feature_columns:
        return None
    cols = list(ds.feature_columns)
    shown = ", ".join(cols) if len(cols) <= 4 else f"{cols[0]}..{cols[-1]}"
    noun = "column" if len(cols) == 1 else "columns"
    left = ", ".join(ds.left_out_columns[:10]) + (" ..." if len(ds.left_out_columns) > 10 else "")
    return f"features: {len(cols)} {noun} ({shown}); left out: {left}"


def load_data(data: str, label: str | None = None, *, notify: Notify | None = None) -> Dataset:
    """``datafactors.io.load`` of a built-in name or file, telling ``notify`` which columns it left out."""
    from ..io import load

    ds = load(data, label=label)
    note = columns_note(ds)
    if note is not None and notify is not None:
        notify(note)
    return ds


def _sharded(engine: str, address: str | None) -> bool:
    """True for ``engine="ray"``: a folder of Parquet shards in, a folder of shards out."""
    from ..engines import ENGINES

    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}. Known: {', '.join(ENGINES)}")
    if engine == "local" and address is not None:
        raise ConfigError("--address is only for the ray engine")
    return engine == "ray"


def _write(frame: pd.DataFrame, out: Path) -> None:
    from ..store import atomic_write_parquet

    atomic_write_parquet(frame, out)


def _score_specs(names: Sequence[str] | str, params: Sequence[str]) -> Any:
    """Score names, or ``[(name, params)]`` specs when ``--param`` items are given."""
    listed = [n.strip() for n in names.split(",") if n.strip()] if isinstance(names, str) else list(names)
    if not params:
        return listed
    from .. import scores

    return scores.parse_score_params(listed, list(params))


def score_command(
    data: str,
    names: Sequence[str] | str,
    out: Path,
    *,
    label: str | None = None,
    learner: str = "mlp",
    seeds: int = 3,
    epochs: int = 30,
    seed: int = 0,
    params: Sequence[str] = (),
    engine: str = "local",
    address: str | None = None,
    notify: Notify | None = None,
) -> ScoreResult:
    """Score every example of ``data`` and write a Parquet table keyed by id (Ray: a folder of shards).

    ``seeds`` proxy runs use seeds ``seed, seed + 1, ...``; ``params`` are
    ``SCORER.KEY=VALUE`` items (a bare ``KEY=VALUE`` when one scorer is named).
    """
    out = Path(out)
    if _sharded(engine, address):
        if params:
            raise ConfigError("--param is not available with --engine ray")
        from .sharded import score_shards

        res = score_shards(
            data,
            names,
            out,
            label=label,
            learner=learner,
            seeds=range(seed, seed + seeds),
            epochs=epochs,
            seed=seed,
            address=address,
        )
        return ScoreResult(Path(res.out), int(res.n_out), len(res.columns) - 1, len(res.shards))
    from ..io import check_out_path
    from ..scores import compute

    ds = load_data(data, label, notify=notify)
    check_out_path(out, ".parquet")
    specs = _score_specs(names, params)
    frame = compute(ds, specs, learner=learner, seeds=range(seed, seed + seeds), epochs=epochs, seed=seed)
    frame = frame.reset_index()
    frame["id"] = frame["id"].astype(str)
    _write(frame, out)
    return ScoreResult(out, len(frame), frame.shape[1] - 1)


def _select_params(score: str | None, offset: float | None, params: Sequence[str]) -> dict[str, Any]:
    from .._validation import parse_param_items

    out: dict[str, Any] = {} if score is None else {"score": score}
    if offset is not None:
        out["offset"] = int(offset) if float(offset).is_integer() and offset >= 1 else float(offset)
    out.update(parse_param_items(list(params), flag="--param"))
    return out


def select_command(
    data: str,
    strategy: str,
    budget: str | int | float,
    out: Path,
    *,
    scores: Path | None = None,
    score: str | None = None,
    offset: float | None = None,
    class_balanced: bool = False,
    group_balanced: bool = False,
    embeddings: Path | None = None,
    params: Sequence[str] = (),
    label: str | None = None,
    seed: int = 0,
    engine: str = "local",
    address: str | None = None,
    notify: Notify | None = None,
) -> SelectResult:
    """Select a subset of ``data`` with ``strategy`` and write its ids, row indices and ranks.

    ``budget`` is a count or a fraction (``"3000"``, ``"0.3"``); ``params`` are the
    strategy's ``KEY=VALUE`` options.
    """
    from .._validation import parse_budget
    from ..io import check_out_path, read_embeddings, read_scores

    out = Path(out)
    b = parse_budget(budget) if isinstance(budget, str) else budget
    if _sharded(engine, address):
        if embeddings is not None:
            raise ConfigError("--embeddings is not available with --engine ray")
        kw = _select_params(score, offset, params)
        from .sharded import select_shards

        res = select_shards(
            data,
            strategy,
            b,
            out,
            scores=None if scores is None else read_scores(scores),
            seed=seed,
            class_balanced=class_balanced,
            group_balanced=group_balanced,
            label=label,
            address=address,
            **kw,
        )
        return SelectResult(Path(res.out), strategy, int(res.n_out), int(res.n_rows), len(res.shards))
    from ..select import select

    ds = load_data(data, label, notify=notify)
    check_out_path(out, ".parquet")
    sc = None if scores is None else read_scores(scores)
    kw = _select_params(score, offset, params)
    emb = None if embeddings is None else read_embeddings(embeddings, ds)
    idx = select(
        ds,
        strategy,
        b,
        scores=sc,
        embeddings=emb,
        seed=seed,
        class_balanced=class_balanced,
        group_balanced=group_balanced,
        **kw,
    )
    _write(pd.DataFrame({"id": ds.ids[idx].astype(str), "index": idx, "rank": np.arange(len(idx))}), out)
    return SelectResult(out, strategy, len(idx), ds.n)


def split_command(
    data: str,
    kind: str,
    out: Path,
    *,
    test_size: float = 0.2,
    options: dict[str, tuple[str, Any]] | None = None,
    scores: Path | None = None,
    score: str | None = None,
    label: str | None = None,
    seed: int = 0,
    notify: Notify | None = None,
) -> SplitResult:
    """Assign every example of ``data`` to a part of split ``kind`` and write ``id, part``.

    ``options`` maps a split parameter to ``(flag, value)``; a value of None is not
    given, and a given one the split kind does not take is a ConfigError naming the
    flag. ``scores`` / ``score`` give easy_hard its score (a column of the scores
    file, or of the data).
    """
    from ..io import check_out_path, read_scores
    from ..splits import REGISTRY
    from ..splits import split as make_split

    out = Path(out)
    fn = REGISTRY.get(kind)
    ds = load_data(data, label, notify=notify)
    check_out_path(out, ".parquet")
    given = dict(options or {})
    flag, holdout = given.get("holdout", ("--holdout", None))
    if isinstance(holdout, str):  # comma-separated on the command line
        given["holdout"] = (flag, [h.strip() for h in holdout.split(",") if h.strip()])
    if scores is not None:
        sc = read_scores(scores)
        col = score or next((c for c in sc.columns if c not in ("id", "label")), None)
        if col is None or col not in sc.columns:
            raise DataError(f"score column {col!r} not in {scores}; columns are: {', '.join(map(str, sc.columns))}")
        given["score"] = ("--score/--scores", sc.set_index("id")[col].rename(col))
    elif score is not None:
        given["score"] = ("--score/--scores", score)
    accepted = set(inspect.signature(fn).parameters)
    params = {}
    for key, (flag, value) in given.items():
        if value is None:
            continue
        if key not in accepted:
            raise ConfigError(f"{flag} does not apply to split kind {kind!r}")
        params[key] = value
    sp = make_split(ds, kind, seed=seed, test_size=test_size, **params)
    frame = pd.DataFrame({"id": ds.ids.astype(str), "part": sp.assignments(ds.n)})
    _write(frame, out)
    return SplitResult(out, {str(k): int(v) for k, v in frame["part"].value_counts().items()})


def _load_text(data: str, label: str | None, embed: str | None, notify: Notify | None) -> Dataset:
    if embed is None:
        try:
            return load_data(data, label, notify=notify)
        except DataError as e:
            if "no numeric feature columns" in str(e):
                raise DataError(f"{e}; or pass --embed <text column> to embed the text") from None
            raise
    from ..featurize import read_text_table
    from ..io import BUILTINS

    if data in BUILTINS:
        raise DataError(f"--embed needs a file with a text column; {data!r} is a built-in without text")
    return read_text_table(data, embed, label=label)


def profile_command(
    data: str,
    *,
    label: str | None = None,
    embed: str | None = None,
    text: str | None = None,
    out: Path | None = None,
    test: str | None = None,
    scores: Path | None = None,
    licence: str | None = None,
    families: str | None = None,
    near_duplicate_threshold: float = 0.95,
    seed: int = 0,
    notify: Notify | None = None,
) -> ProfileResult:
    """Measure the dataset-level factors of ``data`` (and write them to ``out`` when given).

    ``embed`` names a text column to embed as the features; ``text`` one to count
    vocabulary and concepts of without embedding.
    """
    from ..factors import profile
    from ..io import check_out_path, read_scores

    if out is not None:
        out = check_out_path(out, ".parquet")
    if embed is not None and text is not None and embed != text:
        raise DataError(f"--embed {embed} and --text {text} name different columns; give one")
    ds = _load_text(data, label, embed, notify)
    test_ds = None if test is None else _load_text(test, label, embed, None)
    sc = None if scores is None else read_scores(scores)
    prof = profile(
        ds,
        text=embed or text,
        test=test_ds,
        scores=sc,
        licence=licence,
        families=families,
        near_duplicate_threshold=near_duplicate_threshold,
        seed=seed,
    )
    if out is not None:
        _write(prof, out)
    return ProfileResult(prof, ds.name, out)


def report_command(run_dir: Path) -> Path:
    """(Re)build ``report.html`` of a run folder from its stored results; returns its path."""
    from ..store import RunStore
    from .runner import rebuild_report

    RunStore(run_dir).manifest()
    return Path(rebuild_report(run_dir))


def query_command(run_dir: Path, sql: str) -> pd.DataFrame:
    """Rows of ``sql`` over a run's results and Parquet tables, in a session that cannot reach outside the run."""
    from ..store import query_run

    return query_run(run_dir, sql)


@dataclass(frozen=True)
class RecipesResult:
    """The recipes run, where their verdicts were saved and the rebuilt report (when ``run_dir`` was given)."""

    results: list[Any]
    verdicts: Path | None = None
    report: Path | None = None


def recipes_command(
    name: str,
    *,
    seed: int = 0,
    quick: bool = False,
    run_dir: Path | None = None,
    on_result: Callable[[Any], None] | None = None,
    running: Callable[[str], Any] | None = None,
) -> RecipesResult:
    """Run recipe ``name`` (or ``"all"``); with ``run_dir``, save each verdict as it finishes and rebuild the report.

    ``on_result(result)`` is called after each recipe (so an interrupted ``all`` has shown and
    saved what finished); ``running(name)`` may return a context manager shown while it runs.
    """
    import contextlib
    import time

    from ..recipes import REGISTRY, save_verdicts
    from ..recipes import run as run_recipe

    if run_dir is not None and not Path(run_dir).is_dir():
        raise DataError(f"--run {run_dir} is not a run folder (no such directory)")
    names = REGISTRY.names() if name == "all" else [REGISTRY.get(name) and name]
    results = []
    for n in names:
        t0 = time.perf_counter()
        with running(n) if running is not None else contextlib.nullcontext():
            res = run_recipe(n, seed=seed, quick=quick)
        seconds = time.perf_counter() - t0
        results.append(res)
        if on_result is not None:
            on_result(res)
        if run_dir is not None:
            save_verdicts(res, run_dir, seed=seed, quick=quick, seconds={n: seconds})
    if run_dir is None:
        return RecipesResult(results)
    from ..recipes import VERDICTS_FILE

    report = None
    if (Path(run_dir) / "manifest.json").is_file():
        from .runner import rebuild_report

        report = rebuild_report(run_dir)
    return RecipesResult(results, Path(run_dir) / VERDICTS_FILE, report)
