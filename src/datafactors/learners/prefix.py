"""Prefix conditioning (Saito et al., 2023): one model, a learned embedding per data source, and a 'general' one.

Each training example carries a source id (its ``ds.groups`` value, or a column of
``ds.extra``). The MLP sees ``[x, onehot(source)]``: the first layer's weights on the
one-hot block are a learned embedding of each source (``hidden[0]`` wide) added to the
first pre-activation, so the source tells the model *which distribution* an example
comes from and the shared weights need not absorb the sources' differences. One extra
slot is the **general** source: during training each row is switched to it with
probability ``general_frac`` (a fresh draw every step), so it learns what is common to
all sources. At test time ``predict_proba(X)`` uses the general embedding (the paper's
mode for data whose source is unknown or new); ``predict_proba(X, source=s)`` conditions
on known sources.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._errors import ConfigError, DataError
from ..dataset import Dataset
from . import REGISTRY
from ._common import check_fit_args, check_predict_input
from ._torch import (
    EpochRecorder,
    TorchSettings,
    check_hidden,
    check_torch_settings,
    mlp_module,
    seeded,
    torch_threads,
    train_cross_entropy,
)

__all__ = ["PrefixLearner"]


@REGISTRY.register("prefix")
class PrefixLearner(TorchSettings):
    """Source-conditioned MLP with a general source embedding.

    Parameters
    ----------
    hidden : widths of the MLP's hidden layers.
    source : ``"groups"`` (default) reads each example's source from ``ds.groups``; any
        other string names a column of ``ds.extra``. A dataset without it is one source.
    general_frac : probability that a training row is shown with the general embedding
        instead of its own (0.2); 0 leaves the general embedding untrained.
    lr, weight_decay, batch_size, standardize, n_threads : as for ``mlp``.

    Attributes
    ----------
    sources_ : list of the source values seen in training (slot i = sources_[i]; the
        general slot is last).
    dynamics : with ``record_dynamics=True``, the standard per-epoch record with every
        train example conditioned on its own source.

    Examples
    --------
    >>> import numpy as np
    >>> from datafactors import Dataset
    >>> X = np.r_[np.zeros((8, 2)), np.ones((8, 2))]
    >>> ds = Dataset.from_arrays(X, [0] * 8 + [1] * 8, groups=["a", "b"] * 8)
    >>> lrn = PrefixLearner(hidden=[8]).fit(ds, epochs=3, seed=0)
    >>> lrn.predict_proba(X).shape, lrn.predict_proba(X, source=["a"] * 16).shape
    ((16, 2), (16, 2))
    """

    def __init__(
        self,
        hidden: Sequence[int] = (128, 128),
        *,
        source: str = "groups",
        general_frac: float = 0.2,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 128,
        standardize: bool = True,
        n_threads: int = 1,
    ) -> None:
        self.hidden = hidden
        self.source = source
        self.general_frac = general_frac
        self._init_settings(
            lr=lr, weight_decay=weight_decay, batch_size=batch_size, standardize=standardize, n_threads=n_threads
        )
        self.sources_: list[Any] = []

    def check_params(self) -> None:
        """Validate the settings (called by fit, and by config validation before a run starts)."""
        check_torch_settings(self)
        self.hidden = check_hidden(self.hidden)
        if not isinstance(self.source, str) or not self.source:
            raise ConfigError(f"source == {self.source!r}, must be 'groups' or the name of a column of ds.extra")
        g = self.general_frac
        if isinstance(g, bool) or not (isinstance(g, (int, float)) and math.isfinite(g) and 0 <= g <= 1):
            raise ConfigError(f"general_frac == {g!r}, must be in [0, 1]")

    def _source_values(self, ds: Dataset) -> np.ndarray:
        if self.source == "groups":
            return np.zeros(ds.n, dtype=np.int64) if ds.groups is None else np.asarray(ds.groups)
        if ds.extra is None or self.source not in ds.extra.columns:
            cols = [] if ds.extra is None else [str(c) for c in ds.extra.columns]
            raise DataError(
                f"source column {self.source!r} not found in {ds.name}; its extra columns are: {', '.join(cols) or 'none'}"
            )
        vals = ds.extra[self.source]
        if vals.isna().any():
            raise DataError(f"source column {self.source!r} in {ds.name} has missing values")
        return vals.to_numpy()

    def fit(self, ds: Dataset, *, epochs: float, seed: int, record_dynamics: bool = False) -> PrefixLearner:
        check_fit_args(ds, epochs, seed)
        self.check_params()
        src = self._source_values(ds)
        uniq, sidx = np.unique(src.astype(str), return_inverse=True)
        first = {s: src[np.flatnonzero(src.astype(str) == s)[0]] for s in uniq}
        self.sources_ = [first[s] for s in uniq]
        self._source_index = {str(s): i for i, s in enumerate(uniq)}
        S = len(uniq) + 1  # + the general slot
        general = S - 1
        with torch_threads(self.n_threads) as torch:
            n, C = ds.n, ds.n_classes
            self._fit_scaler(ds)
            Xs = self._scale(ds.X)
            onehot = np.eye(S, dtype=np.float32)
            X_own = torch.from_numpy(np.c_[Xs, onehot[sidx]])
            X_gen = torch.from_numpy(np.c_[Xs, np.repeat(onehot[general:], n, 0)])
            y = torch.from_numpy(ds.y)
            model = seeded(seed, lambda: mlp_module(ds.n_features + S, C, self.hidden))
            opt = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            rng = np.random.default_rng(int(seed))
            rng_g = np.random.default_rng([int(seed), 1])
            rec = EpochRecorder(X_own, y, record_dynamics)

            def inputs(idx: np.ndarray):
                # each row is shown with the general embedding with probability general_frac, fresh every step
                to_general = torch.from_numpy(rng_g.random(len(idx)) < self.general_frac)[:, None]
                return torch.where(to_general, X_gen[idx], X_own[idx])

            train_cross_entropy(
                model, opt, X_own, y, rec, epochs=float(epochs), batch_size=self.batch_size, rng=rng, inputs=inputs
            )
            self.model_ = model
            self._n_slots = S
            self.dynamics = rec.dynamics(ds, int(seed), transform=None)
        return self

    def predict_proba(self, X: np.ndarray, source: Any = None) -> np.ndarray:
        """(n, C) probabilities; ``source=None`` uses the general embedding, else one known source per row
        (or a single value for all rows)."""
        Xa = check_predict_input(X, self.n_features_)
        n, S = Xa.shape[0], self._n_slots
        if source is None:
            slots = np.full(n, S - 1)
        else:
            s = np.asarray(source)
            s = np.full(n, s.item(), dtype=s.dtype) if s.ndim == 0 else s
            if s.shape != (n,):
                raise DataError(f"source must be one value or one per row ({n},), got shape {s.shape}")
            try:
                slots = np.array([self._source_index[str(v)] for v in s], dtype=np.int64)
            except KeyError as e:
                raise DataError(
                    f"source {e.args[0]!r} was not seen in training; known: {', '.join(map(str, self.sources_))} "
                    "(pass source=None for the general embedding)"
                ) from None
        Xin = np.c_[self._scale(Xa), np.eye(S, dtype=np.float32)[slots]].astype(np.float32)
        with torch_threads(self.n_threads) as torch, torch.no_grad():
            return torch.softmax(self.model_(torch.from_numpy(Xin)).double(), dim=1).numpy()
