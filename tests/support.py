"""Helpers for flaskgen's tests: render the template, install projects, reach the servers."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
# The python_version choices copier.yml offers, oldest first.
PYTHON_VERSIONS: list[str] = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))[
    "python_version"
]["choices"]


def version_key(version: str) -> tuple[int, ...]:
    """A version as numbers, ("3.14" -> (3, 14)), so that 3.9 sorts before 3.14."""
    return tuple(int(part) for part in version.split("."))


# .ci/run sets this: a test that needs a server fails instead of skipping when it is unreachable.
REQUIRE_SERVICES = os.environ.get("FLASKGEN_REQUIRE_SERVICES") == "1"

# The template's questions and computed answers, as the tests read them.
TEMPLATE_CONFIG = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))
DEPLOY_TARGETS = ["docker-ssh", "compose", "kubernetes", "fly", "render", "heroku", "none"]
# The RabbitMQ worker's process, as every deploy target runs it (project_slug "shop").
WORKER_COMMAND = ["flask", "--app", "shop", "consume"]

SERVERS = {
    "postgresql": ("127.0.0.1", 5432),
    "mysql": ("127.0.0.1", 3306),
    "rabbitmq": ("127.0.0.1", 5672),
    "redis": ("127.0.0.1", 6379),
}


# The `render` fixture (conftest.py): render(dest, **answers) renders the checkout's template into
# dest, whose name is the project's name, with the default answers plus `answers`.
Render = Callable[..., Path]


def assert_one_line_error(result, exit_code: int, *phrases: str) -> str:
    """A CliRunner result that failed with exactly one `flaskgen: error:` line holding `phrases`."""
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("flaskgen: error: "), lines[0]
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


def tool(name: str) -> str:
    """A command installed beside this Python (the test extras), else from PATH.

    Not through pyenv shims: a generated .python-version would make them pick another Python.
    """
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def require_server(name: str) -> None:
    """Skip (or, under .ci/run, fail) when the named server does not answer."""
    host, port = SERVERS[name]
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        skip_unless_required(f"{name} server unreachable at {host}:{port} ({exc})")


def skip_unless_required(reason: str) -> None:
    """Skip with `reason` on a laptop; under .ci/run (FLASKGEN_REQUIRE_SERVICES=1) fail instead."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason}; FLASKGEN_REQUIRE_SERVICES=1 requires it")
    pytest.skip(reason)


class ProjectVenv:
    """A virtualenv with a generated project's locked dependencies and dev tools installed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.bin = path / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("FLASK_", "APP_ENV", "DATABASE_URL", "TEST_DATABASE_URL", "SECRET_KEY"))
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.path)
        # `uv run` (the project's pre-commit hooks use it) runs in this venv, with its Python,
        # instead of creating .venv in the project.
        env["UV_PROJECT_ENVIRONMENT"] = str(self.path)
        env["UV_PYTHON"] = str(self.bin / "python")
        env.pop("PYTHONPATH", None)
        env.update(extra)
        return env

    def run(
        self, args: list[str], cwd: Path, timeout: float = 300, check: bool = True, **env: str
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            args,
            cwd=cwd,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} exited {result.returncode}\n"
                f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
            )
        return result


# The session fixture `venv_for` (conftest.py): a project's venv, shared by projects of the same lock.
VenvFor = Callable[[Path], ProjectVenv]


def lock_key(project: Path) -> str:
    """What a project's venv holds: its locked packages (requirements/dev.txt, the export of
    uv.lock, names no project), so that projects of one dependency set share a venv."""
    return hashlib.sha256((project / "requirements" / "dev.txt").read_bytes()).hexdigest()[:16]


def uv_command() -> str:
    """uv from the test extras (not a pyenv shim: a project's .python-version would steer it)."""
    return tool("uv")


def create_venv(project: Path, where: Path, python: str = sys.executable) -> ProjectVenv:
    """`uv sync --locked` the project into the venv `where` (seconds, from uv's cache).

    UV_PROJECT_ENVIRONMENT puts the venv outside the project, so that projects with the same
    lock share one; --locked fails, as in the project's CI, when uv.lock is stale.
    """
    env = {
        **{k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
        "UV_PROJECT_ENVIRONMENT": str(where),
        "UV_PYTHON_DOWNLOADS": "never",
    }
    result = subprocess.run(
        [uv_command(), "sync", "--locked", "--quiet", "--python", python],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise subprocess.SubprocessError(f"uv sync --locked failed in {project}:\n{result.stderr}")
    return ProjectVenv(where)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def http_post_json(url: str, body: bytes, timeout: float = 5) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@contextlib.contextmanager
def serving(
    args: list[str], cwd: Path, env: Mapping[str, str], port: int, timeout: float = 30
) -> Iterator[subprocess.Popen[str]]:
    """Start a server process and wait until it accepts connections on `port`."""
    process = subprocess.Popen(
        args, cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"{args} exited {process.returncode}:\n{process.stdout.read()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"{args} did not listen on {port} within {timeout}s")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def bundled_questions() -> dict[str, dict]:
    """The bundled template's user-facing questions, in the long form."""
    return {
        name: spec if isinstance(spec, dict) else {"default": spec}
        for name, spec in TEMPLATE_CONFIG.items()
        if not name.startswith("_") and not (isinstance(spec, dict) and spec.get("when") is False)
    }


def interpreter(version: str) -> str | None:
    """This machine's Python `version` ("3.12"): the running one, a pyenv install, or one on PATH
    (never a pyenv shim, which answers for whichever version a folder selects)."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for candidate in sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"), reverse=True):
        return str(candidate)
    found = shutil.which(f"python{version}")
    return found if found and "shims" not in Path(found).parts else None
