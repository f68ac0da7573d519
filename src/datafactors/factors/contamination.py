"""Contamination: evaluation rows with a near-duplicate in the training set; MinHash duplicates of text.

With a test set, every test row that has a near-duplicate among the training rows is
counted and listed (MinHash estimated Jaccard >= ``minhash_threshold`` when both sides
have text, else cosine >= ``contamination_cosine`` on the vectors); see
:func:`datafactors.select.decontaminate.contaminated_rows`. With text, the training
set's own near-duplicate rate by MinHash is reported too. The thresholds are
:func:`datafactors.factors.profile`'s ``minhash_threshold`` (default 0.8) and
``contamination_cosine`` (default its ``near_duplicate_threshold``, 0.95), checked there to
lie in (0, 1]; a pair exactly at the threshold counts. The one used for the test rows is
the ``contamination_threshold`` row (key ``minhash`` or ``cosine``), and every note names it.
"""

from __future__ import annotations

import numpy as np

from .._errors import DataError
from . import family, row
from ._context import ProfileContext

FAMILY = "contamination"
LISTED = 100  # eval rows listed one per profile row


def _train_texts(ctx: ProfileContext) -> list[str] | None:
    if ctx.texts is not None:
        return list(ctx.texts)
    if getattr(ctx.ds, "text_column", None) is not None:
        return ctx.ds.texts("the contamination factors")
    return None


def _test_texts(ctx: ProfileContext) -> list[str] | None:
    t = ctx.test
    if t is None:
        return None
    col = ctx.text_col or getattr(t, "text_column", None)
    if col is not None and t.extra is not None and col in t.extra.columns:
        values = t.extra[col]
        if values.isna().any():
            return None
        return [str(v) for v in values]
    return None


@family(FAMILY, description="test rows near-duplicating a training row (MinHash or cosine); MinHash duplicate rate")
def contamination(ctx: ProfileContext) -> list[dict]:
    from ..select.decontaminate import contaminated_rows
    from ..select.minhash import check_minhash_params, components, minhash_signatures, verified_pairs

    jt, ct = float(ctx.minhash_threshold), float(ctx.contamination_cosine)
    rows: list[dict] = []
    texts = _train_texts(ctx)
    if texts is not None:
        p = check_minhash_params(threshold=jt)
        sig = minhash_signatures(texts, seed=p["seed"])
        lab = components(len(texts), verified_pairs(sig, p))
        counts = np.bincount(lab)
        in_cluster = counts[lab] >= 2
        note = f"MinHash word 5-grams, 128 permutations, 16 x 8 bands, estimated Jaccard >= {jt:g}"
        rows.append(
            row(
                FAMILY,
                "minhash_near_duplicate_rate",
                float(in_cluster.mean()),
                note=f"share of rows with a near-duplicate in the training set; {note}",
            )
        )
        rows.append(
            row(
                FAMILY,
                "minhash_removable_share",
                (len(texts) - len(counts)) / len(texts),
                note=f"share of rows minhash_dedup drops (one kept per cluster); {note}",
            )
        )
    if ctx.test is None:
        rows.append(row(FAMILY, "contaminated_test_rows", note="not computed: no test set given"))
        return rows
    test_texts = _test_texts(ctx)
    try:
        if texts is not None and test_texts is not None:
            method, threshold = "minhash", jt
            pairs = contaminated_rows(texts, test_texts, method="minhash", threshold=jt)
            how = f"MinHash estimated Jaccard >= {jt:g}"
        else:
            method, threshold = "cosine", ct
            pairs = contaminated_rows(ctx.X, ctx.test_X, method="cosine", cosine_threshold=ct)
            how = f"cosine >= {ct:g} on the vectors"
    except DataError as e:
        rows.append(row(FAMILY, "contaminated_test_rows", note=f"not computed: {e}"))
        return rows
    setting = "minhash_threshold" if method == "minhash" else "contamination_cosine"
    rows.append(
        row(
            FAMILY,
            "contamination_threshold",
            threshold,
            key=method,
            note=f"a test row is contaminated when a training row has {how} (profile's {setting})",
        )
    )
    train_ids = np.asarray(ctx.ds.ids).astype(str)
    test_ids = np.asarray(ctx.test.ids).astype(str)
    ev = pairs["eval_id"].astype(int).to_numpy()
    tr = pairs["train_id"].astype(int).to_numpy()
    hit = np.unique(ev)
    listed = ", ".join(test_ids[hit[:20]]) + (" ..." if len(hit) > 20 else "")
    rows.append(
        row(
            FAMILY,
            "contaminated_test_rows",
            len(hit),
            note=f"test rows with a near-duplicate training row ({how})" + (f": {listed}" if len(hit) else ""),
        )
    )
    rows.append(
        row(
            FAMILY,
            "contamination_rate",
            len(hit) / ctx.test.n,
            note=f"share of the {ctx.test.n} test rows with a near-duplicate training row ({how})",
        )
    )
    best = {}
    for e, t, s in zip(ev, tr, pairs["similarity"].to_numpy(), strict=True):
        if e not in best or s > best[e][1]:
            best[e] = (t, s)
    for e in hit[:LISTED]:
        t, s = best[e]
        rows.append(
            row(
                FAMILY,
                "contaminated_test_row",
                s,
                key=test_ids[e],
                text=train_ids[t],
                note=f"similarity to training row {train_ids[t]} ({how})",
            )
        )
    return rows
