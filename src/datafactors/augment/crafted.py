"""Crafted shifts: families of strong augmentations (noise, blur, shift, invert, quantize, dropout).

For 1-D signals (n, L) and small images (n, h*w, e.g. 8x8 digits). :func:`apply_family`
applies one family to an array; the registered augmentation ``crafted`` applies one to a
Dataset and names each new row ``f"{parent}~crafted-{family}:{copy}"``.
:func:`fold_families` deals the families into folds, so that one fold can choose methods or
hyperparameters and the other check the choice (the ``crafted`` split in
:mod:`datafactors.splits.crafted` holds out the validation rows for them).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from .._errors import ConfigError, DataError
from .._validation import SeedLike, check_random_state
from ..dataset import Dataset
from . import REGISTRY, NewRows

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
    fams = check_families(families)
    if isinstance(folds, bool) or not isinstance(folds, int) or not 1 <= folds <= len(fams):
        raise ConfigError(f"folds == {folds!r}, must be an int in [1, {len(fams)}]")
    return [tuple(fams[i::folds]) for i in range(folds)]


def check_families(families: Sequence[str]) -> list[str]:
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


def apply_family(
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
    >>> apply_family(np.array([[0.0, 1.0, 2.0]]), "invert").tolist()
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


@REGISTRY.register("crafted")
def crafted(
    ds: Dataset,
    *,
    rng: np.random.Generator,
    family: str = "noise",
    severity: float = 1.0,
    copies: int = 1,
    shape: Sequence[int] | None = None,
) -> NewRows:
    """``copies`` augmented copies of every row under one crafted-shift ``family``.

    ``shape`` defaults to the dataset's ``example_shape`` when it has one (else
    :func:`infer_shape`). Rows come copy-major; ids are ``f"{parent}~crafted-{family}:{k}"``.

    Examples
    --------
    >>> import datafactors as df
    >>> from datafactors.augment import augment
    >>> ds = df.Dataset.from_arrays(np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]), [0, 1], ids=["a", "b"])
    >>> out = augment(ds, "crafted", family="invert")
    >>> out.ids.tolist(), out.X.tolist()
    (['a~crafted-invert:0', 'b~crafted-invert:0'], [[2.0, 1.0, 0.0], [0.0, 1.0, 2.0]])
    """
    check_families([family])
    if isinstance(copies, (bool, np.bool_)) or not isinstance(copies, numbers.Integral) or copies < 1:
        raise ConfigError(f"copies == {copies!r}, must be an int >= 1")
    if shape is None and ds.example_shape is not None and len(ds.example_shape) in (1, 2):
        shape = ds.example_shape
    parts = [apply_family(ds.X, family, shape=shape, severity=severity, seed=rng) for _ in range(int(copies))]
    n = ds.n
    return NewRows(
        X=np.concatenate(parts),
        parent=np.tile(np.arange(n, dtype=np.int64), int(copies)),
        tag=[str(k) for k in range(int(copies)) for _ in range(n)],
        columns={"family": [family] * (n * int(copies))},
        name=f"crafted-{family}",
    )
