"""`flaskgen check`: which projects are behind their template's latest version, as text or
JSON, with exit codes for CI; one look-up per template, and no Copier import.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flaskgen.cli import app
from histories import answers_of, commit_all, new_project, snapshot, status, table_row
from support import assert_one_line_error

# Every test runs on a fresh machine, with a git identity (conftest.py's `home`).
pytestmark = pytest.mark.usefixtures("home")


def test_check_exit_codes_and_json(runner: CliRunner, tiny_releases: Path, tmp_path: Path) -> None:
    behind = new_project(runner, tmp_path / "behind", "--template", str(tiny_releases), "--vcs-ref", "v1.0.0")
    current = new_project(runner, tmp_path / "current", "--template", str(tiny_releases))
    bundled = new_project(runner, tmp_path / "bundled")
    (tmp_path / "plain").mkdir()

    ok = runner.invoke(app, ["check", str(current), str(bundled)])
    assert ok.exit_code == 0, ok.output
    assert table_row(ok.stdout, current) == {
        "PROJECT": str(current),
        "VERSION": "v2.0.0",
        "LATEST": "v2.0.0",
        "STATUS": "current",
        "RELEASES BEHIND": "0",
        "CHANGED FILES": "none",
    }

    late = runner.invoke(app, ["check", str(current), str(behind)])
    assert late.exit_code == 1, late.output
    row = table_row(late.stdout, behind)
    assert (row["VERSION"], row["LATEST"], row["STATUS"], row["RELEASES BEHIND"]) == (
        "v1.0.0",
        "v2.0.0",
        "behind",
        "1",
    )
    assert f"flaskgen update {behind}" in late.stdout.splitlines()[-1]

    bad = runner.invoke(app, ["check", str(current), str(behind), str(tmp_path / "plain")])
    assert bad.exit_code == 2, bad.output
    assert bad.stderr.splitlines() == [
        f"flaskgen: error: {tmp_path / 'plain'} is not a flaskgen project: it has no "
        ".copier-answers.yml, nor has any folder below it. Pass the root folder of a project that "
        "flaskgen new generated, or a folder that holds some."
    ]

    as_json = runner.invoke(app, ["check", "--json", str(behind), str(current), str(tmp_path / "plain")])
    assert as_json.exit_code == 2
    projects = json.loads(as_json.stdout)["projects"]
    assert [(p["path"], p["status"], p["version"], p["latest"], p["releases_behind"]) for p in projects] == [
        (str(behind), "behind", "v1.0.0", "v2.0.0", 1),
        (str(current), "current", "v2.0.0", "v2.0.0", 0),
        (str(tmp_path / "plain"), "error", None, None, None),
    ]
    assert projects[0]["template"] == str(tiny_releases)
    assert projects[0]["changed_files"] == {} and projects[0]["answers_differing"] is None
    assert "is not a flaskgen project" in projects[2]["error"]


def test_check_defaults_to_the_current_folder(
    runner: CliRunner, tiny_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tiny_project)
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1, result.output
    assert table_row(result.stdout, ".")["STATUS"] == "behind"


def test_check_many_projects_is_quick(runner: CliRunner, tiny_releases: Path, tmp_path: Path) -> None:
    """The team use case: one look-up per template, however many projects share it (the
    versions only: the pristine renders behind the changed files are test_check_drift.py's)."""
    first = new_project(runner, tmp_path / "p00", "--template", str(tiny_releases), "--vcs-ref", "v1.0.0")
    projects = [first]
    for number in range(1, 20):
        copy = tmp_path / f"p{number:02d}"
        shutil.copytree(first, copy)
        projects.append(copy)
    started = time.perf_counter()
    result = runner.invoke(app, ["check", "--json", "--no-files", *map(str, projects)])
    elapsed = time.perf_counter() - started
    assert result.exit_code == 1
    assert {p["status"] for p in json.loads(result.stdout)["projects"]} == {"behind"}
    assert elapsed < 2, f"checking 20 projects took {elapsed:.2f}s"


def test_check_does_not_import_copier(tiny_project: Path) -> None:
    """Versions come from answers files; a pristine render (Copier) only fills an empty cache."""
    code = (
        "import sys; from flaskgen.cli import main; sys.argv = ['flaskgen', 'check', *sys.argv[1:]]\n"
        "try: main()\nexcept SystemExit: pass\n"
        "print('copier' in sys.modules)"
    )

    def imports_copier(*args: str) -> bool:
        out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
        return out.stdout.strip().splitlines()[-1] == "True"

    assert not imports_copier("--no-files", str(tiny_project))
    assert imports_copier(str(tiny_project))  # the first render of v1.0.0 with these answers
    assert not imports_copier(str(tiny_project))  # cached


@pytest.mark.parametrize("bundled", [False, True])
@pytest.mark.parametrize("version", ["deadbee", "v9.9.9"])
def test_check_and_update_agree_on_an_unknown_version(
    runner: CliRunner, tiny_releases: Path, tmp_path: Path, bundled: bool, version: str
) -> None:
    """Once: check called it "behind" while update refused it. Now both refuse, alike."""
    args = [] if bundled else ["--template", str(tiny_releases)]
    project = new_project(runner, tmp_path / "svc", *args)
    answers = project / ".copier-answers.yml"
    recorded = answers_of(project)["_commit"]
    answers.write_text(answers.read_text().replace(f"_commit: {recorded}", f"_commit: {version}"))
    commit_all(project, "a version from elsewhere")
    before = snapshot(project)

    updated = runner.invoke(app, ["update", str(project), "--defaults"])
    checked = runner.invoke(app, ["check", str(project)])

    update_line = assert_one_line_error(updated, 2, version)
    check_line = assert_one_line_error(checked, 2, version)
    if version.startswith("v") and bundled:
        assert check_line == update_line
        assert "which this flaskgen does not know" in check_line and "Upgrade flaskgen" in check_line
    else:
        reason = f"generated from template version {version}, which"
        assert reason in update_line and reason in check_line
        assert "so flaskgen update cannot start from it" in check_line
    assert snapshot(project) == before and status(project) == ""


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda path: os.mkfifo(path), "is a named pipe (FIFO), not a regular file"),
        (lambda path: path.write_text("a: " + "[" * 3000 + "]" * 3000 + "\n"), "nests deeper than 32 levels"),
    ],
)
def test_answers_file_that_cannot_be_read_safely(
    runner: CliRunner, tiny_project: Path, make, problem: str
) -> None:
    """A pipe (once a hang) or deep nesting (once RecursionError): one line, from both."""
    answers = tiny_project / ".copier-answers.yml"
    answers.unlink()
    make(answers)
    for command in (["check"], ["update", "--defaults"]):
        result = runner.invoke(app, [*command, str(tiny_project)])
        assert_one_line_error(result, 2, f"cannot read {answers}", problem, "Restore it from git")
