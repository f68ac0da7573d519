"""The "Examples" section: views over examples, a gallery, a table, duplicate clusters and a side panel.

It draws what the run wrote and ranks nothing itself: ``examples.parquet`` (one row per
listed example: ``id``, ``label``, ``kind``, what is needed to draw it, the original
non-feature columns, every score) and ``example_views.parquet`` (one row per listed
``(view, rank)``: the view's key and title, the example's ``id``, its ``value`` and a JSON
``detail``). Every example is drawn as what it is: text as a snippet that expands, images
as nearest-neighbour-scaled thumbnails, one-dimensional signals as a small line plot,
tabular rows as their feature values.

The page stays one self-contained file of bounded size: it embeds the first
:data:`VIEW_ROWS` rows of every view plus at most :data:`EXTRA_EXAMPLES` other examples
(a seeded random sample), as one JSON blob in a ``<script type="application/json">`` tag,
with pixels and signals quantised to uint8 and base64-encoded; the section says how to
get the rest. Everything in the browser is vanilla JavaScript building DOM nodes with
``textContent``, so no string from the run is ever parsed as HTML.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._figures import score_columns
from .._html import esc, fmt_int, missing, note
from .._load import RunData

# The size budget: the first VIEW_ROWS rows (by rank) of every view, plus at most
# EXTRA_EXAMPLES other examples for the table; a text longer than TEXT_CHARS is cut.
VIEW_ROWS = 100
EXTRA_EXAMPLES = 2000
TEXT_CHARS = 4000
FEATURES_MAX = 64
OTHER_CHARS = 300
PAGE_SIZE = 50
GALLERY_STEP = 24
SEED = 0

FIXED_COLUMNS = ("id", "label", "kind", "text", "pixels", "shape", "signal", "features")
# View keys are "<family>/<detail>"; families are shown in this order, unknown ones after.
VIEW_GROUPS: tuple[tuple[str, str], ...] = (
    ("hardest", "Hardest by score"),
    ("easiest", "Easiest by score"),
    ("never_learned", "Never learned"),
    ("cartography", "Data-map regions"),
    ("label_issues", "Label-issue candidates"),
    ("duplicates", "Near-duplicate clusters"),
    ("outliers", "Outliers (most unique)"),
    ("dropped_vs_random", "Dropped by a strategy, kept by random"),
    ("kept_vs_random", "Kept by a strategy, dropped by random"),
)
_GROUP_LABEL = dict(VIEW_GROUPS)
# What a view's ``value`` is, where its key says (hardest/<score> and easiest/<score>: that score).
_VALUE_NAMES = {
    "never_learned": "forgetting",
    "cartography/hard-to-learn": "confidence",
    "cartography/ambiguous": "variability",
    "cartography/easy": "confidence",
    "label_issues": "label quality",
    "duplicates": "similarity",
}
_GROUP_RANK = {g: i for i, (g, _) in enumerate(VIEW_GROUPS)}


@dataclass(frozen=True)
class Embedded:
    """What the page embeds: the examples (listed ones first) and the view rows that list them."""

    examples: pd.DataFrame
    views: pd.DataFrame
    view_keys: list[str]
    view_totals: dict[str, int]
    n_listed: int
    n_examples: int

    @property
    def ids(self) -> list[str]:
        """Embedded ids in priority order: every view's top rows first (rank by rank), then the sample."""
        return self.examples["id"].tolist()


def order_views(keys: Iterable[str]) -> list[str]:
    """Distinct view keys, grouped by family in :data:`VIEW_GROUPS` order, else in order of appearance."""
    seen = list(dict.fromkeys(str(k) for k in keys))
    pos = {k: i for i, k in enumerate(seen)}
    return sorted(seen, key=lambda k: (_GROUP_RANK.get(k.split("/")[0], len(VIEW_GROUPS)), pos[k]))


def embedded(run: RunData) -> Embedded | None:
    """The examples and view rows the page embeds, within the size budget; ``None`` without examples.

    Every view keeps its first :data:`VIEW_ROWS` rows by rank (rows naming an id that
    ``examples.parquet`` lacks cannot be drawn and are left out); the examples they list come
    first, interleaved rank by rank across views so that a cap on them (the data map's) keeps
    every view's top; then a seeded random sample of at most :data:`EXTRA_EXAMPLES` others.
    """
    if run.examples is None:
        return None
    # Python sets and dicts of str: pandas' isin on Arrow-backed strings is slow at 100k rows.
    all_ids = run.examples["id"].astype(str).tolist()
    first: dict[str, int] = {}
    for i, k in enumerate(all_ids):
        first.setdefault(k, i)
    unique = np.fromiter(first.values(), dtype=np.int64, count=len(first))
    ex = run.examples.iloc[unique].reset_index(drop=True)
    ex["id"] = list(first)
    pos = {k: i for i, k in enumerate(first)}
    views = run.example_views
    if views is None or views.empty:
        rows = pd.DataFrame(columns=["view", "title", "rank", "id", "value", "detail"])
        keys: list[str] = []
        totals: dict[str, int] = {}
        priority: list[str] = []
    else:
        view_ids = views["id"].astype(str).tolist()
        v = views.assign(view=views["view"].astype(str).to_numpy(dtype=object), id=np.array(view_ids, dtype=object))
        keys = order_views(v["view"])
        v = v[np.fromiter((i in pos for i in view_ids), dtype=bool, count=len(view_ids))]
        totals = {k: int(n) for k, n in v.groupby("view").size().items()}
        v = v.sort_values(["view", "rank"], kind="stable").groupby("view", sort=False).head(VIEW_ROWS)
        v = v.assign(_v=v["view"].map({k: i for i, k in enumerate(keys)}), _r=v.groupby("view").cumcount())
        priority = list(dict.fromkeys(v.sort_values(["_r", "_v"], kind="stable")["id"]))
        rows = v.sort_values(["_v", "_r"], kind="stable").drop(columns=["_v", "_r"]).reset_index(drop=True)
    listed = np.array([pos[i] for i in priority], dtype=np.int64)
    is_listed = np.zeros(len(ex), dtype=bool)
    is_listed[listed] = True
    rest = np.flatnonzero(~is_listed)
    take = np.empty(0, dtype=np.int64)
    if rest.size:
        rng = np.random.default_rng(SEED)
        take = np.sort(rng.choice(rest, size=min(EXTRA_EXAMPLES, rest.size), replace=False))
    chosen = ex.iloc[np.concatenate([listed, take])].reset_index(drop=True)
    return Embedded(chosen, rows, keys, totals, len(listed), len(ex))


# ---------------------------------------------------------------- the JSON blob


def _num(x: Any) -> float | str | None:
    """A number for JSON: ``None`` for missing, ``"inf"``/``"-inf"`` for infinities (JSON has neither)."""
    if x is None or isinstance(x, str):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    if math.isnan(v):
        return None
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return float(f"{v:.6g}")


def _plain(x: Any, limit: int = OTHER_CHARS) -> Any:
    """Any cell as a JSON scalar: numbers through :func:`_num`, strings cut at ``limit``."""
    if x is None:
        return None
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        return _num(x)
    if isinstance(x, str):
        return x if len(x) <= limit else x[:limit] + "…"
    if isinstance(x, np.ndarray | list | tuple):
        return _plain(json.dumps([_plain(v) for v in list(x)[:20]]), limit)
    try:
        if pd.isna(x):
            return None
    except (TypeError, ValueError):
        pass
    return _plain(str(x), limit)


def _b64(values: np.ndarray) -> str:
    return base64.b64encode(values.astype(np.uint8).tobytes()).decode("ascii")


def _image(pixels: Any, shape: Any) -> dict[str, Any] | None:
    """Pixels in [0, 1] (row-major, channels last) as ``{n: [h, w, c], p: base64 uint8}``, or None."""
    if pixels is None or shape is None:
        return None
    try:
        dims = [int(s) for s in shape]
        arr = np.asarray(pixels, dtype=np.float32).ravel()
    except (TypeError, ValueError):
        return None
    if len(dims) == 2:
        dims = [*dims, 1]
    if len(dims) != 3 or dims[2] not in (1, 3) or min(dims) < 1 or math.prod(dims) != arr.size:
        return None
    q = np.rint(np.clip(np.nan_to_num(arr, nan=0.0), 0.0, 1.0) * 255)
    return {"n": dims, "p": _b64(q)}


def _signal(signal: Any) -> list[Any] | None:
    """A 1-D signal as ``[lo, hi, base64 uint8]``: 256 levels between its finite min and max."""
    if signal is None:
        return None
    try:
        arr = np.asarray(signal, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return None
    finite = arr[np.isfinite(arr)]
    if not finite.size:
        return None
    lo, hi = float(finite.min()), float(finite.max())
    span = hi - lo if hi > lo else 1.0
    q = np.rint((np.clip(np.nan_to_num(arr, nan=lo), lo, hi) - lo) / span * 255)
    return [_num(lo), _num(hi), _b64(q)]


def _features(raw: Any) -> tuple[dict[str, Any] | None, int]:
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return None, 0
    try:
        d = json.loads(raw) if isinstance(raw, str | bytes) else dict(raw)
    except (TypeError, ValueError):
        return {"features": _plain(raw)}, 1
    if not isinstance(d, dict):
        return {"features": _plain(d)}, 1
    items = list(d.items())
    return {str(k): _plain(v) for k, v in items[:FEATURES_MAX]}, len(items)


def _detail(raw: Any) -> Any:
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return None
    try:
        d = json.loads(raw) if isinstance(raw, str | bytes) else raw
    except ValueError:
        return {"detail": _plain(raw)}
    if isinstance(d, dict):
        return {str(k): _plain(v) for k, v in d.items()}
    return {"detail": _plain(d)}


def _score_columns(run: RunData, ex: pd.DataFrame) -> list[str]:
    """The score columns of examples.parquet: those scores.parquet also holds, else its numeric columns."""
    rest = [c for c in ex.columns if c not in FIXED_COLUMNS]
    if run.scores is not None:
        known = set(score_columns(run.scores))
        return [c for c in rest if c in known]
    return [c for c in rest if pd.api.types.is_numeric_dtype(ex[c]) or pd.api.types.is_bool_dtype(ex[c])]


def _record(row: dict[str, Any], scores: list[str], others: list[str]) -> dict[str, Any]:
    label = row.get("label")
    kind = row.get("kind")
    rec: dict[str, Any] = {
        "id": row["id"],
        "l": None if _plain(label) is None else str(label),
        "k": str(kind) if isinstance(kind, str) else "tabular",
    }
    text = row.get("text")
    if isinstance(text, str):
        rec["t"] = text[:TEXT_CHARS]
        if len(text) > TEXT_CHARS:
            rec["tc"] = len(text)
    img = _image(row.get("pixels"), row.get("shape"))
    if img:
        rec.update(img)
    sig = _signal(row.get("signal"))
    if sig:
        rec["g"] = sig
    feats, n_feats = _features(row.get("features"))
    if feats:
        rec["f"] = feats
        if n_feats > len(feats):
            rec["fn"] = n_feats
    rec["s"] = [_num(row[c]) for c in scores]
    if others:
        rec["o"] = [_plain(row[c]) for c in others]
    return rec


def _how(run: RunData, emb: Embedded) -> tuple[str, list[str]]:
    """Where the rest is: a sentence and the three commands (plain text)."""
    score = next((k.split("/", 1)[1] for k in emb.view_keys if k.startswith("hardest/")), "el2n")
    run_dir = str(run.run_dir)
    commands = [
        f"datafactors show {run_dir} --view hardest --score {score} --top 200",
        f'datafactors query {run_dir} "select * from examples"',
        f'df.report.examples("{run_dir}", view="hardest", score="{score}", top=200)',
    ]
    return "The rest is in the run folder: " + " · ".join(commands), commands


def blob(run: RunData, emb: Embedded) -> dict[str, Any]:
    """The JSON the page's script reads: examples (compact keys), views as rows of example indices."""
    ex = emb.examples
    scores = _score_columns(run, ex)
    others = [c for c in ex.columns if c not in FIXED_COLUMNS and c not in scores]
    records = [_record(r, scores, others) for r in ex.to_dict("records")]
    index = {r["id"]: i for i, r in enumerate(records)}
    views = []
    groups = dict(tuple(emb.views.groupby("view", sort=False))) if len(emb.views) else {}
    for key in emb.view_keys:
        rows = groups.get(key)
        title = key
        out_rows: list[list[Any]] = []
        if rows is not None and len(rows):
            t = rows["title"].iloc[0]
            title = str(t) if isinstance(t, str) and t else key
            values = rows["value"] if "value" in rows.columns else [None] * len(rows)
            details = rows["detail"] if "detail" in rows.columns else [None] * len(rows)
            out_rows = [
                [index[i], _num(v), _detail(d), int(r)]
                for i, v, d, r in zip(rows["id"], values, details, rows["rank"], strict=True)
            ]
        elif run.example_views is not None:
            titles = run.example_views.loc[run.example_views["view"].astype(str) == key, "title"]
            if len(titles) and isinstance(titles.iloc[0], str):
                title = titles.iloc[0]
        family = key.split("/")[0]
        vname = (
            key.split("/", 1)[1] if family in ("hardest", "easiest") and "/" in key else _VALUE_NAMES.get(key, "value")
        )
        views.append(
            {
                "key": key,
                "title": title,
                "group": _GROUP_LABEL.get(family, family),
                "total": emb.view_totals.get(key, 0),
                "vname": vname,
                "rows": out_rows,
            }
        )
    how, _ = _how(run, emb)
    return {
        "scores": scores,
        "others": others,
        "examples": records,
        "views": views,
        "n_examples": emb.n_examples,
        "n_listed": emb.n_listed,
        "view_rows": VIEW_ROWS,
        "page_size": PAGE_SIZE,
        "step": GALLERY_STEP,
        "how": how,
    }


def script_json(data: Any) -> str:
    """JSON safe inside a <script> element: no ``<``, ``>`` or ``&`` survives, so no ``</script>`` or ``<!--``."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


# ---------------------------------------------------------------- the section


def _view_options(keys: list[str], titles: dict[str, str], totals: dict[str, int], *, empty: str = "") -> str:
    out = [f'<option value="">{esc(empty)}</option>'] if empty else []
    group = None
    for k in keys:
        family = k.split("/")[0]
        label = _GROUP_LABEL.get(family, family)
        if label != group:
            if group is not None:
                out.append("</optgroup>")
            out.append(f'<optgroup label="{esc(label)}">')
            group = label
        out.append(f'<option value="{esc(k)}">{esc(titles.get(k, k))} ({fmt_int(totals.get(k, 0))})</option>')
    if group is not None:
        out.append("</optgroup>")
    return "".join(out)


def examples_html(run: RunData) -> str | None:
    """The section's body, or ``None`` when the run folder has no ``examples.parquet`` (no section then)."""
    if run.examples is None:
        if (run.run_dir / "examples.parquet").exists():
            return missing(run.why("examples"))
        return None
    emb = embedded(run)
    assert emb is not None
    data = blob(run, emb)
    titles = {v["key"]: v["title"] for v in data["views"]}
    _, commands = _how(run, emb)
    n = len(data["examples"])
    intro = note(
        "Every per-example result, drawn as what it is: texts expand on click, images are thumbnails, "
        "signals small line plots, tabular rows their feature values. Pick a view; click an example here "
        'or a point of the <a href="#cartography">data map</a> to open it in the side panel.'
    )
    budget = note(
        f"This page embeds <b>{fmt_int(n)}</b> of the run's {fmt_int(emb.n_examples)} written examples "
        f"(size budget: the first {fmt_int(VIEW_ROWS)} of each view and a random sample of at most "
        f"{fmt_int(EXTRA_EXAMPLES)} others). The rest is one command away:"
    ) + ('<ul class="ex-how">' + "".join(f"<li><code>{esc(c)}</code></li>" for c in commands) + "</ul>")
    if data["views"]:
        bar = (
            '<div class="ex-bar"><label for="ex-view"><b>View</b></label> '
            f'<select id="ex-view">{_view_options(emb.view_keys, titles, emb.view_totals)}</select> '
            '<span id="ex-view-info" class="caption"></span></div>'
            '<div id="ex-gallery" class="ex-gallery"></div>'
            '<div class="ex-bar"><button type="button" class="ex-btn" id="ex-more" hidden>Show more</button></div>'
        )
    else:
        bar = missing(run.why("example_views") if run.example_views is None else "example_views.parquet lists no rows.")
    flags = _view_options(emb.view_keys, titles, emb.view_totals, empty="every embedded example")
    table_html = (
        "<h3>All embedded examples</h3>"
        '<div class="ex-bar"><input type="search" id="ex-filter" placeholder="Filter by id, label or text" '
        'aria-label="Filter by id, label or text"> '
        f'<select id="ex-flag" aria-label="Listed in view">{flags}</select> '
        '<span id="ex-count" class="caption"></span></div>'
        '<div class="table-wrap"><table id="ex-table" class="ex-table"><thead></thead><tbody></tbody></table></div>'
        '<div class="ex-bar ex-pager"><button type="button" class="ex-btn" id="ex-prev">‹ Previous</button> '
        '<span id="ex-page" class="caption"></span> '
        '<button type="button" class="ex-btn" id="ex-next">Next ›</button></div>'
    )
    panel = (
        '<aside id="ex-panel" class="ex-panel" hidden aria-label="Example">'
        '<button type="button" class="ex-btn ex-close" id="ex-close" aria-label="Close">×</button>'
        '<div id="ex-panel-body"></div></aside>'
    )
    return (
        f'<div class="ex" id="ex-root">{intro}{budget}{bar}{table_html}{panel}</div>\n'
        f'<script type="application/json" id="ex-data">{script_json(data)}</script>\n'
        f"<script>{EXAMPLES_JS}</script>"
    )


EXAMPLES_JS = r"""
(function () {
  "use strict";
  var dataEl = document.getElementById("ex-data");
  if (!dataEl) { return; }
  var D = JSON.parse(dataEl.textContent);
  var EX = D.examples, SC = D.scores, VIEWS = D.views;
  var byId = {}, viewByKey = {}, inView = {}, member = EX.map(function () { return []; });
  EX.forEach(function (e, i) { byId[e.id] = i; });
  VIEWS.forEach(function (v, vi) {
    viewByKey[v.key] = vi;
    inView[v.key] = {};
    v.rows.forEach(function (r, ri) { member[r[0]].push([vi, ri]); inView[v.key][r[0]] = true; });
  });
  var $ = function (id) { return document.getElementById(id); };
  var gallery = $("ex-gallery"), viewSel = $("ex-view"), moreBtn = $("ex-more"), viewInfo = $("ex-view-info");
  var panel = $("ex-panel"), panelBody = $("ex-panel-body");
  var state = {view: null, shown: 0, clusters: {}, sort: null, dir: 1, filter: "", flag: "", page: 0};

  function h(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (text !== undefined && text !== null) { n.textContent = text; }
    return n;
  }
  function num(v) { return (v === "inf" || v === "+inf") ? Infinity : v === "-inf" ? -Infinity : v; }
  function fmt(v) {
    v = num(v);
    if (v === null || v === undefined) { return "\u2014"; }
    if (typeof v !== "number") { return String(v); }
    if (v === Infinity) { return "+\u221e"; }
    if (v === -Infinity) { return "\u2212\u221e"; }
    if (Number.isInteger(v)) { return String(v); }
    var a = Math.abs(v);
    return (a < 0.001 || a >= 1e5) ? v.toExponential(2) : v.toFixed(3);
  }
  function bytes(b64) {
    var s = atob(b64), out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) { out[i] = s.charCodeAt(i); }
    return out;
  }
  function isDup(key) { return key.split("/")[0] === "duplicates"; }

  // ------------------------------------------------------------ drawing each kind
  function drawImage(e, box) {
    var hh = e.n[0], ww = e.n[1], c = e.n[2], px = e._px || (e._px = bytes(e.p));
    var small = document.createElement("canvas");
    small.width = ww; small.height = hh;
    var sctx = small.getContext("2d"), img = sctx.createImageData(ww, hh), d = img.data;
    for (var i = 0, n = ww * hh; i < n; i++) {
      var r = c === 3 ? px[3 * i] : px[i], g = c === 3 ? px[3 * i + 1] : px[i], b = c === 3 ? px[3 * i + 2] : px[i];
      d[4 * i] = r; d[4 * i + 1] = g; d[4 * i + 2] = b; d[4 * i + 3] = 255;
    }
    sctx.putImageData(img, 0, 0);
    var k = Math.max(1, Math.floor(box / Math.max(hh, ww)));
    var cv = h("canvas", "ex-img");
    cv.width = ww * k; cv.height = hh * k;
    var ctx = cv.getContext("2d");
    ctx.imageSmoothingEnabled = false;  // nearest neighbour: an 8x8 digit stays a digit
    ctx.drawImage(small, 0, 0, cv.width, cv.height);
    cv.setAttribute("role", "img");
    cv.setAttribute("aria-label", "image of example " + e.id + " (" + hh + "\u00d7" + ww + ")");
    return cv;
  }
  function drawSignal(e, w, ht) {
    var q = e._sg || (e._sg = bytes(e.g[2])), n = q.length, pts = [];
    for (var i = 0; i < n; i++) {
      var x = n > 1 ? 2 + i * (w - 4) / (n - 1) : w / 2, y = ht - 2 - q[i] / 255 * (ht - 4);
      pts.push(x.toFixed(1) + "," + y.toFixed(1));
    }
    var wrap = h("div", "ex-sig");
    // Only numbers go into this markup; the HTML parser puts <svg> in the SVG namespace.
    wrap.innerHTML = '<svg width="' + w + '" height="' + ht + '" viewBox="0 0 ' + w + " " + ht + '" role="img">' +
      '<polyline fill="none" stroke="#0969da" stroke-width="1.5" points="' + pts.join(" ") + '"></polyline></svg>';
    wrap.title = n + " values from " + fmt(e.g[0]) + " to " + fmt(e.g[1]);
    return wrap;
  }
  function drawText(e, n, full) {
    var t = e.t || "", cut = e.tc ? " \u2026 [first " + t.length + " of " + e.tc + " characters]" : "";
    if (full || t.length <= n) { return h("div", "ex-textbox", t + cut); }
    var d = h("details", "ex-textbox"), s = h("summary");
    s.appendChild(h("span", "ex-snip", t.slice(0, n) + "\u2026"));
    s.appendChild(h("span", "ex-toggle", ""));
    d.appendChild(s);
    d.appendChild(h("div", "ex-full", t + cut));
    return d;
  }
  function drawFeatures(e, n) {
    var dl = h("dl", "ex-feat"), keys = Object.keys(e.f || {});
    keys.slice(0, n).forEach(function (k) { dl.appendChild(h("dt", null, k)); dl.appendChild(h("dd", null, fmt(e.f[k]))); });
    var total = e.fn || keys.length;
    if (total > n) { dl.appendChild(h("dt", "caption", "+" + (total - n) + " more")); }
    return dl;
  }
  var SIZES = {card: [80, 200, 56, 220, 8], row: [28, 90, 26, 80, 3], panel: [240, 380, 120, 0, 1000]};
  function draw(e, size) {
    var z = SIZES[size], k = e.k, box = h("div", "ex-draw");
    var kind = (k === "image" && e.p) ? "image" : (k === "signal" && e.g) ? "signal" : (k === "text" && e.t != null) ? "text" :
      (k === "tabular" && e.f) ? "tabular" : e.p ? "image" : e.g ? "signal" : e.t != null ? "text" : e.f ? "tabular" : "";
    if (kind === "image") { box.appendChild(drawImage(e, z[0])); }
    else if (kind === "signal") { box.appendChild(drawSignal(e, z[1], z[2])); }
    else if (kind === "text") { box.appendChild(drawText(e, z[3], size === "panel")); }
    else if (kind === "tabular") { box.appendChild(drawFeatures(e, z[4])); }
    else { box.appendChild(h("span", "caption", "nothing to draw")); }
    box.dataset.kind = kind;
    return box;
  }
  function scoreLine(e) {
    return SC.map(function (s, i) { return s + " " + fmt(e.s[i]); }).join(" \u00b7 ");
  }
  function detailText(d, skip) {
    if (d === null || d === undefined) { return ""; }
    if (typeof d !== "object") { return String(d); }
    var parts = [];
    if ("given" in d && "predicted" in d) { parts.push("given " + fmt(d.given) + " \u2192 predicted " + fmt(d.predicted)); }
    Object.keys(d).forEach(function (k) {
      if (k === "given" || k === "predicted" || (skip && skip.indexOf(k) >= 0)) { return; }
      parts.push(k.replace(/_/g, " ") + " " + fmt(d[k]));
    });
    return parts.join(" \u00b7 ");
  }

  // ------------------------------------------------------------ the gallery of one view
  function card(ei, value, detail, valueName, skip) {
    var e = EX[ei], c = h("div", "ex-card kind-" + e.k);
    c.dataset.id = e.id;
    c.tabIndex = 0;
    c.appendChild(draw(e, "card"));
    var head = h("div", "ex-head");
    head.appendChild(h("b", "ex-id", e.id));
    if (e.l !== null && e.l !== undefined) { head.appendChild(h("span", "ex-label", e.l)); }
    if (value !== undefined) { head.appendChild(h("span", "ex-val", (valueName || "value") + " " + fmt(value))); }
    c.appendChild(head);
    var dt = detailText(detail, skip);
    if (dt) { c.appendChild(h("div", "ex-detail", dt)); }
    if (SC.length) { c.appendChild(h("div", "ex-scores", scoreLine(e))); }
    return c;
  }
  function clusterOf(r) { return r[2] && typeof r[2] === "object" && r[2].cluster_id !== undefined ? String(r[2].cluster_id) : ""; }
  function showMore() {
    var v = VIEWS[viewByKey[state.view]];
    if (!v || !gallery) { return; }
    var end = Math.min(v.rows.length, state.shown + D.step);
    for (var i = state.shown; i < end; i++) {
      var r = v.rows[i];
      if (isDup(v.key)) {
        var cid = clusterOf(r), box = state.clusters[cid];
        if (!box) {
          box = state.clusters[cid] = h("div", "ex-cluster");
          box.dataset.cluster = cid;
          box.appendChild(h("div", "ex-cluster-head"));
          box.appendChild(h("div", "ex-members"));
          box._n = 0;
          gallery.appendChild(box);
        }
        var sim = r[2] && r[2].similarity !== undefined ? r[2].similarity : r[1];
        var c = card(r[0], sim, r[2], "similarity", ["cluster_id", "similarity", "representative_id"]);
        if (r[2] && r[2].representative_id !== undefined && String(r[2].representative_id) === EX[r[0]].id) {
          c.classList.add("rep");
          c.appendChild(h("div", "ex-detail", "representative"));
        }
        box.lastChild.appendChild(c);
        box._n += 1;
        box.firstChild.textContent = "Cluster " + (cid || "?") + " \u00b7 " + box._n + " member" + (box._n === 1 ? "" : "s") + " shown";
      } else {
        gallery.appendChild(card(r[0], r[1], r[2], v.vname));
      }
    }
    state.shown = end;
    if (moreBtn) { moreBtn.hidden = end >= v.rows.length; }
    if (viewInfo) {
      viewInfo.textContent = "showing " + end + " of " + v.rows.length + " embedded" +
        (v.total > v.rows.length ? " (the run lists " + v.total.toLocaleString("en-US") + "; the first " + D.view_rows + " are embedded)" : "");
    }
  }
  function setView(key) {
    if (viewByKey[key] === undefined || !gallery) { return; }
    state.view = key; state.shown = 0; state.clusters = {};
    if (viewSel) { viewSel.value = key; }
    gallery.textContent = "";
    gallery.dataset.view = key;
    showMore();
  }
  function openFrom(ev) {
    if (ev.target.closest("details, a, button, input, select")) { return; }
    var c = ev.target.closest("[data-id]");
    if (c) { openPanel(c.dataset.id); }
  }
  if (gallery) {
    gallery.addEventListener("click", openFrom);
    gallery.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { openFrom(ev); } });
    viewSel.addEventListener("change", function () { setView(viewSel.value); });
    moreBtn.addEventListener("click", showMore);
  }

  // ------------------------------------------------------------ the table
  var COLS = [
    {key: "id", label: "id", get: function (i) { return EX[i].id; }},
    {key: "label", label: "label", get: function (i) { return EX[i].l; }},
    {key: "kind", label: "kind", get: function (i) { return EX[i].k; }},
    {key: "preview", label: "example", nosort: true},
    {key: "views", label: "views", numeric: true, get: function (i) { return member[i].length; }},
  ].concat(SC.map(function (s, j) {
    return {key: "s:" + s, label: s, numeric: true, get: function (i) { return num(EX[i].s[j]); }};
  }));
  var table = $("ex-table"), tbody = table.tBodies[0], filterBox = $("ex-filter"), flagSel = $("ex-flag");
  var headRow = h("tr");
  COLS.forEach(function (col) {
    var th = h("th", (col.numeric ? "" : "text") + (col.nosort ? "" : " sortable"), col.label);
    th.dataset.key = col.key;
    if (!col.nosort) { th.title = "sort by " + col.label; th.tabIndex = 0; }
    headRow.appendChild(th);
  });
  table.tHead.appendChild(headRow);
  function cmp(a, b, col) {
    var x = col.get(a), y = col.get(b);
    var xm = x === null || x === undefined || (typeof x === "number" && isNaN(x));
    var ym = y === null || y === undefined || (typeof y === "number" && isNaN(y));
    if (xm || ym) { return xm === ym ? a - b : (xm ? 1 : -1); }  // missing values last either way
    if (col.numeric) { return x === y ? a - b : (x < y ? -1 : 1) * state.dir; }
    var c = String(x).localeCompare(String(y), undefined, {numeric: true});
    return (c || (a - b)) * (c ? state.dir : 1);
  }
  function rowsNow() {
    var f = state.filter.toLowerCase(), flag = state.flag ? inView[state.flag] || {} : null, out = [];
    for (var i = 0; i < EX.length; i++) {
      if (flag && !flag[i]) { continue; }
      if (f) {
        var e = EX[i], hay = (e.id + " " + (e.l || "") + " " + (e.t || "")).toLowerCase();
        if (hay.indexOf(f) < 0) { continue; }
      }
      out.push(i);
    }
    if (state.sort) {
      var col = COLS.filter(function (c) { return c.key === state.sort; })[0];
      out.sort(function (a, b) { return cmp(a, b, col); });
    }
    return out;
  }
  function renderTable() {
    var rows = rowsNow(), size = D.page_size, pages = Math.max(1, Math.ceil(rows.length / size));
    state.page = Math.min(state.page, pages - 1);
    tbody.textContent = "";
    rows.slice(state.page * size, (state.page + 1) * size).forEach(function (i) {
      var e = EX[i], tr = h("tr");
      tr.dataset.id = e.id;
      COLS.forEach(function (col) {
        var td = h("td", col.numeric ? "" : "text");
        if (col.key === "preview") { td.className = "text preview"; td.appendChild(draw(e, "row")); }
        else if (col.key === "id") { td.appendChild(h("code", null, e.id)); }
        else { td.textContent = fmt(col.get(i)); }
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    Array.prototype.forEach.call(headRow.children, function (th) {
      if (th.dataset.key === state.sort) { th.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending"); }
      else { th.removeAttribute("aria-sort"); }
    });
    $("ex-count").textContent = rows.length.toLocaleString("en-US") + " of " + EX.length.toLocaleString("en-US") + " embedded examples";
    $("ex-page").textContent = "page " + (state.page + 1) + " of " + pages;
    $("ex-prev").disabled = state.page === 0;
    $("ex-next").disabled = state.page >= pages - 1;
  }
  function sortBy(key) {
    if (state.sort === key) { state.dir = -state.dir; } else { state.sort = key; state.dir = 1; }
    state.page = 0;
    renderTable();
  }
  headRow.addEventListener("click", function (ev) {
    var th = ev.target.closest("th.sortable");
    if (th) { sortBy(th.dataset.key); }
  });
  headRow.addEventListener("keydown", function (ev) {
    var th = ev.target.closest("th.sortable");
    if (th && ev.key === "Enter") { sortBy(th.dataset.key); }
  });
  tbody.addEventListener("click", openFrom);
  filterBox.addEventListener("input", function () { state.filter = filterBox.value; state.page = 0; renderTable(); });
  flagSel.addEventListener("change", function () { state.flag = flagSel.value; state.page = 0; renderTable(); });
  $("ex-prev").addEventListener("click", function () { state.page -= 1; renderTable(); });
  $("ex-next").addEventListener("click", function () { state.page += 1; renderTable(); });

  // ------------------------------------------------------------ the side panel
  function linkButton(text, onClick) {
    var b = h("button", "ex-link", text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }
  function goToView(key, id) {
    setView(key);
    var v = VIEWS[viewByKey[key]], ei = byId[id];
    for (var j = 0; j < v.rows.length && v.rows[j][0] !== ei; j++) { /* find its row */ }
    while (state.shown <= j && state.shown < v.rows.length) { showMore(); }
    var el = gallery.querySelector('.ex-card[data-id="' + CSS.escape(id) + '"]');
    if (el) { el.scrollIntoView({block: "center"}); el.classList.add("ex-hit"); }
  }
  function kv(dl, k, v) { dl.appendChild(h("dt", null, k)); dl.appendChild(h("dd", null, v)); }
  function openPanel(id) {
    id = String(id);
    var ei = byId[id];
    panelBody.textContent = "";
    panel.dataset.id = id;
    panelBody.appendChild(h("h3", null, "Example"));
    var idEl = h("code", "ex-panel-id", id);
    idEl.dataset.field = "id";
    panelBody.appendChild(idEl);
    if (ei === undefined) {
      panelBody.appendChild(h("p", "note", "This example is not embedded in the page (it holds " + EX.length +
        " of the run's " + D.n_examples + " written examples). " + D.how));
      panel.hidden = false;
      return;
    }
    var e = EX[ei], dl = h("dl", "ex-kv");
    kv(dl, "label", e.l === null || e.l === undefined ? "\u2014" : e.l);
    kv(dl, "kind", e.k);
    panelBody.appendChild(dl);
    panelBody.appendChild(draw(e, "panel"));
    if (e.f && e.k !== "tabular") { panelBody.appendChild(h("h4", null, "Features")); panelBody.appendChild(drawFeatures(e, 1000)); }
    if (SC.length) {
      panelBody.appendChild(h("h4", null, "Scores"));
      var sdl = h("dl", "ex-kv");
      SC.forEach(function (s, i) { kv(sdl, s, fmt(e.s[i])); });
      panelBody.appendChild(sdl);
    }
    if (D.others.length) {
      panelBody.appendChild(h("h4", null, "Columns"));
      var odl = h("dl", "ex-kv");
      D.others.forEach(function (c, i) { kv(odl, c, fmt(e.o[i])); });
      panelBody.appendChild(odl);
    }
    panelBody.appendChild(h("h4", null, "Where it appears"));
    if (!member[ei].length) { panelBody.appendChild(h("p", "caption", "in no embedded view (part of the random sample)")); }
    var ul = h("ul", "ex-links");
    member[ei].forEach(function (m) {
      var v = VIEWS[m[0]], r = v.rows[m[1]], li = h("li");
      li.appendChild(linkButton(v.title, function () { goToView(v.key, id); }));
      li.appendChild(document.createTextNode(" \u2014 #" + (m[1] + 1) + " in this view, value " + fmt(r[1])));
      var dt = detailText(r[2], ["cluster_id", "representative_id"]);
      if (dt) { li.appendChild(h("div", "ex-detail", dt)); }
      ul.appendChild(li);
      var cid = isDup(v.key) ? clusterOf(r) : "";
      if (cid) {
        var box = h("div", "ex-dup");
        box.appendChild(linkButton("Duplicate cluster " + cid, function () { goToView(v.key, id); }));
        var mates = v.rows.filter(function (o) { return clusterOf(o) === cid && o[0] !== ei; });
        box.appendChild(document.createTextNode(mates.length ? " \u2014 other members:" : " \u2014 no other member embedded"));
        var mu = h("ul", "ex-links");
        mates.forEach(function (o) {
          var mi = h("li"), oid = EX[o[0]].id;
          mi.appendChild(linkButton(oid, function () { openPanel(oid); }));
          var sim = o[2] && o[2].similarity !== undefined ? o[2].similarity : o[1];
          mi.appendChild(document.createTextNode(" similarity " + fmt(sim)));
          mu.appendChild(mi);
        });
        box.appendChild(mu);
        li.appendChild(box);
      }
      var rep = r[2] && r[2].representative_id !== undefined ? String(r[2].representative_id) : "";
      if (rep && rep !== id) {
        var ri = h("div", "caption", "representative: ");
        ri.appendChild(byId[rep] !== undefined ? linkButton(rep, function () { openPanel(rep); }) : h("code", null, rep));
        li.appendChild(ri);
      }
    });
    panelBody.appendChild(ul);
    panel.hidden = false;
    panel.scrollTop = 0;
  }
  $("ex-close").addEventListener("click", function () { panel.hidden = true; });
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") { panel.hidden = true; } });

  // ------------------------------------------------------------ clicks on per-example scatters
  // A trace whose points carry ids (plotly's `ids`) opens the clicked example.
  function hookPlots() {
    Array.prototype.forEach.call(document.querySelectorAll(".plotly-graph-div"), function (gd) {
      if (gd.dataset.exHooked || typeof gd.on !== "function") { return; }
      gd.dataset.exHooked = "1";
      gd.on("plotly_click", function (ev) {
        var pt = ev && ev.points && ev.points[0];
        if (pt && pt.id !== undefined && pt.id !== null) { openPanel(pt.id); }
      });
    });
  }
  hookPlots();
  window.addEventListener("load", hookPlots);

  if (VIEWS.length) { setView(VIEWS[0].key); }
  renderTable();
  window.dfExamples = {open: openPanel, setView: setView, sortBy: sortBy};
})();
"""
