"""Learning-curve fitting from stored trials (analysis.curves), and the runner's trial planning helpers."""

import numpy as np
import pytest

from datafactors.analysis.curves import FIT_COLUMNS, fit_curves
from datafactors.experiment.config import config_from_dict
from datafactors.experiment.runner import protocol_sentence, trial_epochs, trial_id
from datafactors.store import RunStore


def _fill(store, alpha=3.0, beta=-0.5, gamma=0.1, strategies=("random", "hardest")):
    for s_i, strategy in enumerate(strategies):
        for n in (250, 500, 1000, 2000, 4000):
            for seed in (0, 1, 2):
                err = alpha * n**beta + gamma + 0.002 * (seed - 1) + 0.01 * s_i
                tid = trial_id(strategy, n / 4000, seed, "mlp")
                store.write_trial(
                    {
                        "trial_id": tid,
                        "strategy": strategy,
                        "budget": n / 4000,
                        "n_train": n,
                        "seed": seed,
                        "learner": "mlp",
                        "status": "ok",
                        "error": None,
                        "seconds": 0.1,
                    },
                    [("id_test", "accuracy", 1 - err), ("ood_test", "accuracy", 1 - err - 0.2)],
                )


def test_fit_curves_recovers_power_law_and_targets(tmp_path):
    with RunStore(tmp_path) as st:
        _fill(st)
        cf = fit_curves(st, n_full=4000, n_boot=50)
    fits, curves, targets = cf.fits, cf.curve_points, cf.targets
    assert list(fits.columns) == FIT_COLUMNS
    # the bootstrap draws behind the intervals are kept, 50 per fitted curve
    assert len(cf.draws) == 4 * 50 and set(cf.draws.columns) == {
        "strategy",
        "eval_set",
        "draw",
        "alpha",
        "beta",
        "gamma",
    }
    assert len(fits) == 4 and set(fits.status) == {"ok"}
    r = fits[(fits.strategy == "random") & (fits.eval_set == "id_test")].iloc[0]
    assert r.alpha == pytest.approx(3.0, rel=0.15)
    assert r.beta == pytest.approx(-0.5, abs=0.05)
    assert r.gamma == pytest.approx(0.1, abs=0.01)
    # 2x the full size: 3 * 8000^-0.5 + 0.1
    assert r.pred_2x == pytest.approx(3 * 8000**-0.5 + 0.1, abs=0.003)
    assert r.pred_2x_lo <= r.pred_2x <= r.pred_2x_hi
    # default targets: 10% below the best full-data error of each eval set
    best_full = 3 * 4000**-0.5 + 0.1
    assert targets["id_test"] == pytest.approx(0.9 * best_full)
    assert targets["ood_test"] == pytest.approx(0.9 * (best_full + 0.2))
    expected_n = ((targets["id_test"] - 0.1) / 3.0) ** (1 / -0.5)
    assert r.n_needed == pytest.approx(expected_n, rel=0.1)
    assert bool(r.reachable)
    assert set(curves.strategy) == {"random", "hardest"}
    assert curves.n.max() == pytest.approx(16000)


def test_explicit_target_below_floor_is_unreachable(tmp_path):
    with RunStore(tmp_path) as st:
        _fill(st, strategies=("random",))
        fits = fit_curves(st, n_full=4000, n_boot=20, target_error=0.05).fits
    r = fits[fits.eval_set == "id_test"].iloc[0]
    assert not bool(r.reachable) and np.isinf(r.n_needed)


def test_too_few_sizes_records_reason(tmp_path):
    with RunStore(tmp_path) as st:
        st.write_trial(
            {
                "trial_id": "a",
                "strategy": "random",
                "budget": 1.0,
                "n_train": 100,
                "seed": 0,
                "learner": "mlp",
                "status": "ok",
                "error": None,
                "seconds": 0.1,
            },
            [("id_test", "accuracy", 0.9)],
        )
        cf = fit_curves(st, n_full=100, n_boot=10)
    fits, curves = cf.fits, cf.curve_points
    assert fits.iloc[0].status != "ok" and "3" in fits.iloc[0].status
    assert curves.empty


def test_protocols():
    fe = config_from_dict({"epochs": 10})
    assert trial_epochs(fe, 400, 4000) == 10
    ss = config_from_dict({"epochs": 10, "protocol": "fixed-samples-seen"})
    assert trial_epochs(ss, 400, 4000) == 100  # same 40,000 examples seen
    assert "40000" in protocol_sentence(ss, 4000)
    assert "Fixed epochs" in protocol_sentence(fe, 4000)
