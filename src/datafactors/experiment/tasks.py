"""Task functions shipped to engines. Module-level and pure: (spec, data) -> result."""

from __future__ import annotations

import time
import traceback
from typing import Any

import numpy as np

from ..learners import make_learner
from ..metrics import evaluate


def dynamics_task(spec: dict[str, Any], data: dict[str, Any]) -> Any:
    """Train the scoring proxy on the full train set for one seed, recording dynamics."""
    lrn = make_learner(spec["learner"], **spec["learner_params"])
    lrn.fit(data["train"], epochs=spec["epochs"], seed=spec["seed"], record_dynamics=True)
    return lrn.dynamics


def trial_task(spec: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Train one proxy on the selected rows and evaluate it on every eval set.

    A failure is returned as an error string (the run records it and goes on).
    """
    t0 = time.perf_counter()
    try:
        train = data["train"].subset(spec["indices"])
        if spec.get("augment"):
            from ..augment import augment

            name, params = spec["augment"]
            # the augmentation's own stream, apart from the trial's training seed
            train = augment(train, name, seed=np.random.default_rng((int(spec["seed"]), 7)), append=True, **params)
        lrn = make_learner(spec["learner"], **spec["learner_params"])
        lrn.fit(train, epochs=spec["epochs"], seed=spec["seed"])
        metrics: list[tuple[str, str, float]] = []
        preds: dict[str, np.ndarray] = {}
        for name, ds in data["evals"].items():
            probs = lrn.predict_proba(ds.X)
            for m, v in evaluate(probs, ds.y).items():
                metrics.append((name, m, float(v)))
            if spec.get("keep_predictions"):
                preds[name] = probs.astype(np.float32)
        return {"metrics": metrics, "predictions": preds, "error": None, "seconds": time.perf_counter() - t0}
    except Exception as e:  # recorded per trial by design; the run continues
        tb = traceback.extract_tb(e.__traceback__)
        where = f" ({tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno})" if tb else ""
        return {
            "metrics": [],
            "predictions": {},
            "error": f"{type(e).__name__}: {e}{where}",
            "seconds": time.perf_counter() - t0,
        }
