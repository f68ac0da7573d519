"""Size: how many examples, features, classes and groups."""

from __future__ import annotations

from . import family, row
from ._context import ProfileContext

FAMILY = "size"


@family(FAMILY, description="number of examples, features, classes, groups and text columns")
def size(ctx: ProfileContext) -> list[dict]:
    ds = ctx.ds
    rows = [
        row(FAMILY, "n_examples", ds.n),
        row(FAMILY, "n_features", ds.n_features, note="input features of the dataset"),
        row(FAMILY, "n_classes", ds.n_classes),
    ]
    if ctx.X is not ds.X:
        rows.append(
            row(FAMILY, "embedding_dim", ctx.X.shape[1], note="dimension of the vectors the geometric factors use")
        )
    if ds.groups is not None:
        import pandas as pd

        rows.append(row(FAMILY, "n_groups", pd.Series(ds.groups).nunique()))
    if ctx.texts is not None:
        empty = sum(1 for t in ctx.texts if not t.strip())
        rows.append(
            row(FAMILY, "empty_texts", empty, note=f"rows of text column {ctx.text_col!r} that are empty or whitespace")
        )
    return rows
