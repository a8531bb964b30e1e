"""auth=token for real, on each database: migrations with and without RabbitMQ's, the generated
suite with its limiter counting in the real Redis, and the whole flow under Gunicorn with
production settings. A user made with `flask users create` logs in, writes, refreshes, logs out
and is refused after; a brute-force loop is throttled across workers, Redis counting for all.

PostgreSQL, MariaDB and Redis come from the machine (see support.SERVERS); these tests skip when
a server is unreachable, and fail instead under .ci/run.
"""

from __future__ import annotations

import json
import secrets
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import ProjectVenv, Render, free_port, require_server, serving
from test_databases import DatabaseProject
from test_generated_project import dockerfile_cmd_and_env

pytestmark = pytest.mark.redis

PASSWORD = "a long enough passphrase"
# Redis databases 0-15 exist on every server; the key prefix keeps each run's counts apart.
REDIS_URL = "redis://127.0.0.1:6379/0"
SERVER_MARKS = {"postgresql": pytest.mark.postgres, "mysql": pytest.mark.mysql}


def database_params(*, rabbitmq: bool) -> list[Any]:
    params = []
    for database in ("sqlite", "postgresql", "mysql"):
        for with_rabbitmq in (False, True) if rabbitmq else (False,):
            name = f"{database}{'-rabbitmq' if with_rabbitmq else ''}"
            marks = [SERVER_MARKS[database]] if database in SERVER_MARKS else []
            params.append(pytest.param((database, with_rabbitmq), id=name, marks=marks))
    return params


def token_project(
    answers: tuple[str, bool],
    render: Render,
    tmp_path_factory: pytest.TempPathFactory,
    venv_for: Callable[[Path], ProjectVenv],
) -> Iterator[DatabaseProject]:
    database, rabbitmq = answers
    require_server("redis")
    if database != "sqlite":
        require_server(database)
    workdir = tmp_path_factory.mktemp(f"auth-{database}")
    project = render(workdir / "vault", database=database, use_rabbitmq=rabbitmq, auth="token")
    handle = DatabaseProject(database, project, venv_for(project), workdir)
    yield handle
    handle.drop_created()


@pytest.fixture(scope="module", params=database_params(rabbitmq=True))
def any_token_project(
    request: pytest.FixtureRequest,
    render: Render,
    tmp_path_factory: pytest.TempPathFactory,
    venv_for: Callable[[Path], ProjectVenv],
) -> Iterator[DatabaseProject]:
    """auth=token with each database, with and without RabbitMQ."""
    yield from token_project(request.param, render, tmp_path_factory, venv_for)


@pytest.fixture(scope="module", params=database_params(rabbitmq=False))
def db_token_project(
    request: pytest.FixtureRequest,
    render: Render,
    tmp_path_factory: pytest.TempPathFactory,
    venv_for: Callable[[Path], ProjectVenv],
) -> Iterator[DatabaseProject]:
    """auth=token with each database."""
    yield from token_project(request.param, render, tmp_path_factory, venv_for)


REDIS_DATABASES = {"sqlite": 1, "postgresql": 2, "mysql": 3}  # 0 is the generated suites'


def own_redis_database(database: str) -> str:
    """The URL of a Redis database kept for `database`'s tests, emptied first (FLUSHDB)."""
    number = str(REDIS_DATABASES[database])
    commands = [("SELECT", number), ("FLUSHDB",)]
    request = b"".join(
        f"*{len(c)}\r\n".encode() + b"".join(f"${len(a)}\r\n{a}\r\n".encode() for a in c) for c in commands
    )
    with socket.create_connection(("127.0.0.1", 6379), timeout=10) as connection:
        connection.sendall(request)
        replies = b""
        while replies.count(b"\r\n") < len(commands):
            chunk = connection.recv(1024)
            if not chunk:
                break
            replies += chunk
    assert replies == b"+OK\r\n" * len(commands), replies
    return f"redis://127.0.0.1:6379/{number}"


def production_env(project: DatabaseProject, database_url: str, **extra: str) -> dict[str, str]:
    return {
        **project.production_env(database_url),
        "JWT_SECRET_KEY": secrets.token_hex(32),
        # A Redis database of this test's own: the three databases' runs count logins at once,
        # all from 127.0.0.1 for the same user names.
        "RATELIMIT_STORAGE_URI": own_redis_database(project.database),
        "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/%2F",  # read only with use_rabbitmq
        **extra,
    }


def call(method: str, url: str, body: object = None, token: str = "") -> tuple[int, Any, Any]:
    """(status, headers, JSON body or None) of one request."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, answer_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, raw = error.code, error.headers, error.read()
    return status, answer_headers, json.loads(raw) if raw else None


def test_migrations_upgrade_check_downgrade_upgrade(any_token_project: DatabaseProject) -> None:
    project = any_token_project
    env = production_env(project, project.new_database_url())
    assert "0004" in project.flask_db("upgrade", **env).stderr
    project.flask_db("check", **env)
    project.flask_db("downgrade", "base", **env)
    project.flask_db("upgrade", **env)
    project.flask_db("check", **env)


def test_the_whole_flow_under_gunicorn(db_token_project: DatabaseProject) -> None:
    project = db_token_project
    env = production_env(project, project.new_database_url(), LOGIN_RATE_LIMIT="5 per minute")
    project.flask_db("upgrade", **env)
    created = project.venv.run(
        ["flask", "users", "create", "ada", "--password", PASSWORD], cwd=project.project, **env
    )
    assert created.stdout.startswith("created user ada")
    cmd, image_env = dockerfile_cmd_and_env(project.project)
    port = free_port()
    base = f"http://127.0.0.1:{port}/api"
    server_env = {**image_env, **env, "PORT": str(port), "WEB_CONCURRENCY": "2"}
    with serving(cmd, project.project, project.venv.env(**server_env), port):
        status, headers, body = call("POST", f"{base}/users", {"username": "grace"})
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer realm=")
        assert body["error"]["code"] == 401

        credentials = {"username": "ada", "password": PASSWORD}
        status, headers, tokens = call("POST", f"{base}/auth/token", credentials)
        assert status == 200 and headers["Cache-Control"] == "no-store", tokens
        assert call("POST", f"{base}/users", {"username": "grace"}, tokens["access_token"])[0] == 201

        status, _, renewed = call("POST", f"{base}/auth/refresh", {"refresh_token": tokens["refresh_token"]})
        assert status == 200
        reused = call("POST", f"{base}/auth/refresh", {"refresh_token": tokens["refresh_token"]})
        assert reused[0] == 401  # rotated: and the session it belonged to is now revoked
        again = call("POST", f"{base}/auth/token", credentials)[2]
        assert call("POST", f"{base}/users", {"username": "linus"}, again["access_token"])[0] == 201
        assert call("POST", f"{base}/auth/logout", {"refresh_token": again["refresh_token"]})[0] == 204
        assert call("POST", f"{base}/users", {"username": "mallory"}, again["access_token"])[0] == 401
        assert call("POST", f"{base}/auth/refresh", {"refresh_token": again["refresh_token"]})[0] == 401
        assert call("POST", f"{base}/users", {"username": "mallory"}, renewed["access_token"])[0] == 401

        # Two logins so far; two workers, one count in Redis: the 6th attempt is refused.
        statuses = [
            call("POST", f"{base}/auth/token", {"username": "ada", "password": f"guess {n}"})
            for n in range(5)
        ]
        assert [status for status, _, _ in statuses] == [401, 401, 401, 429, 429]
        _, headers, body = statuses[-1]
        assert 0 < int(headers["Retry-After"]) <= 60
        assert body["error"] == {
            "code": 429,
            "name": "Too Many Requests",
            "message": "too many login attempts: wait for the seconds in Retry-After",
        }


@pytest.fixture(scope="module")
def sqlite_token_project(
    render: Render, tmp_path_factory: pytest.TempPathFactory, venv_for: Callable[[Path], ProjectVenv]
) -> Iterator[DatabaseProject]:
    yield from token_project(("sqlite", False), render, tmp_path_factory, venv_for)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"JWT_SECRET_KEY": "changeme"}, "JWT_SECRET_KEY is too short (8 characters)"),
        ({"RATELIMIT_STORAGE_URI": "memory://"}, "RATELIMIT_STORAGE_URI is a 'memory' store"),
        ({"RATELIMIT_STORAGE_URI": ""}, "RATELIMIT_STORAGE_URI is not set"),
    ],
)
def test_production_refuses_weak_auth_settings_in_one_line(
    sqlite_token_project: DatabaseProject, setting: dict[str, str], message: str
) -> None:
    project = sqlite_token_project
    env = production_env(project, f"sqlite:///{project.workdir / 'refused.db'}", **setting)
    result = project.flask_db("upgrade", check=False, **env)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and message in errors[0], result.stderr


# Pairwise, as the answer matrix: on PostgreSQL, where the suite's outage tests run with
# auth=token's variants. The matrix runs the SQLite and MySQL token projects' suites but their
# outage files; test_databases.py runs this job (its outage tests and Schemathesis step) with
# auth=none on each database.
@pytest.mark.parametrize(
    "db_token_project", [p for p in database_params(rabbitmq=False) if p.id == "postgresql"], indirect=True
)
def test_ci_test_job_passes_with_redis(db_token_project: DatabaseProject) -> None:
    """The GitHub test job as CI runs it: the suite, the migrations, Schemathesis against the app
    under Gunicorn with production settings; the machine's servers and Redis stand in for the
    job's service containers."""
    workflow = yaml.safe_load((db_token_project.project / ".github/workflows/ci.yml").read_text())
    job = workflow["jobs"]["test"]
    assert job["services"]["redis"]["image"].startswith("redis:")
    assert job["env"]["TEST_RATELIMIT_STORAGE_URI"] == "redis://localhost:6379/0"
    database_url = db_token_project.new_database_url()
    placeholders = {
        "${{ env.TEST_DATABASE_URL }}": database_url,
        "${{ env.TEST_RATELIMIT_STORAGE_URI }}": REDIS_URL,
    }
    ran: list[str] = []
    suites: list[str] = []
    for step in job["steps"]:
        command = step.get("run")
        if command is None or command == "uv sync":
            continue  # actions and the install: the venv already holds the locked packages
        env = {**job.get("env", {}), **step.get("env", {})}
        for placeholder, value in placeholders.items():
            env = {key: str(setting).replace(placeholder, value) for key, setting in env.items()}
        env.update(TEST_DATABASE_URL=database_url, TEST_RATELIMIT_STORAGE_URI=REDIS_URL)
        if "PORT" in env:  # a step that serves the app: on a port free on this shared machine
            env["PORT"] = str(free_port())
        project = db_token_project.project
        result = db_token_project.venv.run(["bash", "-e", "-c", command], cwd=project, timeout=900, **env)
        ran.append(step.get("name", command))
        if "pytest" in command:  # the generated suite, the limiter's tests counting in Redis
            summary = result.stdout.strip().splitlines()[-1]
            assert " passed" in summary and "skipped" not in summary, result.stdout[-3000:]
            suites.append(result.stdout)
    assert any("schemathesis" in name for name in ran), ran
    assert len(suites) == 1, ran
    collect = ["python", "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider"]
    collected = db_token_project.venv.run(collect, cwd=db_token_project.project)
    assert "tests/test_auth_rate_limit.py" in collected.stdout
