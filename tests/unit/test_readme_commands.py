"""The README's command blocks run as printed in a fresh shell, where the project's virtual environment is not active."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def command_lines() -> list[str]:
    """Every line of the README's fenced code blocks, stripped."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", (ROOT / "README.md").read_text("utf-8"), re.MULTILINE | re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines()]


def test_the_projects_own_commands_in_the_readmes_blocks_are_given_from_its_virtual_environment() -> None:
    # A newcomer's new shell: `osv-partner list` as printed was "command not found", `python -m devtools.identity
    # accounts` "No module named 'httpx'" (tester 267 F1).
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["scripts"]
    lines = command_lines()
    bare = [line for line in lines if line.split(" ", 1)[0] in scripts or re.match(r"python3? -m ", line)]
    assert bare == [], bare
    assert any(line.startswith(".venv/bin/osv-partner ") for line in lines)  # the blocks are still read


def test_the_readme_says_how_to_run_them_otherwise() -> None:
    assert "source .venv/bin/activate" in (ROOT / "README.md").read_text("utf-8").split("## ", 1)[0]
