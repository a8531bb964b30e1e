"""Every combination of the answer matrix passes its own checks: the pre-commit hooks CI runs
(ruff, ruff format, mypy in strict mode on the app package, the lock and its exports, conflict
markers) and zizmor on the whole .github/ (workflows and Dependabot)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import answer_matrix
from support import ProjectVenv, render, tool

VenvFor = Callable[[Path], ProjectVenv]
# The names of the project's hooks (.pre-commit-config.yaml): each must run and pass.
HOOKS = [
    "no conflict markers",
    "ruff check",
    "ruff format",
    "mypy (strict, the app package)",
    "uv.lock is current",
    "requirements/ matches uv.lock",
]


@pytest.mark.slow
@pytest.mark.parametrize("answers", answer_matrix.combinations(), ids=answer_matrix.combination_id)
def test_combination_passes_its_checks(tmp_path: Path, venv_for: VenvFor, answers: dict[str, Any]) -> None:
    project = render(tmp_path / answer_matrix.FIXED["project_slug"], **answers)
    venv = venv_for(project)
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)  # pre-commit checks git's files
    result = venv.run(
        ["pre-commit", "run", "--all-files", "--show-diff-on-failure"], cwd=project, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    passed = [
        line.rstrip(".").rsplit(".", 1)[0] for line in result.stdout.splitlines() if line.endswith("Passed")
    ]
    assert [name.rstrip(".") for name in passed] == HOOKS, result.stdout
    if answers["ci"] == "github":
        zizmor = subprocess.run(
            [tool("zizmor"), "--offline", "--min-severity", "low", ".github/"],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr
