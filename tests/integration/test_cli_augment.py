"""``datafactors augment``: new rows with their provenance written to a file, bad input exits 2."""

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def spurious_csv(tmp_path):
    rng = np.random.default_rng(0)
    y = np.array(["a", "b"] * 10)
    frame = pd.DataFrame(
        {
            "core": np.round(rng.normal(size=20), 3),
            "spurious_bg": (y == "b").astype(float),  # perfectly aligned with the label
            "label": y,
        }
    )
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_targeted_reads_the_named_column_and_appends(spurious_csv, tmp_path, capsys, cli):
    path, frame = spurious_csv
    out = tmp_path / "aug.parquet"
    assert cli(["augment", path, "--name", "targeted", "--append", "--seed", "1", "--out", out]) == 0
    assert "made 20 rows with 'targeted' from 20" in capsys.readouterr().out
    got = pd.read_parquet(out)
    assert len(got) == 40 and got["id"].tolist()[:2] == ["0", "1"]
    new = got.iloc[20:]
    assert new["id"].iloc[0] == "0~targeted:0" and new["parent"].tolist() == [str(i) for i in range(20)]
    np.testing.assert_array_equal(new["core"].to_numpy(), frame["core"].to_numpy())  # label-relevant: kept
    np.testing.assert_array_equal(new["label"].to_numpy(), frame["label"].to_numpy())
    # the spurious value is the donor's: it matches the donor row of the original table
    donors = new["donor"].astype(int).to_numpy()
    np.testing.assert_array_equal(new["spurious_bg"].to_numpy(), frame["spurious_bg"].to_numpy()[donors])


def test_list_values_and_jsonl(spurious_csv, tmp_path, cli):
    path, _ = spurious_csv
    out = tmp_path / "aug.jsonl"
    argv = ["augment", path, "--name", "generic", "--param", "kind=dropout", "--param", "p=1.0", "--out", out]
    assert cli(argv) == 0
    got = pd.read_json(out, lines=True)
    assert len(got) == 20 and (got["core"] == 0).all() and (got["spurious_bg"] == 0).all()  # every column dropped


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--name", "targetd"], "Did you mean 'targeted'"),
        (["--name", "crafted", "--param", "familly=noise"], "unknown option(s) familly"),
        (["--name", "crafted", "--param", "noise"], "KEY=VALUE"),
        (["--name", "generic", "--param", "kind=dropout", "--param", "p=7"], "p =="),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(spurious_csv, tmp_path, capsys, extra, message, cli):
    path, _ = spurious_csv
    out = tmp_path / "aug.parquet"
    assert cli(["augment", path, *extra, "--out", out]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_bad_extension_and_markup_free_message(tmp_path, capsys, cli):
    assert cli(["augment", "digits", "--name", "crafted", "--out", tmp_path / "x.txt"]) == 2
    assert "unknown extension '.txt'" in capsys.readouterr().err
    # the message names its placeholders in brackets; they must reach the user
    assert cli(["augment", "digits", "--name", "targeted", "--out", tmp_path / "x.parquet"]) == 2
    assert "pass columns=[indices] or columns=[names]" in capsys.readouterr().err
