"""Metrics and traces: the generated project's own tests of them run for real, and the deploy files
that turn them on.

The generated tests start real Gunicorn with 2 workers, count every request through the metrics
port (prometheus_client's parser) before and after SIGKILLing a worker, and receive the traces
on a local OTLP/HTTP endpoint; with PostgreSQL and RabbitMQ, the worker's counters and its span
in the trace of the request that published the message too.
"""

from __future__ import annotations

import re
import secrets
import tomllib
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from test_rabbitmq import RABBITMQ_URL, compiled_venv

from support import ProjectVenv, Render, require_server
from test_databases import ADMIN_SCRIPT, SERVER_URLS

VenvFor = Callable[[Path], ProjectVenv]

TESTS = ("tests/test_metrics.py", "tests/test_tracing.py")
# The tests that start Gunicorn or the worker: each must run, never skip.
SQLITE_TESTS = {
    "test_metrics.py::test_every_worker_is_counted_even_after_it_was_killed",
    "test_metrics.py::test_no_metrics_server_without_metrics_port",
    "test_metrics.py::test_nothing_is_imported_when_nothing_is_configured",
    "test_tracing.py::test_each_request_is_one_trace_with_its_sql_inside",
}
BROKER_TESTS = {
    "test_metrics.py::test_the_worker_serves_its_message_counters",
    "test_tracing.py::test_the_worker_span_joins_the_trace_of_the_request_that_published",
}


def run_observability_tests(project: Path, venv: ProjectVenv, **env: str) -> dict[str, str]:
    """Run the project's metrics and tracing tests; return each test's outcome."""
    result = venv.run(
        ["python", "-m", "pytest", "-v", "-p", "no:cacheprovider", "-W", "error", *TESTS],
        cwd=project,
        timeout=600,
        check=False,
        **env,
    )
    outcomes = dict(
        re.findall(r"tests/(test_\w+\.py::\w+)(?:\[\S+\])? (PASSED|FAILED|SKIPPED|ERROR)", result.stdout)
    )
    assert result.returncode == 0, result.stdout[-4000:]
    return outcomes


def test_metrics_and_traces_of_the_default_project(default_project: Path, venv_for: VenvFor) -> None:
    outcomes = run_observability_tests(default_project, compiled_venv(venv_for, default_project))
    assert {name: outcomes.get(name) for name in SQLITE_TESTS} == dict.fromkeys(SQLITE_TESTS, "PASSED")
    assert not BROKER_TESTS & outcomes.keys()  # no worker without use_rabbitmq


@pytest.mark.postgres
@pytest.mark.rabbitmq
def test_metrics_and_traces_with_postgresql_and_the_worker(
    render: Render, tmp_path: Path, venv_for: VenvFor
) -> None:
    require_server("postgresql")
    require_server("rabbitmq")
    project = render(tmp_path / "observed", database="postgresql", use_rabbitmq=True)
    venv = compiled_venv(venv_for, project)
    admin, url = SERVER_URLS["postgresql"]
    name = f"flaskgen_{uuid.uuid4().hex[:10]}"
    venv.run(["python", "-c", ADMIN_SCRIPT, admin, f"CREATE DATABASE {name}"], cwd=tmp_path)
    try:
        outcomes = run_observability_tests(
            project, venv, TEST_DATABASE_URL=url.format(name=name), RABBITMQ_URL=RABBITMQ_URL
        )
    finally:
        venv.run(["python", "-c", ADMIN_SCRIPT, admin, f"DROP DATABASE IF EXISTS {name}"], cwd=tmp_path)
    expected = SQLITE_TESTS | BROKER_TESTS
    assert {name: outcomes.get(name) for name in expected} == dict.fromkeys(expected, "PASSED")


def test_a_bad_metrics_port_stops_gunicorn_in_one_line(default_project: Path, venv_for: VenvFor) -> None:
    result = venv_for(default_project).run(
        ["gunicorn", "--config", "gunicorn.conf.py", "--bind", "127.0.0.1:0"],
        cwd=default_project,
        check=False,
        timeout=60,
        APP_ENV="production",
        SECRET_KEY=secrets.token_hex(32),
        METRICS_PORT="metrics",
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert "error: METRICS_PORT='metrics' is not a whole number from 1 to 65535" in result.stderr


def test_kubernetes_scrapes_both_deployments(render: Render, tmp_path: Path) -> None:
    project = render(tmp_path / "kube", database="postgresql", use_rabbitmq=True, deploy_target="kubernetes")
    manifests = project / "deploy" / "kubernetes"
    config = yaml.safe_load((manifests / "configmap.yaml").read_text())
    port = int(config["data"]["METRICS_PORT"])
    for manifest in ("deployment.yaml", "worker-deployment.yaml"):
        pod = yaml.safe_load((manifests / manifest).read_text())["spec"]["template"]
        annotations = pod["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert int(annotations["prometheus.io/port"]) == port
        assert annotations["prometheus.io/path"] == "/metrics"
        (container,) = pod["spec"]["containers"]
        assert {"name": "metrics", "containerPort": port} in container["ports"]


def test_compose_and_fly_set_the_metrics_port(render: Render, tmp_path: Path) -> None:
    compose = render(tmp_path / "compose", database="postgresql", use_rabbitmq=True, deploy_target="compose")
    services = yaml.safe_load((compose / "compose.prod.yaml").read_text())["services"]
    assert services["web"]["environment"]["METRICS_PORT"] == "9100"
    assert "127.0.0.1:9100:9100" in services["web"]["ports"]
    assert services["worker"]["environment"]["METRICS_PORT"] == "9100"
    assert "127.0.0.1:9101:9100" in services["worker"]["ports"]

    fly = render(tmp_path / "fly", database="postgresql", deploy_target="fly")
    settings = tomllib.loads((fly / "fly.toml").read_text())
    assert settings["metrics"] == {"port": int(settings["env"]["METRICS_PORT"]), "path": "/metrics"}
