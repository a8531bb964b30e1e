"""Every offered python_version runs the generated project's own test suite, for real: on this
machine's interpreter of that version (pyenv), or in its python:X.Y-slim image where there is none."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

from containers import docker, python_image, require_docker
from support import (
    PYTHON_VERSIONS,
    REPO_ROOT,
    Render,
    create_venv,
    interpreter,
    require_server,
    tool,
    version_key,
)
from test_answer_matrix import OUTAGE_SUITES_LEFT_OUT

DEFAULT_VERSION = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())["python_version"]["default"]
UV = str(Path(tool("uv")).resolve())  # the test extra's uv, not a pyenv shim
# The RabbitMQ worker's own tests run against the machine's broker.
BROKER = {"RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/%2F"}


def version_param(version: str):
    marks = [pytest.mark.slow] if interpreter(version) else [pytest.mark.slow, pytest.mark.docker]
    # Minutes each: a worker per version (conftest.py).
    marks.append(pytest.mark.xdist_group(f"python-{version}"))
    return pytest.param(version, marks=marks, id=f"py{version}")


# This Python's version is left out, as it would run a third time: tests/test_rabbitmq.py runs
# the whole suite of a PostgreSQL project with the worker (the whole dependency set) on this
# Python against the real servers, and the answer matrix runs the suites of projects answering
# this version.
RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"


def test_default_is_the_newest_offered_version() -> None:
    """The newest version whose dependencies install and whose tests pass (the tests below)."""
    assert max(PYTHON_VERSIONS, key=version_key) == DEFAULT_VERSION


@pytest.mark.parametrize("version", [version_param(v) for v in PYTHON_VERSIONS if v != RUNNING])
def test_generated_suite_passes(render: Render, tmp_path: Path, version: str, uv_cache: str) -> None:
    """The whole dependency set (both drivers' answers' packages, the RabbitMQ worker's) installs,
    and the project's tests pass with warnings as errors: all of them in the image, and on this
    machine's interpreters the outage tests that the answer matrix leaves out."""
    require_server("rabbitmq")
    project = render(tmp_path / "shop", python_version=version, database="postgresql", use_rabbitmq=True)
    pytest_args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"]
    local = interpreter(version)
    if local is not None:
        # The answer matrix runs the rest of the suite on this interpreter, in the projects that
        # answer this version: here only the files it leaves out, so every file runs on it once.
        left_out = [arg.removeprefix("--ignore=") for arg in OUTAGE_SUITES_LEFT_OUT]
        venv = create_venv(project, tmp_path / "venv", python=local)
        output = venv.run(["python", *pytest_args, *left_out], cwd=project, **BROKER).stdout
    else:
        require_docker()
        image = python_image(version)
        # uv from this machine (and its cache) installs the dependencies in the container.
        script = (
            "cp -r /src /work && cd /work && "
            "UV_PROJECT_ENVIRONMENT=/tmp/venv uv sync --locked --quiet --python /usr/local/bin/python && "
            f"/tmp/venv/bin/python {' '.join(pytest_args)}"
        )
        result = docker(
            "run", "--rm", "--network", "host",
            "--volume", f"{project}:/src:ro", "--volume", f"{UV}:/usr/local/bin/uv:ro",
            "--volume", f"{uv_cache}:/uv-cache", "--env", "UV_CACHE_DIR=/uv-cache",
            "--env", "UV_PYTHON_DOWNLOADS=never", "--env", "UV_LINK_MODE=copy",
            *(f"--env={key}={value}" for key, value in BROKER.items()),
            image, "sh", "-c", script,
        )  # fmt: skip
        output = result.stdout
        version_seen = docker("run", "--rm", image, "python", "-c", "import sys; print(sys.version)").stdout
        assert version_seen.startswith(version + "."), version_seen
    summary = output.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ passed(, \d+ skipped)? in [\d.]+s( \(.*\))?", summary), output
