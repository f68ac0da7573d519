"""Scoring and selection over a folder of Parquet shards on Ray, writing sharded output.

The drivers behind ``datafactors score|select FOLDER --engine ray``. The generic machinery
(listing shards, output folders, the Ray session, one Ray Data task per shard) is
:mod:`datafactors.engines.ray_data`; this module decides what runs where. Every output
folder holds one Parquet shard per input shard, at the same relative path, keyed by
example id, rows in the order :func:`datafactors.io.read_path` reads the folder.

What runs where, and why
------------------------
- **Scores** (:func:`score_shards`). The proxy behind the dynamics scores must see every
  example, so the folder is read on the driver (one set of column rules and messages) and
  the proxy is trained once per seed, the seeds in parallel as Ray tasks (the same
  ``dynamics_task`` the run uses). The recorded dynamics and the data go to the object store
  once; each shard's task scores its own rows for the scores the registry declares
  ``row_wise`` (an example's value reads only its own row of the dynamics: EL2N, GraNd,
  forgetting, cartography, loss, margin, entropy, least confidence, TracIn self-influence)
  and writes its shard. Scores that need every row at once (kNN density, cross-validated
  model hardness, cleanlab, IRT, AFLite, TracIn on a reference set) are computed on the
  driver over the whole table, as the local engine does, and each shard task writes its
  slice. The values equal the local ``datafactors score`` of the same folder and seeds.
- **Exact deduplication** (:func:`select_shards` with ``exact_dedup``) needs no driver copy of
  the data: each shard's task reads its shard, applies the reader's column rules and hashes
  every feature row (float32 bytes, ``-0.0`` as ``0.0``); a Ray Data group-by on the hash keeps
  the row that comes first in the folder, so the kept set is that of the local ``exact_dedup``
  (its budget and seed-ordered cut are applied the same way on the driver). Ids given in an
  ``id`` column are checked to be unique across shards by a second group-by.
- **Other selectors** see every row at once (k-center, facility location, ...): the folder is
  read on the driver, :func:`datafactors.select.select` runs as usual, and the picks are
  written one shard per input shard.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from ..engines.ray_ import check_address
from ..engines.ray_data import (
    check_out_folder,
    check_written,
    input_folder,
    list_shards,
    map_shards,
    ray_session,
    row_counts,
    shard_items,
    staging,
)

__all__ = ["ROWWISE_SCORES", "ShardedResult", "score_shards", "select_shards"]

# Scores whose value for an example reads only that example's row of the training dynamics
# (and of ds), so a shard can be scored on its own: the fallback for a registry entry that
# does not declare ``row_wise``. Any other score is computed on the driver.
ROWWISE_SCORES = frozenset(
    {"el2n", "el2n_l1", "grand", "forgetting", "cartography", "loss", "margin", "entropy", "least_confidence",
     "tracin_self"}
)  # fmt: skip

_HASH_BLOCK = 8192  # rows hashed per numpy block


@dataclass(frozen=True)
class ShardedResult:
    """What a sharded command wrote.

    Attributes
    ----------
    out : the output folder (one ``.parquet`` per input shard, same relative paths).
    n_rows : rows read from the input folder.
    n_out : rows written (``n_rows`` for scores, the kept rows for a selection).
    shards : relative paths of the shards, in folder order.
    columns : the columns of every output shard.
    distributed : True when the rows were processed on the workers without a driver copy
        (exact dedup; with text also MinHash dedup and the quality rules); False when the
        driver read the folder (scores, global selectors).
    export : the folder of kept rows (``--export``), or None.
    clusters : the near-duplicate cluster table (``--clusters``), or None.
    lsh_groups : for MinHash on text, how many (band, key) buckets the Ray Data group-by formed.
    """

    out: Path
    n_rows: int
    n_out: int
    shards: tuple[str, ...]
    columns: tuple[str, ...]
    distributed: bool
    export: Path | None = None
    clusters: Path | None = None
    lsh_groups: int | None = None


def is_row_wise(name: str) -> bool:
    """Whether score ``name`` can be computed shard by shard (the registry's ``row_wise``)."""
    from ..scores import REGISTRY

    flag = getattr(REGISTRY.get(name), "row_wise", None)
    return name in ROWWISE_SCORES if flag is None else bool(flag)


# --------------------------------------------------------------------------- scores


def _dynamics_rows(d: Any, rows: np.ndarray) -> Any:
    """The same TrainingDynamics restricted to ``rows`` (checkpoints and transform kept)."""
    return replace(
        d,
        ids=d.ids[rows],
        y=d.y[rows],
        probs=d.probs[:, rows],
        losses=d.losses[:, rows],
        seen_correct=d.seen_correct[:, rows],
        grad_norms=None if d.grad_norms is None else d.grad_norms[:, rows],
        presented=None if d.presented is None else d.presented[:, rows],
    )


def _score_shard_batch(batch: pd.DataFrame, *, refs: list[Any], rowwise: list[Any], columns: list[str],
                       tmp: str, seed: int) -> pd.DataFrame:  # fmt: skip
    import ray

    from ..scores import compute
    from ..store import atomic_write_parquet

    ds, dynamics, driver_frame = ray.get(refs)
    written = []
    for item in batch.to_dict("records"):
        rows = np.arange(int(item["start"]), int(item["stop"]), dtype=np.int64)
        sub = ds.subset(rows)
        parts = []
        if rowwise and len(rows):
            import torch

            torch.set_num_threads(1)  # as in every Ray task: results match the local engine
            dyn = None if dynamics is None else [_dynamics_rows(d, rows) for d in dynamics]
            parts.append(compute(sub, rowwise, dynamics=dyn, seed=seed))
        if driver_frame is not None:
            parts.append(driver_frame.iloc[rows])
        frame = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=pd.Index(sub.ids, name="id"))
        if not len(rows):  # an empty shard: an empty table with the score columns
            frame = pd.DataFrame({c: pd.Series([], dtype=np.float64) for c in columns}, index=frame.index[:0])
        if set(frame.columns) != set(columns):
            raise RuntimeError(f"scores gave columns {list(frame.columns)}, expected {columns}")
        frame = frame[columns]
        frame.index = pd.Index(np.asarray(sub.ids).astype(str), name="id")
        target = Path(tmp) / out_rel(item["rel"])
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_parquet(frame.reset_index(), target)
        written.append(len(frame))
    return pd.DataFrame({"shard": batch["shard"].to_numpy(), "rows": written})


def score_shards(
    data: str | os.PathLike[str],
    scores: Sequence[Any] | str,
    out: str | os.PathLike[str],
    *,
    label: str | None = None,
    learner: str = "mlp",
    seeds: int | Sequence[int] = 3,
    epochs: int = 30,
    learner_params: dict | None = None,
    seed: int = 0,
    address: str | None = None,
    n_workers: int | None = None,
    text: str | None = None,
    text_backend: str = "torch",
) -> ShardedResult:
    """Score every example of a folder of shards on Ray; one output shard per input shard.

    Parameters
    ----------
    data : folder of ``.parquet`` shards (read as :func:`datafactors.io.read_path` reads it).
    scores : score names (``"el2n,forgetting"`` or a list), each optionally with its parameters
        (``("aflite", {"tau": 0.8})``), as for :func:`datafactors.scores.compute`.
    out : new (or empty) folder; receives ``<relative path of each input shard>`` with columns
        ``id`` and one per score column, rows in input order.
    label, learner, seeds, epochs, learner_params, seed : as for ``compute``; the proxy is
        trained once per seed (the seeds in parallel as Ray tasks).
    text : a text column: the examples are its texts, embedded shard by shard by one encoder
        per worker (:mod:`datafactors.experiment.sharded_text`); when every score reads only
        the raw text (the quality rules) nothing is embedded.
    address : ``HOST:PORT`` of a Ray cluster; None starts a local instance with ``n_workers`` CPUs.

    Returns
    -------
    ShardedResult

    Examples
    --------
    >>> score_shards("pool/", "el2n,forgetting", "pool_scores/", seeds=2, epochs=5)  # doctest: +SKIP
    """
    folder = input_folder(data)
    out_p = check_out_folder(out)
    if address is not None:
        check_address(address)  # before any work: ray.init would retry a wrong address for minutes

    from ..io.readers import read_path
    from ..scores import REGISTRY, compute, score_columns, score_specs
    from .tasks import dynamics_task

    specs = score_specs(scores)  # unknown names and parameters fail here, with suggestions
    names = [n for n, _ in specs]
    seed_list = list(range(seeds)) if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]
    if not seed_list:
        raise ConfigError("seeds must name at least one seed")
    shards = list_shards(folder)
    counts = row_counts(folder, shards)
    items = shard_items(folder, shards, counts)
    roles = None
    if text is None:
        ds = read_path(folder, label=label)
        if int(counts.sum()) != ds.n:
            raise DataError(
                f"the shards of {folder} changed while being read ({int(counts.sum())} rows now, {ds.n} before)"
            )
    else:
        from .sharded_text import text_roles

        roles = text_roles(folder, items, text, label)
    rowwise = [(n, p) for n, p in specs if is_row_wise(n)]
    on_driver = [(n, p) for n, p in specs if not is_row_wise(n)]
    columns = [c for n in names for c in score_columns(n)]

    with ray_session(address, n_workers) as engine, staging(out_p) as tmp:
        if roles is not None:
            from ..scores.quality_rules import RULE_FAMILIES
            from .sharded_text import text_dataset

            ray_ = engine.connect()
            text_only = all(n in RULE_FAMILIES for n in names)  # the quality rules read only the raw text
            cpus = int(ray_.cluster_resources().get("CPU", 1))
            ds = text_dataset(items, folder, roles, embed=not text_only, n_actors=min(len(items), max(1, cpus)),
                              options={"backend": text_backend})  # fmt: skip
        dynamics = None
        if any(getattr(REGISTRY.get(n), "needs_dynamics", False) for n in names):
            tasks = [{"learner": learner, "learner_params": dict(learner_params or {}), "epochs": epochs, "seed": s}
                     for s in seed_list]  # fmt: skip
            runs = {task["seed"]: dyn for task, dyn in engine.map(dynamics_task, tasks, {"train": ds})}
            dynamics = [runs[s] for s in seed_list]
        driver_frame = compute(ds, on_driver, dynamics=dynamics, seed=seed) if on_driver else None
        ray = engine.connect()
        refs = [ray.put(ds), ray.put(dynamics), ray.put(driver_frame)]
        done = map_shards(items, _score_shard_batch, refs=refs, rowwise=rowwise, columns=columns,
                           tmp=str(tmp), seed=seed).take_all()  # fmt: skip
        check_written(tmp, [out_rel(it["rel"]) for it in items])
        n_out = int(sum(r["rows"] for r in done))
    return ShardedResult(out_p, ds.n, n_out, tuple(out_rel(it["rel"]) for it in items), ("id", *columns), False)


# --------------------------------------------------------------------------- selection


@dataclass(frozen=True)
class _Roles:
    """Which columns of the shards are the label, the ids and the features (the reader's rules)."""

    label: str | None
    id_col: str | None
    features: tuple[str, ...]


def _shard_frame(folder: Path, shard: Path) -> pd.DataFrame:
    """One shard as the folder reader sees it: its table plus hive ``key=value`` columns."""
    from ..io.readers import normalize_frame, read_shard

    return normalize_frame(read_shard(folder, shard), f"{folder.name}/{shard.relative_to(folder).as_posix()}")


def out_rel(rel: str) -> str:
    """The relative path of the Parquet output shard of input shard ``rel`` (``a/b.jsonl`` -> ``a/b.parquet``)."""
    q = Path(rel)
    return q.as_posix() if q.suffix.lower() == ".parquet" else q.with_suffix(".parquet").as_posix()


def _resolve_roles(folder: Path, shards: Sequence[Path], counts: np.ndarray, label: str | None) -> _Roles:
    """Column roles from the first non-empty shard, by the rules of :func:`datafactors.io.read_path`."""
    from ..io.readers import GROUP_DEFAULT, ID_DEFAULT, LABEL_DEFAULTS, feature_block, name_list, resolve_column

    first = next((s for s, c in zip(shards, counts, strict=True) if c > 0), None)
    if first is None:
        raise DataError(f"folder {folder} has no rows (every shard is empty)")
    frame = _shard_frame(folder, first)
    name = f"{folder.name}/{first.relative_to(folder).as_posix()}"
    cols = list(frame.columns)
    lab = resolve_column(cols, label, LABEL_DEFAULTS, "label", name)  # None: an unlabeled pool
    idc = resolve_column(cols, None, (ID_DEFAULT,), "id", name)
    grp = resolve_column(cols, None, (GROUP_DEFAULT,), "group", name)
    used = {c for c in (lab, idc, grp) if c}
    feats = tuple(c for c in cols if c not in used and feature_block(frame[c], c, name, explicit=False) is not None)
    if not feats:
        raise DataError(f"no numeric feature columns in {name}; columns are: {name_list(cols)}")
    return _Roles(lab, idc, feats)


def _row_hashes(X: np.ndarray) -> list[str]:
    """Hex digest per row of float32 bytes, ``-0.0`` counted as ``0.0`` (exact_dedup's equality)."""
    out: list[str] = []
    A = np.asarray(X, dtype=np.float32)
    for s in range(0, len(A), _HASH_BLOCK):
        block = np.ascontiguousarray(A[s : s + _HASH_BLOCK] + np.float32(0.0))
        out.extend(hashlib.blake2b(r.tobytes(), digest_size=16).hexdigest() for r in block)
    return out


def _hash_shard_batch(batch: pd.DataFrame, *, folder: str, roles: _Roles) -> pd.DataFrame:
    from ..io.readers import check_finite, feature_block, id_values

    root = Path(folder)
    frames = []
    for item in batch.to_dict("records"):
        shard = Path(item["path"])
        frame = _shard_frame(root, shard)
        name = f"{root.name}/{item['rel']}"
        n = len(frame)
        if n != int(item["stop"]) - int(item["start"]):
            raise DataError(f"shard {name} changed while being read")
        missing = [c for c in (roles.label, roles.id_col, *roles.features) if c and c not in frame.columns]
        if missing:
            raise DataError(
                f"shard {name} lacks column {missing[0]!r} that the first shard has; shards must share one schema"
            )
        pos = np.arange(int(item["start"]), int(item["stop"]), dtype=np.int64)
        if roles.id_col is not None:
            ids = id_values(frame[roles.id_col], roles.id_col, name, "column")
            ids = np.asarray(ids).astype(str)
        else:
            ids = pos.astype(str)
        blocks = []
        for c in roles.features:
            block = feature_block(frame[c], c, name, explicit=True)
            assert block is not None
            check_finite(block, c, name, ids if roles.id_col is not None else None)
            blocks.append(block)
        X = np.hstack(blocks)
        frames.append(pd.DataFrame({"h": _row_hashes(X), "pos": pos, "id": ids}))
    return pd.concat(frames, ignore_index=True)


def _repeated(counts: pd.DataFrame) -> pd.DataFrame:
    return counts[counts["count()"] > 1]


def _first_of_group(group: pd.DataFrame) -> pd.DataFrame:
    return group.loc[[group["pos"].idxmin()]]


def _dedup_on_workers(folder: Path, shards: Sequence[Path], counts: np.ndarray, items: list[dict[str, Any]],
                      roles: _Roles) -> pd.DataFrame:  # fmt: skip
    """``pos`` and ``id`` of the first row (in folder order) of every distinct feature row."""
    rows = map_shards(items, _hash_shard_batch, folder=str(folder), roles=roles).materialize()
    if roles.id_col is not None:
        _duplicated_ids(rows, len(shards), roles.id_col, folder)
    return _first_rows(rows, len(shards))


def select_shards(
    data: str | os.PathLike[str],
    strategy: str,
    budget: int | float | None,
    out: str | os.PathLike[str] | None,
    *,
    scores: Any = None,
    seed: int = 0,
    class_balanced: bool = False,
    group_balanced: bool = False,
    label: str | None = None,
    text: str | None = None,
    text_backend: str = "torch",
    export: str | os.PathLike[str] | None = None,
    export_order: str = "input",
    with_scores: bool = False,
    clusters: str | os.PathLike[str] | None = None,
    address: str | None = None,
    n_workers: int | None = None,
    **params: Any,
) -> ShardedResult:
    """Select from a folder of shards on Ray; one output shard per input shard.

    ``out`` (a new or empty folder) receives the selection: per input shard a Parquet shard
    at the same relative path (suffix ``.parquet``) holding its kept rows in row order, with
    columns ``id``, ``index`` (row in the whole folder, as :func:`datafactors.io.read_path`
    numbers them) and ``rank`` (pick order) -- together exactly the table of the local
    ``datafactors select`` on the same folder. ``export`` (a new or empty folder) receives
    the kept rows with all their original columns, one shard per input shard in the input
    shard's format (JSONL in, JSONL out), in ``export_order`` ``"input"`` or ``"pick"``, with the
    columns of ``scores`` added when ``with_scores``. At least one of the two is required.
    ``budget`` None keeps every row a filter passes.

    ``exact_dedup`` (with no option but ``order``) runs on the workers without a driver
    copy of the data. With ``text`` (the text column), ``exact_dedup`` (normalised text),
    ``minhash_dedup`` (LSH bands grouped by Ray Data; ``clusters`` gets the cluster table)
    and ``quality_rules`` run shard by shard too (:mod:`datafactors.experiment.sharded_text`),
    and every other strategy embeds the shards on the workers and selects on the driver.
    Without ``text``, other strategies read the folder on the driver and call
    :func:`datafactors.select.select` (see the module notes).

    Examples
    --------
    >>> select_shards("pool/", "exact_dedup", 1.0, "dedup/", order="first")  # doctest: +SKIP
    >>> select_shards("corpus/", "minhash_dedup", None, None, text="text", export="kept/")  # doctest: +SKIP
    """
    folder = input_folder(data)
    if out is None and export is None:
        raise ConfigError("give --out FOLDER (the selection: id, index, rank) and/or --export FOLDER (the kept rows)")
    out_p = None if out is None else check_out_folder(out)
    export_p = None if export is None else check_out_folder(export, flag="--export")
    if out_p is not None and export_p is not None and out_p.resolve() == export_p.resolve():
        raise ConfigError(f"--out and --export name the same folder {out_p}; give two folders")
    if export_order not in ("input", "pick"):
        raise ConfigError(f"--order {export_order!r} must be 'input' or 'pick'")
    if with_scores and (scores is None or export is None):
        raise ConfigError("--with-scores adds the columns of --scores FILE to --export; give both")
    clusters_p = None
    if clusters is not None:
        from ..io.readers import check_out_path

        if strategy != "minhash_dedup" or text is None:
            raise ConfigError("--clusters writes the clusters of minhash_dedup on a --text column")
        clusters_p = check_out_path(clusters, ".parquet", flag="--clusters")
    if address is not None:
        check_address(address)  # before any work: ray.init would retry a wrong address for minutes

    from .._validation import check_random_state
    from ..select import REGISTRY, cut_to_budget, resolve_filter_budget

    fn = REGISTRY.get(strategy)  # unknown names fail here, with suggestions
    shards = list_shards(folder)
    counts = row_counts(folder, shards)
    items = shard_items(folder, shards, counts)
    n_total = int(counts.sum())
    balanced = class_balanced or group_balanced
    k = resolve_filter_budget(strategy, fn, budget, n_total, balanced)
    if export_p is not None:
        from .sharded_text import check_export_shards

        check_export_shards(items)
    score_frame = None if scores is None else _score_frame(scores)
    dedup_order = params.get("order", "random")  # exact_dedup's order of first occurrences under a budget
    if strategy == "exact_dedup" and dedup_order not in ("first", "random"):
        raise ConfigError(f"order == {dedup_order!r}, must be 'first' or 'random'")
    rng = check_random_state(seed)
    distributed = False
    outcome = None
    if text is not None:
        from .sharded_text import TEXT_FILTERS, text_roles

        roles = text_roles(folder, items, text, label)
        id_col = roles.id_col
        distributed = strategy in TEXT_FILTERS and not balanced
        if strategy == "exact_dedup" and distributed:
            unknown = set(params) - {"order", "normalize_text"}
            if unknown:
                raise ConfigError(f"exact_dedup with --text on the ray engine takes only order and normalize_text; "
                                  f"got {', '.join(sorted(unknown))}")  # fmt: skip
        if strategy == "minhash_dedup":
            fn.check_params(**{k_: v for k_, v in params.items() if k_ != "keep"})
            if params.get("keep") is not None and score_frame is None:
                raise ConfigError(f"keep={params['keep']!r} reads a score column; give --scores FILE")
    else:
        distributed = strategy == "exact_dedup" and not balanced and scores is None and set(params) <= {"order"}
        roles_f = _resolve_roles(folder, shards, counts, label)
        id_col = roles_f.id_col

    def stage(p: Path | None) -> Any:
        return staging(p) if p is not None else contextlib.nullcontext(None)

    with ray_session(address, n_workers) as engine, stage(out_p) as sel_tmp, stage(export_p) as exp_tmp:
        if text is not None and distributed:
            picks, outcome = _text_filter(strategy, items, folder, roles, params, score_frame, clusters_p is not None)
            if strategy == "exact_dedup" and k is not None:
                if dedup_order == "random":  # as the local exact_dedup: first occurrences in a seeded order
                    picks = picks[rng.permutation(len(picks))]
            picks = cut_to_budget(picks, k, n_total, strategy)
        elif text is not None:
            from ..select import select
            from .sharded_text import text_dataset

            cpus = int(engine.connect().cluster_resources().get("CPU", 1))
            ds = text_dataset(items, folder, roles, embed=True, n_actors=min(len(items), max(1, cpus)),
                              options={"backend": text_backend})  # fmt: skip
            picks = np.asarray(select(ds, strategy, budget, scores=scores, seed=seed, class_balanced=class_balanced,
                                      group_balanced=group_balanced, **params), dtype=np.int64)  # fmt: skip
        elif distributed:
            kept = _dedup_on_workers(folder, shards, counts, items, roles_f)
            first = kept.sort_values("pos")["pos"].to_numpy(dtype=np.int64)
            if k is not None and len(first) < k:
                raise DataError(
                    f"budget == {k}, but there are only {len(first)} distinct feature rows; "
                    f"keeping {k} would keep duplicates"
                )
            if k is not None and dedup_order == "random":
                first = first[rng.permutation(len(first))]
            picks = first if k is None else first[:k]
        else:
            from ..io.readers import read_path
            from ..select import select

            ds = read_path(folder, label=label)
            if ds.n != n_total:
                raise DataError(f"the shards of {folder} changed while being read")
            picks = np.asarray(select(ds, strategy, budget, scores=scores, seed=seed, class_balanced=class_balanced,
                                      group_balanced=group_balanced, **params), dtype=np.int64)  # fmt: skip
        from .sharded_text import write_outputs

        write_outputs(items, folder, id_col, picks, sel_tmp=sel_tmp, export_tmp=exp_tmp, order=export_order,
                      scores=score_frame if with_scores else None)  # fmt: skip
        if sel_tmp is not None:
            check_written(sel_tmp, [out_rel(it["rel"]) for it in items])
        if exp_tmp is not None:
            check_written(exp_tmp, [it["rel"] for it in items])
        if clusters_p is not None and outcome is not None:
            from ..store import atomic_write_parquet

            atomic_write_parquet(outcome.clusters, clusters_p)
    where = out_p if out_p is not None else export_p
    assert where is not None
    rels = tuple(out_rel(it["rel"]) for it in items) if out_p is not None else tuple(it["rel"] for it in items)
    return ShardedResult(where, n_total, len(picks), rels, ("id", "index", "rank"), distributed,
                         export=export_p, clusters=clusters_p,
                         lsh_groups=None if outcome is None else outcome.band_groups)  # fmt: skip


def _score_frame(scores: Any) -> pd.DataFrame:
    """A scores table indexed by string id (``id`` column or index)."""
    frame = scores if isinstance(scores, pd.DataFrame) else pd.DataFrame(scores)
    if "id" in frame.columns:
        frame = frame.set_index("id")
    frame = frame.copy()
    frame.index = frame.index.astype(str)
    return frame


def _text_filter(strategy: str, items: list[dict[str, Any]], folder: Path, roles: Any, params: dict[str, Any],
                 scores: pd.DataFrame | None, want_clusters: bool) -> tuple[np.ndarray, Any]:  # fmt: skip
    """Positions passing a text filter, in its order (first occurrences; MinHash representatives; rule passes)."""
    from .sharded_text import exact_text_rows, minhash_on_workers, quality_kept

    n = int(items[-1]["stop"]) if items else 0
    if strategy == "quality_rules":
        _check_ids_unique(items, folder, roles)
        return quality_kept(items, folder, roles, params), None
    if strategy == "exact_dedup":
        rows = exact_text_rows(items, folder, roles, normalize=bool(params.get("normalize_text", True))).materialize()
        if roles.id_col is not None:
            _duplicated_ids(rows, len(items), roles.id_col, folder)
        first = _first_rows(rows, len(items))
        picks = first.sort_values("pos")["pos"].to_numpy(dtype=np.int64)
        return picks, None
    from ..select.minhash import selector_params

    p = dict(selector_params(**params))
    _check_ids_unique(items, folder, roles)
    outcome = minhash_on_workers(items, folder, roles, p, keep=params.get("keep"), scores=scores,
                                 want_clusters=want_clusters)  # fmt: skip
    return np.setdiff1d(np.arange(n, dtype=np.int64), outcome.dropped), outcome


def _id_batch(batch: pd.DataFrame, *, folder: str, id_col: str) -> pd.DataFrame:
    from ..io.readers import id_values

    root = Path(folder)
    parts = []
    for item in batch.to_dict("records"):
        frame = _shard_frame(root, Path(item["path"]))
        where = f"{root.name}/{item['rel']}"
        if id_col not in frame.columns and len(frame):
            raise DataError(f"shard {where} lacks the id column {id_col!r} that the first shard has")
        ids = id_values(frame[id_col], id_col, where, "column") if len(frame) else np.empty(0)
        parts.append(pd.DataFrame({"id": np.asarray(ids).astype(str)}))
    return pd.concat(parts, ignore_index=True)


def _check_ids_unique(items: list[dict[str, Any]], folder: Path, roles: Any) -> None:
    if roles.id_col is not None:
        rows = map_shards(items, _id_batch, folder=str(folder), id_col=roles.id_col)
        _duplicated_ids(rows, len(items), roles.id_col, folder)


def _duplicated_ids(rows: Any, n_shards: int, id_col: str, folder: Path) -> None:
    """DataError naming up to three ids that occur more than once across the shards (a Ray Data group-by)."""
    partitions = int(max(1, min(n_shards, 32)))
    counted = rows.groupby("id", num_partitions=partitions).count()
    dup = counted.map_batches(_repeated, batch_format="pandas").take(3)
    if dup:
        shown = ", ".join(repr(d["id"]) for d in dup)
        raise DataError(f"id column {id_col!r} in {folder} has duplicated values across shards: {shown}")


def _first_rows(rows: Any, n_shards: int) -> pd.DataFrame:
    """``pos`` and ``id`` of the first row (in folder order) of every distinct hash ``h``."""
    partitions = int(max(1, min(n_shards, 32)))
    kept = rows.groupby("h", num_partitions=partitions).map_groups(_first_of_group, batch_format="pandas")
    return kept.to_pandas()
