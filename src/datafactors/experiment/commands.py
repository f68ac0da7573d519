"""The library calls behind the ``datafactors`` commands: one function per command.

Each takes what the command line gives (paths, names, numbers), loads and checks the
inputs, runs the method on the right engine and writes the output, returning a small
result object the CLI prints. ``engine="ray"`` on score / select runs the sharded
Ray Data path (a folder of Parquet shards in, a folder of shards out).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from ..dataset import Dataset

Notify = Callable[[str], None]

__all__ = [
    "AugmentResult",
    "ProfileResult",
    "ScoreResult",
    "SelectResult",
    "SplitResult",
    "augment_command",
    "columns_note",
    "read_target",
    "embedding_note",
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
    written: tuple[Path, ...] = ()


@dataclass(frozen=True)
class SplitResult:
    """Part sizes (``{"train": 80, "test": 20, ...}``) of the split written to ``out``."""

    out: Path
    counts: dict[str, int]


@dataclass(frozen=True)
class AugmentResult:
    """What ``augment_command`` wrote: ``n_new`` rows made by ``name`` from ``n_rows`` (``n_out`` in the file)."""

    out: Path
    name: str
    n_rows: int
    n_new: int
    n_out: int


@dataclass(frozen=True)
class ProfileResult:
    """The profile table (family, factor, key, value, text, note) of dataset ``name``."""

    profile: pd.DataFrame
    name: str
    out: Path | None = None


def columns_note(ds: Dataset) -> str | None:
    """One line saying which table columns became features and which were left out, or None.

    None where every column was used and the data have labels; an unlabeled pool
    always gets a note ("no label column: an unlabeled pool").

    Examples
    --------
    >>> ds = Dataset.from_arrays(np.zeros((2, 2)), [0, 1], feature_columns=["a", "b"], left_out_columns=["text"])
    >>> columns_note(ds)
    'features: 2 columns (a, b); left out: text'
    >>> columns_note(Dataset.from_arrays(np.zeros((2, 2))))
    'no label column: an unlabeled pool'
    """
    parts = [] if ds.has_labels else ["no label column: an unlabeled pool"]
    if ds.left_out_columns and ds.feature_columns:
        cols = list(ds.feature_columns)
        shown = ", ".join(cols) if len(cols) <= 4 else f"{cols[0]}..{cols[-1]}"
        noun = "column" if len(cols) == 1 else "columns"
        left = ", ".join(ds.left_out_columns[:10]) + (" ..." if len(ds.left_out_columns) > 10 else "")
        parts.append(f"features: {len(cols)} {noun} ({shown}); left out: {left}")
    return "; ".join(parts) or None


def embedding_note(meta: dict[str, Any] | None) -> str | None:
    """One line on how text became features: encoder, revision, max length, truncated and cached counts.

    ``meta`` is ``Dataset.embedding`` (None for data that were not embedded: then None).

    Examples
    --------
    >>> embedding_note({"encoder": "all-MiniLM-L6-v2", "revision": "c9745ed", "max_seq_length": 256,
    ...                 "n_truncated": 2, "n_cached": 290, "n_encoded": 10, "seconds": 0.5})
    'encoder all-MiniLM-L6-v2 (revision c9745ed), max 256 tokens: 2 of 300 texts truncated; 290 from the cache, 10 encoded (20 texts/s)'
    """
    if not meta:
        return None
    n_cached, n_encoded = int(meta.get("n_cached", 0)), int(meta.get("n_encoded", 0))
    seconds = float(meta.get("seconds") or 0.0)
    rate = f" ({n_encoded / seconds:,.0f} texts/s)" if n_encoded and seconds > 0 else ""
    return (
        f"encoder {meta.get('encoder', '?')} (revision {meta.get('revision', '?')}), "
        f"max {meta.get('max_seq_length', '?')} tokens: {int(meta.get('n_truncated', 0))} of "
        f"{n_cached + n_encoded} texts truncated; {n_cached} from the cache, {n_encoded} encoded{rate}"
    )


Progress = Callable[[int, int], None]


def load_data(
    data: str,
    label: str | None = None,
    *,
    text: str | None = None,
    text_backend: str = "torch",
    notify: Notify | None = None,
    progress: Progress | None = None,
) -> Dataset:
    """``datafactors.io.load`` of a built-in name or file, telling ``notify`` which columns it left out.

    ``text`` names the column that is the example: it is embedded with the offline sentence
    encoder (``progress(done, total)`` is called as texts are encoded) and ``notify`` is told
    the encoder, its revision and how many texts were truncated or read from the cache.
    """
    from ..io import BUILTINS, load

    if text is None:
        ds = load(data, label=label)
    else:
        if data in BUILTINS:
            raise DataError(f"--text needs a file with a text column; {data!r} is a built-in without text")
        if label is not None and label == text:
            raise DataError(f"--text {text} is also the --label column; the text and the label must differ")
        ds = load(data, label=label, text=text, progress=progress, backend=text_backend)
    for note in (columns_note(ds), embedding_note(getattr(ds, "embedding", None))):
        if note is not None and notify is not None:
            notify(note)
    return ds


# --out of a local selection: Parquet, or the text formats a curator reads (the same id, index, rank table).
_SELECTION_FORMATS = (".parquet", ".jsonl", ".csv", ".tsv")


def _sharded(engine: str, address: str | None) -> bool:
    """True for ``engine="ray"``: a folder of Parquet shards in, a folder of shards out."""
    from ..engines import ENGINES

    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}. Known: {', '.join(ENGINES)}")
    if engine == "local" and address is not None:
        raise ConfigError("--address is only for the ray engine")
    return engine == "ray"


def _text_kwargs(fn: Callable[..., Any], text: str | None) -> dict[str, Any]:
    """``{"text": text}`` for a sharded driver that takes it; --text where it does not is a ConfigError."""
    if text is None:
        return {}
    if "text" not in inspect.signature(fn).parameters:
        raise ConfigError(f"--text {text} is not available with --engine ray; use the local engine")
    return {"text": text}


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
    text: str | None = None,
    text_backend: str = "torch",
    notify: Notify | None = None,
    progress: Progress | None = None,
) -> ScoreResult:
    """Score every example of ``data`` and write a Parquet table keyed by id (Ray: a folder of shards).

    ``seeds`` proxy runs use seeds ``seed, seed + 1, ...``; ``params`` are
    ``SCORER.KEY=VALUE`` items (a bare ``KEY=VALUE`` when one scorer is named). ``text``
    names the text column to embed as the features (see :func:`load_data`).
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
            **_text_kwargs(score_shards, text),
            **({"text_backend": text_backend} if text is not None else {}),
        )
        return ScoreResult(Path(res.out), int(res.n_out), len(res.columns) - 1, len(res.shards))
    from ..io import check_out_path
    from ..scores import compute

    ds = load_data(data, label, text=text, text_backend=text_backend, notify=notify, progress=progress)
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
    budget: str | int | float | None,
    out: Path | None = None,
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
    text: str | None = None,
    text_backend: str = "torch",
    export: Path | None = None,
    order: str = "input",
    with_scores: bool = False,
    clusters: Path | None = None,
    target: str | None = None,
    notify: Notify | None = None,
    progress: Progress | None = None,
) -> SelectResult:
    """Select a subset of ``data`` with ``strategy``; write its ids, row indices and ranks and/or the kept rows.

    ``budget`` is a count or a fraction (``"3000"``, ``"0.3"``), or None for a filter
    (keep every row that passes); ``params`` are the strategy's ``KEY=VALUE`` options.
    ``out`` gets the selection (id, index, rank), ``export`` the kept rows with all their
    columns (:func:`datafactors.select.export_rows`; a folder of shards in, one shard per
    input shard out), in ``order`` ``"input"`` or ``"pick"``, with the ``scores`` columns
    when ``with_scores``. ``clusters`` gets the near-duplicate clusters of ``minhash_dedup``;
    ``target`` is the eval file of a target-aware selector (loaded with the same ``text``).
    """
    from .._validation import parse_budget
    from ..io import check_out_path, read_embeddings, read_scores

    if out is None and export is None:
        raise ConfigError("give --out FILE (the selection: id, index, rank) and/or --export FILE (the kept rows)")
    if with_scores and (scores is None or export is None):
        raise ConfigError("--with-scores adds the columns of --scores FILE to --export; give both")
    if clusters is not None and strategy != "minhash_dedup":
        raise ConfigError(f"--clusters writes the clusters of minhash_dedup, not of strategy {strategy!r}")
    out = None if out is None else Path(out)
    b = parse_budget(budget) if isinstance(budget, str) else budget
    if _sharded(engine, address):
        unsupported = {"--embeddings": embeddings, "--target": target}
        for flag, value in unsupported.items():
            if value is not None:
                raise ConfigError(f"{flag} is not available with --engine ray")
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
            text=text,
            text_backend=text_backend,
            export=export,
            export_order=order,
            with_scores=with_scores,
            clusters=clusters,
            address=address,
            **kw,
        )
        written = tuple(Path(p) for p in (out, export, clusters) if p is not None)
        return SelectResult(Path(res.out), strategy, int(res.n_out), int(res.n_rows), len(res.shards), written=written)
    from ..select import select

    shards = _export_plan(data, export)
    if out is not None:
        suffix = out.suffix.lower() if out.suffix.lower() in _SELECTION_FORMATS else ".parquet"
        check_out_path(out, suffix, flag="--out")
        if suffix != ".parquet" and export is None and notify is not None:
            notify(f"--out {out} holds the selection (id, index, rank); --export FILE writes the kept rows themselves")
    if clusters is not None:
        check_out_path(clusters, ".parquet", flag="--clusters")
    kw = _select_params(score, offset, params)
    raw = text is not None and _reads_only_text(strategy, kw) and embeddings is None
    if raw:  # the operator reads the raw text: nothing to embed
        from ..featurize.raw_text import read_text_rows

        ds = read_text_rows(data, text, label=label)
        if notify is not None:
            notify(f"--text {text}: {strategy} reads the raw text; nothing is embedded")
    else:
        ds = load_data(data, label, text=text, text_backend=text_backend, notify=notify, progress=progress)
    sc = None if scores is None else read_scores(scores)
    if target is not None:
        kw["target"] = read_target(
            target, text=text, label=label, raw=raw, text_backend=text_backend, progress=progress
        )
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
    from ..select.export import export_rows, export_shards, selection_frame

    if export is not None:
        extra_cols = sc if with_scores else None
        if shards is None:
            export_rows(ds, idx, export, order=order, scores=extra_cols, label_column=label)
        else:
            export_shards(ds, idx, export, shards, order=order, scores=extra_cols, label_column=label)
    if clusters is not None:
        _write(duplicate_clusters(ds, kw, seed=seed), Path(clusters))
    if out is not None:
        frame = selection_frame(ds, idx)
        frame = frame.assign(id=frame["id"].astype(str))
        if out.suffix.lower() == ".parquet":
            _write(frame, out)
        else:
            from ..io.readers import write_table

            write_table(frame, out)
    written = tuple(Path(p) for p in (out, export, clusters) if p is not None)
    return SelectResult(written[0], strategy, len(idx), ds.n, written=written)


def read_target(
    target: str | Path,
    *,
    text: str | None = None,
    label: str | None = None,
    raw: bool = False,
    text_backend: str = "torch",
    progress: Progress | None = None,
) -> Any:
    """What ``--target FILE`` of a target-aware selector names, read from the file.

    - ``.npy``: an (m, d) array of target embeddings, in the space of ``--embeddings``
      (or of the data's features);
    - ``.txt``: one id per line, rows of the data itself (they are the targets and are
      never selected as their own neighbours);
    - a table (.csv, .parquet, .jsonl, ...) with a single column ``id``: the same ids;
    - any other data file: its rows, loaded like the data (the same ``text`` column is embedded).
    """
    p = Path(target)
    suffix = p.suffix.lower()
    if suffix == ".npy":
        if not p.is_file():
            raise DataError(f"--target {p}: no such file")
        try:
            T = np.load(p, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise DataError(f"--target {p} is not a readable .npy array: {str(e).splitlines()[0]}") from None
        if T.ndim != 2 or T.dtype.kind not in "fiub":
            raise DataError(f"--target {p}: expected an (m, d) array of numbers, got {T.dtype} of shape {T.shape}")
        return T
    if suffix == ".txt":
        try:
            ids = [ln.strip() for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
        except FileNotFoundError:
            raise DataError(f"--target {p}: no such file") from None
        except UnicodeDecodeError as e:
            raise DataError(f"--target {p} is not UTF-8 text ({e.reason} at byte {e.start})") from None
        if not ids:
            raise DataError(f"--target {p} holds no ids (one id per line)")
        return ids
    if p.is_file() and suffix in (".csv", ".tsv", ".parquet", ".jsonl", ".ndjson"):
        from ..io.readers import read_frame

        frame = read_frame(p, what="a target file")
        if list(frame.columns) == ["id"]:
            if frame.empty:
                raise DataError(f"--target {p} holds no ids")
            return frame["id"].tolist()
    if raw:
        from ..featurize.raw_text import read_text_rows

        return read_text_rows(target, text, label=label)
    return load_data(str(target), label, text=text, text_backend=text_backend, progress=progress)


def _reads_only_text(strategy: str, params: dict[str, Any]) -> bool:
    """Whether ``strategy`` with these options reads only the raw text (so --text needs no embedding)."""
    from ..featurize.raw_text import TEXT_ONLY_STRATEGIES

    if strategy == "decontaminate":
        return params.get("method", "auto") in ("auto", "minhash")
    return strategy in TEXT_ONLY_STRATEGIES


def duplicate_clusters(ds: Dataset, params: dict[str, Any], *, seed: int = 0) -> pd.DataFrame:
    """The near-duplicate clusters (cluster_id, id, representative_id, similarity) ``minhash_dedup`` sees.

    ``params`` are the strategy's options; those :func:`datafactors.select.minhash.near_duplicate_clusters`
    takes are passed on (shingling, permutations, bands, threshold, its seed).
    """
    from ..select.minhash import near_duplicate_clusters

    accepted = set(inspect.signature(near_duplicate_clusters).parameters) - {"texts", "ids"}
    kw = {k: v for k, v in params.items() if k in accepted}
    if "seed" in accepted:
        kw.setdefault("seed", seed)
    frame = near_duplicate_clusters(ds.texts("--clusters"), ids=ds.ids, **kw)
    for c in ("id", "representative_id"):
        if c in frame.columns:
            frame[c] = frame[c].astype(str)
    return frame


def _export_plan(data: str, export: Path | None) -> list[tuple[str, int]] | None:
    """``(relative path, rows)`` of each input shard when ``data`` is a folder, else None; checks ``export``."""
    from ..select.export import EXPORT_FORMATS

    if export is None:
        return None
    export = Path(export)
    folder = Path(data)
    if not folder.is_dir():
        if export.suffix.lower() not in EXPORT_FORMATS:
            raise DataError(
                f"--export {export}: unknown extension {export.suffix or '(none)'!r}; "
                f"expected one of {', '.join(EXPORT_FORMATS)}"
            )
        if export.is_dir():
            raise DataError(f"--export {export} is a folder; give a file name ending in {', '.join(EXPORT_FORMATS)}")
        return None
    if export.suffix.lower() in EXPORT_FORMATS or (export.exists() and not export.is_dir()):
        raise DataError(
            f"--export {export}: {data} is a folder of shards, so the export is a folder too (one shard per input "
            "shard); give a folder name"
        )

    def visible(q: Path) -> bool:
        return not any(part.startswith(("_", ".")) for part in q.relative_to(folder).parts)

    found = sorted(q for q in folder.rglob("*") if q.is_file() and visible(q) and q.suffix.lower() in EXPORT_FORMATS)
    shards = []
    for q in found:
        shards.append((str(q.relative_to(folder)), _count_rows(q)))
    return shards


def _count_rows(q: Path) -> int:
    if q.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(q).metadata.num_rows)
    if q.suffix.lower() == ".csv":
        return len(pd.read_csv(q, usecols=[0]))
    with open(q, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def _augment_params(params: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` options; a comma-separated value is a list (``columns=spurious_0,spurious_1``)."""
    from .._validation import parse_param_items, parse_param_value

    out = parse_param_items(list(params), flag="--param")
    for key, value in out.items():
        if isinstance(value, str) and "," in value:
            out[key] = [parse_param_value(v.strip()) for v in value.split(",") if v.strip()]
    return out


def augment_command(
    data: str,
    name: str,
    out: Path,
    *,
    params: Sequence[str] = (),
    append: bool = False,
    label: str | None = None,
    seed: int = 0,
    notify: Notify | None = None,
) -> AugmentResult:
    """Make new rows from ``data`` with the augmentation ``name`` and write them with all their columns.

    ``params`` are the augmentation's ``KEY=VALUE`` options (checked before the data is
    loaded); ``append`` writes the original rows first. ``out`` ends in .parquet, .jsonl or
    .csv; it is written beside itself and renamed into place, so a failure leaves no
    partial file. Every row carries its ``id`` (``parent~name:k``), ``parent`` and
    ``augmentation`` columns (:mod:`datafactors.augment`).
    """
    from ..augment import augment, check_augmentation
    from ..io import check_out_path
    from ..select.export import EXPORT_FORMATS, export_rows

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise DataError(
            f"--out {out}: unknown extension {suffix or '(none)'!r}; expected one of {', '.join(EXPORT_FORMATS)}"
        )
    check_out_path(out, suffix, flag="--out")
    kw = _augment_params(params)
    check_augmentation(name, kw)
    ds = load_data(data, label, notify=notify)
    new = augment(ds, name, seed=seed, append=append, **kw)
    export_rows(new, np.arange(new.n), out, label_column=label)
    return AugmentResult(out, name, ds.n, new.n - (ds.n if append else 0), new.n)


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
    text: str | None = None,
    text_backend: str = "torch",
    notify: Notify | None = None,
    progress: Progress | None = None,
) -> SplitResult:
    """Assign every example of ``data`` to a part of split ``kind`` and write ``id, part``.

    ``options`` maps a split parameter to ``(flag, value)``; a value of None is not
    given, and a given one the split kind does not take is a ConfigError naming the
    flag. ``scores`` / ``score`` give easy_hard its score (a column of the scores
    file, or of the data). ``text`` names the text column to embed as the features.
    """
    from ..io import check_out_path, read_scores
    from ..splits import REGISTRY
    from ..splits import split as make_split

    out = Path(out)
    fn = REGISTRY.get(kind)
    ds = load_data(data, label, text=text, text_backend=text_backend, notify=notify, progress=progress)
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


def profile_command(
    data: str,
    *,
    label: str | None = None,
    text: str | None = None,
    text_backend: str = "torch",
    embed: bool = True,
    embed_alias: str | None = None,
    out: Path | None = None,
    test: str | None = None,
    scores: Path | None = None,
    licence: str | None = None,
    families: str | None = None,
    near_duplicate_threshold: float = 0.95,
    minhash_threshold: float = 0.8,
    contamination_cosine: float | None = None,
    seed: int = 0,
    notify: Notify | None = None,
    progress: Progress | None = None,
) -> ProfileResult:
    """Measure the dataset-level factors of ``data`` (and write them to ``out`` when given).

    ``text`` names the text column: it is embedded as the features (and its vocabulary and
    concepts are counted); with ``embed=False`` the features stay the file's numeric columns
    and the text is only counted. ``test`` is loaded the same way; its rows with a
    near-duplicate in ``data`` are counted as contamination (``minhash_threshold`` on text,
    ``contamination_cosine`` on embeddings). ``embed_alias`` is the
    deprecated ``--embed COL`` (the same as ``--text COL``; ``notify`` is told so).
    """
    from ..factors import profile
    from ..io import check_out_path, read_scores

    if embed_alias is not None:
        if notify is not None:
            notify(f"--embed is deprecated; use --text {embed_alias}")
        if text is not None and text != embed_alias:
            raise ConfigError(f"--embed {embed_alias} and --text {text} name different columns; give --text only")
        text = embed_alias

    if out is not None:
        out = check_out_path(out, ".parquet")
    column = text if embed else None
    try:
        ds = load_data(data, label, text=column, text_backend=text_backend, notify=notify, progress=progress)
    except DataError as e:
        if "no numeric feature columns" not in str(e):
            raise
        hint = "drop --no-embed to embed the text" if text is not None else "or pass --text <column> to embed it"
        raise DataError(f"{e}; {hint}") from None
    test_ds = (
        None if test is None else load_data(test, label, text=column, text_backend=text_backend, progress=progress)
    )
    sc = None if scores is None else read_scores(scores)
    prof = profile(
        ds,
        text=text,
        test=test_ds,
        scores=sc,
        licence=licence,
        families=families,
        near_duplicate_threshold=near_duplicate_threshold,
        minhash_threshold=minhash_threshold,
        contamination_cosine=contamination_cosine,
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
    """The recipes run (with their controls), the scoreboard, where verdicts were saved and the rebuilt report."""

    results: list[Any]
    verdicts: Path | None = None
    report: Path | None = None
    controls: list[Any] = field(default_factory=list)
    scoreboard: Any = None
    scoreboard_path: Path | None = None


def recipes_command(
    name: str,
    *,
    seed: int = 0,
    quick: bool = False,
    run_dir: Path | None = None,
    controls: bool = True,
    out: Path | None = None,
    on_result: Callable[[Any], None] | None = None,
    running: Callable[[str], Any] | None = None,
) -> RecipesResult:
    """Run recipe ``name`` (or ``"all"``) and its negative control; tabulate them in a scoreboard.

    With ``run_dir``, save each verdict (with its control's) as it finishes and rebuild the
    report; with ``out``, write the scoreboard as JSON. ``on_result(result)`` is called after
    each recipe and each control (so an interrupted ``all`` has shown and saved what
    finished); ``running(name)`` may return a context manager shown while it runs.
    """
    from ..recipes import REGISTRY, run_all, save_verdicts, scoreboard, write_scoreboard

    if run_dir is not None and not Path(run_dir).is_dir():
        raise DataError(f"--run {run_dir} is not a run folder (no such directory)")
    if out is not None:
        out = Path(out)
        if out.suffix.lower() != ".json":
            raise DataError(f"--out {out} must be a .json file (the scoreboard is written as JSON)")
        if not out.parent.is_dir():
            raise DataError(f"--out {out}: folder {out.parent} does not exist")
    names = REGISTRY.names() if name == "all" else [REGISTRY.get(name) and name]
    pairs = []
    for n in names:
        ((res, ctl),) = run_all([n], seed=seed, quick=quick, controls=controls, on_result=on_result, running=running)
        pairs.append((res, ctl))
        if run_dir is not None:
            save_verdicts(res, run_dir, seed=seed, quick=quick, controls={n: ctl} if ctl is not None else None)
    board = scoreboard(pairs)
    path = write_scoreboard(pairs, out, seed=seed, quick=quick) if out is not None else None
    results = [r for r, _ in pairs]
    ctls = [c for _, c in pairs if c is not None]
    if run_dir is None:
        return RecipesResult(results, controls=ctls, scoreboard=board, scoreboard_path=path)
    from ..recipes import VERDICTS_FILE

    report = None
    if (Path(run_dir) / "manifest.json").is_file():
        from .runner import rebuild_report

        report = rebuild_report(run_dir)
    return RecipesResult(results, Path(run_dir) / VERDICTS_FILE, report, ctls, board, path)
