"""What `flaskgen update` reports beyond the changed files, where Copier alone says nothing:
keys of .copier-answers.yml that no question asks (kept), answers to questions the new
version dropped (named), and files the user deleted that the new version changes (named, left
deleted). On the tiny template (histories.TINY_V1, TINY_V2).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flaskgen.cli import app
from histories import TINY_V1, TINY_V2, answers_of, commit_all, make_template, new_project, output_section

# Every test runs on a fresh machine, with a git identity (conftest.py's `home`).
pytestmark = pytest.mark.usefixtures("home")


def test_unknown_answer_keys_are_kept(runner: CliRunner, tiny_project: Path) -> None:
    """Once silently dropped: a team's own keys stay, and the update says so."""
    answers = tiny_project / ".copier-answers.yml"
    answers.write_text(answers.read_text() + "team: payments\nowners: [ana, bo]\n")
    commit_all(tiny_project, "our keys")

    result = runner.invoke(app, ["update", str(tiny_project), "--defaults"])

    assert result.exit_code == 0, result.output
    recorded = answers_of(tiny_project)
    assert (recorded["team"], recorded["owners"]) == ("payments", ["ana", "bo"])
    assert recorded["_commit"] == "v2.0.0"
    assert output_section(result.stdout, "Kept in .copier-answers.yml") == ["team", "owners"]
    assert "Answers dropped" not in result.stdout


def test_answers_of_a_dropped_question_are_named(runner: CliRunner, tmp_path: Path) -> None:
    v2 = {
        **TINY_V2,
        "copier.yml": TINY_V1["copier.yml"].split("flavour:")[0],
        "template/{% if flavour == 'chocolate' %}chocolate.txt{% endif %}.jinja": None,
    }
    template = make_template(tmp_path / "dropping", ("v1.0.0", TINY_V1), ("v2.0.0", v2))
    project = new_project(runner, tmp_path / "svc", "--template", str(template), "--vcs-ref", "v1.0.0")

    result = runner.invoke(app, ["update", str(project), "--defaults"])

    assert result.exit_code == 0, result.output
    assert "flavour" not in answers_of(project)
    assert output_section(result.stdout, "Answers dropped") == ["flavour"]
    assert "Kept in" not in result.stdout


def test_deleted_file_the_template_changes_is_named(runner: CliRunner, tiny_project: Path) -> None:
    """Once dropped without a mention: v2 changes config.txt, which the user deleted."""
    (tiny_project / "config.txt").unlink()  # v2 adds c=3 to it
    (tiny_project / "notes.txt").unlink()  # v2 drops it: nothing to say
    (tiny_project / "README.md").unlink()  # v2 changes it too
    commit_all(tiny_project, "not needed")

    result = runner.invoke(app, ["update", str(tiny_project), "--defaults"])

    assert result.exit_code == 0, result.output
    assert not (tiny_project / "config.txt").exists() and not (tiny_project / "README.md").exists()
    assert output_section(result.stdout, "Left deleted, though the new template version changes them") == [
        "README.md",
        "config.txt",
    ]


def test_nothing_deleted_nothing_said(runner: CliRunner, tiny_project: Path) -> None:
    (tiny_project / "unused.txt").unlink()  # v2 drops it anyway
    commit_all(tiny_project, "tidy")
    result = runner.invoke(app, ["update", str(tiny_project), "--defaults"])
    assert result.exit_code == 0, result.output
    assert "Left deleted" not in result.stdout and "Kept in" not in result.stdout
