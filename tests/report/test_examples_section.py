"""The Examples section on generated run folders: views, the embedded JSON blob, its budget and escaping.

``write_examples`` writes ``examples.parquet`` and ``example_views.parquet`` (the schema the
run writes) next to a run folder from ``make_run``, for an image dataset (scikit-learn's 8x8
digits), a text corpus (generated sentences with near-duplicate clusters) and MNIST-1D-like
signals (40 floats); the browser test reuses it.
"""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_report import make_run  # tests/report is on sys.path (pytest's rootdir-relative import)

from datafactors.report import build_report
from datafactors.report._load import load_run
from datafactors.report.sections import cartography, examples

SCRIPT_TEXT = 'A text that tries to end the page: </script><script>alert("x")</script> and <!-- a comment'
WORDS = (
    "data model training example label noise pruning subset budget score margin loss gradient epoch "
    "curve error signal image text cluster duplicate outlier random strategy kept dropped easy hard"
).split()


def _sentences(rng: np.random.Generator, n: int) -> list[str]:
    out = []
    for _ in range(n):
        k = int(rng.integers(25, 60))
        out.append(" ".join(rng.choice(WORDS, k)).capitalize() + ".")
    return out


def _draw_columns(kind: str, n: int, rng: np.random.Generator) -> dict[str, list]:
    """What draws each example: pixels and shape, text, a signal, or feature values."""
    if kind == "image":
        from sklearn.datasets import load_digits

        digits = load_digits()
        px = (digits.images[:n] / 16.0).astype(np.float32)
        return dict(
            label=[str(t) for t in digits.target[:n]],
            text=[None] * n,
            pixels=[p.ravel().tolist() for p in px],
            shape=[[8, 8]] * n,
            signal=[None] * n,
            features=[None] * n,
        )
    if kind == "text":
        texts = _sentences(rng, n)
        # near-duplicate clusters: members 10-12, 40-41 and 90-93 differ from the first by one word
        for first, last in ((10, 12), (40, 41), (90, 93)):
            for i in range(first + 1, last + 1):
                texts[i] = texts[first] + f" (copy {i - first})"
        texts[5] = SCRIPT_TEXT
        return dict(
            label=[["sports", "science", "<b>politics</b>"][i % 3] for i in range(n)],
            text=texts,
            pixels=[None] * n,
            shape=[None] * n,
            signal=[None] * n,
            features=[None] * n,
        )
    if kind == "signal":
        t = np.linspace(0, 1, 40)
        sig = [
            (np.sin(2 * np.pi * (1 + i % 4) * t + i) + rng.normal(0, 0.1, 40)).astype(np.float32).tolist()
            for i in range(n)
        ]
        return dict(
            label=[str(i % 10) for i in range(n)],
            text=[None] * n,
            pixels=[None] * n,
            shape=[None] * n,
            signal=sig,
            features=[None] * n,
        )
    assert kind == "tabular"
    return dict(
        label=[str(i % 2) for i in range(n)],
        text=[None] * n,
        pixels=[None] * n,
        shape=[None] * n,
        signal=[None] * n,
        features=[json.dumps({"age": 20 + i % 50, "income": 1000.5 * i, "city": f"c{i % 7}"}) for i in range(n)],
    )


def _views(scores: pd.DataFrame, kind: str) -> pd.DataFrame:
    rows = []

    def add(view: str, title: str, ids, values, details=None) -> None:
        details = details or [None] * len(ids)
        for r, (i, v, d) in enumerate(zip(ids, values, details, strict=True)):
            rows.append(dict(view=view, title=title, rank=r, id=i, value=float(v), detail=d))

    by = scores.sort_values("el2n", ascending=False)
    add("hardest/el2n", "Hardest by EL2N", by["id"], by["el2n"])
    by = scores.sort_values("el2n")
    add("easiest/el2n", "Easiest by EL2N", by["id"], by["el2n"])
    never = scores[np.isposinf(scores["forgetting"])]
    add("never_learned", "Never learned (forgetting = +inf)", never["id"], never["forgetting"])
    hard = scores[(scores["confidence"] < 0.3)].sort_values("confidence")
    add("cartography/hard-to-learn", "Hard to learn", hard["id"], hard["confidence"])
    amb = scores.sort_values("variability", ascending=False).head(30)
    add("cartography/ambiguous", "Ambiguous", amb["id"], amb["variability"])
    issues = scores.sort_values("aum").head(12)
    add(
        "label_issues",
        "Label-issue candidates",
        issues["id"],
        np.linspace(0.05, 0.3, len(issues)),
        [
            json.dumps({"given": str(g), "predicted": str((g + 1) % 3), "label_quality": round(q, 3)})
            for g, q in zip(issues["label"], np.linspace(0.05, 0.3, len(issues)), strict=True)
        ],
    )
    if kind == "text":
        members, details = [], []
        for cid, (first, last) in enumerate(((10, 12), (40, 41), (90, 93))):
            for i in range(first, last + 1):
                members.append(f"ex-{i:03d}")
                sim = 1.0 if i == first else 0.97 - 0.01 * (i - first)
                details.append(
                    json.dumps({"cluster_id": cid, "representative_id": f"ex-{first:03d}", "similarity": sim})
                )
        add("duplicates", "Near-duplicate clusters", members, [json.loads(d)["similarity"] for d in details], details)
    out = scores.sort_values("grand", ascending=False).head(20)
    add("outliers/knn", "Most unique by kNN distance", out["id"], out["grand"])
    dropped = scores.iloc[150:165]
    add("dropped_vs_random/el2n/0.5", "Dropped by el2n at 50%, kept by random", dropped["id"], dropped["el2n"])
    return pd.DataFrame(rows)


def write_examples(run: Path, kind: str) -> dict[str, pd.DataFrame]:
    """examples.parquet (every scored example, drawn as ``kind``) and example_views.parquet for a make_run folder."""
    scores = pd.read_parquet(run / "scores.parquet")
    rng = np.random.default_rng(1)
    n = len(scores)
    draw = _draw_columns(kind, n, rng)
    score_cols = [c for c in scores.columns if c not in ("id", "label")]
    ex = pd.DataFrame(
        {
            "id": scores["id"].astype(str),
            "kind": kind,
            **draw,
            "source": [f"shard-{i % 4}" for i in range(n)],
            **{c: scores[c].to_numpy() for c in score_cols},
        }
    )
    ex = ex[["id", "label", "kind", "text", "pixels", "shape", "signal", "features", "source", *score_cols]]
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("label", pa.string()),
            ("kind", pa.string()),
            ("text", pa.string()),
            ("pixels", pa.list_(pa.float32())),
            ("shape", pa.list_(pa.int64())),
            ("signal", pa.list_(pa.float32())),
            ("features", pa.string()),
            ("source", pa.string()),
            *[(c, pa.float64()) for c in score_cols],
        ]
    )
    pq.write_table(pa.Table.from_pandas(ex, schema=schema, preserve_index=False), run / "examples.parquet")
    views = _views(scores, kind)
    views.to_parquet(run / "example_views.parquet", index=False)
    return {"examples": ex, "views": views}


def blob_of(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="ex-data">(.*?)</script>', html, re.S)
    assert m, "no examples data blob"
    return json.loads(m.group(1))


def examples_section(html: str) -> str:
    return html.split("<h2>Examples</h2>")[1].split("<h2>")[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[Path, str, dict[str, pd.DataFrame]]]:
    out = {}
    for kind in ("image", "text", "signal", "tabular"):
        run = make_run(tmp_path_factory.mktemp(kind))
        tables = write_examples(run, kind)
        out[kind] = (run, build_report(run).read_text(encoding="utf-8"), tables)
    return out


@pytest.mark.parametrize("kind", ["image", "text", "signal", "tabular"])
def test_section_lists_every_view(runs, kind):
    _, html, tables = runs[kind]
    assert html.index("<h2>Data map (dataset cartography)</h2>") < html.index("<h2>Examples</h2>")
    assert '<a href="#examples">Examples</a>' in html
    body = examples_section(html)
    for key in tables["views"]["view"].unique():
        assert f'<option value="{key}">' in body
    assert "Hardest by EL2N (200)" in body and "Never learned (forgetting = +inf) (7)" in body
    # hardest and easiest come before the data-map regions, whatever order the file lists them in
    assert body.index('value="hardest/el2n"') < body.index('value="easiest/el2n"') < body.index('value="cartography/')
    # how to get the rest
    assert f"datafactors query {runs[kind][0]} &quot;select * from examples&quot;" in body
    assert "datafactors show" in body and "df.report.examples(" in body


@pytest.mark.parametrize("kind", ["image", "text", "signal", "tabular"])
def test_blob_is_valid_and_within_budget(runs, kind):
    run, html, tables = runs[kind]
    data = blob_of(html)
    views = tables["views"]
    n_views = views["view"].nunique()
    assert [v["key"] for v in data["views"]] == examples.order_views(views["view"])
    assert len(data["examples"]) <= n_views * examples.VIEW_ROWS + examples.EXTRA_EXAMPLES
    ids = [e["id"] for e in data["examples"]]
    assert len(ids) == len(set(ids)) == 200  # 200 written, all fit
    assert data["scores"] == ["el2n", "grand", "forgetting", "confidence", "variability", "correctness", "aum"]
    assert data["others"] == ["source"]
    hardest = next(v for v in data["views"] if v["key"] == "hardest/el2n")
    assert hardest["total"] == 200 and len(hardest["rows"]) == examples.VIEW_ROWS
    expected = views[views["view"] == "hardest/el2n"].sort_values("rank")["id"].head(examples.VIEW_ROWS).tolist()
    assert [ids[r[0]] for r in hardest["rows"]] == expected
    never = next(v for v in data["views"] if v["key"] == "never_learned")
    assert {r[1] for r in never["rows"]} == {"inf"}
    e = data["examples"][ids.index("ex-000")]
    forgetting = pd.read_parquet(run / "scores.parquet").set_index("id").loc["ex-000", "forgetting"]
    assert e["s"][2] == ("inf" if np.isinf(forgetting) else forgetting)
    assert e["o"] == ["shard-0"]
    if kind == "image":
        assert all(x["n"] == [8, 8, 1] and len(base64.b64decode(x["p"])) == 64 for x in data["examples"])
        from sklearn.datasets import load_digits

        first = np.frombuffer(base64.b64decode(e["p"]), np.uint8)
        assert np.abs(first / 255 - load_digits().images[0].ravel() / 16).max() <= 0.5 / 255 + 1e-9
    if kind == "signal":
        assert all(len(base64.b64decode(x["g"][2])) == 40 for x in data["examples"])
    if kind == "text":
        dup = next(v for v in data["views"] if v["key"] == "duplicates")
        assert [r[2]["cluster_id"] for r in dup["rows"]] == [0, 0, 0, 1, 1, 2, 2, 2, 2]
    if kind == "tabular":
        assert e["f"] == {"age": 20, "income": 0.0, "city": "c0"}
    issues = next(v for v in data["views"] if v["key"] == "label_issues")
    assert set(issues["rows"][0][2]) == {"given", "predicted", "label_quality"}


def test_budget_caps_views_and_sample(tmp_path, monkeypatch):
    run = make_run(tmp_path)
    tables = write_examples(run, "signal")
    monkeypatch.setattr(examples, "VIEW_ROWS", 5)
    monkeypatch.setattr(examples, "EXTRA_EXAMPLES", 10)
    data = blob_of(build_report(run).read_text(encoding="utf-8"))
    views = tables["views"]
    listed = set(views.sort_values("rank").groupby("view").head(5)["id"])
    ids = [e["id"] for e in data["examples"]]
    assert all(len(v["rows"]) <= 5 for v in data["views"])
    assert len(ids) == len(listed) + 10 <= views["view"].nunique() * 5 + 10
    assert set(ids[: len(listed)]) == listed and data["n_listed"] == len(listed)
    assert data["n_examples"] == 200
    # the sample is seeded: the same page twice
    again = blob_of(build_report(run).read_text(encoding="utf-8"))
    assert [e["id"] for e in again["examples"]] == ids


def test_texts_are_escaped(runs):
    _, html, _ = runs["text"]
    assert SCRIPT_TEXT not in html and 'alert("x")' not in html
    body = examples_section(html)
    # the section holds exactly two script elements: the data and the code
    assert body.count("<script") == 2 and body.count("</script>") == 2
    data = blob_of(html)
    texts = {e["id"]: e["t"] for e in data["examples"]}
    assert texts["ex-005"] == SCRIPT_TEXT
    assert {e["l"] for e in data["examples"]} == {"sports", "science", "<b>politics</b>"}
    assert "<b>politics</b>" not in body


def test_no_tables_no_section(tmp_path):
    run = make_run(tmp_path)
    html = build_report(run).read_text(encoding="utf-8")
    assert "<h2>Examples</h2>" not in html and 'href="#examples"' not in html and 'id="ex-data"' not in html
    assert load_run(run).examples is None


def test_examples_without_views(tmp_path):
    run = make_run(tmp_path)
    write_examples(run, "text")
    (run / "example_views.parquet").unlink()
    html = build_report(run).read_text(encoding="utf-8")
    body = examples_section(html)
    assert "example_views.parquet is missing" in body
    data = blob_of(html)
    assert data["views"] == [] and len(data["examples"]) == 200


def test_unreadable_examples_is_a_note(tmp_path):
    run = make_run(tmp_path)
    (run / "examples.parquet").write_bytes(b"not parquet")
    html = build_report(run).read_text(encoding="utf-8")
    assert "examples.parquet could not be read" in examples_section(html)
    assert 'id="ex-data"' not in html


def test_view_rows_for_unwritten_examples_are_left_out(tmp_path):
    run = make_run(tmp_path)
    tables = write_examples(run, "signal")
    ex = tables["examples"]
    ex[ex["id"] != "ex-000"].to_parquet(run / "examples.parquet", index=False)
    data = blob_of(build_report(run).read_text(encoding="utf-8"))
    assert "ex-000" not in {e["id"] for e in data["examples"]}
    assert all(max((r[0] for r in v["rows"]), default=0) < len(data["examples"]) for v in data["views"])


def test_data_map_carries_ids_and_caps_points(tmp_path, monkeypatch):
    run = make_run(tmp_path)
    tables = write_examples(run, "image")
    html = build_report(run).read_text(encoding="utf-8")
    chunk = html.split('id="fig-cartography"')[1].split("</script>")[0]
    assert '"ids":["ex-000","ex-001"' in chunk
    assert "Click a point to open the example" in html
    monkeypatch.setattr(cartography, "MAX_POINTS", 60)
    monkeypatch.setattr(examples, "VIEW_ROWS", 3)
    monkeypatch.setattr(examples, "EXTRA_EXAMPLES", 0)
    loaded = load_run(run)
    drawn = cartography.drawn_rows(loaded, loaded.scores)
    listed = set(tables["views"].sort_values("rank").groupby("view").head(3)["id"])
    assert len(drawn) == 60 and listed <= set(drawn["id"])
    assert drawn.index.is_monotonic_increasing  # drawn in the table's order
    body = cartography.cartography_html(loaded)
    assert "The map draws 60 of 200 examples (at most 60)" in body


def _run_100k(root: Path, n: int = 100_000) -> Path:
    """A make_run folder with n scored examples (MNIST-1D-like signals) and views of n rows in all."""
    run = make_run(root)
    rng = np.random.default_rng(0)
    ids = pa.array([f"ex-{i:06d}" for i in range(n)])
    forgetting = rng.integers(0, 5, n).astype(float)
    forgetting[:500] = np.inf
    scores = {
        "el2n": rng.random(n),
        "grand": rng.random(n) * 3,
        "forgetting": forgetting,
        "confidence": rng.random(n),
        "variability": rng.random(n) * 0.4,
        "correctness": rng.integers(0, 6, n) / 5,
        "aum": rng.normal(size=n),
    }
    labels = rng.integers(0, 10, n)
    pq.write_table(
        pa.table({"id": ids, "label": labels, **scores}),
        run / "scores.parquet",
    )
    sig = (np.sin(np.linspace(0, 6, 40))[None, :] + rng.normal(0, 0.2, (n, 40))).astype(np.float32)
    none_str = pa.nulls(n, pa.string())
    table = pa.table(
        {
            "id": ids,
            "label": pa.array([str(x) for x in labels]),
            "kind": pa.array(["signal"] * n),
            "text": none_str,
            "pixels": pa.nulls(n, pa.list_(pa.float32())),
            "shape": pa.nulls(n, pa.list_(pa.int64())),
            "signal": pa.ListArray.from_arrays(pa.array(np.arange(0, 40 * n + 1, 40, dtype=np.int32)), sig.ravel()),
            "features": none_str,
            "source": pa.array([f"shard-{i % 16}" for i in range(n)]),
            **scores,
        }
    )
    pq.write_table(table, run / "examples.parquet")
    order = np.argsort(-scores["el2n"])
    parts = [
        ("hardest/el2n", "Hardest by EL2N", order[:30_000], scores["el2n"]),
        ("easiest/el2n", "Easiest by EL2N", order[::-1][:30_000], scores["el2n"]),
        ("outliers/knn", "Most unique by kNN", np.argsort(-scores["grand"])[:20_000], scores["grand"]),
        ("dropped_vs_random/el2n/0.5", "Dropped by el2n at 50%", rng.permutation(n)[:10_000], scores["el2n"]),
        ("kept_vs_random/el2n/0.5", "Kept by el2n at 50%", rng.permutation(n)[:9_500], scores["el2n"]),
        ("never_learned", "Never learned", np.arange(500), forgetting),
    ]
    views = pd.concat(
        [
            pd.DataFrame(
                dict(
                    view=k,
                    title=t,
                    rank=np.arange(len(idx)),
                    id=[f"ex-{i:06d}" for i in idx],
                    value=v[idx],
                    detail=None,
                )
            )
            for k, t, idx, v in parts
        ],
        ignore_index=True,
    )
    assert len(views) == n
    views.to_parquet(run / "example_views.parquet", index=False)
    return run


@pytest.fixture(scope="session")
def run_100k(tmp_path_factory) -> tuple[Path, Path, float]:
    """The 100k-row run folder, its report and the seconds build_report took."""
    run = _run_100k(tmp_path_factory.mktemp("big"))
    t0 = time.perf_counter()
    report = build_report(run)
    return run, report, time.perf_counter() - t0


@pytest.mark.slow
def test_100k_run_stays_under_25_mb(run_100k):
    run, report, seconds = run_100k
    size = report.stat().st_size
    print(f"\n100k-example report: {size / 1e6:.2f} MB, built in {seconds:.1f} s")
    assert size < 25e6
    html = report.read_text(encoding="utf-8")
    data = blob_of(html)
    n_views = len(data["views"])
    assert len(data["examples"]) <= n_views * examples.VIEW_ROWS + examples.EXTRA_EXAMPLES
    assert data["n_examples"] == 100_000
    assert "The map draws 5,000 of 100,000 examples" in html
    chunk = html.split('id="fig-cartography"')[1].split("</script>")[0]
    drawn = set(re.search(r'"ids":\[(.*?)\]', chunk).group(1).replace('"', "").split(","))
    assert len(drawn) == cartography.MAX_POINTS
    listed = {data["examples"][r[0]]["id"] for v in data["views"] for r in v["rows"]}
    assert listed <= drawn
