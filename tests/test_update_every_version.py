"""Updates from every earlier version of the template: a project generated at each commit of
this repository that changed the template (each tagged as a release in a temporary clone, the
working tree as the latest) gets a user's edits and a model, is updated to the latest, and
must keep the edits (or report them as conflicts), pass its own tests and migrate a fresh
database to a state that matches its models.

Early commits ask fewer questions: projects are generated with each commit's defaults, and
the update answers the questions added since with theirs (`--defaults`), as a user would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from filelock import FileLock
from typer.testing import CliRunner

from flaskgen import bundle
from flaskgen.cli import app
from histories import answers_of, clone_with_working_tree, commit_all, git, new_project, output_section
from support import REPO_ROOT, VenvFor, skip_unless_required
from test_update_real_template import POST_MIGRATION, POST_MODEL, POST_TEST

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("home")]

ANSWERS_TEMPLATE = "template/<<_copier_conf.answers_file>>.jinja"
# What the clone takes from the working tree, uncommitted changes included: the latest release.
WORKING_TREE = ("copier.yml", "template", "locks")
LATEST = "v1.0.0"
SLUG = "billing"


def _template_commits() -> list[str]:
    """Every commit of this checkout that changed the template, oldest first; [] if none."""
    listed = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "log", "--reverse", "--format=%H", "--", *WORKING_TREE],
        capture_output=True,
        text=True,
        check=False,
    )
    return listed.stdout.split() if listed.returncode == 0 else []


COMMITS = _template_commits()
# Each earlier version costs a render, an update and the project's tests (over a minute of a
# core): past SAMPLE of them, an evenly spread sample (the oldest and the newest included) keeps
# the run within CI's time. Every update path the sample leaves out crosses the same changes.
SAMPLE = 4


def _sampled_commits() -> list[str]:
    """The commits to update from: those that generate an answers file (so an update can read
    them), other than HEAD (the working tree is the latest), spread evenly over the history."""
    head = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    updatable = [
        commit
        for commit in COMMITS
        if commit != head
        and subprocess.run(
            ["git", "-C", str(REPO_ROOT), "cat-file", "-e", f"{commit}:{ANSWERS_TEMPLATE}"],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    ]
    if len(updatable) <= SAMPLE:
        return updatable
    return [updatable[round(i * (len(updatable) - 1) / (SAMPLE - 1))] for i in range(SAMPLE)]


def _release_tag(index: int) -> str:
    return f"v0.{index}.0"


@pytest.fixture(scope="session")
def every_release(shared_tmp: Path) -> tuple[Path, dict[str, str]]:
    """A clone of this repository where each template-changing commit that generates an
    updatable project is a release (v0.N.0, in history order) and the working tree is v1.0.0.
    Returns the clone and {commit: tag}. Made once per run (xdist's workers share it, each
    test on its own worker: see conftest.py); tests must not change it."""
    if len(COMMITS) < 2:
        skip_unless_required("this checkout has no template history (a shallow clone?)")
    root = shared_tmp / "every-release"
    made = root / "releases.json"
    with FileLock(f"{root}.lock"):
        if not made.exists():
            shutil.rmtree(root, ignore_errors=True)
            made.parent.mkdir(parents=True)
            made.write_text(json.dumps(_tag_releases(root / "flaskgen")))
    return root / "flaskgen", json.loads(made.read_text())


def _tag_releases(destination: Path) -> dict[str, str]:
    clone = clone_with_working_tree(REPO_ROOT, destination, WORKING_TREE)
    for tag in git(clone, "tag").split():
        git(clone, "tag", "-d", tag)
    head = git(clone, "rev-parse", "HEAD").strip()
    releases = {}
    for index, commit in enumerate(COMMITS, start=1):
        # A commit without the answers file's template (the first ones) makes no updatable project.
        has_answers = git(clone, "ls-tree", "--name-only", commit, "--", ANSWERS_TEMPLATE).strip()
        if commit != head and has_answers:
            git(clone, "tag", _release_tag(index), commit)
            releases[commit] = _release_tag(index)
    git(clone, "tag", LATEST, "HEAD")
    return releases


def _apply_user_edits(project: Path) -> dict[str, str]:
    """What a user does after generating: a model with its migration and test, an edited
    README line and a setting. Returns {path: text} of the edits to find after the update."""
    models = project / SLUG / "models"
    (models / "post.py").write_text(POST_MODEL)
    init = models / "__init__.py"
    before = init.read_text()
    imported = before.replace("from .user import User\n", "from .post import Post\nfrom .user import User\n")
    init.write_text(imported.replace('__all__ = ["', '__all__ = ["Post", "'))
    assert init.read_text() != before, "the models package no longer imports User: adapt the test"
    (project / "migrations" / "versions" / "0099_create_posts.py").write_text(
        POST_MIGRATION.replace('revision = "0002"', 'revision = "0099"')
    )
    (project / "tests" / "test_posts.py").write_text(POST_TEST.format(slug=SLUG))
    readme = project / "README.md"
    first, rest = readme.read_text().split("\n", 1)
    readme.write_text(f"{first} - the billing service\n{rest}")
    edits = {
        "README.md": "# billing - the billing service\n",
        f"{SLUG}/models/__init__.py": "from .post import Post\n",
    }
    gunicorn = project / "gunicorn.conf.py"
    keepalive, longer = '"GUNICORN_KEEPALIVE", "5"', '"GUNICORN_KEEPALIVE", "10"'
    if gunicorn.is_file() and keepalive in gunicorn.read_text():
        gunicorn.write_text(gunicorn.read_text().replace(keepalive, longer))
        edits["gunicorn.conf.py"] = longer
    commit_all(project, "posts, README, longer keep-alive")
    return edits


@pytest.mark.parametrize(
    "commit",
    # A minute or more each: a group per version, so that xdist's workers share them out.
    [
        pytest.param(commit, id=commit[:7], marks=pytest.mark.xdist_group(f"update-from-{commit[:7]}"))
        for commit in _sampled_commits()
    ],
)
def test_update_from_every_earlier_version(
    commit: str,
    every_release: tuple[Path, dict[str, str]],
    runner: CliRunner,
    tmp_path: Path,
    venv_for: VenvFor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clone, releases = every_release
    tag = releases[commit]
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(clone))
    project = new_project(runner, tmp_path / SLUG, "--vcs-ref", tag)
    assert answers_of(project)["_commit"] == tag
    edits = _apply_user_edits(project)
    owned = {
        f"{SLUG}/models/post.py": POST_MODEL,
        "tests/test_posts.py": POST_TEST.format(slug=SLUG),
    }

    result = runner.invoke(app, ["update", str(project), "--defaults"])

    assert result.exit_code in (0, 1), result.output
    assert answers_of(project)["_commit"] == LATEST
    conflicts = output_section(result.stdout, "Conflicts to resolve") if result.exit_code else []
    for relative, text in owned.items():
        assert (project / relative).read_text() == text, f"{relative} was changed by the update"
    assert (project / "migrations" / "versions" / "0099_create_posts.py").is_file()
    for relative, text in edits.items():
        content = (project / relative).read_text()
        assert text in content, f"the edit to {relative} was lost (conflicts: {conflicts})"
        if relative in conflicts:
            assert "<<<<<<< before updating" in content
    # A conflict in code would stop the project's tests: the template's history has none so far.
    assert [name for name in conflicts if name.endswith(".py")] == [], result.output

    venv = venv_for(project)
    venv.run([str(venv.bin / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project)
    database = {"APP_ENV": "development", "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    venv.run([str(venv.bin / "flask"), "db", "upgrade"], cwd=project, **database)
    venv.run([str(venv.bin / "flask"), "db", "check"], cwd=project, **database)
