"""Text normalisation shared by the text filters (MinHash, exact dedup on text)."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize_text"]

# \s in Python's re (str patterns) covers Unicode whitespace: tabs, newlines, no-break space (U+00A0),
# the ideographic space, line/paragraph separators. NFKC already maps most of them to U+0020.
_WS = re.compile(r"\s+")


def normalize_text(s: str) -> str:
    """Canonical form of a text for duplicate detection: NFKC, lower case, whitespace folded, stripped.

    Steps, in order: Unicode NFKC (compatibility characters such as the ligature "ﬁ" become "fi",
    full-width digits and letters become ASCII), ``str.lower``, every run of whitespace (spaces,
    tabs, newlines, no-break spaces) replaced by one space, leading and trailing space removed.

    Parameters
    ----------
    s : str
        Any text.

    Returns
    -------
    str
        The normalised text (possibly empty).

    Examples
    --------
    >>> normalize_text("  The \\ufb01nal\\tANSWER:\\n\\n \\uff14\\uff12\\u00a0 ")
    'the final answer: 42'
    """
    if not isinstance(s, str):
        raise TypeError(f"normalize_text expects a str, got {type(s).__name__}")
    return _WS.sub(" ", unicodedata.normalize("NFKC", s).lower()).strip()
