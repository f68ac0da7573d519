"""The "Dataset profile" section: the dataset-level factors of the training set (profile.parquet).

A headline table picks the factors a reader looks at first (size, balance,
duplication, diversity, difficulty of the task, novelty of the test set, label
noise, licence terms); every row of the profile follows, one collapsible table
per family, with the note saying how each number was computed.
"""

from __future__ import annotations

import math

import pandas as pd

from .._html import esc, fmt_int, fmt_num, fmt_pct, missing, note, table
from .._load import RunData

PROFILE_FILE = "profile.parquet"
REQUIRED = ("family", "factor", "key", "value")

# (factor, key or None for the first row of the factor, label, format)
HEADLINE = (
    ("n_examples", "", "Training examples", "int"),
    ("n_classes", "", "Classes", "int"),
    ("class_entropy_normalized", "", "Class balance (normalised entropy, 1 = balanced)", "num"),
    ("class_imbalance_ratio", "", "Largest / smallest class", "num"),
    ("exact_duplicate_rate", "", "Exact duplicates", "pct"),
    ("near_duplicate_rate", None, "Near duplicates (cosine ≥ threshold)", "pct"),
    ("vendi_score", "", "Vendi score (effective number of distinct examples)", "num"),
    ("aps", "", "Average pairwise cosine (lower = more diverse)", "num"),
    ("cluster_entropy_normalized", "", "Cluster entropy (normalised)", "num"),
    ("intrinsic_dimension", "", "Intrinsic dimension (MLE, k = 5)", "num"),
    ("inductive_bias_log10_bits", "", "Inductive bias needed, log10 bits (Boopathy et al.)", "num"),
    ("exact_inductive_bias_nats", "", "Exact inductive bias (nats)", "num"),
    ("novelty_share", "", "Test points far from every training point", "pct"),
    ("test_train_overlap", "", "Test points identical to a training point", "pct"),
    ("label_noise_rate", "", "Estimated label noise (cleanlab)", "pct"),
    ("combined_use", "", "Combined licence use class", "text"),
)


def _fmt(value: float, kind: str) -> str:
    if kind == "int":
        return fmt_int(value)
    if kind == "pct":
        return fmt_pct(value)
    return fmt_num(value, 4 if abs(value) < 10 else 2) if not math.isnan(value) else "—"


def read_profile(run: RunData) -> tuple[pd.DataFrame | None, str]:
    """The run's profile table, or None and the reason it is unavailable."""
    path = run.run_dir / PROFILE_FILE
    if not path.is_file():
        return None, f"{PROFILE_FILE} is missing from the run folder (runs made before profiles were added lack it)."
    try:
        prof = pd.read_parquet(path)
    except Exception as e:  # pyarrow raises many types for corrupt files
        return None, f"{PROFILE_FILE} could not be read: {type(e).__name__}: {e}"
    lacking = [c for c in REQUIRED if c not in prof.columns]
    if lacking:
        return None, f"{PROFILE_FILE} lacks the column(s) {', '.join(lacking)}."
    for c in ("text", "note"):
        if c not in prof.columns:
            prof[c] = ""
    prof = prof.fillna({"key": "", "text": "", "note": ""})
    prof["value"] = pd.to_numeric(prof["value"], errors="coerce")
    return prof, ""


def _headline(prof: pd.DataFrame) -> str:
    rows = []
    for factor, key, label, kind in HEADLINE:
        sub = prof[prof["factor"] == factor]
        if key is not None:
            sub = sub[sub["key"].astype(str) == key]
        if sub.empty:
            continue
        r = sub.iloc[0]
        if kind == "text":
            cell = esc(r["text"]) if str(r["text"]) else "—"
        elif math.isnan(r["value"]):
            cell = "—"
        else:
            cell = _fmt(float(r["value"]), kind)
        shown_label = label + (f" ({esc(r['key'])})" if key is None and str(r["key"]) else "")
        rows.append([esc(shown_label), cell, esc(r["note"])])
    if not rows:
        return missing("The profile holds none of the headline factors.")
    return table(["Factor", "Value", "How it was computed"], rows, text_cols=(0, 2))


def profile_html(run: RunData) -> str:
    prof, why = read_profile(run)
    if prof is None:
        return missing(why)
    if prof.empty:
        return missing(f"{PROFILE_FILE} is empty.")
    out = [
        note(
            "Dataset-level factors of the training set (<code>datafactors.factors.profile</code>). "
            "A dash means the factor does not apply here; its note says why."
        ),
        _headline(prof),
    ]
    for fam, g in prof.groupby("family", sort=False):
        rows = []
        for r in g.itertuples(index=False):
            v = r.value
            rows.append(
                [esc(r.factor), esc(r.key), "—" if math.isnan(v) else esc(f"{v:.4g}"), esc(r.text), esc(r.note)]
            )
        out.append(
            f"<details><summary>{esc(fam)}: {len(g)} row{'s' if len(g) != 1 else ''}</summary>"
            + table(["Factor", "Key", "Value", "Text", "Note"], rows, text_cols=(0, 1, 3, 4))
            + "</details>"
        )
    return "\n".join(out)
