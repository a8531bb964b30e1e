"""The suite's parallel run keeps each xdist group on one worker, as conftest.py and the answer
matrix rely on (module fixtures made once, an app's combinations one after the other). pytest
9.2.0 broke that with pytest-xdist 3.8.0, silently: this runs the installed pair on a group."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GROUPED = """
import os

import pytest


@pytest.mark.parametrize("n", [pytest.param(n, marks=pytest.mark.xdist_group("one-group")) for n in range(6)])
def test_grouped(n):
    print("worker", os.environ["PYTEST_XDIST_WORKER"])
"""


def test_a_groups_tests_run_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "3", "--dist", "loadgroup", "-rP", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    workers = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("worker ")}
    assert len(workers) == 1, f"one group ran on workers {sorted(workers)}:\n{result.stdout}"
