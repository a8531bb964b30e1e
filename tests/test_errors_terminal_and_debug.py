"""How `flaskgen new` reports a refusal as a process: with no terminal to ask on, it refuses
at once in one line; --debug or FLASKGEN_DEBUG=1 shows the full traceback instead, and
FLASKGEN_DEBUG=0 does not. The file system is left as it was.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_errors_names import STDLIB_MODULE

from refusals import untouched


def flaskgen_process(args: list[str | Path], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m flaskgen ARGS...` with no terminal (stdin is /dev/null)."""
    return subprocess.run(
        [sys.executable, "-m", "flaskgen", *map(str, args)],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**{k: v for k, v in os.environ.items() if k != "FLASKGEN_DEBUG"}, **env},
    )


def test_no_terminal_without_defaults_is_refused_at_once(tmp_path: Path) -> None:
    with untouched(tmp_path):
        out = flaskgen_process(["new", tmp_path / "app", "--data", "database=postgresql"], cwd=tmp_path)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == (
        "flaskgen: error: no terminal to ask the template's questions on. Pass --defaults to "
        "accept the defaults (and --data KEY=VALUE to change answers).\n"
    )


@pytest.mark.parametrize(
    ("option", "env"),
    [(["--debug"], {}), ([], {"FLASKGEN_DEBUG": "1"}), ([], {"FLASKGEN_DEBUG": "0"})],
    ids=["--debug", "FLASKGEN_DEBUG=1", "FLASKGEN_DEBUG=0"],
)
def test_debug_gives_the_full_traceback(tmp_path: Path, option: list[str], env: dict[str, str]) -> None:
    args = ["new", tmp_path / "app", "--defaults", "--data", "project_slug=json", *option]
    with untouched(tmp_path):
        out = flaskgen_process(args, cwd=tmp_path, **env)
    reason = f"invalid project_slug: {STDLIB_MODULE.format('json')}. Change it with --data project_slug=VALUE"
    if env.get("FLASKGEN_DEBUG") == "0":
        assert (out.returncode, out.stderr) == (2, f"flaskgen: error: {reason}.\n")
        return
    assert out.returncode == 1
    assert out.stderr.startswith("Traceback (most recent call last):\n"), out.stderr
    assert 'File "' in out.stderr and "copier" in out.stderr  # down to where Copier refused it
    assert out.stderr.rstrip().endswith(f"flaskgen.errors.InputError: {reason}")
