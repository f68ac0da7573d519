"""The text options and the curated export on the command line (fast cases: no encoder unless marked slow)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import datafactors as df
from datafactors._errors import ConfigError
from datafactors.experiment.commands import embedding_note
from datafactors.experiment.config import config_from_dict


@pytest.fixture
def numeric_csv(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "x1": np.round(rng.normal(size=40), 3),
            "x2": np.round(rng.normal(size=40), 3),
            "note": [f"row {i}" for i in range(40)],
            "label": ["a", "b"] * 20,
        }
    )
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_select_needs_out_or_export(numeric_csv, capsys, cli):
    path, _ = numeric_csv
    assert cli(["select", path, "--strategy", "random", "--budget", "5"]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "--export" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_select_export_with_scores_and_selection_join_by_id(numeric_csv, tmp_path, capsys, cli):
    path, frame = numeric_csv
    scores = tmp_path / "scores.parquet"
    pd.DataFrame({"id": [str(i) for i in range(40)], "el2n": np.arange(40) / 40}).to_parquet(scores)
    kept, sel = tmp_path / "kept.csv", tmp_path / "sel.parquet"
    argv = ["select", path, "--strategy", "hardest", "--score", "el2n", "--scores", scores, "--budget", "4"]
    assert cli([*argv, "--export", kept, "--with-scores", "--out", sel]) == 0
    assert "kept 4 of 40" in capsys.readouterr().out
    back = pd.read_csv(kept)
    assert list(back.columns) == ["id", "x1", "x2", "note", "label", "el2n"]
    assert back["id"].tolist() == [36, 37, 38, 39]  # the hardest four, in input order
    assert back["note"].tolist() == ["row 36", "row 37", "row 38", "row 39"]
    assert back["x1"].tolist() == frame["x1"].iloc[36:].tolist()
    assert back["el2n"].tolist() == [0.9, 0.925, 0.95, 0.975]
    selection = pd.read_parquet(sel)
    assert selection["id"].tolist() == ["39", "38", "37", "36"]  # pick order: hardest first
    # --order pick follows the selection file's rank
    assert cli([*argv, "--export", kept, "--order", "pick"]) == 0
    assert pd.read_csv(kept)["id"].tolist() == [39, 38, 37, 36]


def test_with_scores_needs_scores_and_export(numeric_csv, tmp_path, capsys, cli):
    path, _ = numeric_csv
    argv = ["select", path, "--strategy", "random", "--budget", "5", "--with-scores", "--export", tmp_path / "k.csv"]
    assert cli(argv) == 2
    assert "--with-scores" in capsys.readouterr().err
    assert not (tmp_path / "k.csv").exists()


def test_export_bad_extension_writes_nothing(numeric_csv, tmp_path, capsys, cli):
    path, _ = numeric_csv
    argv = ["select", path, "--strategy", "random", "--budget", "5", "--export", tmp_path / "k.xlsx"]
    assert cli([*argv, "--out", tmp_path / "sel.parquet"]) == 2
    assert "unknown extension '.xlsx'" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]


def test_non_filter_without_budget_is_one_error(numeric_csv, tmp_path, capsys, cli):
    path, _ = numeric_csv
    assert cli(["select", path, "--strategy", "kcenter", "--out", tmp_path / "s.parquet"]) == 2
    err = capsys.readouterr().err
    assert "needs a budget" in err and "Traceback" not in err


def test_export_of_a_shard_folder_gives_one_shard_per_input_shard(tmp_path, capsys, cli):
    pool = tmp_path / "pool"
    (pool / "b").mkdir(parents=True)
    pd.DataFrame({"x": [0.5, 1.5, 2.5], "tag": ["p", "q", "r"], "label": [0, 1, 0]}).to_parquet(pool / "a.parquet")
    pd.DataFrame({"x": [3.5, 4.5], "tag": ["s", "t"], "label": [1, 0]}).to_parquet(pool / "b" / "c.parquet")
    out = tmp_path / "kept"
    assert cli(["select", pool, "--strategy", "random", "--budget", "5", "--export", out]) == 0
    a, c = pd.read_parquet(out / "a.parquet"), pd.read_parquet(out / "b" / "c.parquet")
    assert a["tag"].tolist() == ["p", "q", "r"] and c["tag"].tolist() == ["s", "t"]
    assert c["id"].tolist() == [3, 4]  # row numbers across the folder, as the reader numbers them
    assert cli(["select", pool, "--strategy", "random", "--budget", "2", "--export", tmp_path / "k.jsonl"]) == 2
    assert "export is a folder too" in capsys.readouterr().err


def test_profile_text_no_embed_counts_without_encoding(numeric_csv, capsys, cli):
    path, _ = numeric_csv
    assert cli(["profile", path, "--text", "note", "--no-embed", "--families", "size", "-q"]) == 0
    captured = capsys.readouterr()
    assert "encoder" not in captured.err
    assert "Profile of data.csv" in captured.out


def test_embed_is_a_deprecated_alias_of_text(numeric_csv, capsys, cli):
    path, _ = numeric_csv
    assert cli(["profile", "mnist1d", "--embed", "text", "-q"]) == 2
    err = capsys.readouterr().err
    assert "--embed is deprecated; use --text text" in err
    assert "built-in without text" in err
    assert cli(["profile", path, "--embed", "note", "--text", "label", "-q"]) == 2
    assert "name different columns" in capsys.readouterr().err


def test_text_on_a_builtin_and_text_as_label_are_errors(tmp_path, capsys, cli):
    assert cli(["select", "digits", "--text", "t", "--strategy", "random", "--budget", "3", "--out", "x.parquet"]) == 2
    assert "built-in without text" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="text: .*'mnist1d' is a built-in without text"):
        config_from_dict({"text": "text"})
    with pytest.raises(ConfigError, match="text and label both name column 'body'"):
        config_from_dict({"dataset": "c.jsonl", "text": "body", "label": "body"})
    assert config_from_dict({"dataset": "c.jsonl", "text": "body"}).text == "body"


def test_embedding_note_states_encoder_truncation_and_cache():
    meta = {"encoder": "m", "revision": "r1", "max_seq_length": 128, "n_truncated": 3, "n_cached": 7,
            "n_encoded": 0, "seconds": 0.0}  # fmt: skip
    assert (
        embedding_note(meta)
        == "encoder m (revision r1), max 128 tokens: 3 of 7 texts truncated; 7 from the cache, 0 encoded"
    )
    assert embedding_note(None) is None


def test_select_without_budget_keeps_every_passing_row_of_a_filter(tmp_path, cli):
    frame = pd.DataFrame({"x": [1.0, 2.0, 1.0, 3.0, 2.0], "label": [0, 1, 0, 1, 1], "tag": list("abcde")})
    frame.to_csv(tmp_path / "d.csv", index=False)
    kept = tmp_path / "kept.jsonl"
    assert cli(["select", tmp_path / "d.csv", "--strategy", "exact_dedup", "--export", kept]) == 0
    rows = [json.loads(s) for s in kept.read_text().splitlines()]
    assert [r["tag"] for r in rows] == ["a", "b", "d"]  # the first of each duplicate row, input order


def test_profile_contamination_thresholds_from_thecli(tmp_path, capsys, cli):
    """--minhash-threshold decides which test texts count as leaked; out of (0, 1] is exit 2."""
    base = " ".join(f"w{i}" for i in range(40))
    train = pd.DataFrame({"x": [0.0, 1.0], "text": [base, "alpha beta gamma delta epsilon zeta eta theta iota kappa"]})
    # One word of 40 changed: exact Jaccard 31/41 = 0.76 of the word 5-gram shingles (estimate 0.66).
    test = pd.DataFrame({"x": [0.5, 2.0], "text": [base.replace("w20", "changed"), "other words in this test row"]})
    train.to_json(tmp_path / "train.jsonl", orient="records", lines=True)
    test.to_json(tmp_path / "test.jsonl", orient="records", lines=True)

    def rate(threshold):
        out = tmp_path / f"p{threshold}.parquet"
        argv = ["profile", tmp_path / "train.jsonl", "--test", tmp_path / "test.jsonl", "--text", "text",
                "--no-embed", "--families", "contamination", "--minhash-threshold", threshold, "--out", out, "-q"]  # fmt: skip
        assert cli(argv) == 0
        prof = pd.read_parquet(out)
        return float(prof.loc[prof["factor"] == "contamination_rate", "value"].iloc[0])

    assert rate(0.5) == 0.5 and rate(0.9) == 0.0
    assert cli(["profile", tmp_path / "train.jsonl", "--text", "text", "--minhash-threshold", "1.5", "-q"]) == 2
    assert "minhash_threshold == 1.5, must be a number in (0, 1]" in capsys.readouterr().err


def test_select_out_in_a_text_format_writes_the_selection_and_says_so(tmp_path, capsys, cli):
    base = " ".join(f"w{i}" for i in range(30))
    pd.DataFrame({"text": [base, base.upper(), "a different document about other things entirely"]}).to_json(
        tmp_path / "c.jsonl", orient="records", lines=True
    )
    out = tmp_path / "kept.jsonl"
    assert cli(["select", tmp_path / "c.jsonl", "--text", "text", "--strategy", "minhash_dedup", "--out", out]) == 0
    assert pd.read_json(out, lines=True).to_dict("list") == {"id": [0, 2], "index": [0, 2], "rank": [0, 1]}
    assert "--export FILE writes the kept rows themselves" in capsys.readouterr().err
    assert cli(["select", tmp_path / "c.jsonl", "--text", "text", "--strategy", "minhash_dedup",
                 "--out", tmp_path / "kept.txt"]) == 2  # fmt: skip
    assert "--out" in capsys.readouterr().err


def test_text_backend_option_reaches_the_encoder(tmp_path, capsys, cli):
    """--text-backend names the encoder runtime; an unknown one is exit 2 naming the known ones."""
    pd.DataFrame({"text": ["one text here", "another text there", "a third one"], "label": [0, 1, 0]}).to_json(
        tmp_path / "c.jsonl", orient="records", lines=True
    )
    argv = ["profile", tmp_path / "c.jsonl", "--text", "text", "--families", "size", "-q"]
    assert cli([*argv, "--text-backend", "tf"]) == 2
    assert "backend == 'tf', must be one of 'torch', 'onnx', 'torch-bf16'" in capsys.readouterr().err
    ds = df.load(str(tmp_path / "c.jsonl"), text="text", backend="torch-bf16")
    assert ds.embedding["backend"] == "torch-bf16" and ds.X.shape == (3, 384)
