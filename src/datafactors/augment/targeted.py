"""Targeted augmentation (randomise only the spurious features) and a generic one to compare with.

``targeted`` follows Gao et al., *Out-of-Domain Robustness via Targeted Augmentations*
(ICML 2023), and the idea of TIDA (*Targeted Image Data Augmentation Increases Basic
Skills Captioning Robustness*): change only what is domain-dependent and keep what
decides the label. Each new row keeps its parent's label-relevant columns bit for bit
and takes its spurious columns, as one block, from a *donor* row drawn at random
independently of the parent's label. The donor's spurious values are therefore
independent of the new row's label: a cue that agreed with the label for 90% of the
rows agrees by chance afterwards (``P(s = y)`` equals ``P(s = 0)P(y = 0) + P(s = 1)P(y = 1)``,
0.5 for balanced classes), while the cue's own distribution (the marginal over rows,
or over groups with ``donors="groups"``) is unchanged.

``generic`` perturbs every column (Gaussian noise or random feature dropout) without
knowing which columns are spurious: the untargeted augmentation the paper compares with.

Which columns are spurious: ``columns=`` (indices, or names when the dataset has
``feature_columns``); without it they are read from the dataset: the feature columns
whose names start with ``spurious`` (the ``spurious`` task, :mod:`datafactors.tasks.spurious`,
names its columns ``spurious_0``, ``spurious_1``, ...).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._errors import ConfigError, DataError
from ..dataset import Dataset
from . import REGISTRY, NewRows

DONORS = ("rows", "groups")
GENERIC_KINDS = ("noise", "dropout")


def spurious_columns(ds: Dataset) -> np.ndarray | None:
    """Spurious feature columns the dataset itself records, or None.

    They are the feature columns whose names start with ``spurious`` (case-insensitive):
    a table loaded with such columns, or a dataset made by the ``spurious`` task
    (:mod:`datafactors.tasks.spurious` names its columns ``spurious_0``, ``spurious_1``, ...).
    """
    named = [j for j, c in enumerate(ds.feature_columns) if str(c).lower().startswith("spurious")]
    if named and len(ds.feature_columns) == ds.n_features:
        return np.array(named, dtype=np.int64)
    return None


def resolve_columns(ds: Dataset, columns: Any) -> np.ndarray:
    """``columns`` (None, an index, a name, or a list of them) as sorted unique column indices.

    None reads them from the dataset (:func:`spurious_columns`); DataError when it
    records none. Names need ``ds.feature_columns``; negative indices count from the end.
    """
    d = ds.n_features
    if columns is None:
        found = spurious_columns(ds)
        if found is None:
            raise DataError(
                f"targeted augmentation needs to know which columns are spurious, and {ds.name} does not "
                "record them (no feature columns named 'spurious...'): "
                "pass columns=[indices] or columns=[names]"
            )
        return found
    items = [columns] if isinstance(columns, (str, numbers.Integral)) else columns
    try:
        items = list(items)
    except TypeError:
        raise ConfigError(f"columns == {columns!r}, must be column indices or names") from None
    if not items:
        raise ConfigError("columns is empty; name at least one spurious column")
    names = {str(c): j for j, c in enumerate(ds.feature_columns)}
    out = []
    for c in items:
        if isinstance(c, str):
            if c not in names:
                have = ", ".join(list(names)[:8]) or "none: the dataset was built from arrays, use indices"
                raise DataError(f"columns names {c!r}, which is not a feature column of {ds.name} (columns: {have})")
            out.append(names[c])
        elif isinstance(c, numbers.Integral) and not isinstance(c, (bool, np.bool_)):
            if not -d <= int(c) < d:
                raise DataError(f"columns holds index {int(c)}, but {ds.name} has {d} features (valid: -{d}..{d - 1})")
            out.append(int(c) % d)
        else:
            raise ConfigError(f"columns holds {c!r}; expected column indices (ints) or names (str)")
    return np.unique(np.array(out, dtype=np.int64))


def _check_copies(copies: Any) -> int:
    if isinstance(copies, (bool, np.bool_)) or not isinstance(copies, numbers.Integral) or copies < 1:
        raise ConfigError(f"copies == {copies!r}, must be an int >= 1")
    return int(copies)


def draw_donors(
    n: int, m: int, rng: np.random.Generator, *, groups: np.ndarray | None = None, by: str = "rows"
) -> np.ndarray:
    """``m`` donor row indices in [0, n), drawn independently of everything else about the rows.

    ``by="rows"``: uniform over rows. ``by="groups"``: a group uniformly at random, then a
    row uniformly within it, so every group donates equally often (``groups`` (n,) needed).

    Examples
    --------
    >>> draw_donors(4, 6, np.random.default_rng(0), groups=np.array([0, 0, 0, 1]), by="groups").tolist()
    [3, 3, 3, 0, 0, 0]
    """
    if by == "rows":
        return rng.integers(0, n, size=m).astype(np.int64)
    if groups is None:
        raise DataError('donors="groups" needs group labels; the dataset has none (pass groups= when building it)')
    try:
        _, code = np.unique(np.asarray(groups), return_inverse=True)
    except TypeError:
        raise DataError('groups mix types that cannot be compared; donors="groups" needs sortable groups') from None
    code = code.ravel()
    members = [np.flatnonzero(code == g) for g in range(int(code.max()) + 1)]
    pick = rng.integers(0, len(members), size=m)
    out = np.empty(m, dtype=np.int64)
    for g, rows in enumerate(members):
        at = np.flatnonzero(pick == g)
        out[at] = rows[rng.integers(0, len(rows), size=len(at))]
    return out


def resample_columns(X: np.ndarray, columns: np.ndarray, parents: np.ndarray, donors: np.ndarray) -> np.ndarray:
    """Rows ``X[parents]`` with ``columns`` replaced by those of ``X[donors]``; the other columns are copied exactly.

    Examples
    --------
    >>> X = np.array([[1.0, 10.0], [2.0, 20.0]])
    >>> resample_columns(X, np.array([1]), np.array([0, 1]), np.array([1, 0])).tolist()
    [[1.0, 20.0], [2.0, 10.0]]
    """
    out = np.array(X[parents], copy=True)
    out[:, columns] = X[donors][:, columns]
    return out


@REGISTRY.register("targeted")
def targeted(ds: Dataset, *, rng: np.random.Generator, columns: Any = None, copies: int = 1, donors: str = "rows"):
    """Resample only the spurious columns, from donor rows drawn independently of the label.

    Parameters
    ----------
    columns : spurious column indices or names; None reads them from the dataset
        (:func:`spurious_columns`).
    copies : new rows per original row (ids ``...~targeted:0`` .. ``:copies-1``), in
        copy-major order: the first ``n`` new rows are copy 0 of every row.
    donors : ``"rows"`` (uniform over rows: the spurious values keep their marginal) or
        ``"groups"`` (uniform over ``ds.groups``, then over rows: every domain donates equally).

    New ``extra`` columns: ``donor`` (the donor's id) and, with groups, ``donor_group``.
    On the spurious task the ``spurious`` and ``aligned`` columns describe the new row
    (the donor's spurious value, and whether it equals the row's label); ``groups`` stay
    the parent's.
    """
    cols = resolve_columns(ds, columns)
    k = _check_copies(copies)
    if donors not in DONORS:
        raise ConfigError(f"donors == {donors!r}, must be one of {', '.join(DONORS)}")
    parents = np.tile(np.arange(ds.n, dtype=np.int64), k)
    donor = draw_donors(ds.n, len(parents), rng, groups=ds.groups, by=donors)
    extra: dict[str, Any] = {"donor": [str(ds.ids[i]) for i in donor]}
    if ds.groups is not None:
        extra["donor_group"] = np.asarray(ds.groups, dtype=object)[donor]
    named = spurious_columns(ds)
    if named is not None and np.array_equal(named, cols) and ds.extra is not None and "spurious" in ds.extra:
        s = ds.extra["spurious"].to_numpy()[donor]
        extra["spurious"] = s
        if "aligned" in ds.extra.columns and ds.y is not None:
            extra["aligned"] = s == ds.y[parents]
    tags = np.repeat(np.arange(k), ds.n).astype(str)
    return NewRows(resample_columns(ds.X, cols, parents, donor), parents, tags, columns=extra)


def perturb(
    X: np.ndarray, rng: np.random.Generator, *, kind: str = "noise", scale: float = 0.5, p: float = 0.3
) -> np.ndarray:
    """Perturb every column of ``X``: Gaussian noise or random feature dropout.

    ``noise`` adds N(0, (scale * sd_j)^2) to column j, sd_j its standard deviation over
    the rows (a constant column uses the overall standard deviation, so it changes
    too). ``dropout`` sets each entry to 0 with probability ``p``.

    Examples
    --------
    >>> perturb(np.ones((2, 3)), np.random.default_rng(0), kind="dropout", p=1.0).tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    A = np.asarray(X, dtype=np.float64)
    if kind == "dropout":
        return A * (rng.random(A.shape) >= p)
    sd = A.std(axis=0)
    overall = float(A.std()) or 1.0
    sd = np.where(sd > 1e-12, sd, overall)
    return A + rng.normal(size=A.shape) * (scale * sd)


@REGISTRY.register("generic")
def generic(
    ds: Dataset,
    *,
    rng: np.random.Generator,
    kind: str = "noise",
    scale: float | None = None,
    p: float | None = None,
    copies: int = 1,
):
    """Perturb every column, spurious or not (the untargeted baseline).

    Parameters
    ----------
    kind : ``"noise"`` (Gaussian, sd ``scale`` times each column's sd; default scale 0.5)
        or ``"dropout"`` (each entry zeroed with probability ``p``; default 0.3).
    scale, p : the strength of ``noise`` / ``dropout`` (giving the other kind's is an error).
    copies : new rows per original row, as for ``targeted``.
    """
    if kind not in GENERIC_KINDS:
        raise ConfigError(f"kind == {kind!r}, must be one of {', '.join(GENERIC_KINDS)}")
    if kind == "noise" and p is not None:
        raise ConfigError('p sets the dropout rate; with kind="noise" set scale instead')
    if kind == "dropout" and scale is not None:
        raise ConfigError('scale sets the noise level; with kind="dropout" set p instead')
    scale = 0.5 if scale is None else scale
    p = 0.3 if p is None else p
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not (np.isfinite(scale) and scale > 0):
        raise ConfigError(f"scale == {scale!r}, must be a number > 0")
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 < p <= 1:
        raise ConfigError(f"p == {p!r}, must be in (0, 1]")
    k = _check_copies(copies)
    parents = np.tile(np.arange(ds.n, dtype=np.int64), k)
    # stacked copies have the same column spreads as the original rows
    X = perturb(ds.X[parents], rng, kind=kind, scale=float(scale), p=float(p))
    return NewRows(X, parents, np.repeat(np.arange(k), ds.n).astype(str))
