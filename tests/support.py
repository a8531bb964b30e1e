"""Helpers for flaskgen's tests: render the template, install projects, reach the servers."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
import yaml
from filelock import FileLock

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


# The session fixture `venv_for` (conftest.py): venv_for(project, python=sys.executable) is the venv
# of the project's lock on that Python, shared by projects of the same lock and by xdist's workers.
VenvFor = Callable[..., ProjectVenv]


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
    --compile-bytecode, as pip does on a user's install: where PYTHONDONTWRITEBYTECODE is set
    (this machine, many CI images), every `flask`, `pytest` or worker process would otherwise
    re-parse SQLAlchemy, Flask and Alembic, seconds each.
    """
    env = {
        **{k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
        "UV_PROJECT_ENVIRONMENT": str(where),
        "UV_PYTHON_DOWNLOADS": "never",
    }
    result = subprocess.run(
        [uv_command(), "sync", "--locked", "--quiet", "--compile-bytecode", "--python", python],
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


def shared_venv(root: Path, project: Path, python: str = sys.executable) -> ProjectVenv:
    """The venv of `project`'s lock on `python` under `root`, made once for every process that
    asks (pytest-xdist's workers share `root`): a file lock lets one make it while the others
    wait, and a venv left half-made by a failure is made again."""
    key = hashlib.sha256(f"{Path(python).resolve()}:{lock_key(project)}".encode()).hexdigest()[:16]
    where, ready = root / f"venv-{key}", root / f"venv-{key}.ready"
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(root / f"venv-{key}.lock"):
        if not ready.exists():
            shutil.rmtree(where, ignore_errors=True)
            create_venv(project, where, python)
            ready.touch()
    return ProjectVenv(where)


class MypyCache:
    """mypy's cache, warmed once per run and copied into each combination before its hooks run:
    a cold strict run spends most of its time on Flask and SQLAlchemy, which every combination
    installs alike. mypy checks each cached module against its source's hash, so a combination
    whose app, packages or Python differ re-checks what differs; each works on its own copy,
    as two mypy processes writing one cache can fail on its SQLite lock."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = FileLock(f"{root}.lock")

    def seed(self, project: Path) -> None:
        with self.lock:
            if self.root.is_dir():
                shutil.copytree(self.root, project / ".mypy_cache", dirs_exist_ok=True)

    def keep(self, project: Path) -> None:
        """Keep the cache of a combination whose hooks passed, for each mypy target Python (a
        folder per version) the kept one lacks."""
        cache = project / ".mypy_cache"
        with self.lock:
            for version in (path for path in cache.glob("3.*") if path.is_dir()):
                if not (self.root / version.name).exists():
                    partial = self.root.with_name(f"{self.root.name}.{uuid.uuid4().hex}")
                    shutil.copytree(version, partial / version.name)
                    self.root.mkdir(parents=True, exist_ok=True)
                    (partial / version.name).rename(self.root / version.name)
                    shutil.rmtree(partial)


def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder shared by every process of this pytest run: under pytest-xdist, each worker's
    base temp is popen-gwN inside the run's own folder; without xdist, the base temp itself."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


# Read once: some tests point the temp dir elsewhere while they run.
MACHINE_LOCKS = Path(tempfile.gettempdir())


def machine_lock(name: str) -> FileLock:
    """A lock every pytest process on this machine shares (xdist workers, other runs), for what
    the machine holds once: the Docker engine's stand-in images."""
    return FileLock(MACHINE_LOCKS / f"flaskgen-{name}.lock")


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
