"""Train/test decontamination: find and drop training rows that near-duplicate an evaluation row.

Two ways to call a pair "near-duplicate":

- ``method="minhash"`` (when both sides have text): MinHash + LSH as in
  :mod:`datafactors.select.minhash`, with the LSH buckets shared by the training and the
  evaluation texts and only cross pairs kept; a pair is contaminated when the estimated
  Jaccard is ``>= threshold``.
- ``method="cosine"`` (no text): the cosine of the embeddings (``ds.X`` or given vectors)
  is ``>= cosine_threshold``, searched exactly (blockwise, no n x m matrix).

:func:`contaminated_rows` lists the pairs (for the profile and the report); the
``decontaminate`` filter selector keeps every training row with no such pair.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from ..dataset import Dataset
from . import REGISTRY, filter_selector
from ._common import requires
from .minhash import check_minhash_params, minhash_signatures, verified_pairs

__all__ = ["contaminated_rows"]

_COS_BLOCK = 4096


def _check_cos(value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not 0.0 < float(value) <= 1.0:
        raise ConfigError(f"cosine_threshold == {value!r}, must be a number in (0, 1]")
    return float(value)


def _texts_of(side: Any, what: str) -> list[str] | None:
    if isinstance(side, Dataset):
        return side.texts(what) if getattr(side, "text_column", None) is not None else None
    if isinstance(side, (list, tuple, pd.Series, np.ndarray)) and len(side) and all(isinstance(t, str) for t in side):
        return list(side)
    return None


def _ids_of(side: Any, n: int) -> np.ndarray:
    if isinstance(side, Dataset):
        return np.asarray(side.ids).astype(str)
    return np.arange(n).astype(str)


def _vectors_of(side: Any, name: str) -> np.ndarray:
    from .._arrays import check_embeddings

    if isinstance(side, Dataset):
        return check_embeddings(side.X, name=name)
    return check_embeddings(side, name=name)


def _cosine_pairs(A: np.ndarray, B: np.ndarray, threshold: float) -> pd.DataFrame:
    """Pairs (i in A, j in B) with cosine >= threshold, blockwise."""
    from .._neighbors import unit_rows

    UA, UB = unit_rows(A), unit_rows(B)
    if UA.shape[1] != UB.shape[1]:
        raise DataError(f"training vectors have {UA.shape[1]} dimensions, evaluation vectors {UB.shape[1]}")
    ii, jj, ss = [], [], []
    for s in range(0, len(UB), _COS_BLOCK):
        G = UA @ UB[s : s + _COS_BLOCK].T
        i, j = np.nonzero(G >= threshold - 1e-6)  # float32 cosine of identical unit rows reads 0.99999994
        ii.append(i)
        jj.append(j + s)
        ss.append(np.minimum(G[i, j], 1.0))
    return pd.DataFrame({"i": np.concatenate(ii), "j": np.concatenate(jj), "similarity": np.concatenate(ss)})


def contaminated_rows(
    train: Any,
    eval: Any,
    *,
    method: str = "auto",
    threshold: float = 0.8,
    cosine_threshold: float = 0.95,
    unit: str = "word",
    ngram: int = 5,
    num_perm: int = 128,
    bands: int = 16,
    rows: int = 8,
    seed: int = 0,
) -> pd.DataFrame:
    """Every (evaluation row, training row) pair that is a near-duplicate.

    Parameters
    ----------
    train, eval : Datasets (text from their text column, else their features), lists of
        texts, or (n, d) / (m, d) embeddings.
    method : "minhash" (text), "cosine" (vectors) or "auto" (MinHash when both sides have
        text, else cosine).
    threshold : estimated Jaccard in (0, 1] for MinHash.
    cosine_threshold : cosine in (0, 1] for embeddings.
    unit, ngram, num_perm, bands, rows, seed : MinHash settings (see
        :func:`datafactors.select.minhash.near_duplicate_clusters`).

    Returns
    -------
    DataFrame with columns ``eval_id``, ``train_id``, ``similarity`` (estimated Jaccard or
    cosine) and ``method``, sorted by eval row then train row. Ids are the Datasets' ids, or
    row numbers as strings.

    Examples
    --------
    >>> tr = ["the quick brown fox jumps over the lazy dog", "a completely different sentence is here"]
    >>> contaminated_rows(tr, ["The quick brown fox jumps over the lazy dog"]).to_dict("list")
    {'eval_id': ['0'], 'train_id': ['0'], 'similarity': [1.0], 'method': ['minhash']}
    """
    if method not in ("auto", "minhash", "cosine"):
        raise ConfigError(f"method == {method!r}, must be 'auto', 'minhash' or 'cosine'")
    t_train = _texts_of(train, "decontamination") if method != "cosine" else None
    t_eval = _texts_of(eval, "decontamination") if method != "cosine" else None
    use_minhash = method == "minhash" or (method == "auto" and t_train is not None and t_eval is not None)
    if use_minhash:
        if t_train is None or t_eval is None:
            side = "the training set" if t_train is None else "the evaluation set"
            raise DataError(f"method='minhash' reads raw text, and {side} has none: pass texts or a Dataset with text=")
        p = check_minhash_params(
            unit=unit, ngram=ngram, num_perm=num_perm, bands=bands, rows=rows, threshold=threshold, seed=seed
        )
        n = len(t_train)
        sig = minhash_signatures(
            t_train + t_eval, unit=p["unit"], ngram=p["ngram"], num_perm=p["num_perm"], seed=p["seed"]
        )
        side = np.r_[np.zeros(n, dtype=bool), np.ones(len(t_eval), dtype=bool)]
        vp = verified_pairs(sig, p, between=side)
        # pairs are (i < j): the training row is i, the evaluation row j - n
        pairs = pd.DataFrame({"i": vp["i"], "j": vp["j"] - n, "similarity": vp["similarity"]})
        n_train, n_eval, how = n, len(t_eval), "minhash"
    else:
        thr = _check_cos(cosine_threshold)
        A, B = _vectors_of(train, "train embeddings"), _vectors_of(eval, "eval embeddings")
        pairs = _cosine_pairs(A, B, thr)
        n_train, n_eval, how = len(A), len(B), "cosine"
    tid, eid = _ids_of(train, n_train), _ids_of(eval, n_eval)
    pairs = pairs.sort_values(["j", "i"], kind="stable")
    return pd.DataFrame(
        {
            "eval_id": eid[pairs["j"].to_numpy(dtype=np.int64)],
            "train_id": tid[pairs["i"].to_numpy(dtype=np.int64)],
            "similarity": pairs["similarity"].to_numpy(dtype=np.float64),
            "method": how,
        }
    ).reset_index(drop=True)


def _target_side(ds: Dataset, target: Any, embeddings: np.ndarray | None) -> tuple[Any, Any, np.ndarray]:
    """(train side, eval side, mask of ds rows that are themselves the target) from ``target=``."""
    none = np.zeros(ds.n, dtype=bool)
    if target is None:
        raise DataError("decontaminate needs target=: the evaluation set (a Dataset, a list of texts, or ids of rows)")
    if isinstance(target, Dataset):
        return ds, target, none
    if isinstance(target, str):
        raise DataError(
            f"target == {target!r}: give a Dataset, a list of texts or a list of row ids "
            "('test' / 'ood' are resolved by a run config)"
        )
    values = list(target) if isinstance(target, (Sequence, np.ndarray, pd.Series, pd.Index)) else None
    if values is None or not values:
        raise DataError(
            f"target must be a non-empty Dataset, list of texts or list of ids, got {type(target).__name__}"
        )
    ids = pd.Index(np.asarray(ds.ids).astype(str))
    as_ids = pd.Index([str(v) for v in values])
    if as_ids.isin(ids).all():
        rows = ids.get_indexer(as_ids)
        mask = np.zeros(ds.n, dtype=bool)
        mask[rows] = True
        return ds.subset(np.flatnonzero(~mask)), ds.subset(rows), mask
    if all(isinstance(v, str) for v in values):
        return ds, values, none
    arr = np.asarray(values)
    if arr.ndim == 2:
        return (ds if embeddings is None else embeddings), arr, none
    raise DataError(f"target ids not in the dataset, e.g. {next(v for v in as_ids if v not in ids)!r}")


@REGISTRY.register("decontaminate")
@filter_selector
@requires("target")
def decontaminate_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    target: Any = None,
    method: str = "auto",
    threshold: float = 0.8,
    cosine_threshold: float = 0.95,
    unit: str = "word",
    ngram: int = 5,
    num_perm: int = 128,
    bands: int = 16,
    rows: int = 8,
    minhash_seed: int = 0,
) -> np.ndarray:
    """Keep the training rows that near-duplicate no row of ``target`` (in input order).

    ``target`` is the evaluation set: a Dataset, a list of texts, (m, d) embeddings, or ids
    of rows of ``ds`` (those rows are the evaluation set and are dropped too). MinHash on
    text when both sides have text (``threshold`` on the estimated Jaccard), else cosine of
    the embeddings (``cosine_threshold``); see :func:`contaminated_rows`.
    """
    train, evals, is_target = _target_side(ds, target, embeddings)
    if embeddings is not None and train is ds and not isinstance(evals, list):
        train = embeddings
    pairs = contaminated_rows(
        train,
        evals,
        method=method,
        threshold=threshold,
        cosine_threshold=cosine_threshold,
        unit=unit,
        ngram=ngram,
        num_perm=num_perm,
        bands=bands,
        rows=rows,
        seed=minhash_seed,
    )
    rest = np.flatnonzero(~is_target)
    local = pd.Index(_ids_of(train, len(rest))).get_indexer(pairs["train_id"].unique())
    bad = np.zeros(ds.n, dtype=bool)
    bad[rest[local]] = True
    return np.flatnonzero(~bad & ~is_target)
