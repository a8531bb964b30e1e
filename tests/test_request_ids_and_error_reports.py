"""Request IDs, the structured access log and error reports (issue 16): the generated project's
own tests of them run for real (real Gunicorn, a fake Sentry on 127.0.0.1, the machine's
PostgreSQL and RabbitMQ), and the release reaches the image from CI."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from test_rabbitmq import RABBITMQ_URL, compiled_venv

from support import ProjectVenv, Render, require_server
from test_databases import ADMIN_SCRIPT, SERVER_URLS

VenvFor = Callable[[Path], ProjectVenv]
SUITES = ["tests/test_request_ids.py", "tests/test_error_reports.py"]


def results(output: str) -> dict[str, str]:
    """{test id: PASSED/FAILED/SKIPPED/ERROR} from `pytest -v` output."""
    return dict(re.findall(r"^(tests/\S+) (PASSED|FAILED|SKIPPED|ERROR)", output, re.MULTILINE))


def run_suites(project: Path, venv: ProjectVenv, *args: str, **env: str) -> dict[str, str]:
    result = venv.run(
        ["python", "-m", "pytest", "-v", "-p", "no:cacheprovider", "-W", "error", *args],
        cwd=project,
        timeout=900,
        **env,
    )
    outcomes = results(result.stdout)
    assert outcomes and set(outcomes.values()) == {"PASSED"}, result.stdout[-4000:]
    return outcomes


def test_the_default_projects_tests_prove_it_under_gunicorn(
    render: Render, tmp_path: Path, venv_for: VenvFor
) -> None:
    project = render(tmp_path / "tracked")
    outcomes = run_suites(project, compiled_venv(venv_for, project), *SUITES)
    for name in (
        "test_under_gunicorn_every_line_of_a_request_carries_its_id",
        "test_an_unhandled_error_is_reported_without_the_requests_secrets",
        "test_the_sdk_is_imported_only_when_sentry_dsn_is_set[unset]",
        "test_a_malformed_request_id_is_replaced[too-long]",
        "test_a_well_formed_request_id_is_kept[edge_lb.1-2]",
    ):
        assert any(test.endswith(f"::{name}") for test in outcomes), name


@pytest.mark.postgres
@pytest.mark.rabbitmq
def test_postgresql_with_rabbitmq_follows_the_id_into_the_worker(
    render: Render, tmp_path: Path, venv_for: VenvFor
) -> None:
    require_server("postgresql")
    require_server("rabbitmq")
    project = render(tmp_path / "tracked", database="postgresql", use_rabbitmq=True)
    venv = compiled_venv(venv_for, project)
    venv.run(["mypy"], cwd=project)
    admin, url = SERVER_URLS["postgresql"]
    name = f"reqid_{uuid.uuid4().hex[:10]}"
    venv.run(["python", "-c", ADMIN_SCRIPT, admin, f"CREATE DATABASE {name}"], cwd=tmp_path)
    try:
        database_url = url.format(name=name)
        venv.run(
            ["bash", "-e", "-c", "flask db upgrade && flask db check"],
            cwd=project,
            DATABASE_URL=database_url,
        )
        outcomes = run_suites(
            project,
            venv,
            *SUITES,
            "tests/test_rabbitmq_worker.py",
            "tests/test_rabbitmq_broker.py",
            "-k",
            "request_id or sentry or gunicorn or unhandled",
            TEST_DATABASE_URL=database_url,
            RABBITMQ_URL=RABBITMQ_URL,
        )
    finally:
        venv.run(["python", "-c", ADMIN_SCRIPT, admin, f"DROP DATABASE IF EXISTS {name}"], cwd=tmp_path)
    for name in (
        "test_the_request_id_reaches_the_workers_log_lines_for_its_message",
        "test_a_failing_handler_is_reported_to_sentry_with_the_request_id",
        "test_a_message_carries_the_request_id_of_the_request_that_published_it",
        "test_an_unhandled_error_is_reported_without_the_requests_secrets",
    ):
        assert any(test.endswith(f"::{name}") for test in outcomes), name


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_ci_builds_the_image_with_its_commit_as_the_release(render: Render, tmp_path: Path, ci: str) -> None:
    project = render(tmp_path / "tracked", ci=ci)
    dockerfile = (project / "Dockerfile").read_text()
    runtime = dockerfile[dockerfile.index("AS runtime") :]
    assert 'ARG APP_RELEASE=""\nENV APP_RELEASE=$APP_RELEASE\n' in runtime
    if ci == "github":
        workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
        (build,) = [step for step in workflow["jobs"]["image"]["steps"] if step.get("id") == "build"]
        assert build["with"]["build-args"] == "APP_RELEASE=${{ github.sha }}"
    else:
        script = yaml.safe_load((project / ".gitlab-ci.yml").read_text())["build-image"]["script"]
        assert any('--build-arg "APP_RELEASE=$CI_COMMIT_SHA"' in line for line in script)


def test_every_variable_is_documented(render: Render, tmp_path: Path) -> None:
    project = render(tmp_path / "tracked")
    env_example = (project / ".env.example").read_text()
    for variable in ("SENTRY_DSN", "APP_RELEASE", "FORWARDED_ALLOW_IPS", "LOG_LEVEL"):
        assert re.search(rf"^# {variable}=|^{variable}=", env_example, re.MULTILINE), variable
    readme = (project / "README.md").read_text()
    section = readme[readme.index("### Request IDs, logs and error reports") : readme.index("## Deploying")]
    phrases = ("X-Request-ID", "SENTRY_DSN", "APP_RELEASE", "FORWARDED_ALLOW_IPS", "duration_ms", "flask run")
    for phrase in phrases:
        assert phrase in section, phrase
    assert "curl -si -H 'X-Request-ID: try-1'" in section
