"""What `flaskgen update` refuses, in one line and with the project left as it was: bad
answers, uncommitted changes, a folder that is not a git repository or not a flaskgen project,
no git, a version the template does not have, a downgrade, no terminal, a bad --conflict, and a
project of a newer flaskgen. On the tiny_releases template (support.TINY_V1, TINY_V2).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flaskgen import bundle
from flaskgen.cli import app
from histories import answers_of, commit_all, git, new_project, snapshot, status
from support import assert_one_line_error

# Every test runs on a fresh machine, with a git identity (conftest.py's `home`).
pytestmark = pytest.mark.usefixtures("home")


@pytest.mark.parametrize(
    ("data", "phrases"),
    [
        ("flavour=mint", ["invalid flavour 'mint'", "vanilla, chocolate"]),
        ("flavor=chocolate", ["unknown question 'flavor'", "Did you mean flavour?"]),
    ],
)
def test_bad_data_changes_nothing(
    runner: CliRunner, tiny_project: Path, data: str, phrases: list[str]
) -> None:
    before = snapshot(tiny_project)
    result = runner.invoke(app, ["update", str(tiny_project), "--defaults", "--data", data])
    assert_one_line_error(result, 2, *phrases)
    assert snapshot(tiny_project) == before
    assert status(tiny_project) == ""


@pytest.mark.parametrize("change", ["modified", "untracked", "staged"])
def test_dirty_tree_is_refused_and_nothing_changes(
    runner: CliRunner, tiny_project: Path, change: str
) -> None:
    if change == "untracked":
        (tiny_project / "scratch.txt").write_text("wip\n")
    else:
        (tiny_project / "config.txt").write_text("a=1\nb=20\n")
        if change == "staged":
            git(tiny_project, "add", "config.txt")
    before, git_before = snapshot(tiny_project), status(tiny_project)
    index_before = (tiny_project / ".git" / "index").read_bytes()

    result = runner.invoke(app, ["update", str(tiny_project), "--defaults"])

    assert_one_line_error(result, 2, "uncommitted changes", "git stash -u")
    assert snapshot(tiny_project) == before
    assert status(tiny_project) == git_before
    assert (tiny_project / ".git" / "index").read_bytes() == index_before


def test_not_a_git_repository(runner: CliRunner, tiny_releases: Path, tmp_path: Path) -> None:
    project = tmp_path / "loose"
    assert (
        runner.invoke(
            app, ["new", str(project), "--template", str(tiny_releases), "--defaults", "-q"]
        ).exit_code
        == 0
    )
    before = snapshot(project)
    result = runner.invoke(app, ["update", str(project), "--defaults"])
    assert_one_line_error(result, 2, "is not in a git repository", "git init")
    assert snapshot(project) == before


def test_not_a_flaskgen_project(runner: CliRunner, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    git(plain, "init", "-q")
    (plain / "app.py").write_text("print('hi')\n")
    commit_all(plain, "mine")
    before = snapshot(plain)
    result = runner.invoke(app, ["update", str(plain), "--defaults"])
    assert_one_line_error(result, 2, "is not a flaskgen project", ".copier-answers.yml")
    assert snapshot(plain) == before
    missing = runner.invoke(app, ["update", str(tmp_path / "nowhere"), "--defaults"])
    assert_one_line_error(missing, 2, "does not exist")


def test_git_missing(
    runner: CliRunner, tiny_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(tiny_project)
    empty = tmp_path / "no-git-here"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = runner.invoke(app, ["update", str(tiny_project), "--defaults"])
    assert_one_line_error(result, 2, "git is not installed", "Install git")
    assert snapshot(tiny_project) == before


def test_version_missing_from_the_template(runner: CliRunner, tiny_project: Path) -> None:
    answers = tiny_project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace("_commit: v1.0.0", "_commit: deadbee"))
    commit_all(tiny_project, "a version from elsewhere")
    before = snapshot(tiny_project)
    result = runner.invoke(app, ["update", str(tiny_project), "--defaults"])
    assert_one_line_error(result, 2, "generated from template version deadbee", "nothing was changed")
    assert snapshot(tiny_project) == before and status(tiny_project) == ""


def test_downgrade_is_refused(runner: CliRunner, tiny_releases: Path, tmp_path: Path) -> None:
    project = new_project(runner, tmp_path / "latest", "--template", str(tiny_releases))
    before = snapshot(project)
    result = runner.invoke(app, ["update", str(project), "--defaults", "--vcs-ref", "v1.0.0"])
    assert_one_line_error(result, 2, "at template version v2.0.0, newer than v1.0.0", "nothing was changed")
    assert snapshot(project) == before and status(project) == ""


def test_update_without_a_terminal_needs_defaults(runner: CliRunner, tiny_project: Path) -> None:
    result = runner.invoke(app, ["update", str(tiny_project)])
    assert_one_line_error(result, 2, "no terminal", "--defaults")


def test_bad_conflict_mode(runner: CliRunner, tiny_project: Path) -> None:
    result = runner.invoke(app, ["update", str(tiny_project), "--defaults", "--conflict", "ours"])
    assert_one_line_error(result, 2, "--conflict 'ours'", "inline", "rej")


def test_project_of_a_newer_flaskgen_asks_for_an_upgrade(
    runner: CliRunner, tiny_releases: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A teammate's flaskgen is older than the release the project is at: say so."""
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(tiny_releases))
    project = new_project(runner, tmp_path / "svc")
    assert answers_of(project)["_commit"] == "v2.0.0"
    older = tmp_path / "older"
    subprocess.run(["git", "clone", "-q", str(tiny_releases), str(older)], check=True)
    git(older, "reset", "-q", "--hard", "v1.0.0")
    git(older, "tag", "-d", "v2.0.0")
    other_home = tmp_path / "other-home"
    other_home.mkdir()
    monkeypatch.setenv("HOME", str(other_home))
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(older))
    before = snapshot(project)
    result = runner.invoke(app, ["update", str(project), "--defaults"])
    assert_one_line_error(result, 2, "is at template version v2.0.0", "Upgrade flaskgen")
    assert snapshot(project) == before
