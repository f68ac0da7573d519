"""The runner: load -> score -> select -> train per trial -> fit -> report, into one run folder."""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from .. import __version__
from .._errors import ConfigError, DataError
from .._validation import resolve_budget
from ..dataset import Dataset
from ..store import RunStore
from .config import RunConfig, dump_config, load_config
from .tasks import dynamics_task, trial_task

# ------------------------------------------------------------------ progress


class Reporter(Protocol):
    def stage(self, name: str, total: int | None = None) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def done(self) -> None: ...
    def log(self, msg: str) -> None: ...


class NullReporter:
    def stage(self, name: str, total: int | None = None) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def done(self) -> None: ...
    def log(self, msg: str) -> None: ...


# ------------------------------------------------------------------ data


@dataclass
class RunData:
    train: Dataset
    test: Dataset
    ood: Dataset | None
    ood_description: str
    _shared: dict[str, Any] | None = None

    def shared(self) -> dict[str, Any]:
        """The one object every task receives (built once, so engines can ship it once)."""
        if self._shared is None:
            self._shared = {"train": self.train, "evals": self.evals()}
        return self._shared

    def evals(self) -> dict[str, Dataset]:
        out = {"id_test": self.test}
        if self.ood is not None:
            out["ood_test"] = self.ood
        return out


def load_run_data(cfg: RunConfig) -> RunData:
    """Train / test / OOD sets named by the config, validated before any folder is made."""
    from ..io import BUILTINS, load, load_builtin
    from ..splits import stratified_split

    if cfg.dataset in BUILTINS:
        if cfg.test or cfg.ood or cfg.label:
            raise ConfigError("test, ood and label apply to file datasets, not to the built-in " + repr(cfg.dataset))
        try:
            b = load_builtin(cfg.dataset, **cfg.dataset_params)
        except TypeError as e:
            raise ConfigError(f"dataset_params for {cfg.dataset!r}: {e}") from None
        return RunData(b.train, b.test, b.ood, b.ood_description)
    if cfg.dataset_params:
        raise ConfigError("dataset_params apply only to built-in datasets")
    full = load(cfg.dataset, label=cfg.label)
    if cfg.test:
        train, test = full, load(cfg.test, label=cfg.label)
    else:
        sp = stratified_split(full, seed=0, test_size=0.2)
        train, test = full.subset(sp.train), full.subset(sp.test)
    ood = load(cfg.ood, label=cfg.label) if cfg.ood else None
    for name, other in (("test", test), ("ood", ood)):
        if other is not None and other.n_features != train.n_features:
            raise DataError(f"{name} set has {other.n_features} features but the train set has {train.n_features}")
    desc = f"OOD set from {cfg.ood}" if cfg.ood else "no OOD set given"
    return RunData(train, test, ood, desc)


# ------------------------------------------------------------------ planning


def trial_id(strategy: str, budget: float, seed: int, learner: str) -> str:
    return f"{strategy}/b={budget:g}/s={seed}/{learner}"


def trial_epochs(cfg: RunConfig, n_train: int, n_full: int) -> float:
    if cfg.protocol == "fixed-epochs":
        return float(cfg.epochs)
    seen = cfg.samples_seen or cfg.epochs * n_full
    return seen / n_train


def protocol_sentence(cfg: RunConfig, n_full: int) -> str:
    if cfg.protocol == "fixed-epochs":
        return (f"Fixed epochs: every subset is trained for {cfg.epochs} epochs, so smaller subsets "
                "get proportionally fewer gradient steps.")
    seen = cfg.samples_seen or cfg.epochs * n_full
    return (f"Fixed samples seen (DataComp): every subset is trained on {seen} examples in total "
            "(more epochs for smaller subsets), so compute is the same at every budget.")


def _git_rev() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _new_run_dir(out_dir: Path, cfg_text: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    h = hashlib.sha256(cfg_text.encode()).hexdigest()[:6]
    base = out_dir / f"{stamp}-{h}"
    path, k = base, 1
    while path.exists():
        k += 1
        path = Path(f"{base}-{k}")
    return path


def _check_writable(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"--out {out_dir} exists and is not a folder")
    probe = out_dir
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise DataError(f"--out {out_dir}: {probe} is a file, not a folder")
    import os

    if not os.access(probe, os.W_OK):
        raise DataError(f"cannot write run folders under {out_dir}: {probe} is not writable")


# ------------------------------------------------------------------ the run


@dataclass
class RunResult:
    run_dir: Path
    n_trials: int
    n_failed: int
    summary: pd.DataFrame
    report: Path | None = None
    skipped: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def run(
    config: RunConfig | str | Path | None = None,
    *,
    out: str | Path = "runs",
    resume: str | Path | None = None,
    engine: str = "local",
    address: str | None = None,
    reporter: Reporter | None = None,
    make_report: bool = True,
) -> RunResult:
    """Run the whole loop and write a run folder; see ARCHITECTURE.md.

    Parameters
    ----------
    config : a RunConfig, a YAML path, or None for the built-in default (MNIST-1D).
    out : folder under which ``<run-id>/`` is created.
    resume : an existing run folder to finish (its saved config is used).
    engine, address : where trials execute ("local" process pool).
    """
    from ..engines import make_engine

    rep = reporter or NullReporter()
    if resume is not None:
        if config is not None:
            raise ConfigError("pass either a config or --resume RUN, not both")
        store = RunStore(resume)
        manifest = store.manifest()
        cfg = load_config(store.path / "config.yaml")
        data = load_run_data(cfg)
        eng = make_engine(engine, n_workers=cfg.n_workers, address=address)
        rep.log(f"resuming {store.path}")
    else:
        cfg = config if isinstance(config, RunConfig) else load_config(config)
        data = load_run_data(cfg)
        _plan_selections_check(cfg, data)
        eng = make_engine(engine, n_workers=cfg.n_workers, address=address)
        out_dir = Path(out)
        _check_writable(out_dir)
        cfg_text = dump_config(cfg)
        run_dir = _new_run_dir(out_dir, cfg_text)
        store = RunStore(run_dir)
        run_dir.mkdir(parents=True)
        store.write_text("config.yaml", cfg_text)
        manifest = {
            "run_id": run_dir.name,
            "status": "running",
            "version": __version__,
            "git_rev": _git_rev(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "dataset": {
                "name": cfg.dataset,
                "n_train": data.train.n,
                "n_test": data.test.n,
                "n_ood": 0 if data.ood is None else data.ood.n,
                "n_features": data.train.n_features,
                "n_classes": data.train.n_classes,
            },
            "ood_description": data.ood_description,
            "protocol": cfg.protocol,
            "protocol_description": protocol_sentence(cfg, data.train.n),
            "learner": cfg.learner,
            "epochs": cfg.epochs,
            "seeds": cfg.seeds,
            "target_error": cfg.fit.target_error,
            "engine": engine,
        }
        store.write_manifest(manifest)
    try:
        result = _execute(cfg, data, store, eng, rep, make_report)
    finally:
        eng.close()
        store.close()
    return result


def _plan_selections_check(cfg: RunConfig, data: RunData) -> None:
    """Catch bad budgets and strategy options before a run folder exists (dry run on stand-in scores)."""
    from ..scores import COLUMNS
    from ..select import select

    for b in cfg.budgets:
        resolve_budget(b, data.train.n)
    stand_in = pd.DataFrame({c: np.zeros(data.train.n) for c in COLUMNS}, index=data.train.ids)
    for st in cfg.strategies:
        params = dict(st.params)
        if st.score is not None:
            params["score"] = st.score
        try:
            select(data.train, st.selector, max(cfg.budgets), scores=stand_in, seed=0,
                   class_balanced=st.class_balanced, group_balanced=st.group_balanced, **params)
        except (ConfigError, DataError) as e:
            raise ConfigError(f"in strategy {st.name!r} of the config: {e}") from None


def _compute_scores(cfg: RunConfig, data: RunData, store: RunStore, eng: Any, rep: Reporter) -> pd.DataFrame:
    from ..scores import compute

    existing = store.read_parquet("scores.parquet")
    if existing is not None:
        return existing.set_index("id")
    epochs = cfg.scoring.epochs or cfg.epochs
    specs = [{"learner": cfg.learner, "learner_params": cfg.learner_params, "epochs": epochs, "seed": 10_000 + k}
             for k in range(cfg.scoring.seeds)]
    rep.stage(f"training {len(specs)} scoring proxies (recording dynamics)", len(specs))
    runs = {}
    for spec, dyn in eng.map(dynamics_task, specs, data.shared()):
        runs[spec["seed"]] = dyn
        rep.advance()
    dynamics = [runs[s["seed"]] for s in specs]
    scores = compute(data.train, cfg.scoring.scores, dynamics=dynamics)
    frame = scores.reset_index()
    frame.insert(1, "label", data.train.y)
    store.write_parquet("scores.parquet", frame)
    return frame.set_index("id")


def _write_profile(data: RunData, scores: pd.DataFrame, store: RunStore, rep: Reporter) -> None:
    """profile.parquet of the training set (label_noise left out: it cross-validates a model, too slow here)."""
    from .._errors import DatafactorsError
    from ..factors import family_names, profile

    if store.read_parquet("profile.parquet") is not None:
        return
    rep.stage("profiling the training set", None)
    fams = [f for f in family_names() if f != "label_noise"]
    try:
        prof = profile(data.train, scores=scores, test=data.test, families=fams, seed=0)
    except DatafactorsError as e:  # a profile that cannot be computed must not cost the run
        rep.log(f"no profile.parquet: {e}")
        return
    store.write_parquet("profile.parquet", prof)


def _selections(cfg: RunConfig, data: RunData, scores: pd.DataFrame, rep: Reporter) -> dict[tuple, np.ndarray]:
    from ..select import select

    out: dict[tuple, np.ndarray] = {}
    combos = [(st, b, s) for st in cfg.strategies for b in cfg.budgets for s in cfg.seeds]
    rep.stage("selecting subsets", len(combos))
    for st, b, s in combos:
        params = dict(st.params)
        if st.score is not None:
            params["score"] = st.score
        out[(st.name, b, s)] = select(data.train, st.selector, b, scores=scores, seed=s,
                                      class_balanced=st.class_balanced, group_balanced=st.group_balanced, **params)
        rep.advance()
    return out


def _execute(cfg: RunConfig, data: RunData, store: RunStore, eng: Any, rep: Reporter, make_report: bool) -> RunResult:
    scores = _compute_scores(cfg, data, store, eng, rep)
    _write_profile(data, scores, store, rep)
    sels = _selections(cfg, data, scores, rep)
    if store.read_parquet("selections.parquet") is None:
        rows = [
            pd.DataFrame({"strategy": k[0], "budget": k[1], "seed": k[2], "id": data.train.ids[idx],
                          "rank": np.arange(len(idx))})
            for k, idx in sels.items()
        ]
        store.write_parquet("selections.parquet", pd.concat(rows, ignore_index=True))

    n_full = data.train.n
    ref_budget = max(cfg.budgets)
    ref_trial = trial_id(cfg.strategies[0].name, ref_budget, cfg.seeds[0], cfg.learner)
    done = store.finished_trials()
    # Identical selections (e.g. every strategy at 100%) with the same seed are trained once.
    groups: dict[str, dict[str, Any]] = {}
    for (strategy, b, s), idx in sels.items():
        tid = trial_id(strategy, b, s, cfg.learner)
        sorted_idx = np.sort(idx)
        key = hashlib.sha256(sorted_idx.tobytes() + str(s).encode()).hexdigest()
        g = groups.setdefault(key, {"spec": None, "trials": []})
        g["trials"].append({"trial_id": tid, "strategy": strategy, "budget": b, "n_train": len(idx), "seed": s})
        if g["spec"] is None:
            g["spec"] = {"key": key, "indices": sorted_idx, "learner": cfg.learner,
                         "learner_params": cfg.learner_params, "seed": s,
                         "epochs": trial_epochs(cfg, len(idx), n_full), "keep_predictions": False}
        if tid == ref_trial:
            g["spec"]["keep_predictions"] = store.read_parquet("predictions.parquet") is None
    todo = [g for g in groups.values() if any(t["trial_id"] not in done for t in g["trials"])
            or g["spec"]["keep_predictions"]]
    skipped = sum(len(g["trials"]) for g in groups.values()) - sum(len(g["trials"]) for g in todo)
    n_todo = sum(len(g["trials"]) for g in todo)
    rep.stage(f"training {n_todo} trials ({len(todo)} distinct, {skipped} already done)", n_todo)
    by_key = {g["spec"]["key"]: g for g in todo}
    for spec, res in eng.map(trial_task, [g["spec"] for g in todo], data.shared()):
        for t in by_key[spec["key"]]["trials"]:
            row = {**t, "learner": cfg.learner, "status": "ok" if res["error"] is None else "failed",
                   "error": res["error"], "seconds": res["seconds"]}
            store.write_trial(row, res["metrics"])
        if res["predictions"]:
            _write_predictions(store, data, res["predictions"])
        rep.advance(len(by_key[spec["key"]]["trials"]))

    rep.stage("fitting learning curves", None)
    fits, curves, targets = fit_curves(store, cfg, n_full)
    store.replace_table("fits", fits)
    store.replace_table("curve_points", curves)
    evaluation_tables(store, fits)
    trials = store.table("trials")
    n_failed = int((trials["status"] != "ok").sum())
    store.update_manifest(status="complete", finished=datetime.now(UTC).isoformat(timespec="seconds"),
                          target_error=targets.get("id_test"), target_errors=targets, n_failed=n_failed)
    report_path = None
    if make_report:
        from ..report import build_report

        rep.stage("writing report", None)
        store.close()
        report_path = build_report(store.path)
    rep.done()
    return RunResult(store.path, len(trials), n_failed, summary_table(store), report_path, skipped)


def _write_predictions(store: RunStore, data: RunData, preds: dict[str, np.ndarray]) -> None:
    frames = []
    evals = data.evals()
    for name, probs in preds.items():
        ds = evals[name]
        f = pd.DataFrame({"eval_set": name, "id": ds.ids.astype(str), "label": ds.y})
        for c in range(probs.shape[1]):
            f[f"prob_{c}"] = probs[:, c]
        frames.append(f)
    store.write_parquet("predictions.parquet", pd.concat(frames, ignore_index=True))


FIT_COLUMNS = ["strategy", "eval_set", "metric", "alpha", "beta", "gamma", "alpha_lo", "alpha_hi", "beta_lo", "beta_hi",
               "gamma_lo", "gamma_hi", "n_points", "n_full", "pred_2x", "pred_2x_lo", "pred_2x_hi", "pred_4x",
               "pred_4x_lo", "pred_4x_hi", "target", "n_needed", "n_needed_lo", "n_needed_hi", "reachable", "status"]


def fit_curves(store: RunStore, cfg: RunConfig, n_full: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Fit err(n) = alpha n^beta + gamma per strategy and eval set from the stored trials."""
    from ..scaling import fit_power_law

    con = store.connect()
    df = con.execute(
        "SELECT t.strategy, m.eval_set, t.n_train, t.seed, 1 - m.value AS err FROM trials t "
        "JOIN metrics m USING (trial_id) WHERE t.status = 'ok' AND m.metric = 'accuracy'"
    ).df()
    # The config's target applies to every eval set; by default each set's target is 10%
    # (relative) below its best full-data error, i.e. "what would a 10% better model need".
    targets: dict[str, float] = {}
    for eval_set, g in df.groupby("eval_set"):
        full = g[g.n_train == g.n_train.max()]
        targets[eval_set] = (cfg.fit.target_error if cfg.fit.target_error is not None
                             else float(0.9 * full.groupby("strategy")["err"].mean().min()))
    fit_rows, curve_rows = [], []
    grid = None
    if len(df):
        grid = np.unique(np.geomspace(df.n_train.min(), 4 * n_full, 60).round())
    for (strategy, eval_set), g in df.groupby(["strategy", "eval_set"], sort=True):
        row: dict[str, Any] = dict.fromkeys(FIT_COLUMNS, None)
        target = targets[eval_set]
        row.update(strategy=strategy, eval_set=eval_set, metric="error", n_points=len(g), n_full=n_full,
                   target=target)
        try:
            f = fit_power_law(g.n_train.to_numpy(float), g.err.to_numpy(float), n_boot=cfg.fit.n_boot, seed=0)
        except DataError as e:
            row["status"] = str(e)
            fit_rows.append(row)
            continue
        row.update(alpha=f.alpha, beta=f.beta, gamma=f.gamma, status="ok")
        for p in ("alpha", "beta", "gamma"):
            row[f"{p}_lo"], row[f"{p}_hi"] = (float(v) for v in f.ci[p])
        for mult in (2, 4):
            n = np.array([mult * n_full], dtype=float)
            lo, hi = f.predict_interval(n)
            row[f"pred_{mult}x"], row[f"pred_{mult}x_lo"], row[f"pred_{mult}x_hi"] = (
                float(f.predict(n)[0]), float(lo[0]), float(hi[0]))
        need = f.data_needed(target)
        row.update(n_needed=float(need.n), n_needed_lo=float(need.lo), n_needed_hi=float(need.hi),
                   reachable=bool(need.reachable))
        fit_rows.append(row)
        lo, hi = f.predict_interval(grid)
        curve_rows.append(pd.DataFrame({"strategy": strategy, "eval_set": eval_set, "n": grid,
                                        "pred": f.predict(grid), "lo": lo, "hi": hi}))
    fits = pd.DataFrame(fit_rows, columns=FIT_COLUMNS)
    for c in FIT_COLUMNS:
        if c not in ("strategy", "eval_set", "metric", "status", "reachable"):
            fits[c] = pd.to_numeric(fits[c], errors="coerce").astype(float)
    fits["reachable"] = fits["reachable"].astype("boolean")
    curves = (pd.concat(curve_rows, ignore_index=True) if curve_rows else
              pd.DataFrame({"strategy": pd.Series(dtype=str), "eval_set": pd.Series(dtype=str),
                            "n": pd.Series(dtype=float), "pred": pd.Series(dtype=float),
                            "lo": pd.Series(dtype=float), "hi": pd.Series(dtype=float)}))
    return fits, curves, targets


def evaluation_tables(store: RunStore, fits: pd.DataFrame) -> None:
    """Derived tables from what is already stored (no training): ``calibration`` and ``crossings``.

    ``calibration``: the full-data model's predictions (predictions.parquet), every
    calibration metric before and after temperature scaling (T fitted on 20% of id_test)
    plus the bin-count sweep. ``crossings``: where two strategies' fitted learning curves
    cross. Each is replaced on every call; it is written empty when it cannot be computed
    (no predictions, fewer than two fitted strategies).
    """
    from ..report._calibration_extra import (
        CALIBRATION_COLUMNS,
        CROSSING_COLUMNS,
        calibration_table,
        crossings_table,
        empty_table,
    )

    pred = store.read_parquet("predictions.parquet")
    try:
        calib = calibration_table(pred) if pred is not None else empty_table(CALIBRATION_COLUMNS)
    except DataError:
        calib = empty_table(CALIBRATION_COLUMNS)
    store.replace_table("calibration", calib)
    try:
        cross = crossings_table(fits, store.table("trials"))
    except DataError:
        cross = empty_table(CROSSING_COLUMNS)
    store.replace_table("crossings", cross)


def summary_table(store: RunStore) -> pd.DataFrame:
    """Mean accuracy (ID and OOD) per strategy at each budget, for the closing table."""
    con = store.connect()
    return con.execute(
        "SELECT t.strategy, t.budget, m.eval_set, avg(m.value) AS accuracy, count(*) AS seeds "
        "FROM trials t JOIN metrics m USING (trial_id) WHERE m.metric = 'accuracy' AND t.status = 'ok' "
        "GROUP BY ALL ORDER BY t.budget, m.eval_set, accuracy DESC"
    ).df()


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "manifest.json").read_text())
