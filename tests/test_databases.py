"""Each database answer, proven on a real server: migrations up, down, up and concurrent, the
project's own tests, its CI test job and /readyz under Gunicorn.

PostgreSQL and MariaDB come from the machine (see support.SERVERS); these tests skip when a server
is unreachable, and fail instead under .ci/run.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from support import ProjectVenv, Render, free_port, http_get, http_post_json, require_server, serving
from test_generated_project import ORDER_MODEL, dockerfile_cmd_and_env

# Admin URL (SQLAlchemy form, for creating databases) and the URL form platforms hand out.
SERVER_URLS = {
    "postgresql": (
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        "postgres://postgres@127.0.0.1:5432/{name}",
    ),
    "mysql": ("mysql+pymysql://root@127.0.0.1:3306/mysql", "mariadb://root@127.0.0.1:3306/{name}"),
}

ADMIN_SCRIPT = """
import sys
from sqlalchemy import create_engine, text
with create_engine(sys.argv[1], isolation_level="AUTOCOMMIT").connect() as connection:
    for statement in sys.argv[2:]:
        connection.execute(text(statement))
"""


@dataclass
class DatabaseProject:
    database: str
    project: Path
    venv: ProjectVenv
    workdir: Path
    created: list[str] = field(default_factory=list)

    def new_database_url(self) -> str:
        """A fresh, empty database, in the URL form a hosting platform would hand out."""
        name = f"flaskgen_{uuid.uuid4().hex[:10]}"
        if self.database == "sqlite":
            return f"sqlite:///{self.workdir / name}.db"
        admin, url = SERVER_URLS[self.database]
        self.admin(admin, f"CREATE DATABASE {name}")
        self.created.append(name)
        return url.format(name=name)

    def admin(self, admin_url: str, *statements: str) -> None:
        self.venv.run(["python", "-c", ADMIN_SCRIPT, admin_url, *statements], cwd=self.workdir, timeout=60)

    def drop_created(self) -> None:
        if self.database != "sqlite" and self.created:
            admin, _ = SERVER_URLS[self.database]
            self.admin(admin, *(f"DROP DATABASE IF EXISTS {name}" for name in self.created))

    def production_env(self, database_url: str) -> dict[str, str]:
        return {"APP_ENV": "production", "SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": database_url}

    def flask_db(
        self, *args: str, project: Path | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return self.venv.run(["flask", "db", *args], cwd=project or self.project, **env)


@pytest.fixture(
    scope="module",
    # A worker per database (conftest.py): each runs the generated suite, outages included.
    params=[
        pytest.param("sqlite", marks=pytest.mark.xdist_group("databases-sqlite")),
        pytest.param(
            "postgresql", marks=[pytest.mark.postgres, pytest.mark.xdist_group("databases-postgresql")]
        ),
        pytest.param("mysql", marks=[pytest.mark.mysql, pytest.mark.xdist_group("databases-mysql")]),
    ],
)
def db_project(
    render: Render,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    venv_for: Callable[[Path], ProjectVenv],
) -> Iterator[DatabaseProject]:
    database = request.param
    if database != "sqlite":
        require_server(database)
    workdir = tmp_path_factory.mktemp(f"db-{database}")
    project = render(workdir / "inventory", database=database)
    handle = DatabaseProject(database, project, venv_for(project), workdir)
    yield handle
    handle.drop_created()


def test_driver_and_engine_options_follow_the_answer(db_project: DatabaseProject) -> None:
    requirements = (db_project.project / "pyproject.toml").read_text()
    expected = {"sqlite": None, "postgresql": "psycopg[binary]==", "mysql": "pymysql=="}[db_project.database]
    for driver in ("psycopg", "pymysql"):
        assert (driver in requirements) == (expected is not None and expected.startswith(driver))
    config = db_project.venv.run(
        [
            "python",
            "-c",
            "import json; from inventory.config import load_config; c = load_config('production'); "
            "print(json.dumps([c['SQLALCHEMY_DATABASE_URI'], c['SQLALCHEMY_ENGINE_OPTIONS']]))",
        ],
        cwd=db_project.project,
        **db_project.production_env(
            {
                "sqlite": "sqlite:////tmp/x.db",
                "postgresql": "postgres://u:p@h/d",
                "mysql": "mariadb://u:p@h/d",
            }[db_project.database]
        ),
    )
    uri, options = json.loads(config.stdout)
    if db_project.database == "postgresql":
        assert uri == "postgresql+psycopg://u:p@h/d"
        assert options["connect_args"] == {"connect_timeout": 3}
    elif db_project.database == "mysql":
        assert uri == "mysql+pymysql://u:p@h/d?charset=utf8mb4" and options["pool_recycle"] < 3600
        assert options["connect_args"]["connect_timeout"] == options["connect_args"]["read_timeout"] == 3
    else:
        assert uri == "sqlite:////tmp/x.db" and options == {}


def test_migrations_upgrade_check_downgrade_upgrade(db_project: DatabaseProject) -> None:
    env = db_project.production_env(db_project.new_database_url())
    db_project.flask_db("upgrade", **env)
    db_project.flask_db("check", **env)
    db_project.flask_db("downgrade", "base", **env)
    db_project.flask_db("upgrade", **env)
    db_project.flask_db("check", **env)


def test_concurrent_upgrades_all_succeed(db_project: DatabaseProject) -> None:
    env = db_project.venv.env(**db_project.production_env(db_project.new_database_url()))
    processes = [
        subprocess.Popen(
            ["flask", "db", "upgrade"],
            cwd=db_project.project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, "\n".join(outputs)
    # The lock made them take turns: exactly one of them created the schema.
    assert sum("Running upgrade  -> 0001" in output for output in outputs) == 1
    db_project.flask_db("check", **{k: env[k] for k in ("APP_ENV", "SECRET_KEY", "DATABASE_URL")})


def test_a_new_model_migrates_cleanly(render: Render, db_project: DatabaseProject, tmp_path: Path) -> None:
    project = render(tmp_path / "inventory", database=db_project.database)
    env = db_project.production_env(db_project.new_database_url())
    db_project.flask_db("upgrade", project=project, **env)
    (project / "inventory/models/order.py").write_text(ORDER_MODEL)
    init = project / "inventory/models/__init__.py"
    init.write_text(init.read_text() + "from .order import Order  # noqa: E402\n")
    db_project.flask_db("migrate", "-m", "add orders", project=project, **env)
    (revision,) = (project / "migrations/versions").glob("*_add_orders.py")
    assert "fk_orders_user_id_users" in revision.read_text()
    db_project.flask_db("upgrade", project=project, **env)
    db_project.flask_db("check", project=project, **env)
    db_project.flask_db("downgrade", "0001", project=project, **env)
    db_project.flask_db("upgrade", project=project, **env)


def test_ci_test_job_commands_pass_against_the_database(db_project: DatabaseProject) -> None:
    """The CI test job's commands, the generated suite's among them: every test of it runs (its
    outage tests included) and passes against the server, none skipped."""
    workflow = yaml.safe_load((db_project.project / ".github/workflows/ci.yml").read_text())
    job = workflow["jobs"]["test"]
    if db_project.database == "sqlite":
        assert "services" not in job
    else:
        (service,) = job["services"].values()
        assert re.fullmatch(r"(postgres|mariadb):[\d.]+(-\w+)?", service["image"])
        assert "--health-cmd" in service["options"]
    # The machine's server stands in for the service container.
    database_url = db_project.new_database_url()
    suite_ran = False
    for step in job["steps"]:
        command = step.get("run")
        if command is None or command == "uv sync":
            continue  # actions and the install: the venv already holds the locked packages
        env = {**job.get("env", {}), **step.get("env", {})}
        env = {
            key: str(value).replace("${{ env.TEST_DATABASE_URL }}", database_url)
            for key, value in env.items()
        }
        env["TEST_DATABASE_URL"] = database_url
        if env.get("DATABASE_URL", "").startswith("${{"):
            env["DATABASE_URL"] = database_url
        if "PORT" in env:  # a step that serves the app: on a port free on this shared machine
            env["PORT"] = str(free_port())
        result = db_project.venv.run(["bash", "-e", "-c", command], cwd=db_project.project, **env)
        if "pytest" in command:
            suite_ran = True
            assert re.search(r"\b\d+ passed\b", result.stdout), result.stdout[-3000:]
            assert "skipped" not in result.stdout, result.stdout[-3000:]
    assert suite_ran, "the CI test job no longer runs pytest"


def test_readyz_under_gunicorn(db_project: DatabaseProject) -> None:
    cmd, image_env = dockerfile_cmd_and_env(db_project.project)
    env = db_project.production_env(db_project.new_database_url())
    db_project.flask_db("upgrade", **env)
    port = free_port()
    with serving(
        cmd, db_project.project, db_project.venv.env(**{**image_env, **env, "PORT": str(port)}), port
    ):
        status, body = http_get(f"http://127.0.0.1:{port}/readyz")
        assert status == 200, body
        assert json.loads(body)["checks"] == {"database": "ok"}
        assert http_post_json(f"http://127.0.0.1:{port}/api/users", b'{"username": "ada"}')[0] == 201


def test_production_database_url_rule(db_project: DatabaseProject) -> None:
    """A server database must be named in production; SQLite falls back to the instance folder."""
    env = db_project.production_env("")
    result = db_project.flask_db("upgrade", check=False, **env)
    assert "Traceback" not in result.stderr
    if db_project.database == "sqlite":
        assert result.returncode == 0, result.stderr
        assert (db_project.project / "instance" / "app.db").is_file()
    else:
        assert result.returncode != 0
        assert "DATABASE_URL is not set" in result.stderr


@pytest.mark.parametrize("fault", ["unreachable", "no-database-name"])
def test_flask_db_upgrade_refuses_a_bad_database_in_one_line(db_project: DatabaseProject, fault: str) -> None:
    """The real CLI, as a release step runs it: one line naming the server, never the password."""
    if db_project.database == "sqlite":
        url = f"sqlite:///{db_project.workdir / 'missing-folder' / 'app.db'}"
        expected = "cannot open the SQLite database"
    elif fault == "unreachable":
        scheme = {"postgresql": "postgresql", "mysql": "mysql"}[db_project.database]
        url = f"{scheme}://app:hunter2hunter2@127.0.0.1:{free_port()}/appdb"
        expected = "cannot reach the database 'appdb' at 127.0.0.1:"
    else:
        url = {"postgresql": "postgres://app:hunter2hunter2@127.0.0.1:5432", "mysql": "mysql://"}[
            db_project.database
        ]
        expected = "DATABASE_URL names no database"
    result = db_project.flask_db("upgrade", check=False, **db_project.production_env(url))
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and expected in errors[0], result.stderr
    assert "hunter2" not in result.stderr
