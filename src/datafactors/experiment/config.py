"""The validated run configuration (YAML <-> pydantic), with the built-in default."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .._errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class AugmentConfig(_Strict):
    """An augmentation (:mod:`datafactors.augment`) applied to a strategy's selected rows before each trial."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class StrategyConfig(_Strict):
    """One selection strategy: a label for the results, a registered selector and its options.

    ``augment`` (a name, or ``{name, params}``) adds the rows that augmentation makes from
    the selected rows to each trial's training set (the originals stay); the trial's
    ``n_train`` stays the number of selected rows.
    """

    name: str
    selector: str
    score: str | None = None
    class_balanced: bool = False
    group_balanced: bool = False
    params: dict[str, Any] = Field(default_factory=dict)
    augment: str | AugmentConfig | None = None

    def augment_spec(self) -> tuple[str, dict[str, Any]] | None:
        """``(name, params)`` of the strategy's augmentation, or None."""
        if self.augment is None:
            return None
        if isinstance(self.augment, str):
            return self.augment, {}
        return self.augment.name, dict(self.augment.params)


class ScoreSpecConfig(_Strict):
    """A registered score with its parameters (the scorer's constructor keyword arguments)."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class ScoringConfig(_Strict):
    scores: list[str | ScoreSpecConfig] = Field(
        default_factory=lambda: ["el2n", "grand", "forgetting", "cartography", "loss"],
        description="score names, or {name, params} to set a scorer's parameters",
    )
    seeds: int = Field(3, ge=1, le=100)
    epochs: int | None = Field(None, ge=1, description="defaults to the run's epochs")

    def specs(self) -> list[tuple[str, dict[str, Any]]]:
        """``[(name, params), ...]`` in order, as :func:`datafactors.scores.compute` takes them."""
        return [(s, {}) if isinstance(s, str) else (s.name, dict(s.params)) for s in self.scores]

    def names(self) -> list[str]:
        return [name for name, _ in self.specs()]


class FitConfig(_Strict):
    n_boot: int = Field(200, ge=0, le=10000)
    target_error: float | None = Field(
        None, gt=0, lt=1, description="default: per eval set, 10% (relative) below its best full-data error"
    )


class RunConfig(_Strict):
    """Everything a run needs; the resolved copy is saved as ``config.yaml`` in the run folder."""

    dataset: str = "mnist1d"
    dataset_params: dict[str, Any] = Field(default_factory=dict)
    label: str | None = None
    text: str | None = Field(
        None, description="text column of a file dataset, embedded as the features (test and ood use the same column)"
    )
    text_backend: Literal["torch", "onnx", "torch-bf16"] = Field(
        "torch", description="with text: the encoder's runtime (torch exact; onnx; torch-bf16), cached separately"
    )
    test: str | None = Field(None, description="path of a test file (default: the built-in's, or a stratified 20%)")
    ood: str | None = Field(None, description="path of an OOD test file (default: the built-in's shifted set)")
    image_size: list[StrictInt] | None = Field(
        None, description="[height, width]: resize the images of a folder dataset (and test / ood folders) to this size"
    )
    image_shape: list[StrictInt] | None = Field(
        None,
        description="[h, w], [h, w, 3] or [n]: how each row's features are laid out (pixels or a signal, row-major)",
    )
    learner: str = "mlp"
    learner_params: dict[str, Any] = Field(
        default_factory=lambda: {"hidden": [128, 128], "batch_size": 128, "lr": 0.002}
    )
    epochs: int = Field(30, ge=1, le=10000)
    protocol: Literal["fixed-epochs", "fixed-samples-seen"] = "fixed-epochs"
    samples_seen: int | None = Field(
        None, ge=1, description="fixed-samples-seen total; default epochs x full train size"
    )
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    budgets: list[float] = Field(default_factory=lambda: [0.1, 0.2, 0.3, 0.5, 0.7, 1.0], min_length=1)
    strategies: list[StrategyConfig] = Field(
        default_factory=lambda: [
            StrategyConfig(name="random", selector="random"),
            StrategyConfig(name="balanced_random", selector="random", class_balanced=True),
            StrategyConfig(name="el2n_hardest", selector="hardest", score="el2n"),
            StrategyConfig(name="el2n_easiest", selector="easiest", score="el2n"),
            StrategyConfig(name="el2n_offset", selector="offset", score="el2n", params={"offset": 0.1}),
            StrategyConfig(name="forgetting_hardest", selector="hardest", score="forgetting"),
        ],
        min_length=1,
    )
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    fit: FitConfig = Field(default_factory=FitConfig)
    n_workers: int | None = Field(None, ge=1, le=256, description="local engine processes (default: CPU count)")
    split_seed: int = Field(0, ge=0, description="seed of the stratified test split of a file dataset without `test`")

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: list[int]) -> list[int]:
        if any(s < 0 for s in v):
            raise ValueError("seeds must be >= 0")
        if len(set(v)) != len(v):
            raise ValueError("seeds must be distinct")
        return v

    @field_validator("budgets")
    @classmethod
    def _budgets(cls, v: list[float]) -> list[float]:
        for b in v:
            if not 0 < b <= 1:
                raise ValueError(f"budget {b} must be a fraction in (0, 1]")
        if len(set(v)) != len(v):
            raise ValueError("budgets must be distinct")
        return sorted(v)

    @model_validator(mode="after")
    def _names(self) -> RunConfig:
        names = [s.name for s in self.strategies]
        if len(set(names)) != len(names):
            raise ValueError(f"strategy names must be unique, got {names}")
        return self

    @field_validator("text")
    @classmethod
    def _text(cls, v: str | None, info: ValidationInfo) -> str | None:
        from ..io import BUILTINS

        dataset, label = info.data.get("dataset"), info.data.get("label")
        if v is not None and dataset in BUILTINS:
            raise ValueError(f"{v!r} applies to a file dataset; {dataset!r} is a built-in without text")
        if v is not None and v == label:
            raise ValueError(f"text and label both name column {v!r}; the text and the label must differ")
        return v

    @field_validator("image_size")
    @classmethod
    def _image_size(cls, v: list[int] | None, info: ValidationInfo) -> list[int] | None:
        from ..io import BUILTINS

        if v is None:
            return v
        if len(v) != 2 or min(v) < 1:
            raise ValueError(f"expected [height, width], two positive ints such as [28, 28], got {v}")
        dataset = info.data.get("dataset")
        if dataset in BUILTINS:
            raise ValueError(f"applies to a folder of images; {dataset!r} is a built-in")
        if info.data.get("text") is not None:
            raise ValueError("applies to a folder of images; with text: the features are text embeddings")
        return v

    @field_validator("image_shape")
    @classmethod
    def _image_shape(cls, v: list[int] | None, info: ValidationInfo) -> list[int] | None:
        from .._errors import DataError
        from ..dataset import check_example_shape

        if v is None:
            return v
        try:
            check_example_shape(v, what="expected [h, w], [h, w, 3] or [n];")
        except DataError as e:
            raise ValueError(str(e)) from None
        if info.data.get("text") is not None:
            raise ValueError("declares pixel features; with text: the features are text embeddings")
        return v

    def check_names(self) -> None:
        """Check every registry name (selectors, scores, learner) before any work starts."""
        from ..learners import REGISTRY as LEARNERS
        from ..learners import make_learner
        from ..scores import COLUMNS
        from ..scores import REGISTRY as SCORES
        from ..select import REGISTRY as SELECTORS

        LEARNERS.get(self.learner)
        learner = make_learner(self.learner, **self.learner_params)
        if hasattr(learner, "check_params"):
            learner.check_params()
        seen: set[str] = set()
        for i, (name, params) in enumerate(self.scoring.specs()):
            try:
                if name in seen:
                    raise ConfigError(f"score {name!r} named twice")
                SCORES.get(name).create(params)  # unknown name / parameter / value
            except ConfigError as e:
                raise ConfigError(f"scoring.scores[{i}]: {e}") from None
            seen.add(name)
        from ..scores import score_columns

        produced = [c for s in self.scoring.names() for c in score_columns(s)]
        for st in self.strategies:
            SELECTORS.get(st.selector)
            if st.score is None:
                continue
            if st.score not in COLUMNS:
                close = difflib.get_close_matches(st.score, list(COLUMNS), n=1, cutoff=0.6)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ConfigError(
                    f"strategy {st.name!r}: unknown score column {st.score!r}.{hint} Known: {', '.join(sorted(COLUMNS))}"
                )
            if st.score not in produced:
                raise ConfigError(
                    f"strategy {st.name!r} selects by {st.score!r}, but scoring.scores ({', '.join(self.scoring.names())}) "
                    f"does not compute it; add the score that produces it to scoring.scores"
                )


def _format_error(e: ValidationError, where: str) -> str:
    parts = []
    for err in e.errors()[:5]:
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key {loc!r}")
        else:
            parts.append(f"{loc}: {err['msg']}")
    return f"invalid config{where}: " + "; ".join(parts)


def config_from_dict(data: Any, where: str = "") -> RunConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"invalid config{where}: expected a mapping of keys, got {type(data).__name__}")
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_error(e, where)) from None
    cfg.check_names()
    return cfg


def load_config(path: str | Path | None) -> RunConfig:
    """Read and validate a YAML config; ``None`` gives the built-in default."""
    if path is None:
        return config_from_dict({})
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"invalid YAML in {p}{at}: {getattr(e, 'problem', e)}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config {p} is not a text file") from None
    return config_from_dict(data, f" {p}")


def dump_config(cfg: RunConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
