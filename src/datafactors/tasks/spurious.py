"""A Waterbirds-like spurious-correlation set built on MNIST-1D or scikit-learn's digits.

The core signal is the base image / signal; the label is binary: ``0`` ("low") for
base classes 0-4 and ``1`` ("high") for 5-9. A spurious binary attribute ``s`` is
appended as ``spurious_dims`` extra feature columns, each ``(2s - 1) * strength +
N(0, noise^2)`` — an easier cue than the digits. ``s`` agrees with the label for a
fraction ``rho`` of each class's training rows (exactly ``round(rho * n_class)``, at
random positions); groups are ``(label, spurious value)``, written ``"y=1,s=0"``.

- ``train``: base training rows, ``P(s = y) = rho``.
- ``test``: base held-out rows, the same ``rho`` (in-distribution).
- ``ood``: the *same* held-out rows with ``s`` redrawn so that ``P(s = y) = rho_ood``
  (default 0.5: all four groups the same size, the cue carries no information), so any
  accuracy difference from ``test`` is due to the spurious attribute alone.

``extra`` columns: ``base_label`` (the original digit), ``spurious`` (0/1) and
``aligned`` (``s == y``). Features: the base features (``feature_columns`` ``x0``, ``x1``,
...), then the spurious columns last (``spurious_0``, ``spurious_1``, ...), so the targeted
augmentation (:mod:`datafactors.augment.targeted`) finds them by name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import ConfigError
from .._validation import check_random_state
from ..dataset import Dataset
from ..io.builtins import BuiltinData
from . import task
from ._common import check_choice, check_float, check_int

BASES = ("mnist1d", "digits")
CLASS_NAMES = ["low", "high"]


def _spurious_values(y: np.ndarray, rho: float, rng: np.random.Generator) -> np.ndarray:
    """s with exactly round(rho * n_c) rows of each class c aligned (s = y), the rest flipped."""
    s = np.empty_like(y)
    for c in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(rho * len(idx)))
        s[idx[:k]] = c
        s[idx[k:]] = 1 - c
    return s


def _with_spurious(X, base_y, ids, s, rng, dims, strength, noise, name) -> Dataset:
    y = (np.asarray(base_y) >= 5).astype(np.int64)
    cols = (2.0 * s[:, None] - 1.0) * strength + rng.normal(0.0, noise, size=(len(s), dims))
    extra = pd.DataFrame({"base_label": np.asarray(base_y, dtype=np.int64), "spurious": s, "aligned": s == y})
    groups = np.array([f"y={a},s={b}" for a, b in zip(y, s, strict=True)], dtype=object)
    return Dataset.from_arrays(
        np.c_[np.asarray(X, dtype=np.float32), cols.astype(np.float32)],
        y,
        ids=list(ids),
        groups=groups,
        extra=extra,
        class_names=CLASS_NAMES,
        name=name,
        min_classes=1,
        feature_columns=[f"x{j}" for j in range(np.shape(X)[1])] + [f"spurious_{k}" for k in range(dims)],
    )


def _base_arrays(base: str, n_train: int | None, n_test: int | None, seed: int):
    if base == "mnist1d":
        from ..io.builtins import mnist1d_arrays

        ntr = 4000 if n_train is None else n_train
        nte = 1000 if n_test is None else n_test
        arr = mnist1d_arrays(ntr + nte, ntr / (ntr + nte), seed)
        return arr["x"], arr["y"], arr["x_test"], arr["y_test"]
    from ..io.builtins import digits

    d = digits(seed=seed)
    rng = np.random.default_rng(seed)
    tr, te = d.train, d.test
    for n, part, total in ((n_train, "n_train", tr.n), (n_test, "n_test", te.n)):
        if n is not None and n > total:
            raise ConfigError(f"{part} == {n}, the digits base has only {total} rows for it")
    itr = np.sort(rng.choice(tr.n, size=n_train, replace=False)) if n_train is not None else np.arange(tr.n)
    ite = np.sort(rng.choice(te.n, size=n_test, replace=False)) if n_test is not None else np.arange(te.n)
    return tr.X[itr], tr.y[itr], te.X[ite], te.y[ite]


@task("spurious")
def make_spurious(
    base: str = "mnist1d",
    rho: float = 0.9,
    n_train: int | None = None,
    n_test: int | None = None,
    *,
    seed: int = 0,
    rho_ood: float = 0.5,
    spurious_dims: int = 8,
    spurious_strength: float = 1.0,
    spurious_noise: float = 0.5,
) -> BuiltinData:
    """Waterbirds-like data: a core signal plus a spurious attribute aligned with the label for a fraction rho.

    Parameters
    ----------
    base : "mnist1d" (40 features; default 4000 train / 1000 test rows) or "digits"
        (64 features; 1437 / 360 rows, ``n_train`` / ``n_test`` subsample them).
    rho : share of each class's train (and test) rows whose spurious value equals the label, in [0, 1].
    n_train, n_test : row counts (None = the base's defaults).
    seed : seeds the base data, the spurious values and their noise.
    rho_ood : the same share in the OOD copy of the test rows, in [0, 1].
    spurious_dims, spurious_strength, spurious_noise : the spurious columns (see the module docstring).

    Returns
    -------
    BuiltinData; each Dataset has binary labels (``low`` / ``high``), ``groups`` like
    ``"y=1,s=0"`` and ``extra`` columns ``base_label``, ``spurious``, ``aligned``.

    Examples
    --------
    >>> d = make_spurious("digits", rho=0.9, seed=0)
    >>> round(float(d.train.extra["aligned"].mean()), 2)
    0.9
    >>> sorted(set(d.ood.groups))
    ['y=0,s=0', 'y=0,s=1', 'y=1,s=0', 'y=1,s=1']
    """
    base = check_choice(base, "base", BASES)
    rho = check_float(rho, "rho", 0.0, 1.0)
    rho_ood = check_float(rho_ood, "rho_ood", 0.0, 1.0)
    n_train = None if n_train is None else check_int(n_train, "n_train", 2)
    n_test = None if n_test is None else check_int(n_test, "n_test", 2)
    dims = check_int(spurious_dims, "spurious_dims", 1)
    strength = check_float(spurious_strength, "spurious_strength", 0.0)
    noise = check_float(spurious_noise, "spurious_noise", 0.0)
    seed_i = check_int(seed, "seed", 0)
    rng = check_random_state(seed_i)
    Xtr, ytr, Xte, yte = _base_arrays(base, n_train, n_test, seed_i)
    bin_tr, bin_te = (np.asarray(ytr) >= 5).astype(np.int64), (np.asarray(yte) >= 5).astype(np.int64)
    name = f"spurious-{base}"
    train = _with_spurious(
        Xtr,
        ytr,
        [f"train-{i}" for i in range(len(ytr))],
        _spurious_values(bin_tr, rho, rng),
        rng,
        dims,
        strength,
        noise,
        name,
    )
    test = _with_spurious(
        Xte,
        yte,
        [f"test-{i}" for i in range(len(yte))],
        _spurious_values(bin_te, rho, rng),
        rng,
        dims,
        strength,
        noise,
        f"{name}-test",
    )
    ood = _with_spurious(
        Xte,
        yte,
        [f"ood-{i}" for i in range(len(yte))],
        _spurious_values(bin_te, rho_ood, rng),
        rng,
        dims,
        strength,
        noise,
        f"{name}-ood",
    )
    desc = (
        f"the held-out rows with the spurious attribute redrawn: it agrees with the label for {rho_ood:.0%} of "
        f"each class instead of {rho:.0%}"
    )
    return BuiltinData(train, test, ood, desc)
