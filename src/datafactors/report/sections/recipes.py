"""The "Recipe verdicts" section: paper findings checked with ``datafactors recipes run NAME --run RUN``.

Reads ``recipes.json`` from the run folder (written by
:func:`datafactors.recipes.save_verdicts`); without it the section says how to add one.
"""

from __future__ import annotations

from typing import Any

from ..._errors import DataError
from .._html import esc, missing, note, table
from .._load import RunData

MAX_MEASURED = 8


def read_verdicts(run: RunData) -> tuple[list[dict[str, Any]] | None, str]:
    """The saved verdicts, or None and why they are unavailable."""
    from ...recipes import VERDICTS_FILE, load_verdicts

    if not (run.run_dir / VERDICTS_FILE).is_file():
        return None, (
            f"No recipe verdicts for this run ({VERDICTS_FILE} is absent). Add some with "
            f"datafactors recipes run NAME --run {run.run_dir}"
        )
    try:
        return load_verdicts(run.run_dir), ""
    except DataError as e:
        return None, str(e)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, str) and v in ("inf", "-inf", "nan"):
        return {"inf": "∞", "-inf": "−∞", "nan": "—"}[v]
    return esc(v)


def _measured(measured: Any) -> str:
    if not isinstance(measured, dict) or not measured:
        return "—"
    items = list(measured.items())
    shown = "".join(f"<li>{esc(k)}: <b>{_value(v)}</b></li>" for k, v in items[:MAX_MEASURED])
    more = f"<li>… {len(items) - MAX_MEASURED} more in recipes.json</li>" if len(items) > MAX_MEASURED else ""
    return f'<ul class="measured">{shown}{more}</ul>'


def _num(v: Any) -> str:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return f"{v:.3g}"
    return _value(v)


def _effects(entry: dict[str, Any]) -> str:
    """Each effect as estimate [lo, hi] with the margin it needs, then the negative control's verdict."""
    items = []
    for e in entry.get("effects") or []:
        if not isinstance(e, dict):
            continue
        need = f"{'lower end >' if e.get('above', True) else 'upper end <'} {_num(e.get('margin', 0.0))}"
        mark = "✓" if e.get("held") is True else "✗"
        items.append(
            f"<li>{mark} {esc(e.get('label', ''))}: <b>{_num(e.get('estimate'))}</b> "
            f'[{_num(e.get("lo"))}, {_num(e.get("hi"))}] <span class="caption">(needs {esc(need)})</span></li>'
        )
    if entry.get("control"):
        held = entry.get("control_held")
        if held is None:
            verdict = "not run"
        else:
            verdict = "not held, as it should be" if held is False else "<b>held — the control failed</b>"
        items.append(f"<li>negative control ({esc(entry['control'])}): {verdict}</li>")
    if not items:
        return "—"
    return f'<ul class="measured">{"".join(items)}</ul>'


def _badge(held: Any) -> str:
    return '<span class="badge held">held</span>' if held is True else '<span class="badge not-held">not held</span>'


def verdict_counts(run: RunData) -> tuple[int, int] | None:
    """(held, total) over the saved verdicts, or None when there are none."""
    entries, _ = read_verdicts(run)
    if not entries:
        return None
    return sum(e.get("held") is True for e in entries), len(entries)


def recipes_html(run: RunData) -> str:
    entries, why = read_verdicts(run)
    if entries is None:
        return missing(why)
    if not entries:
        return missing("recipes.json holds no verdicts.")
    n_held = sum(e.get("held") is True for e in entries)
    rows = []
    for e in entries:
        ran = []
        if e.get("seed") is not None:
            ran.append(f"seed {esc(e['seed'])}")
        if e.get("quick"):
            ran.append("quick")
        if e.get("seconds") is not None:
            ran.append(f"{_value(float(e['seconds']))} s")
        if e.get("date"):
            ran.append(esc(str(e["date"])[:10]))
        rows.append(
            [
                f'<b>{esc(e.get("name", "?"))}</b><br><span class="caption">{esc(e.get("paper", ""))}</span>',
                _badge(e.get("held")),
                esc(e.get("claim", ""))
                + (f'<br><span class="caption">checked: {esc(e["claim_part"])}</span>' if e.get("claim_part") else ""),
                _effects(e),
                _measured(e.get("measured")),
                "<br>".join(ran) or "—",
            ]
        )
    return "\n".join(
        [
            note(
                f"<b>{n_held} of {len(entries)}</b> paper finding(s) held when re-checked at small scale. "
                "Each recipe is a small experiment whose verdict is computed from its effects: an estimate with a "
                "90% interval over seeds and items must clear the claim's margin, and the same experiment with the "
                "mechanism removed (its negative control) must not. A claim that does not hold here may still "
                "hold at the paper's scale."
            ),
            table(
                ["Recipe", "Verdict", "Claim", "Evidence", "Measured", "Ran"],
                rows,
                text_cols=(0, 1, 2, 3, 4, 5),
                cell_classes={
                    (r, c): k
                    for r in range(len(rows))
                    for c, k in ((0, "recipe"), (2, "claim"), (3, "measured"), (4, "measured"), (5, "ran"))
                },
            ),
        ]
    )
