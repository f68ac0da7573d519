"""Built-in datasets, generated offline or shipped inside a package."""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import ConfigError
from .._registry import Registry
from .._splitting import stratified_indices
from .._validation import check_random_state
from ..dataset import Dataset


@dataclass
class BuiltinData:
    """A built-in dataset: its train / test / OOD sets and a sentence saying what the OOD shift is."""

    train: Dataset
    test: Dataset
    ood: Dataset
    ood_description: str


BUILTINS: Registry[Callable[..., BuiltinData]] = Registry("built-in dataset")

MNIST1D_OOD_SHIFT = {"corr_noise_scale": 0.5, "iid_noise_scale": 0.1, "max_translation": 72}


@contextmanager
def _isolated_global_rng():
    """mnist1d seeds numpy's and Python's global generators; restore them afterwards."""
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


def mnist1d_arrays(num_samples: int, train_split: float, seed: int, **overrides: Any) -> dict:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.train_split, args.seed = num_samples, train_split, seed
    for k, v in overrides.items():
        setattr(args, k, v)
    with _isolated_global_rng():
        return make_dataset(args)


# the generator settings a user may change (the sizes and the seed are the loader's own options)
MNIST1D_GENERATOR = {
    "template_len": int,
    "scale_coeff": float,
    "max_translation": int,
    "corr_noise_scale": float,
    "iid_noise_scale": float,
    "shear_scale": float,
}


def _generator_overrides(generator: Any) -> dict[str, Any]:
    if generator is None:
        return {}
    if not isinstance(generator, dict):
        raise ConfigError(f"generator must be a mapping of MNIST-1D settings, got {type(generator).__name__}")
    out = {}
    for key, value in generator.items():
        kind = MNIST1D_GENERATOR.get(key)
        if kind is None:
            raise ConfigError(f"unknown MNIST-1D generator setting {key!r}; known: {', '.join(MNIST1D_GENERATOR)}")
        ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and value >= 0
        if not ok or (kind is int and not float(value).is_integer()) or not math.isfinite(float(value)):
            raise ConfigError(f"generator {key} == {value!r}, must be a finite {kind.__name__} >= 0")
        if key == "template_len" and value < 1:
            raise ConfigError(f"generator template_len == {value!r}, must be >= 1")
        out[key] = kind(value)
    return out


@BUILTINS.register("mnist1d")
def mnist1d(
    *, n_train: int = 4000, n_test: int = 1000, n_ood: int = 1000, seed: int = 42, generator: dict | None = None
) -> BuiltinData:
    """MNIST-1D (Greydanus) generated with the ``mnist1d`` package: 40-sample 1-D signals, 10 classes.

    The OOD test set comes from the same generator with a different seed and shifted
    parameters: twice the correlated noise, five times the i.i.d. noise, and
    translations over the full signal length (72 instead of 48). Every set declares
    ``example_shape == (40,)``: each row is one signal.

    ``generator`` changes the generator's own settings for every set (``max_translation``,
    ``corr_noise_scale``, ``iid_noise_scale``, ``shear_scale``, ``scale_coeff``,
    ``template_len``; the OOD set's shift is applied on top): ``{"max_translation": 1}``
    gives signals without MNIST-1D's random translation.
    """
    gen = _generator_overrides(generator)
    names = [str(d) for d in range(10)]
    main = mnist1d_arrays(n_train + n_test, n_train / (n_train + n_test), seed, **gen)
    shifted = mnist1d_arrays(n_ood, 0.0, seed + 1000, **{**gen, **MNIST1D_OOD_SHIFT})
    shape = (int(np.shape(main["x"])[1]),)
    train = Dataset.from_arrays(
        main["x"],
        main["y"],
        ids=[f"train-{i}" for i in range(len(main["y"]))],
        class_names=names,
        name="mnist1d",
        example_shape=shape,
    )
    test = Dataset.from_arrays(
        main["x_test"],
        main["y_test"],
        ids=[f"test-{i}" for i in range(len(main["y_test"]))],
        class_names=names,
        name="mnist1d-test",
        example_shape=shape,
    )
    ood = Dataset.from_arrays(
        shifted["x_test"],
        shifted["y_test"],
        ids=[f"ood-{i}" for i in range(len(shifted["y_test"]))],
        class_names=names,
        name="mnist1d-ood",
        example_shape=shape,
    )
    desc = (
        "MNIST-1D regenerated with a different seed and shifted generator parameters: "
        "correlated noise 0.25 -> 0.5, i.i.d. noise 0.02 -> 0.1, max translation 48 -> 72"
    )
    if gen:
        desc += f" (generator settings changed for every set: {', '.join(f'{k}={v}' for k, v in gen.items())})"
    return BuiltinData(train, test, ood, desc)


@BUILTINS.register("digits")
def digits(*, test_size: float = 0.2, seed: int = 0, noise: float = 4.0) -> BuiltinData:
    """scikit-learn's 8x8 digits (1797 images, shipped with scikit-learn), stratified 80/20.

    The OOD set is the test set with Gaussian pixel noise (std ``noise`` on the 0-16
    scale) and a one-pixel shift to the right. Every set declares ``example_shape == (8, 8)``.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    full = Dataset.from_arrays(
        bunch.data,
        bunch.target,
        ids=[f"digit-{i}" for i in range(len(bunch.target))],
        class_names=[str(c) for c in bunch.target_names],
        name="digits",
        example_shape=(8, 8),
    )
    train_rows, test_rows = stratified_indices(full.y, seed=seed, test_size=test_size)
    test = full.subset(test_rows)
    rng = check_random_state(seed)
    imgs = test.X.reshape(-1, 8, 8)
    shifted = np.zeros_like(imgs)
    shifted[:, :, 1:] = imgs[:, :, :-1]
    noisy = np.clip(shifted + rng.normal(0.0, noise, size=shifted.shape), 0, 16).reshape(len(imgs), 64)
    ood = Dataset.from_arrays(
        noisy,
        test.y,
        ids=[f"ood-{i}" for i in test.ids],
        class_names=full.class_names,
        name="digits-ood",
        example_shape=full.example_shape,
    )
    desc = f"digits test set shifted one pixel right with Gaussian pixel noise (std {noise} on the 0-16 scale)"
    return BuiltinData(full.subset(train_rows), test, ood, desc)
