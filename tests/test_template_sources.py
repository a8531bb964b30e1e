"""Template sources that tools can follow: a team's fork (or flaskgen's published repository)
at a git URL with PEP 440 release tags, recorded in the form Renovate's Copier manager reads
(a full URL in `_src_path`, a tag in `_commit`), and `flaskgen source`, which moves a project
between such a URL and flaskgen's offline history. The fork here is a bare clone of
conftest.py's `real_history` (v0.1.0 and v0.2.0), reached through a file:// URL.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from packaging.version import Version
from typer.testing import CliRunner

from flaskgen import template
from flaskgen.cli import app
from histories import answers_of, commit_all, git, new_project, snapshot, status, table_row
from support import assert_one_line_error, tool

# Every test runs on a fresh machine, with a git identity (conftest.py's `home`).
pytestmark = pytest.mark.usefixtures("home")

BUNDLE_SRC = "~/.local/share/flaskgen/template.bundle"


def publish(history: Path, where: Path, *, drop_tags: tuple[str, ...] = ()) -> str:
    """A bare clone of `history` (the team's published fork), as a file:// URL."""
    bare = where / "flaskgen-fork.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(history), str(bare)], check=True)
    for tag in drop_tags:
        git(bare, "tag", "-d", tag)
    return f"file://{bare}"


def assert_renovate_readable(answers: dict) -> None:
    """What Renovate's Copier manager requires: `_src_path` a URL (or git@host:path), `_commit`
    a PEP 440 version that is a tag, not a commit id."""
    assert re.match(r"^[a-z][a-z0-9+.-]*://[^/\s]*/\S+$", answers["_src_path"]), answers["_src_path"]
    version = Version(answers["_commit"])
    assert not version.is_prerelease and not version.local


@pytest.mark.slow
def test_project_from_a_tagged_fork_records_what_renovate_reads(
    runner: CliRunner, real_history: Path, tmp_path: Path
) -> None:
    url = publish(real_history, tmp_path)
    project = new_project(runner, tmp_path / "billing", "--template", url, "--vcs-ref", "v0.1.0")
    answers = answers_of(project)
    assert (answers["_src_path"], answers["_commit"]) == (url, "v0.1.0")
    assert_renovate_readable(answers)

    behind = runner.invoke(app, ["check", str(project)])
    assert behind.exit_code == 1, behind.output
    row = table_row(behind.stdout, project)
    assert (row["LATEST"], row["STATUS"], row["CHANGED FILES"]) == ("v0.2.0", "behind", "none")

    # The command Renovate runs for an update PR, with plain Copier. The template regenerates
    # uv.lock after an update (a _migrations step), so Copier needs --trust, which Renovate
    # passes where its admin allows scripts.
    out = subprocess.run(
        [tool("copier"), "update", "--skip-answered", "--defaults", "--trust", "--vcs-ref", "v0.2.0", "-q"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert answers_of(project)["_commit"] == "v0.2.0"
    assert answers_of(project)["_src_path"] == url
    commit_all(project, "template v0.2.0")
    assert runner.invoke(app, ["check", str(project)]).exit_code == 0


def test_shortcuts_are_recorded_as_full_urls() -> None:
    """Renovate does not read gh:/gl: (renovatebot/renovate#39938): Copier gets the URL."""
    assert template.resolve("gh:acme/flaskgen").src == "https://github.com/acme/flaskgen.git"
    assert template.resolve("gl:/acme/flaskgen.git").src == "https://gitlab.com/acme/flaskgen.git"
    assert template.resolve("https://git.example.com/acme/t.git").src == "https://git.example.com/acme/t.git"


@pytest.mark.slow
def test_switch_from_the_offline_history_to_a_fork_and_back(
    runner: CliRunner, real_template: Path, tmp_path: Path
) -> None:
    project = new_project(runner, tmp_path / "billing", "--vcs-ref", "v0.1.0")
    assert answers_of(project)["_src_path"] == BUNDLE_SRC
    before = (project / ".copier-answers.yml").read_text()
    url = publish(real_template, tmp_path)

    switched = runner.invoke(app, ["source", url, str(project)])
    assert switched.exit_code == 0, switched.output
    assert f"template source {BUNDLE_SRC} -> {url}, at version v0.1.0" in switched.stdout
    assert switched.stderr == ""  # a URL and a release tag: nothing Renovate cannot follow
    after = (project / ".copier-answers.yml").read_text()
    assert after == before.replace(f"_src_path: {BUNDLE_SRC}", f"_src_path: {url}")
    assert_renovate_readable(answers_of(project))
    commit_all(project, "template from the team's fork")

    # A fork runs its own code (the lock's regeneration after an update): the team trusts it.
    updated = runner.invoke(app, ["update", str(project), "--defaults", "--trust"])
    assert updated.exit_code == 0, updated.output
    assert "template version v0.1.0 -> v0.2.0" in updated.stdout
    assert answers_of(project)["_src_path"] == url
    commit_all(project, "template v0.2.0")

    back = runner.invoke(app, ["source", "bundled", str(project)])
    assert back.exit_code == 0, back.output
    assert answers_of(project)["_src_path"] == BUNDLE_SRC
    assert "Renovate cannot follow this project" in back.stderr  # a path on each machine
    commit_all(project, "template from flaskgen's history")
    assert runner.invoke(app, ["check", str(project)]).exit_code == 0
    again = runner.invoke(app, ["update", str(project), "--defaults"])
    assert again.exit_code == 0 and "(unchanged)" in again.stdout, again.output
    assert status(project) == ""


def test_switch_refuses_a_source_without_the_projects_version(
    runner: CliRunner, real_template: Path, tmp_path: Path
) -> None:
    project = new_project(runner, tmp_path / "billing", "--vcs-ref", "v0.1.0")
    url = publish(real_template, tmp_path, drop_tags=("v0.1.0",))
    before = snapshot(project)
    refused = runner.invoke(app, ["source", url, str(project)])
    assert_one_line_error(refused, 2, f"{url} has no version v0.1.0", "git push --tags")
    assert snapshot(project) == before

    missing = runner.invoke(app, ["source", str(tmp_path / "nowhere"), str(project)])
    assert_one_line_error(missing, 2, "neither a git URL nor an existing path")
    unreachable = runner.invoke(app, ["source", f"file://{tmp_path}/gone.git", str(project)])
    assert_one_line_error(unreachable, 2, "cannot read template source")
    assert snapshot(project) == before


def test_new_from_an_untagged_url_warns_that_renovate_cannot_follow(
    runner: CliRunner, real_history: Path, tmp_path: Path
) -> None:
    url = publish(real_history, tmp_path, drop_tags=("v0.1.0", "v0.2.0"))
    result = runner.invoke(app, ["new", str(tmp_path / "svc"), "--defaults", "--template", url])
    assert result.exit_code == 0, result.output
    assert "which Renovate cannot follow. Tag the template's releases" in result.stderr
    assert os.path.isfile(tmp_path / "svc" / ".copier-answers.yml")
