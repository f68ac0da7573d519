"""Provenance and licence audit (Data Provenance Initiative).

Each licence string maps to terms: use class (commercial / unspecified / non-commercial /
academic-only), attribution, share-alike. A combined dataset takes the most restrictive
use class and the "or" of attribution and share-alike. A licence string not in the table
is reported with use class ``"unknown"`` (between unspecified and non-commercial in
restrictiveness), never an error; a missing or empty licence is ``"unspecified"``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from .._errors import DataError
from . import family, row
from ._context import ProfileContext

FAMILY = "provenance"

# Least to most restrictive.
USE_ORDER = ("commercial", "unspecified", "unknown", "non-commercial", "academic-only")
NON_COMMERCIAL = ("non-commercial", "academic-only")


class LicenceTerms(NamedTuple):
    """What a licence allows: use class, attribution required, share-alike required, canonical name."""

    use: str
    attribution: bool
    share_alike: bool
    canonical: str


_PERMISSIVE = {
    "mit": True,
    "apache-2.0": True,
    "apache": True,
    "bsd-2-clause": True,
    "bsd-3-clause": True,
    "bsd": True,
    "isc": True,
    "zlib": True,
    "unlicense": False,
    "wtfpl": False,
    "pddl": False,
    "public-domain": False,
    "odc-by": True,
    "cdla-permissive-1.0": True,
    "cdla-permissive-2.0": True,
    "openrail": True,
    "openrail-m": True,
    "bigscience-openrail-m": True,
    "creativeml-openrail-m": True,
    "artistic-2.0": True,
    "bsl-1.0": True,
    "cc0": False,
    "cc0-1.0": False,
}
_COPYLEFT = ("gpl", "lgpl", "agpl", "mpl", "epl", "odbl", "cdla-sharing", "gfdl", "eupl", "cecill")
_ACADEMIC = ("academic", "research-only", "research-use-only", "non-commercial-research", "for-research", "research")
_UNSPECIFIED = {"", "none", "nan", "unspecified", "n/a", "na", "no-license", "not-specified"}


def _normalize(s: str) -> str:
    t = s.strip().lower().replace("licence", "license")
    t = re.sub(r"\blicense\b", " ", t)
    t = re.sub(r"creative\s*commons", "cc", t)
    t = re.sub(r"attribution", "by", t)
    t = re.sub(r"non-?commercial", "nc", t)
    t = re.sub(r"share-?alike", "sa", t)
    t = re.sub(r"no-?derivatives?|noderivs", "nd", t)
    t = re.sub(r"[\s_/,()]+", "-", t)
    return re.sub(r"-+", "-", t).strip("-")


def licence_terms(licence: object) -> LicenceTerms:
    """Terms of one licence string (SPDX ids and common spellings).

    Examples
    --------
    >>> licence_terms("CC BY-NC-SA 4.0")
    LicenceTerms(use='non-commercial', attribution=True, share_alike=True, canonical='cc-by-nc-sa')
    >>> licence_terms("MIT").use, licence_terms(None).use, licence_terms("my own terms").use
    ('commercial', 'unspecified', 'unknown')
    """
    if licence is None or (isinstance(licence, float) and np.isnan(licence)):
        return LicenceTerms("unspecified", False, False, "")
    t = _normalize(str(licence))
    if t in _UNSPECIFIED:
        return LicenceTerms("unspecified", False, False, "")
    cc = re.fullmatch(r"cc-?(by(?:-(?:nc|sa|nd))*)(?:-\d+(?:\.\d+)?)?(?:-[a-z]{2,})?", t)
    if cc:
        parts = cc.group(1).split("-")
        use = "non-commercial" if "nc" in parts else "commercial"
        return LicenceTerms(use, True, "sa" in parts, "cc-" + cc.group(1))
    if re.fullmatch(r"cc-?0(-\d+(\.\d+)?)?|cc-zero|public-domain|pd", t):
        return LicenceTerms("commercial", False, False, "cc0")
    base = re.sub(r"-\d+(\.\d+)*(-only|-or-later|\+)?$", "", t)
    for key in (t, base):
        if key in _PERMISSIVE:
            return LicenceTerms("commercial", _PERMISSIVE[key], False, key)
    if any(base == c or base.startswith(c + "-") or base == c + "v" for c in _COPYLEFT) or re.fullmatch(
        r"(a|l)?gpl(v?\d.*)?", t
    ):
        return LicenceTerms("commercial", True, True, base)
    if any(a in t for a in _ACADEMIC):
        return LicenceTerms("academic-only", True, False, "academic-only")
    if t in {"nc", "non-commercial", "noncommercial"} or t.endswith("-nc"):
        return LicenceTerms("non-commercial", True, False, "non-commercial")
    return LicenceTerms("unknown", False, False, t)


class Audit(NamedTuple):
    """Per-licence table and the combined terms of the whole dataset."""

    table: pd.DataFrame
    use: str
    attribution: bool
    share_alike: bool
    non_commercial_share: float
    unknown_share: float


def provenance_audit(licences: Sequence[object], sources: Sequence[object] | None = None) -> Audit:
    """Audit the licences of a combined dataset (one licence per example).

    Parameters
    ----------
    licences : (n,) licence strings (None / NaN / "" = unspecified).
    sources : optional (n,) source names; the table then has one row per (source, licence).

    Returns
    -------
    Audit(table with columns source, licence, use, attribution, share_alike, n_examples;
    combined use = the most restrictive; attribution / share_alike = any;
    non_commercial_share = share of examples under non-commercial or academic-only
    terms; unknown_share = share under unrecognised licences)

    Examples
    --------
    >>> a = provenance_audit(["MIT", "CC-BY-NC-4.0", "MIT", "weird"])
    >>> a.use, a.attribution, a.share_alike, a.non_commercial_share, a.unknown_share
    ('non-commercial', True, False, 0.25, 0.25)
    """
    lic = list(licences)
    if not lic:
        raise DataError("licences is empty")
    if sources is not None and len(sources) != len(lic):
        raise DataError(f"sources has {len(sources)} values but licences has {len(lic)}")
    src = (
        ["" if s is None or (isinstance(s, float) and np.isnan(s)) else str(s) for s in sources]
        if sources
        else [""] * len(lic)
    )
    shown = ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t) for t in lic]
    frame = pd.DataFrame({"source": src, "licence": shown})
    table = frame.value_counts(["source", "licence"], sort=False).rename("n_examples").reset_index()
    terms = [licence_terms(t if t else None) for t in table["licence"]]
    table.insert(2, "use", [t.use for t in terms])
    table.insert(3, "attribution", [t.attribution for t in terms])
    table.insert(4, "share_alike", [t.share_alike for t in terms])
    table = table.sort_values(["source", "n_examples"], ascending=[True, False], kind="stable").reset_index(drop=True)
    n = len(lic)
    use = max(table["use"], key=USE_ORDER.index)
    nc = float(table.loc[table["use"].isin(NON_COMMERCIAL), "n_examples"].sum() / n)
    unk = float(table.loc[table["use"] == "unknown", "n_examples"].sum() / n)
    return Audit(table, use, bool(table["attribution"].any()), bool(table["share_alike"].any()), nc, unk)


@family(FAMILY, description="licence use classes, attribution, share-alike; most restrictive combined terms")
def provenance(ctx: ProfileContext) -> list[dict]:
    ds = ctx.ds
    if ctx.licence_col is None or ds.extra is None:
        return [row(FAMILY, "combined_use", note="not computed: no licence column (pass licence=<column>)")]
    lic = ds.extra[ctx.licence_col].tolist()
    src = ds.extra[ctx.source_col].tolist() if ctx.source_col is not None else None
    a = provenance_audit(lic, src)
    rows = []
    for r in a.table.itertuples(index=False):
        key = f"{r.source}: {r.licence or '(none)'}" if src is not None else (r.licence or "(none)")
        flags = ", ".join(f for f, on in (("attribution", r.attribution), ("share-alike", r.share_alike)) if on)
        rows.append(row(FAMILY, "licence_examples", r.n_examples, key=key, text=r.use, note=flags))
    rows += [
        row(FAMILY, "combined_use", text=a.use, note="most restrictive use class over all examples"),
        row(FAMILY, "attribution_required", float(a.attribution)),
        row(FAMILY, "share_alike_required", float(a.share_alike)),
        row(
            FAMILY,
            "non_commercial_share",
            a.non_commercial_share,
            note="examples under non-commercial or academic-only terms",
        ),
        row(FAMILY, "unknown_licence_share", a.unknown_share, note="examples under licence strings not in the table"),
    ]
    return rows
