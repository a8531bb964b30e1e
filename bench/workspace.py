"""The work directory under /tmp: flaskgen's venv, the projects measured, and how commands run there.

The runner prepares it once and saves it as state.json; each pyperf worker process loads it
back, so that every benchmark runs its commands with the same environment and paths.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SLUG = "benchapp"  # the generated projects' folder name, hence their project_name and slug
USER_LINE = "Our team's notes, added after generating (flaskgen bench).\n"

# Variables that would change what the measured commands do. PYTHONDONTWRITEBYTECODE is set on
# some machines: a user's machine writes bytecode, so the commands here do too.
DROPPED_VARIABLES = {"APP_ENV", "DATABASE_URL", "TEST_DATABASE_URL", "SECRET_KEY", "PORT", "VIRTUAL_ENV"}
DROPPED_PREFIXES = ("FLASK_", "GUNICORN_", "WEB_CONCURRENCY", "COPIER_", "GIT_", "PYTHON")


class BenchError(Exception):
    """A step of the benchmark failed; the message says which, with the command's output."""


@dataclass
class Workspace:
    work: Path
    uv: str
    env: dict[str, str] = field(default_factory=dict)
    bundle: str = ""  # the template history flaskgen installs (a git bundle)
    bundle_ref: str = ""  # the version `flaskgen new` renders from it
    versions: dict[str, str] = field(default_factory=dict)
    update_args: list[str] | None = None  # None: this flaskgen has no `update`
    has_check: bool = False

    @property
    def bin(self) -> Path:
        return self.work / "venv" / "bin"

    @property
    def python(self) -> str:
        return str(self.bin / "python")

    @property
    def flaskgen(self) -> str:
        return str(self.bin / "flaskgen")

    @property
    def copier(self) -> str:
        return str(self.bin / "copier")

    @property
    def state_file(self) -> Path:
        return self.work / "state.json"

    @property
    def results(self) -> Path:
        return self.work / "results"

    @property
    def template_repo(self) -> Path:
        return self.work / "template-repo"

    @property
    def project_v1(self) -> Path:
        return self.work / "project-v1" / SLUG

    @property
    def app(self) -> Path:
        """The project whose tests and server are measured, with its .venv."""
        return self.work / "app" / SLUG

    def save(self) -> None:
        self.state_file.write_text(json.dumps(asdict(self), default=str, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Workspace:
        state = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(**dict(state, work=Path(state["work"])))

    def run(
        self,
        args: Sequence[str | Path],
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        ok: Sequence[int] = (0,),
        timeout: float = 300,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        command = [str(arg) for arg in args]
        try:
            result = subprocess.run(
                command,
                cwd=cwd,
                env=env or self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
                input=input,
                stdin=subprocess.DEVNULL if input is None else None,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BenchError(f"{' '.join(command)} took more than {timeout:.0f} s") from None
        if result.returncode not in ok:
            raise BenchError(
                f"{' '.join(command)} exited {result.returncode}\n"
                f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
            )
        return result

    def timed(self, args: Sequence[str | Path], **options: Any) -> float:
        """Wall time of a command that must succeed (`options` as for `run`)."""
        start = time.perf_counter()
        self.run(args, **options)
        return time.perf_counter() - start

    def fresh_dir(self, name: str) -> Path:
        """A new, empty directory for one run (unique across pyperf's worker processes)."""
        (self.work / "runs").mkdir(exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.work / "runs"))

    def git(self, cwd: Path, *args: str) -> str:
        return self.run(["git", *args], cwd=cwd).stdout


def environment(work: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in DROPPED_VARIABLES and not key.startswith(DROPPED_PREFIXES)
    }
    env["PATH"] = f"{work / 'venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # flaskgen installs its template history under ~/.local/share: a home of the bench's own.
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    env["HOME"] = str(home)
    # Commits in the template repository and the projects, the same for every user's setup.
    gitconfig = work / "gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = flaskgen bench\n\temail = bench@localhost\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n",
        encoding="utf-8",
    )
    env["GIT_CONFIG_GLOBAL"] = str(gitconfig)
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


def find_uv() -> str:
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        raise SystemExit("bench/run.py needs uv: pip install -e '.[bench]' (or the test extra)")
    return found


def install(work: Path, source: str) -> Workspace:
    """flaskgen from `source` into a new venv, bytecode compiled as pip would leave it."""
    ws = Workspace(work, find_uv(), environment(work))
    ws.results.mkdir()
    ws.run([ws.uv, "venv", "-q", "--python", sys.executable, work / "venv"])
    ws.run(
        [ws.uv, "pip", "install", "-q", "--compile-bytecode", "--python", ws.python, source],
        timeout=900,
    )
    # The first `flaskgen new` installs the template history at ~/.local/share/flaskgen; Copier
    # then renders from the same bundle, at the version flaskgen recorded.
    first = ws.fresh_dir("install") / SLUG
    ws.run([ws.flaskgen, "new", first, "--defaults", "--quiet"])
    answers = (first / ".copier-answers.yml").read_text(encoding="utf-8")
    found = re.search(r"(?m)^_commit: *'?([^'\n]+)'?$", answers)
    if found is None:
        raise BenchError("flaskgen new recorded no _commit in .copier-answers.yml")
    ws.bundle_ref = found.group(1)
    bundle = Path(ws.env["HOME"]) / ".local/share/flaskgen/template.bundle"
    if not bundle.is_file():
        raise BenchError(f"flaskgen new installed no template history at {bundle}")
    ws.bundle = str(bundle)
    shutil.rmtree(first.parent)
    if ws.run([ws.flaskgen, "update", "--help"], ok=range(256)).returncode == 0:
        ws.update_args = ["--quiet"] if "--quiet" in ws.run([ws.flaskgen, "update", "--help"]).stdout else []
    ws.has_check = ws.run([ws.flaskgen, "check", "--help"], ok=range(256)).returncode == 0
    ws.versions = versions(ws, source)
    return ws


def versions(ws: Workspace, source: str) -> dict[str, str]:
    found = json.loads(
        ws.run(
            [
                ws.python,
                "-c",
                "import importlib.metadata as m, json; "
                "print(json.dumps({n: m.version(n) for n in ('flaskgen', 'copier', 'typer')}))",
            ]
        ).stdout
    )
    described = ws.run(["git", "-C", source, "describe", "--always", "--dirty"], ok=range(256))
    origin = f"checkout {described.stdout.strip()}" if described.returncode == 0 else source
    found["flaskgen"] += f" ({origin})"
    found["uv"] = ws.run([ws.uv, "--version"]).stdout.strip().removeprefix("uv ")
    return found


def make_template_repo(ws: Workspace) -> None:
    """A git copy of the bundled template with two releases: v1, and v2 that changes and adds files."""
    repo = ws.template_repo
    ws.run(["git", "clone", "-q", ws.bundle, repo])
    ws.git(repo, "checkout", "-q", ws.bundle_ref)
    shutil.rmtree(repo / ".git")
    ws.git(repo, "init", "-q")
    ws.git(repo, "add", "-A")
    ws.git(repo, "commit", "-q", "-m", "v1")
    ws.git(repo, "tag", "v1")
    changed = [
        path
        for path in (repo / "template" / "README.md.jinja", repo / "template" / "gunicorn.conf.py.jinja")
        if path.is_file()
    ]
    if not changed:
        raise BenchError("the template has neither README.md.jinja nor gunicorn.conf.py.jinja to change")
    for path in changed:
        with path.open("a", encoding="utf-8") as file:
            file.write("\n# Changed in v2 of the template (flaskgen bench).\n")
    (repo / "template" / "UPGRADING.md").write_text("# Upgrading\n\nAdded in v2.\n", encoding="utf-8")
    ws.git(repo, "add", "-A")
    ws.git(repo, "commit", "-q", "-m", "v2")
    ws.git(repo, "tag", "v2")


def make_project_v1(ws: Workspace) -> None:
    """A project generated from v1, committed, then edited and committed by its user."""
    project = ws.project_v1
    template = ["--template", ws.template_repo, "--vcs-ref", "v1"]
    ws.run([ws.flaskgen, "new", project, *template, "--defaults", "--quiet"])
    ws.git(project, "init", "-q")
    ws.git(project, "add", "-A")
    ws.git(project, "commit", "-q", "-m", "Generated by flaskgen from v1")
    readme = project / "README.md"
    readme.write_text(USER_LINE + readme.read_text(encoding="utf-8"), encoding="utf-8")
    (project / "NOTES.md").write_text("A file of the user's own.\n", encoding="utf-8")
    ws.git(project, "add", "-A")
    ws.git(project, "commit", "-q", "-m", "User edits")


def make_app(ws: Workspace, pyperf_version: str) -> None:
    """The default project with requirements/dev.txt in .venv, compiled; this also warms uv's cache.

    pyperf goes into the same venv for the in-process timing of the app (it imports nothing
    of the project's and the project imports nothing of it).
    """
    ws.run([ws.flaskgen, "new", ws.app, "--defaults", "--quiet"])
    venv = ws.app / ".venv"
    python = venv / "bin" / "python"
    ws.run([ws.uv, "venv", "-q", "--python", sys.executable, venv])
    requirements = ["-r", ws.app / "requirements/dev.txt", f"pyperf=={pyperf_version}"]
    ws.run(
        [ws.uv, "pip", "install", "-q", "--compile-bytecode", "--python", python, *requirements],
        timeout=900,
    )


def project_env(ws: Workspace, project: Path) -> dict[str, str]:
    """The environment with the project's .venv activated."""
    venv = project / ".venv"
    return dict(ws.env, PATH=f"{venv / 'bin'}{os.pathsep}{ws.env['PATH']}", VIRTUAL_ENV=str(venv))
