"""Balance: class balance (entropy, imbalance ratio) and group balance."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .._errors import DataError
from . import family, row
from ._context import ProfileContext

FAMILY = "balance"
MAX_KEYED_GROUPS = 50


def class_balance(counts: np.ndarray) -> tuple[float, float, float]:
    """Shannon entropy (nats), normalised entropy and imbalance ratio of category counts.

    Parameters
    ----------
    counts : (C,) non-negative counts, one per category (zeros allowed).

    Returns
    -------
    entropy : ``-sum p log p`` over categories with p > 0, in nats.
    normalized : ``entropy / ln C`` in [0, 1] (1 = perfectly balanced; NaN when C == 1).
    imbalance_ratio : ``max count / min count`` (inf when some category is empty).

    Examples
    --------
    >>> h, hn, ratio = class_balance(np.array([50, 50]))
    >>> round(h, 6), hn, ratio
    (0.693147, 1.0, 1.0)
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 1 or c.size == 0:
        raise DataError(f"counts must be a non-empty 1-D array, got shape {c.shape}")
    if (c < 0).any() or not np.isfinite(c).all():
        raise DataError("counts must be finite and >= 0")
    total = c.sum()
    if total <= 0:
        raise DataError("counts sum to 0")
    p = c[c > 0] / total
    h = float(-(p * np.log(p)).sum())
    hn = h / math.log(c.size) if c.size > 1 else math.nan
    ratio = math.inf if c.min() == 0 else float(c.max() / c.min())
    return h, hn, ratio


@family(FAMILY, description="class balance entropy and imbalance ratio; group balance")
def balance(ctx: ProfileContext) -> list[dict]:
    ds = ctx.ds
    if not ds.has_labels:  # an unlabeled pool: the group balance still applies
        from . import needs_labels_note

        rows = [row(FAMILY, "class_entropy_normalized", note=needs_labels_note(ds))]
    else:
        counts = ds.class_counts()
        h, hn, ratio = class_balance(counts)
        rows = [row(FAMILY, "class_count", int(c), key=name) for name, c in zip(ds.class_names, counts, strict=True)]
        rows += [
            row(FAMILY, "class_entropy", h, note="Shannon entropy of the class shares, nats"),
            row(FAMILY, "class_entropy_normalized", hn, note="entropy / ln(n_classes); 1 = balanced"),
            row(FAMILY, "class_imbalance_ratio", ratio, note="largest / smallest class count"),
        ]
    if ds.groups is None:
        rows.append(row(FAMILY, "group_entropy_normalized", note="not computed: the dataset has no groups"))
        return rows
    gc = pd.Series(ds.groups).astype(str).value_counts()
    gh, ghn, gratio = class_balance(gc.to_numpy())
    if len(gc) <= MAX_KEYED_GROUPS:
        rows += [row(FAMILY, "group_count", int(v), key=k) for k, v in gc.sort_index().items()]
    rows += [
        row(FAMILY, "group_entropy", gh, note="Shannon entropy of the group shares, nats"),
        row(FAMILY, "group_entropy_normalized", ghn, note="entropy / ln(n_groups); 1 = balanced"),
        row(FAMILY, "group_imbalance_ratio", gratio, note="largest / smallest group"),
        row(FAMILY, "smallest_group_share", gc.min() / ds.n),
    ]
    return rows
