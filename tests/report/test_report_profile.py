"""The report's "Dataset profile" section, from a run folder's profile.parquet."""

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors.report import build_report
from datafactors.report._load import load_run
from datafactors.report.sections.profile import profile_html


@pytest.fixture(scope="module")
def profile_frame():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], [30, 10])
    X = rng.normal(size=(40, 3)) + y[:, None]
    extra = pd.DataFrame({"licence": ["CC-BY-NC-4.0"] * 5 + ["MIT"] * 35})
    ds = df.Dataset.from_arrays(X, y, extra=extra, class_names=["no", "yes"], name="toy")
    return df.factors.profile(ds, families=["size", "balance", "duplication", "provenance"])


def test_section_in_report_with_headline_and_details(tmp_path, profile_frame):
    profile_frame.to_parquet(tmp_path / "profile.parquet")
    html = (build_report(tmp_path)).read_text()
    assert '<section id="profile"><h2>Dataset profile</h2>' in html
    assert 'href="#profile"' in html
    body = html[html.index('<section id="profile">') :]
    body = body[: body.index("</section>")]
    assert '<td class="text">Training examples</td><td>40</td>' in body
    assert "Largest / smallest class</td><td>3.0000" in body
    assert "Combined licence use class</td><td>non-commercial" in body
    assert "Exact duplicates</td><td>0.0%" in body
    assert body.count("<details>") == 4  # one table per family
    assert "provenance: " in body and "not computed: the dataset has no groups" in body


def test_missing_and_broken_profile_are_notes(tmp_path):
    assert "profile.parquet is missing" in profile_html(load_run(tmp_path))
    (tmp_path / "profile.parquet").write_bytes(b"not parquet")
    assert "could not be read" in profile_html(load_run(tmp_path))
    pd.DataFrame({"factor": ["x"]}).to_parquet(tmp_path / "profile.parquet")
    assert "lacks the column(s) family, key, value" in profile_html(load_run(tmp_path))


def test_values_are_escaped(tmp_path):
    pd.DataFrame(
        {"family": ["f"], "factor": ["<b>x</b>"], "key": [""], "value": [1.0], "text": ["<i>"], "note": ["a & b"]}
    ).to_parquet(tmp_path / "profile.parquet")
    out = profile_html(load_run(tmp_path))
    assert "&lt;b&gt;x&lt;/b&gt;" in out and "a &amp; b" in out and "<b>x</b>" not in out
