"""What a run folder says about itself that the derived tables need: its config and its pool size."""

from __future__ import annotations

from typing import Any

from .._errors import ConfigError, DataError


def run_config(store: Any) -> dict[str, Any]:
    """The run's ``config.yaml`` as a mapping; empty when absent (or not a mapping), ConfigError when not YAML."""
    import yaml

    path = store.path / "config.yaml"
    if not path.is_file():
        return {}
    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    return cfg if isinstance(cfg, dict) else {}


def pool_size(store: Any, fallback: float) -> float:
    """The training set's size from the run's manifest; ``fallback`` when the manifest does not say."""
    try:
        ds = store.manifest().get("dataset") or {}
    except (OSError, ValueError, DataError):
        ds = {}
    if isinstance(ds, dict) and ds.get("n_train") is not None:
        return float(ds["n_train"])
    return float(fallback)
