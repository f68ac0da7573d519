"""The heuristic quality rules as a filter: keep the rows that pass every enabled rule.

``quality_rules`` applies the rule families of :mod:`datafactors.scores.quality_rules`
(``gopher_quality``, ``gopher_repetition``, ``c4``; ``families=`` picks them) to the raw text
of the dataset's text column. ``rules=`` names the rules to apply across those families
(None = every rule of every chosen family); every threshold of the three scorers is an
option of the selector under the scorer's own parameter name (``min_words=``,
``max_top2gram=``, ``min_line_words=``, ...). A filter (:func:`datafactors.select.filter_selector`):
with ``budget=None`` it keeps every passing row in input order, with a budget the first
``budget`` of them.

:func:`rule_report` says per row which rules it failed, :func:`rule_summary` how many rows
each rule removes -- short texts fail Gopher's 50-word rule and C4's 3-sentence rule by
design, and the summary shows it before a corpus is filtered away. The same verdicts are the
scorers' boolean score columns: rule ``r`` of ``rule_report`` is the column
``<statistic of r>_fail`` of ``compute(ds, [family])`` (``stop_words`` -> ``gopher_stop_words_fail``).

Examples
--------
>>> import numpy as np, pandas as pd, datafactors as df
>>> texts = ["too short", "f(x) { return 1; }"]
>>> ds = df.Dataset.from_arrays(np.zeros((2, 1)), extra=pd.DataFrame({"text": texts}), text_column="text")
>>> rule_report(ds, families=["c4"])["failed_rules"].tolist()
['sentences', 'sentences,curly_brace']
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from ..scores.quality_rules import RULE_FAMILIES
from . import REGISTRY, filter_selector
from ._common import requires

__all__ = ["DEFAULT_FAMILIES", "quality_rules_select", "rule_failures", "rule_report", "rule_summary"]

DEFAULT_FAMILIES = ("gopher_quality", "gopher_repetition", "c4")

# every threshold parameter of every family, with its default and its family
_THRESHOLDS: dict[str, tuple[str, Any]] = {
    p: (fam, cls.param_defaults()[p]) for fam, cls in RULE_FAMILIES.items() for p in cls.threshold_params()
}


def _families(families: Any) -> tuple[str, ...]:
    if isinstance(families, str):
        families = [f.strip() for f in families.split(",") if f.strip()]
    if not isinstance(families, Sequence) or not families or not all(isinstance(f, str) for f in families):
        raise ConfigError(f"families == {families!r}, must name one or more of: {', '.join(RULE_FAMILIES)}")
    unknown = [f for f in families if f not in RULE_FAMILIES]
    if unknown:
        raise ConfigError(f"unknown rule family {unknown[0]!r}; known: {', '.join(RULE_FAMILIES)}")
    return tuple(f for f in RULE_FAMILIES if f in families)


def _split_rules(families: tuple[str, ...], rules: Any) -> dict[str, tuple[str, ...] | None]:
    """Per family, the rules to apply (empty tuple: none of that family's rules was named)."""
    if rules is None:
        return {f: None for f in families}
    if isinstance(rules, str):
        names = [r.strip() for r in rules.split(",") if r.strip()]
    elif isinstance(rules, Sequence) and all(isinstance(r, str) for r in rules):
        names = [r.strip() for r in rules]
    else:
        raise ConfigError(f"rules == {rules!r}, must be a list of rule names or None for all")
    known = [r for f in families for r in RULE_FAMILIES[f].rule_names()]
    unknown = [r for r in names if r not in known]
    if unknown:
        raise ConfigError(f"unknown rule {unknown[0]!r} for quality_rules; known: {', '.join(known)}")
    if not names:
        raise ConfigError(f"rules names no rule; known: {', '.join(known)} (None for all)")
    return {f: tuple(r for r in RULE_FAMILIES[f].rule_names() if r in names) for f in families}


def _scorers(families: Any, rules: Any, thresholds: dict[str, Any]) -> list:
    fams = _families(families)
    unknown = sorted(set(thresholds) - set(_THRESHOLDS))
    if unknown:
        raise ConfigError(
            f"unknown threshold {unknown[0]!r} for quality_rules; known: {', '.join(sorted(_THRESHOLDS))}"
        )
    outside = sorted(p for p in thresholds if _THRESHOLDS[p][0] not in fams)
    if outside:
        raise ConfigError(
            f"threshold {outside[0]!r} belongs to family {_THRESHOLDS[outside[0]][0]!r}, "
            f"which is not among families {', '.join(fams)}"
        )
    per_family = _split_rules(fams, rules)
    out = []
    for fam in fams:
        chosen = per_family[fam]
        if chosen == ():
            continue
        params = {p: v for p, v in thresholds.items() if _THRESHOLDS[p][0] == fam}
        out.append(RULE_FAMILIES[fam].create({"rules": chosen, **params}))
    return out


def rule_failures(ds: Any, *, families: Any = DEFAULT_FAMILIES, rules: Any = None, **thresholds: Any) -> pd.DataFrame:
    """(n, rules) bool DataFrame indexed by id: True where the row fails the rule (the enabled rules, in order)."""
    frames = [s.rule_failures(ds) for s in _scorers(families, rules, thresholds)]
    out = pd.concat(frames, axis=1)
    out.index.name = "id"
    return out


def rule_report(ds: Any, *, families: Any = DEFAULT_FAMILIES, rules: Any = None, **thresholds: Any) -> pd.DataFrame:
    """Per row, which enabled rules it failed.

    Parameters
    ----------
    ds : Dataset with a text column.
    families, rules, thresholds : as for the ``quality_rules`` selector.

    Returns
    -------
    DataFrame with columns ``id``, one bool column per enabled rule (True = failed) and
    ``failed_rules``: the failed rules' names joined by commas ("" when the row passes).
    """
    fails = rule_failures(ds, families=families, rules=rules, **thresholds)
    names = np.array(fails.columns, dtype=object)
    failed = [",".join(names[row]) for row in fails.to_numpy(dtype=bool)]
    out = fails.reset_index()
    out["failed_rules"] = failed
    return out


def rule_summary(report: pd.DataFrame) -> pd.DataFrame:
    """How many rows each rule removes: columns ``rule``, ``n_failed``, ``share`` (of all rows).

    One row per rule column of ``report`` (from :func:`rule_report`), in its order, and a last
    row ``any``: the rows failing at least one rule (what the filter drops).
    """
    if not isinstance(report, pd.DataFrame) or "failed_rules" not in report.columns:
        raise DataError("rule_summary expects the DataFrame from rule_report (with a failed_rules column)")
    cols = [c for c in report.columns if c not in ("id", "failed_rules")]
    n = len(report)
    fails = report[cols].to_numpy(dtype=bool)
    counts = [*fails.sum(axis=0).tolist(), int(fails.any(axis=1).sum()) if cols else 0]
    return pd.DataFrame(
        {
            "rule": [*cols, "any"],
            "n_failed": np.array(counts, dtype=np.int64),
            "share": np.array(counts, dtype=np.float64) / max(n, 1),
        }
    )


@REGISTRY.register("quality_rules")
@filter_selector
@requires("text")  # a text column: generic callers cannot run it on a bare feature table
def quality_rules_select(
    ds, k, *, scores=None, embeddings=None, rng=None, families=DEFAULT_FAMILIES, rules=None, **thresholds
) -> np.ndarray:
    """Heuristic quality filter: the rows that pass every enabled Gopher / C4 rule, in input order.

    ``families`` picks the rule families (gopher_quality, gopher_repetition, c4), ``rules``
    the rules within them (None = all); every threshold of the three scorers is an option
    (see :mod:`datafactors.scores.quality_rules` for names and defaults).
    """
    fails = rule_failures(ds, families=families, rules=rules, **thresholds)
    return np.flatnonzero(~fails.to_numpy(dtype=bool).any(axis=1))


def _check_params(families=DEFAULT_FAMILIES, rules=None, **thresholds) -> None:
    _scorers(families, rules, thresholds)


# select() and check_strategy() read the options from the signature: list every threshold
_sig = inspect.signature(quality_rules_select)
quality_rules_select.__signature__ = _sig.replace(
    parameters=[
        *(p for p in _sig.parameters.values() if p.kind is not p.VAR_KEYWORD),
        *(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=d) for name, (_, d) in _THRESHOLDS.items()),
    ]
)
quality_rules_select.check_params = _check_params
