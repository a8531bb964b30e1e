"""flaskgen's help and version: every command, option and question of the bundled template,
without importing Copier.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest
from typer.testing import CliRunner

from flaskgen.cli import app
from support import REPO_ROOT, TEMPLATE_CONFIG, bundled_questions

# The version is pyproject.toml's: each release bumps it (see CHANGELOG.md).
VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]

# flaskgen installs its template history in ~/.local/share/flaskgen/: in a temporary HOME here.
pytestmark = pytest.mark.usefixtures("isolated_home")


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"flaskgen {VERSION}"


def test_help_lists_new(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "new" in result.stdout
    assert "--version" in result.stdout


def test_new_help_lists_every_question_with_choices_and_default(
    runner: CliRunner,
) -> None:
    result = runner.invoke(app, ["new", "--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    for option in (
        "--defaults",
        "--data KEY=VALUE",
        "--data-file FILE",
        "--template SRC",
    ):
        assert option in text
    for name, spec in bundled_questions().items():
        assert name in text
        if spec.get("help"):
            assert " ".join(spec["help"].split()) in text
        choices = spec.get("choices") or []
        for choice in choices.values() if isinstance(choices, dict) else choices:
            value = choice[1] if isinstance(choice, list) else choice  # [label, value] pairs
            assert str(value) in text
        default = spec.get("default")
        if isinstance(default, str) and "<<" not in default and "<%" not in default:
            assert f"[default: {default}]" in text
    assert "[default: the destination folder name]" in text  # project_name's Jinja default
    assert "<<" not in result.stdout and "<%" not in result.stdout
    for name, spec in TEMPLATE_CONFIG.items():
        if isinstance(spec, dict) and spec.get("when") is False:
            assert name not in text, f"computed helper {name} shown in help"


def test_help_does_not_import_copier_or_yaml() -> None:
    code = (
        "import sys; from flaskgen.cli import main; sys.argv = ['flaskgen', '--help']\n"
        "try: main()\nexcept SystemExit: pass\n"
        "print(sorted(m for m in ('copier', 'yaml', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_python_m_flaskgen_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "flaskgen", "--version"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0
    assert out.stdout.strip() == f"flaskgen {VERSION}"


def test_help_lists_update_and_check(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("new", "update", "check"):
        assert command in result.stdout
    update_help = runner.invoke(app, ["update", "--help"])
    for option in ("--defaults", "--data", "--vcs-ref", "--conflict"):
        assert option in update_help.stdout
    assert "--json" in runner.invoke(app, ["check", "--help"]).stdout
