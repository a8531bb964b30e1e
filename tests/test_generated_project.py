"""The project generated with the default answers works on the first command, for real."""

from __future__ import annotations

import json
import re
import secrets
import shlex
import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from pytest_copie.plugin import Copie

from support import REPO_ROOT, ProjectVenv, Render, free_port, http_get, http_post_json, serving, tool

VenvFor = Callable[[Path], ProjectVenv]

ORDER_MODEL = '''"""Orders: added by the test of the development loop."""

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from .base import TimestampedModel


class Order(TimestampedModel):
    __tablename__ = "orders"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
'''


def dockerfile_instruction(project: Path, keyword: str) -> list[str]:
    """The arguments of every `keyword` instruction of the Dockerfile, continuation lines joined."""
    text = (project / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.split(None, 1)[1] for line in text.splitlines() if line.startswith(f"{keyword} ")]


def dockerfile_cmd_and_env(project: Path) -> tuple[list[str], dict[str, str]]:
    """The image's command and the environment its runtime stage (the last) sets, without PATH
    and without values that only a build argument gives."""
    (cmd,) = dockerfile_instruction(project, "CMD")
    text = (project / "Dockerfile").read_text().replace("\\\n", " ")
    env = {}
    for line in text[text.rindex("\nFROM ") :].splitlines():
        if line.startswith("ENV "):
            for pair in shlex.split(line.split(None, 1)[1]):
                key, _, value = pair.partition("=")
                if not value.startswith("$"):  # e.g. APP_RELEASE=$APP_RELEASE: set at build time
                    env[key] = value
    env.pop("PATH", None)
    return json.loads(cmd), env


def test_default_answers_render_the_documented_layout(default_project: Path) -> None:
    slug = "acme_service"
    for relative in [
        f"{slug}/__init__.py",
        f"{slug}/config.py",
        f"{slug}/db.py",
        f"{slug}/logging_config.py",
        f"{slug}/models/base.py",
        f"{slug}/models/user.py",
        f"{slug}/health.py",
        f"{slug}/users.py",
        "migrations/env.py",
        "migrations/alembic.ini",
        "migrations/script.py.mako",
        "migrations/versions/0001_create_users.py",
        "gunicorn.conf.py",
        "Dockerfile",
        ".dockerignore",
        "pyproject.toml",
        "uv.lock",
        "requirements/production.txt",
        "requirements/dev.txt",
        ".pre-commit-config.yaml",
        ".python-version",
        ".flaskenv",
        ".env.example",
        ".gitignore",
        "README.md",
        ".github/workflows/ci.yml",
        "tests/conftest.py",
    ]:
        assert (default_project / relative).is_file(), relative
    assert not (default_project / ".env").exists()
    answers = yaml.safe_load((default_project / ".copier-answers.yml").read_text())
    assert answers["project_slug"] == slug
    assert answers["database"] == "sqlite"
    assert answers["python_version"] == "3.14"
    assert "_src_path" in answers
    assert "FLASK_ENV" not in "".join(p.read_text() for p in default_project.rglob("*.py"))


def test_generated_tests_pass_with_warnings_as_errors(default_project: Path, venv_for: VenvFor) -> None:
    result = venv_for(default_project).run(
        ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"], cwd=default_project
    )
    assert re.search(r"\b\d+ passed\b", result.stdout)
    assert "skipped" not in result.stdout


def test_generated_code_is_ruff_clean(default_project: Path, venv_for: VenvFor) -> None:
    venv = venv_for(default_project)
    venv.run(["ruff", "check", "--no-cache", "."], cwd=default_project)
    venv.run(["ruff", "format", "--no-cache", "--check", "."], cwd=default_project)


def test_dockerfile_passes_hadolint(default_project: Path, venv_for: VenvFor) -> None:
    venv = venv_for(default_project)
    result = venv.run(
        [tool("hadolint"), "--failure-threshold", "style", "Dockerfile"], cwd=default_project, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    cmd, env = dockerfile_cmd_and_env(default_project)
    assert cmd == ["gunicorn", "--config", "gunicorn.conf.py"]
    assert env["APP_ENV"] == "production"
    assert "USER 10001:10001" in (default_project / "Dockerfile").read_text()


def test_github_config_passes_zizmor_and_the_workflow_schema(
    default_project: Path, venv_for: VenvFor
) -> None:
    venv = venv_for(default_project)
    workflow = ".github/workflows/ci.yml"
    zizmor = venv.run(  # the whole of .github/: the workflow and Dependabot's config
        [tool("zizmor"), "--offline", "--min-severity", "low", ".github/"], cwd=default_project, check=False
    )
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr
    venv.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", workflow],
        cwd=default_project,
    )
    parsed = yaml.safe_load((default_project / workflow).read_text())
    assert parsed["permissions"] == {}
    for job in parsed["jobs"].values():
        assert job["timeout-minutes"]
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_migrations_and_the_development_loop(render: Render, tmp_path: Path, venv_for: VenvFor) -> None:
    project = render(tmp_path / "shop")
    venv = venv_for(project)
    venv.run(["flask", "db", "upgrade"], cwd=project)
    venv.run(["flask", "db", "check"], cwd=project)
    assert (project / "instance" / "app.db").is_file()

    # The seed's loop: change a model, generate a revision, review, upgrade.
    (project / "shop/models/order.py").write_text(ORDER_MODEL)
    init = project / "shop/models/__init__.py"
    init.write_text(init.read_text() + "from .order import Order  # noqa: E402\n")
    stale = venv.run(["flask", "db", "check"], cwd=project, check=False)
    assert stale.returncode != 0
    venv.run(["flask", "db", "migrate", "-m", "add orders"], cwd=project)
    (revision,) = (project / "migrations/versions").glob("*_add_orders.py")
    text = revision.read_text()
    assert "op.create_table" in text and "fk_orders_user_id_users" in text
    assert "down_revision = '0001'" in text or 'down_revision = "0001"' in text
    venv.run(["flask", "db", "upgrade"], cwd=project)
    venv.run(["flask", "db", "check"], cwd=project)
    # The project's own migration tests now cover the new revision too.
    venv.run(
        ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_migrations.py"], cwd=project
    )


def test_dockerfile_cmd_serves_the_app(render: Render, tmp_path: Path, venv_for: VenvFor) -> None:
    project = render(tmp_path / "served")
    venv = venv_for(project)
    cmd, image_env = dockerfile_cmd_and_env(project)
    port = free_port()
    env = venv.env(**{**image_env, "PORT": str(port)}, SECRET_KEY=secrets.token_hex(32), WEB_CONCURRENCY="2")
    # The release step first, as every deploy target runs it.
    venv.run(["flask", "db", "upgrade"], cwd=project, **{k: env[k] for k in ("APP_ENV", "SECRET_KEY")})
    with serving(cmd, project, env, port) as process:
        base = f"http://127.0.0.1:{port}"
        assert http_get(f"{base}/healthz") == (200, b'{"status":"ok"}\n')
        assert http_get(f"{base}/readyz")[0] == 200
        status, body = http_post_json(f"{base}/api/users", b'{"username": "ada"}')
        assert status == 201, body
        status, body = http_get(f"{base}/api/users")
        assert [user["username"] for user in json.loads(body)["users"]] == ["ada"]
        assert http_post_json(f"{base}/api/users", b'{"username": "ada"}')[0] == 409
    log_lines = [line for line in process.stdout.read().splitlines() if line.strip()]
    records = [json.loads(line) for line in log_lines]  # production logs are JSON lines
    assert any(
        record["logger"] == "gunicorn.access" and "/healthz" in record["message"] for record in records
    )


@pytest.mark.parametrize(
    "command", [["gunicorn", "--config", "gunicorn.conf.py"], ["flask", "db", "upgrade"]]
)
def test_production_without_secret_key_refuses_in_one_line(
    default_project: Path, venv_for: VenvFor, command: list[str]
) -> None:
    venv = venv_for(default_project)
    result = venv.run(
        command, cwd=default_project, check=False, timeout=60, APP_ENV="production", PORT=str(free_port())
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if "SECRET_KEY" in line]
    assert len(errors) == 1 and "SECRET_KEY is not set" in errors[0]


@pytest.mark.parametrize("python_version", ["3.11", "3.12", "3.13", "3.14"])
def test_python_version_reaches_image_and_ci(render: Render, tmp_path: Path, python_version: str) -> None:
    project = render(tmp_path / "versioned", python_version=python_version)
    froms = dockerfile_instruction(project, "FROM")
    assert froms and all(line.startswith(f"python:{python_version}-slim") for line in froms)
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    assert workflow["env"]["PYTHON_VERSION"] == python_version
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["tool"]["ruff"]["target-version"] == f"py{python_version.replace('.', '')}"
    assert pyproject["tool"]["mypy"]["python_version"] == python_version
    # uv sync picks the answered Python; the one lock serves every version the template offers.
    assert (project / ".python-version").read_text() == f"{python_version}\n"
    assert pyproject["project"]["requires-python"] == ">=3.11"


def test_bytecode_in_an_installed_template_never_reaches_a_project(
    copie_session: Copie, tmp_path: Path
) -> None:
    """`pip install` compiles the bundled template's .py files; the project gets none of them."""
    source = tmp_path / "installed"
    shutil.copytree(REPO_ROOT / "template", source / "template")
    shutil.copy(REPO_ROOT / "copier.yml", source / "copier.yml")
    shutil.copytree(REPO_ROOT / "locks", source / "locks")
    for package in (source / "template").rglob("*.py"):
        cache = package.parent / "__pycache__"
        cache.mkdir(exist_ok=True)
        (cache / f"{package.stem}.cpython-311.pyc").write_bytes(b"\x00")
    result = copie_session.copy(extra_answers={"project_name": "clean"}, template_dir=source)
    assert result.exception is None, result.exception
    project = result.project_dir
    assert (project / "clean/__init__.py").is_file()
    assert not [path for path in project.rglob("*") if path.name == "__pycache__" or path.suffix == ".pyc"]
