"""The runner: load -> score -> select -> train per trial -> fit -> report, into one run folder."""

from __future__ import annotations

import hashlib
import inspect
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
from .config import RunConfig, config_from_dict, dump_config, load_config
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


def load_run_data(cfg: RunConfig, *, progress: Any = None) -> RunData:
    """Train / test / OOD sets named by the config, validated before any folder is made.

    With ``text:`` each file's text column is embedded (``progress(done, total)`` as texts are
    encoded; texts already in the embedding cache, e.g. on ``--resume``, are not encoded again).
    """
    from ..io import BUILTINS, apply_image_shape, load, load_builtin
    from ..splits import stratified_split

    if cfg.dataset in BUILTINS:
        if cfg.test or cfg.ood or cfg.label:
            raise ConfigError("test, ood and label apply to file datasets, not to the built-in " + repr(cfg.dataset))
        try:
            b = load_builtin(cfg.dataset, **cfg.dataset_params)
        except TypeError as e:
            raise ConfigError(f"dataset_params for {cfg.dataset!r}: {e}") from None
        train, test, ood = (apply_image_shape(d, cfg.image_shape) for d in (b.train, b.test, b.ood))
        return RunData(train, test, ood, b.ood_description)
    if cfg.dataset_params:
        raise ConfigError("dataset_params apply only to built-in datasets")
    text_kw = {} if cfg.text is None else {"text": cfg.text, "progress": progress, "backend": cfg.text_backend}
    text_kw.update(image_size=cfg.image_size, image_shape=cfg.image_shape)  # test / ood get the same
    full = load(cfg.dataset, label=cfg.label, **text_kw)
    full.require_labels("datafactors run (proxy training)")
    if cfg.test:
        train, test = full, load(cfg.test, label=cfg.label, **text_kw)
        test.require_labels("the test set of datafactors run")
    else:
        sp = stratified_split(full, seed=cfg.split_seed, test_size=0.2)
        train, test = full.subset(sp.train), full.subset(sp.test)
    ood = load(cfg.ood, label=cfg.label, **text_kw) if cfg.ood else None
    if ood is not None:
        ood.require_labels("the OOD set of datafactors run")
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
        return (
            f"Fixed epochs: every subset is trained for {cfg.epochs} epochs, so smaller subsets "
            "get proportionally fewer gradient steps."
        )
    seen = cfg.samples_seen or cfg.epochs * n_full
    return (
        f"Fixed samples seen (DataComp): every subset is trained on {seen} examples in total "
        "(more epochs for smaller subsets), so compute is the same at every budget."
    )


def _git_rev() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
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
    text: str | None = None,
    text_backend: str | None = None,
) -> RunResult:
    """Run the whole loop and write a run folder; see ARCHITECTURE.md.

    Parameters
    ----------
    config : a RunConfig, a YAML path, or None for the built-in default (MNIST-1D).
    out : folder under which ``<run-id>/`` is created.
    resume : an existing run folder to finish (its saved config is used).
    engine, address : where trials execute ("local" process pool).
    text : the text column to embed (overrides the config's ``text:``; not with ``resume``).
    text_backend : the encoder's runtime (overrides the config's ``text_backend:``; not with ``resume``).
    """
    from ..engines import make_engine

    rep = reporter or NullReporter()
    if resume is not None:
        if config is not None:
            raise ConfigError("pass either a config or --resume RUN, not both")
        if text is not None or text_backend is not None:
            raise ConfigError(
                "--text / --text-backend apply to a new run; --resume RUN uses the text settings of its saved config"
            )
        store = RunStore(resume)
        manifest = store.manifest()
        cfg = load_config(store.path / "config.yaml")
        data = load_run_data(cfg, progress=_encoding_progress(rep))
        _log_embedding(data, rep)
        eng = make_engine(engine, n_workers=cfg.n_workers, address=address)
        rep.log(f"resuming {store.path}")
    else:
        cfg = config if isinstance(config, RunConfig) else load_config(config)
        overrides = {k: v for k, v in (("text", text), ("text_backend", text_backend)) if v is not None}
        if overrides:
            cfg = config_from_dict({**cfg.model_dump(mode="json"), **overrides}, " (with --text / --text-backend)")
        data = load_run_data(cfg, progress=_encoding_progress(rep))
        _log_embedding(data, rep)
        _plan_selections_check(cfg, data)
        out_dir = Path(out)
        _check_writable(out_dir)  # before the engine connects, so a bad --out leaves nothing running
        eng = make_engine(engine, n_workers=cfg.n_workers, address=address)
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
            "embedding": None
            if data.train.embedding is None
            else json.loads(json.dumps(data.train.embedding, default=str)),
            "ood_description": data.ood_description,
            "protocol": cfg.protocol,
            "protocol_description": protocol_sentence(cfg, data.train.n),
            "learner": cfg.learner,
            "epochs": cfg.epochs,
            "seeds": cfg.seeds,
            "seeds_used": seeds_used(cfg),
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


def _encoding_progress(rep: Reporter) -> Any:
    """A ``progress(done, total)`` callback that shows text encoding as a stage of ``rep``."""
    state: dict[str, Any] = {"done": 0, "total": None}

    def progress(done: int, total: int) -> None:
        if state["total"] != total or done < state["done"]:  # a new file (train, test, ood) starts
            rep.stage(f"encoding {total} texts", total)
            state.update(done=0, total=total)
        rep.advance(done - state["done"])
        state["done"] = done

    return progress


def _log_embedding(data: RunData, rep: Reporter) -> None:
    from .commands import embedding_note

    note = embedding_note(data.train.embedding)
    if note is not None:
        rep.log(note)


def _plan_selections_check(cfg: RunConfig, data: RunData) -> None:
    """Catch bad budgets and strategy options before a run folder exists.

    Every strategy's name, budgets and option names are checked without selecting. A cheap
    (non-geometric) selector also runs once on stand-in scores, so bad option *values*
    (an offset past the data, an unknown column) fail here too; geometric selectors are not
    run (that would cost as much as the selection itself) and rely on their own checks.
    """
    from ..scores import COLUMNS
    from ..select import REGISTRY, check_strategy, select

    for b in cfg.budgets:
        resolve_budget(b, data.train.n)
    stand_in = None
    for st in cfg.strategies:
        params = dict(st.params)
        if st.score is not None:
            params["score"] = st.score
        try:
            for b in cfg.budgets:
                check_strategy(
                    st.selector,
                    b,
                    data.train.n,
                    params,
                    class_balanced=st.class_balanced,
                    group_balanced=st.group_balanced,
                    has_groups=data.train.groups is not None,
                )
            if not getattr(REGISTRY.get(st.selector), "needs_embeddings", False):
                if stand_in is None:
                    stand_in = pd.DataFrame({c: np.zeros(data.train.n) for c in COLUMNS}, index=data.train.ids)
                select(
                    data.train,
                    st.selector,
                    max(cfg.budgets),
                    scores=stand_in,
                    seed=0,
                    class_balanced=st.class_balanced,
                    group_balanced=st.group_balanced,
                    **params,
                )
            _check_augment(st.augment_spec(), data)
        except (ConfigError, DataError) as e:
            raise ConfigError(f"in strategy {st.name!r} of the config: {e}") from None


def augment_label(spec: tuple[str, dict[str, Any]] | None) -> str | None:
    """How selections.parquet records a strategy's augmentation: ``"targeted"``, ``"generic(scale=0.5)"`` or None."""
    if spec is None:
        return None
    name, params = spec
    return name if not params else f"{name}({', '.join(f'{k}={v!r}' for k, v in sorted(params.items()))})"


def _check_augment(spec: tuple[str, dict[str, Any]] | None, data: RunData) -> None:
    """The augmentation's name and options, and one dry run on a few training rows (bad values fail here)."""
    if spec is None:
        return
    from ..augment import REGISTRY as AUGMENTATIONS
    from ..augment import augment, check_augmentation

    name, params = spec
    check_augmentation(name, params)
    y = data.train.y
    # a few rows of every class (synthesizers make rows per class)
    few = np.concatenate([np.flatnonzero(y == c)[:4] for c in np.unique(y)]) if y is not None else np.arange(8)
    dry = dict(params)
    if "steps" in inspect.signature(AUGMENTATIONS.get(name)).parameters:
        dry["steps"] = 1  # a synthesizer's option values are checked before its first step
    augment(data.train.subset(np.sort(few)), name, seed=0, **dry)


# Seeds of the stages other than the trials, recorded in the manifest (``seeds_used``).
SCORING_SEED_BASE = 10_000  # scoring proxy k trains with seed SCORING_SEED_BASE + k, apart from the trials' seeds
SCORE_SEED = 0  # the scorers' own randomness (folds, ensembles, AFLite partitions)
PROFILE_SEED = 0
FIT_BOOTSTRAP_SEED = 0  # analysis.derive's default


def seeds_used(cfg: RunConfig) -> dict[str, Any]:
    """Every seed a run of ``cfg`` uses, by stage (``split`` is None when no test split is drawn)."""
    from ..io import BUILTINS

    split_applies = cfg.dataset not in BUILTINS and not cfg.test
    return {
        "trials": list(cfg.seeds),
        "selections": list(cfg.seeds),
        "scoring_proxies": [SCORING_SEED_BASE + k for k in range(cfg.scoring.seeds)],
        "scores": SCORE_SEED,
        "split": cfg.split_seed if split_applies else None,
        "profile": PROFILE_SEED,
        "fit_bootstrap": FIT_BOOTSTRAP_SEED,
    }


def _compute_scores(cfg: RunConfig, data: RunData, store: RunStore, eng: Any, rep: Reporter) -> pd.DataFrame:
    from ..scores import compute

    existing = store.read_parquet("scores.parquet")
    if existing is not None:
        return existing.set_index("id")
    epochs = cfg.scoring.epochs or cfg.epochs
    specs = [
        {"learner": cfg.learner, "learner_params": cfg.learner_params, "epochs": epochs, "seed": SCORING_SEED_BASE + k}
        for k in range(cfg.scoring.seeds)
    ]
    rep.stage(f"training {len(specs)} scoring proxies (recording dynamics)", len(specs))
    runs = {}
    for spec, dyn in eng.map(dynamics_task, specs, data.shared()):
        runs[spec["seed"]] = dyn
        rep.advance()
    dynamics = [runs[s["seed"]] for s in specs]
    scores = compute(data.train, cfg.scoring.specs(), dynamics=dynamics, seed=SCORE_SEED)
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
        prof = profile(data.train, scores=scores, test=data.test, families=fams, seed=PROFILE_SEED)
    except DatafactorsError as e:  # a profile that cannot be computed must not cost the run
        rep.log(f"no profile.parquet: {e}")
        return
    store.write_parquet("profile.parquet", prof)


def _stored_selections(stored: pd.DataFrame | None, data: RunData) -> dict[tuple, np.ndarray]:
    """Row indices (in pick order) of every (strategy, budget, seed) in a stored selections table."""
    if stored is None or stored.empty:
        return {}
    pos = pd.Index(np.asarray(data.train.ids).astype(str))
    out: dict[tuple, np.ndarray] = {}
    for (st, b, s), g in stored.groupby(["strategy", "budget", "seed"], sort=False):
        idx = pos.get_indexer(g.sort_values("rank")["id"].astype(str))
        if (idx >= 0).all():  # ids the training set no longer has: select that combination again
            out[(str(st), float(b), int(s))] = idx.astype(np.int64)
    return out


def _selections(
    cfg: RunConfig, data: RunData, scores: pd.DataFrame, rep: Reporter, stored: pd.DataFrame | None = None
) -> dict[tuple, np.ndarray]:
    """Every (strategy, budget, seed) selection; those in ``stored`` (a resumed run's table) are read, not redone."""
    from ..select import select

    have = _stored_selections(stored, data)
    out: dict[tuple, np.ndarray] = {}
    combos = [(st, b, s) for st in cfg.strategies for b in cfg.budgets for s in cfg.seeds]
    rep.stage("selecting subsets", len(combos))
    for st, b, s in combos:
        if (st.name, float(b), int(s)) in have:
            out[(st.name, b, s)] = have[(st.name, float(b), int(s))]
            rep.advance()
            continue
        params = dict(st.params)
        if st.score is not None:
            params["score"] = st.score
        out[(st.name, b, s)] = select(
            data.train,
            st.selector,
            b,
            scores=scores,
            seed=s,
            class_balanced=st.class_balanced,
            group_balanced=st.group_balanced,
            **params,
        )
        rep.advance()
    return out


def _execute(cfg: RunConfig, data: RunData, store: RunStore, eng: Any, rep: Reporter, make_report: bool) -> RunResult:
    scores = _compute_scores(cfg, data, store, eng, rep)
    _write_profile(data, scores, store, rep)
    stored = store.read_parquet("selections.parquet")
    sels = _selections(cfg, data, scores, rep, stored)
    _write_duplicates(cfg, data, store)
    # each strategy's augmentation, as selections.parquet records it and as trials are keyed by it
    augments = {st.name: augment_label(st.augment_spec()) for st in cfg.strategies}
    if stored is None or len(_stored_selections(stored, data)) < len(sels):
        rows = [
            pd.DataFrame(
                {
                    "strategy": k[0],
                    "budget": k[1],
                    "seed": k[2],
                    "id": data.train.ids[idx],
                    "rank": np.arange(len(idx)),
                    "augment": augments[k[0]],
                }
            )  # fmt: skip
            for k, idx in sels.items()
        ]
        store.write_parquet("selections.parquet", pd.concat(rows, ignore_index=True))
    _write_examples(cfg, data, store, rep)

    n_full = data.train.n
    ref_budget = max(cfg.budgets)
    ref_trial = trial_id(cfg.strategies[0].name, ref_budget, cfg.seeds[0], cfg.learner)
    done = store.finished_trials()
    # Identical selections (e.g. every strategy at 100%) with the same seed and augmentation are trained once.
    aug_specs = {st.name: st.augment_spec() for st in cfg.strategies}
    groups: dict[str, dict[str, Any]] = {}
    for (strategy, b, s), idx in sels.items():
        tid = trial_id(strategy, b, s, cfg.learner)
        sorted_idx = np.sort(idx)
        key = hashlib.sha256(sorted_idx.tobytes() + str(s).encode() + str(augments[strategy]).encode()).hexdigest()
        g = groups.setdefault(key, {"spec": None, "trials": []})
        g["trials"].append({"trial_id": tid, "strategy": strategy, "budget": b, "n_train": len(idx), "seed": s})
        if g["spec"] is None:
            g["spec"] = {
                "key": key,
                "indices": sorted_idx,
                "learner": cfg.learner,
                "learner_params": cfg.learner_params,
                "seed": s,
                "epochs": trial_epochs(cfg, len(idx), n_full),
                "keep_predictions": False,
                "augment": aug_specs[strategy],
            }
        if tid == ref_trial:
            g["spec"]["keep_predictions"] = store.read_parquet("predictions.parquet") is None
    todo = [
        g
        for g in groups.values()
        if any(t["trial_id"] not in done for t in g["trials"]) or g["spec"]["keep_predictions"]
    ]
    skipped = sum(len(g["trials"]) for g in groups.values()) - sum(len(g["trials"]) for g in todo)
    n_todo = sum(len(g["trials"]) for g in todo)
    rep.stage(f"training {n_todo} trials ({len(todo)} distinct, {skipped} already done)", n_todo)
    by_key = {g["spec"]["key"]: g for g in todo}
    for spec, res in eng.map(trial_task, [g["spec"] for g in todo], data.shared()):
        for t in by_key[spec["key"]]["trials"]:
            row = {
                **t,
                "learner": cfg.learner,
                "status": "ok" if res["error"] is None else "failed",
                "error": res["error"],
                "seconds": res["seconds"],
            }
            store.write_trial(row, res["metrics"])
        if res["predictions"]:
            _write_predictions(store, data, res["predictions"])
        rep.advance(len(by_key[spec["key"]]["trials"]))

    from .. import analysis

    rep.stage("analysing: learning curves, calibration, summary", None)
    targets = analysis.derive(store, n_boot=cfg.fit.n_boot, target_error=cfg.fit.target_error, seed=FIT_BOOTSTRAP_SEED)
    summary = analysis.closing_summary(store)
    trials = store.table("trials")
    n_failed = int((trials["status"] != "ok").sum())
    store.update_manifest(
        status="complete",
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
        target_error=targets.get("id_test"),
        target_errors=targets,
        n_failed=n_failed,
    )
    report_path = None
    if make_report:
        rep.stage("writing report", None)
        store.close()
        report_path = _build_report(store.path)
    rep.done()
    return RunResult(store.path, len(trials), n_failed, summary, report_path, skipped)


def _write_examples(cfg: RunConfig, data: RunData, store: RunStore, rep: Reporter) -> None:
    """examples.parquet and example_views.parquet: the examples behind each score and selection.

    Skipped when examples.parquet exists (``--resume``); a failure is logged and must not cost the run.
    """
    from .._errors import DatafactorsError
    from ..analysis import write_examples

    if (store.path / "examples.parquet").exists():
        return
    rep.stage("listing the examples behind each score", None)
    label_params = next((p for n, p in cfg.scoring.specs() if n == "label_quality"), None)
    try:
        write_examples(store, data.train, label_params=label_params, seed=SCORE_SEED)
    except (DatafactorsError, ValueError, TypeError, KeyError, IndexError, ArithmeticError, OSError) as e:
        rep.log(f"no examples.parquet: {type(e).__name__}: {e}")


def _write_duplicates(cfg: RunConfig, data: RunData, store: RunStore) -> None:
    """duplicates.parquet: the near-duplicate clusters of each ``minhash_dedup`` strategy (column ``strategy``)."""
    from .commands import duplicate_clusters

    strategies = [st for st in cfg.strategies if st.selector == "minhash_dedup"]
    if not strategies or store.read_parquet("duplicates.parquet") is not None:
        return
    frames = [duplicate_clusters(data.train, dict(st.params)).assign(strategy=st.name) for st in strategies]
    store.write_parquet("duplicates.parquet", pd.concat(frames, ignore_index=True))


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


def rebuild_report(run_dir: str | Path) -> Path:
    """Re-derive a run folder's analysis tables, then (re)build its ``report.html``.

    An older run folder (written before a table existed) gets every table and so a full
    report; the trials and predictions are only read.

    Parameters
    ----------
    run_dir : path of a run folder, such as ``runs/<run-id>``.

    Returns
    -------
    Path of the written ``report.html``.

    Examples
    --------
    >>> from datafactors.experiment import rebuild_report
    >>> rebuild_report("runs/2024-05-01-mnist1d")  # doctest: +SKIP
    PosixPath('runs/2024-05-01-mnist1d/report.html')
    """
    from .. import analysis

    path = Path(run_dir)
    if not path.is_dir():
        raise DataError(f"run_dir {str(path)!r} is not a directory; expected a run folder such as runs/<run-id>")
    if (path / "results.duckdb").is_file():
        with RunStore(path) as store:
            analysis.derive(store)
    return _build_report(path)


def _build_report(run_dir: Path) -> Path:
    """The one place outside ``report/`` that calls it: render the stored tables to ``report.html``."""
    from ..report import build_report

    return build_report(run_dir)


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "manifest.json").read_text())
