"""Crafted shifts: families of strong augmentations applied to a validation set, two folds across families.

For 1-D signals (n, L) and small images (n, h*w, e.g. 8x8 digits): ``noise``, ``blur``,
``shift`` (translation for signals; small rotation + translation for images),
``invert``, ``quantize`` and ``dropout``. Families are dealt into folds (default two:
``noise, shift, quantize`` and ``blur, invert, dropout``) so that one fold can choose
methods or hyperparameters and the other check the choice.

The registered ``crafted`` split holds out validation rows, one disjoint half per fold
(``ood["crafted-fold0"]``, ``ood["crafted-fold1"]``); :func:`crafted_validation_sets`
turns those rows into augmented Datasets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._errors import ConfigError, DataError
from .._validation import SeedLike, check_random_state
from ..dataset import Dataset
from . import REGISTRY, Split
from ._common import carve_test, share

FAMILIES = ("noise", "blur", "shift", "invert", "quantize", "dropout")


def infer_shape(d: int, shape: Sequence[int] | None = None) -> tuple[int, ...]:
    """(d,) for a 1-D signal or (h, w) for an image; a perfect square d >= 16 is read as a square image."""
    if shape is not None:
        sh = tuple(int(s) for s in shape)
        if math.prod(sh) != d or len(sh) not in (1, 2):
            raise ConfigError(f"shape {sh} does not match {d} features (give (L,) or (h, w))")
        return sh
    r = math.isqrt(d)
    return (r, r) if r * r == d and d >= 16 else (d,)


def fold_families(folds: int = 2, families: Sequence[str] = FAMILIES) -> list[tuple[str, ...]]:
    """Deal the families round-robin into ``folds`` folds.

    Examples
    --------
    >>> fold_families(2)
    [('noise', 'shift', 'quantize'), ('blur', 'invert', 'dropout')]
    """
    fams = _check_families(families)
    if isinstance(folds, bool) or not isinstance(folds, int) or not 1 <= folds <= len(fams):
        raise ConfigError(f"folds == {folds!r}, must be an int in [1, {len(fams)}]")
    return [tuple(fams[i::folds]) for i in range(folds)]


def _check_families(families: Sequence[str]) -> list[str]:
    fams = [families] if isinstance(families, str) else list(families)
    bad = [f for f in fams if f not in FAMILIES]
    if bad or not fams:
        raise ConfigError(f"unknown augmentation families {bad}; known: {', '.join(FAMILIES)}")
    return fams


def _blur(A: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter1d

    out = A
    for ax in range(1, A.ndim):
        out = gaussian_filter1d(out, sigma, axis=ax, mode="constant")
    return out


def augment(
    X: np.ndarray,
    family: str,
    *,
    shape: Sequence[int] | None = None,
    severity: float = 1.0,
    seed: SeedLike = 0,
) -> np.ndarray:
    """Apply one augmentation family to every row of ``X``.

    Parameters
    ----------
    X : (n, d) signals or flattened images.
    family : one of ``FAMILIES``:
        noise - add Gaussian noise with sd ``0.5 * severity * sd(X)``;
        blur - Gaussian blur, sigma ``severity`` samples/pixels;
        shift - signals: translate by up to ``d/8 * severity`` samples (zero fill);
        images: rotate up to 15 degrees and translate up to 1 pixel, times ``severity``;
        invert - ``min + max - x`` over the data's value range;
        quantize - round to ``max(2, round(8 / severity))`` levels over the value range;
        dropout - zero a random ``min(0.9, 0.3 * severity)`` share of the entries.
    shape : (L,) or (h, w); default from :func:`infer_shape`.

    Returns
    -------
    (n, d) float32.

    Examples
    --------
    >>> augment(np.array([[0.0, 1.0, 2.0]]), "invert").tolist()
    [[2.0, 1.0, 0.0]]
    """
    if family not in FAMILIES:
        raise ConfigError(f"unknown augmentation family {family!r}; known: {', '.join(FAMILIES)}")
    if not (isinstance(severity, (int, float)) and severity > 0):
        raise ConfigError(f"severity == {severity!r}, must be > 0")
    A = np.asarray(X, dtype=np.float64)
    if A.ndim != 2 or len(A) == 0:
        raise DataError(f"X must be a non-empty 2-D array (n, d), got shape {A.shape}")
    n, d = A.shape
    sh = infer_shape(d, shape)
    rng = check_random_state(seed)
    lo, hi = float(A.min()), float(A.max())
    if family == "noise":
        sd = float(A.std()) or 1.0
        out = A + rng.normal(0.0, 0.5 * severity * sd, size=A.shape)
    elif family == "blur":
        out = _blur(A.reshape(n, *sh), float(severity)).reshape(n, d)
    elif family == "invert":
        out = lo + hi - A
    elif family == "quantize":
        levels = max(2, round(8 / severity))
        step = (hi - lo) / (levels - 1) if hi > lo else 1.0
        out = lo + np.round((A - lo) / step) * step
    elif family == "dropout":
        out = A * (rng.random(A.shape) >= min(0.9, 0.3 * severity))
    elif len(sh) == 1:
        span = max(1, round(d / 8 * severity))
        shifts = rng.integers(-span, span + 1, size=n)
        out = np.zeros_like(A)
        for i, s in enumerate(shifts):
            if s >= 0:
                out[i, s:] = A[i, : d - s]
            else:
                out[i, :s] = A[i, -s:]
    else:
        from scipy.ndimage import affine_transform

        h, w = sh
        imgs = A.reshape(n, h, w)
        out = np.empty_like(imgs)
        centre = np.array([(h - 1) / 2, (w - 1) / 2])
        for i in range(n):
            a = math.radians(rng.uniform(-15, 15) * severity)
            rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
            t = rng.uniform(-1, 1, size=2) * severity
            offset = centre - rot @ centre - t
            out[i] = affine_transform(imgs[i], rot, offset=offset, order=1, mode="constant", cval=0.0)
        out = out.reshape(n, d)
    return np.ascontiguousarray(out, dtype=np.float32)


def crafted_validation_sets(
    ds: Dataset,
    *,
    families: Sequence[str] = FAMILIES,
    shape: Sequence[int] | None = None,
    severity: float = 1.0,
    seed: SeedLike = 0,
) -> dict[str, Dataset]:
    """One augmented copy of ``ds`` per family, ids suffixed ``#<family>``.

    Examples
    --------
    >>> import datafactors as df
    >>> ds = df.Dataset.from_arrays(np.eye(4), [0, 1, 0, 1])
    >>> sets = crafted_validation_sets(ds, families=["invert"])
    >>> list(sets), sets["invert"].ids.tolist()
    (['invert'], ['0#invert', '1#invert', '2#invert', '3#invert'])
    """
    rng = check_random_state(seed)
    out = {}
    for fam in _check_families(families):
        Xa = augment(ds.X, fam, shape=shape, severity=severity, seed=rng)
        ids = np.array([f"{i}#{fam}" for i in ds.ids], dtype=object)
        out[fam] = Dataset(
            Xa, ds.y, ids, ds.groups, ds.extra, list(ds.class_names), f"{ds.name}#{fam}", text_column=ds.text_column
        )
    return out


@REGISTRY.register("crafted")
def crafted_split(
    ds,
    *,
    seed: SeedLike = 0,
    test_size: float | int = 0.2,
    val_size: float = 0.2,
    folds: int = 2,
) -> Split:
    """Train / ID test / crafted-shift validation rows, one disjoint part per fold.

    ``ood["crafted-fold<k>"]`` are the rows to augment with fold k's families
    (:func:`fold_families`, :func:`crafted_validation_sets`); the rest is split at
    random into train and the in-distribution test set.

    Examples
    --------
    >>> import numpy as np, datafactors as df
    >>> ds = df.Dataset.from_arrays(np.zeros((20, 4)), [0, 1] * 10)
    >>> s = crafted_split(ds, val_size=0.2, test_size=0.25)
    >>> {k: len(v) for k, v in s.ood.items()}, len(s.train), len(s.test)
    ({'crafted-fold0': 2, 'crafted-fold1': 2}, 12, 4)
    """
    fold_families(folds)  # validates folds
    rng = check_random_state(seed)
    k = int(round(share(val_size, "val_size") * ds.n))
    if k < folds:
        raise DataError(f"val_size={val_size} gives {k} validation rows of {ds.n}; need at least {folds}")
    perm = rng.permutation(ds.n)
    val, rest = perm[:k], perm[k:]
    train, test = carve_test(rest, test_size, rng, "crafted split")
    parts = np.array_split(val, folds)
    return Split(train=train, test=test, ood={f"crafted-fold{i}": np.sort(p) for i, p in enumerate(parts)})
