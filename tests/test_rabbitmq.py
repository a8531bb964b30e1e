"""The use_rabbitmq answer: the generated worker proven against the machine's RabbitMQ, and
nothing of it in a project that answered no.

The broker comes from the machine (support.SERVERS); these tests skip when it is unreachable,
and fail instead under .ci/run.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from support import ProjectVenv, Render, require_server, skip_unless_required, tool
from test_databases import ADMIN_SCRIPT, SERVER_URLS

VenvFor = Callable[[Path], ProjectVenv]

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
SLUG = "courier"
RABBITMQ_FILES = [
    f"{SLUG}/rabbitmq_consumer.py",
    f"{SLUG}/messaging.py",
    f"{SLUG}/message_handlers.py",
    f"{SLUG}/models/processed_message.py",
    f"{SLUG}/models/outbox_message.py",
    "migrations/versions/0002_create_processed_messages.py",
    "migrations/versions/0003_create_outbox_messages.py",
    "tests/test_rabbitmq_worker.py",
    "tests/test_rabbitmq_broker.py",
    "tests/worker_with_test_handlers.py",
]
BROKER_TESTS = 11  # the tests of tests/test_rabbitmq_broker.py, parameters included


# Byte-compiles the venv's packages, as pip does on a user's install (uv does not by default):
# with PYTHONDONTWRITEBYTECODE set, every worker subprocess would otherwise re-parse them.
COMPILE_SITE_PACKAGES = (
    "import compileall, sysconfig; "
    "compileall.compile_dir(sysconfig.get_paths()['purelib'], quiet=1, workers=0)"
)


def compiled_venv(venv_for: VenvFor, project: Path) -> ProjectVenv:
    venv = venv_for(project)
    venv.run(["python", "-c", COMPILE_SITE_PACKAGES], cwd=project)
    return venv


@pytest.fixture(scope="module")
def project(render: Render, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project rendered with use_rabbitmq=True (SQLite); tests must not change it."""
    return render(tmp_path_factory.mktemp("rabbitmq") / SLUG, use_rabbitmq=True)


@pytest.fixture(scope="module")
def venv(project: Path, venv_for: VenvFor) -> ProjectVenv:
    return compiled_venv(venv_for, project)


def broker_test_results(output: str) -> list[str]:
    return re.findall(r"tests/test_rabbitmq_broker\.py::\S+ (PASSED|FAILED|SKIPPED|ERROR)", output)


def test_no_means_no_pika_no_worker_no_broker(default_project: Path) -> None:
    assert "pika" not in (default_project / "uv.lock").read_text()
    for relative in RABBITMQ_FILES:
        assert not (default_project / relative.replace(SLUG, "acme_service")).exists(), relative
    assert not list(default_project.rglob("*rabbitmq*")) and not list(default_project.rglob("*messag*"))
    compose = yaml.safe_load((default_project / "compose.yaml").read_text())
    assert set(compose["services"]) == {"app"}
    workflow = yaml.safe_load((default_project / ".github/workflows/ci.yml").read_text())
    assert (
        "services" not in workflow["jobs"]["test"] and "RABBITMQ_URL" not in workflow["jobs"]["test"]["env"]
    )
    for name in (".env.example", "README.md", "acme_service/config.py", "acme_service/__init__.py"):
        assert "rabbitmq" not in (default_project / name).read_text().lower(), name


def test_yes_adds_the_worker_files_and_pins_pika(project: Path) -> None:
    for relative in RABBITMQ_FILES:
        assert (project / relative).is_file(), relative
    assert '    "pika==1.4.4",' in (project / "pyproject.toml").read_text().splitlines()
    assert 'name = "pika"' in (project / "uv.lock").read_text().splitlines()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["use_rabbitmq"] is True
    readme = (project / "README.md").read_text()
    assert "## Background work" in readme and f"flask --app {SLUG} consume" in readme
    assert "RABBITMQ_URL=" in (project / ".env.example").read_text()


def test_generated_code_is_ruff_clean(project: Path, venv: ProjectVenv) -> None:
    venv.run(["ruff", "check", "--no-cache", "."], cwd=project)
    venv.run(["ruff", "format", "--no-cache", "--check", "."], cwd=project)


def test_compose_has_a_healthy_broker_and_a_worker(project: Path, venv: ProjectVenv) -> None:
    venv.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "compose.yaml"], cwd=project
    )
    services = yaml.safe_load((project / "compose.yaml").read_text())["services"]
    broker, worker = services["rabbitmq"], services["worker"]
    assert re.fullmatch(r"rabbitmq:\d+\.\d+\.\d+-management-alpine", broker["image"])
    assert broker["healthcheck"]["test"] == ["CMD", "rabbitmq-diagnostics", "-q", "ping"]
    assert broker["volumes"] == ["rabbitmq-data:/var/lib/rabbitmq"] and broker["hostname"]
    assert worker["command"][-1].endswith("exec flask consume")  # exec: SIGTERM reaches it
    assert worker["depends_on"]["rabbitmq"] == {"condition": "service_healthy"}
    assert worker["environment"] == services["app"]["environment"]
    assert worker["environment"]["RABBITMQ_URL"].startswith(f"amqp://{SLUG}:{SLUG}@rabbitmq:5672/")
    assert worker["healthcheck"] == {"disable": True}


def test_ci_runs_the_broker_tests_against_a_service(project: Path, venv: ProjectVenv) -> None:
    workflow = ".github/workflows/ci.yml"
    zizmor = venv.run(
        [tool("zizmor"), "--offline", "--min-severity", "low", ".github/"], cwd=project, check=False
    )
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr
    venv.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", workflow], cwd=project)
    job = yaml.safe_load((project / workflow).read_text())["jobs"]["test"]
    service = job["services"]["rabbitmq"]
    assert re.fullmatch(r"rabbitmq:\d+\.\d+\.\d+(-management)?-alpine", service["image"])
    assert '--health-cmd "rabbitmq-diagnostics -q ping"' in service["options"]
    assert job["env"]["RABBITMQ_URL"] == f"amqp://{SLUG}:{SLUG}@localhost:5672/%2F"
    assert service["env"] == {"RABBITMQ_DEFAULT_USER": SLUG, "RABBITMQ_DEFAULT_PASS": SLUG}


def test_migrations_match_the_models(project: Path, venv: ProjectVenv, tmp_path: Path) -> None:
    commands = "flask db upgrade && flask db check && flask db downgrade 0001 && flask db upgrade"
    venv.run(["bash", "-e", "-c", commands], cwd=project, DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}")


@pytest.mark.parametrize(
    "command",
    [["flask", "consume"], ["python", "-m", f"{SLUG}.rabbitmq_consumer"]],
    ids=["flask", "python-m"],
)
def test_production_worker_refuses_without_rabbitmq_url_in_one_line(
    project: Path, venv: ProjectVenv, command: list[str]
) -> None:
    result = venv.run(
        command, cwd=project, check=False, timeout=60, APP_ENV="production", SECRET_KEY=secrets.token_hex(32)
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if "RABBITMQ_URL" in line]
    assert len(errors) == 1 and "RABBITMQ_URL is not set" in errors[0], result.stderr


# On a database server, the generated files that the answer matrix does not run there with the
# broker: the worker's store (the matrix runs it too) beside the database's outages, which it
# leaves out. The SQLite project's run has the whole suite, the broker's outages included.
ON_A_SERVER = ["tests/test_rabbitmq_worker.py", "tests/test_database_outages.py"]


def run_generated_suite(project: Path, venv: ProjectVenv, *args: str, broker_tests: int, **env: str) -> None:
    """Run the generated tests with the machine's broker: the broker tests that `args` leave in
    (`broker_tests` of them) must run and pass, and nothing may skip."""
    result = venv.run(
        ["python", "-m", "pytest", "-v", "-p", "no:cacheprovider", "-W", "error", *args],
        cwd=project,
        timeout=600,
        RABBITMQ_URL=RABBITMQ_URL,
        **env,
    )
    assert broker_test_results(result.stdout) == ["PASSED"] * broker_tests, result.stdout[-3000:]
    summary = result.stdout.splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary, result.stdout[-3000:]


@pytest.mark.rabbitmq
def test_generated_suite_passes_against_the_real_broker(project: Path, venv: ProjectVenv) -> None:
    require_server("rabbitmq")
    run_generated_suite(project, venv, broker_tests=BROKER_TESTS)


@pytest.mark.rabbitmq
@pytest.mark.parametrize(
    "database",
    [
        # A group each, so that xdist's workers share them out (conftest.py).
        pytest.param(
            "postgresql", marks=[pytest.mark.postgres, pytest.mark.xdist_group("rabbitmq-postgresql")]
        ),
        pytest.param("mysql", marks=[pytest.mark.mysql, pytest.mark.xdist_group("rabbitmq-mysql")]),
    ],
)
def test_generated_suite_passes_on_a_database_server_with_the_broker(
    render: Render, tmp_path: Path, venv_for: VenvFor, database: str
) -> None:
    """The worker's store and the database's outages on the server, the broker in the same run."""
    require_server("rabbitmq")
    require_server(database)
    project = render(tmp_path / SLUG, database=database, use_rabbitmq=True)
    venv = compiled_venv(venv_for, project)
    admin, url = SERVER_URLS[database]
    name = f"flaskgen_{uuid.uuid4().hex[:10]}"
    venv.run(["python", "-c", ADMIN_SCRIPT, admin, f"CREATE DATABASE {name}"], cwd=tmp_path)
    try:
        run_generated_suite(
            project, venv, *ON_A_SERVER, broker_tests=0, TEST_DATABASE_URL=url.format(name=name)
        )
    finally:
        venv.run(["python", "-c", ADMIN_SCRIPT, admin, f"DROP DATABASE IF EXISTS {name}"], cwd=tmp_path)


def test_broker_tests_skip_with_a_reason_without_a_broker(project: Path, venv: ProjectVenv) -> None:
    result = venv.run(
        ["python", "-m", "pytest", "-v", "-rs", "-p", "no:cacheprovider", "tests/test_rabbitmq_broker.py"],
        cwd=project,
        RABBITMQ_URL="",
    )
    assert broker_test_results(result.stdout) == ["SKIPPED"] * BROKER_TESTS
    assert "RABBITMQ_URL is not set" in result.stdout


def rabbitmqctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60, check=False
    )


def worker_connections(queue: str) -> list[str]:
    """Broker-side ids of the connections the worker of `queue` has open."""
    listing = rabbitmqctl("list_connections", "--no-table-headers", "pid", "client_properties").stdout
    return [line.split("\t", 1)[0] for line in listing.splitlines() if f'"{queue} worker (pid' in line]


def wait_for(condition: Callable[[], bool], what: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout}s; worker log:\n{log.read_text()}")
        time.sleep(0.1)


@pytest.mark.rabbitmq
def test_the_deploy_command_survives_the_broker_closing_its_connection(
    project: Path, venv: ProjectVenv, tmp_path: Path
) -> None:
    """`flask --app courier consume`, the worker's one command, with the broker forcing its
    connection closed (what a broker restart or `rabbitmqctl close_connection` does)."""
    require_server("rabbitmq")
    if shutil.which("rabbitmqctl") is None or rabbitmqctl("list_connections", "pid").returncode != 0:
        skip_unless_required("rabbitmqctl cannot reach the broker here: close_connection is not available")
    queue = f"flaskgen-{uuid.uuid4().hex[:10]}"
    env = venv.env(
        APP_ENV="development",
        DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}",
        RABBITMQ_URL=RABBITMQ_URL,
        RABBITMQ_QUEUE=queue,
    )
    log = tmp_path / "worker.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            ["flask", "--app", SLUG, "consume"], cwd=project, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: len(worker_connections(queue)) == 1, "worker connection", log)
        (first,) = worker_connections(queue)
        assert rabbitmqctl("close_connection", first, "flaskgen test: broker-side close").returncode == 0
        wait_for(lambda: "CONNECTION_FORCED" in log.read_text(), "noticed close", log)
        wait_for(lambda: log.read_text().count(f"consuming {queue}") == 2, "reconnection", log)
        assert worker_connections(queue) != [first]
        process.terminate()
        assert process.wait(30) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for name in (queue, f"{queue}.dead-letter"):
            rabbitmqctl("delete_queue", name)
    assert "RabbitMQ connection lost ((320) CONNECTION_FORCED" in log.read_text()
    assert "worker stopped" in log.read_text()
