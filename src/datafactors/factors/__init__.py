"""Dataset-level factors: one number (or a small table) per factor, gathered by :func:`profile`.

Families (one module each, registered in :data:`REGISTRY`): ``size``, ``balance``,
``duplication``, ``diversity``, ``difficulty``, ``intrinsic_dimension``,
``inductive_bias``, ``concept_frequency``, ``coverage``, ``label_noise``,
``provenance``, ``contamination``, ``text``. The math lives in pure functions on arrays,
re-exported here (``vendi_score(X)``, ``intrinsic_dimension(X)``, ``inductive_bias_bits(...)`` ...).

The profile table
-----------------
:func:`profile` returns a long ("tidy") DataFrame, one row per factor value:

========  =======  ==============================================================
column    dtype    meaning
========  =======  ==============================================================
family    str      the family that computed it, e.g. ``"duplication"``
factor    str      the factor, e.g. ``"near_duplicate_rate"``
key       str      ``""`` for a single number; otherwise the item of a small
                   table: a class name, a histogram bin, a licence, a concept,
                   a quantile such as ``"p90"``
value     float64  the number; NaN when the factor does not apply (see ``note``)
text      str      a categorical result (e.g. the combined licence use class), else ""
note      str      how it was computed (sample sizes, thresholds), or why it is missing
========  =======  ==============================================================

Select one factor with ``prof.query("factor == 'vendi_score'")``; pivot a keyed table
with ``prof[prof.factor == "class_count"].set_index("key")["value"]``.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._arrays import check_embeddings
from .._errors import ConfigError, DataError
from .._registry import Registry, import_submodules
from .._validation import SeedLike, seed_int
from ..dataset import Dataset
from ._context import PROFILE_COLUMNS, ProfileContext, row


@dataclass(frozen=True)
class FactorFamily:
    """A registered family: ``fn(ctx) -> list of rows`` (see :func:`row`).

    ``needs_labels``: on an unlabeled pool :func:`profile` skips the family and writes one
    row whose note says it needs labels.
    """

    name: str
    fn: Callable[[ProfileContext], list[dict]]
    description: str
    needs_labels: bool = False


REGISTRY: Registry[FactorFamily] = Registry("factor family")

# Display order of the built-in families; families registered later come after these.
ORDER = (
    "size",
    "balance",
    "duplication",
    "diversity",
    "difficulty",
    "intrinsic_dimension",
    "inductive_bias",
    "concept_frequency",
    "coverage",
    "label_noise",
    "provenance",
)

LICENCE_COLUMNS = ("licence", "license", "licences", "licenses")
SOURCE_COLUMNS = ("source",)


def family(
    name: str, *, description: str, needs_labels: bool = False
) -> Callable[[Callable[[ProfileContext], list[dict]]], Callable]:
    """Register a factor family under ``name`` (``needs_labels``: skipped on an unlabeled pool)."""

    def deco(fn: Callable[[ProfileContext], list[dict]]) -> Callable[[ProfileContext], list[dict]]:
        REGISTRY.register(name)(FactorFamily(name, fn, description, needs_labels))
        return fn

    return deco


def family_names() -> list[str]:
    """Registered families in display order."""
    known = REGISTRY.names()
    return [n for n in ORDER if n in known] + [n for n in known if n not in ORDER]


def _parse_families(families: Sequence[str] | str | None) -> list[str]:
    if families is None:
        return family_names()
    names = [f.strip() for f in families.split(",")] if isinstance(families, str) else [str(f) for f in families]
    names = [n for n in names if n]
    if not names:
        raise ConfigError("families names no factor family; pass None for all of them")
    for n in names:
        REGISTRY.get(n)  # unknown -> ConfigError listing the known ones
    return list(dict.fromkeys(names))


def _aligned_scores(scores: pd.DataFrame | pd.Series | np.ndarray | None, ds: Dataset) -> pd.DataFrame | None:
    """Score columns in ``ds`` row order (NaN for ids the table lacks)."""
    if scores is None:
        return None
    if isinstance(scores, np.ndarray):
        arr = np.asarray(scores, dtype=np.float64)
        if arr.shape != (ds.n,):
            raise DataError(f"scores array must have shape ({ds.n},), got {arr.shape}")
        return pd.DataFrame({"score": arr})
    frame = scores.to_frame() if isinstance(scores, pd.Series) else scores
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"scores must be a DataFrame, Series or (n,) array, got {type(scores).__name__}")
    if "id" in frame.columns:
        frame = frame.set_index("id")
    frame = frame.drop(columns=[c for c in ("label",) if c in frame.columns])
    numeric = [
        c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    if not numeric:
        raise DataError(f"scores has no numeric score column (columns: {', '.join(map(str, frame.columns))})")
    frame = frame[numeric]
    frame.index = frame.index.astype(str)
    if frame.index.duplicated().any():
        raise DataError(f"scores index has duplicated ids, e.g. {frame.index[frame.index.duplicated()][0]!r}")
    keys = pd.Index(ds.ids.astype(str))
    if not keys.isin(frame.index).any():
        raise DataError(f"scores share no id with dataset {ds.name!r} (e.g. dataset id {keys[0]!r})")
    return frame.reindex(keys).reset_index(drop=True).astype(np.float64)


def _pick_column(ds: Dataset, explicit: str | None, defaults: tuple[str, ...], what: str) -> str | None:
    cols = [] if ds.extra is None else [str(c) for c in ds.extra.columns]
    if explicit is not None:
        if explicit not in cols:
            shown = ", ".join(repr(c) for c in cols) or "none"
            raise DataError(f"{what} column {explicit!r} not found in {ds.name}; its non-feature columns are: {shown}")
        return explicit
    lower = {c.lower(): c for c in cols}
    return next((lower[d] for d in defaults if d in lower), None)


def needs_labels_note(ds: Dataset) -> str:
    """The note of a profile row left out because ``ds`` is an unlabeled pool."""
    return f"not computed: needs labels, and {ds.name} has none (pass --label COL, or label= in Python)"


def _fraction(name: str, value: object) -> float:
    """``value`` as a float in (0, 1]; anything else is one ConfigError naming ``name`` and the value."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real) or not 0.0 < float(value) <= 1.0:
        raise ConfigError(f"{name} == {value!r}, must be a number in (0, 1]")
    return float(value)


def _vectors(X: np.ndarray | None, n: int, what: str) -> np.ndarray | None:
    if X is None:
        return None
    return check_embeddings(X, n, name=what)


def profile(
    ds: Dataset,
    *,
    embeddings: np.ndarray | None = None,
    text: str | None = None,
    embed: bool = False,
    scores: pd.DataFrame | pd.Series | np.ndarray | None = None,
    test: Dataset | None = None,
    test_embeddings: np.ndarray | None = None,
    licence: str | None = None,
    source: str | None = None,
    concepts: Sequence[str] | None = None,
    concept_performance: Mapping[str, float] | None = None,
    families: Sequence[str] | str | None = None,
    near_duplicate_threshold: float = 0.95,
    minhash_threshold: float = 0.8,
    contamination_cosine: float | None = None,
    epsilon: float = 0.01,
    seed: SeedLike = 0,
) -> pd.DataFrame:
    """Measure the dataset-level factors of ``ds``: a long table, one row per value.

    Parameters
    ----------
    ds : the dataset (usually a training set).
    embeddings : (n, d) vectors for the geometric factors (duplicates, diversity,
        intrinsic dimension, coverage); default ``ds.X``, or the text embeddings
        when ``embed=True``.
    text : a text column of ``ds.extra`` (vocabulary size, concept frequency, and
        exact duplicates of the text). Empty strings are allowed (they add no
        tokens) and counted in the ``empty_texts`` row.
    embed : embed ``text`` with the offline sentence encoder
        (:func:`datafactors.featurize.embed_texts`, cached by content hash).
    scores : per-example scores (a DataFrame indexed by id or with an ``id``
        column, a Series, or an (n,) array) for the difficulty profile.
    test : a test set for coverage/novelty and the exact inductive bias;
        ``test_embeddings`` are its vectors (default ``test.X``, or embedded text).
    licence, source : columns of ``ds.extra`` for the provenance audit (default: a
        column named licence/license, and source).
    concepts : concept strings for concept frequency (default: the class names);
        ``concept_performance`` maps concepts to a performance for the log-linear fit.
    families : names (or "a,b") of the families to compute; default all, see
        :func:`family_names`.
    near_duplicate_threshold : cosine similarity at or above which two examples
        are near duplicates.
    minhash_threshold : estimated Jaccard at or above which two texts are near duplicates
        by MinHash (the contamination family: the training set's MinHash duplicate rate, and
        the test rows matching a training row when both sides have text). Default 0.8.
    contamination_cosine : cosine at or above which a test row near-duplicates a training
        row when a side has no text (the contamination family); None = ``near_duplicate_threshold``.
        Every threshold must be in (0, 1]; the contamination family records the one it used
        in its ``contamination_threshold`` row.
    epsilon : target error rate of the inductive-bias bits.
    seed : seeds every sampling step.

    Returns
    -------
    pandas.DataFrame with columns ``family, factor, key, value, text, note``
    (see the module docstring); ``frame.attrs["seconds"]`` holds each family's run time.

    Examples
    --------
    >>> import numpy as np, datafactors as df
    >>> rng = np.random.default_rng(0)
    >>> ds = df.Dataset.from_arrays(rng.normal(size=(200, 8)), rng.integers(0, 2, 200))
    >>> prof = df.factors.profile(ds, families=["size", "balance"])
    >>> prof.set_index("factor").loc["n_examples", "value"]
    np.float64(200.0)
    """
    if not isinstance(ds, Dataset):
        raise DataError(f"profile needs a Dataset, got {type(ds).__name__}")
    names = _parse_families(families)
    near_duplicate_threshold = _fraction("near_duplicate_threshold", near_duplicate_threshold)
    minhash_threshold = _fraction("minhash_threshold", minhash_threshold)
    if contamination_cosine is not None:
        contamination_cosine = _fraction("contamination_cosine", contamination_cosine)
    if not 0.0 < float(epsilon) < 1.0:
        raise ConfigError(f"epsilon == {epsilon}, must be in (0, 1)")
    s = seed_int(seed)
    texts = None
    if text is not None or embed:
        from ..featurize import text_column

        if text is None:
            raise ConfigError("embed=True needs text=<column> naming the text to embed")
        texts = text_column(ds, text, allow_empty=True)
    X = _vectors(embeddings, ds.n, "embeddings")
    test_X = None
    if test is not None:
        if not isinstance(test, Dataset):
            raise DataError(f"test must be a Dataset, got {type(test).__name__}")
        test_X = _vectors(test_embeddings, test.n, "test_embeddings")
    if embed:
        from ..featurize import embed_texts

        assert texts is not None and text is not None
        if X is None:
            X = embed_texts(texts)
        if test is not None and test_X is None:
            test_X = embed_texts(text_column(test, text, allow_empty=True))
    if X is None:
        X = ds.X
    if test is not None and test_X is None:
        test_X = test.X
    if test_X is not None and test_X.shape[1] != X.shape[1]:
        raise DataError(f"test vectors have {test_X.shape[1]} dimensions but the dataset's have {X.shape[1]}")
    ctx = ProfileContext(
        ds=ds,
        X=np.ascontiguousarray(X, dtype=np.float32),
        texts=texts,
        text_col=text,
        scores=_aligned_scores(scores, ds),
        test=test,
        test_X=None if test_X is None else np.ascontiguousarray(test_X, dtype=np.float32),
        licence_col=_pick_column(ds, licence, LICENCE_COLUMNS, "licence"),
        source_col=_pick_column(ds, source, SOURCE_COLUMNS, "source"),
        concepts=None if concepts is None else [str(c) for c in concepts],
        concept_performance=concept_performance,
        near_duplicate_threshold=near_duplicate_threshold,
        minhash_threshold=minhash_threshold,
        contamination_cosine=near_duplicate_threshold if contamination_cosine is None else contamination_cosine,
        epsilon=float(epsilon),
        seed=s,
    )
    rows: list[dict] = []
    seconds: dict[str, float] = {}
    for name in names:
        t = time.perf_counter()
        fam = REGISTRY.get(name)
        if fam.needs_labels and not ds.has_labels:
            rows.append(row(name, name, note=needs_labels_note(ds)))
        else:
            rows.extend(fam.fn(ctx))
        seconds[name] = time.perf_counter() - t
    frame = pd.DataFrame(rows, columns=list(PROFILE_COLUMNS))
    for c in ("family", "factor", "key", "text", "note"):
        frame[c] = frame[c].astype(object).fillna("").astype(str)
    frame["value"] = frame["value"].astype(np.float64)
    frame.attrs["seconds"] = seconds
    return frame


import_submodules(__name__, __path__)  # every family module registers itself

from .balance import class_balance  # noqa: E402
from .concepts import ConceptIndex, tokenize, vocabulary_size  # noqa: E402
from .coverage import coverage  # noqa: E402
from .difficulty import difficulty_profile  # noqa: E402
from .diversity import aps, class_aps, cluster_entropy, vendi_score  # noqa: E402
from .duplication import exact_duplicates, near_duplicate_rate, repetition_histogram  # noqa: E402
from .inductive_bias import (  # noqa: E402
    exact_inductive_bias,
    inductive_bias_bits,
    inductive_bias_from_errors,
    min_interclass_distance,
    task_inductive_bias_bits,
)
from .intrinsic import intrinsic_dimension  # noqa: E402
from .label_noise import label_noise  # noqa: E402
from .provenance import LicenceTerms, licence_terms, provenance_audit  # noqa: E402

__all__ = [
    "ORDER",
    "PROFILE_COLUMNS",
    "REGISTRY",
    "ConceptIndex",
    "FactorFamily",
    "LicenceTerms",
    "ProfileContext",
    "aps",
    "class_aps",
    "class_balance",
    "cluster_entropy",
    "coverage",
    "difficulty_profile",
    "exact_duplicates",
    "exact_inductive_bias",
    "family",
    "family_names",
    "inductive_bias_bits",
    "inductive_bias_from_errors",
    "intrinsic_dimension",
    "label_noise",
    "needs_labels_note",
    "licence_terms",
    "min_interclass_distance",
    "near_duplicate_rate",
    "profile",
    "provenance_audit",
    "repetition_histogram",
    "row",
    "task_inductive_bias_bits",
    "tokenize",
    "vendi_score",
    "vocabulary_size",
]
