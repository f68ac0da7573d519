"""Text corpora on Ray Data: exact and MinHash dedup, quality rules, embedding and export, shard by shard.

The text half of ``datafactors select|score FOLDER --text COL --engine ray`` (the generic
drivers are :mod:`datafactors.experiment.sharded`). A folder of JSONL, Parquet, CSV or TSV
shards is read one shard per Ray task (:func:`datafactors.engines.ray_data.map_shards`),
so every row keeps its position in the folder -- its default id and what "first in input
order" means -- and the kept ids equal those of the local engine on the same input.

What runs where
---------------
- **Exact dedup** on text: each shard's task hashes the normalised texts
  (:func:`datafactors.featurize.normalize_text`; blake2b, 128 bits); a Ray Data group-by on
  the hash keeps the first row of every distinct text.
- **MinHash dedup**: each shard's task computes the signatures and the LSH band keys of its
  rows (:mod:`datafactors.select.minhash`, the same hash functions from the same seed);
  the band rows ``(band, key, pos)`` are grouped by a Ray Data group-by on ``(band, key)``,
  and each bucket gives its candidate pairs by :func:`~datafactors.select.minhash.bucket_pairs`
  (the local LSH calls the same function). Candidates are verified by two group-bys that
  bring each pair's two signatures together (on the first row, then on the second), so no
  signature is collected on the driver; only the verified pairs come back, and the driver
  takes their connected components (union-find) and keeps one representative per cluster.
- **Quality rules**: each shard's task evaluates the Gopher / C4 rules on its rows.
- **Every other strategy** needs every row at once: each shard is embedded by an actor
  holding one encoder (``map_batches`` with a class, one per worker; the per-text cache is
  read and written as locally), the vectors come to the driver and the strategy runs there.
- **Output**: the selection (``id``, ``index``, ``rank``) and/or the kept rows with all their
  original columns (``--export``) are written by one task per shard into a staged folder,
  one output shard per input shard at the same relative path, in the input shard's format.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from ..engines.ray_data import map_shards

__all__ = [
    "TEXT_FILTERS",
    "TextRoles",
    "embed_shards",
    "exact_text_rows",
    "minhash_on_workers",
    "quality_kept",
    "text_roles",
    "write_outputs",
]

# Filters that read only the raw text and run shard by shard (no driver copy of the rows).
TEXT_FILTERS = ("exact_dedup", "minhash_dedup", "quality_rules")

_EMB = "__embedding__"
# The encoder's metadata every actor reports (its counts are summed over the shards).
_META_KEYS = ("encoder", "package", "revision", "max_seq_length", "backend", "cache_dir")


@dataclass(frozen=True)
class TextRoles:
    """The text, label and id columns of a folder of shards (the reader's rules)."""

    text: str
    label: str | None
    id_col: str | None


def _where(folder: Path, rel: str) -> str:
    return f"{folder.name}/{rel}"


def _frame(folder: Path, item: dict[str, Any]) -> pd.DataFrame:
    from ..io.readers import normalize_frame, read_shard

    where = _where(folder, item["rel"])
    frame = normalize_frame(read_shard(folder, Path(item["path"])), where)
    if len(frame) != int(item["stop"]) - int(item["start"]):
        raise DataError(f"shard {where} changed while being read")
    return frame


def text_roles(folder: Path, items: Sequence[dict[str, Any]], text: str, label: str | None) -> TextRoles:
    """Roles from the first non-empty shard; the text column must be there and differ from the label."""
    from ..io.readers import ID_DEFAULT, LABEL_DEFAULTS, resolve_column

    first = next((it for it in items if it["stop"] > it["start"]), None)
    if first is None:
        raise DataError(f"folder {folder} has no rows (every shard is empty)")
    frame = _frame(folder, first)
    where = _where(folder, first["rel"])
    cols = [str(c) for c in frame.columns]
    if text not in cols:
        shown = ", ".join(repr(c) for c in cols)
        raise DataError(f"text column {text!r} not found in {where}; columns are: {shown}")
    if label is not None and label == text:
        raise DataError(f"--text {text} is also the --label column; the text and the label must differ")
    lab = resolve_column(cols, label, LABEL_DEFAULTS, "label", where)
    if lab == text:
        lab = None  # a column named "label" that is the text: the pool is unlabeled
    idc = resolve_column(cols, None, (ID_DEFAULT,), "id", where)
    return TextRoles(text, lab, None if idc == text else idc)


def _texts_and_ids(folder: Path, item: dict[str, Any], roles: TextRoles) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """A shard's frame, its validated texts and its ids (the id column, else the row's position in the folder)."""
    from ..dataset import Dataset
    from ..featurize.text import text_column
    from ..io.readers import id_values

    frame = _frame(folder, item)
    where = _where(folder, item["rel"])
    pos = np.arange(int(item["start"]), int(item["stop"]), dtype=np.int64)
    if not len(frame):
        return frame, [], np.empty(0, dtype=object)
    if roles.text not in frame.columns:
        raise DataError(f"shard {where} lacks the text column {roles.text!r} that the first shard has")
    if roles.id_col is not None:
        if roles.id_col not in frame.columns:
            raise DataError(f"shard {where} lacks the id column {roles.id_col!r} that the first shard has")
        ids = np.asarray(id_values(frame[roles.id_col], roles.id_col, where, "column")).astype(str).astype(object)
    else:
        ids = pos.astype(str).astype(object)
    probe = Dataset.from_arrays(np.zeros((len(frame), 1)), extra=frame[[roles.text]], ids=ids, name=where)
    return frame, text_column(probe, roles.text), ids


def _shards_of(batch: pd.DataFrame, folder: Path, roles: TextRoles) -> Any:
    """Each shard of a Ray batch as ``(item, texts, ids, pos)``: validated texts, ids and folder positions."""
    for item in batch.to_dict("records"):
        _, texts, ids = _texts_and_ids(folder, item, roles)
        yield item, texts, ids, np.arange(int(item["start"]), int(item["stop"]), dtype=np.int64)


# --------------------------------------------------------------------------- exact dedup


def _text_hash_batch(batch: pd.DataFrame, *, folder: str, roles: TextRoles, normalize: bool) -> pd.DataFrame:
    from ..featurize.normalize import normalize_text

    parts = []
    for _, texts, ids, pos in _shards_of(batch, Path(folder), roles):
        forms = [normalize_text(t) for t in texts] if normalize else texts
        h = [hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest() for t in forms]
        parts.append(pd.DataFrame({"h": pd.Series(h, dtype=object), "pos": pos, "id": pd.Series(ids, dtype=object)}))
    return pd.concat(parts, ignore_index=True)


def exact_text_rows(items: list[dict[str, Any]], folder: Path, roles: TextRoles, *, normalize: bool = True) -> Any:
    """A Ray Dataset of ``(h, pos, id)``: the text hash of every row (normalised text by default)."""
    return map_shards(items, _text_hash_batch, folder=str(folder), roles=roles, normalize=normalize)


# --------------------------------------------------------------------------- quality rules


def _quality_batch(batch: pd.DataFrame, *, folder: str, roles: TextRoles, params: dict[str, Any]) -> pd.DataFrame:
    from ..dataset import Dataset
    from ..select.quality_rules import rule_failures

    root = Path(folder)
    parts = []
    for item, texts, ids, pos in _shards_of(batch, root, roles):
        if not len(pos):
            continue
        probe = Dataset.from_arrays(
            np.zeros((len(texts), 1)), extra=pd.DataFrame({roles.text: texts}), ids=ids, text_column=roles.text,
            name=_where(root, item["rel"]),
        )  # fmt: skip
        fails = rule_failures(probe, **params).to_numpy(dtype=bool).any(axis=1)
        parts.append(pd.DataFrame({"pos": pos[~fails]}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"pos": np.empty(0, dtype=np.int64)})


def quality_kept(items: list[dict[str, Any]], folder: Path, roles: TextRoles, params: dict[str, Any]) -> np.ndarray:
    """Sorted positions of the rows passing every enabled quality rule (evaluated shard by shard)."""
    from ..select.quality_rules import quality_rules_select

    quality_rules_select.check_params(**params)  # unknown rules and bad thresholds fail before Ray
    kept = map_shards(items, _quality_batch, folder=str(folder), roles=roles, params=params).to_pandas()
    return np.sort(kept["pos"].to_numpy(dtype=np.int64)) if len(kept) else np.empty(0, dtype=np.int64)


# --------------------------------------------------------------------------- MinHash


def _signature_batch(batch: pd.DataFrame, *, folder: str, roles: TextRoles, p: dict[str, Any]) -> pd.DataFrame:
    from ..select.minhash import band_keys, minhash_signatures

    parts = []
    for _, texts, ids, pos in _shards_of(batch, Path(folder), roles):
        sig = minhash_signatures(
            texts, unit=p["unit"], ngram=p["ngram"], num_perm=p["num_perm"], seed=p["seed"], n_jobs=1
        )
        keys = band_keys(sig, p["bands"], p["rows"]).view(np.int64)  # Arrow-friendly, same equality
        cols: dict[str, Any] = {"pos": pos, "id": pd.Series(ids, dtype=object),
                                "sig": pd.Series([r.tobytes() for r in sig], dtype=object)}  # fmt: skip
        for b in range(p["bands"]):
            cols[f"k{b}"] = keys[b]
        parts.append(pd.DataFrame(cols))
    return pd.concat(parts, ignore_index=True)


def _band_rows(batch: pd.DataFrame, *, bands: int) -> pd.DataFrame:
    pos = batch["pos"].to_numpy(dtype=np.int64)
    return pd.DataFrame(
        {
            "band": np.repeat(np.arange(bands, dtype=np.int64), len(pos)),
            "key": np.concatenate([batch[f"k{b}"].to_numpy(dtype=np.int64) for b in range(bands)]),
            "pos": np.tile(pos, bands),
        }
    )


def _bucket_candidates(group: pd.DataFrame) -> pd.DataFrame:
    from ..select.minhash import bucket_pairs

    pairs = bucket_pairs(np.sort(group["pos"].to_numpy(dtype=np.int64)))
    return pd.DataFrame({"a": pairs[:, 0], "b": pairs[:, 1]})


def _as_pair_rows(batch: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"a": batch["a"].to_numpy(np.int64), "b": batch["b"].to_numpy(np.int64),
                         "sig": pd.Series([b""] * len(batch), dtype=object)})  # fmt: skip


def _as_sig_rows(batch: pd.DataFrame, *, key: str) -> pd.DataFrame:
    other = "b" if key == "a" else "a"
    return pd.DataFrame({key: batch["pos"].to_numpy(np.int64), other: np.full(len(batch), -1, dtype=np.int64),
                         "sig": batch["sig"]})  # fmt: skip


def _attach_first(group: pd.DataFrame) -> pd.DataFrame:
    """Group of row ``a``: its signature row (b = -1) and its candidate pairs; each distinct pair once, with sig(a)."""
    own = group[group["b"] < 0]
    pairs = np.unique(group.loc[group["b"] >= 0, "b"].to_numpy(np.int64))
    if own.empty or not len(pairs):
        return pd.DataFrame(
            {"a": np.empty(0, np.int64), "b": np.empty(0, np.int64), "sig": pd.Series([], dtype=object)}
        )
    a = int(group["a"].iloc[0])
    sig = own["sig"].iloc[0]
    return pd.DataFrame({"a": np.full(len(pairs), a, np.int64), "b": pairs, "sig": pd.Series([sig] * len(pairs))})


def _verify_second(group: pd.DataFrame, *, threshold: float) -> pd.DataFrame:
    """Group of row ``b``: its signature row (a = -1) and the pairs (a, b, sig(a)); the pairs at or above threshold."""
    own = group[group["a"] < 0]
    half = group[group["a"] >= 0]
    if own.empty or half.empty:
        return pd.DataFrame({"i": np.empty(0, np.int64), "j": np.empty(0, np.int64), "similarity": np.empty(0)})
    sig_b = np.frombuffer(own["sig"].iloc[0], dtype=np.uint64)
    sig_a = np.stack([np.frombuffer(s, dtype=np.uint64) for s in half["sig"]])
    sim = (sig_a == sig_b[None, :]).mean(axis=1)
    keep = sim >= threshold - 1e-12
    return pd.DataFrame({"i": half["a"].to_numpy(np.int64)[keep], "j": np.full(int(keep.sum()), int(own["b"].iloc[0])),
                         "similarity": sim[keep]})  # fmt: skip


@dataclass(frozen=True)
class MinHashOutcome:
    """What the sharded MinHash found.

    Attributes
    ----------
    dropped : sorted positions of the rows that are not their cluster's representative.
    pairs : the verified pairs (i < j positions, estimated Jaccard), sorted.
    clusters : the (cluster_id, id, representative_id, similarity) table, or None if not asked.
    band_groups : how many (band, key) buckets the Ray Data group-by formed.
    """

    dropped: np.ndarray
    pairs: pd.DataFrame
    clusters: pd.DataFrame | None
    band_groups: int


def minhash_on_workers(
    items: list[dict[str, Any]],
    folder: Path,
    roles: TextRoles,
    p: dict[str, Any],
    *,
    keep: str | None = None,
    scores: pd.DataFrame | None = None,
    want_clusters: bool = False,
) -> MinHashOutcome:
    """MinHash + LSH near-duplicate clusters over the shards, banded and verified by Ray Data group-bys."""
    from ..select.minhash import cluster_table, components, representatives

    partitions = int(max(1, min(len(items), 32)))
    sigs = map_shards(items, _signature_batch, folder=str(folder), roles=roles, p=p).materialize()
    bands = sigs.map_batches(_band_rows, batch_format="pandas", fn_kwargs={"bands": p["bands"]})
    grouped = bands.groupby(["band", "key"], num_partitions=partitions)
    candidates = grouped.map_groups(_bucket_candidates, batch_format="pandas").materialize()
    n_groups = int(bands.groupby(["band", "key"], num_partitions=partitions).count().count())
    first = candidates.map_batches(_as_pair_rows, batch_format="pandas").union(
        sigs.map_batches(_as_sig_rows, batch_format="pandas", fn_kwargs={"key": "a"})
    )
    half = first.groupby("a", num_partitions=partitions).map_groups(_attach_first, batch_format="pandas")
    second = half.union(sigs.map_batches(_as_sig_rows, batch_format="pandas", fn_kwargs={"key": "b"}))
    verified = second.groupby("b", num_partitions=partitions).map_groups(
        _verify_second, batch_format="pandas", fn_kwargs={"threshold": float(p["threshold"])}
    )
    pairs = verified.to_pandas()
    pairs = pairs.astype({"i": np.int64, "j": np.int64}).sort_values(["i", "j"], kind="stable").reset_index(drop=True)
    members = np.unique(np.concatenate([pairs["i"].to_numpy(), pairs["j"].to_numpy()])).astype(np.int64)
    if not len(members):
        return MinHashOutcome(np.empty(0, np.int64), pairs, _empty_clusters() if want_clusters else None, n_groups)
    local = pd.DataFrame({"i": np.searchsorted(members, pairs["i"]), "j": np.searchsorted(members, pairs["j"])})
    labels = components(len(members), local)
    need_rows = want_clusters or keep is not None
    member_ids = member_sig = None
    if need_rows:
        rows = sigs.map_batches(_member_rows, batch_format="pandas", fn_kwargs={"members": members}).to_pandas()
        rows = rows.sort_values("pos").reset_index(drop=True)
        member_ids = rows["id"].astype(str).to_numpy(dtype=object)
        member_sig = np.stack([np.frombuffer(s, dtype=np.uint64) for s in rows["sig"]])
    goodness = None
    if keep is not None:
        goodness = _goodness(keep, scores, member_ids)
    reps = representatives(labels, goodness)
    dropped = np.setdiff1d(members, members[reps])
    clusters = cluster_table(member_sig, member_ids, labels) if want_clusters else None
    return MinHashOutcome(dropped, pairs, clusters, n_groups)


def _member_rows(batch: pd.DataFrame, *, members: np.ndarray) -> pd.DataFrame:
    """The (pos, id, sig) rows of the cluster members in this batch."""
    keep = np.isin(batch["pos"].to_numpy(np.int64), members)
    return batch.loc[keep, ["pos", "id", "sig"]]


def _empty_clusters() -> pd.DataFrame:
    return pd.DataFrame({"cluster_id": np.empty(0, np.int64), "id": pd.Series([], dtype=object),
                         "representative_id": pd.Series([], dtype=object), "similarity": np.empty(0)})  # fmt: skip


def _goodness(keep: str, scores: pd.DataFrame | None, ids: np.ndarray) -> np.ndarray:
    """``-hardness_sign(keep) * score`` of the cluster members, by id (higher = kept first)."""
    from ..scores import hardness_sign

    if scores is None:
        raise ConfigError(f"keep={keep!r} reads a score column; give --scores FILE")
    frame = scores if isinstance(scores, pd.DataFrame) else pd.DataFrame(scores)
    if keep not in frame.columns:
        raise DataError(f"keep={keep!r} is not a column of the scores (columns: {', '.join(map(str, frame.columns))})")
    by_id = frame[keep]
    by_id.index = by_id.index.astype(str)
    missing = [i for i in ids if i not in by_id.index]
    if missing:
        raise DataError(f"the scores have no value for id {missing[0]!r} (keep={keep!r})")
    return -hardness_sign(keep) * by_id.loc[list(ids)].to_numpy(dtype=np.float64)


# --------------------------------------------------------------------------- embedding


class _EmbedShards:
    """A Ray Data actor holding one sentence encoder: each call embeds one shard's texts."""

    def __init__(self, folder: str, roles: TextRoles, options: dict[str, Any]):
        import torch

        from ..featurize import embed_with_info

        torch.set_num_threads(1)
        self.folder, self.roles, self.options = Path(folder), roles, options
        embed_with_info(["warm the encoder"], cache=False, **options)  # load it once, before the first shard

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        from ..featurize import embed_with_info

        parts = []
        for _, texts, _, pos in _shards_of(batch, self.folder, self.roles):
            if not len(pos):
                continue
            emb, info = embed_with_info(texts, **self.options)
            meta = json.dumps({k: v for k, v in info.items() if k in _META_KEYS}, sort_keys=True)
            parts.append(pd.DataFrame({"pos": pos, "vec": pd.Series([r.tobytes() for r in emb], dtype=object),
                                       "info": [meta] + [""] * (len(pos) - 1),
                                       "truncated": [int(info["n_truncated"])] + [0] * (len(pos) - 1),
                                       "cached": [int(info["n_cached"])] + [0] * (len(pos) - 1)}))  # fmt: skip
        if not parts:
            return pd.DataFrame({"pos": np.empty(0, np.int64), "vec": pd.Series([], dtype=object),
                                 "info": pd.Series([], dtype=object), "truncated": np.empty(0, np.int64),
                                 "cached": np.empty(0, np.int64)})  # fmt: skip
        return pd.concat(parts, ignore_index=True)


def embed_shards(
    items: list[dict[str, Any]], folder: Path, roles: TextRoles, *, n_actors: int, options: dict[str, Any] | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """(n, d) float32 embeddings of every row by position, and the encoder's metadata with summed counts."""
    import ray.data

    opts = dict(options or {})
    rds = ray.data.from_items(items, override_num_blocks=len(items))
    out = rds.map_batches(
        _EmbedShards, batch_size=1, batch_format="pandas", num_cpus=1, concurrency=max(1, int(n_actors)),
        fn_constructor_kwargs={"folder": str(folder), "roles": roles, "options": opts},
    ).to_pandas()  # fmt: skip
    out = out.sort_values("pos").reset_index(drop=True)
    n = int(items[-1]["stop"]) if items else 0
    if len(out) != n or not np.array_equal(out["pos"].to_numpy(), np.arange(n)):
        raise RuntimeError(f"the embedding actors returned {len(out)} rows for {n}")
    emb = np.stack([np.frombuffer(v, dtype=np.float32) for v in out["vec"]]) if n else np.empty((0, 0), np.float32)
    info = json.loads(next(m for m in out["info"] if m)) if n else {}
    info.update({"n_texts": n, "n_truncated": int(out["truncated"].sum()), "n_cached": int(out["cached"].sum()),
                 "engine": "ray"})  # fmt: skip
    return emb, info


def embedded_dataset(folder: Path, emb: np.ndarray, info: dict[str, Any], roles: TextRoles) -> Any:
    """The folder as a Dataset whose features are ``emb`` (read on the driver as the local engine reads it)."""
    from ..io import readers

    frame = readers.read_frame(folder, what=f"a table with the text column {roles.text!r}")
    if len(frame) != len(emb):
        raise DataError(f"the shards of {folder} changed while being read ({len(frame)} rows now, {len(emb)} before)")
    frame = frame.copy()
    frame[_EMB] = list(emb)
    ds = readers.from_table(frame, label=roles.label, features=[_EMB], name=folder.name)
    return dataclasses.replace(ds, text_column=roles.text, embedding=info, feature_columns=(), left_out_columns=())


# --------------------------------------------------------------------------- output


def _write_batch(
    batch: pd.DataFrame,
    *,
    folder: str,
    id_col: str | None,
    refs: list[Any],
    sel_tmp: str | None,
    export_tmp: str | None,
    order: str,
) -> pd.DataFrame:
    import ray

    from ..io.readers import id_values, write_table
    from ..store import atomic_write_parquet

    root = Path(folder)
    pick_pos, pick_rank, scores = ray.get(refs)
    written = []
    for item in batch.to_dict("records"):
        lo, hi = np.searchsorted(pick_pos, [int(item["start"]), int(item["stop"])])
        pos, rank = pick_pos[lo:hi], pick_rank[lo:hi]
        frame = _frame(root, item)
        local = pos - int(item["start"])
        where = _where(root, item["rel"])
        if id_col is not None and len(frame):
            ids = np.asarray(id_values(frame[id_col], id_col, where, "column")).astype(str)
        else:
            ids = np.arange(int(item["start"]), int(item["stop"])).astype(str)
        if sel_tmp is not None:
            target = Path(sel_tmp) / Path(item["rel"]).with_suffix(".parquet")
            target.parent.mkdir(parents=True, exist_ok=True)
            sel = pd.DataFrame({"id": ids[local], "index": pos, "rank": rank})
            atomic_write_parquet(sel.reset_index(drop=True), target)
        if export_tmp is not None:
            from ..io.readers import read_shard

            rows = read_shard(root, Path(item["path"]), hive=False).iloc[local]  # the file's own columns
            if scores is not None:
                extra = scores.reindex(pd.Index(ids[local], dtype=object))
                for c in extra.columns:
                    rows[c if c not in rows.columns else f"score_{c}"] = extra[c].to_numpy()
            if order == "pick":
                rows = rows.iloc[np.argsort(rank, kind="stable")]
            target = Path(export_tmp) / item["rel"]
            target.parent.mkdir(parents=True, exist_ok=True)
            if rows.empty and target.suffix.lower() == ".jsonl":
                target.write_text("")
            else:
                write_table(rows.reset_index(drop=True), target)
        written.append(len(pos))
    return pd.DataFrame({"shard": batch["shard"].to_numpy(), "rows": written})


def check_export_shards(items: Sequence[dict[str, Any]]) -> None:
    """Every input shard can be written back in its own format (.parquet, .jsonl, .csv, .tsv)."""
    bad = [it["rel"] for it in items if Path(it["rel"]).suffix.lower() not in (".parquet", ".jsonl", ".csv", ".tsv")]
    if bad:
        raise DataError(
            f"--export writes each shard in its input format, and {bad[0]} cannot be written "
            "(supported: .parquet, .jsonl, .csv, .tsv; not .ndjson or .gz)"
        )


def write_outputs(
    items: list[dict[str, Any]],
    folder: Path,
    id_col: str | None,
    picks: np.ndarray,
    *,
    sel_tmp: Path | None,
    export_tmp: Path | None,
    order: str = "input",
    scores: pd.DataFrame | None = None,
) -> int:
    """Write the selection and/or the kept rows of ``picks`` (positions in pick order), one task per shard."""
    import ray

    if order not in ("input", "pick"):
        raise ConfigError(f"order == {order!r}, must be 'input' or 'pick'")
    picks = np.asarray(picks, dtype=np.int64)
    by_pos = np.argsort(picks, kind="stable")
    pos_sorted, rank_sorted = picks[by_pos], by_pos.astype(np.int64)
    frame = None
    if scores is not None:
        frame = scores.copy()
        frame.index = frame.index.astype(str)
    refs = [ray.put(pos_sorted), ray.put(rank_sorted), ray.put(frame)]
    done = map_shards(items, _write_batch, folder=str(folder), id_col=id_col, refs=refs,
                      sel_tmp=None if sel_tmp is None else str(sel_tmp),
                      export_tmp=None if export_tmp is None else str(export_tmp), order=order).take_all()  # fmt: skip
    return int(sum(r["rows"] for r in done))


def text_dataset(
    items: list[dict[str, Any]],
    folder: Path,
    roles: TextRoles,
    *,
    embed: bool,
    n_actors: int,
    options: dict[str, Any] | None = None,
) -> Any:
    """The folder as a Dataset with its text column: embedded on the workers (``embed``), else with no features.

    Without ``embed`` (every requested operator reads only the raw text, like the quality
    rules) the features are one zero column and nothing is encoded. ``options`` go to
    :func:`datafactors.featurize.embed_with_info` on every actor (e.g. ``{"backend": "onnx"}``).
    """
    if embed:
        emb, info = embed_shards(items, folder, roles, n_actors=n_actors, options=options)
        return embedded_dataset(folder, emb, info, roles)
    from ..featurize.raw_text import read_text_rows

    return read_text_rows(folder, roles.text, label=roles.label)
