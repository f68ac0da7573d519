"""Every script in examples/ runs and prints what it promises (in-process, so torch is imported once)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
# What each script must print: the lines a reader looks for.
EXPECTED = {
    "prune_with_el2n.py": ["EL2N median", "el2n_hardest_50", "random_50", "kept ids written to"],
    "custom_torch_model.py": ["el2n", "random 60%", "EL2N offset 60%", "OOD accuracy"],
    "learning_curve_budget.py": ["ID test: err(n) =", "OOD test: err(n) =", "at 2x", "to reach"],
}


@pytest.fixture
def one_thread():
    """One torch thread: these models are small, and a shared CI machine is busy."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_the_three_examples_exist():
    assert {p.name for p in EXAMPLES} == set(EXPECTED)


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, tmp_path, monkeypatch, capsys, one_thread):
    monkeypatch.setattr(sys, "argv", [str(path), str(tmp_path)])
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    for text in EXPECTED[path.name]:
        assert text in out, f"{path.name} did not print {text!r}:\n{out}"
    if path.name == "prune_with_el2n.py":
        assert (tmp_path / "keep_el2n_hardest_50.parquet").is_file()
