"""`flaskgen check`: which projects are behind their template's latest version, as text or
JSON, with exit codes for CI; one look-up per template, and no Copier import.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flaskgen.cli import app
from histories import new_project

# Every test runs on a fresh machine, with a git identity (conftest.py's `home`).
pytestmark = pytest.mark.usefixtures("home")


def test_check_exit_codes_and_json(runner: CliRunner, tiny_releases: Path, tmp_path: Path) -> None:
    behind = new_project(runner, tmp_path / "behind", "--template", str(tiny_releases), "--vcs-ref", "v1.0.0")
    current = new_project(runner, tmp_path / "current", "--template", str(tiny_releases))
    bundled = new_project(runner, tmp_path / "bundled")
    (tmp_path / "plain").mkdir()

    ok = runner.invoke(app, ["check", str(current), str(bundled)])
    assert ok.exit_code == 0, ok.output
    assert f"{current}: template v2.0.0, the latest" in ok.stdout

    late = runner.invoke(app, ["check", str(current), str(behind)])
    assert late.exit_code == 1, late.output
    assert f"{behind}: template v1.0.0, behind the latest v2.0.0" in late.stdout
    assert f"flaskgen update {behind}" in late.stdout

    bad = runner.invoke(app, ["check", str(current), str(behind), str(tmp_path / "plain")])
    assert bad.exit_code == 2, bad.output
    assert bad.stderr.splitlines() == [
        f"flaskgen: error: {tmp_path / 'plain'} is not a flaskgen project: it has no "
        ".copier-answers.yml. Pass the root folder of a project that flaskgen new generated."
    ]

    as_json = runner.invoke(app, ["check", "--json", str(behind), str(current), str(tmp_path / "plain")])
    assert as_json.exit_code == 2
    projects = json.loads(as_json.stdout)["projects"]
    assert [(p["path"], p["status"], p["version"], p["latest"]) for p in projects] == [
        (str(behind), "behind", "v1.0.0", "v2.0.0"),
        (str(current), "current", "v2.0.0", "v2.0.0"),
        (str(tmp_path / "plain"), "error", None, None),
    ]
    assert projects[0]["template"] == str(tiny_releases)
    assert "is not a flaskgen project" in projects[2]["error"]


def test_check_defaults_to_the_current_folder(
    runner: CliRunner, tiny_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tiny_project)
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith(".: template v1.0.0, behind the latest v2.0.0")


def test_check_many_projects_is_quick(runner: CliRunner, tiny_releases: Path, tmp_path: Path) -> None:
    """The team use case: one look-up per template, however many projects share it."""
    first = new_project(runner, tmp_path / "p00", "--template", str(tiny_releases), "--vcs-ref", "v1.0.0")
    projects = [first]
    for number in range(1, 20):
        copy = tmp_path / f"p{number:02d}"
        shutil.copytree(first, copy)
        projects.append(copy)
    started = time.perf_counter()
    result = runner.invoke(app, ["check", "--json", *map(str, projects)])
    elapsed = time.perf_counter() - started
    assert result.exit_code == 1
    assert {p["status"] for p in json.loads(result.stdout)["projects"]} == {"behind"}
    assert elapsed < 2, f"checking 20 projects took {elapsed:.2f}s"


def test_check_does_not_import_copier(tiny_project: Path) -> None:
    code = (
        "import sys; from flaskgen.cli import main; sys.argv = ['flaskgen', 'check', sys.argv[1]]\n"
        "try: main()\nexcept SystemExit: pass\n"
        "print('copier' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tiny_project)], capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout + out.stderr
