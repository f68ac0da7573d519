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
        (exact dedup); False when the driver read the folder (scores, global selectors).
    """

    out: Path
    n_rows: int
    n_out: int
    shards: tuple[str, ...]
    columns: tuple[str, ...]
    distributed: bool


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
            parts.append(compute(sub, rowwise, dynamics=[_dynamics_rows(d, rows) for d in dynamics], seed=seed))
        if driver_frame is not None:
            parts.append(driver_frame.iloc[rows])
        frame = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=pd.Index(sub.ids, name="id"))
        if set(frame.columns) != set(columns):
            raise RuntimeError(f"scores gave columns {list(frame.columns)}, expected {columns}")
        frame = frame[columns]
        frame.index = pd.Index(np.asarray(sub.ids).astype(str), name="id")
        atomic_write_parquet(frame.reset_index(), Path(tmp) / item["rel"])
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
) -> ShardedResult:
    """Score every example of a folder of Parquet shards on Ray; one output shard per input shard.

    Parameters
    ----------
    data : folder of ``.parquet`` shards (read as :func:`datafactors.io.read_path` reads it).
    scores : score names (``"el2n,forgetting"`` or a list), each optionally with its parameters
        (``("aflite", {"tau": 0.8})``), as for :func:`datafactors.scores.compute`.
    out : new (or empty) folder; receives ``<relative path of each input shard>`` with columns
        ``id`` and one per score column, rows in input order.
    label, learner, seeds, epochs, learner_params, seed : as for ``compute``; the proxy is
        trained once per seed (the seeds in parallel as Ray tasks).
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
    ds = read_path(folder, label=label)
    shards = list_shards(folder)
    counts = row_counts(folder, shards)
    if int(counts.sum()) != ds.n:
        raise DataError(
            f"the shards of {folder} changed while being read ({int(counts.sum())} rows now, {ds.n} before)"
        )
    items = shard_items(folder, shards, counts)
    rowwise = [(n, p) for n, p in specs if is_row_wise(n)]
    on_driver = [(n, p) for n, p in specs if not is_row_wise(n)]
    columns = [c for n in names for c in score_columns(n)]

    with ray_session(address, n_workers) as engine, staging(out_p) as tmp:
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
        check_written(tmp, [it["rel"] for it in items])
        n_out = int(sum(r["rows"] for r in done))
    return ShardedResult(out_p, ds.n, n_out, tuple(it["rel"] for it in items), ("id", *columns), False)


# --------------------------------------------------------------------------- selection


@dataclass(frozen=True)
class _Roles:
    """Which columns of the shards are the label, the ids and the features (the reader's rules)."""

    label: str | None
    id_col: str | None
    features: tuple[str, ...]


def _shard_frame(folder: Path, shard: Path) -> pd.DataFrame:
    """One shard as the folder reader sees it: its table plus hive ``key=value`` columns."""
    import pyarrow as pa

    from ..io.readers import arrow_to_pandas, normalize_frame, read_parquet_file

    table = read_parquet_file(shard, shard_of=folder)
    for part in shard.relative_to(folder).parts[:-1]:
        key, sep, value = part.partition("=")
        if sep and key and key not in table.column_names:
            table = table.append_column(key, pa.array([value] * table.num_rows, pa.string()))
    where = f"{folder.name}/{shard.relative_to(folder).as_posix()}"
    return normalize_frame(arrow_to_pandas(table, where), where)


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
    partitions = int(max(1, min(len(shards), 32)))
    if roles.id_col is not None:
        counted = rows.groupby("id", num_partitions=partitions).count()
        dup = counted.map_batches(_repeated, batch_format="pandas").take(3)
        if dup:
            shown = ", ".join(repr(d["id"]) for d in dup)
            raise DataError(f"id column {roles.id_col!r} in {folder} has duplicated values across shards: {shown}")
    kept = rows.groupby("h", num_partitions=partitions).map_groups(_first_of_group, batch_format="pandas")
    return kept.to_pandas()


def _write_selection(tmp: Path, items: list[dict[str, Any]], ids: np.ndarray, pick: np.ndarray) -> None:
    from ..store import atomic_write_parquet

    frame = pd.DataFrame({"id": np.asarray(ids).astype(str), "index": pick.astype(np.int64),
                          "rank": np.arange(len(pick), dtype=np.int64)})  # fmt: skip
    frame = frame.sort_values("index", kind="stable")
    idx = frame["index"].to_numpy()
    for it in items:
        lo, hi = np.searchsorted(idx, [it["start"], it["stop"]])
        atomic_write_parquet(frame.iloc[lo:hi].reset_index(drop=True), tmp / it["rel"])


def select_shards(
    data: str | os.PathLike[str],
    strategy: str,
    budget: int | float,
    out: str | os.PathLike[str],
    *,
    scores: Any = None,
    seed: int = 0,
    class_balanced: bool = False,
    group_balanced: bool = False,
    label: str | None = None,
    address: str | None = None,
    n_workers: int | None = None,
    **params: Any,
) -> ShardedResult:
    """Select from a folder of Parquet shards on Ray; one output shard per input shard.

    Each output shard holds the kept rows of its input shard in row order, with columns
    ``id``, ``index`` (row in the whole folder, as :func:`datafactors.io.read_path` numbers
    them) and ``rank`` (pick order) -- together exactly the table of the local
    ``datafactors select`` on the same folder.

    ``exact_dedup`` (with no option but ``order``) runs on the workers without a driver
    copy of the data; every other strategy reads the folder on the driver and calls
    :func:`datafactors.select.select` (see the module notes).

    Examples
    --------
    >>> select_shards("pool/", "exact_dedup", 1.0, "dedup/", order="first")  # doctest: +SKIP
    """
    folder = input_folder(data)
    out_p = check_out_folder(out)
    if address is not None:
        check_address(address)  # before any work: ray.init would retry a wrong address for minutes

    from .._validation import check_random_state, resolve_budget
    from ..select import REGISTRY, select

    REGISTRY.get(strategy)  # unknown names fail here, with suggestions
    shards = list_shards(folder)
    counts = row_counts(folder, shards)
    items = shard_items(folder, shards, counts)
    balanced = class_balanced or group_balanced
    on_workers = strategy == "exact_dedup" and not balanced and scores is None and set(params) <= {"order"}
    if on_workers:
        order = params.get("order", "random")
        if order not in ("first", "random"):
            raise ConfigError(f"order == {order!r}, must be 'first' or 'random'")
        k = resolve_budget(budget, int(counts.sum()))
        rng = check_random_state(seed)
        roles = _resolve_roles(folder, shards, counts, label)
        with ray_session(address, n_workers), staging(out_p) as tmp:
            kept = _dedup_on_workers(folder, shards, counts, items, roles)
            first = kept.sort_values("pos")
            if k > len(first):
                raise DataError(
                    f"budget == {k}, but there are only {len(first)} distinct feature rows; "
                    f"keeping {k} would keep duplicates"
                )
            if order == "random":
                first = first.iloc[rng.permutation(len(first))]
            pick = first.iloc[:k]
            _write_selection(tmp, items, pick["id"].to_numpy(), pick["pos"].to_numpy())
        n_rows = int(counts.sum())
    else:
        from ..io.readers import read_path

        ds = read_path(folder, label=label)
        if int(counts.sum()) != ds.n:
            raise DataError(f"the shards of {folder} changed while being read")
        idx = select(
            ds,
            strategy,
            budget,
            scores=scores,
            seed=seed,
            class_balanced=class_balanced,
            group_balanced=group_balanced,
            **params,
        )
        with staging(out_p) as tmp:
            _write_selection(tmp, items, ds.ids[idx], np.asarray(idx))
        n_rows, k = ds.n, len(idx)
    return ShardedResult(out_p, n_rows, int(k), tuple(it["rel"] for it in items), ("id", "index", "rank"), on_workers)
