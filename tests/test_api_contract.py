"""The generated CI's API contract step, for real: Schemathesis fuzzes the project served by
Gunicorn on each database server (sqlite, PostgreSQL, MariaDB) and finds nothing; it fails on
an app that breaks its document; `flask spec` rewrites openapi.json.

PostgreSQL and MariaDB come from the machine; these skip when a server is unreachable (and
fail under .ci/run), as tests/test_databases.py does.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

import test_databases
from support import ProjectVenv, Render, free_port
from test_databases import DatabaseProject

# The project of each database answer, rendered and installed once for this module.
db_project = test_databases.db_project
STEP = "API contract (schemathesis against the running app)"


def contract_step(project: Path) -> dict:
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    [step] = [step for step in workflow["jobs"]["test"]["steps"] if step.get("name") == STEP]
    return step


def run_contract_step(db_project: DatabaseProject, project: Path) -> tuple[int, str]:
    """The CI step's own commands, against a fresh, migrated database of the server."""
    step = contract_step(db_project.project)
    env = db_project.production_env(db_project.new_database_url())
    db_project.flask_db("upgrade", project=project, **env)
    env = {**step["env"], "DATABASE_URL": env["DATABASE_URL"], "PORT": str(free_port())}
    result = db_project.venv.run(
        ["bash", "-e", "-c", step["run"]], cwd=project, timeout=600, check=False, **env
    )
    return result.returncode, result.stdout + result.stderr


def test_schemathesis_finds_nothing_on_each_database(db_project: DatabaseProject) -> None:
    returncode, output = run_contract_step(db_project, db_project.project)
    assert returncode == 0, output[-6000:]
    assert "No issues found" in output, output[-3000:]
    assert "5 selected / 5 total" in output  # every operation of the document was fuzzed


@pytest.fixture(scope="module")
def sqlite_project(
    render: Render,
    tmp_path_factory: pytest.TempPathFactory,
    venv_for: Callable[[Path], ProjectVenv],
) -> DatabaseProject:
    """For what depends on the app, not the database."""
    workdir = tmp_path_factory.mktemp("contract-sqlite")
    project = render(workdir / "inventory", database="sqlite")
    return DatabaseProject("sqlite", project, venv_for(project), workdir)


def test_the_step_fails_on_an_app_that_breaks_its_document(
    sqlite_project: DatabaseProject, tmp_path: Path
) -> None:
    db_project = sqlite_project
    broken = tmp_path / "inventory"
    shutil.copytree(db_project.project, broken, ignore=shutil.ignore_patterns(".schemathesis"))
    users = broken / "inventory" / "users.py"
    source = users.read_text()
    # Answers 200 where the document says 201: a status code the document does not declare.
    assert "response.status_code = 201" in source
    users.write_text(source.replace("response.status_code = 201", "response.status_code = 200"))
    returncode, output = run_contract_step(db_project, broken)
    assert returncode != 0, output[-3000:]
    assert "Undocumented status code" in output, output[-3000:]


def test_flask_spec_rewrites_openapi_json(sqlite_project: DatabaseProject, tmp_path: Path) -> None:
    db_project = sqlite_project
    project = tmp_path / "inventory"
    shutil.copytree(db_project.project, project)
    committed = (project / "openapi.json").read_text()
    (project / "openapi.json").write_text("{}\n")
    db_project.venv.run(["flask", "spec", "--quiet"], cwd=project, APP_ENV="testing")
    assert (project / "openapi.json").read_text() == committed
    assert json.loads(committed)["info"]["title"] == "inventory"
