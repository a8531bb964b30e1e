"""Helpers for flaskgen's tests: render the template, install projects, reach the servers,
make template histories and git projects, and prove that a refusal left the file system as it was."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from flaskgen.cli import app

REPO_ROOT = Path(__file__).resolve().parent.parent
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
}


def render(dest: Path, **answers: Any) -> Path:
    """Render the working tree's template into `dest` with the default answers plus `answers`."""
    import copier
    from copier.errors import DirtyLocalWarning

    answers.setdefault("project_name", dest.name)
    with warnings.catch_warnings():
        # Tests render the working tree, uncommitted changes included, on purpose.
        warnings.simplefilter("ignore", DirtyLocalWarning)
        copier.run_copy(str(REPO_ROOT), dest, data=answers, defaults=True, vcs_ref="HEAD", quiet=True)
    return dest


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
    """A virtualenv with a generated project's requirements-dev.txt installed."""

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


# The session fixture `venv_for` (conftest.py): a project's venv, shared by projects of the same requirements.
VenvFor = Callable[[Path], ProjectVenv]


def requirements_key(project: Path) -> str:
    digest = hashlib.sha256()
    for name in ("requirements.txt", "requirements-dev.txt"):
        digest.update((project / name).read_bytes())
    return digest.hexdigest()[:16]


def create_venv(project: Path, where: Path) -> ProjectVenv:
    """Install the project's requirements-dev.txt into a new venv with uv (seconds, cached)."""
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    env = dict(os.environ, UV_PYTHON_DOWNLOADS="never")
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(where)], check=True, env=env)
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(where / "bin" / "python"),
            "-r",
            str(project / "requirements-dev.txt"),
        ],
        check=True,
        env=env,
        timeout=600,
    )
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


# --- template histories and generated projects in git (update, check) ---------------------

# A tiny template with two releases: pins update's mechanics down without the real template.
TINY_V1 = {
    "copier.yml": """\
_subdirectory: template
_answers_file: .copier-answers.yml
name:
  type: str
  default: app
flavour:
  type: str
  choices: [vanilla, chocolate]
  default: vanilla
""",
    "template/{{ _copier_conf.answers_file }}.jinja": "{{ _copier_answers | to_nice_yaml }}",
    "template/README.md.jinja": "# {{ name }}\n\nintro\n\nmiddle\n\nend\n",
    "template/config.txt": "a=1\nb=2\n",
    "template/notes.txt": "notes, dropped in v2\n",
    "template/unused.txt": "dropped in v2 too\n",
    "template/{% if flavour == 'chocolate' %}chocolate.txt{% endif %}.jinja": "cocoa\n",
}
TINY_V2 = {
    **TINY_V1,
    "template/README.md.jinja": "# {{ name }}\n\nintro, improved in v2\n\nmiddle\n\nend\n",
    "template/config.txt": "a=1\nb=2\nc=3\n",
    "template/added.txt": "new in v2\n",
    "template/notes.txt": None,
    "template/unused.txt": None,
}


def git(repo: Path, *args: str) -> str:
    """`git -C repo ARGS...`'s output; commits as Test unless the environment names someone."""
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    return subprocess.run(
        ["git", "-C", str(repo), *identity, *args], check=True, capture_output=True, text=True
    ).stdout


def write_files(root: Path, files: dict[str, str | None]) -> None:
    """Write each file of `files` under root; a None content deletes the file."""
    for name, text in files.items():
        path = root / name
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


def make_template(root: Path, *versions: tuple[str, dict[str, str | None]]) -> Path:
    """A git template with one commit and tag per (tag, files) version."""
    root.mkdir(parents=True)
    git(root, "init", "-q")
    for tag, files in versions:
        write_files(root, files)
        git(root, "add", "-A")
        git(root, "commit", "-qm", f"template {tag}")
        git(root, "tag", tag)
    return root


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def new_project(runner: CliRunner, dest: Path, *args: str) -> Path:
    """`flaskgen new DEST --defaults ARGS...`, then the user's first commit."""
    result = runner.invoke(app, ["new", str(dest), "--defaults", "-q", *args])
    assert result.exit_code == 0, result.output
    git(dest, "init", "-q")
    commit_all(dest, "generated")
    return dest


def answers_of(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def status(repo: Path) -> str:
    return git(repo, "status", "--porcelain", "--untracked-files=all", "--ignored")


def snapshot(root: Path, leave_out: str = ".git") -> dict[str, bytes | None]:
    """Every path under root with its content, to prove a failure wrote nothing; the top-level
    folder `leave_out` is not looked into (a project's .git, or a cache the test points at)."""
    return {
        str(path.relative_to(root)): path.read_bytes() if path.is_file() else None
        for path in sorted(root.rglob("*"))
        if path.relative_to(root).parts[0] != leave_out
    }


def output_section(output: str, heading: str) -> list[str]:
    """The indented lines listed under a heading of the update summary."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    section = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        section.append(line.strip())
    return section


# --- refusals of `flaskgen new`: one exact line, and nothing changed ----------------------

State = dict[str, tuple[int, int, int, bytes | str | None]]


def tree(root: Path) -> State:
    """Every path under root, root included: type, mode, mtime and content (or link target)."""
    paths = [root]
    for directory, dirs, files in os.walk(root):  # symbolic links are listed, not followed
        paths += [Path(directory, name) for name in dirs + files]
    return {path.relative_to(root).as_posix(): _entry(path) for path in sorted(paths)}


def _entry(path: Path) -> tuple[int, int, int, bytes | str | None]:
    info = path.lstat()
    content: bytes | str | None = None
    if stat.S_ISLNK(info.st_mode):
        content = os.readlink(path)
    elif stat.S_ISREG(info.st_mode):
        try:
            content = path.read_bytes()
        except PermissionError:
            content = "<unreadable>"
    return stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), info.st_mtime_ns, content


@contextlib.contextmanager
def untouched(root: Path) -> Iterator[None]:
    """Assert that nothing under root changed, down to directory mtimes."""
    before = tree(root)
    yield
    after = tree(root)
    assert after == before, sorted(set(after.items()) ^ set(before.items()))


def assert_refused(result, message: str, exit_code: int = 2) -> None:
    """Exactly `flaskgen: error: <message>` on stderr, nothing on stdout, no traceback."""
    assert "Traceback" not in result.output
    assert result.stderr == f"flaskgen: error: {message}\n", result.output
    assert result.stdout == ""
    assert result.exit_code == exit_code, result.output


def permissions_enforced() -> bool:
    """False where a read-only folder can still be written to, as root can."""
    with tempfile.TemporaryDirectory() as scratch:
        locked = Path(scratch, "locked")
        locked.mkdir(mode=0o555)
        try:
            (locked / "probe").touch()
        except PermissionError:
            return True
        finally:
            locked.chmod(0o755)
        return False


needs_permissions = pytest.mark.skipif(
    not permissions_enforced(), reason="root ignores permissions; requires a non-root user"
)
