"""`flaskgen update` merges the new template version into a project: the user's edits and
deletions are kept, answers change with --data, files renamed by the template follow through
its migrations; plain `copier update` works on the same projects.

These use a tiny template with two tagged versions, made in tmp_path (support.TINY_V1, TINY_V2).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flaskgen.cli import app
from histories import TINY_V1, answers_of, commit_all, make_template, new_project, output_section, status
from support import assert_one_line_error, tool

# Every test runs on a fresh machine, with a git identity (conftest.py's `home`).
pytestmark = pytest.mark.usefixtures("home")


def test_update_merges_user_edits_and_keeps_deleted_files_deleted(
    runner: CliRunner, tiny_project: Path
) -> None:
    readme = tiny_project / "README.md"
    readme.write_text(readme.read_text().replace("end\n", "end, with my words\n"))
    (tiny_project / "config.txt").unlink()  # v2 changes it: it must stay deleted
    (tiny_project / "mine.txt").write_text("my own file\n")
    commit_all(tiny_project, "my edits")

    result = runner.invoke(app, ["update", str(tiny_project), "--defaults"])

    assert result.exit_code == 0, result.output
    assert readme.read_text() == "# app\n\nintro, improved in v2\n\nmiddle\n\nend, with my words\n"
    assert not (tiny_project / "config.txt").exists()
    assert (tiny_project / "added.txt").read_text() == "new in v2\n"
    assert not (tiny_project / "unused.txt").exists()  # dropped by v2, untouched by the user
    assert (tiny_project / "mine.txt").read_text() == "my own file\n"
    assert answers_of(tiny_project)["_commit"] == "v2.0.0"
    assert "template version v1.0.0 -> v2.0.0" in result.stdout
    changed = output_section(result.stdout, "Changed files")
    assert "M README.md" in changed and "?? added.txt" in changed and "D unused.txt" in changed
    assert "Conflicts" not in result.stdout


def test_data_changes_an_answer(runner: CliRunner, tiny_project: Path) -> None:
    result = runner.invoke(app, ["update", str(tiny_project), "--defaults", "--data", "flavour=chocolate"])
    assert result.exit_code == 0, result.output
    assert (tiny_project / "chocolate.txt").read_text() == "cocoa\n"
    assert answers_of(tiny_project)["flavour"] == "chocolate"
    assert answers_of(tiny_project)["_commit"] == "v2.0.0"


def test_data_at_the_same_version(runner: CliRunner, tiny_project: Path) -> None:
    args = ["update", str(tiny_project), "--defaults", "--vcs-ref", "v1.0.0", "-d", "flavour=chocolate"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "template version v1.0.0 (unchanged)" in result.stdout
    assert (tiny_project / "chocolate.txt").is_file()
    assert (tiny_project / "notes.txt").is_file()  # still v1


def test_renamed_file_follows_through_migrations(runner: CliRunner, tmp_path: Path) -> None:
    """v2 renames old.txt to renamed.txt; a `_migrations` entry moves the user's file first."""
    v1 = {**TINY_V1, "template/old.txt": "one\ntwo\nthree\n"}
    v2 = {
        **v1,
        "template/old.txt": None,
        "template/renamed.txt": "one\ntwo\nthree\n",
        "copier.yml": TINY_V1["copier.yml"]
        + "_migrations:\n"
        + "  - version: v2.0.0\n"
        + "    when: \"{{ _stage == 'before' }}\"\n"
        + "    command: [git, mv, -k, --, old.txt, renamed.txt]\n",
    }
    template = make_template(tmp_path / "renaming", ("v1.0.0", v1), ("v2.0.0", v2))
    edited = new_project(runner, tmp_path / "edited", "--template", str(template), "--vcs-ref", "v1.0.0")
    (edited / "old.txt").write_text("one\ntwo, edited\nthree\n")
    commit_all(edited, "my edit")
    untouched = new_project(
        runner, tmp_path / "untouched", "--template", str(template), "--vcs-ref", "v1.0.0"
    )
    deleted = new_project(runner, tmp_path / "deleted", "--template", str(template), "--vcs-ref", "v1.0.0")
    (deleted / "old.txt").unlink()
    commit_all(deleted, "not needed")

    refused = runner.invoke(app, ["update", str(untouched), "--defaults"])
    assert_one_line_error(refused, 2, "runs its own code", "--trust")
    assert status(untouched) == ""

    for project in (edited, untouched, deleted):
        result = runner.invoke(app, ["update", str(project), "--defaults", "--trust"])
        assert not (project / "old.txt").exists()
        if project is edited:
            # The user's edit moved with the file. With nothing to compare it to in the old
            # version (Copier sees the file as added on both sides), it is left to confirm.
            assert result.exit_code == 1, result.output
            assert "two, edited" in (project / "renamed.txt").read_text()
            assert output_section(result.stdout, "Conflicts") == ["renamed.txt"]
        else:
            assert result.exit_code == 0, result.output
            assert (project / "renamed.txt").read_text() == "one\ntwo\nthree\n"


# --- plain copier update --------------------------------------------------------------


def test_plain_copier_update_on_a_generated_project(tiny_project: Path) -> None:
    readme = tiny_project / "README.md"
    readme.write_text(readme.read_text().replace("end\n", "end, mine\n"))
    commit_all(tiny_project, "mine")
    out = subprocess.run(
        [tool("copier"), "update", "--defaults", "--quiet"],
        cwd=tiny_project,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "intro, improved in v2" in readme.read_text() and "end, mine" in readme.read_text()
    assert answers_of(tiny_project)["_commit"] == "v2.0.0"
