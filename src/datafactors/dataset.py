"""The one data type passed between stages."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._errors import DataError


def _as_ids(ids: Any, n: int) -> np.ndarray:
    if ids is None:
        return np.arange(n, dtype=np.int64)
    arr = np.asarray(ids)
    if arr.ndim != 1 or len(arr) != n:
        raise DataError(f"ids must have shape ({n},), got {arr.shape}")
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    elif arr.dtype.kind in "OUS":
        arr = arr.astype(str).astype(object)
    else:
        raise DataError(f"ids must be integers or strings, got dtype {arr.dtype}")
    uniq, counts = np.unique(arr.astype(str), return_counts=True)
    if len(uniq) != n:
        dup = uniq[counts > 1][:3]
        raise DataError(f"ids must be unique; duplicated: {', '.join(map(str, dup))}")
    return arr


def _encode_labels(
    y: Any, n: int, where: str, class_names: Sequence[str] | None, min_classes: int
) -> tuple[np.ndarray, list[str]]:
    ya = np.asarray(y)
    if ya.ndim != 1 or len(ya) != n:
        raise DataError(f"labels{where} must have shape ({n},), got {ya.shape}")
    if ya.dtype.kind == "f":
        if not np.isfinite(ya).all():
            raise DataError(f"labels{where} contain NaN or inf")
        if not np.all(ya == np.round(ya)):
            raise DataError(f"labels{where} must be class labels, got non-integer floats")
        ya = ya.astype(np.int64)
    try:
        classes, yi = np.unique(ya, return_inverse=True)
    except TypeError:
        raise DataError(f"labels{where} mix types that cannot be compared") from None
    if len(classes) < min_classes:
        raise DataError(f"labels{where} have {len(classes)} class, need at least {min_classes}")
    if class_names is None:
        names = [str(c) for c in classes]
    else:
        names = [str(c) for c in class_names]
        if ya.dtype.kind in "iu" and classes.min() >= 0 and classes.max() < len(names):
            yi = ya.astype(np.int64)
        elif len(names) != len(classes):
            raise DataError(f"class_names has {len(names)} names but labels{where} have {len(classes)} classes")
    return yi.astype(np.int64), names


def check_example_shape(
    shape: Any, n_features: int | None = None, *, what: str = "example_shape", name: str | None = None
) -> tuple[int, ...]:
    """``shape`` as a tuple of ints, checked: 1 to 3 positive ints, channels last in {1, 3}.

    With ``n_features`` the product of the shape must equal it. Raises DataError naming
    ``what`` (the parameter or config key), the shape, ``n_features`` and the dataset ``name``.

    Examples
    --------
    >>> check_example_shape([8, 8], 64)
    (8, 8)
    >>> check_example_shape((8, 8), 40)
    Traceback (most recent call last):
    ...
    datafactors._errors.DataError: example_shape (8, 8) holds 64 values, but the dataset has 40 features ...
    """
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence | np.ndarray):
        raise DataError(f"{what} must be a sequence of 1 to 3 ints such as (28, 28), got {shape!r}")
    items = list(shape)
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items):
        raise DataError(f"{what} must hold ints, got {tuple(items)!r}")
    dims = tuple(int(v) for v in items)
    if not 1 <= len(dims) <= 3:
        raise DataError(
            f"{what} {dims} has {len(dims)} dimensions; expected (length,), (height, width) "
            "or (height, width, channels)"
        )
    if min(dims) < 1:
        raise DataError(f"{what} {dims} must hold positive sizes")
    if len(dims) == 3 and dims[2] not in (1, 3):
        raise DataError(f"{what} {dims} has {dims[2]} channels; expected 1 (grey) or 3 (RGB), channels last")
    if n_features is not None and math.prod(dims) != n_features:
        raise DataError(
            f"{what} {dims} holds {math.prod(dims)} values, but {name or 'the dataset'} has {n_features} features "
            "(the product of the shape must equal the number of features)"
        )
    return dims


@dataclass(frozen=True, eq=False)
class Dataset:
    """Features, labels and ids of a set of examples.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32
    y : ndarray of shape (n_samples,), int64 class indices in [0, n_classes), or None for an
        unlabeled pool (then ``n_classes == 0``; operators that need labels call
        :meth:`require_labels`)
    ids : ndarray of shape (n_samples,), unique ints or strings
    groups : ndarray of shape (n_samples,) or None
    extra : pandas.DataFrame with n_samples rows or None (text, metadata, licences...)
    class_names : list of str, one per class
    name : str, where the data came from (shown in messages and the report)
    feature_columns : tuple of str, the table columns the features came from (empty for arrays)
    left_out_columns : tuple of str, table columns a loader did not use as features, label,
        id or group (text, metadata; kept in ``extra``)
    text_column : str or None, the raw-text column kept in ``extra`` (read by :meth:`texts`)
    embedding : dict or None, metadata of the featurizer that made ``X`` (encoder, revision,
        max_seq_length, n_truncated, n_cached, n_encoded, seconds, cache_dir)
    label_column : str or None, the table column the labels came from (``category``,
        ``target``, ...); an export writes the labels back under this name
    example_shape : tuple of int or None, how each row's features are laid out:
        ``(length,)`` a 1-D signal, ``(height, width)`` a grey image, ``(height, width,
        channels)`` with channels 1 or 3 a colour image (row-major, channels last, so
        ``X[i].reshape(example_shape)`` is example ``i``). None: plain features. The product
        must equal ``n_features`` (checked on construction, also by ``dataclasses.replace``).

    Use :meth:`from_arrays` to build one; it validates. ``subset`` keeps ids so
    that every score and selection joins back by example id.
    """

    X: np.ndarray
    y: np.ndarray | None
    ids: np.ndarray
    groups: np.ndarray | None = None
    extra: pd.DataFrame | None = None
    class_names: list[str] = field(default_factory=list)
    name: str = "dataset"
    feature_columns: tuple[str, ...] = ()
    left_out_columns: tuple[str, ...] = ()
    text_column: str | None = None
    embedding: dict | None = None
    label_column: str | None = None
    example_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.example_shape is not None:
            dims = check_example_shape(
                self.example_shape, int(self.X.shape[1]), name=None if self.name == "dataset" else self.name
            )
            object.__setattr__(self, "example_shape", dims)

    @classmethod
    def from_arrays(
        cls,
        X: Any,
        y: Any = None,
        ids: Any = None,
        groups: Any = None,
        *,
        extra: pd.DataFrame | None = None,
        class_names: Sequence[str] | None = None,
        name: str = "dataset",
        min_classes: int = 2,
        feature_columns: Sequence[str] = (),
        left_out_columns: Sequence[str] = (),
        text_column: str | None = None,
        embedding: dict | None = None,
        label_column: str | None = None,
        example_shape: Sequence[int] | None = None,
    ) -> Dataset:
        """Validate arrays and build a Dataset.

        Labels may be any hashable values; they are mapped to 0..C-1 in sorted
        order and the originals kept as ``class_names`` unless those are given.
        ``y=None`` builds an unlabeled pool (no classes; ``class_names`` must be empty).
        ``example_shape`` (e.g. ``(8, 8)``) says how each row's features form an image or
        signal; its product must equal the number of features.

        Examples
        --------
        >>> import numpy as np
        >>> ds = Dataset.from_arrays(np.zeros((4, 2)), [0, 1, 0, 1])
        >>> ds.n, ds.n_classes
        (4, 2)
        >>> Dataset.from_arrays(np.zeros((4, 2))).has_labels
        False
        """
        where = f" in {name}" if name != "dataset" else ""
        try:
            Xa = np.asarray(X)
        except Exception as e:  # ragged lists etc.
            raise DataError(f"features{where} cannot be read as a numeric array: {e}") from None
        if Xa.dtype == object or Xa.dtype.kind in "US":
            try:
                Xa = Xa.astype(np.float64)
            except (TypeError, ValueError):
                raise DataError(f"features{where} must be numeric, got non-numeric values") from None
        if Xa.ndim == 1:
            Xa = Xa[:, None]
        if Xa.ndim != 2:
            raise DataError(f"features{where} must be 2-D (n_samples, n_features), got shape {Xa.shape}")
        n = Xa.shape[0]
        if n == 0:
            raise DataError(f"dataset{where} is empty (0 examples)")
        if Xa.shape[1] == 0:
            raise DataError(f"dataset{where} has no feature columns")
        if Xa.dtype.kind not in "fiub":
            raise DataError(f"features{where} must be numeric, got dtype {Xa.dtype}")
        Xf = np.ascontiguousarray(Xa, dtype=np.float32)
        bad = ~np.isfinite(Xf)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            kind = "NaN" if np.isnan(Xf[r, c]) else "inf"
            raise DataError(
                f"features{where} contain {int(bad.sum())} non-finite values ({kind} first at row {r}, column {c})"
            )
        if y is None:
            if class_names:
                raise DataError(f"class_names given but the dataset{where} has no labels (y is None)")
            yi, names = None, []
        else:
            yi, names = _encode_labels(y, n, where, class_names, min_classes)
        g = None
        if groups is not None:
            g = np.asarray(groups)
            if g.ndim != 1 or len(g) != n:
                raise DataError(f"groups{where} must have shape ({n},), got {g.shape}")
        if extra is not None:
            if not isinstance(extra, pd.DataFrame) or len(extra) != n:
                raise DataError(f"extra{where} must be a DataFrame with {n} rows")
            extra = extra.reset_index(drop=True)
        if text_column is not None and (extra is None or text_column not in extra.columns):
            have = "none" if extra is None else ", ".join(map(str, extra.columns))
            raise DataError(f"text_column {text_column!r}{where} is not a column of extra (columns: {have})")
        return cls(
            Xf,
            yi,
            _as_ids(ids, n),
            g,
            extra,
            names,
            name,
            tuple(str(c) for c in feature_columns),
            tuple(str(c) for c in left_out_columns),
            text_column,
            None if embedding is None else dict(embedding),
            None if label_column is None else str(label_column),
            example_shape,  # type: ignore[arg-type]  # checked and made a tuple in __post_init__
        )

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    def __len__(self) -> int:
        return self.n

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_classes(self) -> int:
        """Number of classes; 0 for an unlabeled pool."""
        return 0 if self.y is None else len(self.class_names)

    @property
    def has_labels(self) -> bool:
        return self.y is not None

    def require_labels(self, what: str) -> None:
        """Raise DataError naming ``what`` when this dataset has no labels.

        Examples
        --------
        >>> import numpy as np
        >>> Dataset.from_arrays(np.zeros((3, 1)), name="pool").require_labels("training")
        Traceback (most recent call last):
        ...
        datafactors._errors.DataError: training needs labels, and pool has none: ...
        """
        if self.y is None:
            raise DataError(
                f"{what} needs labels, and {self.name} has none: name the label column "
                "(--label COL on the command line, label= in Python, label: in a run config)"
            )

    def texts(self, what: str = "this operator") -> list[str]:
        """The raw texts of ``text_column`` in row order (DataError naming ``what`` if there are none)."""
        if self.text_column is None or self.extra is None or self.text_column not in self.extra.columns:
            raise DataError(
                f"{what} reads raw text, and {self.name} has no text column: "
                "pass --text COL (text= in Python, text: in a run config)"
            )
        col = self.extra[self.text_column]
        return ["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in col.tolist()]

    def subset(self, idx: Any) -> Dataset:
        """Rows ``idx`` (indices or a boolean mask), ids kept."""
        ix = np.asarray(idx)
        if ix.dtype == bool:
            if ix.shape != (self.n,):
                raise DataError(f"mask must have shape ({self.n},), got {ix.shape}")
            ix = np.flatnonzero(ix)
        if ix.size and (ix.dtype.kind not in "iu" or ix.min() < -self.n or ix.max() >= self.n):
            raise DataError(f"subset indices must be integers in [0, {self.n}), got {ix.dtype} {ix.min()}..{ix.max()}")
        ix = ix.astype(np.int64)
        return Dataset(
            self.X[ix],
            None if self.y is None else self.y[ix],
            self.ids[ix],
            None if self.groups is None else self.groups[ix],
            None if self.extra is None else self.extra.iloc[ix].reset_index(drop=True),
            list(self.class_names),
            self.name,
            self.feature_columns,
            self.left_out_columns,
            self.text_column,
            None if self.embedding is None else dict(self.embedding),
            self.label_column,
            self.example_shape,
        )

    def index_of(self, ids: Any) -> np.ndarray:
        """Row indices of the given ids (DataError naming the first unknown id)."""
        lookup = {str(v): i for i, v in enumerate(self.ids)}
        out = np.empty(len(ids), dtype=np.int64)
        for j, v in enumerate(ids):
            try:
                out[j] = lookup[str(v)]
            except KeyError:
                raise DataError(f"id {v!r} is not in dataset {self.name!r}") from None
        return out

    def class_counts(self) -> np.ndarray:
        """Examples per class, shape (n_classes,); empty for an unlabeled pool."""
        if self.y is None:
            return np.zeros(0, dtype=np.int64)
        return np.bincount(self.y, minlength=self.n_classes)

    def to_pandas(self) -> pd.DataFrame:
        cols = {f"x{j}": self.X[:, j] for j in range(self.n_features)}
        head = {"id": self.ids} if self.y is None else {"id": self.ids, "label": self.y}
        frame = pd.DataFrame({**head, **cols})
        if self.groups is not None:
            frame.insert(len(head), "group", self.groups)
        return frame

    def __repr__(self) -> str:
        return f"Dataset(name={self.name!r}, n={self.n}, n_features={self.n_features}, n_classes={self.n_classes})"
