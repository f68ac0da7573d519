"""The closing summary of `datafactors run`: full strategy names at 80 columns, no winner crowned in a tie."""

from __future__ import annotations

import pandas as pd
from rich.console import Console

from datafactors._printing import print_summary

NAMES = ["balanced_forgetting_hardest", "forgetting_easiest", "el2n_easiest", "random"]


def _render(frame: pd.DataFrame, width: int = 80) -> str:
    console = Console(width=width, record=True, color_system=None)
    print_summary(frame, "20261126-101500-ab12cd", console)
    return console.export_text()


def test_every_full_name_fits_an_80_column_terminal_and_ties_say_all_equal():
    frame = pd.DataFrame(
        {
            "budget": [0.1, 0.1, 0.5, 0.5, 1.0, 1.0],
            "eval_set": ["id_test", "ood_test"] * 3,
            "best": ["balanced_forgetting_hardest", "forgetting_easiest", "el2n_easiest", "random", None, None],
            "accuracy": [0.71, 0.52, 0.8, 0.61, 0.9, 0.7],
            "random": [0.65, 0.5, 0.78, 0.61, 0.9, 0.7],
        }
    )
    text = _render(frame)
    assert max(len(line) for line in text.splitlines()) <= 80
    for name in NAMES:
        assert name in text, text
    assert "…" not in text
    lines = [line for line in text.splitlines() if "100%" in line]
    assert len(lines) == 2 and all("all equal" in line for line in lines), text
    assert "0.710" in text and "0.650" in text


def test_a_name_too_long_for_the_terminal_gets_a_key_and_a_legend():
    long = "balanced_forgetting_hardest_with_class_balance_and_dedup_first"
    frame = pd.DataFrame({"budget": [0.1], "eval_set": ["id_test"], "best": [long], "accuracy": [0.7], "random": [0.6]})
    text = _render(frame)
    assert f"S1 = {long}" in text
    assert max(len(line) for line in text.splitlines()) <= 80
