"""Shell completion of the installed `flaskgen` command (Typer's): the options are listed,
bash gets its script, and the options of `new` complete.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import skip_unless_required


def installed_flaskgen() -> str:
    command = Path(sys.executable).parent / "flaskgen"
    if not command.exists():
        skip_unless_required(f"no flaskgen command beside {sys.executable}: install flaskgen into this venv")
    return str(command)


def test_completion_options_are_listed(flaskgen) -> None:
    result = flaskgen("--help")
    assert result.exit_code == 0
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_show_completion_prints_a_bash_script(tmp_path: Path) -> None:
    # Typer finds the shell among the parent processes: run it from bash (`; exit` keeps bash
    # from exec-ing it, which would hide bash from the process tree).
    out = subprocess.run(
        ["bash", "-c", '"$0" --show-completion bash; exit $?', installed_flaskgen()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "SHELL": "/bin/bash"},
    )
    assert out.returncode == 0, out.stderr
    assert "_FLASKGEN_COMPLETE=complete_bash" in out.stdout
    assert "complete -o default -F _flaskgen_completion flaskgen" in out.stdout


def test_completion_completes_options_of_new(tmp_path: Path) -> None:
    out = subprocess.run(
        [installed_flaskgen()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env={
            **os.environ,
            "_FLASKGEN_COMPLETE": "complete_bash",
            "COMP_WORDS": "flaskgen new --data-f",
            "COMP_CWORD": "2",
        },
    )
    assert (out.returncode, out.stdout.split()) == (0, ["--data-file"]), out.stderr
