"""A table whose examples are texts, read without embedding them (for operators that read only raw text)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from .._errors import DataError
from ..dataset import Dataset
from .text import text_column

__all__ = ["TEXT_ONLY_STRATEGIES", "read_text_rows"]

# Strategies that read only ``ds.texts()`` (never the features): with --text they need no embedding.
TEXT_ONLY_STRATEGIES = ("exact_dedup", "minhash_dedup", "quality_rules", "decontaminate")

_NO_FEATURES = "__no_features__"


def read_text_rows(path: Any, text: str, *, label: str | None = None) -> Dataset:
    """The rows of a file or folder of shards with text column ``text``, not embedded.

    Every column stays in ``extra``, ``text_column`` names the text and the features are
    one zero column (nothing is encoded, so a MinHash or quality pass over a large corpus
    costs no encoder time). The texts are validated as for embedding: a missing,
    non-string or empty value raises DataError naming the row and its id.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "c.jsonl")
    >>> pd.DataFrame({"text": ["a b c", "d e f"]}).to_json(p, orient="records", lines=True)
    >>> ds = read_text_rows(p, "text")
    >>> ds.n, ds.texts(), ds.has_labels
    (2, ['a b c', 'd e f'], False)
    """
    from ..io import readers

    p = Path(os.fspath(path)).expanduser()
    frame = readers.normalize_frame(readers.read_frame(p, what=f"a table with the text column {text!r}"), p.name)
    if text not in frame.columns:
        raise DataError(
            f"text column {text!r} not found in {p.name}; columns are: {readers.name_list(list(frame.columns))}"
        )
    if label is not None and label == text:
        raise DataError(f"--text {text} is also the --label column; the text and the label must differ")
    lab = label
    if lab is None:
        lab = readers.resolve_column(list(frame.columns), None, readers.LABEL_DEFAULTS, "label", p.name)
    frame[_NO_FEATURES] = 0.0
    ds = readers.from_table(frame, label=None if lab == text else lab, features=[_NO_FEATURES], name=p.name)
    ds = dataclasses.replace(ds, text_column=text, feature_columns=(), left_out_columns=())
    text_column(ds, text)
    return ds
