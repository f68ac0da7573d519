"""HTML building blocks: escaping, number formatting, tables, the page shell.

Every string that comes from a run folder goes through :func:`esc` (or one of the
formatters, which escape) before it reaches the page; table cells and section bodies
passed around here are already-safe HTML.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

DASH = "—"

CSS = """
*, *::before, *::after { box-sizing: border-box; }
html { scroll-behavior: smooth; }
body { margin: 0; background: #f6f7f9; color: #1f2328;
  font: 15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.container { max-width: 1280px; margin: 0 auto; padding: 1rem 1.25rem 4rem; }
header.run { background: #fff; border: 1px solid #d8dee4; border-radius: 8px; padding: .9rem 1.25rem; }
h1 { font-size: 1.45rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 0 0 .6rem; padding-bottom: .3rem; border-bottom: 1px solid #d8dee4; }
h3 { font-size: 1.05rem; margin: 1.1rem 0 .4rem; }
p.lede { margin: 0; color: #424a53; }
section { background: #fff; border: 1px solid #d8dee4; border-radius: 8px; padding: 1rem 1.25rem;
  margin-top: 1.1rem; scroll-margin-top: 4.5rem; }
nav.toc { position: sticky; top: 0; z-index: 10; display: flex; flex-wrap: wrap; gap: .15rem .35rem;
  margin: .75rem 0 0; padding: .45rem .6rem; background: rgba(246, 247, 249, .96); border-bottom: 1px solid #d8dee4;
  font-size: .88rem; }
nav.toc a { color: #0969da; text-decoration: none; white-space: nowrap; padding: .05rem .45rem; border-radius: 4px; }
nav.toc a:hover { background: #ddf4ff; }
details.meta > summary { font-weight: 400; color: #57606a; font-size: .9rem; margin-top: .4rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .5rem 0 0; }
dl.meta dt { color: #57606a; }
dl.meta dd { margin: 0; }
.banner { border-radius: 6px; padding: .6rem .9rem; margin: .75rem 0 0; font-weight: 600; }
.banner.warn { background: #fff8c5; border: 1px solid #d4a72c; }
.banner.error { background: #ffebe9; border: 1px solid #cf222e; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: .9rem; margin: .25rem 0 .5rem; }
.card { border: 1px solid #d8dee4; border-left: 5px solid #0969da; border-radius: 8px; padding: .7rem 1rem;
  background: #f6fbff; }
.card.keep { border-left-color: #1a7f37; background: #f3fbf5; }
.card h3 { margin: 0 0 .35rem; font-size: 1rem; color: #57606a; font-weight: 600; }
.card .answer { font-size: 1.12rem; line-height: 1.45; margin: 0 0 .35rem; }
.card .answer b { font-size: 1.2rem; }
.card .fine { color: #57606a; font-size: .88rem; margin: .2rem 0 0; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .8rem; font-weight: 700; }
.badge.held { background: #dafbe1; color: #1a7f37; border: 1px solid #4ac26b; }
.badge.not-held { background: #ffebe9; color: #cf222e; border: 1px solid #ff8182; }
p.missing { color: #6e5600; background: #fff8c5; border-left: 4px solid #d4a72c; padding: .45rem .75rem;
  margin: .5rem 0; }
p.note, .caption { color: #57606a; font-size: .9rem; }
ul.findings li { margin: .3rem 0; }
ul.measured { margin: 0; padding-left: 1.1rem; font-size: .85rem; }
td.recipe { max-width: 14rem; }
td.claim { min-width: 18rem; max-width: 26rem; }
td.measured { min-width: 22rem; }
td.ran { white-space: nowrap; }
.table-wrap { overflow-x: auto; margin: .5rem 0 1rem; }
table { border-collapse: collapse; font-size: .88rem; font-variant-numeric: tabular-nums; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid #e5e8eb; text-align: right; vertical-align: top; }
th { background: #f0f2f5; position: sticky; top: 0; font-weight: 600; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
tbody tr:nth-child(even) { background: #fafbfc; }
tbody tr:hover { background: #eef4ff; }
td.best { font-weight: 700; }
tr.failed td { background: #ffebe9; }
td.err { white-space: pre-wrap; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: .8rem; max-width: 40rem; text-align: left; }
.ci { display: block; color: #6e7781; font-size: .78rem; white-space: nowrap; }
details { margin: .5rem 0; }
details > summary { cursor: pointer; font-weight: 600; }
pre.config { background: #f6f8fa; border: 1px solid #d8dee4; border-radius: 6px; padding: .75rem;
  overflow-x: auto; font-size: .82rem; }
.figure { margin: .5rem 0 1rem; min-width: 0; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: .75rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .88em; }
.ex-bar { display: flex; flex-wrap: wrap; align-items: center; gap: .4rem .75rem; margin: .5rem 0; }
.ex-bar select, .ex-bar input { font: inherit; font-size: .9rem; padding: .2rem .4rem; border: 1px solid #d0d7de;
  border-radius: 6px; background: #fff; max-width: 100%; }
.ex-bar input[type=search] { min-width: 16rem; }
button.ex-btn { font: inherit; font-size: .85rem; padding: .15rem .6rem; border: 1px solid #d0d7de; border-radius: 6px;
  background: #f6f8fa; cursor: pointer; }
button.ex-btn:disabled { opacity: .5; cursor: default; }
.ex-gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: .6rem; margin: .5rem 0; }
.ex-card { border: 1px solid #d8dee4; border-radius: 8px; padding: .5rem .6rem; background: #fff; cursor: pointer;
  min-width: 0; font-size: .85rem; }
.ex-card:hover, .ex-card:focus, .ex-card.ex-hit { border-color: #0969da; box-shadow: 0 0 0 2px #ddf4ff; outline: none; }
.ex-card.rep { border-color: #1a7f37; }
.ex-draw { display: flex; justify-content: center; align-items: center; min-height: 28px; margin-bottom: .3rem; }
.ex-draw canvas { display: block; border: 1px solid #eaeef2; max-width: 100%; }
.ex-head { display: flex; flex-wrap: wrap; gap: .1rem .5rem; align-items: baseline; }
.ex-id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }
.ex-label { background: #ddf4ff; color: #0550ae; border-radius: 999px; padding: 0 .45rem; font-size: .78rem; }
.ex-val { color: #57606a; margin-left: auto; font-variant-numeric: tabular-nums; }
.ex-detail { color: #9a6700; font-size: .8rem; }
.ex-scores { color: #57606a; font-size: .76rem; line-height: 1.35; font-variant-numeric: tabular-nums; }
.ex-textbox { text-align: left; white-space: pre-wrap; word-break: break-word; font-size: .85rem; width: 100%; margin: 0; }
.ex-textbox > summary { font-weight: 400; }
.ex-textbox[open] .ex-snip { display: none; }
.ex-toggle::after { content: "more"; color: #0969da; font-size: .8rem; margin-left: .3rem; }
.ex-textbox[open] .ex-toggle::after { content: "less"; }
.ex-feat { display: grid; grid-template-columns: max-content 1fr; gap: 0 .6rem; margin: 0; font-size: .78rem; width: 100%; }
.ex-feat dt { color: #57606a; }
.ex-feat dd { margin: 0; text-align: right; word-break: break-word; }
.ex-cluster { grid-column: 1 / -1; border: 1px dashed #d0d7de; border-radius: 8px; padding: .4rem .6rem; }
.ex-cluster-head { font-weight: 600; font-size: .88rem; margin-bottom: .3rem; }
.ex-members { display: flex; gap: .6rem; overflow-x: auto; }
.ex-members .ex-card { flex: 0 0 230px; }
.ex-table th.sortable { cursor: pointer; user-select: none; }
.ex-table th[aria-sort=ascending]::after { content: " ▲"; }
.ex-table th[aria-sort=descending]::after { content: " ▼"; }
.ex-table tbody tr { cursor: pointer; }
.ex-table td.preview { max-width: 22rem; }
.ex-table td.preview .ex-draw { justify-content: flex-start; margin: 0; }
.ex-table td.preview .ex-textbox { font-size: .8rem; }
.ex-panel { position: fixed; top: 0; right: 0; bottom: 0; width: min(440px, 94vw); z-index: 30; background: #fff;
  border-left: 1px solid #d0d7de; box-shadow: -6px 0 18px rgba(31, 35, 40, .15); padding: .8rem 1rem 2rem;
  overflow-y: auto; }
.ex-panel[hidden] { display: none; }
.ex-panel h3 { margin-top: 0; }
.ex-panel h4 { margin: .8rem 0 .3rem; font-size: .95rem; }
.ex-close { position: absolute; top: .5rem; right: .6rem; }
.ex-panel-id { font-size: 1rem; word-break: break-all; }
dl.ex-kv { display: grid; grid-template-columns: max-content 1fr; gap: .05rem .8rem; margin: .4rem 0; font-size: .85rem; }
dl.ex-kv dt { color: #57606a; }
dl.ex-kv dd { margin: 0; font-variant-numeric: tabular-nums; word-break: break-word; }
ul.ex-how { margin: -.4rem 0 .6rem; padding-left: 1.3rem; font-size: .85rem; color: #57606a; }
ul.ex-links { padding-left: 1.1rem; margin: .3rem 0; font-size: .86rem; }
ul.ex-links li { margin: .2rem 0; }
button.ex-link { background: none; border: none; color: #0969da; padding: 0; cursor: pointer; font: inherit;
  text-decoration: underline; }
@media print { nav.toc { position: static; } }
"""


# Each figure is drawn as soon as its <div> is parsed, before the rest of the page (and
# so the final width of a grid cell) exists; fit every figure to its box once loaded.
RESIZE_JS = """
window.addEventListener("load", function () {
  if (!window.Plotly) { return; }
  document.querySelectorAll(".plotly-graph-div").forEach(function (el) { window.Plotly.Plots.resize(el); });
});
"""


def esc(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape(str(value), quote=True)


def is_missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _as_float(x: Any) -> float | None:
    if is_missing(x):
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def fmt_num(x: Any, digits: int = 3) -> str:
    """A float with ``digits`` decimals; ``—`` for missing, ``∞`` for infinity."""
    v = _as_float(x)
    if v is None:
        return DASH if is_missing(x) else esc(x)
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{v:.{digits}f}"


def fmt_int(x: Any) -> str:
    """A count with thousands separators; ``—`` for missing, ``∞`` for infinity."""
    v = _as_float(x)
    if v is None:
        return DASH if is_missing(x) else esc(x)
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{round(v):,}"


def fmt_pct(x: Any, digits: int = 1) -> str:
    """A fraction as a percentage: 0.8432 -> ``84.3%``."""
    v = _as_float(x)
    if v is None:
        return DASH
    if math.isinf(v):
        return "∞"
    return f"{v * 100:.{digits}f}%"


def fmt_budget(b: Any) -> str:
    """A budget fraction as a compact percentage: 0.1 -> ``10%``, 0.125 -> ``12.5%``."""
    v = _as_float(b)
    if v is None:
        return DASH
    return f"{v * 100:.4g}%"


def fmt_ci(value: Any, lo: Any, hi: Any, fmt=fmt_num) -> str:
    """``value [lo, hi]`` (the interval in a small second line); just ``value`` when neither bound is known."""
    if is_missing(lo) and is_missing(hi):
        return fmt(value)
    return f'{fmt(value)} <span class="ci">[{fmt(lo)}, {fmt(hi)}]</span>'


def missing(message: str) -> str:
    """A visible note that something could not be shown (message is escaped)."""
    return f'<p class="missing">{esc(message)}</p>'


def note(text_html: str) -> str:
    return f'<p class="note">{text_html}</p>'


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    text_cols: Iterable[int] = (0,),
    row_classes: Sequence[str] | None = None,
    cell_classes: dict[tuple[int, int], str] | None = None,
) -> str:
    """A styled table. ``headers`` are plain text (escaped here); cells are safe HTML."""
    text_cols = set(text_cols)
    cell_classes = cell_classes or {}
    head = "".join(
        f'<th class="text">{esc(h)}</th>' if i in text_cols else f"<th>{esc(h)}</th>" for i, h in enumerate(headers)
    )
    body = []
    for r, row in enumerate(rows):
        cls = f' class="{row_classes[r]}"' if row_classes and row_classes[r] else ""
        cells = []
        for c, cell in enumerate(row):
            classes = [k for k in ("text" if c in text_cols else "", cell_classes.get((r, c), "")) if k]
            attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attr}>{cell}</td>")
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def section(section_id: str, title: str, body_html: str) -> str:
    return f'<section id="{esc(section_id)}"><h2>{esc(title)}</h2>\n{body_html}\n</section>'


def page(title: str, plotly_js: str, header_html: str, sections_html: Sequence[str], nav_html: str = "") -> str:
    """The whole document: plotly.js inlined once in <head>, no external resource.

    ``nav_html`` (a sticky table of contents) goes between the header and the sections.
    """
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n"
        f"<style>{CSS}</style>\n"
        f'<script type="text/javascript">{plotly_js}</script>\n'
        '</head>\n<body>\n<main class="container">\n'
        f"{header_html}\n{nav_html}\n"
        + "\n".join(sections_html)
        + f"\n</main>\n<script>{RESIZE_JS}</script>\n</body>\n</html>\n"
    )
