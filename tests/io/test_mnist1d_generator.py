"""The MNIST-1D built-in's ``generator`` settings, checked against the mnist1d package itself."""

import numpy as np
import pytest

from datafactors._errors import ConfigError
from datafactors.experiment.config import config_from_dict
from datafactors.io import load_builtin


def _reference(n: int, split: float, seed: int, **settings):
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.train_split, args.seed = n, split, seed
    for k, v in settings.items():
        setattr(args, k, v)
    return make_dataset(args)


def test_settings_reach_every_set_and_the_ood_shift_stays_on_top():
    data = load_builtin("mnist1d", n_train=160, n_test=40, n_ood=30, generator={"max_translation": 1})
    ref = _reference(200, 0.8, 42, max_translation=1)
    np.testing.assert_allclose(data.train.X, ref["x"], atol=1e-6)
    np.testing.assert_allclose(data.test.X, ref["x_test"], atol=1e-6)
    ood = _reference(30, 0.0, 1042, corr_noise_scale=0.5, iid_noise_scale=0.1, max_translation=72)
    np.testing.assert_allclose(data.ood.X, ood["x_test"], atol=1e-6)
    plain = load_builtin("mnist1d", n_train=160, n_test=40, n_ood=30)
    assert np.abs(plain.train.X - data.train.X).max() > 1.0  # the default translation moves the signals
    assert "max_translation=1" in data.ood_description


def test_run_config_passes_them_through():
    cfg = config_from_dict({"dataset": "mnist1d", "dataset_params": {"generator": {"iid_noise_scale": 0.0}}})
    assert cfg.dataset_params == {"generator": {"iid_noise_scale": 0.0}}


@pytest.mark.parametrize(
    "generator, message",
    [({"max_transl": 1}, "unknown MNIST-1D generator setting 'max_transl'"), ({"max_translation": 1.5}, "int"),
     ({"iid_noise_scale": -1}, ">= 0"), ({"shear_scale": float("nan")}, "finite"), ([1], "mapping"),
     ({"template_len": 0}, ">= 1"), ({"corr_noise_scale": True}, "finite")],
)  # fmt: skip
def test_bad_settings_are_one_config_error(generator, message):
    with pytest.raises(ConfigError, match=message):
        load_builtin("mnist1d", n_train=20, n_test=10, n_ood=10, generator=generator)
