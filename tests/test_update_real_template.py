"""`flaskgen update` with the real template: its history from a temporary clone of this
repository (an older commit tagged v0.1.0, the working tree as v0.2.0; conftest.py's
`real_history`), bundled and installed by flaskgen under a temporary HOME, as on a user's
machine. A project keeps the user's typical edits, changes answers, updates the same with
plain Copier on a teammate's machine, and keeps its own migration history. Nothing here uses
the network.
"""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from flaskgen import bundle
from flaskgen.cli import app
from histories import (
    answers_of,
    commit_all,
    git,
    new_project,
    output_section,
    snapshot,
    status,
    table_row,
    write_files,
)
from support import REPO_ROOT, VenvFor, assert_one_line_error, tool

# Every test runs on a fresh machine, with a git identity (conftest.py's `home`).
pytestmark = pytest.mark.usefixtures("home")


POST_MODEL = '''"""Posts: added by the user after generation."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import TimestampedModel


class Post(TimestampedModel):
    __tablename__ = "posts"

    title: Mapped[str] = mapped_column(String(200))
'''
POST_MIGRATION = '''"""create posts

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "posts",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
    )


def downgrade():
    op.drop_table("posts")
'''
POST_TEST = """from flask import Flask

from {slug}.db import db
from {slug}.models import Post


def test_a_post_is_stored(app: Flask) -> None:
    db.session.add(Post(title="Hello"))
    db.session.commit()
    assert db.session.query(Post).one().title == "Hello"
"""


def make_typical_edits(project: Path, slug: str) -> dict[str, str]:
    """A model with its migration and test, an edited README line and config value."""
    models = project / slug / "models"
    (models / "post.py").write_text(POST_MODEL)
    init = models / "__init__.py"
    init.write_text(
        init.read_text()
        .replace("from .user import User\n", "from .post import Post\nfrom .user import User\n")
        .replace('__all__ = ["TimestampedModel"', '__all__ = ["Post", "TimestampedModel"')
    )
    (project / "migrations" / "versions" / "0002_create_posts.py").write_text(POST_MIGRATION)
    (project / "tests" / "test_posts.py").write_text(POST_TEST.format(slug=slug))
    readme = project / "README.md"
    first, rest = readme.read_text().split("\n", 1)
    readme.write_text(f"{first} - the billing service\n{rest}")
    gunicorn = project / "gunicorn.conf.py"
    keepalive = gunicorn.read_text().replace('"GUNICORN_KEEPALIVE", "5"', '"GUNICORN_KEEPALIVE", "10"')
    gunicorn.write_text(keepalive)
    commit_all(project, "posts, README, longer keep-alive")
    return {
        f"{slug}/models/post.py": POST_MODEL,
        "migrations/versions/0002_create_posts.py": POST_MIGRATION,
        "tests/test_posts.py": POST_TEST.format(slug=slug),
    }


@pytest.mark.slow
def test_real_template_previous_release_to_current_keeps_typical_edits(
    runner: CliRunner, real_template: Path, tmp_path: Path, venv_for: VenvFor
) -> None:
    project = new_project(runner, tmp_path / "billing", "--vcs-ref", "v0.1.0")
    assert answers_of(project)["_commit"] == "v0.1.0"
    owned = make_typical_edits(project, "billing")

    behind = runner.invoke(app, ["check", str(project)])
    assert behind.exit_code == 1, behind.output
    assert table_row(behind.stdout, project) == {
        "PROJECT": str(project),
        "VERSION": "v0.1.0",
        "LATEST": "v0.2.0",
        "STATUS": "behind",
        "RELEASES BEHIND": "1",
        # The template's files the edits touched, against a render of v0.1.0; not the user's own.
        "CHANGED FILES": "3: README.md, billing/models/__init__.py, gunicorn.conf.py",
    }
    result = runner.invoke(app, ["update", str(project), "--defaults"])
    assert result.exit_code == 0, result.output
    assert "template version v0.1.0 -> v0.2.0" in result.stdout
    assert answers_of(project)["_commit"] == "v0.2.0"
    for relative, text in owned.items():
        assert (project / relative).read_text() == text
    readme = (project / "README.md").read_text()
    assert readme.startswith("# billing - the billing service\n")
    assert "flaskgen check" in readme  # the README section v0.2.0 rewrote
    assert '"GUNICORN_KEEPALIVE", "10"' in (project / "gunicorn.conf.py").read_text()
    assert "from .post import Post" in (project / "billing" / "models" / "__init__.py").read_text()
    assert runner.invoke(app, ["check", str(project)]).exit_code == 0

    venv = venv_for(project)
    venv.run([str(venv.bin / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project)


@pytest.mark.slow
def test_real_template_answers_change_through_update(
    runner: CliRunner, real_template: Path, tmp_path: Path
) -> None:
    project = new_project(runner, tmp_path / "shop")
    before = snapshot(project)
    # The template's validator refuses SQLite on Fly.io: one line, and the project as it was.
    refused = runner.invoke(app, ["update", str(project), "--defaults", "--data", "deploy_target=fly"])
    assert_one_line_error(refused, 2, "invalid deploy_target", "database=postgresql")
    assert snapshot(project) == before and status(project) == ""

    args = ["update", str(project), "--defaults", "-d", "database=postgresql", "-d", "deploy_target=fly"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    answers = answers_of(project)
    assert (answers["database"], answers["deploy_target"]) == ("postgresql", "fly")
    assert "psycopg" in (project / "pyproject.toml").read_text()
    # The lock followed the merged pyproject.toml (the update regenerated it).
    assert 'name = "psycopg-binary"' in (project / "uv.lock").read_text()
    assert (project / "fly.toml").is_file()
    assert not (project / "deploy").exists()  # docker-ssh's files, unchanged by the user
    changed = output_section(result.stdout, "Changed files")
    assert "?? fly.toml" in changed and "M pyproject.toml" in changed and "M uv.lock" in changed


@pytest.mark.slow
def test_teammates_machine_updates_with_flaskgen_and_plain_copier(
    runner: CliRunner, real_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alice generates and pushes; Bob, with flaskgen installed in another HOME, updates."""
    project = new_project(runner, tmp_path / "alice" / "billing", "--vcs-ref", "v0.1.0")
    make_typical_edits(project, "billing")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(project), str(origin)], check=True)

    bob = tmp_path / "bob-home"
    bob.mkdir()
    monkeypatch.setenv("HOME", str(bob))
    with_flaskgen, with_copier = tmp_path / "bob" / "one", tmp_path / "bob" / "two"
    for clone in (with_flaskgen, with_copier):
        subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)

    installed = runner.invoke(app, ["check", str(with_copier)])  # any flaskgen command installs it
    assert installed.exit_code == 1, installed.output
    assert (bob / ".local" / "share" / "flaskgen" / "template.bundle").is_file()

    result = runner.invoke(app, ["update", str(with_flaskgen), "--defaults"])
    assert result.exit_code == 0, result.output
    out = subprocess.run(
        [tool("copier"), "update", "--defaults", "--trust", "--quiet"],
        cwd=with_copier,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "HOME": str(bob)},
    )
    assert out.returncode == 0, out.stderr
    assert answers_of(with_copier)["_commit"] == answers_of(with_flaskgen)["_commit"] == "v0.2.0"
    assert snapshot(with_copier) == snapshot(with_flaskgen)


def test_template_files_of_user_owned_folders_still_get_updates() -> None:
    """copier.yml's _skip_if_exists keeps the files a user adds in tests/ and models/; it
    must list the template's own files there with `!`, or they would never be updated."""
    config = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
    patterns = set(config["_skip_if_exists"])
    for folder, pattern in (("tests", "tests/"), ("<<project_slug>>/models", "<< project_slug >>/models/")):
        for path in sorted((REPO_ROOT / "template" / folder).iterdir()):
            if path.name == "__pycache__":
                continue
            rendered = path.name.removesuffix(".jinja")
            assert f"!{pattern}{rendered}" in patterns, f"add '!{pattern}{rendered}' to _skip_if_exists"


def tag_next_release(history: Path, tmp_path: Path, tag: str, files: dict[str, str | None]) -> Path:
    """A copy of a template history with one more release."""
    copy = tmp_path / f"history-{tag}"
    subprocess.run(["git", "clone", "-q", str(history), str(copy)], check=True)
    write_files(copy, files)
    commit_all(copy, f"release {tag}")
    git(copy, "tag", tag)
    return copy


@pytest.mark.slow
def test_real_template_update_leaves_the_migration_history_alone(
    runner: CliRunner, real_history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release that touches migrations/versions/ changes nothing there in projects."""
    versions = "template/migrations/versions"
    shipped = (real_history / versions / "0001_create_users.py").read_text()
    history = tag_next_release(
        real_history,
        tmp_path,
        "v0.3.0",
        {
            f"{versions}/0001_create_users.py": shipped.replace('"""create users', '"""create the users'),
            f"{versions}/0002_from_the_template.py": '"""would fork the history"""\n',
        },
    )
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(history))
    edited = new_project(runner, tmp_path / "edited", "--vcs-ref", "v0.2.0")
    initial = edited / "migrations" / "versions" / "0001_create_users.py"
    initial.write_text(initial.read_text().replace("sa.String(length=50)", "sa.String(length=80)"))
    commit_all(edited, "longer usernames, before the first deploy")
    squashed = new_project(runner, tmp_path / "squashed", "--vcs-ref", "v0.2.0")
    (squashed / "migrations" / "versions" / "0001_create_users.py").rename(
        squashed / "migrations" / "versions" / "0001_initial.py"
    )
    commit_all(squashed, "my own initial revision")

    for project in (edited, squashed):
        before = {p.name: p.read_bytes() for p in (project / "migrations" / "versions").iterdir()}
        result = runner.invoke(app, ["update", str(project), "--defaults"])
        assert result.exit_code == 0, result.output
        assert answers_of(project)["_commit"] == "v0.3.0"
        after = {p.name: p.read_bytes() for p in (project / "migrations" / "versions").iterdir()}
        assert after == before
    # A new project of that release gets the template's revisions, of course.
    fresh = new_project(runner, tmp_path / "fresh")
    assert (fresh / "migrations" / "versions" / "0002_from_the_template.py").is_file()


EXPORT_COMMANDS = (  # as the project's pre-commit hook writes requirements/
    "--locked --no-annotate --no-dev --quiet --output-file requirements/production.txt",
    "--locked --no-annotate --quiet --output-file requirements/dev.txt",
)


@pytest.mark.slow
def test_update_regenerates_the_lock_and_keeps_added_dependencies(
    runner: CliRunner, real_history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uv.lock is never merged as text: after an update it is the lock of the merged
    pyproject.toml, with the dependency the user added and the pin the release changed."""
    pyproject = "template/pyproject.toml.jinja"
    shipped = (real_history / pyproject).read_text()
    assert '"alembic==1.20.1",' in shipped
    # The release moves alembic (to the version before, which PyPI is sure to keep serving).
    history = tag_next_release(
        real_history, tmp_path, "v0.3.0", {pyproject: shipped.replace("alembic==1.20.1", "alembic==1.20.0")}
    )
    monkeypatch.setenv(bundle.TEMPLATE_REPO_ENV, str(history))
    project = new_project(runner, tmp_path / "billing", "--vcs-ref", "v0.2.0")
    uv = tool("uv")
    subprocess.run([uv, "add", "--quiet", "--no-sync", "six==1.17.0"], cwd=project, check=True)
    for command in EXPORT_COMMANDS:
        subprocess.run([uv, "export", *command.split()], cwd=project, check=True)
    commit_all(project, "six")

    result = runner.invoke(app, ["update", str(project), "--defaults"])

    assert result.exit_code == 0, result.output
    assert "Conflicts" not in result.stdout
    assert set(output_section(result.stdout, "Changed files")) >= {
        "M pyproject.toml",
        "M uv.lock",
        "M requirements/production.txt",
        "M requirements/dev.txt",
    }
    dependencies = tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]
    assert {"six==1.17.0", "alembic==1.20.0"} <= set(dependencies)
    lock = tomllib.loads((project / "uv.lock").read_text())
    versions = {package["name"]: package["version"] for package in lock["package"]}
    assert versions["six"] == "1.17.0" and versions["alembic"] == "1.20.0"
    # The lock and the exports are what uv writes for the merged pyproject.toml.
    subprocess.run([uv, "lock", "--check", "--quiet"], cwd=project, check=True)
    exported = {name: (project / "requirements" / name).read_text() for name in ("production.txt", "dev.txt")}
    assert "\nsix==1.17.0 \\\n" in exported["production.txt"]
    assert "\nalembic==1.20.0 \\\n" in exported["production.txt"]
    for command in EXPORT_COMMANDS:
        subprocess.run([uv, "export", *command.split()], cwd=project, check=True)
    assert {name: (project / "requirements" / name).read_text() for name in exported} == exported
