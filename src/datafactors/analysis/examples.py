"""The per-example views behind every score: which examples each view lists, and what draws them.

Two tables, written by the run into its folder (:func:`write_examples`) and read by the
report's Examples section, ``df.report.examples`` and ``datafactors show``:

``example_views.parquet`` (:data:`VIEW_COLUMNS`), one row per (view, listed example):
    ``view`` (str key), ``title`` (str), ``rank`` (int, 0-based within the view), ``id``
    (str), ``value`` (float or NaN: what ranks it), ``detail`` (str JSON or None).
``examples.parquet`` (:data:`EXAMPLE_COLUMNS`, then the data's own columns, then the scores),
    one row per distinct listed example: ``id``, ``label`` (class name or None), ``kind``
    (``"text"``, ``"image"``, ``"signal"`` or ``"tabular"``), ``text`` (the full text),
    ``pixels`` (list of float32 in [0, 1], min-max scaled over the whole dataset),
    ``shape`` (list of int), ``signal`` (list of float32, raw), ``features`` (JSON
    ``{column: value}`` of at most :data:`MAX_FEATURES` feature columns), each None where it
    does not apply; then every non-feature column of ``ds.extra`` except the text column
    (``extra_`` prefixed on a name clash), then every score column of scores.parquet
    (``score_`` prefixed on a name clash). A column without a single value is stored with
    Arrow's null type.

View keys, each present only where the run has data for it:

- ``hardest/<col>``, ``easiest/<col>``: every score column declared ``harder`` or ``easier``
  (hardest = highest of a ``harder`` column, lowest of an ``easier`` one); ``value`` = the score.
- ``never_learned``: forgetting = +inf, in scores order.
- ``cartography/hard-to-learn``, ``cartography/ambiguous``, ``cartography/easy``: the regions
  of :func:`cartography_regions`; ranked by confidence (ascending), variability (descending)
  and confidence (descending).
- ``label_issues``: lowest cleanlab ``label_quality``; detail: given and predicted label.
- ``duplicates``: members of each near-duplicate cluster of duplicates.parquet (largest first,
  its representative first); ``value`` = similarity to the representative.
- ``outliers/knn``: highest ``knn_uniqueness`` (else lowest ``knn_density``).
- ``dropped_vs_random/<strategy>/<budget>``, ``kept_vs_random/<strategy>/<budget>``: what random
  kept and the strategy did not (and the other way round) at the first seed both have, hardest
  first by the strategy's score (NaN ``value`` and pick order when it has none).

JSON in ``detail`` and ``features`` is strict (``JSON.parse`` reads it): NaN is ``null``,
infinities are the strings ``"+inf"`` / ``"-inf"``.

>>> from datafactors.analysis import write_examples
>>> write_examples(RunStore("runs/my-run"), train)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._errors import DataError

__all__ = [
    "CARTOGRAPHY_FRACTION",
    "CARTOGRAPHY_REGIONS",
    "DEFAULT_TOP",
    "EXAMPLE_COLUMNS",
    "MAX_FEATURES",
    "VIEW_COLUMNS",
    "cartography_regions",
    "example_rows",
    "example_views",
    "predicted_labels",
    "write_examples",
]

DEFAULT_TOP = 200
MAX_FEATURES = 32
VIEW_COLUMNS = ["view", "title", "rank", "id", "value", "detail"]
EXAMPLE_COLUMNS = ["id", "label", "kind", "text", "pixels", "shape", "signal", "features"]
# Swayamdipta et al. (2020) train on the 33% most ambiguous / hard-to-learn / easy-to-learn examples.
CARTOGRAPHY_FRACTION = 1 / 3
# region -> (column it is ranked by, True for highest first), in the order the views list them
CARTOGRAPHY_REGIONS: dict[str, tuple[str, bool]] = {
    "hard-to-learn": ("confidence", False),
    "ambiguous": ("variability", True),
    "easy": ("confidence", True),
}
_REGION_TITLES = {"hard-to-learn": "hard to learn", "ambiguous": "ambiguous", "easy": "easy to learn"}
BASELINE = "random"


# ---------------------------------------------------------------- small helpers


def _clean(v: Any) -> Any:
    """A JSON-safe copy: numpy scalars unwrapped, NaN -> None, infinities -> "+inf" / "-inf"."""
    if isinstance(v, Mapping):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple | np.ndarray):
        return [_clean(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "+inf" if v > 0 else "-inf"
    return v


def _json(obj: Any) -> str | None:
    return None if obj is None else json.dumps(_clean(obj), allow_nan=False, ensure_ascii=False)


def _fmt_budget(b: float) -> str:
    return f"{b:.0%}" if 0 < b <= 1 else f"{b:g} examples"


def _score_frame(scores: pd.DataFrame | None) -> pd.DataFrame | None:
    """Scores indexed by id as str (from an ``id`` column or the index)."""
    if scores is None:
        return None
    frame = scores.set_index("id") if "id" in scores.columns else scores
    frame = frame.copy()
    frame.index = pd.Index(frame.index.astype(str), name="id")
    return frame


def _score_columns(frame: pd.DataFrame) -> list[str]:
    return [str(c) for c in frame.columns if str(c) != "label"]


def _orientation(column: str) -> str | None:
    from ..scores import COLUMNS

    c = COLUMNS.get(column)
    return None if c is None else c.orientation


def _ranked(key: str, title: str, ids: Any, values: Any, details: list | None = None) -> pd.DataFrame:
    ids = [str(i) for i in ids]
    return pd.DataFrame(
        {
            "view": key,
            "title": title,
            "rank": np.arange(len(ids), dtype=np.int64),
            "id": ids,
            "value": np.asarray(values, dtype=np.float64) if len(ids) else np.empty(0),
            "detail": details if details is not None else [None] * len(ids),
        }
    )


def _order(values: np.ndarray, highest_first: bool) -> np.ndarray:
    """Row positions of the finite-or-infinite (not NaN) values, sorted; ties keep row order."""
    v = np.asarray(values, dtype=np.float64)
    keep = np.flatnonzero(~np.isnan(v))
    key = -v[keep] if highest_first else v[keep]
    return keep[np.argsort(key, kind="stable")]


def _empty_views() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "view": pd.Series(dtype=object),
            "title": pd.Series(dtype=object),
            "rank": pd.Series(dtype=np.int64),
            "id": pd.Series(dtype=object),
            "value": pd.Series(dtype=np.float64),
            "detail": pd.Series(dtype=object),
        }
    )


# ---------------------------------------------------------------- cartography


def cartography_regions(confidence: Any, variability: Any, *, fraction: float = CARTOGRAPHY_FRACTION) -> np.ndarray:
    """The data-map region of each example: "ambiguous", "hard-to-learn", "easy" or "" (none).

    Following Swayamdipta et al. (2020): *ambiguous* are the ``fraction`` of examples with the
    highest variability; of the others, *hard-to-learn* are those among the ``fraction`` with
    the lowest confidence and *easy* those among the ``fraction`` with the highest. Each share
    is ``ceil(fraction * n)`` of the ``n`` examples with a finite confidence and variability
    (the others get ""); ties keep row order.

    Parameters
    ----------
    confidence, variability : (n_samples,) mean and std of the gold-label probability.
    fraction : share of examples in each of the three cuts, in (0, 1].

    Returns
    -------
    (n_samples,) object array of region names.

    Examples
    --------
    >>> cartography_regions([0.1, 0.5, 0.9], [0.05, 0.3, 0.02]).tolist()
    ['hard-to-learn', 'ambiguous', 'easy']
    """
    conf = np.asarray(confidence, dtype=np.float64)
    var = np.asarray(variability, dtype=np.float64)
    if conf.shape != var.shape or conf.ndim != 1:
        raise DataError(f"confidence and variability must both have shape (n,), got {conf.shape} and {var.shape}")
    if not 0 < fraction <= 1:
        raise DataError(f"fraction == {fraction!r}, must be in (0, 1]")
    out = np.full(len(conf), "", dtype=object)
    finite = np.flatnonzero(np.isfinite(conf) & np.isfinite(var))
    k = math.ceil(fraction * len(finite))
    if k == 0:
        return out
    ambiguous = finite[np.argsort(-var[finite], kind="stable")[:k]]
    out[ambiguous] = "ambiguous"
    lowest = finite[np.argsort(conf[finite], kind="stable")[:k]]
    out[lowest[out[lowest] == ""]] = "hard-to-learn"
    highest = finite[np.argsort(-conf[finite], kind="stable")[:k]]
    out[highest[out[highest] == ""]] = "easy"
    return out


# ---------------------------------------------------------------- the views


def _tables(store_or_tables: Any) -> dict[str, Any]:
    """scores / selections / duplicates frames and the strategies' score columns, from a store or a mapping."""
    if isinstance(store_or_tables, Mapping):
        t = dict(store_or_tables)
        return {
            "scores": t.get("scores"),
            "selections": t.get("selections"),
            "duplicates": t.get("duplicates"),
            "strategy_scores": dict(t.get("strategy_scores") or {}),
        }
    store = store_or_tables
    return {
        "scores": store.read_parquet("scores.parquet"),
        "selections": store.read_parquet("selections.parquet"),
        "duplicates": store.read_parquet("duplicates.parquet"),
        "strategy_scores": _strategy_scores(store.path / "config.yaml"),
    }


def _strategy_scores(path: Any) -> dict[str, str | None]:
    """``{strategy name: score column}`` from a run's config.yaml (empty when unreadable)."""
    import yaml

    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    out: dict[str, str | None] = {}
    strategies = (cfg.get("strategies") or []) if isinstance(cfg, dict) else []
    for st in strategies:
        if isinstance(st, dict) and "name" in st:
            params = st.get("params") if isinstance(st.get("params"), dict) else {}
            out[str(st["name"])] = st.get("score") or params.get("score")
    return out


def _label_names(ds: Any, frame: pd.DataFrame) -> pd.Series:
    """Given class name by id: from ``ds`` when it has labels, else the scores' ``label`` column."""
    if ds is not None and getattr(ds, "y", None) is not None:
        names = np.asarray(ds.class_names, dtype=object)[ds.y]
        return pd.Series(names, index=pd.Index(np.asarray(ds.ids).astype(str)))
    if "label" in frame.columns:
        return frame["label"].map(lambda v: None if pd.isna(v) else str(v))
    return pd.Series(dtype=object)


def _predicted(ds: Any, predicted: Any) -> pd.Series | None:
    if predicted is None:
        return None
    if isinstance(predicted, pd.Series):
        return pd.Series(predicted.to_numpy(dtype=object), index=predicted.index.astype(str))
    if isinstance(predicted, Mapping):
        return pd.Series({str(k): v for k, v in predicted.items()}, dtype=object)
    arr = np.asarray(predicted, dtype=object)
    if ds is None or arr.shape != (ds.n,):
        raise DataError(f"predicted must be a Series by id or an array of shape ({getattr(ds, 'n', '?')},)")
    return pd.Series(arr, index=pd.Index(np.asarray(ds.ids).astype(str)))


def _score_views(frame: pd.DataFrame, top: int) -> list[pd.DataFrame]:
    out = []
    cols = [c for c in _score_columns(frame) if _orientation(c) in ("harder", "easier")]
    for end in ("hardest", "easiest"):
        for c in cols:
            v = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64)
            harder_is_high = _orientation(c) == "harder"
            pos = _order(v, highest_first=harder_is_high == (end == "hardest"))[:top]
            if len(pos):
                out.append(_ranked(f"{end}/{c}", f"{end.capitalize()} by {c}", frame.index[pos], v[pos]))
    return out


def _never_learned(frame: pd.DataFrame, top: int) -> list[pd.DataFrame]:
    if "forgetting" not in frame.columns:
        return []
    v = pd.to_numeric(frame["forgetting"], errors="coerce").to_numpy(dtype=np.float64)
    pos = np.flatnonzero(np.isposinf(v))[:top]
    if not len(pos):
        return []
    return [_ranked("never_learned", "Never learned (forgetting = +∞)", frame.index[pos], v[pos])]


def _cartography(frame: pd.DataFrame, top: int) -> list[pd.DataFrame]:
    if not {"confidence", "variability"} <= set(frame.columns):
        return []
    conf = pd.to_numeric(frame["confidence"], errors="coerce").to_numpy(dtype=np.float64)
    var = pd.to_numeric(frame["variability"], errors="coerce").to_numpy(dtype=np.float64)
    corr = (
        pd.to_numeric(frame["correctness"], errors="coerce").to_numpy(dtype=np.float64)
        if "correctness" in frame.columns
        else np.full(len(frame), np.nan)
    )
    regions = cartography_regions(conf, var)
    out = []
    for region, (col, highest) in CARTOGRAPHY_REGIONS.items():
        v = conf if col == "confidence" else var
        masked = np.where(regions == region, v, np.nan)
        pos = _order(masked, highest_first=highest)[:top]
        if not len(pos):
            continue
        details = [_json({"confidence": conf[p], "variability": var[p], "correctness": corr[p]}) for p in pos]
        title = f"Cartography: {_REGION_TITLES[region]}"
        out.append(_ranked(f"cartography/{region}", title, frame.index[pos], v[pos], details))
    return out


def _label_issues(frame: pd.DataFrame, ds: Any, predicted: pd.Series | None, top: int) -> list[pd.DataFrame]:
    if "label_quality" not in frame.columns:
        return []
    v = pd.to_numeric(frame["label_quality"], errors="coerce").to_numpy(dtype=np.float64)
    pos = _order(v, highest_first=False)[:top]
    if not len(pos):
        return []
    given = _label_names(ds, frame)
    issue = (
        pd.to_numeric(frame["label_issue"], errors="coerce").to_numpy(dtype=np.float64)
        if "label_issue" in frame.columns
        else None
    )
    details = []
    for p in pos:
        i = frame.index[p]
        d: dict[str, Any] = {"given": given.get(i), "predicted": None if predicted is None else predicted.get(i)}
        d["label_quality"] = v[p]
        if issue is not None:
            d["label_issue"] = issue[p]
        details.append(_json(d))
    title = "Label-issue candidates (lowest label quality)"
    return [_ranked("label_issues", title, frame.index[pos], v[pos], details)]


def _duplicates(dups: pd.DataFrame | None, top: int) -> list[pd.DataFrame]:
    if dups is None or dups.empty or not {"cluster_id", "id"} <= set(dups.columns):
        return []
    d = dups
    strategy = None
    if "strategy" in d.columns:
        strategy = str(d["strategy"].iloc[0])
        d = d[d["strategy"].astype(str) == strategy]
    d = d.assign(id=d["id"].astype(str), row_=np.arange(len(d)))
    if "representative_id" in d.columns:
        d = d.assign(representative_id=d["representative_id"].astype(str))
    else:
        d = d.assign(representative_id=d.groupby("cluster_id")["id"].transform("first"))
    sim = pd.to_numeric(d["similarity"], errors="coerce") if "similarity" in d.columns else np.nan
    d = d.assign(similarity=sim, n_members_=d.groupby("cluster_id")["id"].transform("size"))
    d = d[d["n_members_"] >= 2]
    d = d.assign(not_rep_=(d["id"] != d["representative_id"]).astype(int))
    d = d.sort_values(
        ["n_members_", "cluster_id", "not_rep_", "row_"], ascending=[False, True, True, True], kind="stable"
    )
    picked: list[pd.DataFrame] = []
    n = 0
    for _, g in d.groupby("cluster_id", sort=False):
        if n and n + len(g) > top:  # whole clusters only, except a first one larger than top
            break
        picked.append(g.head(top - n))
        n += len(picked[-1])
        if n >= top:
            break
    if not picked:
        return []
    rows = pd.concat(picked)
    details = [
        _json(
            {"cluster_id": int(r.cluster_id), "representative_id": r.representative_id, "similarity": r.similarity}
            | ({"strategy": strategy} if strategy is not None else {})
            | {"cluster_size": int(r.n_members_)}
        )
        for r in rows.itertuples(index=False)
    ]
    return [_ranked("duplicates", "Near-duplicate clusters", rows["id"], rows["similarity"], details)]


def _outliers(frame: pd.DataFrame, top: int) -> list[pd.DataFrame]:
    for col, highest, title in (
        ("knn_uniqueness", True, "Outliers (highest kNN uniqueness)"),
        ("knn_density", False, "Outliers (lowest kNN density)"),
    ):
        if col in frame.columns:
            v = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
            pos = _order(v, highest_first=highest)[:top]
            if len(pos):
                return [_ranked("outliers/knn", title, frame.index[pos], v[pos])]
    return []


def _vs_random(
    selections: pd.DataFrame | None, frame: pd.DataFrame | None, strategy_scores: Mapping[str, Any], top: int
) -> list[pd.DataFrame]:
    if selections is None or selections.empty or not {"strategy", "budget", "seed", "id"} <= set(selections.columns):
        return []
    sel = selections.assign(
        strategy=selections["strategy"].astype(str),
        budget=selections["budget"].astype(float),
        seed=selections["seed"].astype(int),
        id=selections["id"].astype(str),
    )
    if "rank" not in sel.columns:
        sel = sel.assign(rank=sel.groupby(["strategy", "budget", "seed"]).cumcount())
    if BASELINE not in set(sel["strategy"]):
        return []
    base = sel[sel["strategy"] == BASELINE]
    out = []
    for (st, b), g in sel[sel["strategy"] != BASELINE].groupby(["strategy", "budget"], sort=False):
        rb = base[base["budget"] == b]
        seeds = sorted(set(g["seed"]) & set(rb["seed"]))
        if not seeds:
            continue
        s = seeds[0]
        mine = g[g["seed"] == s].sort_values("rank", kind="stable")
        theirs = rb[rb["seed"] == s].sort_values("rank", kind="stable")
        col = strategy_scores.get(st)
        if col is not None and (frame is None or col not in frame.columns or _orientation(col) is None):
            col = None
        for key, title, rows, rank_name in (
            ("dropped_vs_random", f"Dropped by {st} at {_fmt_budget(b)} that random kept", theirs, "random_rank"),
            ("kept_vs_random", f"Kept by {st} at {_fmt_budget(b)} that random dropped", mine, "strategy_rank"),
        ):
            other = set(mine["id"]) if key == "dropped_vs_random" else set(theirs["id"])
            rows = rows[~rows["id"].isin(other)]
            if rows.empty:
                continue
            if col is not None:
                from ..scores import hardness_sign

                v = pd.to_numeric(frame[col].reindex(rows["id"]), errors="coerce").to_numpy(dtype=np.float64)
                order = np.argsort(-(hardness_sign(col) * v), kind="stable")[:top]  # NaN last
                rows, values = rows.iloc[order], v[order]
            else:
                rows = rows.head(top)
                values = np.full(len(rows), np.nan)
            details = [
                _json({"strategy": st, "budget": b, "seed": s, "score": col, rank_name: int(r)}) for r in rows["rank"]
            ]
            out.append(_ranked(f"{key}/{st}/{b:g}", title, rows["id"], values, details))
    return out


def example_views(
    store_or_tables: Any, ds: Any = None, top: int = DEFAULT_TOP, *, predicted: Any = None
) -> pd.DataFrame:
    """Every per-example view of a run, long format: the top ``top`` examples of each.

    Parameters
    ----------
    store_or_tables : RunStore, or a mapping with the frames ``scores`` (``id`` column or
        index, one column per score), ``selections`` (strategy, budget, seed, id, rank),
        ``duplicates`` (cluster_id, id, representative_id, similarity[, strategy]) and
        ``strategy_scores`` (``{strategy: score column}``); any may be missing. A store's
        strategy scores come from its config.yaml.
    ds : Dataset, optional
        The training set (class names of the given labels in ``label_issues``).
    top : int, default :data:`DEFAULT_TOP`
        Examples per view.
    predicted : Series by id or (n_samples,) array of predicted class names, optional
        Shown next to the given label in ``label_issues`` (see :func:`predicted_labels`).

    Returns
    -------
    DataFrame with columns :data:`VIEW_COLUMNS` (see the module docstring), one row per
    (view, listed example), each view's rows in rank order; only views with at least one row.

    Examples
    --------
    >>> scores = pd.DataFrame({"id": ["a", "b", "c"], "el2n": [0.2, 0.9, 0.5]})
    >>> example_views({"scores": scores}, top=2).query("view == 'hardest/el2n'")["id"].tolist()
    ['b', 'c']
    """
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise DataError(f"top == {top!r}, must be an int >= 1")
    top = int(top)
    t = _tables(store_or_tables)
    frame = _score_frame(t["scores"])
    parts: list[pd.DataFrame] = []
    if frame is not None:
        parts += _score_views(frame, top)
        parts += _never_learned(frame, top)
        parts += _cartography(frame, top)
        parts += _label_issues(frame, ds, _predicted(ds, predicted), top)
    parts += _duplicates(t["duplicates"], top)
    if frame is not None:
        parts += _outliers(frame, top)
    parts += _vs_random(t["selections"], frame, t["strategy_scores"], top)
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty_views()
    out = pd.concat(parts, ignore_index=True)
    out["rank"] = out["rank"].astype(np.int64)
    out["value"] = out["value"].astype(np.float64)
    out["detail"] = out["detail"].astype(object).where(out["detail"].notna(), None)
    return out[VIEW_COLUMNS]


# ---------------------------------------------------------------- what draws each example


def _shape_of(ds: Any) -> tuple[int, ...] | None:
    """The dataset's declared example shape (:attr:`datafactors.Dataset.example_shape`), or None."""
    shape = getattr(ds, "example_shape", None)
    return None if shape is None else tuple(int(s) for s in shape)


def _kind(ds: Any, shape: tuple[int, ...] | None) -> str:
    if getattr(ds, "text_column", None) is not None:
        return "text"
    if shape is not None and int(np.prod(shape)) == ds.n_features:
        if len(shape) == 1:
            return "signal"
        if len(shape) == 2 or (len(shape) == 3 and shape[2] in (1, 3)):
            return "image"
    return "tabular"


def _short(v: float) -> float:
    return float(f"{float(v):.6g}")


def example_rows(ds: Any, ids: Iterable[Any], scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per distinct id (first-seen order): what the views need to draw and describe it.

    Parameters
    ----------
    ds : Dataset holding every id.
    ids : example ids (any order, repeats dropped).
    scores : scores with an ``id`` column or indexed by id, optional; every column but
        ``id`` / ``label`` is added (``score_`` prefixed where the name is taken).

    Returns
    -------
    DataFrame with columns :data:`EXAMPLE_COLUMNS`, the non-feature columns of ``ds.extra``
    (the text column left out) and the score columns; see the module docstring.

    Examples
    --------
    >>> from datafactors import Dataset
    >>> ds = Dataset.from_arrays(np.eye(3), [0, 1, 0], ids=["a", "b", "c"])
    >>> example_rows(ds, ["b"])[["id", "label", "kind", "features"]].values.tolist()
    [['b', '1', 'tabular', '{"x0": 0.0, "x1": 1.0, "x2": 0.0}']]
    """
    ids = list(dict.fromkeys(str(i) for i in ids))
    rows = ds.index_of(ids) if ids else np.empty(0, dtype=np.int64)
    n = len(ids)
    shape = _shape_of(ds)
    kind = _kind(ds, shape)
    X = ds.X[rows]
    none = [None] * n
    out: dict[str, Any] = {"id": ids}
    out["label"] = none if ds.y is None else [str(ds.class_names[c]) for c in ds.y[rows]]
    out["kind"] = [kind] * n
    if kind == "text":
        texts = ds.texts("the example views")
        out["text"] = [texts[r] for r in rows]
    else:
        out["text"] = none
    if kind == "image":
        lo, hi = float(ds.X.min()), float(ds.X.max())
        scaled = (X - lo) / (hi - lo) if hi > lo else np.zeros_like(X)
        out["pixels"] = [np.clip(r, 0, 1).astype(np.float32) for r in scaled]
    else:
        out["pixels"] = none
    out["shape"] = [list(shape) for _ in range(n)] if kind in ("image", "signal") and shape else none
    out["signal"] = [r.astype(np.float32) for r in X] if kind == "signal" else none
    if kind == "tabular":
        names = list(ds.feature_columns) or [f"x{j}" for j in range(ds.n_features)]
        m = min(MAX_FEATURES, ds.n_features)
        out["features"] = [_json({names[j]: _short(r[j]) for j in range(m)}) for r in X]
    else:
        out["features"] = none
    frame = pd.DataFrame(out, columns=EXAMPLE_COLUMNS)
    for c in ("pixels", "shape", "signal", "text", "features", "label"):
        frame[c] = frame[c].astype(object)
    taken = set(EXAMPLE_COLUMNS)
    extra = getattr(ds, "extra", None)
    if extra is not None:
        skip = set(getattr(ds, "feature_columns", ())) | {getattr(ds, "text_column", None)}
        for c in extra.columns:
            if c in skip:
                continue
            name = f"extra_{c}" if str(c) in taken else str(c)
            frame[name] = extra[c].iloc[rows].reset_index(drop=True)
            taken.add(name)
    sf = _score_frame(scores)
    if sf is not None:
        aligned = sf.reindex(pd.Index(ids, name="id"))
        for c in _score_columns(sf):
            name = f"score_{c}" if c in taken else c
            frame[name] = aligned[c].to_numpy()
            taken.add(name)
    return frame


def predicted_labels(ds: Any, *, n_folds: int = 5, C: float = 1.0, seed: int = 0) -> np.ndarray | None:
    """Cross-validated predicted class names, from the same model as the ``label_quality`` score.

    Standardized logistic regression over ``ds.X``, out of fold
    (:func:`datafactors.scores.cleanlab_scores.out_of_sample_probs`), so the predicted label
    shown next to the given one is the one its label quality was measured against. None
    when the data has no labels or a class has fewer than 2 examples.
    """
    if getattr(ds, "y", None) is None:
        return None
    from ..scores.cleanlab_scores import out_of_sample_probs

    p = out_of_sample_probs(ds.X, ds.y, n_folds=n_folds, seed=seed, C=C)
    if p is None:
        return None
    return np.asarray(ds.class_names, dtype=object)[p.argmax(axis=1)]


def write_examples(
    store: Any, ds: Any, top: int = DEFAULT_TOP, *, label_params: Mapping[str, Any] | None = None, seed: int = 0
) -> pd.DataFrame:
    """Build and store ``example_views.parquet`` and ``examples.parquet`` of a run.

    Reads the store's scores, selections and duplicates; ``ds`` is the training set they
    describe. With a ``label_quality`` score, the ``label_issues`` view shows the
    predicted label too (:func:`predicted_labels` with ``label_params``, the scorer's
    ``n_folds`` / ``C``, and ``seed``). ``examples.parquet`` is written last, so its presence
    means both are complete.

    Returns
    -------
    The views frame written (columns :data:`VIEW_COLUMNS`).
    """
    scores = store.read_parquet("scores.parquet")
    predicted = None
    if scores is not None and "label_quality" in scores.columns:
        params = {k: v for k, v in dict(label_params or {}).items() if k in ("n_folds", "C")}
        predicted = predicted_labels(ds, seed=seed, **params)
    views = example_views(store, ds, top, predicted=predicted)
    rows = example_rows(ds, views["id"], scores)
    store.write_parquet("example_views.parquet", views)
    store.write_parquet("examples.parquet", rows)
    return views
