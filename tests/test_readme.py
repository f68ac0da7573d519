"""What README.md and docs/ show must work: every CLI line parses, configs validate, code compiles, links exist.

CLI lines are parsed by the real Typer/click command tree without running them (lines with
``--help`` are run: they only print). The README's Python example is run (slow).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main
import yaml
from typer.testing import CliRunner

from datafactors.cli import app
from datafactors.experiment.config import config_from_dict

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```", re.S | re.M)


def _blocks(path: Path) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(path.read_text(encoding="utf-8"))]


def _shell_lines(paths: list[Path]) -> list[tuple[str, str]]:
    out = []
    for p in paths:
        for lang, body in _blocks(p):
            if lang in ("", "bash", "sh", "console", "shell"):
                out += [(p.name, ln.strip()) for ln in body.splitlines() if ln.strip()]
    return out


CLI_LINES = [(f, ln) for f, ln in _shell_lines([README, *DOCS]) if ln.startswith("datafactors")]
MAKE_LINES = [(f, ln) for f, ln in _shell_lines([README, *DOCS]) if ln.startswith("make ")]


def _is_group(cmd) -> bool:
    return hasattr(cmd, "list_commands")


def _context(cmd, name: str, parent=None):
    # Typer ships its own copy of click, so build contexts from the command's own class.
    return cmd.context_class(cmd, info_name=name, parent=parent)


def _parse(argv: list[str]) -> None:
    """Resolve the sub-command chain and parse its options the way click would, without invoking it."""
    cmd = typer.main.get_command(app)
    ctx = _context(cmd, "datafactors")
    while _is_group(cmd):
        assert argv, f"{cmd.name or 'datafactors'} needs a sub-command"
        name, argv = argv[0], argv[1:]
        sub = cmd.get_command(ctx, name)
        assert sub is not None, f"no command {name!r}; known: {', '.join(cmd.list_commands(ctx))}"
        cmd = sub
        ctx = _context(cmd, name, ctx)
    with cmd.make_context(ctx.info_name, list(argv), parent=ctx.parent) as _:
        pass


def test_readme_shows_the_cli():
    assert len(CLI_LINES) >= 10
    commands = {ln.split()[1] for _, ln in CLI_LINES if len(ln.split()) > 1}
    assert {"run", "profile", "score", "select", "split", "report", "query", "recipes"} <= commands


@pytest.mark.parametrize(("where", "line"), CLI_LINES, ids=[f"{f}:{ln[:60]}" for f, ln in CLI_LINES])
def test_cli_line_parses(where, line):
    argv = shlex.split(line, comments=True)[1:]
    if "--help" in argv:
        res = CliRunner().invoke(app, argv)
        assert res.exit_code == 0 and "Usage" in res.output, res.output
        assert "Example" in res.output or argv == ["--help"], f"{line}: --help shows no example"
        return
    try:
        _parse(argv)
    except Exception as e:  # click's UsageError / BadParameter, from Typer's copy of click
        if not hasattr(e, "format_message"):
            raise
        pytest.fail(f"{where}: `{line}` does not parse: {e.format_message()}")


def test_every_command_help_has_an_example():
    root = typer.main.get_command(app)
    ctx = _context(root, "datafactors")
    stack = [(root, ctx, [])]
    seen = 0
    while stack:
        cmd, c, path = stack.pop()
        for name in cmd.list_commands(c):
            sub = cmd.get_command(c, name)
            if _is_group(sub):
                stack.append((sub, _context(sub, name, c), [*path, name]))
                continue
            res = CliRunner().invoke(app, [*path, name, "--help"])
            assert res.exit_code == 0, res.output
            assert "Example" in res.output, f"`datafactors {' '.join([*path, name])} --help` shows no example"
            seen += 1
    assert seen >= 9


@pytest.mark.parametrize(("where", "line"), MAKE_LINES, ids=[ln for _, ln in MAKE_LINES])
def test_make_targets_exist(where, line):
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    target = shlex.split(line, comments=True)[1]
    assert target in targets, f"{where}: `{line}` names no Makefile target"


def test_yaml_blocks_are_valid_run_configs():
    blocks = [body for lang, body in _blocks(README) if lang == "yaml"]
    assert blocks
    for body in blocks:
        config_from_dict(yaml.safe_load(body), " (README yaml block)")


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_python_blocks_compile_and_links_exist(path):
    for lang, body in _blocks(path):
        if lang == "python":
            compile(body, f"{path.name} python block", "exec")
    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)\)", text):
        if not target.startswith(("http://", "https://")):
            assert (path.parent / target).exists(), f"{path.name} links to missing {target}"


def test_docs_cover_every_family():
    names = {p.stem for p in DOCS}
    assert {"scores", "select", "splits", "factors", "metrics", "scaling", "learners", "recipes", "engines"} <= names


@pytest.mark.slow
def test_readme_python_example_runs(capsys):
    import torch

    (body,) = [body for lang, body in _blocks(README) if lang == "python"]
    assert len(body.strip().splitlines()) <= 12
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a small MLP; a shared CI machine is busy
    try:
        exec(compile(body, "README.md python block", "exec"), {"__name__": "__readme__"})
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "accuracy" in out and "DataNeeded" in out
